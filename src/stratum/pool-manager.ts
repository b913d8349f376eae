// Several pools in priority order: one active Stratum connection, reconnect with capped backoff + jitter,
// failover down the list, and a return to the first pool once a background probe has been healthy for
// `fallbackTimeMs`. It hands the miner fully built work sets and routes each share to the session it came from.
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { StratumClient, type ClientJob, type SessionInfo, type StratumClientOptions, type SubmitResult } from './client.js';
import type { StratumProtocolError } from './errors.js';
import { silentLogger, type LogSink } from '../log.js';
import type { Share, StratumJob } from './messages.js';
import { parsePoolUrl, type PoolUrl } from './pool-url.js';

export interface PoolConfig {
  url: string;
  user: string;
  password?: string;
}

/** Client settings shared by every pool connection. */
export type SharedClientOptions = Omit<StratumClientOptions, 'host' | 'port' | 'user' | 'password' | 'sessionId' | 'logger'>;

export interface PoolManagerOptions {
  pools: PoolConfig[];
  /** Switch back to the first pool once a probe connection to it has been healthy this long (default 120 s; 0 = never). */
  fallbackTimeMs?: number;
  /** Consecutive failures on one pool before moving to the next (default 2). */
  failoverAfterFailures?: number;
  /** Reconnect delays (default 1 s doubling to 60 s, ±25 % jitter). Also paces fallback probes. */
  backoff?: BackoffOptions;
  client?: SharedClientOptions;
  /** Shares kept while disconnected, to send if the same session resumes (default 256). */
  maxQueuedShares?: number;
  /** A queued share older than this is given up as 'timeout' (default 60 s). */
  queuedShareMaxAgeMs?: number;
  logger?: LogSink;
}

/** Everything a miner needs to build headers; rebuilt from scratch on every (re)subscribe and set_extranonce. */
export interface WorkSet {
  poolIndex: number;
  url: string;
  /** Identifies the pool session; shares carry it back so they only go where they are valid. */
  sessionKey: number;
  job: StratumJob;
  extranonce1: string;
  extranonce2Size: number;
  /** Share difficulty for this job (the latest set_difficulty before its notify). */
  difficulty: number;
  /** BIP 310 mask the miner may roll (0 = no rolling). */
  versionMask: number;
  /** Drop all earlier work: new block, new session, new extranonce or version mask. */
  clean: boolean;
}

export type ShareOutcome = SubmitResult | { status: 'stale'; reason: string };

export interface PoolManagerEvents {
  job: [WorkSet];
  difficulty: [{ url: string; difficulty: number }];
  connected: [{ url: string; poolIndex: number; session: SessionInfo }];
  disconnected: [{ url: string; poolIndex: number; reason: string }];
  'protocol-error': [{ url: string; error: StratumProtocolError }];
  message: [{ url: string; text: string }];
}

interface Handle {
  client: StratumClient;
  poolIndex: number;
  url: string;
  role: 'active' | 'probe' | 'retired';
  ready: boolean;
  wasActive: boolean;
  reconnect?: { host: string; port: number; waitMs: number };
}

interface QueuedShare {
  work: WorkSet;
  share: Share;
  resolve: (outcome: ShareOutcome) => void;
  timer: NodeJS.Timeout;
}

const MAX_LIVE_JOBS = 256;

export class PoolManager extends EventEmitter<PoolManagerEvents> {
  private readonly pools: (PoolConfig & { address: PoolUrl })[];
  private readonly log: LogSink;
  private readonly fallbackTimeMs: number;
  private readonly failoverAfterFailures: number;
  private readonly maxQueuedShares: number;
  private readonly queuedShareMaxAgeMs: number;
  private readonly backoff: Backoff;
  private readonly probeBackoff: Backoff;

  private active: Handle | undefined;
  private probe: Handle | undefined;
  private stopped = false;
  private started = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private failuresOnPool = 0;
  private readonly failedSinceSuccess = new Set<number>();
  private readonly lastSession = new Map<number, { sessionId?: string; extranonce1: string }>();
  private readonly redirects = new Map<number, { host: string; port: number }>();
  private sessionKey = 0;
  private sessionPool = -1;
  private readonly liveJobs = new Set<string>();
  private needsClean = true;
  private gotJobThisSession = false;
  private currentWork: WorkSet | undefined;
  private queue: QueuedShare[] = [];

  constructor(private readonly options: PoolManagerOptions) {
    super();
    if (!Array.isArray(options.pools) || options.pools.length === 0) throw new Error('at least one pool is required');
    this.pools = options.pools.map((p, i) => {
      if (!p || typeof p.user !== 'string' || p.user === '') throw new Error(`pool ${i + 1} (${p?.url}): a user (wallet.worker) is required`);
      return { ...p, address: parsePoolUrl(p.url) };
    });
    this.log = options.logger ?? silentLogger;
    this.fallbackTimeMs = options.fallbackTimeMs ?? 120_000;
    this.failoverAfterFailures = options.failoverAfterFailures ?? 2;
    this.maxQueuedShares = options.maxQueuedShares ?? 256;
    this.queuedShareMaxAgeMs = options.queuedShareMaxAgeMs ?? 60_000;
    if (!(this.fallbackTimeMs >= 0)) throw new Error(`fallbackTimeMs must be >= 0, got ${this.fallbackTimeMs}`);
    if (!(Number.isInteger(this.failoverAfterFailures) && this.failoverAfterFailures >= 1)) {
      throw new Error(`failoverAfterFailures must be an integer >= 1, got ${this.failoverAfterFailures}`);
    }
    const backoff = { initialMs: 1000, maxMs: 60_000, jitter: 0.5, ...options.backoff };
    this.backoff = new Backoff(backoff);
    this.probeBackoff = new Backoff(backoff);
  }

  /** The pool work currently comes from, if connected. */
  get currentPool(): { url: string; poolIndex: number } | undefined {
    return this.active?.ready ? { url: this.active.url, poolIndex: this.active.poolIndex } : undefined;
  }

  get work(): WorkSet | undefined {
    return this.currentWork;
  }

  get queuedShares(): number {
    return this.queue.length;
  }

  start(): void {
    if (this.started) throw new Error('PoolManager.start() called twice');
    this.started = true;
    this.connect(0);
  }

  /** Closes every connection, cancels timers and gives up queued shares ('disconnected'). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const q of this.queue.splice(0)) {
      clearTimeout(q.timer);
      q.resolve({ status: 'disconnected', reason: 'pool manager stopped' });
    }
    this.probe?.client.close('pool manager stopped');
    this.active?.client.close('pool manager stopped');
  }

  /**
   * Sends a share to the session its work came from. Work from an earlier session, or for a job the pool has
   * since cleaned, is not sent ('stale'). While disconnected, a still-valid share waits for the session to resume.
   */
  submit(work: WorkSet, share: Share): Promise<ShareOutcome> {
    if (this.stopped) return Promise.resolve({ status: 'disconnected', reason: 'pool manager stopped' });
    const stale = this.staleReason(work);
    if (stale) return Promise.resolve({ status: 'stale', reason: stale });
    const active = this.active;
    if (active?.ready && active.role === 'active') return active.client.submit(share);
    if (this.queue.length >= this.maxQueuedShares) {
      return Promise.resolve({ status: 'disconnected', reason: `not connected and ${this.maxQueuedShares} shares already queued` });
    }
    return new Promise((resolve) => {
      const entry: QueuedShare = {
        work,
        share,
        resolve,
        timer: setTimeout(() => {
          this.queue = this.queue.filter((q) => q !== entry);
          resolve({ status: 'timeout', reason: `not reconnected within ${this.queuedShareMaxAgeMs} ms` });
        }, this.queuedShareMaxAgeMs),
      };
      this.queue.push(entry);
    });
  }

  private staleReason(work: WorkSet): string | undefined {
    if (work.sessionKey !== this.sessionKey) return `work from an earlier pool session (${work.url})`;
    if (!this.liveJobs.has(work.job.jobId)) return `job ${work.job.jobId} is no longer current`;
    return undefined;
  }

  // ---- connections ------------------------------------------------------------------------------------------

  private newClient(poolIndex: number, role: 'active' | 'probe'): Handle {
    const pool = this.pools[poolIndex];
    const target = this.redirects.get(poolIndex) ?? pool.address;
    const client = new StratumClient({
      ...this.options.client,
      host: target.host,
      port: target.port,
      user: pool.user,
      password: pool.password,
      sessionId: this.lastSession.get(poolIndex)?.sessionId,
      logger: this.log,
    });
    const h: Handle = { client, poolIndex, url: pool.address.url, role, ready: false, wasActive: role === 'active' };
    client.on('ready', (info) => this.onReady(h, info));
    client.on('job', (cj) => {
      if (h.role === 'active') this.onJob(h, cj);
    });
    client.on('difficulty', (difficulty) => {
      if (h.role === 'active') this.emit('difficulty', { url: h.url, difficulty });
    });
    client.on('extranonce', () => {
      if (h.role !== 'active') return;
      this.newSession(h.poolIndex, true);
      this.rememberSession(h);
      this.rebuildWork(h);
    });
    client.on('version-mask', () => {
      if (h.role !== 'active') return;
      this.needsClean = true;
      this.rebuildWork(h);
    });
    client.on('reconnect-request', (r) => {
      h.reconnect = { host: r.host, port: r.port, waitMs: r.waitSeconds * 1000 };
    });
    client.on('message', (text) => this.emit('message', { url: h.url, text }));
    client.on('protocol-error', (error) => this.emit('protocol-error', { url: h.url, error }));
    client.on('close', (reason) => this.onClose(h, reason));
    client.start().catch(() => {
      // Reported through 'close'.
    });
    return h;
  }

  private connect(poolIndex: number): void {
    if (this.stopped) return;
    const pool = this.pools[poolIndex];
    this.log.info({ pool: pool.address.url, poolIndex }, 'stratum: connecting');
    this.active = this.newClient(poolIndex, 'active');
  }

  private onReady(h: Handle, info: SessionInfo): void {
    h.ready = true;
    if (h.role === 'probe') {
      this.log.info({ pool: h.url }, `stratum: preferred pool is back; switching to it after ${this.fallbackTimeMs} ms of health`);
      this.probeBackoff.reset();
      this.probeTimer = setTimeout(() => this.promoteProbe(), this.fallbackTimeMs);
      return;
    }
    if (h.role !== 'active') return;
    this.beginSession(h, info);
  }

  private beginSession(h: Handle, info: SessionInfo): void {
    const prev = this.lastSession.get(h.poolIndex);
    const resumed = info.resumed && this.sessionPool === h.poolIndex && prev?.extranonce1 === info.extranonce1;
    if (!resumed) this.newSession(h.poolIndex, false);
    this.needsClean = true;
    this.rememberSession(h);
    this.failuresOnPool = 0;
    this.failedSinceSuccess.clear();
    this.gotJobThisSession = false;
    this.emit('connected', { url: h.url, poolIndex: h.poolIndex, session: { ...info, resumed } });
    this.flushQueue(h);
    if (h.poolIndex > 0) this.scheduleProbe(this.probeBackoff.initialMs);
    else if (this.probe) {
      // Back on the preferred pool by the normal route: the probe is redundant.
      const probe = this.probe;
      this.probe = undefined;
      if (this.probeTimer) clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      probe.role = 'retired';
      probe.client.close('preferred pool reached directly');
    }
  }

  private newSession(poolIndex: number, keepJobs: boolean): void {
    this.sessionKey++;
    this.sessionPool = poolIndex;
    this.needsClean = true;
    if (!keepJobs) this.liveJobs.clear();
  }

  private rememberSession(h: Handle): void {
    const s = h.client.sessionInfo;
    if (s) this.lastSession.set(h.poolIndex, { sessionId: s.sessionId, extranonce1: s.extranonce1 });
  }

  private flushQueue(h: Handle): void {
    const queued = this.queue.splice(0);
    for (const q of queued) {
      clearTimeout(q.timer);
      const stale = this.staleReason(q.work);
      if (stale) q.resolve({ status: 'stale', reason: stale });
      else h.client.submit(q.share).then(q.resolve);
    }
    if (queued.length > 0) this.log.info({ pool: h.url, shares: queued.length }, 'stratum: queued shares handled after reconnect');
  }

  private onJob(h: Handle, cj: ClientJob): void {
    if (cj.job.cleanJobs) this.liveJobs.clear();
    this.liveJobs.delete(cj.job.jobId);
    this.liveJobs.add(cj.job.jobId);
    if (this.liveJobs.size > MAX_LIVE_JOBS) this.liveJobs.delete(this.liveJobs.values().next().value!);
    if (!this.gotJobThisSession) {
      // The pool gives work again: this is a healthy session, so the next outage starts from a short delay.
      this.gotJobThisSession = true;
      this.backoff.reset();
    }
    this.publish(h, cj);
  }

  /** Re-emits the current job with the session's new extranonce / version mask. */
  private rebuildWork(h: Handle): void {
    const cj = h.client.currentJob;
    if (cj) this.publish(h, cj);
  }

  private publish(h: Handle, cj: ClientJob): void {
    const s = h.client.sessionInfo;
    if (!s) return;
    const work: WorkSet = {
      poolIndex: h.poolIndex,
      url: h.url,
      sessionKey: this.sessionKey,
      job: cj.job,
      extranonce1: s.extranonce1,
      extranonce2Size: s.extranonce2Size,
      difficulty: cj.difficulty,
      versionMask: s.versionMask,
      clean: cj.job.cleanJobs || this.needsClean,
    };
    this.needsClean = false;
    this.currentWork = work;
    this.emit('job', work);
  }

  private onClose(h: Handle, reason: string): void {
    if (h.role === 'probe') {
      this.probe = undefined;
      if (this.probeTimer) clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      if (!this.stopped && this.active && this.active.poolIndex > 0) this.scheduleProbe(this.probeBackoff.next());
      return;
    }
    if (h.role === 'retired') {
      if (h.wasActive) this.emit('disconnected', { url: h.url, poolIndex: h.poolIndex, reason });
      return;
    }
    // The active connection is gone.
    this.active = undefined;
    this.currentWork = undefined;
    this.emit('disconnected', { url: h.url, poolIndex: h.poolIndex, reason });
    if (this.stopped) return;

    if (h.reconnect) {
      // client.reconnect: the pool asked for it, so it is not a failure. Try the (possibly new) address once.
      const { host, port, waitMs } = h.reconnect;
      const cfg = this.pools[h.poolIndex].address;
      if (host !== cfg.host || port !== cfg.port) this.redirects.set(h.poolIndex, { host, port });
      this.scheduleConnect(h.poolIndex, waitMs, `pool asked to reconnect to ${host}:${port}`);
      return;
    }
    // A redirect that does not work is forgotten: fall back to the configured address.
    this.redirects.delete(h.poolIndex);
    this.failuresOnPool++;
    this.failedSinceSuccess.add(h.poolIndex);

    // A healthy probe of the preferred pool is the best place to go now.
    if (this.probe?.ready) {
      this.promoteProbe();
      return;
    }
    let next = h.poolIndex;
    if (this.failuresOnPool >= this.failoverAfterFailures && this.pools.length > 1) {
      next = (h.poolIndex + 1) % this.pools.length;
      this.failuresOnPool = 0;
    }
    // Going to a pool not yet tried since the last success is immediate; anything else waits, growing each time.
    const delay = next !== h.poolIndex && !this.failedSinceSuccess.has(next) ? 0 : this.backoff.next();
    this.scheduleConnect(next, delay, reason);
  }

  private scheduleConnect(poolIndex: number, delayMs: number, reason: string): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.log.info({ pool: this.pools[poolIndex].address.url, delayMs, reason }, 'stratum: reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect(poolIndex);
    }, delayMs);
  }

  // ---- return to the preferred pool ---------------------------------------------------------------------------

  private scheduleProbe(delayMs: number): void {
    if (this.fallbackTimeMs <= 0 || this.probe || this.probeTimer || this.stopped) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.stopped || !this.active || this.active.poolIndex === 0 || this.probe) return;
      this.log.debug({ pool: this.pools[0].address.url }, 'stratum: probing the preferred pool');
      this.probe = this.newClient(0, 'probe');
    }, delayMs);
  }

  private promoteProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    const probe = this.probe;
    if (!probe?.ready || this.stopped) return;
    this.probe = undefined;
    const old = this.active;
    probe.role = 'active';
    probe.wasActive = true;
    this.active = probe;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.log.info({ pool: probe.url, from: old?.url }, 'stratum: returning to the preferred pool');
    if (old) {
      old.role = 'retired';
      old.client.close('returning to the preferred pool');
    }
    this.beginSession(probe, probe.client.sessionInfo!);
    const cj = probe.client.currentJob;
    if (cj) this.onJob(probe, cj);
  }
}
