// Proxy mode upstream: Stratum pool(s) through the stratum PoolManager (reconnect, failover, return to the
// preferred pool). One manager = one upstream connection = one extranonce space. When the server runs out of
// prefixes it asks for another space: a second manager (another connection to the same pools).
import { EventEmitter } from 'node:events';
import { meetsTarget, sha256d } from '../bitcoin/hash.js';
import { difficultyToTarget, nbitsToTarget } from '../bitcoin/target.js';
import { silentLogger, type Logger } from '../log.js';
import { PoolManager, type PoolConfig, type PoolManagerOptions, type WorkSet } from '../stratum/pool-manager.js';
import { parsePoolUrl } from '../stratum/pool-url.js';
import type {
  ShareOutcome,
  Upstream,
  UpstreamEvents,
  UpstreamJob,
  UpstreamShare,
  UpstreamState,
  UpstreamStatus,
  UpstreamWorkSpace,
} from './types.js';

export interface StratumUpstreamOptions {
  pools: PoolConfig[];
  /** Upper bound on upstream connections opened for extranonce space (default 4). */
  maxConnections?: number;
  /** Passed to every PoolManager (fallback time, backoff, client settings). */
  manager?: Omit<PoolManagerOptions, 'pools' | 'logger'>;
  /** How long addSpace() waits for the new connection's first job. */
  addSpaceTimeoutMs?: number;
  logger?: Logger;
}

interface Channel {
  spaceId: string;
  manager: PoolManager;
  space: UpstreamWorkSpace | null;
  /** WorkSets by upstream job id, so a share goes back with the exact work it came from. */
  works: Map<string, WorkSet>;
  current: UpstreamJob | null;
  connectedUrl: string | null;
  /** The pool of the list this connection was last on. */
  poolIndex: number | null;
  difficulty: number | null;
}

const MAX_WORKS_PER_CHANNEL = 128;

export class StratumUpstream extends EventEmitter<UpstreamEvents> implements Upstream {
  readonly kind = 'stratum' as const;
  private readonly log: Logger;
  private readonly channels: Channel[] = [];
  private readonly maxConnections: number;
  private stateValue: UpstreamState = 'stopped';
  private accepted = 0;
  private rejected = 0;
  private blocks = 0;
  private reconnects = 0;
  private failovers = 0;
  private lastError: string | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private started = false;

  constructor(private readonly options: StratumUpstreamOptions) {
    super();
    if (!Array.isArray(options.pools) || options.pools.length === 0) throw new Error('at least one --pool is required');
    for (const p of options.pools) parsePoolUrl(p.url); // a clear error before anything starts
    this.maxConnections = options.maxConnections ?? 4;
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1) {
      throw new Error(`upstream max connections must be an integer >= 1, got ${this.maxConnections}`);
    }
    this.log = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('StratumUpstream.start() called twice');
    this.started = true;
    this.setState('connecting');
    this.openChannel();
  }

  async stop(graceMs = 5000): Promise<void> {
    if (this.inFlight.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    for (const c of this.channels) c.manager.stop();
    this.setState('stopped');
  }

  spaces(): UpstreamWorkSpace[] {
    return this.channels.flatMap((c) => (c.space ? [c.space] : []));
  }

  currentJob(spaceId: string): UpstreamJob | null {
    return this.channel(spaceId)?.current ?? null;
  }

  addSpace(): Promise<UpstreamWorkSpace> {
    if (this.channels.length >= this.maxConnections) {
      return Promise.reject(new Error(`upstream connection limit reached (${this.maxConnections} connections)`));
    }
    const channel = this.openChannel();
    const timeoutMs = this.options.addSpaceTimeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const onJob = (job: UpstreamJob) => {
        if (job.spaceId !== channel.spaceId || !channel.space) return;
        cleanup();
        resolve(channel.space);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`extra upstream connection ${channel.spaceId} gave no work within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('job', onJob);
      };
      this.on('job', onJob);
    });
  }

  async submit(share: UpstreamShare): Promise<ShareOutcome> {
    const channel = this.channel(share.spaceId);
    const work = channel?.works.get(share.jobId);
    if (!channel || !work) return { accepted: false, reason: `job ${share.jobId} is no longer known upstream` };
    const p = channel.manager.submit(work, {
      jobId: share.jobId,
      extranonce2: share.extranonce2,
      ntime: share.ntime,
      nonce: share.nonce,
      ...(share.versionBits !== undefined ? { versionBits: share.versionBits } : {}),
    });
    this.inFlight.add(p);
    try {
      const result = await p;
      if (result.status === 'accepted') {
        this.accepted++;
        // The pool submits blocks, not the proxy: an accepted share that meets its job's network target is one.
        if (!meetsTarget(sha256d(share.header), nbitsToTarget(work.job.nbits))) return { accepted: true };
        this.blocks++;
        return { accepted: true, block: true };
      }
      this.rejected++;
      const code = 'error' in result ? result.error?.code : undefined;
      return { accepted: false, reason: `${result.status}: ${result.reason ?? ''}`.trim(), ...(code ? { code } : {}) };
    } finally {
      this.inFlight.delete(p);
    }
  }

  status(): UpstreamStatus {
    const primary = this.channels[0];
    return {
      kind: 'stratum',
      state: this.stateValue,
      endpoint: primary?.connectedUrl ?? null,
      difficulty: primary?.difficulty ?? null,
      currentJobId: primary?.current?.jobId ?? null,
      spaces: this.spaces(),
      accepted: this.accepted,
      rejected: this.rejected,
      blocks: this.blocks,
      reconnects: this.reconnects,
      failovers: this.failovers,
      lastError: this.lastError,
    };
  }

  // ---- internals ---------------------------------------------------------------------------------------------

  private channel(spaceId: string): Channel | undefined {
    return this.channels.find((c) => c.spaceId === spaceId);
  }

  private openChannel(): Channel {
    const manager = new PoolManager({ ...this.options.manager, pools: this.options.pools, logger: this.log });
    const channel: Channel = {
      spaceId: `pool-${this.channels.length}`,
      manager,
      space: null,
      works: new Map(),
      current: null,
      connectedUrl: null,
      poolIndex: null,
      difficulty: null,
    };
    this.channels.push(channel);
    manager.on('connected', ({ url, poolIndex }) => {
      if (channel.poolIndex !== null && channel.poolIndex !== poolIndex) this.failovers++;
      channel.poolIndex = poolIndex;
      channel.connectedUrl = url;
      this.setState('connected');
      this.log.info({ space: channel.spaceId, pool: url }, 'upstream connected');
    });
    manager.on('disconnected', ({ url, reason }) => {
      channel.connectedUrl = null;
      channel.current = null;
      channel.works.clear();
      this.reconnects++;
      this.lastError = `${url}: ${reason}`;
      this.log.warn({ space: channel.spaceId, pool: url, reason }, 'upstream disconnected');
      this.emit('space-lost', channel.spaceId, reason);
      if (this.channels.every((c) => c.connectedUrl === null)) this.setState('disconnected');
    });
    manager.on('difficulty', ({ difficulty }) => {
      channel.difficulty = difficulty;
    });
    manager.on('job', (work) => this.onWork(channel, work));
    manager.start();
    return channel;
  }

  private onWork(channel: Channel, work: WorkSet): void {
    let target: bigint;
    try {
      target = difficultyToTarget(work.difficulty);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'upstream job with an unusable difficulty ignored');
      return;
    }
    const space = channel.space;
    if (!space || space.extranonce1 !== work.extranonce1 || space.extranonce2Size !== work.extranonce2Size) {
      channel.space = { spaceId: channel.spaceId, extranonce1: work.extranonce1, extranonce2Size: work.extranonce2Size };
      channel.works.clear();
      this.emit('space', channel.space);
    }
    const j = work.job;
    const job: UpstreamJob = {
      spaceId: channel.spaceId,
      jobId: j.jobId,
      prevhash: j.prevHash,
      coinb1: j.coinb1,
      coinb2: j.coinb2,
      merkleBranch: j.merkleBranch,
      version: j.versionHex,
      nbits: j.nbitsHex,
      ntime: j.ntimeHex,
      target,
      difficulty: work.difficulty,
      clean: work.clean,
      versionMask: work.versionMask,
      receivedAt: Date.now(),
    };
    if (work.clean) channel.works.clear();
    channel.works.set(j.jobId, work);
    while (channel.works.size > MAX_WORKS_PER_CHANNEL) channel.works.delete(channel.works.keys().next().value!);
    channel.current = job;
    channel.difficulty = work.difficulty;
    this.emit('job', job);
  }

  private setState(state: UpstreamState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }
}
