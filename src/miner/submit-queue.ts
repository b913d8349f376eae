// The miner's outgoing shares: paced (at most `ratePerSecond`), at most `maxInFlight` unanswered and at most
// `maxQueued` waiting. A pool may send a difficulty so low that nearly every hash is a share; the miner must then
// neither flood it nor grow without bound. When the queue is full the worst share (the highest hash) is dropped,
// so blocks and the best shares are the ones kept, and `admissionTarget` tells the kernel to look only for better
// ones. Stale shares are removed first, as soon as a clean job makes them so.
import { TokenBucket } from '../token-bucket.js';

export interface QueuedShare {
  /** sha256d of the header as a uint256: lower is better. */
  hashValue: bigint;
  /** The miner's clean epoch the share belongs to; a later clean job makes it stale. */
  cleanEpoch: number;
}

export interface SubmitQueueOptions<T> {
  /** Shares sent per second at most, in bursts of at most `burst` (default: one second's worth). */
  ratePerSecond: number;
  burst?: number;
  maxInFlight: number;
  maxQueued: number;
  /** Sends one share; resolves (never rejects) once it is answered or given up. */
  send: (share: T) => Promise<void>;
  /** A share that will never be sent because better ones filled the queue. */
  dropped: (share: T) => void;
  now?: () => number;
}

export class SubmitQueue<T extends QueuedShare> {
  private readonly waiting: T[] = [];
  private inFlight = 0;
  private readonly bucket: TokenBucket;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SubmitQueueOptions<T>) {
    for (const key of ['maxInFlight', 'maxQueued'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) throw new Error(`submit queue: ${key} must be an integer >= 1, got ${options[key]}`);
    }
    this.now = options.now ?? (() => performance.now());
    this.bucket = new TokenBucket(options.ratePerSecond, options.burst ?? Math.max(1, options.ratePerSecond), this.now());
  }

  /** Shares waiting to be sent. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Shares sent and not answered yet. */
  get sending(): number {
    return this.inFlight;
  }

  /** The largest hash still worth finding now: undefined while there is room, else just below the worst queued. */
  get admissionTarget(): bigint | undefined {
    if (this.waiting.length < this.options.maxQueued) return undefined;
    return this.waiting[this.worstIndex()]!.hashValue - 1n;
  }

  /** Queues a share; when the queue is full, the worst of the queued ones and this one is dropped. */
  offer(share: T): void {
    if (this.waiting.length >= this.options.maxQueued) {
      const worst = this.worstIndex();
      if (share.hashValue >= this.waiting[worst]!.hashValue) {
        this.options.dropped(share);
        return;
      }
      this.options.dropped(this.waiting.splice(worst, 1)[0]!);
    }
    this.waiting.push(share);
    this.pump();
  }

  /** Takes out the waiting shares of an earlier clean epoch (they would be refused as stale). */
  removeStale(cleanEpoch: number): T[] {
    return this.remove((s) => s.cleanEpoch !== cleanEpoch);
  }

  /** Takes out every waiting share (shares in flight stay in flight). */
  removeAll(): T[] {
    return this.remove(() => true);
  }

  /** Resolves once nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (this.waiting.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private remove(match: (s: T) => boolean): T[] {
    const removed = this.waiting.filter(match);
    if (removed.length === 0) return removed;
    const kept = this.waiting.filter((s) => !match(s));
    this.waiting.splice(0, this.waiting.length, ...kept);
    if (kept.length === 0 && this.timer) {
      // Nothing left to pace: the wait for the next token would only keep the process alive.
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.checkIdle();
    return removed;
  }

  private worstIndex(): number {
    let worst = 0;
    for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i]!.hashValue > this.waiting[worst]!.hashValue) worst = i;
    return worst;
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.inFlight < this.options.maxInFlight) {
      const now = this.now();
      if (!this.bucket.take(now)) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, this.bucket.waitMs(now));
        return;
      }
      const share = this.waiting.shift()!;
      this.inFlight++;
      const done = () => {
        this.inFlight--;
        this.pump();
      };
      this.options.send(share).then(done, done);
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.waiting.length > 0 || this.inFlight > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
