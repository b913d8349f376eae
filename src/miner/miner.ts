// The miner (the worker task of the design): a PoolManager (Stratum, failover, share routing) feeding a
// KernelPool (WASM threads). Each thread loops over its own extranonce2 values of the current job and scans the
// nonce space in chunks, so a new job is picked up at the next chunk and a clean job cancels scans at once.
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { HashrateMeter } from '../kernel/hashrate.js';
import { KernelPool, validateThreads, type KernelChoice, type KernelName } from '../kernel/pool.js';
import { NONCE_SPACE } from '../kernel/types.js';
import { silentLogger, type Logger } from '../log.js';
import type { Share } from '../stratum/messages.js';
import { PoolManager, type PoolConfig, type PoolManagerOptions, type ShareOutcome, type WorkSet } from '../stratum/pool-manager.js';
import { ShareLog } from './share-log.js';
import { ShareStats, rejectionReason, type ShareCounts } from './share-stats.js';
import { SubmitQueue } from './submit-queue.js';
import { ExtranonceSpaceExhaustedError, JobWork, checkNonce, submitParamsFor, workCapacity, type Work } from './work.js';

/** Without a fixed nonceChunk, each thread sizes its kernel calls to take about this long. */
export const TARGET_CHUNK_SECONDS = 0.5;
const MIN_CHUNK = 1 << 16;
const MAX_CHUNK = 1 << 24;
const FIRST_CHUNK = 1 << 20;

/** Shares sent per second at most, unless MinerOptions.submitRatePerSecond says otherwise. */
export const DEFAULT_SUBMIT_RATE = 20;
/** Shares sent and not yet answered, at most: a pool that stops answering cannot make the miner pile them up. */
export const MAX_SUBMITS_IN_FLIGHT = 32;
/** Shares waiting to be sent, at most; beyond it the worst are dropped (and counted). */
export const MAX_QUEUED_SHARES = 64;
/**
 * Confirmed candidates one kernel call returns at most. At a tiny difficulty almost every nonce is a share: the
 * cap bounds the work per call (each candidate is re-checked and queued on the main thread), and it is far above
 * what the submit rate can send anyway.
 */
export const MAX_CANDIDATES_PER_SCAN = 64;

export interface MinerOptions {
  /** Pools in failover order. */
  pools: PoolConfig[];
  /** Kernel threads (default: all cores). */
  threads?: number;
  kernel?: KernelChoice;
  /** Return to the first pool once it has been healthy this long (default 120 s; 0 = never). */
  fallbackTimeMs?: number;
  /** Ask the pool for BIP 310 version rolling (default true). */
  versionRolling?: boolean;
  /** Send mining.extranonce.subscribe, so the pool can change extranonce1 without a reconnect (default false). */
  extranonceSubscribe?: boolean;
  /**
   * Nonces per kernel call: smaller switches to a non-clean job sooner, larger has less overhead. Default:
   * adaptive, about 0.5 s of the thread's own hashrate (2^16..2^24).
   */
  nonceChunk?: number;
  /**
   * After the pool connection is lost, keep hashing the last work this long: shares found meanwhile are queued
   * and sent if the session resumes. Then stop until new work arrives (default 60 s).
   */
  disconnectedHashMs?: number;
  /**
   * Shares sent per second at most (default 20, bursts of the same size). Shares found faster wait in a bounded
   * queue that keeps the best ones; the others are dropped and counted.
   */
  submitRatePerSecond?: number;
  /** Reconnect/failover tuning passed to the PoolManager (tests use short backoffs). */
  poolManager?: Omit<PoolManagerOptions, 'pools' | 'logger' | 'fallbackTimeMs'>;
  logger?: Logger;
}

export interface ThreadHashrate {
  avg5s: number;
  avg1m: number;
  avg5m: number;
  avg15m: number;
  /** Nonces this thread hashed since start. */
  total: number;
}

export interface MinerStatus {
  threads: number;
  kernel: KernelName | undefined;
  uptimeSeconds: number;
  hashrate: ThreadHashrate & { average: number };
  perThread: ThreadHashrate[];
  shares: ShareCounts;
  /** The pool work comes from, or the last one when not connected. */
  pool: { url: string; poolIndex: number } | undefined;
  connected: boolean;
  jobId: string | undefined;
  /** Share difficulty of the work being hashed. */
  difficulty: number | undefined;
  /** Latest difficulty the pool announced (applies from its next job). */
  nextDifficulty: number | undefined;
}

export interface MinerEvents {
  /** New work is being hashed. */
  job: [{ jobId: string; clean: boolean; difficulty: number; url: string; poolIndex: number; extranonce1: string }];
  /**
   * A kernel call finished. cancelled: stopped early by a clean job or stop(); hashed < count without cancelled:
   * it stopped at MAX_CANDIDATES_PER_SCAN, and the next call resumes right after.
   */
  scan: [{ slot: number; jobId: string; extranonce2: string; startNonce: number; count: number; hashed: number; cancelled: boolean }];
  /** A share leaves the submit queue for the pool manager (it may still call it stale, or queue it while disconnected). */
  submit: [{ jobId: string; share: Share; difficulty: number }];
  /**
   * The final outcome of a submitted share: the thread (slot) that found it, the pool its work came from, the share
   * difficulty it was sent at and the difficulty its hash reached.
   */
  share: [{ jobId: string; share: Share; outcome: ShareOutcome; slot: number; poolIndex: number; difficulty: number; hashDifficulty: number }];
  /** A share that was not submitted because its work was superseded. */
  stale: [{ jobId: string; reason: string }];
  connected: [{ url: string; poolIndex: number }];
  disconnected: [{ url: string; poolIndex: number; reason: string }];
}

/** A share waiting in the submit queue. */
interface PendingShare {
  hashValue: bigint;
  cleanEpoch: number;
  workSet: WorkSet;
  work: Work;
  share: Share;
  hashDifficulty: number;
}

/** The work every thread is hashing now; replaced on every job. */
interface Assignment {
  workSet: WorkSet;
  jobWork: JobWork;
  /** The clean epoch it belongs to: a later clean job (new block, new session, new extranonce) makes it stale. */
  cleanEpoch: number;
}

export class Miner extends EventEmitter<MinerEvents> {
  readonly threads: number;
  private readonly log: Logger;
  private readonly pools: PoolManager;
  private readonly nonceChunk: number | undefined;
  private readonly chunks: number[];
  private readonly disconnectedHashMs: number;
  private kernelPool: KernelPool | undefined;
  private readonly meters: HashrateMeter[];
  private readonly shareStats = new ShareStats();
  private readonly shareLog: ShareLog;
  private readonly submissions: SubmitQueue<PendingShare>;
  private readonly startedAt = performance.now();
  private current: Assignment | undefined;
  /** The latest work, kept for the status after a disconnect or stop. */
  private lastWork: WorkSet | undefined;
  private cleanEpoch = 0;
  private nextDifficulty: number | undefined;
  private workWaiters: (() => void)[] = [];
  private loops: Promise<void>[] = [];
  private disconnectTimer: NodeJS.Timeout | undefined;
  private connectedTo: string | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopPromise: Promise<void> | undefined;

  constructor(private readonly options: MinerOptions) {
    super();
    this.threads = validateThreads(options.threads ?? availableParallelism());
    this.log = options.logger ?? silentLogger;
    this.nonceChunk = options.nonceChunk;
    if (this.nonceChunk !== undefined && (!Number.isInteger(this.nonceChunk) || this.nonceChunk < 1 || this.nonceChunk > NONCE_SPACE)) {
      throw new Error(`nonceChunk must be an integer 1..2^32, got ${this.nonceChunk}`);
    }
    this.chunks = new Array<number>(this.threads).fill(this.nonceChunk ?? FIRST_CHUNK);
    this.disconnectedHashMs = options.disconnectedHashMs ?? 60_000;
    if (!(this.disconnectedHashMs >= 0)) throw new Error(`disconnectedHashMs must be >= 0, got ${this.disconnectedHashMs}`);
    const submitRate = options.submitRatePerSecond ?? DEFAULT_SUBMIT_RATE;
    if (!(submitRate > 0) || !Number.isFinite(submitRate)) throw new Error(`submitRatePerSecond must be a positive number, got ${submitRate}`);
    this.shareLog = new ShareLog(this.log);
    this.submissions = new SubmitQueue<PendingShare>({
      ratePerSecond: submitRate,
      maxInFlight: MAX_SUBMITS_IN_FLIGHT,
      maxQueued: MAX_QUEUED_SHARES,
      send: (p) => this.send(p),
      dropped: () => {
        this.shareStats.unsent('dropped');
        this.shareLog.count('dropped', 1);
      },
    });
    const now = () => performance.now();
    this.meters = Array.from({ length: this.threads }, () => new HashrateMeter(now, this.startedAt));
    // The PoolManager validates the pool list (URLs, users) here, before anything connects.
    this.pools = new PoolManager({
      ...options.poolManager,
      pools: options.pools,
      fallbackTimeMs: options.fallbackTimeMs,
      client: {
        ...options.poolManager?.client,
        versionRolling: options.versionRolling ?? true,
        extranonceSubscribe: options.extranonceSubscribe ?? false,
      },
      logger: this.log,
    });
    this.pools.on('job', (ws) => this.onWork(ws));
    this.pools.on('difficulty', ({ difficulty }) => {
      this.nextDifficulty = difficulty;
    });
    this.pools.on('connected', ({ url, poolIndex }) => {
      if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
      this.disconnectTimer = undefined;
      this.connectedTo = url;
      this.log.info({ pool: url, poolIndex }, `connected to pool ${url}`);
      this.emit('connected', { url, poolIndex });
    });
    this.pools.on('disconnected', (info) => this.onDisconnected(info));
    this.pools.on('protocol-error', ({ url, error }) => this.log.warn({ pool: url, err: error.message }, 'miner: bad input from pool'));
    this.pools.on('message', ({ url, text }) => this.log.info({ pool: url, message: text }, 'miner: message from pool'));
  }

  get kernel(): KernelName | undefined {
    return this.kernelPool?.kernel;
  }

  /** Starts the kernel threads (a broken build fails here) and then connects to the first pool. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('Miner.start() called twice');
    this.state = 'starting';
    this.kernelPool = await KernelPool.create({ threads: this.threads, kernel: this.options.kernel });
    if (this.state !== 'starting') {
      // stop() was called while the kernel loaded.
      await this.kernelPool.destroy();
      return;
    }
    this.state = 'running';
    this.log.info({ threads: this.threads, kernel: this.kernelPool.kernel }, 'miner: kernel threads ready');
    this.loops = Array.from({ length: this.threads }, (_, slot) => this.runThread(slot));
    this.pools.start();
  }

  /** Stops hashing at once, waits up to graceMs for shares in flight, then closes the pool connection. */
  stop(graceMs = 3000): Promise<void> {
    this.stopPromise ??= this.shutdown(graceMs);
    return this.stopPromise;
  }

  status(): MinerStatus {
    const at = performance.now();
    const perThread = this.meters.map((m) => {
      const s = m.snapshot(at);
      return { avg5s: s.avg5s, avg1m: s.avg1m, avg5m: s.avg5m, avg15m: s.avg15m, total: s.total };
    });
    const sum = (k: keyof ThreadHashrate) => perThread.reduce((acc, t) => acc + t[k], 0);
    const uptimeSeconds = (at - this.startedAt) / 1000;
    const total = sum('total');
    const work = this.current?.workSet ?? this.lastWork;
    const live = this.pools.currentPool;
    return {
      threads: this.threads,
      kernel: this.kernelPool?.kernel,
      uptimeSeconds,
      hashrate: { avg5s: sum('avg5s'), avg1m: sum('avg1m'), avg5m: sum('avg5m'), avg15m: sum('avg15m'), total, average: uptimeSeconds > 0 ? total / uptimeSeconds : 0 },
      perThread,
      shares: this.shareStats.snapshot(),
      pool: live ?? (work ? { url: work.url, poolIndex: work.poolIndex } : undefined),
      connected: live !== undefined,
      jobId: work?.job.jobId,
      difficulty: work?.difficulty,
      nextDifficulty: this.nextDifficulty,
    };
  }

  // ---- work ---------------------------------------------------------------------------------------------------

  private onWork(ws: WorkSet): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (ws.clean) {
      this.cleanEpoch++;
      // A new block (or session): scans of the old work stop at their next sub-batch, queued shares are stale.
      this.kernelPool?.cancel();
      this.dropStaleShares();
    }
    let jobWork: JobWork;
    try {
      // A pool may give fewer extranonce2 values than we have threads (tiny extranonce2_size): spare threads idle.
      const capacity = workCapacity(ws.extranonce2Size, ws.versionMask);
      const slots = Number(capacity < BigInt(this.threads) ? capacity : BigInt(this.threads));
      jobWork = new JobWork({
        job: ws.job,
        extranonce1: ws.extranonce1,
        extranonce2Size: ws.extranonce2Size,
        difficulty: ws.difficulty,
        slots,
        versionMask: ws.versionMask,
      });
      if (slots < this.threads) {
        this.log.warn({ extranonce2Size: ws.extranonce2Size, threads: this.threads, used: slots }, 'miner: extranonce2 space (and version rolling) too small for every thread');
      }
    } catch (err) {
      this.log.error({ pool: ws.url, jobId: ws.job.jobId, err: (err as Error).message }, 'miner: cannot build work from this job; ignoring it');
      if (ws.clean) this.setAssignment(undefined);
      return;
    }
    this.lastWork = ws;
    this.setAssignment({ workSet: ws, jobWork, cleanEpoch: this.cleanEpoch });
    this.log.debug({ pool: ws.url, jobId: ws.job.jobId, clean: ws.clean, difficulty: ws.difficulty }, 'miner: new work');
    this.emit('job', { jobId: ws.job.jobId, clean: ws.clean, difficulty: ws.difficulty, url: ws.url, poolIndex: ws.poolIndex, extranonce1: ws.extranonce1 });
  }

  private setAssignment(a: Assignment | undefined): void {
    this.current = a;
    const waiters = this.workWaiters;
    this.workWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when the assignment changes (or the miner stops). */
  private workChanged(): Promise<void> {
    return new Promise((resolve) => this.workWaiters.push(resolve));
  }

  private onDisconnected(info: { url: string; poolIndex: number; reason: string }): void {
    const wasUp = this.connectedTo === info.url;
    this.connectedTo = undefined;
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.log.warn(info, `${wasUp ? 'pool connection lost' : 'cannot reach pool'} ${info.url}: ${info.reason}`);
    this.emit('disconnected', info);
    if (this.disconnectTimer || this.state !== 'running') return;
    this.disconnectTimer = setTimeout(() => {
      this.disconnectTimer = undefined;
      if (this.pools.currentPool) return;
      this.log.warn({ afterMs: this.disconnectedHashMs }, 'miner: still no pool; stopped hashing the old work');
      this.cleanEpoch++;
      this.kernelPool?.cancel();
      this.dropStaleShares();
      this.setAssignment(undefined);
    }, this.disconnectedHashMs);
  }

  // ---- threads ------------------------------------------------------------------------------------------------

  private async runThread(slot: number): Promise<void> {
    while (this.state === 'running') {
      const a = this.current;
      if (!a || slot >= a.jobWork.slots) {
        await this.workChanged();
        continue;
      }
      let work: Work;
      try {
        work = a.jobWork.next(slot);
      } catch (err) {
        if (!(err instanceof ExtranonceSpaceExhaustedError)) this.log.error({ slot, err: (err as Error).message }, 'miner: cannot build a header');
        else this.log.warn({ slot, jobId: a.workSet.job.jobId }, 'miner: thread used up its extranonce2 values; waiting for a new job');
        if (this.current === a) await this.workChanged();
        continue;
      }
      await this.scanWork(a, work, slot);
    }
  }

  /** Scans all 2^32 nonces of one header in chunks; returns early when the work changes. */
  private async scanWork(a: Assignment, work: Work, slot: number): Promise<void> {
    const kernel = this.kernelPool!;
    for (let start = 0; start < NONCE_SPACE; ) {
      // Checked in the same tick as the scan is dispatched, so a cancel() in between is impossible.
      if (this.current !== a || this.state !== 'running') return;
      const count = Math.min(this.chunks[slot], NONCE_SPACE - start);
      // The event below reports this very request, so tests see exactly what the kernel was asked to scan.
      const req = { header: work.header, target: this.scanTarget(work), startNonce: start, count, maxCandidates: MAX_CANDIDATES_PER_SCAN };
      const began = performance.now();
      let result;
      try {
        result = await kernel.scan(req);
      } catch (err) {
        if (this.state !== 'running') return;
        this.log.error({ slot, err: (err as Error).message }, 'miner: kernel scan failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
        return;
      }
      this.meters[slot].record(result.hashed);
      // A call cut short at the candidate cap says nothing about the thread's speed.
      if (result.hashed === count) this.resizeChunk(slot, result.hashed, performance.now() - began);
      this.emit('scan', { slot, jobId: work.jobId, extranonce2: work.extranonce2Hex, startNonce: req.startNonce, count: req.count, hashed: result.hashed, cancelled: result.cancelled });
      for (const nonce of result.nonces) this.onCandidate(a, work, nonce);
      if (result.cancelled) return;
      start += result.hashed;
    }
  }

  /**
   * The share target the kernel looks for: the pool's, or, while the submit queue is full, only hashes better
   * than the worst share queued (a worse one would be dropped at once). The effective share difficulty rises
   * locally when the pool's is too low to submit everything found.
   */
  private scanTarget(work: Work): bigint {
    const admission = this.submissions.admissionTarget;
    return admission !== undefined && admission < work.target ? admission : work.target;
  }

  /** Keeps each kernel call near TARGET_CHUNK_SECONDS of this thread's measured speed (unless fixed). */
  private resizeChunk(slot: number, hashed: number, elapsedMs: number): void {
    if (this.nonceChunk !== undefined || elapsedMs <= 0 || hashed <= 0) return;
    const ideal = (hashed / elapsedMs) * 1000 * TARGET_CHUNK_SECONDS;
    // Move at most 4x per step so one slow call (a busy machine) does not swing it wildly.
    const next = Math.min(Math.max(ideal, this.chunks[slot] / 4, MIN_CHUNK), this.chunks[slot] * 4, MAX_CHUNK);
    this.chunks[slot] = Math.max(MIN_CHUNK, Math.round(next / 4096) * 4096);
  }

  // ---- shares -------------------------------------------------------------------------------------------------

  private onCandidate(a: Assignment, work: Work, nonce: number): void {
    this.shareStats.candidate();
    const check = checkNonce(work, nonce);
    if (!check.meetsTarget) {
      this.shareStats.invalid();
      this.log.error({ jobId: work.jobId, nonce, hash: check.hash.toString('hex') }, 'miner: kernel candidate fails the re-check; not submitted');
      return;
    }
    if (a.cleanEpoch !== this.cleanEpoch) {
      this.shareStats.staleBeforeSubmit(STALE_REASON);
      this.shareLog.count('stale', 1);
      this.emit('stale', { jobId: work.jobId, reason: STALE_REASON });
      return;
    }
    const p = submitParamsFor(work, nonce);
    const share: Share = {
      jobId: p.jobId,
      extranonce2: p.extranonce2Hex,
      ntime: p.ntimeHex,
      nonce: p.nonceHex,
      ...(p.versionBitsHex !== undefined ? { versionBits: p.versionBitsHex } : {}),
    };
    this.shareStats.submitted();
    this.submissions.offer({ hashValue: check.value, cleanEpoch: a.cleanEpoch, workSet: a.workSet, work, share, hashDifficulty: check.difficulty });
  }

  /** Sends one share from the submit queue; resolves once it has an outcome. */
  private async send(p: PendingShare): Promise<void> {
    this.emit('submit', { jobId: p.work.jobId, share: p.share, difficulty: p.work.difficulty });
    let outcome: ShareOutcome;
    try {
      outcome = await this.pools.submit(p.workSet, p.share);
    } catch (err) {
      outcome = { status: 'disconnected', reason: (err as Error).message };
    }
    const bucket = this.shareStats.outcome(outcome);
    const reason = bucket === 'rejected' ? rejectionReason(outcome) : outcome.reason;
    const line = { outcome: bucket, jobId: p.work.jobId, nonce: p.share.nonce, hashDifficulty: p.hashDifficulty, difficulty: p.work.difficulty, reason };
    this.shareLog.share(line, this.shareStats.snapshot());
    this.emit('share', { jobId: p.work.jobId, share: p.share, outcome, slot: p.work.slot, poolIndex: p.workSet.poolIndex, difficulty: p.work.difficulty, hashDifficulty: p.hashDifficulty });
  }

  /** Queued shares of an earlier clean epoch can only be refused now: counted stale, never sent. */
  private dropStaleShares(): void {
    const stale = this.submissions.removeStale(this.cleanEpoch);
    for (const p of stale) {
      this.shareStats.unsent('stale', STALE_REASON);
      this.emit('stale', { jobId: p.work.jobId, reason: STALE_REASON });
    }
    this.shareLog.count('stale', stale.length);
  }

  private async shutdown(graceMs: number): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.kernelPool?.cancel();
    this.setAssignment(undefined);
    await Promise.all(this.loops);
    const waiting = this.submissions.queued + this.submissions.sending;
    if (wasRunning && waiting > 0) {
      // Queued shares are still valid: they keep going out (at the submit rate) during the grace period.
      this.log.info({ shares: waiting, graceMs }, 'miner: waiting for shares in flight');
      await settleWithin(this.submissions.idle(), graceMs);
    }
    // What the grace period could not send is counted, never lost silently.
    const unsent = this.submissions.removeAll();
    for (const _ of unsent) this.shareStats.unsent('dropped');
    this.shareLog.count('dropped', unsent.length);
    this.pools.stop();
    // Submits still open resolve as 'disconnected' once the connection is closed.
    await settleWithin(this.submissions.idle(), 1000);
    this.shareLog.flush();
    await this.kernelPool?.destroy();
    this.state = 'stopped';
  }
}

const STALE_REASON = 'work superseded by a clean job or a new pool session';

/** Waits for `p`, at most `timeoutMs`. */
async function settleWithin(p: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
