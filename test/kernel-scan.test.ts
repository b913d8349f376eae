// The nonce scan itself, in-process on each WASM build: real block headers, SIMD lane positions,
// ragged ranges, agreement between builds and with node:crypto (also once V8 has optimized them: the
// revectorized simd8 exists only in optimized code), and the candidate buffer limit.
import { createHash, randomBytes } from 'node:crypto';
import { Block } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { hashToBigInt, hashToDisplayHex, sha256d } from '../src/bitcoin/hash.js';
import { runScan, targetTopWord } from '../src/kernel/scanner.js';
import type { KernelName } from '../src/kernel/types.js';
import { revectorizeSupported } from '../src/kernel/runtime.js';
import { KERNEL_NAMES } from '../src/kernel/types.js';
import { WasmKernel, resolveKernel, simdSupported } from '../src/kernel/wasm.js';
import { HEADERS } from './fixtures/headers.js';

const builds: KernelName[] = simdSupported() ? [...KERNEL_NAMES] : ['scalar'];
const kernels = Object.fromEntries(builds.map((name) => [name, WasmKernel.load(name)])) as Record<KernelName, WasmKernel>;
const MAX_TARGET = (1n << 256n) - 1n;

/** Compact nbits -> 256-bit target (written out here so the test does not trust the code under test). */
function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

/** Top 32 bits (as LE uint256) of sha256d(header with nonce), by node:crypto. */
function topWordByCrypto(header: Uint8Array, nonce: number): number {
  const copy = Buffer.from(header);
  copy.writeUInt32LE(nonce, 76);
  const first = createHash('sha256').update(copy).digest();
  return createHash('sha256').update(first).digest().readUInt32LE(28);
}

describe('real block headers (fixtures)', () => {
  it.each(HEADERS)('block $height: sha256d is the known hash, meets its nbits target, bitcoinjs-lib agrees', (fx) => {
    const header = Buffer.from(fx.hex, 'hex');
    expect(header.length).toBe(80);
    const hash = sha256d(header);
    expect(hashToDisplayHex(hash)).toBe(fx.hash);
    expect(header.readUInt32LE(0)).toBe(fx.version);
    expect(header.readUInt32LE(72)).toBe(fx.bits);
    expect(header.readUInt32LE(76)).toBe(fx.nonce);
    expect(hashToBigInt(hash) <= targetFromBits(fx.bits)).toBe(true);
    const block = Block.fromHex(fx.hex);
    expect(block.getId()).toBe(fx.hash);
    expect(block.checkProofOfWork()).toBe(true);
  });

  it('includes a recent block with BIP 9 version bits (0x2xxxxxxx)', () => {
    expect(HEADERS.some((fx) => fx.version >>> 28 === 2)).toBe(true);
  });
});

describe.each(builds)('scan on the %s build', (name) => {
  const kernel = kernels[name];

  it.each(HEADERS)('finds exactly the real nonce of block $height in each SIMD lane and ragged ranges', (fx) => {
    const header = Buffer.from(fx.hex, 'hex');
    const target = targetFromBits(fx.bits);
    for (let lane = 0; lane < 8; lane++) {
      for (const count of [1 + lane, 7, 13, 1030, 4099]) {
        const start = fx.nonce - lane;
        if (count <= lane) continue;
        const result = runScan(kernel, { header, target, startNonce: start, count });
        expect(result, `lane ${lane} count ${count}`).toEqual({ hashed: count, nonces: [fx.nonce], cancelled: false });
      }
    }
    // A range that ends just before the nonce, or starts just after it, must not report it.
    expect(runScan(kernel, { header, target, startNonce: fx.nonce - 4099, count: 4099 }).nonces).toEqual([]);
    for (let after = 1; after <= 8; after++) {
      expect(runScan(kernel, { header, target, startNonce: fx.nonce + after, count: 20 }).nonces).toEqual([]);
    }
    // The 76-byte form (no nonce field) works the same.
    expect(runScan(kernel, { header: header.subarray(0, 76), target, startNonce: fx.nonce - 2, count: 6 }).nonces).toEqual([fx.nonce]);
  });

  it('reports every candidate that node:crypto finds on random headers with an easy target', () => {
    const top = 0x00ffffff; // ~1 nonce in 256 passes
    for (let i = 0; i < 3; i++) {
      const header = randomBytes(80);
      const start = randomBytes(4).readUInt32LE(0) % 0xf0000000;
      const count = 5003 + i;
      kernel.setJob(header, top);
      const { candidates, scanned } = kernel.scan(start, count);
      const expected: number[] = [];
      for (let n = start; n < start + count; n++) if (topWordByCrypto(header, n) <= top) expected.push(n);
      expect(expected.length).toBeGreaterThan(5);
      expect(scanned).toBe(count);
      expect([...candidates]).toEqual(expected);
    }
  });

  it('stops when the candidate buffer is full, loses nothing, and the scanner resumes from there', () => {
    const header = randomBytes(80);
    kernel.setJob(header, 0xffffffff); // every nonce is a candidate
    const capacity = kernel.candidateCapacity;
    const { candidates, scanned } = kernel.scan(100, 5000);
    expect(scanned).toBeLessThan(5000);
    expect(candidates.length).toBe(scanned);
    expect(candidates.length).toBeLessThanOrEqual(capacity);
    expect([...candidates]).toEqual(Array.from({ length: scanned }, (_, i) => 100 + i));
    // Through the scanner, with the largest target every nonce is confirmed.
    const all = runScan(kernel, { header, target: MAX_TARGET, startNonce: 7, count: 5000 });
    expect(all.hashed).toBe(5000);
    expect(all.nonces).toEqual(Array.from({ length: 5000 }, (_, i) => 7 + i));
  });

  it('stops at maxCandidates right after the last one it keeps, so a resumed scan loses and repeats nothing', () => {
    const header = randomBytes(80);
    const target = MAX_TARGET >> 1n; // about every other nonce
    const whole = runScan(kernel, { header, target, startNonce: 1000, count: 3000 });
    const first = runScan(kernel, { header, target, startNonce: 1000, count: 3000, maxCandidates: 100 });
    expect(first.nonces).toEqual(whole.nonces.slice(0, 100));
    expect(first.cancelled).toBe(false);
    expect(first.hashed).toBe(first.nonces[99]! - 1000 + 1);
    const rest = runScan(kernel, { header, target, startNonce: 1000 + first.hashed, count: 3000 - first.hashed });
    expect([...first.nonces, ...rest.nonces]).toEqual(whole.nonces);
    expect(() => runScan(kernel, { header, target, startNonce: 0, count: 10, maxCandidates: 0 })).toThrow(/maxCandidates must be an integer >= 1/);
  });

  it('scans up to the last nonce 0xffffffff without wrapping', () => {
    const header = randomBytes(80);
    const result = runScan(kernel, { header, target: MAX_TARGET, startNonce: 0xffffffff - 5, count: 6 });
    expect(result.nonces).toEqual([0xfffffffa, 0xfffffffb, 0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff]);
  });
});

describe('all builds agree', () => {
  const agree = (label: string) => {
    for (let i = 0; i < 4; i++) {
      const header = randomBytes(80);
      const start = randomBytes(4).readUInt32LE(0) % 0xff000000;
      const count = 50_001 + i;
      const lists = builds.map((b) => {
        kernels[b].setJob(header, 0x00ffffff);
        return [...kernels[b].scan(start, count).candidates];
      });
      expect(lists[0].length).toBeGreaterThan(100);
      for (let b = 1; b < builds.length; b++) expect(lists[b], `${label}: ${builds[b]} vs ${builds[0]}`).toEqual(lists[0]);
    }
  };

  it.skipIf(builds.length < 2)('candidate-for-candidate on random headers and an easy target', () => agree('first calls'));

  // V8 runs a module's first calls on its baseline compiler (Liftoff) and swaps in optimized code (TurboFan)
  // once the function is hot; only the latter is revectorized. Hash until every build has been hot for a while.
  it.skipIf(builds.length < 2)('and again once V8 has optimized every build', () => {
    const header = randomBytes(80);
    for (const b of builds) {
      kernels[b].setJob(header, 0);
      const deadline = performance.now() + 400;
      for (let start = 0; performance.now() < deadline; start += 65_536) kernels[b].scan(start, 65_536);
    }
    agree('optimized');
    // The real block as well, now on optimized code.
    const fx = HEADERS[HEADERS.length - 1]!;
    for (const b of builds) {
      const result = runScan(kernels[b], { header: Buffer.from(fx.hex, 'hex'), target: targetFromBits(fx.bits), startNonce: fx.nonce - 5003, count: 10_007 });
      expect(result.nonces, b).toEqual([fx.nonce]);
    }
  });
});

describe('kernel selection and input checks', () => {
  it('auto picks simd8 where V8 revectorizes it, else simd where the engine supports it', () => {
    expect(resolveKernel('auto')).toBe(simdSupported() ? (revectorizeSupported() ? 'simd8' : 'simd') : 'scalar');
    expect(resolveKernel('scalar')).toBe('scalar');
    expect(kernels.scalar.lanes).toBe(1);
    if (simdSupported()) {
      expect(kernels.simd.lanes).toBe(4);
      expect(kernels.simd8.lanes).toBe(8);
    }
  });

  it('knows which V8 versions revectorize (x64 with AVX2, V8 12.4 and later)', () => {
    const base = { node: 'v24.0.0', arch: 'x64', cpuVendor: 'AuthenticAMD', cpuModel: 'AMD EPYC', avx2: true };
    expect(revectorizeSupported({ ...base, v8: '13.6.233.17-node.63' })).toBe(true);
    expect(revectorizeSupported({ ...base, v8: '12.4.254.21-node.57' })).toBe(true);
    expect(revectorizeSupported({ ...base, v8: '11.3.244.8-node.38' })).toBe(false);
    expect(revectorizeSupported({ ...base, v8: '13.6.233.17', avx2: false })).toBe(false);
    expect(revectorizeSupported({ ...base, v8: '13.6.233.17', arch: 'arm64' })).toBe(false);
  });

  it('rejects an unknown kernel name', () => {
    expect(() => resolveKernel('gpu')).toThrow(/unknown kernel "gpu"/);
  });

  it('rejects bad scan requests with errors naming the field', () => {
    const kernel = kernels.scalar;
    const ok = { header: new Uint8Array(80), target: 1n, startNonce: 0, count: 10 };
    expect(() => runScan(kernel, { ...ok, header: new Uint8Array(79) })).toThrow(/header must be 80 bytes.*got 79/);
    expect(() => runScan(kernel, { ...ok, header: 'abcd' as unknown as Uint8Array })).toThrow(/header must be a Uint8Array/);
    expect(() => runScan(kernel, { ...ok, target: -1n })).toThrow(/target/);
    expect(() => runScan(kernel, { ...ok, target: 1n << 256n })).toThrow(/target/);
    expect(() => runScan(kernel, { ...ok, startNonce: -1 })).toThrow(/startNonce/);
    expect(() => runScan(kernel, { ...ok, startNonce: 2 ** 32 })).toThrow(/startNonce/);
    expect(() => runScan(kernel, { ...ok, startNonce: 0xfffffff0, count: 17 })).toThrow(/count/);
    expect(() => runScan(kernel, { ...ok, count: 1.5 })).toThrow(/count/);
  });

  it('targetTopWord takes the most significant 32 bits', () => {
    expect(targetTopWord(MAX_TARGET)).toBe(0xffffffff);
    expect(targetTopWord(targetFromBits(0x1d00ffff))).toBe(0);
    expect(targetTopWord(targetFromBits(0x207fffff))).toBe(0x7fffff00);
  });
});

describe('generated kernel source', () => {
  it('assembly/generated.ts matches its generator', async () => {
    const { execFileSync } = await import('node:child_process');
    const generator = new URL('../assembly/generate.mjs', import.meta.url);
    const out = execFileSync(process.execPath, [generator.pathname, '--check'], { encoding: 'utf8' });
    expect(out).toMatch(/up to date/);
  });
});
