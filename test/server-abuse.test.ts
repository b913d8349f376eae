// Bad input of every kind against a live miner server: it must stay up and keep serving the well-behaved miner.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MinerServerOptions } from '../src/server/miner-server.js';
import { startProxyRig } from './support/proxy-rig.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

const MINER_DIFF = 2 ** -26;
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(server: Partial<MinerServerOptions> = {}) {
  const proxy = await startProxyRig({
    minerDifficulty: MINER_DIFF,
    pool: { difficulty: 2 ** -20 },
    upstream: { manager: { backoff: { initialMs: 30, maxMs: 100 } } },
    server,
  });
  cleanup.push(() => proxy.close(100));
  const { pools: [pool], server: s, port } = proxy;
  const good = await TestMiner.connect(port);
  cleanup.push(async () => good.close());
  await good.handshake();
  return { pool, server: s, port, good };
}

function raw(port: number): Promise<Socket & { received: string; closedAt?: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }) as Socket & { received: string; closedAt?: number };
    s.received = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (s.received += d));
    s.on('error', () => {});
    s.on('close', () => (s.closedAt = Date.now()));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    cleanup.push(async () => void s.destroy());
  });
}

/** The well-behaved miner still gets its shares accepted. */
async function stillMining(good: TestMiner, startNonce: number): Promise<void> {
  const found = good.find({ startNonce });
  expect((await good.submit(found.params)).result).toBe(true);
}

describe('miner server under bad input', () => {
  it('answers garbage and wrong shapes with errors, then drops a peer that keeps sending them', async () => {
    const { server, port, good } = await setup({ maxProtocolErrors: 5 });
    const s = await raw(port);
    s.write('hello\n{"id":1}\n[1,2,3]\n{"id":2,"method":"mining.subscribe","params":{}}\n');
    s.write('{"id":3,"method":"mining.nope","params":[]}\n\u0000\u00ff\n');
    await waitUntil(() => s.closedAt !== undefined, 'garbage peer dropped');
    const replies = s.received.trim().split('\n').map((l) => JSON.parse(l));
    expect(replies.length).toBeGreaterThanOrEqual(4);
    expect(replies.every((r) => r.error !== null)).toBe(true);
    expect(replies.find((r) => r.id === 3).error[0]).toBe(-32601);
    await stillMining(good, 0);
    expect(server.connectionCount).toBe(1);
  });

  it('drops a connection that sends a line longer than the limit', async () => {
    const { port, good } = await setup({ maxLineLength: 1024 });
    const s = await raw(port);
    s.write('{"id":1,"method":"mining.subscribe","params":["' + 'a'.repeat(5000));
    await waitUntil(() => s.closedAt !== undefined, 'long-line peer dropped');
    await stillMining(good, 0);
  });

  it('rate-limits a submit flood with code 20 and disconnects a persistent flooder', async () => {
    const { server, port, good } = await setup({ submitRatePerSecond: 10 });
    const flooder = await TestMiner.connect(port);
    cleanup.push(async () => flooder.close());
    await flooder.handshake('flooder');
    const params = ['flooder', flooder.job!.id, '00000000', flooder.job!.ntimeHex, '00000000'];
    const replies = await Promise.all(Array.from({ length: 150 }, () => flooder.submit(params)));
    const codes = replies.map((r) => (r.error as unknown[] | null)?.[1] ?? r.error);
    expect(codes.filter((c) => c === 'Submit rate limit exceeded').length).toBeGreaterThan(50);
    await flooder.waitFor(() => flooder.closed, 'flooder disconnected');
    expect(server.stats.rejectedByReason['rate-limited']).toBeGreaterThan(50);
    await stillMining(good, 0);
  });

  it('disconnects a steady flooder too, not only one burst: twenty times the rate, with a share in the rate now and then', async () => {
    const { server, port, good } = await setup({ submitRatePerSecond: 50 });
    const flooder = await TestMiner.connect(port);
    cleanup.push(async () => flooder.close());
    await flooder.handshake('flooder');
    const params = ['flooder', flooder.job!.id, '00000000', flooder.job!.ntimeHex, '00000000'];
    // 50 shares every 50 ms (1,000 a second) until it is dropped: each refill of the bucket (one token every 20 ms)
    // lets a share through in the rate, so the flooder is never refused a thousand times in a row.
    await waitUntil(async () => {
      if (flooder.closed) return true;
      await Promise.all(Array.from({ length: 50 }, () => flooder.submit(params).catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 50));
      return false;
    }, 'the steady flooder dropped', 20_000);
    expect(server.stats.rejectedByReason['rate-limited']).toBeGreaterThan(500);
    await stillMining(good, 0);
  });

  /** 2,000 distinct valid shares from one miner to a pool that never answers; resolves when all are answered. */
  async function floodUnansweredPool(pool: { nbits?: number }) {
    // Every hash meets 2^-32 (and the upstream's 2^-32): each distinct nonce is a valid share to forward. The pool
    // never answers, so nothing forwarded ever completes.
    const rig = await startProxyRig({
      minerDifficulty: 2 ** -32,
      pool: { difficulty: 2 ** -32, answerSubmits: false, ...pool },
      server: { submitRatePerSecond: 1e6, maxPendingForwards: 40 },
    });
    cleanup.push(() => rig.close(100));
    const flooder = await TestMiner.connect(rig.port);
    cleanup.push(async () => flooder.close());
    await flooder.handshake('flooder');
    const job = flooder.job!;
    const en2 = '00'.repeat(flooder.extranonce2Size);
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ id: 10_000 + i, method: 'mining.submit', params: ['flooder', job.id, en2, job.ntimeHex, i.toString(16).padStart(8, '0')] }),
    );
    flooder.socket.write(lines.join('\n') + '\n');
    const s = rig.server.stats;
    await waitUntil(() => s.accepted + s.rejected >= 2000, 'every submit answered', 20_000);
    expect(s.accepted).toBeGreaterThan(1900); // a hash above 2^-32's target is a 1-in-65536 event
    return rig;
  }

  it('a flood of valid shares at a tiny difficulty never leaves more than maxPendingForwards waiting upstream', async () => {
    const rig = await floodUnansweredPool({});
    const s = rig.server.stats;
    expect(s.pendingUpstream).toBe(40);
    expect(rig.server.status().stats.upstream).toMatchObject({ forwarded: 40, pending: 40, dropped: s.accepted - 40 });
    await waitUntil(() => rig.pools[0]!.shares.length === 40, 'the forwarded shares at the pool');
    expect(await rig.server.metrics.registry.metrics()).toMatch(/mesos_miner_server_upstream_shares_total\{result="dropped"\} \d+/);
  });

  it('blocks have room of their own beyond maxPendingForwards (16 more), so a backlog of shares never costs one', async () => {
    // Regtest's nbits: every share is also a block; the first 40 fill the cap, 16 more go as blocks, the rest drop.
    const rig = await floodUnansweredPool({ nbits: 0x207f_ffff });
    const s = rig.server.stats;
    expect(rig.server.status().stats.upstream).toMatchObject({ forwarded: 56, pending: 56, dropped: s.accepted - 56 });
    await waitUntil(() => rig.pools[0]!.shares.length === 56, 'the forwarded shares and blocks at the pool');
  });

  it('disconnects a miner that never reads once its output backs up', async () => {
    const { server, port, good } = await setup({ maxWriteBufferBytes: 64 * 1024, maxProtocolErrors: 1e9 });
    const s = await raw(port);
    s.pause(); // never read: answers pile up in the kernel buffers, then in the server's write buffer
    const chunk = 'x\n'.repeat(10_000);
    for (let i = 0; i < 200 && s.closedAt === undefined; i++) {
      if (!s.write(chunk)) await new Promise((r) => setTimeout(r, 5));
    }
    await waitUntil(() => s.closedAt !== undefined || s.destroyed, 'non-reading peer dropped', 10_000);
    await stillMining(good, 0);
    expect(server.connectionCount).toBe(1);
  });

  it('survives a thousand connect/disconnects, some mid-handshake', async () => {
    const { server, port, good } = await setup();
    for (let round = 0; round < 10; round++) {
      const sockets = await Promise.all(Array.from({ length: 100 }, () => raw(port)));
      sockets.forEach((s, i) => {
        if (i % 3 === 0) s.write('{"id":1,"method":"mining.subscribe","params":["x"]}\n');
        if (i % 3 === 1) s.write('{"id":1,"method":"mining.subscribe","params":["x"]}\n{"id":2,"method":"mining.authorize","params":["w","x"]}\n{"id":3,"method":"mining.sub');
        s.destroy();
      });
    }
    await waitUntil(() => server.connectionCount === 1, 'all churned connections gone', 10_000);
    await stillMining(good, 0);
    // Prefixes of closed sessions went back to the pool of free ones.
    expect(server.status().miners).toHaveLength(1);
  });

  it('refuses connections beyond the limit and closes idle ones', async () => {
    const { server, port, good } = await setup({ maxConnections: 2, idleTimeoutMs: 400 });
    const second = await raw(port);
    const third = await raw(port);
    await waitUntil(() => third.closedAt !== undefined, 'third connection refused');
    expect(second.closedAt).toBeUndefined();
    // `second` says nothing: idle timeout. `good` keeps talking.
    const started = Date.now();
    while (second.closedAt === undefined && Date.now() - started < 3000) {
      await good.request('mining.extranonce.subscribe', []);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(second.closedAt).toBeDefined();
    expect(good.closed).toBe(false);
    await stillMining(good, 0);
    expect(server.connectionCount).toBe(1);
  });

  it('refuses subscribe clearly when the upstream extranonce2 is too small to share', async () => {
    // Server defaults apart from the pinned difficulty: the point is the upstream's 3-byte extranonce2.
    const { upstream, port, close } = await startProxyRig({ minerDifficulty: MINER_DIFF, pool: { extranonce2Size: 3 } });
    cleanup.push(() => close(100));
    await waitUntil(() => upstream.spaces().length === 1, 'upstream space');
    const m = await TestMiner.connect(port);
    cleanup.push(async () => m.close());
    const sub = await m.request('mining.subscribe', ['x']);
    expect(sub.error).toEqual([20, expect.stringMatching(/extranonce2_size 3 is too small to share/), null]);
  });
});
