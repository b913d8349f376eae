// The checks every share goes through, in the order pools apply them. Pure: no sockets, no clocks of its own.
import { StratumErrorCode } from '../stratum/errors.js';
import type { Share } from '../stratum/messages.js';
import { leHashDifficulty, leHashMeetsTarget } from './difficulty.js';
import type { ServerJob } from './job-book.js';
import { shareTargetLe } from './job-book.js';
import type { BuiltShare, CoinbaseRoot } from './job-template.js';

/** Why a share was refused; also the label of the rejected-shares counters. */
export type ShareRejectReason =
  | 'not-subscribed'
  | 'unauthorized'
  | 'job-not-found'
  | 'stale'
  | 'duplicate'
  | 'bad-extranonce2'
  | 'ntime-out-of-range'
  | 'bad-version-bits'
  | 'low-difficulty'
  | 'rate-limited'
  | 'malformed';

export const REJECT_CODES: Record<ShareRejectReason, number> = {
  'not-subscribed': StratumErrorCode.NotSubscribed,
  unauthorized: StratumErrorCode.Unauthorized,
  'job-not-found': StratumErrorCode.JobNotFound,
  stale: StratumErrorCode.JobNotFound,
  duplicate: StratumErrorCode.DuplicateShare,
  'bad-extranonce2': StratumErrorCode.Other,
  'ntime-out-of-range': StratumErrorCode.Other,
  'bad-version-bits': StratumErrorCode.Other,
  'low-difficulty': StratumErrorCode.LowDifficulty,
  'rate-limited': StratumErrorCode.Other,
  malformed: StratumErrorCode.Other,
};

export interface ShareRejection {
  ok: false;
  reason: ShareRejectReason;
  message: string;
}
export interface ShareAcceptance {
  ok: true;
  job: ServerJob;
  /**
   * Coinbase, header and hash (own copies) when the share is forwarded (meetsUpstream) or the context asked for
   * them (keepBuilt); null otherwise, so an ordinary share allocates no buffers.
   */
  built: BuiltShare | null;
  /** The difficulty the share was credited at (the session's for that job). */
  difficulty: number;
  /** The difficulty its hash achieves (>= difficulty). */
  shareDifficulty: number;
  /** Meets the upstream target: forward it. */
  meetsUpstream: boolean;
  /** Final header version (after rolling). */
  version: number;
}
export type ShareVerdict = ShareAcceptance | ShareRejection;

export interface ShareCheckContext {
  /** The job the share's job id refers to, if the session still knows that id. */
  job: ServerJob | undefined;
  /** Whether the server still keeps that job (false once evicted). */
  jobKnown: boolean;
  /** Difficulty the session was told for that job. */
  difficulty: number;
  extranonce1: Buffer;
  extranonce2Size: number;
  /** Version bits the session may roll (negotiated with mining.configure), 0 when none. */
  versionMask: number;
  /** Current time in ms. */
  now: number;
  /**
   * The session's recent (job, extranonce2) -> coinbase and merkle root results. Miners keep one extranonce2 for
   * many nonces (one per thread), so most shares then cost only the header hash.
   */
  rootCache?: CoinbaseRootCache;
  /** Also return coinbase/header/hash for shares that are not forwarded (tests, diagnostics). */
  keepBuilt?: boolean;
  /** Over the submit rate: only a block (a share meeting the network target) is accepted, others are 'rate-limited'. */
  blocksOnly?: boolean;
}

/**
 * A small LRU of coinbase/merkle-root results, keyed by server job id and extranonce2 hex. A result is kept only
 * once its key comes back (the second share with that extranonce2): a miner that uses a new extranonce2 for every
 * share would otherwise fill the cache with entries never read again, which outlive the young generation and
 * cost old-space garbage collections.
 */
export class CoinbaseRootCache {
  private readonly entries = new Map<string, CoinbaseRoot>();
  private lastMiss: string | undefined;
  constructor(private readonly capacity = 16) {}

  get(key: string): CoinbaseRoot | undefined {
    return this.entries.get(key);
  }

  /** Offers a freshly built result; returns whether it was kept. */
  set(key: string, value: CoinbaseRoot): boolean {
    if (!this.wants(key)) return false;
    this.store(key, value);
    return true;
  }

  /** Records a miss of `key`; true when it is the second in a row, i.e. the result should be stored. */
  wants(key: string): boolean {
    if (this.lastMiss !== key) {
      this.lastMiss = key;
      return false;
    }
    this.lastMiss = undefined;
    return true;
  }

  /** Stores a result (after wants() said so); `value`'s buffers must not be reused by the caller. */
  store(key: string, value: CoinbaseRoot): void {
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.lastMiss = undefined;
  }
}

/** Header time may run ahead of the job's by the time since the job arrived plus Bitcoin's 2-hour rule. */
export const MAX_NTIME_AHEAD_SECONDS = 7200;

export function reject(reason: ShareRejectReason, message: string): ShareRejection {
  return { ok: false, reason, message };
}

export const RATE_LIMITED = reject('rate-limited', 'Submit rate limit exceeded');

export function checkShare(ctx: ShareCheckContext, share: Share): ShareVerdict {
  const job = ctx.job;
  if (!job || !ctx.jobKnown) return reject('job-not-found', `Job not found: ${share.jobId}`);
  if (job.stale) return reject('stale', `Stale job: ${share.jobId}`);
  if (share.extranonce2.length !== ctx.extranonce2Size * 2) {
    return reject(
      'bad-extranonce2',
      `extranonce2 must be ${ctx.extranonce2Size} bytes, got ${share.extranonce2.length / 2}`,
    );
  }
  const ntime = parseInt(share.ntime, 16) >>> 0;
  const jobNtime = job.template.ntime;
  const aheadAllowed = MAX_NTIME_AHEAD_SECONDS + Math.max(0, Math.ceil((ctx.now - job.upstream.receivedAt) / 1000));
  if (ntime < jobNtime || ntime > jobNtime + aheadAllowed) {
    return reject('ntime-out-of-range', `ntime ${share.ntime} out of range for job ${share.jobId}`);
  }
  let version = job.template.version;
  if (share.versionBits !== undefined) {
    const bits = parseInt(share.versionBits, 16) >>> 0;
    if (ctx.versionMask === 0) return reject('bad-version-bits', 'version rolling was not negotiated (mining.configure)');
    if ((bits & ~ctx.versionMask) >>> 0 !== 0) {
      return reject('bad-version-bits', `version bits ${share.versionBits} outside the allowed mask`);
    }
    version = ((version & ~ctx.versionMask) | (bits & ctx.versionMask)) >>> 0;
  }
  const cache = ctx.rootCache;
  const cacheKey = cache ? `${job.id}:${share.extranonce2}` : '';
  const cached = cache?.get(cacheKey);
  let coinbase: Buffer;
  let merkleRoot: Buffer;
  if (cached) {
    ({ coinbase, merkleRoot } = cached);
  } else {
    coinbase = job.template.coinbaseRootInto(ctx.extranonce1, share.extranonce2, rootScratch);
    merkleRoot = rootScratch;
    if (cache?.wants(cacheKey)) cache.store(cacheKey, { coinbase: Buffer.from(coinbase), merkleRoot: Buffer.from(rootScratch) });
  }
  job.template.headerInto(merkleRoot, ntime, parseInt(share.nonce, 16) >>> 0, version, headerScratch, hashScratch);
  if (!leHashMeetsTarget(hashScratch, shareTargetLe(ctx.difficulty))) {
    return reject('low-difficulty', `Low difficulty share (session difficulty ${ctx.difficulty})`);
  }
  // Before the duplicate set: a share refused for the rate leaves no trace.
  if (ctx.blocksOnly && !leHashMeetsTarget(hashScratch, job.networkTargetLe)) return RATE_LIMITED;
  // Same header = same work: the hash is the duplicate key (it covers extranonce1/2, ntime, nonce and version).
  if (!job.seen.add(hashScratch)) return reject('duplicate', 'Duplicate share');
  const meetsUpstream = leHashMeetsTarget(hashScratch, job.upstreamTargetLe);
  return {
    ok: true,
    job,
    built:
      meetsUpstream || ctx.keepBuilt
        ? { coinbase: Buffer.from(coinbase), header: Buffer.from(headerScratch), hash: Buffer.from(hashScratch) }
        : null,
    difficulty: ctx.difficulty,
    shareDifficulty: leHashDifficulty(hashScratch),
    meetsUpstream,
    version,
  };
}

// The share being checked (the server checks one at a time): its merkle root, header and hash. Copied into the
// verdict only when someone needs them (see ShareAcceptance.built).
const rootScratch = Buffer.alloc(32);
const headerScratch = Buffer.alloc(80);
const hashScratch = Buffer.alloc(32);
