// PoolManager edge cases: configuration errors, queue limits and expiry, resume safety, optional requests.
import { afterEach, describe, expect, it } from 'vitest';
import { PoolManager, type WorkSet } from '../src/stratum/pool-manager.js';
import { Harness, nextEvent } from './support/pool-harness.js';
import { findShare } from './support/pool-share-finder.js';
import { waitUntil } from './support/wait-until.js';

const h = new Harness();
afterEach(() => h.cleanup());

describe('PoolManager configuration', () => {
  it.each([
    [{ pools: [] }, /at least one pool/],
    [{ pools: [{ url: 'stratum+tcp://pool:3333', user: '' }] }, /pool 1 .*user .* is required/],
    [{ pools: [{ url: 'stratum+tcp://a:1', user: 'u' }, { url: 'stratum+ssl://b:2', user: 'u' }] }, /unsupported scheme/],
    [{ pools: [{ url: 'stratum+tcp://a:1', user: 'u' }], failoverAfterFailures: 0 }, /failoverAfterFailures/],
    [{ pools: [{ url: 'stratum+tcp://a:1', user: 'u' }], backoff: { initialMs: 0 } }, /initialMs/],
  ])('%j -> %s', (options, re) => {
    expect(() => new PoolManager(options as any)).toThrow(re);
  });
});

describe('shares while disconnected', () => {
  it('gives up a queued share after the maximum age, and refuses beyond the queue limit', async () => {
    const { pool, m, work: w } = await h.mining({}, { queuedShareMaxAgeMs: 150, maxQueuedShares: 2, backoff: { initialMs: 5000, maxMs: 5000 } });
    const down = nextEvent(m, 'disconnected');
    await pool.stop();
    await down;
    const a = m.submit(w, findShare(w).share);
    const b = m.submit(w, findShare(w, { extranonce2: '00000001' }).share);
    expect(await m.submit(w, findShare(w, { extranonce2: '00000002' }).share)).toMatchObject({ status: 'disconnected', reason: expect.stringMatching(/2 shares already queued/) });
    expect(await a).toMatchObject({ status: 'timeout' });
    expect(await b).toMatchObject({ status: 'timeout' });
    expect(m.queuedShares).toBe(0);
  });

  it('does not treat a session as resumed when the pool keeps the id but changes extranonce1', async () => {
    const { pool, m, work: w1 } = await h.mining();
    const session = pool.openConnections[0].session!;
    pool.options.jobOnAuthorize = false;
    const down = nextEvent(m, 'disconnected');
    pool.dropAll();
    await down;
    session.extranonce1 = 'feedface';
    const queued = m.submit(w1, findShare(w1).share);
    const up = await nextEvent(m, 'connected');
    expect(up.session.sessionId).toBe(session.id);
    expect(up.session.resumed).toBe(false);
    expect(await queued).toMatchObject({ status: 'stale' });
    expect(pool.shares).toHaveLength(0);
  });

  it('answers disconnected after stop()', async () => {
    const { pool, m, work: w } = await h.mining();
    m.stop();
    expect(await m.submit(w, findShare(w).share)).toMatchObject({ status: 'disconnected' });
    await waitUntil(() => pool.openConnections.length === 0, 'connection closed');
  });
});

describe('optional requests', () => {
  it('sends mining.suggest_difficulty when configured and carries on whatever the answer', async () => {
    const { pool, work: w } = await h.mining({}, { client: { suggestDifficulty: 0.5, versionRolling: false } });
    const inbound = pool.messages.filter((x) => x.dir === 'in').map((x) => x.msg.method);
    expect(inbound.slice(0, 3)).toEqual(['mining.subscribe', 'mining.suggest_difficulty', 'mining.authorize']);
    expect(pool.received('mining.suggest_difficulty')[0].msg.params).toEqual([0.5]);
    expect(pool.received('mining.configure')).toHaveLength(0);
    expect(w.versionMask).toBe(0);
  });
});

describe('StratumClient configuration', () => {
  it.each([
    [{ user: '' }, /user/],
    [{ port: 0 }, /bad port/],
    [{ suggestDifficulty: -1 }, /suggestDifficulty/],
    [{ submitTimeoutMs: 0 }, /submitTimeoutMs/],
  ])('%j -> clear error', async (bad, re) => {
    const { StratumClient } = await import('../src/stratum/client.js');
    expect(() => new StratumClient({ host: '127.0.0.1', port: 3333, user: 'w', ...bad })).toThrow(re);
  });
});

describe('clean_jobs', () => {
  it('keeps earlier jobs valid on a non-clean notify and marks them stale (unsent) after a clean one', async () => {
    const { pool, m, work: w1 } = await h.mining();
    const second = nextEvent<WorkSet>(m, 'job');
    pool.sendJob({ clean: false });
    const w2 = await second;
    expect(w2.clean).toBe(false);
    expect(await m.submit(w1, findShare(w1).share)).toEqual({ status: 'accepted' });

    const third = nextEvent<WorkSet>(m, 'job');
    pool.sendJob({ clean: true });
    const w3 = await third;
    expect(w3.clean).toBe(true);
    const sent = pool.shares.length;
    expect(await m.submit(w1, findShare(w1, { extranonce2: '00000001' }).share)).toMatchObject({ status: 'stale', reason: expect.stringMatching(/no longer current/) });
    expect(await m.submit(w2, findShare(w2).share)).toMatchObject({ status: 'stale' });
    expect(pool.shares.length).toBe(sent);
    expect(await m.submit(w3, findShare(w3).share)).toEqual({ status: 'accepted' });
  });
});
