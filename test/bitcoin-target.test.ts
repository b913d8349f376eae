import { Block } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { sha256d, meetsTarget } from '../src/bitcoin/hash.js';
import { parseHeader } from '../src/bitcoin/header.js';
import {
  DIFF1_TARGET,
  MAX_TARGET,
  difficultyToTarget,
  hashDifficulty,
  hexToTarget,
  nbitsToDifficulty,
  nbitsToTarget,
  targetToDifficulty,
  targetToHex,
  targetToNbits,
} from '../src/bitcoin/target.js';
import { BLOCK_100000, BLOCK_125552, BLOCK_881423, COMPACT_TARGETS, GENESIS } from './fixtures/blocks.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('nbits <-> target', () => {
  it.each(COMPACT_TARGETS)('$what: 0x$nbits round-trips and agrees with bitcoinjs-lib', ({ nbits, targetHex }) => {
    const target = nbitsToTarget(nbits);
    expect(targetToHex(target)).toBe(targetHex);
    expect(targetToHex(target)).toBe(hex(Block.calculateTarget(nbits)));
    expect(targetToNbits(target)).toBe(nbits);
  });

  it.each([0x17034219, 0x17029a8a, 0x1b04864c])('nbits %i of real mainnet blocks round-trips', (nbits) => {
    const target = nbitsToTarget(nbits);
    expect(targetToHex(target)).toBe(hex(Block.calculateTarget(nbits)));
    expect(targetToNbits(target)).toBe(nbits);
  });

  it('every real header hashes below the target of its own nbits', () => {
    const headers = [GENESIS.headerHex, BLOCK_125552.headerHex, BLOCK_881423.headerHex, BLOCK_100000.blockHex.slice(0, 160)];
    for (const h of headers) {
      const bytes = Buffer.from(h, 'hex');
      const { nbits } = parseHeader(bytes);
      expect(meetsTarget(sha256d(bytes), nbitsToTarget(nbits))).toBe(true);
      // ...and a target 2^200 times smaller is not met: the comparison is not vacuous.
      expect(meetsTarget(sha256d(bytes), nbitsToTarget(nbits) >> 200n)).toBe(false);
    }
  });

  it('follows Bitcoin Core for small exponents, the sign bit and overflow', () => {
    // Values from Bitcoin Core's arith_uint256 SetCompact/GetCompact tests.
    expect(nbitsToTarget(0x01003456)).toBe(0n);
    expect(nbitsToTarget(0x01123456)).toBe(0x12n);
    expect(nbitsToTarget(0x02123456)).toBe(0x1234n);
    expect(nbitsToTarget(0x03123456)).toBe(0x123456n);
    expect(nbitsToTarget(0x04123456)).toBe(0x12345600n);
    expect(nbitsToTarget(0x05009234)).toBe(0x92340000n);
    expect(nbitsToTarget(0x20123456)).toBe(0x1234560000000000000000000000000000000000000000000000000000000000n);
    expect(targetToNbits(0x12n)).toBe(0x01120000);
    expect(targetToNbits(0x80n)).toBe(0x02008000);
    expect(targetToNbits(0x1234n)).toBe(0x02123400);
    expect(targetToNbits(0x92340000n)).toBe(0x05009234);
    expect(targetToNbits(0n)).toBe(0);
    expect(() => nbitsToTarget(0x04923456)).toThrow(/negative/);
    expect(() => nbitsToTarget(0xff123456)).toThrow(/overflow/);
    expect(() => nbitsToTarget(0x23000001)).toThrow(/overflow/);
    expect(() => nbitsToTarget(-1)).toThrow(/uint32/);
    expect(() => nbitsToTarget(1.5)).toThrow(/uint32/);
    expect(() => targetToNbits(-1n)).toThrow(/range/);
    expect(() => targetToNbits(MAX_TARGET + 1n)).toThrow(/range/);
  });

  it('reads and writes 64-digit target hex', () => {
    expect(hexToTarget('00000000ffff0000000000000000000000000000000000000000000000000000')).toBe(DIFF1_TARGET);
    expect(() => hexToTarget('ffff')).toThrow(/64 hex/);
    expect(() => hexToTarget('zz'.repeat(32))).toThrow(/64 hex/);
  });
});

describe('difficulty <-> target', () => {
  it('difficulty 1 is the pdiff target, the same as nbits 0x1d00ffff', () => {
    expect(difficultyToTarget(1)).toBe(DIFF1_TARGET);
    expect(nbitsToTarget(0x1d00ffff)).toBe(DIFF1_TARGET);
    expect(nbitsToDifficulty(0x1d00ffff)).toBe(1);
  });

  it('is exact for powers of two, including test-pool fractions like 1/65536', () => {
    expect(difficultyToTarget(2)).toBe(DIFF1_TARGET / 2n);
    expect(difficultyToTarget(1024)).toBe(DIFF1_TARGET / 1024n);
    expect(difficultyToTarget(1 / 65536)).toBe(0xffffn << 224n);
    expect(difficultyToTarget(0.5)).toBe(DIFF1_TARGET * 2n);
  });

  it('stays within a double\'s precision for non-dyadic difficulties', () => {
    for (const [d, ideal] of [
      [0.001, DIFF1_TARGET * 1000n],
      [3, DIFF1_TARGET / 3n],
      [1e12, DIFF1_TARGET / 1_000_000_000_000n],
    ] as const) {
      const t = difficultyToTarget(d);
      const err = t > ideal ? t - ideal : ideal - t;
      expect(err * 10n ** 15n < ideal).toBe(true);
    }
  });

  it('caps tiny difficulties at the largest target and rejects impossible ones', () => {
    expect(difficultyToTarget(1e-20)).toBe(MAX_TARGET);
    for (const bad of [0, -1, NaN, Infinity, -Infinity]) {
      expect(() => difficultyToTarget(bad)).toThrow(/positive finite/);
    }
    expect(() => difficultyToTarget('2' as unknown as number)).toThrow(/positive finite/);
    expect(() => difficultyToTarget(1e300)).toThrow(/too high/);
  });

  it('reports real network difficulties', () => {
    // Block 100000 (nbits 0x1b04864c): difficulty 14484.1623612254 as block explorers show it.
    expect(nbitsToDifficulty(0x1b04864c)).toBeCloseTo(14484.1623612254, 6);
    expect(nbitsToDifficulty(0x1b0404cb)).toBeCloseTo(16307.420938523983, 6);
    for (const d of [1 / 65536, 0.001, 1, 3, 1024, 1e12]) {
      expect(targetToDifficulty(difficultyToTarget(d)) / d).toBeCloseTo(1, 12);
    }
    expect(() => targetToDifficulty(0n)).toThrow(/range/);
  });

  it('gives the difficulty a real block hash achieved', () => {
    const hash = sha256d(Buffer.from(BLOCK_881423.headerHex, 'hex'));
    const value = BigInt('0x' + BLOCK_881423.hashDisplay);
    expect(hashDifficulty(value)).toBeGreaterThan(nbitsToDifficulty(BLOCK_881423.nbits));
    expect(hashDifficulty(value)).toBe(targetToDifficulty(BigInt('0x' + Buffer.from(hash).reverse().toString('hex'))));
  });
});
