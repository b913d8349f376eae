// The Miner end to end in-process: real KernelPool threads (both kernels) against the scripted pool on 127.0.0.1,
// which verifies every share independently with bitcoinjs-lib. Low share difficulty so shares come in seconds.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KernelPool } from '../src/kernel/pool.js';
import { SUB_BATCH } from '../src/kernel/scanner.js';
import { MAX_QUEUED_SHARES, MAX_SUBMITS_IN_FLIGHT, Miner, type MinerOptions } from '../src/miner/miner.js';
import type { KernelName } from '../src/kernel/types.js';
import { ScriptedPool, type ScriptedPoolOptions } from './support/scripted-pool.js';
import { waitUntil } from './support/wait-until.js';

/** About 65,536 hashes per share: several shares a second per thread even on a loaded machine. */
const DIFF = 2 ** -16;
/** Small kernel calls so job switches and stop() are quick in tests. */
const CHUNK = 1 << 18;

const pools: ScriptedPool[] = [];
const miners: Miner[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(miners.splice(0).map((m) => m.stop(200)));
  for (const p of pools.splice(0)) await p.stop();
});

async function startPool(options: ScriptedPoolOptions = {}): Promise<ScriptedPool> {
  const pool = new ScriptedPool({ difficulty: DIFF, ...options });
  pools.push(pool);
  await pool.start();
  return pool;
}

async function startMiner(urls: string[], options: Partial<MinerOptions> = {}): Promise<Miner> {
  const miner = new Miner({
    pools: urls.map((url) => ({ url, user: 'wallet.test', password: 'x' })),
    threads: 1,
    kernel: 'auto',
    nonceChunk: CHUNK,
    fallbackTimeMs: 0,
    ...options,
    poolManager: {
      backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
      client: { requestTimeoutMs: 2000, submitTimeoutMs: 2000, configureGraceMs: 200 },
      ...options.poolManager,
    },
  });
  miners.push(miner);
  await miner.start();
  return miner;
}

type Entry = { type: string; jobId: string; [k: string]: unknown };

/** Every miner event in order. */
function recordEvents(miner: Miner): Entry[] {
  const log: Entry[] = [];
  miner.on('job', (e) => log.push({ type: 'job', ...e }));
  miner.on('scan', (e) => log.push({ type: 'scan', ...e }));
  miner.on('submit', (e) => log.push({ type: 'submit', jobId: e.jobId }));
  miner.on('share', (e) => log.push({ type: 'share', jobId: e.jobId, status: e.outcome.status }));
  miner.on('stale', (e) => log.push({ type: 'stale', jobId: e.jobId }));
  return log;
}

const acceptedAtPool = (pool: ScriptedPool, jobId?: string) =>
  pool.shares.filter((s) => s.accepted && (jobId === undefined || s.jobId === jobId)).length;

/** found = accepted + rejected + stale + unanswered + invalid + dropped + pending: no candidate disappears. */
function expectHonestCounts(miner: Miner): void {
  const s = miner.status().shares;
  expect(s.found).toBe(s.accepted + s.rejected + s.stale + s.unanswered + s.invalid + s.dropped + s.pending);
  expect(s.invalid).toBe(0);
}

describe.each<KernelName>(['simd8', 'simd', 'scalar'])('Miner with the %s kernel', (kernel) => {
  it('gets shares accepted by the pool (verified by bitcoinjs-lib) and counts them like the pool does', async () => {
    const pool = await startPool();
    // Adaptive kernel-call size (the default): starts at 2^20 and follows each thread's measured speed.
    const miner = await startMiner([pool.url], { kernel, threads: 2, nonceChunk: undefined });
    const scans: { extranonce2: string; startNonce: number; count: number; hashed: number; cancelled: boolean }[] = [];
    miner.on('scan', (e) => scans.push(e));
    expect(miner.kernel).toBe(kernel);
    await waitUntil(() => acceptedAtPool(pool) >= 6, 'six accepted shares', 15_000);
    await miner.stop(1000);
    const s = miner.status();
    expect(pool.shares.filter((r) => !r.accepted)).toEqual([]);
    expect(s.shares.accepted).toBe(acceptedAtPool(pool));
    expect(s.shares.rejected).toBe(0);
    expectHonestCounts(miner);
    // Version rolling was agreed (the pool grants a mask): every share carries the 6th param.
    expect(pool.shares.every((r) => typeof r.params[5] === 'string')).toBe(true);
    // Both threads hashed, and no extranonce2 + nonce pair was ever submitted twice.
    expect(s.perThread.every((t) => t.total > 0)).toBe(true);
    expect(s.hashrate.total).toBe(s.perThread[0].total + s.perThread[1].total);
    const keys = pool.shares.map((r) => `${r.params[2]}/${r.params[4]}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(scans[0].count).toBe(1 << 20);
    expect(scans.every((e) => e.count >= 1 << 16 && e.count <= 1 << 24)).toBe(true);
    expect(new Set(scans.map((e) => e.count)).size).toBeGreaterThan(1);
    // Each header's nonces are scanned from 0 in back-to-back ranges: no overlap, no gap, whatever the call size
    // (a call cut short at the candidate cap is resumed right after what it hashed).
    const byHeader = new Map<string, typeof scans>();
    for (const e of scans) byHeader.set(e.extranonce2, [...(byHeader.get(e.extranonce2) ?? []), e]);
    for (const list of byHeader.values()) {
      let next = 0;
      for (const e of list) {
        expect(e.startNonce).toBe(next);
        next = e.startNonce + e.hashed;
      }
    }
  });
});

describe('Miner: jobs', () => {
  it('clean_jobs: cancels old hashing at the next sub-batch and never submits a share for the old job afterwards', async () => {
    // The kernel pool's live nonce count read just before each cancel(): how far the old scans had got.
    const hashedAtCancel: number[] = [];
    const cancel = KernelPool.prototype.cancel;
    vi.spyOn(KernelPool.prototype, 'cancel').mockImplementation(function (this: KernelPool) {
      hashedAtCancel.push(this.totalHashed());
      cancel.call(this);
    });
    const threads = 2;
    const pool = await startPool();
    // Kernel calls of 4M nonces (~1 s on an idle machine, 10 s seen with every core busy): shares come at the end
    // of a call, so the waits below allow for a few such calls.
    const miner = await startMiner([pool.url], { threads, nonceChunk: 1 << 22 });
    const events = recordEvents(miner);
    await waitUntil(() => acceptedAtPool(pool) >= 3, 'shares for the first job', 30_000);
    const oldJob = miner.status().jobId!;
    let hashedAtSwitch: number | undefined;
    const newJob = pool.sendJob({ clean: true });
    // The miner cancels the old scans, then announces the job, in one synchronous step.
    miner.on('job', (e) => { if (e.jobId === newJob) hashedAtSwitch = hashedAtCancel.at(-1); });
    await waitUntil(() => acceptedAtPool(pool, newJob) >= 3, 'shares for the new job', 30_000);
    await miner.stop(1000);

    const switchAt = events.findIndex((e) => e.type === 'job' && e.jobId === newJob);
    expect(switchAt).toBeGreaterThan(0);
    expect(events[switchAt].clean).toBe(true);
    const after = events.slice(switchAt + 1);
    expect(after.filter((e) => e.type === 'submit' && e.jobId === oldJob)).toEqual([]);
    // Old scans (4M nonces each, ~1 s) were cancelled, not run to the end.
    const oldScansAfter = after.filter((e) => e.type === 'scan' && e.jobId !== newJob);
    expect(oldScansAfter.length).toBeLessThanOrEqual(threads);
    for (const scan of oldScansAfter) {
      // Cancelled part-way, or it had just finished (its whole range, or up to the candidate cap) when the clean
      // job came in.
      if (scan.cancelled) expect(scan.hashed).toBeLessThan(1 << 22);
      else expect(scan.hashed).toBeLessThanOrEqual(1 << 22);
    }
    // How soon, counted in nonces rather than milliseconds (a busy machine stretches time, not work): every scan
    // reported before the switch had ended before it, so the count at cancel() minus their nonces is what the old
    // scans still running had hashed by then; what they report beyond that was hashed after the cancel. Each
    // thread finishes the sub-batch it is in (~10 ms on an idle machine; and may count one more it had hashed
    // when the count was read, as in the kernel pool's own test) and stops.
    const sumHashed = (list: Entry[]) => list.filter((e) => e.type === 'scan').reduce((n, e) => n + (e.hashed as number), 0);
    expect(hashedAtSwitch).toBeDefined();
    const inFlightAtCancel = hashedAtSwitch! - sumHashed(events.slice(0, switchAt));
    expect(inFlightAtCancel).toBeGreaterThanOrEqual(0);
    expect(inFlightAtCancel).toBeLessThanOrEqual(threads * (1 << 22));
    expect(sumHashed(oldScansAfter) - inFlightAtCancel).toBeLessThanOrEqual(threads * 2 * SUB_BATCH);
    // Shares for the old job the pool refused as stale (21) were all sent before the switch.
    const oldSubmits = events.slice(0, switchAt).filter((e) => e.type === 'submit' && e.jobId === oldJob).length;
    expect(pool.shares.filter((r) => r.jobId === oldJob).length).toBeLessThanOrEqual(oldSubmits);
    expect(pool.shares.filter((r) => !r.accepted && r.code !== 21)).toEqual([]);
    expect(miner.status().shares.stale).toBe(
      events.filter((e) => e.type === 'stale').length + events.filter((e) => e.type === 'share' && e.status === 'stale').length,
    );
    expectHonestCounts(miner);
  }, 90_000);

  it('a non-clean job is picked up at the next chunk and shares for the previous job stay valid', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1 });
    const events = recordEvents(miner);
    await waitUntil(() => acceptedAtPool(pool) >= 2, 'first shares', 15_000);
    const next = pool.sendJob({ clean: false });
    await waitUntil(() => acceptedAtPool(pool, next) >= 2, 'shares for the non-clean job', 15_000);
    await miner.stop(1000);
    const job = events.find((e) => e.type === 'job' && e.jobId === next)!;
    expect(job.clean).toBe(false);
    expect(pool.shares.filter((r) => !r.accepted)).toEqual([]);
    expect(miner.status().shares.stale).toBe(0);
    expectHonestCounts(miner);
  });

  it('set_difficulty applies from the next job: shares for it meet the new difficulty, no low-difficulty rejects', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 2 });
    await waitUntil(() => acceptedAtPool(pool) >= 2, 'first shares', 15_000);
    pool.setDifficulty(DIFF * 4);
    await waitUntil(() => miner.status().nextDifficulty === DIFF * 4, 'the new difficulty to reach the miner');
    expect(miner.status().difficulty).toBe(DIFF);
    const next = pool.sendJob({ clean: true });
    await waitUntil(() => acceptedAtPool(pool, next) >= 2, 'shares at the new difficulty', 20_000);
    expect(miner.status().difficulty).toBe(DIFF * 4);
    await miner.stop(1000);
    expect(pool.shares.filter((r) => r.code === 23)).toEqual([]);
  });

  it('set_extranonce: work is rebuilt with the new extranonce1 and shares stay valid', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1, extranonceSubscribe: true });
    const events = recordEvents(miner);
    await waitUntil(() => acceptedAtPool(pool) >= 2, 'first shares', 15_000);
    pool.setExtranonce('c0ffee01', 4);
    await waitUntil(() => events.some((e) => e.type === 'job' && e.extranonce1 === 'c0ffee01'), 'work with the new extranonce1');
    const before = acceptedAtPool(pool);
    await waitUntil(() => acceptedAtPool(pool) >= before + 2, 'shares with the new extranonce1', 15_000);
    await miner.stop(1000);
    expect(events.find((e) => e.type === 'job' && e.extranonce1 === 'c0ffee01')!.clean).toBe(true);
    // Any share for the old extranonce1 would be rejected (its hash no longer matches): none were, except stale 21s.
    expect(pool.shares.filter((r) => !r.accepted && r.code !== 21)).toEqual([]);
  });

  it('without version rolling, shares carry no version bits', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1, kernel: 'scalar', versionRolling: false });
    await waitUntil(() => acceptedAtPool(pool) >= 2, 'shares', 15_000);
    await miner.stop(1000);
    expect(pool.received('mining.configure')).toEqual([]);
    expect(pool.shares.every((r) => r.accepted && r.params.length === 5)).toBe(true);
  });
});

describe('Miner: connections', () => {
  it('pool closes the socket mid-job: reconnects and keeps getting shares accepted', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1 });
    await waitUntil(() => acceptedAtPool(pool) >= 2, 'first shares', 15_000);
    pool.dropAll();
    const before = acceptedAtPool(pool);
    await waitUntil(() => pool.accepted >= 2 && acceptedAtPool(pool) >= before + 2, 'shares after the reconnect', 15_000);
    await miner.stop(1000);
    expect(pool.shares.filter((r) => !r.accepted && r.code !== 21)).toEqual([]);
    expectHonestCounts(miner);
  });

  it('shares found while disconnected are queued and submitted when the session resumes', async () => {
    const pool = await startPool();
    const port = pool.port;
    const miner = await startMiner([pool.url], { threads: 2, poolManager: { backoff: { initialMs: 600, maxMs: 600, jitter: 0 } } });
    const queued: string[] = [];
    miner.on('submit', (e) => {
      if (!miner.status().connected) queued.push(e.share.nonce);
    });
    await waitUntil(() => acceptedAtPool(pool) >= 1, 'first share', 15_000);
    await pool.stop();
    await waitUntil(() => queued.length >= 1, 'a share found while disconnected', 15_000);
    // The pool resumes the session and keeps its jobs (a clean job on authorize would make the queue stale).
    pool.options.jobOnAuthorize = false;
    await pool.start(port);
    await waitUntil(() => pool.shares.some((r) => queued.includes(String(r.params[4])) && r.accepted), 'a queued share accepted', 15_000);
    expect(pool.shares.filter((r) => !r.accepted)).toEqual([]);
    await miner.stop(1000);
    expectHonestCounts(miner);
  });

  it('client.reconnect: follows it and keeps mining', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1 });
    await waitUntil(() => acceptedAtPool(pool) >= 1, 'first share', 15_000);
    pool.notify('client.reconnect', ['127.0.0.1', pool.port, 0]);
    await waitUntil(() => pool.accepted >= 2, 'the reconnect');
    const before = acceptedAtPool(pool);
    await waitUntil(() => acceptedAtPool(pool) >= before + 2, 'shares after client.reconnect', 15_000);
    await miner.stop(1000);
  });

  it('first pool down at start: fails over to the backup and mines there', async () => {
    const down = await startPool();
    const downUrl = down.url;
    await down.stop();
    const backup = await startPool();
    const miner = await startMiner([downUrl, backup.url], { threads: 1 });
    await waitUntil(() => acceptedAtPool(backup) >= 2, 'shares on the backup pool', 15_000);
    expect(miner.status().pool).toEqual({ url: backup.url, poolIndex: 1 });
    await miner.stop(1000);
  });

  it('bad input from the pool (garbage, wrong shapes, broken notify, bad difficulty, unknown method) does not stop mining', async () => {
    const pool = await startPool();
    const miner = await startMiner([pool.url], { threads: 1 });
    await waitUntil(() => acceptedAtPool(pool) >= 1, 'first share', 15_000);
    pool.notify('mining.notify', ['only', 'three', 'fields']);
    pool.notify('mining.set_difficulty', [-1]);
    pool.notify('mining.set_difficulty', ['lots']);
    pool.notify('mining.unheard_of', [1, 2, 3]);
    pool.send({ id: 7, method: 42, params: 'x' });
    pool.send({ just: 'an object' });
    let before = acceptedAtPool(pool);
    await waitUntil(() => acceptedAtPool(pool) >= before + 2, 'shares after bad JSON-RPC', 15_000);
    expect(miner.status().difficulty).toBe(DIFF);
    // Bytes that are not JSON: the connection is dropped and retried; mining goes on.
    pool.sendRaw('\x00\xff not json at all }{\n');
    await waitUntil(() => pool.accepted >= 2, 'a reconnect after garbage');
    before = acceptedAtPool(pool);
    await waitUntil(() => acceptedAtPool(pool) >= before + 2, 'shares after garbage', 15_000);
    await miner.stop(1000);
    expect(pool.shares.filter((r) => !r.accepted && r.code !== 21)).toEqual([]);
  });
});

describe('Miner: a pool difficulty so low that every hash is a share', () => {
  it('keeps at most MAX_SUBMITS_IN_FLIGHT shares unanswered and a bounded queue; the rest are counted as dropped', async () => {
    const pool = await startPool({ difficulty: 1e-10, answerSubmits: false });
    // Unanswered shares are not given up during the test: what is in flight stays in flight.
    const client = { requestTimeoutMs: 2000, submitTimeoutMs: 60_000, configureGraceMs: 200 };
    const miner = await startMiner([pool.url], { threads: 1, nonceChunk: undefined, poolManager: { client } });
    await waitUntil(() => miner.status().shares.dropped >= 1000, 'a thousand dropped shares', 30_000, 20);
    expect(pool.shares.length).toBeLessThanOrEqual(MAX_SUBMITS_IN_FLIGHT);
    expect(miner.status().shares.pending).toBeLessThanOrEqual(MAX_SUBMITS_IN_FLIGHT + MAX_QUEUED_SHARES);
    await miner.stop(100);
    expect(miner.status().shares.pending).toBe(0);
    expectHonestCounts(miner);
  });

  it('sends the shares at the submit rate and keeps hashing at full kernel calls (the local target rises)', async () => {
    const pool = await startPool({ difficulty: 1e-10 });
    const miner = await startMiner([pool.url], { threads: 1, nonceChunk: 1 << 16, submitRatePerSecond: 50 });
    const scans: { count: number; hashed: number; cancelled: boolean }[] = [];
    miner.on('scan', (e) => scans.push(e));
    // A number of kernel calls, not only of shares: the shares come at 50 a second whatever the machine does, the
    // calls as fast as it hashes. The first dozen or so are cut short at the candidate cap while the queue fills
    // with ever better shares (64, 64, 99, 236... nonces); a busy machine makes only a few whole calls in the 2 s
    // that 100 shares take.
    await waitUntil(() => acceptedAtPool(pool) >= 100 && scans.length >= 60, 'a hundred accepted shares and 60 kernel calls', 30_000, 20);
    await miner.stop(100);
    expect(pool.shares.filter((r) => !r.accepted)).toEqual([]);
    expectHonestCounts(miner);
    // Cut short at the candidate cap while the queue had room; whole calls once it was full of better shares (and
    // after each time it found room again, a few short ones to fill it: 64, 1228, 23894 nonces...). Counted in
    // nonces: without the local target every call would end after 64 of its 65,536.
    expect(scans.some((e) => !e.cancelled && e.hashed < e.count)).toBe(true);
    const nonces = (list: typeof scans) => list.reduce((n, e) => n + e.hashed, 0);
    expect(nonces(scans.filter((e) => e.hashed === e.count))).toBeGreaterThan(0.75 * nonces(scans));
  });
});

describe('Miner: validation', () => {
  it('refuses bad options before starting anything', () => {
    const pools = [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'w' }];
    expect(() => new Miner({ pools, threads: 0 })).toThrow(/threads must be an integer/);
    expect(() => new Miner({ pools: [] })).toThrow(/at least one pool/);
    expect(() => new Miner({ pools: [{ url: 'http://x:1', user: 'w' }] })).toThrow(/unsupported scheme/);
    expect(() => new Miner({ pools: [{ url: 'stratum+tcp://x:1', user: '' }] })).toThrow(/user/);
    expect(() => new Miner({ pools, nonceChunk: 0 })).toThrow(/nonceChunk/);
    expect(() => new Miner({ pools, submitRatePerSecond: 0 })).toThrow(/submitRatePerSecond must be a positive number/);
  });

  it('start() twice is an error; stop() before start() is harmless', async () => {
    const idle = new Miner({ pools: [{ url: 'stratum+tcp://127.0.0.1:1', user: 'w' }], threads: 1 });
    await idle.stop();
    const pool = await startPool();
    const miner = await startMiner([pool.url]);
    await expect(miner.start()).rejects.toThrow(/called twice/);
  });
});
