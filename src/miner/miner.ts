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
import { ShareStats, rejectionReason, type ShareCounts } from './share-stats.js';
import { ExtranonceSpaceExhaustedError, JobWork, checkNonce, submitParamsFor, workCapacity, type Work } from './work.js';

/** Without a fixed nonceChunk, each thread sizes its kernel calls to take about this long. */
export const TARGET_CHUNK_SECONDS = 0.5;
const MIN_CHUNK = 1 << 16;
const MAX_CHUNK = 1 << 24;
const FIRST_CHUNK = 1 << 20;

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
  /** Reconnect/failover tuning passed to the PoolManager (tests use short backoffs). */
  poolManager?: Omit<PoolManagerOptions, 'pools' | 'logger' | 'fallbackTimeMs'>;
  logger?: Logger;
}

export interface ThreadHashrate {
  avg5s: number;
  avg1m: number;
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
  job: [{ jobId: string; clean: boolean; difficulty: number; url: string; extranonce1: string }];
  /** A kernel call finished (cancelled: stopped early by a clean job or stop()). */
  scan: [{ slot: number; jobId: string; extranonce2: string; startNonce: number; count: number; hashed: number; cancelled: boolean }];
  /** A share goes to the pool manager (it may still call it stale, or queue it while disconnected). */
  submit: [{ jobId: string; share: Share; difficulty: number }];
  /** The final outcome of a submitted share. */
  share: [{ jobId: string; share: Share; outcome: ShareOutcome }];
  /** A candidate that was not submitted because its work was superseded. */
  stale: [{ jobId: string; reason: string }];
  connected: [{ url: string; poolIndex: number }];
  disconnected: [{ url: string; poolIndex: number; reason: string }];
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
  private readonly startedAt = performance.now();
  private current: Assignment | undefined;
  /** The latest work, kept for the status after a disconnect or stop. */
  private lastWork: WorkSet | undefined;
  private cleanEpoch = 0;
  private nextDifficulty: number | undefined;
  private workWaiters: (() => void)[] = [];
  private loops: Promise<void>[] = [];
  private readonly pending = new Set<Promise<void>>();
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
      return { avg5s: s.avg5s, avg1m: s.avg1m, avg15m: s.avg15m, total: s.total };
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
      hashrate: { avg5s: sum('avg5s'), avg1m: sum('avg1m'), avg15m: sum('avg15m'), total, average: uptimeSeconds > 0 ? total / uptimeSeconds : 0 },
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
      // A new block (or session): scans of the old work stop at their next sub-batch.
      this.kernelPool?.cancel();
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
    this.emit('job', { jobId: ws.job.jobId, clean: ws.clean, difficulty: ws.difficulty, url: ws.url, extranonce1: ws.extranonce1 });
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
      const from = start;
      const count = Math.min(this.chunks[slot], NONCE_SPACE - from);
      start += count;
      // The event below reports this very request, so tests see exactly what the kernel was asked to scan.
      const req = { header: work.header, target: work.target, startNonce: from, count };
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
      if (!result.cancelled) this.resizeChunk(slot, result.hashed, performance.now() - began);
      this.emit('scan', { slot, jobId: work.jobId, extranonce2: work.extranonce2Hex, startNonce: req.startNonce, count: req.count, hashed: result.hashed, cancelled: result.cancelled });
      for (const nonce of result.nonces) this.onCandidate(a, work, nonce);
      if (result.cancelled) return;
    }
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
      const reason = 'work superseded by a clean job or a new pool session';
      this.shareStats.staleBeforeSubmit(reason);
      this.emit('stale', { jobId: work.jobId, reason });
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
    this.emit('submit', { jobId: work.jobId, share, difficulty: work.difficulty });
    const done: Promise<void> = this.pools
      .submit(a.workSet, share)
      .then(
        (outcome) => this.onOutcome(work, share, check.difficulty, outcome),
        (err: Error) => this.onOutcome(work, share, check.difficulty, { status: 'disconnected', reason: err.message }),
      )
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  private onOutcome(work: Work, share: Share, hashDifficulty: number, outcome: ShareOutcome): void {
    const bucket = this.shareStats.outcome(outcome);
    const s = this.shareStats.snapshot();
    const answered = s.accepted + s.rejected;
    const ratio = answered > 0 ? ((100 * s.accepted) / answered).toFixed(1) : '0.0';
    // cpuminer style: the message alone tells the story in a terminal; the fields serve JSON log readers.
    const summary = `${s.accepted}/${answered} (${ratio}%) job ${work.jobId} diff ${hashDifficulty.toPrecision(3)}`;
    const fields = { jobId: work.jobId, nonce: share.nonce, shareDifficulty: hashDifficulty, difficulty: work.difficulty, accepted: s.accepted, rejected: s.rejected, stale: s.stale };
    if (bucket === 'accepted') this.log.info(fields, `share accepted: ${summary}`);
    else if (bucket === 'rejected') this.log.warn({ ...fields, reason: rejectionReason(outcome) }, `share rejected (${rejectionReason(outcome)}): ${summary}`);
    else this.log.info({ ...fields, status: outcome.status, reason: outcome.reason }, `share ${bucket} (${outcome.reason ?? outcome.status}): job ${work.jobId}`);
    this.emit('share', { jobId: work.jobId, share, outcome });
  }

  private async shutdown(graceMs: number): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.kernelPool?.cancel();
    this.setAssignment(undefined);
    await Promise.all(this.loops);
    if (wasRunning && this.pending.size > 0) {
      this.log.info({ shares: this.pending.size, graceMs }, 'miner: waiting for shares in flight');
      await this.settlePending(graceMs);
    }
    this.pools.stop();
    // Submits still open resolve as 'disconnected' once the connection is closed.
    await this.settlePending(1000);
    await this.kernelPool?.destroy();
    this.state = 'stopped';
  }

  private async settlePending(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
