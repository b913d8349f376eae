// Reconnects, client.reconnect, failover to a backup pool, the return to the first pool, and backoff pacing.
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkSet } from '../src/stratum/pool-manager.js';
import { Harness, nextEvent, recordingLogger } from './support/pool-harness.js';
import { findShare } from './support/pool-share-finder.js';
import { waitUntil } from './support/wait-until.js';

const h = new Harness();
afterEach(() => h.cleanup());

describe('reconnect', () => {
  it('resumes the session after the pool closes mid-job and sends the shares queued meanwhile', async () => {
    const { pool, m, work: w } = await h.mining();
    const sessionId = pool.openConnections[0].session!.id;

    pool.options.jobOnAuthorize = false; // keep the job current across the outage
    const down = nextEvent(m, 'disconnected');
    pool.dropAll();
    expect((await down).reason).toMatch(/peer closed|closed/);
    const queued = m.submit(w, findShare(w).share);
    expect(m.queuedShares).toBe(1);

    const up = await nextEvent(m, 'connected');
    expect(up.session.resumed).toBe(true);
    expect(pool.received('mining.subscribe').at(-1)!.msg.params[1]).toBe(sessionId);
    expect(await queued).toEqual({ status: 'accepted' });
    expect(pool.shares.at(-1)!.accepted).toBe(true);
    expect(m.queuedShares).toBe(0);
  });

  it('starts a fresh session when the pool does not resume: old work and queued shares are stale, never sent', async () => {
    const { pool, m, work: w1 } = await h.mining({ resume: false });
    const down = nextEvent(m, 'disconnected');
    pool.dropAll();
    await down;
    const queued = m.submit(w1, findShare(w1).share);
    const next = nextEvent<WorkSet>(m, 'job');
    const up = await nextEvent(m, 'connected');
    expect(up.session.resumed).toBe(false);
    expect(await queued).toMatchObject({ status: 'stale' });
    const w2 = await next;
    expect(w2.clean).toBe(true);
    expect(w2.extranonce1).not.toBe(w1.extranonce1);
    expect(await m.submit(w1, findShare(w1, { extranonce2: '00000009' }).share)).toMatchObject({ status: 'stale' });
    expect(pool.shares).toHaveLength(0);
    expect(await m.submit(w2, findShare(w2).share)).toEqual({ status: 'accepted' });
  });

  it('follows client.reconnect to another port on the same host, and refuses another host', async () => {
    const a = await h.pool();
    const b = await h.pool();
    const m = h.manager({ pools: [{ url: a.url, user: 'w' }] });
    const first = nextEvent<WorkSet>(m, 'job');
    m.start();
    await first;

    a.send({ id: 'r1', method: 'client.reconnect', params: ['pool.elsewhere.example', b.port, 0] });
    await waitUntil(() => a.messages.some((x) => x.dir === 'in' && x.msg?.id === 'r1'), 'answer to the refused redirect');
    expect(a.messages.find((x) => x.dir === 'in' && x.msg?.id === 'r1')!.msg.error[1]).toMatch(/redirect to another host refused/);
    expect(m.currentPool).toEqual({ url: a.url, poolIndex: 0 });

    const moved = nextEvent<WorkSet>(m, 'job', (w) => w.extranonce1 === b.openConnections[0]?.session?.extranonce1);
    a.notify('client.reconnect', ['127.0.0.1', b.port, 0]);
    const w = await moved;
    expect(b.received('mining.subscribe')).toHaveLength(1);
    expect(await m.submit(w, findShare(w).share)).toEqual({ status: 'accepted' });
    expect(b.shares).toHaveLength(1);
  });

  it('waits the requested time before following client.reconnect', async () => {
    const a = await h.pool();
    const m = h.manager({ pools: [{ url: a.url, user: 'w' }] });
    const first = nextEvent(m, 'connected');
    m.start();
    await first;
    const t0 = Date.now();
    const back = nextEvent(m, 'connected');
    a.notify('client.reconnect', [null, null, 1]);
    await back;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(a.accepted).toBe(2);
  });
});

describe('failover', () => {
  it('uses the second pool when the first is down at start, then returns to the first after fallback time', async () => {
    const a = await h.pool();
    const b = await h.pool();
    const aPort = a.port;
    await a.stop(); // refuses connections
    const m = h.manager({ pools: [{ url: a.url, user: 'w' }, { url: b.url, user: 'w' }], fallbackTimeMs: 300 });
    const onB = nextEvent(m, 'connected');
    const workB = nextEvent<WorkSet>(m, 'job');
    m.start();
    expect(await onB).toMatchObject({ url: b.url, poolIndex: 1 });
    const wb = await workB;
    expect(wb.poolIndex).toBe(1);

    await a.start(aPort);
    const t0 = Date.now();
    const backOnA = nextEvent(m, 'connected', (c) => c.poolIndex === 0, 5000);
    const leftB = nextEvent(m, 'disconnected', (d) => d.poolIndex === 1, 5000);
    const workA = nextEvent<WorkSet>(m, 'job', (w) => w.poolIndex === 0, 5000);
    await backOnA;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect((await leftB).reason).toMatch(/returning to the preferred pool/);
    const wa = await workA;
    expect(wa.clean).toBe(true);
    expect(m.currentPool).toEqual({ url: a.url, poolIndex: 0 });
    await waitUntil(() => b.openConnections.length === 0, 'backup connection closed');

    // Work from the backup is stale now; work from the first pool is accepted there.
    expect(await m.submit(wb, findShare(wb).share)).toMatchObject({ status: 'stale' });
    expect(await m.submit(wa, findShare(wa).share)).toEqual({ status: 'accepted' });
    expect(a.shares).toHaveLength(1);
    expect(b.shares).toHaveLength(0);
  });

  it('fails over when the active pool dies and stays on the backup while the first is still down', async () => {
    const a = await h.pool();
    const b = await h.pool();
    const m = h.manager({ pools: [{ url: a.url, user: 'w' }, { url: b.url, user: 'w' }], fallbackTimeMs: 200 });
    const onA = nextEvent(m, 'connected');
    m.start();
    expect((await onA).poolIndex).toBe(0);
    const onB = nextEvent(m, 'connected', (c) => c.poolIndex === 1);
    await a.stop();
    await onB;
    await new Promise((r) => setTimeout(r, 400));
    expect(m.currentPool).toEqual({ url: b.url, poolIndex: 1 });
    expect(b.openConnections).toHaveLength(1);
  });

  it('never reconnects in a tight loop when every pool is down, and connects once one comes back', async () => {
    const a = await h.pool();
    const b = await h.pool();
    const aPort = a.port;
    await a.stop();
    await b.stop();
    const log = recordingLogger();
    const m = h.manager({
      pools: [{ url: a.url, user: 'w' }, { url: b.url, user: 'w' }],
      backoff: { initialMs: 50, maxMs: 400, jitter: 0 },
      logger: log,
    });
    const began = Date.now();
    m.start();
    const delays = () => log.entries.filter((e) => e.msg === 'stratum: reconnect scheduled').map((e) => e.obj.delayMs as number);
    await waitUntil(() => delays().filter((d) => d > 0).length >= 5, 'five backoff delays');
    const elapsed = Date.now() - began;
    const attempts = log.entries.filter((e) => e.msg === 'stratum: connecting').length;
    // Doubling from 50 ms capped at 400 ms, every attempt after the first one scheduled with its delay (only the
    // first try of the second pool is immediate), and the delays really waited: not a tight loop. Counted in
    // attempts and delays rather than in attempts per second, which a busy machine changes.
    expect(delays().filter((d) => d > 0).slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(delays().filter((d) => d === 0).length).toBeLessThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(delays().length + 1);
    expect(elapsed).toBeGreaterThanOrEqual(50 + 100 + 200 + 400 - 5);

    const up = nextEvent(m, 'connected', () => true, 3000);
    await a.start(aPort);
    expect((await up).poolIndex).toBe(0);
  });
});
