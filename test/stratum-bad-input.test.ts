// Bad input from a pool: every case is reported (event + log), never crashes, and a broken connection is
// dropped and retried. Vitest fails the run on any unhandled exception or rejection.
import { afterEach, describe, expect, it } from 'vitest';
import type { StratumProtocolError } from '../src/stratum/errors.js';
import type { PoolManager, WorkSet } from '../src/stratum/pool-manager.js';
import { Harness, nextEvent, recordingLogger } from './support/pool-harness.js';
import type { ScriptedPool } from './support/scripted-pool.js';
import { findShare } from './support/pool-share-finder.js';
import { waitUntil } from './support/wait-until.js';

const h = new Harness();
afterEach(() => h.cleanup());

async function mining(): Promise<{ pool: ScriptedPool; m: PoolManager; w: WorkSet; log: ReturnType<typeof recordingLogger>; errors: StratumProtocolError[] }> {
  const pool = await h.pool();
  const log = recordingLogger();
  const m = h.manager({ pools: [{ url: pool.url, user: 'w' }], logger: log });
  const errors: StratumProtocolError[] = [];
  m.on('protocol-error', ({ error }) => errors.push(error));
  const first = nextEvent<WorkSet>(m, 'job');
  m.start();
  return { pool, m, w: await first, log, errors };
}

/** The connection was dropped for `reason`, a new one was made, and it mines (a share is accepted). */
async function expectDroppedAndRecovered(pool: ScriptedPool, m: PoolManager, reason: RegExp) {
  const down = nextEvent(m, 'disconnected');
  const newWork = nextEvent<WorkSet>(m, 'job');
  return async () => {
    expect((await down).reason).toMatch(reason);
    const w = await newWork;
    expect(w.clean).toBe(true);
    expect(pool.accepted).toBe(2);
    expect(await m.submit(w, findShare(w).share)).toEqual({ status: 'accepted' });
  };
}

/** The connection stayed up and still mines. */
async function expectStillMining(pool: ScriptedPool, m: PoolManager) {
  const next = nextEvent<WorkSet>(m, 'job');
  pool.sendJob({ clean: true });
  const w = await next;
  expect(pool.accepted).toBe(1);
  expect(await m.submit(w, findShare(w).share)).toEqual({ status: 'accepted' });
}

describe('bad input from a pool', () => {
  it('garbage bytes: reported, connection dropped and retried', async () => {
    const { pool, m, errors, log } = await mining();
    const check = await expectDroppedAndRecovered(pool, m, /protocol error: bad JSON/);
    pool.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x0a]));
    await check();
    expect(errors.map((e) => e.kind)).toEqual(['bad-json']);
    expect(log.entries.some((e) => e.level === 'warn' && e.msg === 'stratum: bad input from pool')).toBe(true);
  });

  it('a 1 MiB line: "line too long", dropped without buffering it, retried', async () => {
    const { pool, m, errors } = await mining();
    const check = await expectDroppedAndRecovered(pool, m, /line too long/);
    pool.sendRaw('{"id":null,"method":"mining.notify","params":["' + 'a'.repeat(1024 * 1024) + '"]}\n');
    await check();
    expect(errors[0].kind).toBe('line-too-long');
  });

  it('JSON of the wrong shape: reported, the connection is kept', async () => {
    const { pool, m, errors } = await mining();
    pool.sendRaw('[1,2,3]\n{"id":null,"method":"mining.notify","params":{"job":"x"}}\n{"foo":"bar"}\n"str"\n');
    pool.send({ id: 12345, result: true, error: null }); // answer to nothing
    await expectStillMining(pool, m);
    expect(errors.map((e) => e.kind)).toEqual(['bad-shape', 'bad-shape', 'bad-shape', 'bad-shape']);
  });

  it('a notify with missing fields: reported, current work kept, the connection is kept', async () => {
    const { pool, m, w, errors, log } = await mining();
    const jobs: WorkSet[] = [];
    m.on('job', (j) => jobs.push(j));
    pool.notify('mining.notify', ['job-x', '00'.repeat(32), 'aa']);
    pool.notify('mining.notify', ['job-y', 'zz', 'aa', 'bb', [], '20000000', '17034219', '65000000', true]);
    // Both handled (in order): a job from either would have come out before the second error.
    await waitUntil(() => errors.length >= 2, 'both notifies reported');
    expect(jobs).toHaveLength(0);
    expect(m.work).toBe(w);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/mining.notify: expected at least 9 params, got 3/),
      expect.stringMatching(/mining.notify: prevhash must be an even-length hex string/),
    ]);
    expect(log.entries.filter((e) => e.msg === 'stratum: bad input from pool')).toHaveLength(2);
    expect(await m.submit(w, findShare(w).share)).toEqual({ status: 'accepted' });
    await expectStillMining(pool, m);
  });

  it('negative, zero and non-numeric difficulty: reported and ignored; the last good difficulty stays', async () => {
    const { pool, m, errors } = await mining();
    const announced: number[] = [];
    m.on('difficulty', (d) => announced.push(d.difficulty));
    pool.notify('mining.set_difficulty', [-5]);
    pool.notify('mining.set_difficulty', [0]);
    pool.notify('mining.set_difficulty', ['lots']);
    pool.notify('mining.set_difficulty', []);
    const next = nextEvent<WorkSet>(m, 'job');
    pool.sendJob({ clean: true });
    expect((await next).difficulty).toBe(2 ** -24);
    expect(announced).toEqual([]);
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e.message).toMatch(/^mining\.set_difficulty: /);
  });

  it('bad set_extranonce, set_version_mask and client.reconnect params: reported, nothing changes', async () => {
    const { pool, m, w, errors } = await mining();
    pool.notify('mining.set_extranonce', ['not-hex', 4]);
    pool.notify('mining.set_version_mask', [12]);
    pool.send({ id: 'rc', method: 'client.reconnect', params: ['host', 'port?', 0] });
    const answer = (await waitUntil(() => pool.messages.find((x) => x.dir === 'in' && x.msg?.id === 'rc'), 'the answer to client.reconnect')).msg;
    expect(errors.map((e) => e.message.split(':')[0])).toEqual(['mining.set_extranonce', 'mining.set_version_mask', 'client.reconnect']);
    expect(m.work).toBe(w);
    expect(answer.error[0]).toBe(20);
    await expectStillMining(pool, m);
  });

  it('unknown methods and a burst of junk do not stop a healthy session', async () => {
    const { pool, m } = await mining();
    for (let i = 0; i < 50; i++) {
      pool.notify(`vendor.extension${i}`, [i]);
      pool.send({ id: `q${i}`, method: 'vendor.ask', params: [] });
    }
    await expectStillMining(pool, m);
    const answers = pool.messages.filter((x) => x.dir === 'in' && String(x.msg?.id).startsWith('q'));
    expect(answers).toHaveLength(50);
    expect(answers.every((a) => a.msg.error[0] === -32601)).toBe(true);
  });

  it('a pool that goes silent is dropped after the idle timeout and retried', async () => {
    const { pool, m } = await h.mining({}, { client: { idleTimeoutMs: 300 } });
    const check = await expectDroppedAndRecovered(pool, m, /pool sent nothing for 300 ms/);
    await check();
  });
});
