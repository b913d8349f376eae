// What the miner server mines for. An Upstream hands out work (jobs with the extranonce space they belong to and
// the target a share must meet to count upstream) and takes shares back. Two kinds fit this shape:
//  - a Stratum pool (proxy mode): the pool's job, its extranonce1/extranonce2_size, its set_difficulty target;
//  - a Bitcoin node (solo mode): a job the server built from getblocktemplate, an extranonce space it chose
//    itself, and the network target (a share that meets it is a block).
import type { EventEmitter } from 'node:events';

/** A job's Stratum fields, exactly as mining.notify carries them (hex strings as on the wire). */
export interface StratumJobFields {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
}

/** One unit of work from the upstream. */
export interface UpstreamJob extends StratumJobFields {
  /** Which extranonce space (upstream connection) the job belongs to; see UpstreamWorkSpace. */
  spaceId: string;
  /** Target a share must meet to be worth sending upstream (pool share target, or the block target). */
  target: bigint;
  /** The same as a pool difficulty (difficulty-1 target / target). */
  difficulty: number;
  /** True when older jobs are void (new block, or the upstream said clean_jobs). */
  clean: boolean;
  /** Version bits the upstream lets miners roll (BIP 310), 0 when none. */
  versionMask: number;
  /** Arrival time (ms since epoch), for stale accounting. */
  receivedAt: number;
}

/** An extranonce space: the coinbase bytes between coinb1 and coinb2 that belong to the server. */
export interface UpstreamWorkSpace {
  spaceId: string;
  extranonce1: string;
  extranonce2Size: number;
}

/** A share in upstream terms (extranonce2 already mapped to the full upstream width). */
export interface UpstreamShare {
  spaceId: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** Rolled version bits (hex), only when version rolling is in use. */
  versionBits?: string;
  /** The 80-byte header the server checked (solo mode assembles the block from it). */
  header: Buffer;
  /** The full coinbase transaction the server hashed (solo mode puts it in the block). */
  coinbase: Buffer;
  /** Who found it (downstream worker name), for logs. */
  worker: string;
}

export interface ShareOutcome {
  accepted: boolean;
  /** The upstream's reason when rejected. */
  reason?: string;
  code?: number;
  /**
   * Solo mode: the share solved a block that the node put on its best chain. Proxy mode: the pool accepted a share
   * that meets its job's network target (nbits), i.e. a block the pool submits.
   */
  block?: boolean;
  /**
   * Solo mode, a block solution that is not on the best chain: 'stale' = never submitted (its tip had moved on, or
   * we already had a block on it, which it would only compete with); 'orphaned' = the node took it, but not on its
   * best chain (another block on the same parent was first).
   */
  lostBlock?: 'stale' | 'orphaned';
  /** Solo mode: the height of the block submitted (found or orphaned). */
  height?: number;
}

export type UpstreamState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** JSON-safe status for /status: never contains secrets (no passwords, no RPC credentials). */
export interface UpstreamStatus {
  kind: 'stratum' | 'solo';
  state: UpstreamState;
  /** Where it is connected (URL without credentials). */
  endpoint: string | null;
  difficulty: number | null;
  currentJobId: string | null;
  spaces: UpstreamWorkSpace[];
  accepted: number;
  rejected: number;
  /** Blocks found: solo mode, on the node's best chain when checked after submitblock. */
  blocks: number;
  /** Solo mode: block solutions not submitted because their tip was already ours or had moved on. */
  blocksStale?: number;
  /** Solo mode: blocks the node took but not on its best chain. */
  blocksOrphaned?: number;
  reconnects: number;
  /** Proxy mode: connections that went to another pool of the list than the one before (failover or return). */
  failovers?: number;
  lastError: string | null;
}

export interface UpstreamEvents {
  /** A work space was (re)established or its extranonce changed: sessions on it must be re-assigned. */
  space: [UpstreamWorkSpace];
  /** A work space is gone (connection lost): its jobs are void until a new 'space' arrives. */
  'space-lost': [spaceId: string, reason: string];
  job: [UpstreamJob];
  state: [UpstreamState];
}

export interface Upstream extends EventEmitter<UpstreamEvents> {
  readonly kind: 'stratum' | 'solo';
  start(): Promise<void>;
  /** Stops after forwarding what is in flight (bounded by `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  submit(share: UpstreamShare): Promise<ShareOutcome>;
  /** Current spaces and their latest jobs. */
  spaces(): UpstreamWorkSpace[];
  currentJob(spaceId: string): UpstreamJob | null;
  /**
   * Asks for one more extranonce space (another upstream connection) when the existing ones have no free
   * prefixes. Resolves with the new space, or rejects with a clear reason (e.g. not supported, limit reached).
   */
  addSpace(): Promise<UpstreamWorkSpace>;
  status(): UpstreamStatus;
}
