// The miner task of the design: Miners pointed at the miner server (`serve`), which proxies one upstream pool
// connection. The upstream scripted pool verifies every forwarded share with bitcoinjs-lib.
import { afterEach, describe, expect, it } from 'vitest';
import { Miner } from '../src/miner/miner.js';
import { startProxyRig } from './support/proxy-rig.js';
import { waitUntil } from './support/wait-until.js';

const POOL_DIFF = 2 ** -14;
const MINER_DIFF = 2 ** -16; // a quarter of the miners' shares also meet the pool's target

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function rig() {
  const proxy = await startProxyRig({
    minerDifficulty: MINER_DIFF,
    pool: { difficulty: POOL_DIFF },
    poolPassword: 'pool-secret',
    upstream: { maxConnections: 1, manager: { backoff: { initialMs: 30, maxMs: 100 }, fallbackTimeMs: 0 } },
    server: { minerPassword: 'letmein', submitRatePerSecond: 100_000 },
  });
  closers.push(() => proxy.close());
  return { pool: proxy.pools[0]!, server: proxy.server, url: proxy.url };
}

async function miner(url: string, worker: string): Promise<Miner> {
  const m = new Miner({
    pools: [{ url, user: worker, password: 'letmein' }],
    threads: 1,
    nonceChunk: 1 << 18,
    fallbackTimeMs: 0,
    poolManager: { backoff: { initialMs: 30, maxMs: 200 } },
  });
  closers.push(() => m.stop(200));
  await m.start();
  return m;
}

describe('mine pointed at serve', () => {
  it('two miners through one upstream connection: shares accepted downstream, valid and unique upstream', async () => {
    const { pool, url } = await rig();
    const a = await miner(url, 'rig.a');
    const b = await miner(url, 'rig.b');
    await waitUntil(
      () => a.status().shares.accepted >= 4 && b.status().shares.accepted >= 4 && pool.shares.filter((s) => s.accepted).length >= 2,
      'shares from both miners, some forwarded upstream',
      20_000,
    );
    await a.stop(1000);
    await b.stop(1000);
    for (const m of [a, b]) {
      const s = m.status().shares;
      expect(s.rejected).toBe(0);
      expect(s.invalid).toBe(0);
      expect(m.status().difficulty).toBe(MINER_DIFF);
    }
    // One upstream connection; every forwarded share passed the pool's independent check and none repeats.
    expect(new Set(pool.shares.map((s) => s.conn)).size).toBe(1);
    expect(pool.shares.filter((s) => !s.accepted)).toEqual([]);
    const keys = pool.shares.map((s) => `${s.params[2]}/${s.params[4]}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('a new block upstream reaches the miners as a clean job; they move to it', async () => {
    const { pool, url } = await rig();
    const m = await miner(url, 'rig.c');
    const jobs: { jobId: string; clean: boolean }[] = [];
    m.on('job', (j) => jobs.push(j));
    await waitUntil(() => m.status().shares.accepted >= 2, 'first shares', 20_000);
    const before = m.status().jobId;
    jobs.length = 0;
    pool.sendJob({ clean: true });
    await waitUntil(() => jobs.some((j) => j.clean && j.jobId !== before), 'the clean job at the miner', 5000);
    const accepted = m.status().shares.accepted;
    await waitUntil(() => m.status().shares.accepted >= accepted + 2, 'shares on the new job', 20_000);
    await m.stop(1000);
    expect(m.status().shares.rejected).toBe(0);
  });
});
