// The thread pool: real worker threads, each with its own WASM instance (dist/ build, see pool.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelPool, splitRange } from '../src/kernel/pool.js';
import { SUB_BATCH } from '../src/kernel/scanner.js';
import { resolveKernel } from '../src/kernel/wasm.js';
import { HEADERS } from './fixtures/headers.js';
import { waitUntil } from './support/wait-until.js';

const MAX_TARGET = (1n << 256n) - 1n;

describe('splitRange', () => {
  it('covers the range in order with no gap or overlap, sizes within one', () => {
    for (const [start, count, parts] of [[0, 10, 3], [5, 2 ** 32 - 5, 7], [100, 3, 8], [0, 0, 4], [2 ** 32 - 9, 9, 2]]) {
      const ranges = splitRange(start, count, parts);
      let next = start;
      for (const r of ranges) {
        expect(r.start).toBe(next);
        expect(r.count).toBeGreaterThan(0);
        next += r.count;
      }
      expect(next).toBe(start + count);
      expect(ranges.length).toBe(Math.min(parts, count));
      const sizes = ranges.map((r) => r.count);
      if (sizes.length) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => splitRange(0, 10, 0)).toThrow(/parts/);
    expect(() => splitRange(-1, 10, 2)).toThrow(/start/);
    expect(() => splitRange(0, 1.5, 2)).toThrow(/count/);
  });
});

describe('KernelPool.create validation', () => {
  it.each([0, 10_000, 1.5, -2, Number.NaN])('rejects threads = %s', async (threads) => {
    await expect(KernelPool.create({ threads })).rejects.toThrow(/threads must be an integer in 1\.\.256/);
  });
  it('rejects an unknown kernel name', async () => {
    await expect(KernelPool.create({ threads: 1, kernel: 'gpu' as 'simd' })).rejects.toThrow(/unknown kernel "gpu"/);
  });
});

describe.each([2, 3])('KernelPool with %i threads', (threads) => {
  let pool: KernelPool;
  beforeAll(async () => {
    pool = await KernelPool.create({ threads });
  });
  afterAll(async () => {
    await pool.destroy();
  });

  it('reports its configuration', () => {
    expect(pool.threads).toBe(threads);
    expect(pool.kernel).toBe(resolveKernel('auto'));
  });

  it('scanRange hashes every nonce exactly once (every nonce meets the largest target)', async () => {
    const header = randomBytes(80);
    const count = 10_007;
    const result = await pool.scanRange({ header, target: MAX_TARGET, startNonce: 1000, count });
    expect(result.cancelled).toBe(false);
    expect(result.hashed).toBe(count);
    expect(result.nonces).toEqual(Array.from({ length: count }, (_, i) => 1000 + i));
    // A candidate limit would stop split parts early and leave gaps no `hashed` could resume from.
    await expect(pool.scanRange({ header, target: MAX_TARGET, startNonce: 0, count, maxCandidates: 10 })).rejects.toThrow(/maxCandidates applies to scan\(\) only/);
  });

  it('scanRange finds the real nonce of a block', async () => {
    const fx = HEADERS[HEADERS.length - 1];
    const header = Buffer.from(fx.hex, 'hex');
    const target = BigInt('0x' + fx.hash); // the block's own hash as target: only its nonce can meet it
    const result = await pool.scanRange({ header, target, startNonce: fx.nonce - 150_001, count: 300_003 });
    expect(result).toEqual({ hashed: 300_003, nonces: [fx.nonce], cancelled: false });
  });

  it('cancel() stops every in-flight scan at its next sub-batch, and the pool keeps working', async () => {
    const header = randomBytes(80);
    for (let round = 0; round < 5; round++) {
      const before = pool.totalHashed();
      const running = pool.scanRange({ header, target: 0n, startNonce: 0, count: 2 ** 31 });
      await waitUntil(() => pool.totalHashed() > before, 'the scan to be under way', 30_000);
      const hashedAtCancel = pool.totalHashed() - before;
      pool.cancel();
      const result = await running;
      expect(result.cancelled).toBe(true);
      expect(result.hashed).toBeLessThan(2 ** 31);
      expect(pool.totalHashed() - before).toBeGreaterThanOrEqual(result.hashed);
      // Counted in nonces, not milliseconds (a busy machine stretches time, not work): after cancel() each thread
      // finishes the sub-batch it is in (and may not have counted the one before) and stops.
      expect(result.hashed - hashedAtCancel).toBeLessThanOrEqual(threads * 2 * SUB_BATCH);
    }
    const after = await pool.scan({ header, target: MAX_TARGET, startNonce: 5, count: 3 });
    expect(after).toEqual({ hashed: 3, nonces: [5, 6, 7], cancelled: false });
  });

  it('rejects bad requests with a clear error', async () => {
    await expect(pool.scan({ header: new Uint8Array(81), target: 1n, startNonce: 0, count: 1 })).rejects.toThrow(/header must be 80 bytes/);
    await expect(pool.scanRange({ header: new Uint8Array(80), target: 1n, startNonce: 2 ** 32 - 1, count: 2 })).rejects.toThrow(/count/);
  });
});

describe('KernelPool lifecycle', () => {
  it('forcing the scalar kernel works and a destroyed pool refuses work', async () => {
    const pool = await KernelPool.create({ threads: 1, kernel: 'scalar' });
    expect(pool.kernel).toBe('scalar');
    const fx = HEADERS[1];
    const result = await pool.scan({ header: Buffer.from(fx.hex, 'hex'), target: BigInt('0x' + fx.hash), startNonce: fx.nonce - 10, count: 21 });
    expect(result.nonces).toEqual([fx.nonce]);
    await pool.destroy();
    await expect(pool.scan({ header: new Uint8Array(80), target: 1n, startNonce: 0, count: 1 })).rejects.toThrow(/destroyed/);
  });
});
