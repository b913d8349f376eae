import { Block, Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { difficultyToTarget } from '../src/bitcoin/target.js';
import { parseNotifyParams } from '../src/stratum/messages.js';
import {
  ExtranonceSpaceExhaustedError,
  JobWork,
  checkNonce,
  headerForNonce,
  submitParamsFor,
  type Work,
  type WorkJob,
} from '../src/miner/work.js';
import { BLOCK_881423, JOB_881423 } from './fixtures/blocks.js';
import { nodeSha256d } from './support/node-sha256d.js';

const s = BLOCK_881423.stratum;
/** Block 881,423's real job as a pool would announce it (un-rolled version 0x20000000). */
const job: WorkJob = { jobId: 'b881423', ...JOB_881423, ntimeHex: '679ac169' };


/** Rebuilds the header a pool would check from the submit params alone, with bitcoinjs-lib. */
function rebuildFromSubmit(
  p: { extranonce2Hex: string; ntimeHex: string; nonceHex: string; versionBitsHex?: string },
  mask: number,
): Buffer {
  const coinbase = Buffer.from(job.coinb1 + s.extranonce1 + p.extranonce2Hex + job.coinb2, 'hex');
  let root = Transaction.fromBuffer(coinbase).getHash();
  for (const b of job.merkleBranch) root = nodeSha256d(Buffer.concat([root, Buffer.from(b, 'hex')]));
  const block = new Block();
  const bits = p.versionBitsHex ? parseInt(p.versionBitsHex, 16) : 0;
  block.version = ((job.version & ~mask) | (bits & mask)) >>> 0;
  block.prevHash = Buffer.from('00000000000000000001543bc4d2b5e1434cb64af8995e21fe15ca708a6ac9e3', 'hex').reverse();
  block.merkleRoot = root;
  block.timestamp = parseInt(p.ntimeHex, 16);
  block.bits = job.nbits;
  block.nonce = parseInt(p.nonceHex, 16);
  return Buffer.from(block.toBuffer(true));
}

/** Brute-force search for a nonce meeting the work's target, bounded in count. */
function findNonce(work: Work, limit: number): number | undefined {
  for (let nonce = 0; nonce < limit; nonce++) {
    if (checkNonce(work, nonce).meetsTarget) return nonce;
  }
  return undefined;
}

describe('JobWork: extranonce2 split across threads', () => {
  it('never gives two slots (or one slot twice) the same extranonce2 or header', () => {
    const work = new JobWork({ job, extranonce1: s.extranonce1, extranonce2Size: 4, difficulty: 1, slots: 4 });
    const seenEn2 = new Set<string>();
    const seenHeaders = new Set<string>();
    for (let round = 0; round < 50; round++) {
      for (let slot = 0; slot < 4; slot++) {
        const w = work.next(slot);
        expect(w.slot).toBe(slot);
        expect(w.extranonce2Hex).toHaveLength(8);
        expect(Number.parseInt(w.extranonce2Hex, 16) % 4).toBe(slot);
        seenEn2.add(w.extranonce2Hex);
        seenHeaders.add(w.header.toString('hex'));
      }
    }
    expect(seenEn2.size).toBe(200);
    expect(seenHeaders.size).toBe(200);
  });

  it('slot i of n gets extranonce2 = k * n + i', () => {
    const work = new JobWork({ job, extranonce1: s.extranonce1, extranonce2Size: 4, difficulty: 1, slots: 7 });
    for (let k = 0; k < 3; k++) {
      expect(BigInt('0x' + work.next(5).extranonce2Hex)).toBe(BigInt(k) * 7n + 5n);
    }
  });

  it('submit params of the real block 881,423 (rolled version, real nonce) rebuild its real header', () => {
    const work = new JobWork({
      job,
      extranonce1: s.extranonce1,
      extranonce2Size: 4,
      difficulty: 1,
      versionMask: 0x1fffe000,
      versionBits: 0x0e596000,
    });
    const p = submitParamsFor(work.next(0), BLOCK_881423.nonce);
    expect(p.versionBitsHex).toBe('0e596000');
    expect(p.nonceHex).toBe('ff05fb02');
    // The block used extranonce2 220cf1ad; the helper rebuilds what a pool would from these params.
    const rebuilt = rebuildFromSubmit({ ...p, extranonce2Hex: s.extranonce2 }, 0x1fffe000);
    expect(rebuilt.toString('hex')).toBe(BLOCK_881423.headerHex);
  });

  it('throws a clear error when a slot has used up its share of a small extranonce2 space', () => {
    const work = new JobWork({ job, extranonce1: s.extranonce1, extranonce2Size: 1, difficulty: 1, slots: 2 });
    const seen = new Set<string>();
    for (let i = 0; i < 128; i++) {
      seen.add(work.next(0).extranonce2Hex);
      seen.add(work.next(1).extranonce2Hex);
    }
    expect(seen.size).toBe(256);
    expect(() => work.next(0)).toThrow(ExtranonceSpaceExhaustedError);
    expect(() => work.next(1)).toThrow(/slot 1 used up/);
  });

  it('with version rolling, rolls mask bits once the extranonce2 space is used up: every header stays unique', () => {
    const mask = 0x1fffe000;
    const work = new JobWork({ job, extranonce1: s.extranonce1, extranonce2Size: 1, difficulty: 1, slots: 3, versionMask: mask });
    const headers = new Set<string>();
    const versions = new Set<string>();
    for (let i = 0; i < 400; i++) {
      for (let slot = 0; slot < 3; slot++) {
        const w = work.next(slot);
        const p = submitParamsFor(w, 7);
        // The header's version is what a pool derives from the submitted bits (BIP 310).
        const bits = parseInt(p.versionBitsHex!, 16);
        expect(bits & ~mask).toBe(0);
        expect(w.header.readUInt32LE(0)).toBe(((job.version & ~mask) | bits) >>> 0);
        headers.add(w.header.toString('hex'));
        versions.add(p.versionBitsHex!);
      }
    }
    expect(headers.size).toBe(1200); // 1200 units over a 256-value extranonce2: none repeated
    expect(versions.size).toBe(5); // ceil(1200 / 256) passes, each with its own version bits
  });

  it('rejects bad options with a clear error', () => {
    const base = { job, extranonce1: s.extranonce1, extranonce2Size: 4, difficulty: 1 };
    expect(() => new JobWork({ ...base, slots: 0 })).toThrow(/slots/);
    expect(() => new JobWork({ ...base, extranonce2Size: 0, slots: 2 })).toThrow(/cannot share/);
    expect(() => new JobWork({ ...base, extranonce2Size: -1 })).toThrow(/extranonce2_size/);
    expect(() => new JobWork({ ...base, extranonce1: 'zz' })).toThrow(/extranonce1.*not hex/);
    expect(() => new JobWork({ ...base, difficulty: -2 })).toThrow(/difficulty/);
    expect(() => new JobWork({ ...base, versionBits: 0x2000 })).toThrow(/without a version-rolling mask/);
    expect(() => new JobWork({ ...base, job: { ...job, ntimeHex: '1234' } })).toThrow(/ntime.*4 bytes/);
    expect(() => new JobWork({ ...base, job: { ...job, jobId: '' } })).toThrow(/job id/);
    const work = new JobWork(base);
    expect(() => work.next(1)).toThrow(/slot must be/);
    expect(() => submitParamsFor(work.next(0), 2 ** 32)).toThrow(/nonce/);
  });
});

describe('from a raw mining.notify to work', () => {
  it('the Stratum parser\'s job feeds JobWork, and the real block 881,423 header comes out', () => {
    const parsed = parseNotifyParams([
      'b881423',
      '8a6ac9e3fe15ca70f8995e21434cb64ac4d2b5e10001543b0000000000000000',
      s.coinb1,
      s.coinb2,
      BLOCK_881423.merkleBranch,
      '20000000',
      '17029a8a',
      '679ac169',
      true,
    ]);
    const work = new JobWork({
      job: parsed,
      extranonce1: s.extranonce1,
      extranonce2Size: 4,
      difficulty: 1,
      slots: 1,
      versionMask: 0x1fffe000,
      versionBits: 0x0e596000,
    });
    const w = work.next(0);
    expect(w.ntimeHex).toBe('679ac169');
    // Same job and extranonce1; only extranonce2 (00000000 here vs 220cf1ad in the block) and the nonce differ.
    expect(w.header.subarray(0, 36).toString('hex')).toBe(BLOCK_881423.headerHex.slice(0, 72));
    expect(w.header.subarray(68, 76).toString('hex')).toBe(BLOCK_881423.headerHex.slice(136, 152));
    expect(w.header.subarray(36, 68).toString('hex')).not.toBe(BLOCK_881423.headerHex.slice(72, 136));
  });
});

describe('found nonce -> mining.submit params', () => {
  it.each([
    { name: 'no version rolling', mask: 0, bits: undefined },
    { name: 'version rolling', mask: 0x1fffe000, bits: 0x00abe000 },
  ])('$name: the params rebuild (with bitcoinjs-lib) a header whose hash meets the share target', ({ mask, bits }) => {
    const difficulty = 1 / 65536; // 1 share per ~65536 nonces on average
    const work = new JobWork({
      job,
      extranonce1: s.extranonce1,
      extranonce2Size: 4,
      difficulty,
      slots: 2,
      ...(mask ? { versionMask: mask, versionBits: bits } : {}),
    });
    const w = work.next(1);
    expect(w.target).toBe(difficultyToTarget(difficulty));
    const nonce = findNonce(w, 2_000_000);
    expect(nonce).toBeDefined();
    const p = submitParamsFor(w, nonce!);
    expect(p.jobId).toBe('b881423');
    expect(p.ntimeHex).toBe('679ac169');
    expect(p.nonceHex).toMatch(/^[0-9a-f]{8}$/);
    expect(parseInt(p.nonceHex, 16)).toBe(nonce);
    if (mask) expect(p.versionBitsHex).toBe('00abe000');
    else expect(p.versionBitsHex).toBeUndefined();

    const rebuilt = rebuildFromSubmit(p, mask);
    expect(rebuilt.toString('hex')).toBe(headerForNonce(w, nonce!).toString('hex'));
    const hashValue = BigInt('0x' + Buffer.from(nodeSha256d(rebuilt)).reverse().toString('hex'));
    expect(hashValue <= w.target).toBe(true);
    expect(checkNonce(w, nonce!).difficulty).toBeGreaterThanOrEqual(difficulty);
    // The nonce before it (searched in order) did not meet the target: the check is not vacuous.
    if (nonce! > 0) expect(checkNonce(w, nonce! - 1).meetsTarget).toBe(false);
  });

  it('nonce hex is the big-endian uint32 while the header holds it little-endian', () => {
    const w = new JobWork({ job, extranonce1: s.extranonce1, extranonce2Size: 4, difficulty: 1 }).next(0);
    expect(submitParamsFor(w, 0x0102abcd).nonceHex).toBe('0102abcd');
    expect(headerForNonce(w, 0x0102abcd).subarray(76).toString('hex')).toBe('cdab0201');
  });
});
