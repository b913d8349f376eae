// Turns a Stratum job into work for the kernel: each slot (thread) gets its own extranonce2 values, so no two
// threads ever hash the same header, and every header comes with what a share submission needs.
import { extranonce2Hex, extranonce2Space, checkExtranonce2Size } from '../bitcoin/coinbase.js';
import { hashToBigInt, sha256d } from '../bitcoin/hash.js';
import { withNonce, rollVersion } from '../bitcoin/header.js';
import { assertUint32, hexToBytes, uint32ToBeHex } from '../bitcoin/hex.js';
import { buildJobHeader, type StratumWorkJob } from '../bitcoin/job.js';
import { difficultyToTarget, hashDifficulty } from '../bitcoin/target.js';

export interface WorkJob extends StratumWorkJob {
  /** ntime exactly as the pool sent it (submitted back unchanged); derived from `ntime` when absent. */
  ntimeHex?: string;
}

export interface WorkOptions {
  job: WorkJob;
  extranonce1: string;
  extranonce2Size: number;
  /** Share difficulty (pool difficulty 1 = 0x00000000ffff0000...); may be fractional. */
  difficulty: number;
  /** How many slots (threads) split the extranonce2 space; slot i gets extranonce2 = k * slots + i. */
  slots?: number;
  /** BIP 310 mask agreed with the pool (mining.configure); absent or 0 means no version rolling. */
  versionMask?: number;
  /** Version bits to roll in (only the bits inside the mask count); defaults to the job's own bits. */
  versionBits?: number;
}

/** One unit of work: an 80-byte header (nonce 0) and the target its hash must meet. */
export interface Work {
  jobId: string;
  slot: number;
  header: Buffer;
  target: bigint;
  difficulty: number;
  extranonce2Hex: string;
  ntimeHex: string;
  /** Present only with version rolling: the rolled bits as 8 hex digits (submitted as the 6th param). */
  versionBitsHex?: string;
}

/** mining.submit params after the user name: [job_id, extranonce2, ntime, nonce(, version_bits)]. */
export interface SubmitParams {
  jobId: string;
  extranonce2Hex: string;
  ntimeHex: string;
  /** Big-endian hex of the uint32 nonce (the header holds it little-endian). */
  nonceHex: string;
  versionBitsHex?: string;
}

export class ExtranonceSpaceExhaustedError extends Error {
  constructor(jobId: string, slot: number, size: number) {
    super(`job ${jobId}: slot ${slot} used up its share of the ${size}-byte extranonce2 space; wait for a new job`);
    this.name = 'ExtranonceSpaceExhaustedError';
  }
}

/** The work source of one job: create it again for every new job, set_difficulty or set_extranonce. */
export class JobWork {
  readonly jobId: string;
  readonly target: bigint;
  readonly slots: number;
  private readonly space: bigint;
  private readonly counters: bigint[];
  private readonly version: number;
  private readonly versionBitsHex?: string;
  private readonly ntimeHex: string;

  constructor(private readonly opts: WorkOptions) {
    const { job } = opts;
    if (typeof job?.jobId !== 'string' || job.jobId === '') throw new Error('work: job has no job id');
    checkExtranonce2Size(opts.extranonce2Size);
    hexToBytes(opts.extranonce1, 'extranonce1');
    this.jobId = job.jobId;
    this.target = difficultyToTarget(opts.difficulty);
    this.slots = opts.slots ?? 1;
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new Error(`work: slots must be >= 1, got ${this.slots}`);
    this.space = extranonce2Space(opts.extranonce2Size);
    if (BigInt(this.slots) > this.space) {
      throw new Error(
        `work: ${this.slots} slots cannot share a ${opts.extranonce2Size}-byte extranonce2 (${this.space} values)`,
      );
    }
    this.counters = new Array<bigint>(this.slots).fill(0n);
    assertUint32(job.version, 'job version');
    const mask = opts.versionMask ?? 0;
    assertUint32(mask, 'version-rolling mask');
    if (mask !== 0) {
      const bits = (opts.versionBits ?? job.version) & mask;
      this.version = rollVersion(job.version, bits >>> 0, mask);
      this.versionBitsHex = uint32ToBeHex((this.version & mask) >>> 0);
    } else {
      if (opts.versionBits !== undefined) throw new Error('work: versionBits given without a version-rolling mask');
      this.version = job.version;
    }
    this.ntimeHex = job.ntimeHex ?? uint32ToBeHex(job.ntime, 'job ntime');
    hexToBytes(this.ntimeHex, 'ntime', 4);
  }

  /** The next unused header for a slot; throws ExtranonceSpaceExhaustedError when the slot's share is used up. */
  next(slot: number): Work {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new Error(`work: slot must be an integer 0..${this.slots - 1}, got ${slot}`);
    }
    const value = this.counters[slot]! * BigInt(this.slots) + BigInt(slot);
    if (value >= this.space) throw new ExtranonceSpaceExhaustedError(this.jobId, slot, this.opts.extranonce2Size);
    this.counters[slot]! += 1n;
    const en2 = extranonce2Hex(value, this.opts.extranonce2Size);
    const { header } = buildJobHeader(
      this.opts.job,
      { extranonce1: this.opts.extranonce1, extranonce2: en2, extranonce2Size: this.opts.extranonce2Size },
      { version: this.version },
    );
    return {
      jobId: this.jobId,
      slot,
      header,
      target: this.target,
      difficulty: this.opts.difficulty,
      extranonce2Hex: en2,
      ntimeHex: this.ntimeHex,
      ...(this.versionBitsHex !== undefined ? { versionBitsHex: this.versionBitsHex } : {}),
    };
  }
}

export function headerForNonce(work: Work, nonce: number): Buffer {
  return withNonce(work.header, nonce);
}

/** The miner's re-check before it submits: does this nonce's hash really meet the share target? */
export function checkNonce(work: Work, nonce: number): { hash: Buffer; meetsTarget: boolean; difficulty: number } {
  const hash = sha256d(headerForNonce(work, nonce));
  const value = hashToBigInt(hash);
  return { hash, meetsTarget: value <= work.target, difficulty: hashDifficulty(value) };
}

export function submitParamsFor(work: Work, nonce: number): SubmitParams {
  return {
    jobId: work.jobId,
    extranonce2Hex: work.extranonce2Hex,
    ntimeHex: work.ntimeHex,
    nonceHex: uint32ToBeHex(nonce, 'nonce'),
    ...(work.versionBitsHex !== undefined ? { versionBitsHex: work.versionBitsHex } : {}),
  };
}
