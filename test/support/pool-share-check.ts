// Independent share verification for the scripted pool: the coinbase is parsed by bitcoinjs-lib's Transaction,
// the merkle root folded with bitcoinjs' hash256, and the header built and hashed by bitcoinjs' Block. Nothing
// here uses the project's src/bitcoin code.
import { Block, Transaction, crypto as bjsCrypto } from 'bitcoinjs-lib';

/** Difficulty-1 target of pools: 0x00000000ffff0000…0000. */
export const DIFF1_TARGET = 0xffffn << 208n;

/** share target = diff1 / difficulty, for fractional difficulties too (scaled by 2^40 to stay in integers). */
export function shareTargetFor(difficulty: number): bigint {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) throw new Error(`bad difficulty ${difficulty}`);
  const scale = 1n << 40n;
  const scaled = BigInt(Math.round(difficulty * 2 ** 40));
  if (scaled === 0n) throw new Error(`difficulty ${difficulty} too small`);
  return (DIFF1_TARGET * scale) / scaled;
}

/** Swaps the bytes inside each 4-byte word: Stratum's prevhash form <-> header byte order. */
export function swapWords(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    for (let j = 0; j < 4; j++) out[i + j] = bytes[i + 3 - j];
  }
  return out;
}

export interface JobForCheck {
  /** Header-order previous block hash (not the word-swapped Stratum form). */
  prevHashHeaderOrder: Buffer;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: number;
  nbits: number;
}

export interface ShareForCheck {
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string;
  versionMask: number;
}

export function checkShare(job: JobForCheck, share: ShareForCheck, target: bigint): { ok: boolean; hashValue: bigint; reason?: string } {
  const coinbaseBytes = Buffer.from(job.coinb1 + share.extranonce1 + share.extranonce2 + job.coinb2, 'hex');
  let tx: Transaction;
  try {
    tx = Transaction.fromBuffer(coinbaseBytes);
  } catch (e) {
    return { ok: false, hashValue: 0n, reason: `coinbase does not parse: ${(e as Error).message}` };
  }
  if (!tx.isCoinbase()) return { ok: false, hashValue: 0n, reason: 'first transaction is not a coinbase' };
  let root = Buffer.from(tx.getHash());
  for (const b of job.merkleBranch) root = Buffer.from(bjsCrypto.hash256(Buffer.concat([root, Buffer.from(b, 'hex')])));

  let version = job.version;
  if (share.versionBits !== undefined) {
    const bits = parseInt(share.versionBits, 16) >>> 0;
    if ((bits & ~share.versionMask) !== 0) return { ok: false, hashValue: 0n, reason: 'version bits outside the mask' };
    version = ((job.version & ~share.versionMask) | (bits & share.versionMask)) >>> 0;
  }
  const block = new Block();
  block.version = version | 0;
  block.prevHash = job.prevHashHeaderOrder;
  block.merkleRoot = root;
  block.timestamp = parseInt(share.ntime, 16) >>> 0;
  block.bits = job.nbits;
  block.nonce = parseInt(share.nonce, 16) >>> 0;
  const hash = Buffer.from(block.getHash());
  const hashValue = BigInt('0x' + Buffer.from(hash).reverse().toString('hex'));
  return hashValue <= target ? { ok: true, hashValue } : { ok: false, hashValue, reason: 'hash above share target' };
}
