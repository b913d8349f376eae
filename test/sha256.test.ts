// Known answers for the WASM module's own SHA-256 (the compression the kernel is generated from shares
// its constants): FIPS 180-2 example vectors, then random lengths against node:crypto.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WasmKernel, simdSupported } from '../src/kernel/wasm.js';
import type { KernelName } from '../src/kernel/types.js';
import { KERNEL_NAMES } from '../src/kernel/types.js';
import { hashToDisplayHex } from '../src/bitcoin/hash.js';
import { BLOCK_881423, GENESIS } from './fixtures/blocks.js';

const NIST: Array<[string, string | Uint8Array, string]> = [
  ['empty string', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"abc"', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['448-bit message (two blocks after padding)', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['896-bit message', 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  ['one million "a"', new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

const builds: KernelName[] = simdSupported() ? [...KERNEL_NAMES] : ['scalar'];

describe.each(builds)('WASM sha256 (%s build)', (name) => {
  const kernel = WasmKernel.load(name);

  it.each(NIST)('NIST vector: %s', (_label, input, expected) => {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
    expect(Buffer.from(kernel.sha256(bytes)).toString('hex')).toBe(expected);
  });

  it('matches node:crypto on every length around the block and padding boundaries', () => {
    for (let len = 0; len <= 200; len++) {
      const data = randomBytes(len);
      const expected = createHash('sha256').update(data).digest('hex');
      expect(Buffer.from(kernel.sha256(data)).toString('hex'), `length ${len}`).toBe(expected);
    }
  });
});

// sha256d: both hashes inside the module (the miner server's share checks use it for coinbases, merkle pairs
// and headers).
const doubleSha = (data: Uint8Array) =>
  createHash('sha256').update(createHash('sha256').update(data).digest()).digest('hex');

describe.each(builds)('WASM sha256d (%s build)', (name) => {
  const kernel = WasmKernel.load(name);
  const sha256d = (data: Uint8Array) => {
    const out = Buffer.alloc(32);
    kernel.sha256dInto(data, out);
    return out;
  };

  it('gives the block hash of real headers (genesis and block 881,423)', () => {
    expect(hashToDisplayHex(sha256d(Buffer.from(GENESIS.headerHex, 'hex')))).toBe(GENESIS.hashDisplay);
    expect(hashToDisplayHex(sha256d(Buffer.from(BLOCK_881423.headerHex, 'hex')))).toBe(BLOCK_881423.hashDisplay);
  });

  it('is sha256(sha256(x)) of NIST vector inputs', () => {
    for (const [, input] of NIST.slice(0, 4)) {
      const bytes = Buffer.from(input as string, 'latin1');
      const expected = createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest('hex');
      expect(sha256d(bytes).toString('hex')).toBe(expected);
    }
  });

  it('matches node:crypto on every length 0..300 and on random lengths up to 4 KiB', () => {
    for (let len = 0; len <= 300; len++) {
      const data = randomBytes(len);
      expect(sha256d(data).toString('hex'), `length ${len}`).toBe(doubleSha(data));
    }
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(301 + Math.floor(Math.random() * 3800));
      expect(sha256d(data).toString('hex'), `length ${data.length}`).toBe(doubleSha(data));
    }
  });

  it('writes at an offset and in place (the merkle fold hashes a pair over itself)', () => {
    const data = randomBytes(100);
    const out = Buffer.alloc(40, 0xee);
    kernel.sha256dInto(data, out, 5);
    expect(out.subarray(5, 37).toString('hex')).toBe(doubleSha(data));
    expect([...out.subarray(0, 5), ...out.subarray(37)]).toEqual(Array(8).fill(0xee));
    const pair = randomBytes(64);
    const expected = doubleSha(pair);
    kernel.sha256dInto(pair, pair, 0);
    expect(pair.subarray(0, 32).toString('hex')).toBe(expected);
  });

  it('keeps working after an input larger than its memory grows it', () => {
    const big = randomBytes(300_000);
    expect(sha256d(big).toString('hex')).toBe(doubleSha(big));
    const small = randomBytes(80);
    expect(sha256d(small).toString('hex')).toBe(doubleSha(small));
    expect(Buffer.from(kernel.sha256(small)).toString('hex')).toBe(createHash('sha256').update(small).digest('hex'));
  });

  it('refuses an output buffer without room for 32 bytes', () => {
    expect(() => kernel.sha256dInto(Buffer.alloc(80), Buffer.alloc(31))).toThrow(/32 bytes at offset 0 of a 31-byte/);
    expect(() => kernel.sha256dInto(Buffer.alloc(80), Buffer.alloc(40), 9)).toThrow(/offset 9/);
  });
});

describe.each(builds)('WASM merkle fold (%s build)', (name) => {
  const kernel = WasmKernel.load(name);

  it('folds a coinbase through a branch exactly like sha256d(root || branch) level by level', () => {
    for (const levels of [0, 1, 2, 12]) {
      const coinbase = randomBytes(100 + levels * 7);
      const branch = Array.from({ length: levels }, () => randomBytes(32));
      let root = createHash('sha256').update(createHash('sha256').update(coinbase).digest()).digest();
      for (const b of branch) {
        const pair = Buffer.concat([root, b]);
        root = createHash('sha256').update(createHash('sha256').update(pair).digest()).digest();
      }
      const out = Buffer.alloc(36);
      kernel.merkleRootInto(coinbase, Buffer.concat(branch), out, 4);
      expect(out.subarray(4).toString('hex'), `${levels} levels`).toBe(root.toString('hex'));
    }
  });

  it('refuses a branch that is not whole 32-byte hashes, and a short output', () => {
    expect(() => kernel.merkleRootInto(Buffer.alloc(60), Buffer.alloc(33), Buffer.alloc(32))).toThrow(/32-byte hashes, got 33/);
    expect(() => kernel.merkleRootInto(Buffer.alloc(60), Buffer.alloc(32), Buffer.alloc(32), 1)).toThrow(/offset 1/);
  });
});
