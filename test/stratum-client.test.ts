// The Stratum client and pool manager against a real scripted pool on 127.0.0.1: handshake, jobs, difficulty,
// extranonce changes, shares verified independently by the pool (bitcoinjs-lib), and pool → miner requests.
import { afterEach, describe, expect, it } from 'vitest';
import { StratumClient, type ClientJob } from '../src/stratum/client.js';
import type { WorkSet } from '../src/stratum/pool-manager.js';
import { userAgent } from '../src/stratum/version.js';
import { Harness, nextEvent, recordingLogger } from './support/pool-harness.js';
import { shareTargetFor } from './support/pool-share-check.js';
import { findShare } from './support/pool-share-finder.js';
import { waitUntil } from './support/wait-until.js';

const h = new Harness();
afterEach(() => h.cleanup());

describe('handshake and work', () => {
  it('sends configure first, then subscribe and authorize, and emits a complete work set', async () => {
    const pool = await h.pool({ extranonce2Size: 4 });
    const m = h.manager({ pools: [{ url: pool.url, user: 'wallet.w1', password: 'secret' }] });
    const connected = nextEvent(m, 'connected');
    const jobP = nextEvent<WorkSet>(m, 'job');
    m.start();
    const c = await connected;
    const work = await jobP;

    const inbound = pool.messages.filter((x) => x.dir === 'in').map((x) => x.msg?.method);
    expect(inbound.slice(0, 3)).toEqual(['mining.configure', 'mining.subscribe', 'mining.authorize']);
    expect(pool.received('mining.subscribe')[0].msg.params).toEqual([userAgent()]);
    expect(userAgent()).toMatch(/^mesos-miner\/\d+\.\d+\.\d+/);
    expect(pool.received('mining.authorize')[0].msg.params).toEqual(['wallet.w1', 'secret']);

    const session = pool.openConnections[0].session!;
    expect(c).toMatchObject({ url: pool.url, poolIndex: 0 });
    expect(work).toMatchObject({
      url: pool.url,
      extranonce1: session.extranonce1,
      extranonce2Size: 4,
      difficulty: 2 ** -24,
      versionMask: 0x1fffe000,
      clean: true,
    });
    expect(work.job.jobId).toBe([...session.jobs.keys()][0]);
  });

  it('gets a real share accepted, with and without version rolling; the pool verified both with bitcoinjs', async () => {
    const { pool, m, work } = await h.mining();
    const plain = findShare(work);
    expect(await m.submit(work, plain.share)).toEqual({ status: 'accepted' });
    const rolled = findShare(work, { extranonce2: '00000001', versionBits: 0x00ab6000 });
    expect(rolled.share.versionBits).toBe('00ab6000');
    expect(await m.submit(work, rolled.share)).toEqual({ status: 'accepted' });
    expect(pool.shares.map((s) => s.accepted)).toEqual([true, true]);
    expect(plain.hashValue).toBeLessThanOrEqual(shareTargetFor(work.difficulty));
  });

  it('reports rejections with the pool code: duplicate (22), low difficulty (23), job not found (21)', async () => {
    const pool = await h.pool();
    const client = new StratumClient({ host: '127.0.0.1', port: pool.port, user: 'w', requestTimeoutMs: 2000 });
    const firstJob = nextEvent<ClientJob>(client, 'job');
    const closed = nextEvent(client, 'close');
    const info = await client.start();
    const { job, difficulty } = await firstJob;
    const work: WorkSet = { poolIndex: 0, url: pool.url, sessionKey: 1, job, difficulty, extranonce1: info.extranonce1, extranonce2Size: info.extranonce2Size, versionMask: 0, clean: true };

    const good = findShare(work);
    expect((await client.submit(good.share)).status).toBe('accepted');
    const dup = await client.submit(good.share);
    expect(dup).toMatchObject({ status: 'rejected', error: { code: 22 } });

    // A hash that is a valid header hash but above the share target.
    const low = findShare(work, { target: (1n << 256n) - 1n, above: shareTargetFor(difficulty) });
    const lowResult = await client.submit(low.share);
    expect(lowResult).toMatchObject({ status: 'rejected', error: { code: 23 } });
    expect(lowResult.reason).toMatch(/code 23/);

    pool.sendJob({ clean: true });
    await waitUntil(() => client.currentJob?.job.jobId !== job.jobId, 'the new job');
    const stale = await client.submit(findShare(work, { extranonce2: '00000002' }).share);
    expect(stale).toMatchObject({ status: 'rejected', error: { code: 21 } });
    client.close();
    expect(await closed).toMatch(/closed by client/);
  });
});

describe('difficulty, extranonce and version mask', () => {
  it('applies set_difficulty from the next job, not the current one', async () => {
    const { pool, m, work: w1 } = await h.mining({ difficulty: 2 ** -24 });
    const announced = nextEvent(m, 'difficulty');
    pool.setDifficulty(2 ** -20);
    expect(await announced).toEqual({ url: pool.url, difficulty: 2 ** -20 });
    expect(m.work!.difficulty).toBe(2 ** -24);
    // A share for the current job is still judged by the pool at the job's difficulty.
    expect((await m.submit(w1, findShare(w1).share)).status).toBe('accepted');

    const second = nextEvent<WorkSet>(m, 'job');
    pool.sendJob({ clean: false });
    const w2 = await second;
    expect(w2.difficulty).toBe(2 ** -20);
    expect(w2.clean).toBe(false);
    const s2 = findShare(w2, { maxTries: 2_000_000 });
    expect(s2.hashValue).toBeLessThanOrEqual(shareTargetFor(2 ** -20));
    expect((await m.submit(w2, s2.share)).status).toBe('accepted');
  });

  it('rebuilds work on set_extranonce; shares built on the old extranonce1 are stale, never sent', async () => {
    const { pool, m, work: w1 } = await h.mining({ extranonce2Size: 4 }, { client: { extranonceSubscribe: true } });
    await waitUntil(() => pool.received('mining.extranonce.subscribe').length === 1, 'extranonce.subscribe');
    const rebuilt = nextEvent<WorkSet>(m, 'job');
    pool.setExtranonce('cafebabe01', 3);
    const w2 = await rebuilt;
    expect(w2).toMatchObject({ extranonce1: 'cafebabe01', extranonce2Size: 3, clean: true });
    expect(w2.job.jobId).toBe(w1.job.jobId);
    expect(w2.sessionKey).not.toBe(w1.sessionKey);

    const before = pool.shares.length;
    expect(await m.submit(w1, findShare(w1).share)).toMatchObject({ status: 'stale' });
    expect(pool.shares.length).toBe(before);
    // The pool rebuilt this job's coinbase for the new extranonce size only on new jobs; send one.
    const third = nextEvent<WorkSet>(m, 'job');
    pool.sendJob({ clean: true });
    const w3 = await third;
    expect(w3.extranonce1).toBe('cafebabe01');
    expect(await m.submit(w3, findShare(w3, { extranonce2: '000001' }).share)).toEqual({ status: 'accepted' });
  });

  it('mines without rolling when the pool errors on configure or ignores it', async () => {
    for (const configure of ['error', 'ignore'] as const) {
      const pool = await h.pool({ configure });
      const m = h.manager({ pools: [{ url: pool.url, user: 'w' }] });
      const job = nextEvent<WorkSet>(m, 'job');
      const t0 = Date.now();
      m.start();
      const w = await job;
      expect(w.versionMask).toBe(0);
      // After the configure grace (0.5 s), not the 15 s request timeout (with room for a busy machine).
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect((await m.submit(w, findShare(w).share)).status).toBe('accepted');
      m.stop();
    }
  });

  it('applies mining.set_version_mask at once (within the mask we offered)', async () => {
    const { pool, m } = await h.mining();
    const rebuilt = nextEvent<WorkSet>(m, 'job');
    pool.notify('mining.set_version_mask', ['ffffffff']);
    expect((await rebuilt).versionMask).toBe(0x1fffe000);
    const again = nextEvent<WorkSet>(m, 'job');
    pool.notify('mining.set_version_mask', ['00006000']);
    expect((await again).versionMask).toBe(0x00006000);
  });
});

describe('pool → miner requests', () => {
  it('answers client.get_version, logs show_message, refuses unknown requests and ignores unknown notifications', async () => {
    const pool = await h.pool();
    const log = recordingLogger();
    const m = h.manager({ pools: [{ url: pool.url, user: 'w' }], logger: log });
    const first = nextEvent<WorkSet>(m, 'job');
    m.start();
    await first;
    const message = nextEvent(m, 'message');
    pool.send({ id: 'v1', method: 'client.get_version', params: [] });
    pool.notify('client.show_message', ['maintenance at noon']);
    pool.send({ id: 'u1', method: 'mining.frobnicate', params: [1] });
    pool.notify('mining.mystery', []);
    expect(await message).toEqual({ url: pool.url, text: 'maintenance at noon' });
    await waitUntil(() => pool.messages.some((x) => x.dir === 'in' && x.msg?.id === 'u1'), 'answer to the unknown request');
    const answers = pool.messages.filter((x) => x.dir === 'in' && (x.msg?.id === 'v1' || x.msg?.id === 'u1')).map((x) => x.msg);
    expect(answers).toEqual([
      { id: 'v1', result: userAgent(), error: null },
      { id: 'u1', result: null, error: [-32601, 'method not found: mining.frobnicate', null] },
    ]);
    expect(log.entries.some((e) => e.msg.includes('unknown method') && e.obj.method === 'mining.mystery')).toBe(true);
    expect(log.entries.some((e) => e.msg.includes('message from pool') && e.obj.message === 'maintenance at noon')).toBe(true);
    expect(m.currentPool).toEqual({ url: pool.url, poolIndex: 0 });
  });

  it('reports a submit the pool never answers as a timeout', async () => {
    const { pool, m, work: w } = await h.mining({ answerSubmits: false }, { client: { submitTimeoutMs: 200 } });
    const t0 = Date.now();
    const r = await m.submit(w, findShare(w).share);
    expect(r.status).toBe('timeout');
    expect(r.reason).toMatch(/mining.submit: no answer within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(10_000); // the 200 ms given, not the 30 s default (room for a busy machine)
    expect(pool.shares).toHaveLength(1);
  });

  it('drops and retries (with backoff) when the worker is not authorized', async () => {
    const pool = await h.pool({ authorize: false });
    const m = h.manager({ pools: [{ url: pool.url, user: 'nobody' }] });
    const down = nextEvent(m, 'disconnected');
    m.start();
    expect((await down).reason).toMatch(/authorization of "nobody" failed.*Unauthorized worker \(code 24\)/);
    await waitUntil(() => pool.accepted >= 3, 'retries');
    expect(m.currentPool).toBeUndefined();
  });
});
