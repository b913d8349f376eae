// The miner server: a Stratum v1 server for many miners in front of one Upstream. It partitions each upstream
// extranonce space among sessions, fans jobs out, checks every share, forwards those that meet the upstream
// target and keeps the books (stats, metrics).
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hashToDisplayHex } from '../bitcoin/hash.js';
import { JsonRpcConnection } from '../stratum/codec.js';
import type { Share } from '../stratum/messages.js';
import { DEFAULT_VERSION_ROLLING_MASK } from '../stratum/messages.js';
import { listenOn } from '../listen-address.js';
import { silentLogger, type Logger } from '../log.js';
import type { Upstream, UpstreamJob, UpstreamWorkSpace } from '../upstream/types.js';
import { leHashMeetsTarget } from './difficulty.js';
import { ExtranoncePrefixAllocator, ExtranonceExhaustedError } from './extranonce.js';
import { JobBook, type ServerJob } from './job-book.js';
import { ServerMetrics } from './metrics.js';
import { ServerStats, type ServerStatsSnapshot } from './server-stats.js';
import { Session, notifyLineFor, type SessionHost, type SessionLimits, type SessionSlot, type SessionStatus } from './session.js';
import type { ShareVerdict } from './share-check.js';
import { validateVardiffOptions, type VardiffOptions } from './vardiff.js';

export interface MinerServerOptions {
  upstream: Upstream;
  host?: string;
  port?: number;
  /** Required from miners in mining.authorize when set. */
  minerPassword?: string;
  maxConnections?: number;
  maxLineLength?: number;
  submitRatePerSecond?: number;
  idleTimeoutMs?: number;
  maxWriteBufferBytes?: number;
  maxProtocolErrors?: number;
  vardiff?: Partial<VardiffOptions>;
  initialDifficulty?: number;
  /** Version bits offered to miners (intersected with the upstream's mask). */
  versionMask?: number;
  /**
   * Shares forwarded and not yet answered by the upstream, at most; a share that would go beyond is not forwarded
   * and counted as dropped (a flood at a tiny difficulty, or an upstream that stops answering, must not grow memory).
   */
  maxPendingForwards?: number;
  /** How long a subscribe waits for the upstream's first extranonce space. */
  subscribeWaitMs?: number;
  /** Test hook: cap on sessions per upstream space (to reach prefix exhaustion). */
  maxSessionsPerSpace?: number;
  /** Collect Node's default process metrics into /metrics (off in tests: they are global). */
  defaultMetrics?: boolean;
  logger?: Logger;
}

/** Forwarded blocks that may wait for the upstream beyond `maxPendingForwards`. */
const BLOCK_FORWARD_RESERVE = 16;

export const SERVER_DEFAULTS = {
  host: '0.0.0.0',
  port: 3333,
  maxConnections: 20_000,
  maxLineLength: 4096,
  submitRatePerSecond: 50,
  idleTimeoutMs: 600_000,
  maxWriteBufferBytes: 1 << 20,
  maxProtocolErrors: 20,
  vardiffTargetSeconds: 10,
  minDifficulty: 1 / 65536,
  maxDifficulty: 2 ** 40,
  initialDifficulty: 1,
  subscribeWaitMs: 10_000,
  maxPendingForwards: 256,
} as const;

interface SpaceState {
  space: UpstreamWorkSpace;
  allocator: ExtranoncePrefixAllocator | null;
  /** Why the space cannot be shared (extranonce2 too small), when allocator is null. */
  unusable: string | null;
  sessions: Set<Session>;
  currentJob: ServerJob | null;
}

export interface MinerServerStatus {
  listen: string | null;
  connections: number;
  maxConnections: number;
  upstream: ReturnType<Upstream['status']>;
  stats: ServerStatsSnapshot;
  minersShown: number;
  miners: SessionStatus[];
}

export interface MinerServerEvents {
  /** A share met the upstream target and was forwarded; resolved with the upstream's answer. */
  forwarded: [{ worker: string; accepted: boolean; reason?: string; block?: boolean; lostBlock?: 'stale' | 'orphaned' }];
}

export class MinerServer extends EventEmitter<MinerServerEvents> implements SessionHost {
  readonly upstream: Upstream;
  readonly stats = new ServerStats();
  readonly metrics: ServerMetrics;
  readonly limits: SessionLimits;
  readonly vardiff: VardiffOptions;
  readonly initialDifficulty: number;
  private readonly options: MinerServerOptions;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private readonly spaces = new Map<string, SpaceState>();
  private readonly book = new JobBook();
  private readonly pendingForwards = new Set<Promise<void>>();
  private readonly maxPendingForwards: number;
  private readonly spaceWaiters = new Set<() => void>();
  private addingSpace: Promise<UpstreamWorkSpace> | null = null;
  private nextSessionId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private address: AddressInfo | null = null;
  private closing = false;
  private readonly upstreamListeners: Array<[string, (...args: never[]) => void]> = [];

  constructor(options: MinerServerOptions) {
    super();
    this.options = options;
    this.upstream = options.upstream;
    this.log = options.logger ?? silentLogger;
    this.vardiff = {
      targetSeconds: options.vardiff?.targetSeconds ?? SERVER_DEFAULTS.vardiffTargetSeconds,
      minDifficulty: options.vardiff?.minDifficulty ?? SERVER_DEFAULTS.minDifficulty,
      maxDifficulty: options.vardiff?.maxDifficulty ?? SERVER_DEFAULTS.maxDifficulty,
      ...(options.vardiff?.retargetShares ? { retargetShares: options.vardiff.retargetShares } : {}),
      ...(options.vardiff?.retargetSeconds ? { retargetSeconds: options.vardiff.retargetSeconds } : {}),
    };
    validateVardiffOptions(this.vardiff);
    this.initialDifficulty = options.initialDifficulty ?? SERVER_DEFAULTS.initialDifficulty;
    if (!(this.initialDifficulty > 0)) throw new Error(`initial difficulty must be positive, got ${this.initialDifficulty}`);
    this.limits = {
      submitRatePerSecond: positive('submit rate', options.submitRatePerSecond ?? SERVER_DEFAULTS.submitRatePerSecond),
      maxWriteBufferBytes: positive('max write buffer', options.maxWriteBufferBytes ?? SERVER_DEFAULTS.maxWriteBufferBytes),
      maxProtocolErrors: options.maxProtocolErrors ?? SERVER_DEFAULTS.maxProtocolErrors,
    };
    this.maxPendingForwards = positive('max pending forwards', options.maxPendingForwards ?? SERVER_DEFAULTS.maxPendingForwards);
    positive('max connections', options.maxConnections ?? SERVER_DEFAULTS.maxConnections);
    positive('max line length', options.maxLineLength ?? SERVER_DEFAULTS.maxLineLength);
    this.metrics = new ServerMetrics(
      {
        connections: () => this.sessions.size,
        upstreamConnected: () => (this.upstream.status().state === 'connected' ? 1 : 0),
        upstreamDifficulty: () => this.upstream.status().difficulty ?? 0,
        hashrate: () => this.stats.hashrate.snapshot(Date.now())['5m'],
      },
      { defaultMetrics: options.defaultMetrics },
    );
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
    this.listenUpstream('space', (space: UpstreamWorkSpace) => this.onSpace(space));
    this.listenUpstream('space-lost', (spaceId: string, reason: string) => this.onSpaceLost(spaceId, reason));
    this.listenUpstream('job', (job: UpstreamJob) => this.onJob(job));
    for (const space of this.upstream.spaces()) {
      this.onSpace(space);
      const job = this.upstream.currentJob(space.spaceId);
      if (job) this.onJob(job);
    }
  }

  private listenUpstream(event: string, fn: (...args: never[]) => void): void {
    (this.upstream as EventEmitter).on(event, fn as (...args: unknown[]) => void);
    this.upstreamListeners.push([event, fn]);
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen(): Promise<AddressInfo> {
    const host = this.options.host ?? SERVER_DEFAULTS.host;
    const port = this.options.port ?? SERVER_DEFAULTS.port;
    this.address = await listenOn(this.server, { host, port }, 'miners', 4096);
    const sweepEvery = Math.min(5000, Math.max(100, (this.options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs) / 4));
    this.sweepTimer = setInterval(() => this.sweep(), sweepEvery);
    this.sweepTimer.unref();
    this.log.info({ address: `${this.address.address}:${this.address.port}` }, 'miner server listening');
    return this.address;
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /**
   * Graceful stop: refuse new miners, wait (bounded) for shares already on their way upstream, then drop every
   * session. Does not stop the upstream (its owner does, after this).
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.sweepTimer);
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.pendingForwards.size > 0) {
      this.log.info({ pending: this.pendingForwards.size }, 'waiting for shares in flight upstream');
      await Promise.race([
        Promise.allSettled([...this.pendingForwards]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    for (const session of [...this.sessions]) session.close('server shutting down');
    for (const [event, fn] of this.upstreamListeners) (this.upstream as EventEmitter).off(event, fn as never);
    for (const wake of this.spaceWaiters) wake();
    await listenerClosed;
  }

  // ---- connections -------------------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const max = this.options.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    if (this.closing || this.sessions.size >= max) {
      this.metrics.connectionsTotal.inc({ outcome: 'refused' });
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.metrics.connectionsTotal.inc({ outcome: 'accepted' });
    socket.setKeepAlive(true, 60_000);
    // Answers are small and latency-bound: no Nagle delay behind a miner's delayed ACK.
    socket.setNoDelay(true);
    const conn = new JsonRpcConnection(socket, {
      maxLineLength: this.options.maxLineLength ?? SERVER_DEFAULTS.maxLineLength,
      requestTimeoutMs: 0,
    });
    const session = new Session(this.nextSessionId++, socket, conn, this);
    this.sessions.add(session);
    this.log.debug({ session: session.id, remote: session.remote }, 'miner connected');
  }

  onSessionClosed(session: Session, reason: string): void {
    this.sessions.delete(session);
    this.releaseSlot(session);
    this.log.debug({ session: session.id, worker: session.worker, reason }, 'miner disconnected');
  }

  /** Idle timeouts and vardiff for miners that went quiet (their difficulty must come down). */
  private sweep(): void {
    const now = Date.now();
    const idle = this.options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs;
    for (const session of this.sessions) {
      if (now - session.lastReceivedAt > idle) session.close(`idle for more than ${idle} ms`);
      else session.maybeRetarget(now);
    }
  }

  // ---- SessionHost -------------------------------------------------------------------------------------------

  versionMaskOffer(): number {
    const own = this.options.versionMask ?? DEFAULT_VERSION_ROLLING_MASK;
    let upstreamMask: number | null = null;
    for (const state of this.spaces.values()) {
      if (state.currentJob) upstreamMask = state.currentJob.upstream.versionMask;
    }
    return ((upstreamMask ?? own) & own) >>> 0;
  }

  checkPassword(password: string): boolean {
    const expected = this.options.minerPassword;
    if (expected === undefined || expected === '') return true;
    return constantTimeEqual(password, expected);
  }

  async assignSlot(session: Session): Promise<SessionSlot> {
    const deadline = Date.now() + (this.options.subscribeWaitMs ?? SERVER_DEFAULTS.subscribeWaitMs);
    for (;;) {
      if (this.closing) throw new Error('server is shutting down');
      const usable = [...this.spaces.values()].filter((s) => s.allocator);
      for (const state of usable) {
        const slot = this.tryAllocate(state, session);
        if (slot) return slot;
      }
      if (usable.length > 0) {
        // Every usable space is full: ask the upstream for another one (one request at a time).
        this.addingSpace ??= this.upstream.addSpace().finally(() => (this.addingSpace = null));
        let space: UpstreamWorkSpace;
        try {
          space = await this.addingSpace;
        } catch (err) {
          throw new Error(`no free extranonce prefix: ${(err as Error).message}`);
        }
        this.onSpace(space);
        continue;
      }
      const unusable = [...this.spaces.values()].find((s) => s.unusable);
      if (unusable) throw new Error(unusable.unusable!);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('upstream is not connected yet; try again later');
      await this.waitForSpace(left);
    }
  }

  private tryAllocate(state: SpaceState, session: Session): SessionSlot | null {
    try {
      const slot = state.allocator!.allocate();
      state.sessions.add(session);
      return { spaceId: state.space.spaceId, ...slot };
    } catch (err) {
      if (err instanceof ExtranonceExhaustedError) return null;
      throw err;
    }
  }

  private waitForSpace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.spaceWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.spaceWaiters.add(wake);
    });
  }

  releaseSlot(session: Session): void {
    const slot = session.slot;
    if (!slot) return;
    const state = this.spaces.get(slot.spaceId);
    if (state && state.sessions.delete(session)) state.allocator?.release(slot.prefix);
  }

  currentJob(spaceId: string): ServerJob | null {
    return this.spaces.get(spaceId)?.currentJob ?? null;
  }

  jobKnown(job: ServerJob): boolean {
    return this.book.has(job);
  }

  /**
   * Proxy mode: the pool's difficulty, even below --min-diff (a share the pool would pay for is never thrown away).
   * Solo mode: the network's, but never below --min-diff: a share that meets the network target is a block at any
   * session difficulty, and following regtest's 4.66e-10 down would make every hash a share.
   */
  difficultyCeiling(job: ServerJob): number {
    const upstream = job.upstream.difficulty;
    return this.upstream.kind === 'solo' ? Math.max(upstream, this.vardiff.minDifficulty) : upstream;
  }

  onShareChecked(session: Session, share: Share, verdict: ShareVerdict, startedAt: number): void {
    const now = Date.now();
    if (verdict.ok) {
      this.stats.recordAccepted(verdict.difficulty, now, verdict.shareDifficulty);
      this.metrics.acceptedShares.inc();
      if (verdict.meetsUpstream) this.forward(session, share, verdict);
    } else {
      this.stats.recordRejected(verdict.reason);
      this.metrics.shares.inc({ result: 'rejected', reason: verdict.reason });
      this.log.debug({ session: session.id, worker: session.worker, reason: verdict.message }, 'share rejected');
    }
    this.metrics.shareLatency.observe((performance.now() - startedAt) / 1000);
  }

  private forward(session: Session, share: Share, verdict: Extract<ShareVerdict, { ok: true }>): void {
    const slot = session.slot!;
    const built = verdict.built;
    if (!built) throw new Error('internal: a share meeting the upstream target has no built header'); // checkShare keeps it
    const announcedJob = verdict.job;
    // Blocks have room of their own beyond the cap, so a slow upstream's backlog of ordinary shares never costs one
    // (more than BLOCK_FORWARD_RESERVE blocks waiting at once only happens where blocks are nearly free: regtest).
    const block = leHashMeetsTarget(built.hash, announcedJob.networkTargetLe);
    const cap = this.maxPendingForwards + (block ? BLOCK_FORWARD_RESERVE : 0);
    if (this.pendingForwards.size >= cap) {
      // The miner keeps its credit (the share was valid); only the upstream never sees it. Counted, never silent.
      this.stats.forwardsDropped++;
      this.metrics.upstreamShares.inc({ result: 'dropped' });
      this.log.warn({ worker: session.worker, pending: this.pendingForwards.size }, 'share not forwarded: too many shares waiting for the upstream');
      return;
    }
    this.stats.forwarded++;
    this.stats.pendingUpstream++;
    const worker = session.worker;
    const p = this.upstream
      .submit({
        spaceId: slot.spaceId,
        jobId: announcedJob.upstream.jobId,
        extranonce2: slot.prefix + share.extranonce2,
        ntime: share.ntime,
        nonce: share.nonce,
        ...(share.versionBits !== undefined ? { versionBits: share.versionBits } : {}),
        header: built.header,
        coinbase: built.coinbase,
        worker,
      })
      .then(
        (outcome) => {
          if (outcome.accepted) {
            this.stats.upstreamAccepted++;
            this.metrics.upstreamShares.inc({ result: 'accepted' });
          } else if (outcome.lostBlock === 'stale') {
            // Not a rejection: the upstream kept it back (its tip already has our block, or moved on).
            this.metrics.upstreamShares.inc({ result: 'stale' });
          } else {
            this.stats.upstreamRejected++;
            this.metrics.upstreamShares.inc({ result: 'rejected' });
            this.log.warn({ worker, reason: outcome.reason, code: outcome.code }, 'upstream rejected a share');
          }
          if (outcome.block) {
            const hash = hashToDisplayHex(built.hash);
            this.stats.recordBlock({ height: outcome.height ?? null, hash, worker, status: 'found' }, Date.now());
            this.metrics.blocks.inc();
            this.log.info({ worker, hash }, 'block found');
          } else if (outcome.lostBlock) {
            const hash = hashToDisplayHex(built.hash);
            if (outcome.lostBlock === 'orphaned') this.stats.recordBlock({ height: outcome.height ?? null, hash, worker, status: 'orphaned' }, Date.now());
            else this.stats.blocksStale++;
            this.metrics.lostBlocks.inc({ reason: outcome.lostBlock });
            this.log.info({ worker, hash, lost: outcome.lostBlock, reason: outcome.reason }, 'block solution lost');
          }
          const { accepted, reason, block, lostBlock } = outcome;
          this.emit('forwarded', { worker, accepted, reason, block, lostBlock });
        },
        (err: Error) => {
          this.stats.upstreamErrors++;
          this.metrics.upstreamShares.inc({ result: 'error' });
          this.log.error({ worker, err: err.message }, 'forwarding a share upstream failed');
          this.emit('forwarded', { worker, accepted: false, reason: err.message });
        },
      )
      .finally(() => {
        this.stats.pendingUpstream--;
        this.pendingForwards.delete(p);
      });
    this.pendingForwards.add(p);
  }

  // ---- upstream events ---------------------------------------------------------------------------------------

  private onSpace(space: UpstreamWorkSpace): void {
    const existing = this.spaces.get(space.spaceId);
    if (
      existing &&
      existing.space.extranonce1 === space.extranonce1 &&
      existing.space.extranonce2Size === space.extranonce2Size
    ) {
      return; // resumed with the same extranonce: sessions keep their prefixes
    }
    let allocator: ExtranoncePrefixAllocator | null = null;
    let unusable: string | null = null;
    try {
      allocator = new ExtranoncePrefixAllocator(space.extranonce1, space.extranonce2Size, this.options.maxSessionsPerSpace);
    } catch (err) {
      unusable = `upstream ${space.spaceId}: ${(err as Error).message}`;
      this.log.error({ space: space.spaceId }, unusable);
    }
    const state: SpaceState = { space, allocator, unusable, sessions: new Set(), currentJob: null };
    this.spaces.set(space.spaceId, state);
    this.book.markSpaceStale(space.spaceId);
    if (existing) {
      this.log.info(
        { space: space.spaceId, extranonce1: space.extranonce1, sessions: existing.sessions.size },
        'upstream extranonce changed: re-assigning miners',
      );
      for (const session of existing.sessions) {
        const slot = allocator ? this.tryAllocate(state, session) : null;
        if (slot) session.reassign(slot);
        else {
          session.slot = null;
          session.close('no extranonce prefix left after the upstream extranonce changed');
        }
      }
    }
    for (const wake of [...this.spaceWaiters]) wake();
  }

  private onSpaceLost(spaceId: string, reason: string): void {
    const state = this.spaces.get(spaceId);
    if (!state) return;
    this.log.warn({ space: spaceId, reason }, 'upstream work space lost: its jobs are stale');
    this.book.markSpaceStale(spaceId);
    state.currentJob = null;
  }

  private onJob(upstreamJob: UpstreamJob): void {
    const state = this.spaces.get(upstreamJob.spaceId);
    if (!state) {
      this.log.warn({ space: upstreamJob.spaceId, job: upstreamJob.jobId }, 'job for an unknown space ignored');
      return;
    }
    let job: ServerJob;
    try {
      job = this.book.add(upstreamJob);
    } catch (err) {
      this.log.error({ job: upstreamJob.jobId, err: (err as Error).message }, 'bad upstream job ignored');
      return;
    }
    // A reconnect can deliver the same job again after its space was lost; it is current again.
    job.stale = false;
    state.currentJob = job;
    const line = notifyLineFor(job, job.id, upstreamJob.clean);
    for (const session of state.sessions) session.sendJob(job, upstreamJob.clean, line);
  }

  // ---- status ------------------------------------------------------------------------------------------------

  /** `minerLimit` caps the per-miner list (the busiest first by 5-minute hashrate); totals always cover everyone. */
  status(now = Date.now(), minerLimit = Infinity): MinerServerStatus {
    let sessions = [...this.sessions];
    if (sessions.length > minerLimit) {
      const rate = new Map(sessions.map((s) => [s, s.hashrate.snapshot(now)['5m']]));
      sessions = sessions.sort((a, b) => rate.get(b)! - rate.get(a)!).slice(0, Math.max(0, minerLimit));
    }
    return {
      listen: this.address ? `${this.address.address}:${this.address.port}` : null,
      connections: this.sessions.size,
      maxConnections: this.options.maxConnections ?? SERVER_DEFAULTS.maxConnections,
      upstream: this.upstream.status(),
      stats: this.stats.snapshot(now),
      minersShown: sessions.length,
      miners: sessions.map((s) => s.status(now)),
    };
  }
}

function positive(what: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${what} must be a positive number, got ${value}`);
  return value;
}

/** Compares secrets without an early exit on the first differing character. */
function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
