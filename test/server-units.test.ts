import { createHash, randomBytes } from 'node:crypto';
import { Block } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { Histogram, Registry, type Metric } from 'prom-client';
import { hashToDisplayHex } from '../src/bitcoin/hash.js';
import { buildJobHeader } from '../src/bitcoin/job.js';
import { difficultyToTarget, nbitsToTarget } from '../src/bitcoin/target.js';
import { DecayingRate } from '../src/rate.js';
import { ShareHashrate } from '../src/server/share-hashrate.js';
import { leHashDifficulty, leHashMeetsTarget, targetToLeBytes } from '../src/server/difficulty.js';
import { ExtranonceExhaustedError, ExtranoncePrefixAllocator, prefixSizeFor } from '../src/server/extranonce.js';
import { JobBook } from '../src/server/job-book.js';
import { FastHistogram } from '../src/server/metrics.js';
import { CoinbaseRootCache, checkShare, type ShareCheckContext } from '../src/server/share-check.js';
import { sha256dInto } from '../src/server/share-hash.js';
import { ShareHashSet } from '../src/server/share-set.js';
import { Vardiff, roundDifficulty } from '../src/server/vardiff.js';
import { GENESIS } from './fixtures/blocks.js';
import type { UpstreamJob } from '../src/upstream/types.js';
import { BLOCK_881423 } from './fixtures/blocks.js';

describe('extranonce prefixes', () => {
  it('takes ckpool-sized prefixes and refuses spaces too small to share', () => {
    expect(prefixSizeFor(8)).toBe(4);
    expect(prefixSizeFor(16)).toBe(4);
    expect(prefixSizeFor(7)).toBe(2);
    expect(prefixSizeFor(6)).toBe(2);
    expect(prefixSizeFor(5)).toBe(1);
    expect(prefixSizeFor(4)).toBe(1);
    expect(() => prefixSizeFor(3)).toThrow(/too small to share/);
    expect(() => prefixSizeFor(-1)).toThrow(/integer 0\.\.32/);
    expect(() => new ExtranoncePrefixAllocator('zz', 8)).toThrow(/hex/);
  });

  it('hands out unique prefixes, extends extranonce1 and shrinks extranonce2', () => {
    const a = new ExtranoncePrefixAllocator('AABBCCDD', 8);
    const slots = Array.from({ length: 1000 }, () => a.allocate());
    expect(new Set(slots.map((s) => s.prefix)).size).toBe(1000);
    expect(slots[0]).toEqual({ prefix: '00000000', extranonce1: 'aabbccdd00000000', extranonce2Size: 4 });
    expect(slots[999]!.extranonce1).toBe('aabbccdd000003e7');
  });

  it('runs out at capacity, reuses released prefixes, but not the one just released first', () => {
    const a = new ExtranoncePrefixAllocator('01', 4);
    expect(a.capacity).toBe(256);
    const slots = Array.from({ length: 256 }, () => a.allocate());
    expect(() => a.allocate()).toThrow(ExtranonceExhaustedError);
    a.release(slots[10]!.prefix);
    expect(a.allocate().prefix).toBe('0a');
    const b = new ExtranoncePrefixAllocator('01', 8, 3);
    const [x] = [b.allocate(), b.allocate()];
    b.release(x!.prefix);
    expect(b.allocate().prefix).toBe('00000002'); // round-robin: the fresh one first
    expect(b.allocate().prefix).toBe('00000000');
    expect(() => b.allocate()).toThrow(/all 3 extranonce2 prefixes/);
  });
});

describe('vardiff', () => {
  const opts = { targetSeconds: 10, minDifficulty: 1, maxDifficulty: 1024 };

  it('raises the difficulty of a fast miner, bounded by x4 per step and by the ceiling', () => {
    const v = new Vardiff(opts, 0);
    for (let i = 0; i < 16; i++) v.recordShare();
    // 16 shares in 1 s = 0.0625 s per share: wants x160, gets x4.
    expect(v.check(8, 1000)).toBe(32);
    for (let i = 0; i < 16; i++) v.recordShare();
    expect(v.check(32, 2000, 64)).toBe(64); // proxy ceiling: the upstream difficulty
  });

  it('lowers the difficulty of a silent miner after the retarget time, not before', () => {
    const v = new Vardiff(opts, 0);
    expect(v.check(64, 29_000)).toBeNull();
    expect(v.check(64, 30_000)).toBe(22); // no share in 30 s: counted as one share in 30 s, so x1/3
    expect(v.check(22, 150_000)).toBe(5.5); // 120 s of silence would be x1/12: bounded to /4
    expect(v.check(1, 300_000)).toBeNull(); // already at the minimum
  });

  it('leaves a miner on target alone and validates its options', () => {
    const v = new Vardiff(opts, 0);
    for (let i = 0; i < 16; i++) v.recordShare();
    expect(v.check(8, 160_000)).toBeNull();
    expect(() => new Vardiff({ ...opts, targetSeconds: 0 }, 0)).toThrow(/target/);
    expect(() => new Vardiff({ ...opts, maxDifficulty: 0.5 }, 0)).toThrow(/maximum difficulty/);
    expect(roundDifficulty(1000)).toBe(1024);
    expect(roundDifficulty(2 ** -20)).toBe(2 ** -20);
  });
});

describe('hashrate from shares', () => {
  it('converges to difficulty * 2^32 / interval', () => {
    const m = new ShareHashrate(0);
    // One difficulty-4 share per second for 10 minutes = 4 * 2^32 H/s.
    for (let t = 1; t <= 600; t++) m.addShare(4, t * 1000);
    const s = m.snapshot(600_000);
    expect(s['1m'] / (4 * 2 ** 32)).toBeCloseTo(1, 1);
    expect(s['5m'] / (4 * 2 ** 32)).toBeCloseTo(1, 1);
    expect(s['1h'] / (4 * 2 ** 32)).toBeCloseTo(1, 1);
  });

  it('decays when shares stop', () => {
    const r = new DecayingRate(60, 0);
    for (let t = 1; t <= 300; t++) r.add(10, t * 1000);
    const before = r.rate(300_000);
    expect(before).toBeCloseTo(10, 0);
    expect(r.rate(420_000)).toBeLessThan(before * 0.2);
  });
});

describe('share hashing (the WASM kernel sha256d)', () => {
  it('hashes the genesis header to its known block hash, and a merkle pair in place like node:crypto', () => {
    const hash = Buffer.alloc(32);
    sha256dInto(Buffer.from(GENESIS.headerHex, 'hex'), hash);
    expect(hashToDisplayHex(hash)).toBe(GENESIS.hashDisplay);
    const pair = Buffer.from(GENESIS.headerHex.slice(0, 128), 'hex');
    const expected = createHash('sha256').update(createHash('sha256').update(pair).digest()).digest('hex');
    sha256dInto(pair, pair, 0);
    expect(pair.subarray(0, 32).toString('hex')).toBe(expected);
  });
});

describe('duplicate-share set keyed by share hash', () => {
  it('finds every added hash again, refuses re-adds, and survives growth past its initial table', () => {
    const set = new ShareHashSet();
    const hashes = Array.from({ length: 5000 }, () => randomBytes(32));
    for (const h of hashes) expect(set.add(h)).toBe(true);
    expect(set.size).toBe(5000);
    expect(set.byteLength).toBeGreaterThanOrEqual(5000 * 2 * 16);
    for (const h of hashes) {
      expect(set.has(h)).toBe(true);
      expect(set.add(Buffer.from(h))).toBe(false);
    }
    expect(set.has(randomBytes(32))).toBe(false);
    expect(set.size).toBe(5000);
  });

  it('tells apart hashes that differ only in one key byte or collide on the slot word', () => {
    const set = new ShareHashSet();
    const base = randomBytes(32);
    expect(set.add(base)).toBe(true);
    for (let i = 4; i < 16; i++) {
      const other = Buffer.from(base);
      other[i]! ^= 0x01; // same first word: same slot, resolved by linear probing
      expect(set.has(other)).toBe(false);
      expect(set.add(other)).toBe(true);
    }
    expect(set.size).toBe(13);
  });

  it('handles the all-zero key, clears, and refuses a short key', () => {
    const set = new ShareHashSet();
    const zero = Buffer.alloc(32);
    expect(set.has(zero)).toBe(false);
    expect(set.add(zero)).toBe(true);
    expect(set.add(zero)).toBe(false);
    expect(set.size).toBe(1);
    set.add(randomBytes(32));
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(zero)).toBe(false);
    expect(() => set.add(Buffer.alloc(15))).toThrow(/at least 16 bytes, got 15/);
  });
});

describe('coinbase/merkle-root cache', () => {
  const entry = (n: number) => ({ coinbase: Buffer.from([n]), merkleRoot: Buffer.alloc(32, n) });

  it('keeps a result only when its key comes back, and evicts the oldest past its capacity', () => {
    const cache = new CoinbaseRootCache(2);
    expect(cache.set('a', entry(1))).toBe(false); // first sight: not kept
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('b', entry(2))).toBe(false);
    expect(cache.set('a', entry(1))).toBe(false); // 'b' came in between: 'a' counts as new again
    expect(cache.set('a', entry(1))).toBe(true);
    expect(cache.get('a')?.coinbase[0]).toBe(1);
    for (const k of ['b', 'c']) {
      cache.set(k, entry(k.charCodeAt(0)));
      cache.set(k, entry(k.charCodeAt(0)));
    }
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')?.coinbase[0]).toBe(0x63);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('fast target compare', () => {
  it('agrees with bigint comparison', () => {
    const target = difficultyToTarget(2 ** -20);
    const le = targetToLeBytes(target);
    const below = Buffer.from((target - 1n).toString(16).padStart(64, '0'), 'hex').reverse();
    const above = Buffer.from((target + 1n).toString(16).padStart(64, '0'), 'hex').reverse();
    expect(leHashMeetsTarget(le, le)).toBe(true);
    expect(leHashMeetsTarget(below, le)).toBe(true);
    expect(leHashMeetsTarget(above, le)).toBe(false);
  });

  it('share difficulty of a hash (difficulty-1 target / hash) agrees with the bigint quotient', () => {
    const reference = (le: Buffer) => {
      const h = BigInt('0x' + Buffer.from(le).reverse().toString('hex'));
      return Number(((0xffffn << 208n) << 64n) / h) / 2 ** 64;
    };
    const fromDisplay = (hex: string) => Buffer.from(hex, 'hex').reverse();
    const genesis = fromDisplay('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
    expect(leHashDifficulty(genesis)).toBeCloseTo(2536.43, 2);
    const hashes = [genesis, fromDisplay('00000000ffff' + '0'.repeat(52)), fromDisplay('7fffff' + '0'.repeat(58)), fromDisplay('0'.repeat(62) + '01')];
    for (let i = 0; i < 50; i++) hashes.push(randomBytes(32));
    for (let i = 0; i < 50; i++) hashes.push(Buffer.concat([randomBytes(4 + (i % 24)), Buffer.alloc(28 - (i % 24))])); // high zero words
    for (const h of hashes) expect(Math.abs(leHashDifficulty(h) / reference(h) - 1)).toBeLessThan(1e-9);
    expect(leHashDifficulty(fromDisplay('00000000ffff' + '0'.repeat(52)))).toBe(1);
    expect(leHashDifficulty(Buffer.alloc(32))).toBe(Infinity);
  });
});

describe('share check on the real block 881,423 (proxied: upstream extranonce1 04830cee, prefix 22)', () => {
  const s = BLOCK_881423.stratum;
  const upstream: UpstreamJob = {
    spaceId: 'pool-0',
    jobId: 'real',
    prevhash: '8a6ac9e3fe15ca70f8995e21434cb64ac4d2b5e10001543b0000000000000000',
    coinb1: s.coinb1,
    coinb2: s.coinb2,
    merkleBranch: BLOCK_881423.merkleBranch,
    version: '20000000',
    nbits: BLOCK_881423.nbits.toString(16),
    ntime: BLOCK_881423.ntime.toString(16),
    target: nbitsToTarget(BLOCK_881423.nbits),
    difficulty: 1,
    clean: true,
    versionMask: 0x1fffe000,
    receivedAt: Date.now(),
  };
  const allocator = new ExtranoncePrefixAllocator('04830cee', 4);
  // Walk to prefix 0x22 so the session's coinbase is exactly the real one.
  let slot = allocator.allocate();
  while (slot.prefix !== '22') slot = allocator.allocate();
  const share = { jobId: 'x', extranonce2: '0cf1ad', ntime: '679ac169', nonce: 'ff05fb02', versionBits: '0e596000' };

  function ctx(book: JobBook, overrides: Partial<ShareCheckContext> = {}): ShareCheckContext {
    const job = book.add(upstream);
    return {
      job,
      jobKnown: book.has(job),
      difficulty: 1000,
      extranonce1: Buffer.from(slot.extranonce1, 'hex'),
      extranonce2Size: slot.extranonce2Size,
      versionMask: 0x1fffe000,
      now: Date.now(),
      keepBuilt: true,
      ...overrides,
    };
  }

  it('rebuilds the real header (checked with bitcoinjs-lib) and finds it meets the block target', () => {
    expect(slot).toEqual({ prefix: '22', extranonce1: '04830cee22', extranonce2Size: 3 });
    const verdict = checkShare(ctx(new JobBook()), share);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.built!.header.toString('hex')).toBe(BLOCK_881423.headerHex);
    expect(hashToDisplayHex(verdict.built!.hash)).toBe(BLOCK_881423.hashDisplay);
    expect(Block.fromBuffer(verdict.built!.header).getId()).toBe(BLOCK_881423.hashDisplay);
    expect(verdict.meetsUpstream).toBe(true);
    // Same bytes as src/bitcoin's reference builder with the upstream's own extranonces.
    const ref = buildJobHeader(
      { ...upstream, prevHash: upstream.prevhash, version: 0x20000000, nbits: BLOCK_881423.nbits, ntime: BLOCK_881423.ntime },
      { extranonce1: '04830cee', extranonce2: slot.prefix + share.extranonce2, extranonce2Size: 4 },
      { version: BLOCK_881423.version, nonce: BLOCK_881423.nonce },
    );
    expect(ref.header.equals(verdict.built!.header)).toBe(true);
  });

  it('a cached coinbase/merkle root gives the same headers as a full rebuild', () => {
    const cache = new CoinbaseRootCache(2);
    const book = new JobBook();
    const first = checkShare(ctx(book, { rootCache: cache }), share);
    expect(first.ok && first.built!.header.toString('hex')).toBe(BLOCK_881423.headerHex);
    // Same extranonce2, other nonces: served from the cache, checked against a full rebuild without it.
    for (const nonce of ['00000001', 'ff05fb03', '12345678']) {
      const cached = checkShare(ctx(book, { rootCache: cache, difficulty: 2 ** -40 }), { ...share, nonce });
      const full = checkShare(ctx(new JobBook(), { difficulty: 2 ** -40 }), { ...share, nonce });
      expect(cached.ok && full.ok).toBe(true);
      if (cached.ok && full.ok) {
        expect(cached.built!.header.equals(full.built!.header)).toBe(true);
        expect(cached.built!.hash.equals(full.built!.hash)).toBe(true);
        expect(cached.built!.coinbase.equals(full.built!.coinbase)).toBe(true);
      }
    }
    // Another extranonce2 is not confused with the cached one.
    const other = checkShare(ctx(book, { rootCache: cache, difficulty: 2 ** -40 }), { ...share, extranonce2: '0cf1ae' });
    expect(other.ok && other.built!.header.subarray(36, 68).equals(Buffer.from(BLOCK_881423.headerHex, 'hex').subarray(36, 68))).toBe(false);
  });

  it('copies coinbase/header/hash into the verdict only for forwarded shares (or when asked), never aliasing scratch', () => {
    const book = new JobBook();
    // The real block meets the upstream target: forwarded, so built even without keepBuilt.
    const forwarded = checkShare(ctx(book, { keepBuilt: false }), share);
    expect(forwarded.ok && forwarded.meetsUpstream && forwarded.built?.header.toString('hex')).toBe(BLOCK_881423.headerHex);
    // Other nonces at a tiny difficulty: accepted, not forwarded, nothing built.
    const plain = checkShare(ctx(book, { keepBuilt: false, difficulty: 2 ** -40 }), { ...share, nonce: '00000001' });
    expect(plain.ok && !plain.meetsUpstream && plain.built).toBe(null);
    // Verdicts kept across later checks keep their own bytes.
    const a = checkShare(ctx(book, { difficulty: 2 ** -40 }), { ...share, nonce: '00000002' });
    const aHeader = a.ok ? Buffer.from(a.built!.header) : null;
    const b = checkShare(ctx(book, { difficulty: 2 ** -40 }), { ...share, nonce: '00000003', extranonce2: '0cf1ae' });
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(a.built!.header.equals(aHeader!)).toBe(true);
      expect(a.built!.header.equals(b.built!.header)).toBe(false);
      expect(a.built!.coinbase.equals(b.built!.coinbase)).toBe(false);
      expect(Buffer.from(Block.fromBuffer(a.built!.header).getHash()).equals(a.built!.hash)).toBe(true);
    }
  });

  it('gives each failure its reason', () => {
    const book = new JobBook();
    expect(checkShare(ctx(book), share).ok).toBe(true);
    expect(checkShare(ctx(book), share)).toMatchObject({ ok: false, reason: 'duplicate' });
    const fresh = () => new JobBook();
    expect(checkShare(ctx(fresh(), { job: undefined }), share)).toMatchObject({ reason: 'job-not-found' });
    expect(checkShare(ctx(fresh(), { jobKnown: false }), share)).toMatchObject({ reason: 'job-not-found' });
    expect(checkShare(ctx(fresh()), { ...share, extranonce2: '0cf1' })).toMatchObject({ reason: 'bad-extranonce2' });
    expect(checkShare(ctx(fresh()), { ...share, ntime: '679ac168' })).toMatchObject({ reason: 'ntime-out-of-range' });
    expect(checkShare(ctx(fresh()), { ...share, ntime: '679ae000' })).toMatchObject({ reason: 'ntime-out-of-range' });
    expect(checkShare(ctx(fresh()), { ...share, versionBits: '40000000' })).toMatchObject({ reason: 'bad-version-bits' });
    expect(checkShare(ctx(fresh(), { versionMask: 0 }), share)).toMatchObject({ reason: 'bad-version-bits' });
    // Another nonce: a valid header whose hash is far above a difficulty-2^40 target.
    expect(checkShare(ctx(fresh(), { difficulty: 2 ** 40 }), { ...share, nonce: '00000000' })).toMatchObject({
      reason: 'low-difficulty',
    });
    const stale = fresh();
    const c = ctx(stale);
    stale.markSpaceStale('pool-0');
    expect(checkShare(c, share)).toMatchObject({ reason: 'stale' });
  });
});

describe('FastHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const buckets = [0.001, 0.005, 0.01];
    const fast = new FastHistogram('x_seconds', 'help text', buckets);
    const fastRegistry = new Registry();
    fastRegistry.registerMetric(fast as unknown as Metric);
    const refRegistry = new Registry();
    const ref = new Histogram({ name: 'x_seconds', help: 'help text', buckets, registers: [refRegistry] });
    for (const v of [0.0005, 0.001, 0.003, 0.007, 0.02, 0.0001, 5]) {
      fast.observe(v);
      ref.observe(v);
    }
    expect(await fastRegistry.metrics()).toBe(await refRegistry.metrics());
    expect(await fastRegistry.metrics()).toContain('x_seconds_bucket{le="0.005"} 4');
    fastRegistry.resetMetrics();
    expect(await fastRegistry.metrics()).toContain('x_seconds_bucket{le="+Inf"} 0\nx_seconds_sum 0\nx_seconds_count 0');
  });

  it('refuses buckets that do not increase', () => {
    expect(() => new FastHistogram('y', 'h', [0.1, 0.1])).toThrow(/increase/);
  });
});
