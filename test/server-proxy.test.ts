// Proxy end to end on loopback: scripted pool (verifies shares with bitcoinjs-lib) <- StratumUpstream <- MinerServer
// <- three in-test miners brute-forcing low-difficulty shares with node:crypto.
import { afterEach, describe, expect, it } from 'vitest';
import type { MinerServerOptions } from '../src/server/miner-server.js';
import { StatusHttpServer } from '../src/server/http.js';
import { startProxyRig, type ProxyRig } from './support/proxy-rig.js';
import type { ScriptedPoolOptions } from './support/scripted-pool.js';
import { TestMiner, targetFor } from './support/server-miner.js';
import { waitUntil, within } from './support/wait-until.js';

const POOL_DIFF = 2 ** -20; // about 1 hash in 4096 meets the pool's target
const MINER_DIFF = 2 ** -26; // about 1 in 64 meets the session's

interface Rig extends ProxyRig {
  miners: TestMiner[];
}

let rig: Rig | undefined;
const extraClosers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of extraClosers.splice(0)) await c();
  if (!rig) return;
  for (const m of rig.miners) m.close();
  await rig.close();
  rig = undefined;
});

async function setup(
  opts: { pool?: ScriptedPoolOptions; pools?: number; server?: Partial<MinerServerOptions>; upstreamConnections?: number } = {},
): Promise<Rig> {
  const proxy = await startProxyRig({
    minerDifficulty: MINER_DIFF,
    pool: { difficulty: POOL_DIFF, ...opts.pool },
    pools: opts.pools,
    poolPassword: 'pool-secret',
    upstream: {
      maxConnections: opts.upstreamConnections ?? 1,
      manager: { backoff: { initialMs: 30, maxMs: 100 }, failoverAfterFailures: 1, fallbackTimeMs: 0 },
    },
    server: { minerPassword: 'letmein', submitRatePerSecond: 100_000, ...opts.server },
  });
  rig = { ...proxy, miners: [] };
  return rig;
}

async function miner(r: Rig, opts: { handshake?: boolean; versionMask?: number; extranonceSubscribe?: boolean } = {}) {
  const m = await TestMiner.connect(r.port);
  r.miners.push(m);
  if (opts.extranonceSubscribe) await m.request('mining.extranonce.subscribe', []);
  if (opts.handshake !== false) await m.handshake('worker', 'letmein', { versionMask: opts.versionMask });
  return m;
}

describe('proxy end to end', () => {
  it('three miners share one upstream connection; every forwarded share is valid upstream and unique', async () => {
    const r = await setup();
    const miners = [await miner(r), await miner(r, { versionMask: 0x1fffe000 }), await miner(r)];
    expect(r.pools[0]!.openConnections.length).toBe(1);
    const en1s = miners.map((m) => m.extranonce1);
    expect(new Set(en1s).size).toBe(3);
    const upstreamEn1 = r.pools[0]!.openConnections[0]!.session!.extranonce1;
    for (const m of miners) {
      expect(m.extranonce1.startsWith(upstreamEn1)).toBe(true);
      expect(m.extranonce1.length).toBe(upstreamEn1.length + 8); // 4-byte prefix: upstream extranonce2_size 8 > 7
      expect(m.extranonce2Size).toBe(4);
      expect(m.job!.difficulty).toBe(MINER_DIFF);
    }

    const poolTarget = targetFor(POOL_DIFF);
    let expectedForwards = 0;
    let submitted = 0;
    let bestHash = 1n << 256n;
    await Promise.all(
      miners.map(async (m, i) => {
        let nonce = 0;
        let qualifying = 0;
        // Every miner searches the SAME extranonce2 and nonces: only the server's prefixes keep them apart.
        while (qualifying < 2) {
          const found = m.find({ startNonce: nonce, ...(i === 1 ? { versionBits: 0x00002000 } : {}) });
          nonce = found.nextNonce;
          const reply = await m.submit(found.params);
          expect(reply.error).toBeNull();
          expect(reply.result).toBe(true);
          submitted++;
          if (found.hashValue < bestHash) bestHash = found.hashValue;
          if (found.hashValue <= poolTarget) qualifying++;
        }
        expectedForwards += qualifying;
      }),
    );
    const pool = r.pools[0]!;
    await waitUntil(() => pool.shares.length >= expectedForwards && r.server.stats.pendingUpstream === 0, 'forwarded shares');
    // Only the qualifying shares went upstream, and the pool (bitcoinjs-lib) accepted each of them.
    expect(pool.shares.length).toBe(expectedForwards);
    expect(pool.shares.every((s) => s.accepted)).toBe(true);
    const keys = pool.shares.map((s) => `${s.params[2]}/${s.params[4]}`);
    expect(new Set(keys).size).toBe(keys.length);
    // The upstream extranonce2 is prefix || miner extranonce2: the prefixes are the miners' extranonce1 tails.
    const prefixes = new Set(pool.shares.map((s) => String(s.params[2]).slice(0, 8)));
    for (const p of prefixes) expect(en1s.map((e) => e.slice(upstreamEn1.length))).toContain(p);
    expect(pool.shares.some((s) => s.params[5] === '00002000')).toBe(true);

    const stats = r.server.stats;
    expect(stats.accepted).toBe(submitted);
    expect(stats.forwarded).toBe(expectedForwards);
    expect(stats.upstreamAccepted).toBe(expectedForwards);
    expect(stats.rejected).toBe(0);
    expect(stats.blocksFound).toBe(0); // the pool's nBits (mainnet-like) is far out of reach
    const bestDifficulty = Number((targetFor(1) << 64n) / bestHash) / 2 ** 64;
    expect(stats.bestShareDifficulty / bestDifficulty).toBeCloseTo(1, 9);

    // /status and /metrics over real HTTP.
    const http = new StatusHttpServer({ host: '127.0.0.1', port: 0, status: (limit) => r.server.status(Date.now(), limit), registry: r.server.metrics.registry });
    const addr = await http.listen();
    extraClosers.push(() => http.close());
    const status = (await (await fetch(`http://127.0.0.1:${addr.port}/status`)).json()) as any;
    expect(status.connections).toBe(3);
    expect(status.upstream.state).toBe('connected');
    expect(status.upstream.accepted).toBe(expectedForwards);
    expect(status.stats.shares.accepted).toBe(submitted);
    expect(status.miners).toHaveLength(3);
    expect(status.miners.every((mm: any) => mm.hashrate['1m'] > 0 && mm.worker === 'worker')).toBe(true);
    const body = JSON.stringify(status);
    expect(body).not.toContain('pool-secret');
    expect(body).not.toContain('letmein');
    const metrics = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
    expect(metrics).toContain(`mesos_miner_server_shares_total{result="accepted",reason=""} ${submitted}`);
    expect(metrics).toContain(`mesos_miner_server_upstream_shares_total{result="accepted"} ${expectedForwards}`);
    expect(metrics).toContain('mesos_miner_server_connections 3');
    expect((await fetch(`http://127.0.0.1:${addr.port}/nope`)).status).toBe(404);
    const limited = (await (await fetch(`http://127.0.0.1:${addr.port}/status?miners=1`)).json()) as any;
    expect(limited.miners).toHaveLength(1);
    expect(limited.minersShown).toBe(1);
    expect(limited.connections).toBe(3);
    expect((await fetch(`http://127.0.0.1:${addr.port}/status?miners=-1`)).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${addr.port}/status`, { method: 'POST' })).status).toBe(405);
  });

  it("counts a share the pool accepted that meets its job's network target (nBits) as a block found", async () => {
    // Network difficulty 2^-18 (nBits 1f03fffc, target 0x03fffc << 224): one share in four at the pool's 2^-20.
    const blockTarget = 0x03fffcn << 224n;
    const r = await setup({ pool: { nbits: 0x1f03fffc } });
    const m = await miner(r);
    let nonce = 0;
    let forwarded = 0;
    let blocks = 0;
    for (let i = 0; i < 200 && (blocks === 0 || blocks === forwarded); i++) {
      const found = m.find({ startNonce: nonce, target: targetFor(POOL_DIFF) });
      nonce = found.nextNonce;
      expect((await m.submit(found.params)).result).toBe(true);
      forwarded++;
      if (found.hashValue <= blockTarget) blocks++;
    }
    expect(blocks).toBeGreaterThan(0);
    expect(forwarded).toBeGreaterThan(blocks);
    const pool = r.pools[0]!;
    await waitUntil(() => pool.shares.length === forwarded && r.server.stats.pendingUpstream === 0, 'every forwarded share answered');
    expect(pool.shares.every((s) => s.accepted)).toBe(true);
    expect(r.server.stats.blocksFound).toBe(blocks);
    expect(r.upstream.status().blocks).toBe(blocks);
  });

  it('answers each share error with its standard code', async () => {
    const r = await setup();
    const m = await miner(r, { handshake: false });
    // 25: not subscribed yet.
    expect((await m.submit(['worker', '1', '00000000', '00000000', '00000000'])).error).toEqual([25, 'Not subscribed', null]);
    // 24: wrong password, then a worker that never authorized.
    const bad = await m.request('mining.authorize', ['worker', 'wrong']);
    expect((bad.error as unknown[])[0]).toBe(24);
    await m.handshake('worker', 'letmein', { versionMask: 0x00ffe000 });
    expect(m.versionMask).toBe(0x00ffe000); // intersection of ours and the pool's 1fffe000
    const job = m.job!;
    const good = m.find();
    expect(((await m.submit(['intruder', ...good.params.slice(1)])).error as unknown[])[0]).toBe(24);
    // Accepted, then 22 for the same share again.
    expect((await m.submit(good.params)).result).toBe(true);
    expect(((await m.submit(good.params)).error as unknown[])[0]).toBe(22);
    // 23: a share that misses the session target.
    const low = m.find({ above: targetFor(MINER_DIFF) });
    expect(((await m.submit(low.params)).error as unknown[])[0]).toBe(23);
    // 21: unknown job.
    expect(((await m.submit(['worker', 'nope', '00000000', job.ntimeHex, '00000000'])).error as unknown[])[0]).toBe(21);
    // 20: wrong extranonce2 size, ntime before the job, version bits outside the mask, malformed params.
    const p = good.params;
    const e20 = async (params: unknown[], re: RegExp) => {
      const reply = await m.submit(params);
      expect((reply.error as unknown[])[0]).toBe(20);
      expect(String((reply.error as unknown[])[1])).toMatch(re);
    };
    await e20(['worker', p[1], '0000', p[3], p[4]], /extranonce2 must be 4 bytes/);
    const early = (parseInt(job.ntimeHex, 16) - 1).toString(16).padStart(8, '0');
    await e20(['worker', p[1], '00000001', early, p[4]], /ntime/);
    await e20(['worker', p[1], '00000001', p[3], p[4], '10000000'], /outside the allowed mask/);
    await e20(['worker', p[1], 'xyz', p[3], p[4]], /extranonce2 must be an even-length hex/);
    await e20(['worker'], /at least 5 params/);
    // 21 for a job made stale by a clean job upstream.
    r.pools[0]!.sendJob({ clean: true });
    await m.waitFor(() => m.job !== job, 'new job');
    const stale = await m.submit(['worker', job.id, '00000002', job.ntimeHex, '00000000']);
    expect(stale.error).toEqual([21, `Stale job: ${job.id}`, null]);
    // Still mining fine on the new job.
    expect((await m.submit(m.find().params)).result).toBe(true);
    const reasons = r.server.stats.rejectedByReason;
    expect(reasons).toMatchObject({ 'not-subscribed': 1, unauthorized: 1, duplicate: 1, 'low-difficulty': 1, stale: 1 });
    expect(reasons['job-not-found']).toBe(1);
  });

  it('vardiff raises a fast miner towards the target but never above the upstream difficulty', async () => {
    const r = await setup({
      server: {
        initialDifficulty: 2 ** -28,
        vardiff: { minDifficulty: 2 ** -30, maxDifficulty: 1, targetSeconds: 5, retargetShares: 4 },
      },
    });
    const m = await miner(r);
    expect(m.job!.difficulty).toBe(2 ** -28);
    let nonce = 0;
    for (let i = 0; i < 60 && m.difficulty < POOL_DIFF; i++) {
      const found = m.find({ startNonce: nonce });
      nonce = found.nextNonce;
      const reply = await m.submit(found.params);
      expect(reply.result).toBe(true);
    }
    // Raised x4 per step: 2^-28 -> 2^-26 -> 2^-24 -> 2^-22 -> 2^-20 (the pool's difficulty, the ceiling).
    expect(m.difficulty).toBe(POOL_DIFF);
    const diffs = m.notifications.filter((n) => n.method === 'mining.set_difficulty').map((n) => n.params[0]);
    expect(diffs).toEqual([2 ** -28, 2 ** -26, 2 ** -24, 2 ** -22, 2 ** -20]);
    // Each change came with a re-announced job so it applies at once: the latest job carries the new difficulty.
    expect(m.job!.difficulty).toBe(POOL_DIFF);
    for (let i = 0; i < 8; i++) {
      const found = m.find({ startNonce: nonce });
      nonce = found.nextNonce;
      expect((await m.submit(found.params)).result).toBe(true);
    }
    expect(m.difficulty).toBe(POOL_DIFF);
    // Lowering the upstream difficulty pulls the miner down with the next job.
    r.pools[0]!.setDifficulty(2 ** -22);
    r.pools[0]!.sendJob({ clean: true });
    await m.waitFor(() => m.difficulty === 2 ** -22 && m.job!.difficulty === 2 ** -22, 'lower difficulty');
  });
});

describe('upstream changes', () => {
  it('a miner that subscribes before the pool is reachable waits and then gets work', async () => {
    const r = await setup();
    const pool = r.pools[0]!;
    const port = pool.port;
    await pool.stop();
    await waitUntil(() => r.upstream.status().state === 'disconnected', 'upstream down');
    const m = await TestMiner.connect(r.port);
    r.miners.push(m);
    const handshake = m.handshake('worker', 'letmein');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(m.job).toBeUndefined();
    await pool.start(port);
    await handshake;
    expect(m.extranonce1.startsWith(pool.openConnections[0]!.session!.extranonce1)).toBe(true);
    expect((await m.submit(m.find().params)).result).toBe(true);
  });

  it('reconnects after the pool drops the connection; miners get new work and keep mining', async () => {
    const r = await setup();
    const m = await miner(r);
    const before = m.job!;
    const en1 = m.extranonce1;
    r.pools[0]!.dropAll();
    await m.waitFor(() => m.job !== before && m.job!.clean, 'job after reconnect', 5000);
    expect(r.upstream.status().reconnects).toBeGreaterThanOrEqual(1);
    expect(m.extranonce1).toBe(en1); // the pool resumed our session: same extranonce, nobody re-assigned
    const stale = await m.submit(m.find({ job: before }).params);
    expect((stale.error as unknown[])[0]).toBe(21);
    let nonce = 0;
    const poolTarget = targetFor(POOL_DIFF);
    for (;;) {
      const found = m.find({ startNonce: nonce });
      nonce = found.nextNonce;
      expect((await m.submit(found.params)).result).toBe(true);
      if (found.hashValue <= poolTarget) break;
    }
    await waitUntil(() => r.pools[0]!.shares.length === 1, 'forwarded share after reconnect');
    expect(r.pools[0]!.shares[0]!.accepted).toBe(true);
  });

  it('set_extranonce upstream: subscribed miners get the new extranonce, others are sent away', async () => {
    const r = await setup();
    const follower = await miner(r, { extranonceSubscribe: true });
    const other = await miner(r);
    r.pools[0]!.setExtranonce('0badf00d', 8);
    r.pools[0]!.sendJob({ clean: true });
    await follower.waitFor(() => follower.extranonce1.startsWith('0badf00d'), 'set_extranonce');
    await other.waitFor(() => other.closed, 'non-subscribed miner disconnected');
    expect(other.notifications.some((n) => n.method === 'client.reconnect')).toBe(true);
    await follower.waitFor(() => follower.job?.clean === true && follower.notifications.at(-1)?.method === 'mining.notify', 'job');
    const poolTarget = targetFor(POOL_DIFF);
    let nonce = 0;
    for (;;) {
      const found = follower.find({ startNonce: nonce });
      nonce = found.nextNonce;
      expect((await follower.submit(found.params)).result).toBe(true);
      if (found.hashValue <= poolTarget) break;
    }
    await waitUntil(() => r.pools[0]!.shares.length === 1, 'forwarded share');
    expect(r.pools[0]!.shares[0]!.accepted).toBe(true);
  });

  it('fails over to the backup pool when the primary goes away', async () => {
    const r = await setup({ pools: 2 });
    const m = await miner(r, { extranonceSubscribe: true });
    expect(r.pools[1]!.accepted).toBe(0);
    expect(r.server.status().upstream.failovers).toBe(0);
    await r.pools[0]!.stop();
    // Connected is not yet subscribed: wait for the backup pool's session.
    const backupEn1 = await waitUntil(() => r.pools[1]!.openConnections[0]?.session?.extranonce1, 'a session on the backup pool', 5000);
    await m.waitFor(() => m.extranonce1.startsWith(backupEn1) && m.job !== undefined && m.job.clean, 'work from the backup pool', 5000);
    expect(r.server.status().upstream).toMatchObject({ endpoint: r.pools[1]!.url, failovers: 1 });
    expect((await m.submit(m.find().params)).result).toBe(true);
  });

  it('opens another upstream connection when prefixes run out, and fails clearly at the limit', async () => {
    const r = await setup({ server: { maxSessionsPerSpace: 2 }, upstreamConnections: 2 });
    const a = await miner(r);
    const b = await miner(r);
    expect(r.pools[0]!.openConnections.length).toBe(1);
    const c = await miner(r); // third: a second upstream connection
    expect(r.pools[0]!.openConnections.length).toBe(2);
    const second = r.pools[0]!.openConnections.find((pc) => c.extranonce1.startsWith(pc.session!.extranonce1));
    expect(second).toBeDefined();
    const poolTarget = targetFor(POOL_DIFF);
    let nonce = 0;
    for (;;) {
      const found = c.find({ startNonce: nonce });
      nonce = found.nextNonce;
      expect((await c.submit(found.params)).result).toBe(true);
      if (found.hashValue <= poolTarget) break;
    }
    await waitUntil(() => r.pools[0]!.shares.length === 1, 'share on the second connection');
    expect(r.pools[0]!.shares[0]).toMatchObject({ conn: second!.id, accepted: true });
    await miner(r); // fourth fits on the second connection
    const e = await TestMiner.connect(r.port);
    r.miners.push(e);
    const sub = await e.request('mining.subscribe', ['x']);
    expect(sub.error).toEqual([20, expect.stringMatching(/no free extranonce prefix: upstream connection limit reached/), null]);
    expect(a.closed || b.closed).toBe(false);
  });
});

describe('graceful shutdown', () => {
  async function forwardOne(r: Rig, m: TestMiner): Promise<void> {
    const poolTarget = targetFor(POOL_DIFF);
    let nonce = 0;
    for (;;) {
      const found = m.find({ startNonce: nonce });
      nonce = found.nextNonce;
      expect((await m.submit(found.params)).result).toBe(true);
      if (found.hashValue <= poolTarget) return;
    }
  }

  it('stops accepting miners, waits for the share in flight upstream, then closes sessions', async () => {
    const r = await setup({ pool: { answerSubmits: false } });
    const m = await miner(r);
    await forwardOne(r, m);
    await waitUntil(() => r.pools[0]!.shares.length === 1, 'share reached the pool');
    expect(r.server.stats.pendingUpstream).toBe(1);
    // A grace period far longer than the test: closing can only end early because the pool answered.
    let closed = false;
    const closing = r.server.close(120_000).then(() => (closed = true));
    // No new miners while draining.
    await expect(TestMiner.connect(r.port)).rejects.toThrow(/ECONNREFUSED/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    // The pool answers late: the wait ends as soon as it does.
    const conn = r.pools[0]!.openConnections[0]!;
    const submit = r.pools[0]!.received('mining.submit')[0]!.msg;
    r.pools[0]!.send({ id: submit.id, result: true, error: null }, conn);
    await within(closing, 10_000, 'close() to end once the pool answered');
    expect(r.server.stats.upstreamAccepted).toBe(1);
    await m.waitFor(() => m.closed, 'miner closed');
  });

  it('gives up on an upstream that never answers after the grace period', async () => {
    const r = await setup({ pool: { answerSubmits: false } });
    const m = await miner(r);
    await forwardOne(r, m);
    await waitUntil(() => r.server.stats.pendingUpstream === 1, 'share in flight');
    const started = Date.now();
    await r.server.close(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await m.waitFor(() => m.closed, 'miner closed');
  });
});

