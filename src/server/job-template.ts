// A job prepared for checking shares fast: the fixed byte pieces are decoded once, so a share costs only the
// coinbase hash, the merkle fold and the header hash (see reference/stratum.md, "Building the header").
import { stratumPrevHashToInternal } from '../bitcoin/header.js';
import { hexToBytes } from '../bitcoin/hex.js';
import type { StratumJobFields } from '../upstream/types.js';
import { merkleRootInto, sha256dInto } from './share-hash.js';

/** The extranonce-dependent half of a share: its coinbase and the merkle root it leads to. */
export interface CoinbaseRoot {
  coinbase: Buffer;
  merkleRoot: Buffer;
}

export interface BuiltShare {
  coinbase: Buffer;
  header: Buffer;
  hash: Buffer;
}

export class JobTemplate {
  readonly coinb1: Buffer;
  readonly coinb2: Buffer;
  readonly branches: Buffer[];
  /** The branch hashes back to back, as the kernel's merkle fold reads them. */
  private readonly branchBytes: Buffer;
  readonly version: number;
  readonly ntime: number;
  /** prevhash in header order (each 4-byte word reversed from the Stratum form). */
  private readonly prevhashLe: Buffer;
  private readonly nbitsLe: Buffer;
  /** Reused by coinbaseRootInto (the server checks one share at a time). */
  private coinbaseScratch: Buffer | null = null;

  constructor(job: StratumJobFields) {
    this.coinb1 = hexToBytes(job.coinb1, `job ${job.jobId} coinb1`);
    this.coinb2 = hexToBytes(job.coinb2, `job ${job.jobId} coinb2`);
    if (!Array.isArray(job.merkleBranch)) throw new Error(`job ${job.jobId}: merkle branch must be an array`);
    this.branches = job.merkleBranch.map((b, i) => hexToBytes(b, `job ${job.jobId} merkle_branch[${i}]`, 32));
    this.branchBytes = Buffer.concat(this.branches);
    this.prevhashLe = stratumPrevHashToInternal(job.prevhash);
    this.version = hexToBytes(job.version, `job ${job.jobId} version`, 4).readUInt32BE(0);
    this.ntime = hexToBytes(job.ntime, `job ${job.jobId} ntime`, 4).readUInt32BE(0);
    this.nbitsLe = Buffer.alloc(4);
    this.nbitsLe.writeUInt32LE(hexToBytes(job.nbits, `job ${job.jobId} nbits`, 4).readUInt32BE(0));
  }

  /** coinbase = coinb1 || extranonce1 || extranonce2 || coinb2, and the merkle root through the branch. */
  coinbaseRoot(extranonce1: Buffer, extranonce2: Buffer): CoinbaseRoot {
    const merkleRoot = Buffer.allocUnsafe(32);
    const coinbase = Buffer.from(this.coinbaseRootInto(extranonce1, extranonce2.toString('hex'), merkleRoot));
    return { coinbase, merkleRoot };
  }

  /**
   * The share-check hot path of coinbaseRoot(): `extranonce2Hex` (validated hex) is decoded straight into the
   * coinbase, the root goes to `merkleRootOut`. Returns the coinbase in a buffer this template reuses for the next
   * call: copy it to keep it.
   */
  coinbaseRootInto(extranonce1: Buffer, extranonce2Hex: string, merkleRootOut: Buffer): Buffer {
    const c1 = this.coinb1.length;
    const en2Length = extranonce2Hex.length >>> 1;
    const length = c1 + extranonce1.length + en2Length + this.coinb2.length;
    let coinbase = this.coinbaseScratch;
    if (coinbase === null || coinbase.length !== length) coinbase = this.coinbaseScratch = Buffer.allocUnsafe(length);
    this.coinb1.copy(coinbase, 0);
    extranonce1.copy(coinbase, c1);
    if (coinbase.write(extranonce2Hex, c1 + extranonce1.length, en2Length, 'hex') !== en2Length) {
      throw new Error(`extranonce2 is not hex: ${extranonce2Hex.slice(0, 64)}`);
    }
    this.coinb2.copy(coinbase, c1 + extranonce1.length + en2Length);
    merkleRootInto(coinbase, this.branchBytes, merkleRootOut, 0);
    return coinbase;
  }

  /** The 80-byte header and its sha256d for a merkle root; `version` already has rolled bits applied. */
  header(merkleRoot: Buffer, ntime: number, nonce: number, version: number): { header: Buffer; hash: Buffer } {
    const header = Buffer.allocUnsafe(80);
    const hash = Buffer.allocUnsafe(32);
    this.headerInto(merkleRoot, ntime, nonce, version, header, hash);
    return { header, hash };
  }

  /** header() into caller-owned buffers (80 and 32 bytes): no allocation per share. */
  headerInto(merkleRoot: Buffer, ntime: number, nonce: number, version: number, header: Buffer, hash: Buffer): void {
    header.writeUInt32LE(version >>> 0, 0);
    this.prevhashLe.copy(header, 4);
    merkleRoot.copy(header, 36, 0, 32);
    header.writeUInt32LE(ntime >>> 0, 68);
    this.nbitsLe.copy(header, 72);
    header.writeUInt32LE(nonce >>> 0, 76);
    sha256dInto(header, hash, 0);
  }

  /**
   * Rebuilds coinbase, header and block hash for a share. `extranonce1` and `extranonce2` are raw bytes as the
   * miner used them; `version` is the final header version (rolled bits already applied), ntime/nonce uint32.
   */
  build(extranonce1: Buffer, extranonce2: Buffer, ntime: number, nonce: number, version: number): BuiltShare {
    const { coinbase, merkleRoot } = this.coinbaseRoot(extranonce1, extranonce2);
    return { coinbase, ...this.header(merkleRoot, ntime, nonce, version) };
  }
}
