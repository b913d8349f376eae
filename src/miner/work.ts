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
  /** Version with the base rolled bits; rolling steps XOR more bits inside the mask into it. */
  private readonly version: number;
  private readonly mask: number;
  /** How many versions each slot may use: 2^(bits in the mask), 1 without rolling. */
  private readonly versions: bigint;
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
    const mask = opts.versionMask ?? 0;
    assertUint32(mask, 'version-rolling mask');
    this.mask = mask;
    this.versions = 1n << BigInt(popcount(mask));
    if (BigInt(this.slots) > workCapacity(opts.extranonce2Size, mask)) {
      throw new Error(
        `work: ${this.slots} slots cannot share a ${opts.extranonce2Size}-byte extranonce2 (${this.space} values)`,
      );
    }
    this.counters = new Array<bigint>(this.slots).fill(0n);
    assertUint32(job.version, 'job version');
    if (mask !== 0) {
      const bits = (opts.versionBits ?? job.version) & mask;
      this.version = rollVersion(job.version, bits >>> 0, mask);
    } else {
      if (opts.versionBits !== undefined) throw new Error('work: versionBits given without a version-rolling mask');
      this.version = job.version;
    }
    this.ntimeHex = job.ntimeHex ?? uint32ToBeHex(job.ntime, 'job ntime');
    hexToBytes(this.ntimeHex, 'ntime', 4);
  }

  /**
   * The next unused header for a slot. Position p = k * slots + slot walks the extranonce2 space first
   * (extranonce2 = p mod space); with version rolling, each further pass over it XORs the next combination of
   * mask bits into the version (BIP 310), so a small extranonce2 (e.g. behind a proxy) still gives every thread
   * fresh work. Throws ExtranonceSpaceExhaustedError when the slot's share of both is used up.
   */
  next(slot: number): Work {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new Error(`work: slot must be an integer 0..${this.slots - 1}, got ${slot}`);
    }
    const position = this.counters[slot]! * BigInt(this.slots) + BigInt(slot);
    const pass = position / this.space;
    if (pass >= this.versions) throw new ExtranonceSpaceExhaustedError(this.jobId, slot, this.opts.extranonce2Size);
    this.counters[slot]! += 1n;
    const en2 = extranonce2Hex(position % this.space, this.opts.extranonce2Size);
    const version = (this.version ^ depositBits(Number(pass), this.mask)) >>> 0;
    const { header } = buildJobHeader(
      this.opts.job,
      { extranonce1: this.opts.extranonce1, extranonce2: en2, extranonce2Size: this.opts.extranonce2Size },
      { version },
    );
    return {
      jobId: this.jobId,
      slot,
      header,
      target: this.target,
      difficulty: this.opts.difficulty,
      extranonce2Hex: en2,
      ntimeHex: this.ntimeHex,
      ...(this.mask !== 0 ? { versionBitsHex: uint32ToBeHex((version & this.mask) >>> 0) } : {}),
    };
  }
}

/** How many distinct headers (before nonces) a job offers: extranonce2 values x version-rolling combinations. */
export function workCapacity(extranonce2Size: number, versionMask = 0): bigint {
  return extranonce2Space(extranonce2Size) << BigInt(popcount(versionMask));
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** Spreads the low bits of `value` over the set bits of `mask`, lowest first (a software PDEP). */
function depositBits(value: number, mask: number): number {
  let out = 0;
  for (let m = mask >>> 0, v = value; m !== 0 && v !== 0; m &= m - 1, v = Math.floor(v / 2)) {
    if (v & 1) out |= m & -m;
  }
  return out >>> 0;
}

export function headerForNonce(work: Work, nonce: number): Buffer {
  return withNonce(work.header, nonce);
}

/** The miner's re-check before it submits: does this nonce's hash really meet the share target? */
export function checkNonce(work: Work, nonce: number): { hash: Buffer; value: bigint; meetsTarget: boolean; difficulty: number } {
  const hash = sha256d(headerForNonce(work, nonce));
  const value = hashToBigInt(hash);
  return { hash, value, meetsTarget: value <= work.target, difficulty: hashDifficulty(value) };
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
