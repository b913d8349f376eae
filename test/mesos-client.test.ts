import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MesosCallError, SchedulerClient, type SchedulerClientOptions } from '../src/mesos/scheduler-client.js';
import type { Offer, TaskInfo, TaskStatus } from '../src/mesos/types.js';
import { FakeMaster, type FakeMasterOptions } from './support/fake-master.js';
import { MesosFixture } from './support/mesos-fixture.js';
import { recordingLogger } from './support/pool-harness.js';
import { hasOpenssl, writeSelfSignedCert } from './support/self-signed-cert.js';
import { waitUntil } from './support/wait-until.js';

const FRAMEWORK = {
  user: 'root', name: 'mesos-miner-test', failover_timeout: 604800, checkpoint: true,
  roles: ['mining'], capabilities: [{ type: 'MULTI_ROLE' as const }, { type: 'PARTITION_AWARE' as const }, { type: 'TASK_KILLING_STATE' as const }],
};

const mesos = new MesosFixture({ role: 'mining' });
const { masters } = mesos;
afterEach(() => mesos.cleanup());
const startMaster = (opts: FakeMasterOptions = {}) => mesos.master(opts);

function newClient(master: FakeMaster | string | string[], opts: Partial<SchedulerClientOptions> = {}): SchedulerClient {
  return mesos.track(new SchedulerClient({
    master: master instanceof FakeMaster ? master.url : master,
    framework: FRAMEWORK,
    backoff: { initialMs: 20, maxMs: 100 },
    heartbeatMissLimit: 4,
    ...opts,
  }));
}

const within = (ms: number) => ({ signal: AbortSignal.timeout(ms) });

async function subscribed(client: SchedulerClient): Promise<string> {
  const wait = once(client, 'subscribed', within(5000));
  client.start();
  await wait;
  return client.frameworkId!;
}

function collect<T>(client: SchedulerClient, event: 'update' | 'offers' | 'disconnected'): T[] {
  const seen: T[] = [];
  client.on(event, (value: unknown) => seen.push(value as T));
  return seen;
}

function taskFor(offer: Offer, id: string, cpus: number, mem: number, port?: number): TaskInfo {
  return {
    name: id, task_id: { value: id }, agent_id: offer.agent_id,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: cpus }, allocation_info: { role: 'mining' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: mem }, allocation_info: { role: 'mining' } },
      ...(port !== undefined ? [{ name: 'ports', type: 'RANGES' as const, ranges: { range: [{ begin: port, end: port }] } }] : []),
    ],
    command: { value: 'sleep 1000' },
  };
}

describe.each(['protobuf', 'json'] as const)('SchedulerClient over %s', (contentType) => {
  it('subscribes, gets offers with cpus/mem/ports from every agent and heartbeats', async () => {
    const master = await startMaster({ agents: 3 });
    const client = newClient(master, { contentType });
    const offersSeen = collect<Offer[]>(client, 'offers');
    const id = await subscribed(client);
    expect(id).toMatch(/^fake-framework-/);
    expect(client.subscribed).toBe(true);
    expect(client.streamId).toBe(master.framework!.streamId);
    await once(client, 'heartbeat', within(2000));
    const offers = await waitUntil(() => offersSeen.flat().length >= 3 && offersSeen.flat(), 'offers from 3 agents');
    expect(new Set(offers.map((o) => o.agent_id.value))).toEqual(new Set(['agent-0', 'agent-1', 'agent-2']));
    for (const offer of offers) {
      expect(offer.allocation_info).toEqual({ role: 'mining' });
      expect(offer.resources!.find((r) => r.name === 'cpus')!.scalar!.value).toBe(4);
      expect(offer.resources!.find((r) => r.name === 'ports')!.ranges!.range).toEqual([{ begin: 31000, end: 31099 }]);
    }
    const sub = master.callsOfType('SUBSCRIBE')[0]!;
    expect(sub.format).toBe(contentType);
    expect(sub.streamId).toBeUndefined();
    expect(sub.call.subscribe!.framework_info).toMatchObject({ user: 'root', name: 'mesos-miner-test', checkpoint: true });
  });

  it('launches on an offer, receives STARTING/RUNNING with uuids, acknowledges them; sends the stream id on calls', async () => {
    const master = await startMaster({ agents: 1 });
    const client = newClient(master, { contentType });
    const offersSeen = collect<Offer[]>(client, 'offers');
    const updates = collect<TaskStatus>(client, 'update');
    client.on('update', (s) => {
      if (s.uuid) client.acknowledge(s.agent_id!, s.task_id, s.uuid).catch(() => {}); // may race with stop()
    });
    await subscribed(client);
    const [offer] = await waitUntil(() => offersSeen[0], 'an offer');
    await client.launch([offer!.id], [taskFor(offer!, 'server-1', 1, 256, 31005)], { refuse_seconds: 60 });
    await waitUntil(() => updates.some((u) => u.state === 'TASK_RUNNING'), 'TASK_RUNNING');
    expect(updates.map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    for (const u of updates) expect(u.uuid).toHaveLength(16);
    await waitUntil(() => master.acknowledged.size === 2, 'two acknowledgements');
    expect([...master.acknowledged].sort()).toEqual(updates.map((u) => u.uuid!.toString('hex')).sort());
    const accept = master.callsOfType('ACCEPT')[0]!;
    expect(accept.status).toBe(202);
    expect(accept.streamId).toBe(client.streamId);
    expect(accept.call.framework_id).toEqual({ value: client.frameworkId });
    expect(master.task('server-1')).toMatchObject({ state: 'TASK_RUNNING', ports: [31005] });
  });
});

describe('SchedulerClient calls against the fake master', () => {
  it('gets TASK_DROPPED/REASON_INVALID_OFFERS for a used offer and TASK_ERROR for a task that does not fit', async () => {
    const master = await startMaster({ agents: [{ cpus: 2, mem: 1024, ports: [[31000, 31009]] }] });
    const client = newClient(master);
    const offersSeen = collect<Offer[]>(client, 'offers');
    const updates = collect<TaskStatus>(client, 'update');
    await subscribed(client);
    const [offer] = await waitUntil(() => offersSeen[0], 'an offer');
    await client.launch([offer!.id], [
      taskFor(offer!, 'too-big', 3, 128),
      taskFor(offer!, 'bad-port', 1, 128, 32000),
      taskFor(offer!, 'ok', 1, 128, 31001),
    ]);
    await client.launch([offer!.id], [taskFor(offer!, 'reused-offer', 1, 128)]);
    await waitUntil(() => updates.length >= 5, 'five updates');
    const byTask = (id: string) => updates.filter((u) => u.task_id.value === id);
    expect(byTask('too-big')[0]).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', source: 'SOURCE_MASTER' });
    expect(byTask('too-big')[0]!.message).toMatch(/more resources/);
    expect(byTask('bad-port')[0]).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID' });
    expect(byTask('bad-port')[0]!.message).toMatch(/port 32000/);
    expect(byTask('reused-offer')[0]).toMatchObject({ state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS' });
    expect(byTask('reused-offer')[0]!.uuid).toBeUndefined();
    expect(byTask('ok').map((u) => u.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
  });

  it('reconciles explicitly (REASON_RECONCILIATION, no uuid) and implicitly, and kills', async () => {
    // Heartbeats at Mesos' pace: with this file's 50 ms ones, a busy machine that stalls the test for 200 ms makes
    // the client resubscribe, and the answers to a RECONCILE sent just before go to the dropped stream (as with a
    // real master: reconciliation answers are not retried; the framework retries the call instead).
    const master = await startMaster({ agents: 1, heartbeatIntervalSeconds: 15 });
    const client = newClient(master);
    const offersSeen = collect<Offer[]>(client, 'offers');
    const updates = collect<TaskStatus>(client, 'update');
    await subscribed(client);
    const [offer] = await waitUntil(() => offersSeen[0], 'an offer');
    await client.launch([offer!.id], [taskFor(offer!, 'm-1', 1, 128), taskFor(offer!, 'm-2', 1, 128)]);
    await waitUntil(() => master.runningTasks().length === 2, 'two running tasks');
    // Answers are picked out by what they are, not counted: on a busy machine the tasks' own (unacknowledged)
    // updates may still arrive, or come again after a missed heartbeat made the client resubscribe.
    const answers = () => updates.filter((u) => u.reason === 'REASON_RECONCILIATION');
    const answerFor = (id: string, from: number) => answers().slice(from).find((u) => u.task_id.value === id);
    await client.reconcile([{ task_id: 'm-1', agent_id: offer!.agent_id.value }, { task_id: 'ghost' }]);
    await waitUntil(() => answerFor('m-1', 0) && answerFor('ghost', 0), 'explicit answers for m-1 and ghost');
    expect(answerFor('m-1', 0)).toMatchObject({ state: 'TASK_RUNNING' });
    expect(answerFor('ghost', 0)).toMatchObject({ state: 'TASK_UNKNOWN' });
    expect(answers().every((u) => u.uuid === undefined)).toBe(true);
    const explicit = answers().length;
    await client.reconcile([]);
    await waitUntil(() => answerFor('m-1', explicit) && answerFor('m-2', explicit), 'implicit answers for both tasks');
    expect(answers().slice(explicit).map((u) => u.task_id.value).sort()).toEqual(['m-1', 'm-2']);
    await client.kill('m-2', offer!.agent_id);
    const m2 = () => updates.filter((u) => u.task_id.value === 'm-2' && u.reason !== 'REASON_RECONCILIATION').map((u) => u.state);
    await waitUntil(() => m2().includes('TASK_KILLED'), 'TASK_KILLED');
    expect(m2().filter((s) => s === 'TASK_KILLING' || s === 'TASK_KILLED')).toEqual(['TASK_KILLING', 'TASK_KILLED']);
  });

  it('honours decline filters, suppress and revive', async () => {
    const master = await startMaster({ agents: 2 });
    const client = newClient(master);
    const offersSeen = collect<Offer[]>(client, 'offers');
    await subscribed(client);
    const first = await waitUntil(() => offersSeen.flat().length >= 2 && offersSeen.flat(), 'two offers');
    const declinedAt = Date.now();
    await client.decline([first[0]!.id], { refuse_seconds: 0.4 });
    await client.decline([first[1]!.id], { refuse_seconds: 3600 });
    const again = await waitUntil(() => offersSeen.flat().slice(2).find((o) => o.agent_id.value === first[0]!.agent_id.value), 're-offer');
    expect(Date.now() - declinedAt).toBeGreaterThanOrEqual(380);
    expect(offersSeen.flat().slice(2).some((o) => o.agent_id.value === first[1]!.agent_id.value)).toBe(false);
    await client.suppress(['mining']);
    await client.decline([again.id], { refuse_seconds: 0 });
    const countAfterSuppress = offersSeen.flat().length;
    await new Promise((r) => setTimeout(r, 150));
    expect(offersSeen.flat().length).toBe(countAfterSuppress);
    await client.revive(['mining']);
    await waitUntil(() => offersSeen.flat().length >= countAfterSuppress + 2, 'offers after revive (filters cleared)');
    expect(master.callsOfType('SUPPRESS')[0]!.call.suppress).toEqual({ roles: ['mining'] });
  });

  it('rejects calls before subscription and reports HTTP errors with status and body', async () => {
    const master = await startMaster();
    const client = newClient(master);
    await expect(client.decline(['o'])).rejects.toThrow(/not subscribed/);
    await subscribed(client);
    // The master now thinks another stream is current: Mesos answers 400 naming the stream id.
    master.framework!.streamId = 'someone-else';
    const disconnected = once(client, 'disconnected', within(2000));
    const err = await client.decline(['o']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MesosCallError);
    expect((err as MesosCallError).status).toBe(400);
    expect((err as MesosCallError).message).toMatch(/DECLINE call .* HTTP 400: The stream ID/);
    // ...and the client resubscribes to get a fresh stream.
    expect(String((await disconnected)[0])).toMatch(/rejected with HTTP 400/);
    await waitUntil(() => client.subscribed && master.subscribeCount === 2, 'resubscribed');
  });

  it('subscribes with suppressed_roles when asked (no offers until REVIVE)', async () => {
    const master = await startMaster();
    const client = newClient(master, { suppressedRoles: ['mining'] });
    const offersSeen = collect<Offer[]>(client, 'offers');
    await subscribed(client);
    expect(master.callsOfType('SUBSCRIBE')[0]!.call.subscribe!.suppressed_roles).toEqual(['mining']);
    await new Promise((r) => setTimeout(r, 100));
    expect(offersSeen).toEqual([]);
    await client.revive();
    await waitUntil(() => offersSeen.length > 0, 'offers after REVIVE');
    client.setSuppressedRoles([]);
    master.dropConnection();
    await once(client, 'subscribed', within(3000));
    expect(master.callsOfType('SUBSCRIBE')[1]!.call.subscribe!.suppressed_roles).toBeUndefined();
  });

  it('tears down: the framework is removed and the client stops', async () => {
    const master = await startMaster();
    const client = newClient(master);
    const id = await subscribed(client);
    await client.teardown();
    expect(client.frameworkId).toBeUndefined();
    expect(client.subscribed).toBe(false);
    expect(master.removedFrameworks.has(id)).toBe(true);
    expect(master.callsOfType('TEARDOWN')).toHaveLength(1);
  });
});

describe('SchedulerClient resilience', () => {
  it('follows a 307 redirect (scheme-relative Location) to the leader and subscribes there', async () => {
    const leader = await startMaster();
    const follower = await startMaster({ redirectTo: leader.url });
    const client = newClient([follower.url]);
    await subscribed(client);
    expect(client.masterUrl).toBe(leader.url);
    expect(leader.callsOfType('SUBSCRIBE')).toHaveLength(1);
    await client.suppress();
    expect(leader.callsOfType('SUPPRESS')).toHaveLength(1);
  });

  it('tries the next master of the list when one is down', async () => {
    const master = await startMaster();
    const dead = await startMaster();
    const deadUrl = dead.url;
    await dead.close();
    masters.splice(masters.indexOf(dead), 1);
    const client = newClient([deadUrl, master.url]);
    const disconnects = collect<string>(client, 'disconnected');
    await subscribed(client);
    expect(disconnects[0]).toMatch(/ECONNREFUSED/);
    expect(client.masterUrl).toBe(master.url);
  });

  it('resubscribes with the same framework id after missed heartbeats', async () => {
    const master = await startMaster({ heartbeatIntervalSeconds: 0.05 });
    const client = newClient(master, { heartbeatMissLimit: 3 });
    const id = await subscribed(client);
    const firstStream = client.streamId;
    const lost = once(client, 'disconnected', within(3000));
    master.pauseHeartbeats();
    const started = Date.now();
    expect(String((await lost)[0])).toMatch(/heartbeats missed/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    master.resumeHeartbeats();
    await once(client, 'subscribed', within(3000));
    expect(client.frameworkId).toBe(id);
    expect(client.streamId).not.toBe(firstStream);
    const resub = master.callsOfType('SUBSCRIBE')[1]!;
    expect(resub.call.framework_id).toEqual({ value: id });
    expect(resub.call.subscribe!.framework_info.id).toEqual({ value: id });
    expect(resub.streamId).toBeUndefined();
  });

  it('a watchdog that fires late, after the event loop was busy, reads the heartbeats waiting before it judges the master silent', async () => {
    const master = await startMaster({ heartbeatIntervalSeconds: 0.05 });
    const client = newClient(master, { heartbeatMissLimit: 2 });
    await subscribed(client);
    const disconnects = collect<string>(client, 'disconnected');
    let beats = 0;
    client.on('heartbeat', () => beats++);
    // Busy for four of the watchdog's 100 ms: when the loop turns, its timer and the master's next heartbeat are
    // both due, and the timers run before the heartbeat can be read.
    const until = Date.now() + 400;
    while (Date.now() < until) { /* the busy spell */ }
    await waitUntil(() => beats >= 3, 'heartbeats after the busy spell');
    expect(disconnects).toEqual([]);
    expect(master.callsOfType('SUBSCRIBE')).toHaveLength(1);
  });

  it('resubscribes with growing, jittered backoff while the master is unreachable', async () => {
    const master = await startMaster();
    const url = master.url;
    const log = recordingLogger();
    const client = newClient(master, { backoff: { initialMs: 40, maxMs: 160 }, logger: log });
    await subscribed(client);
    const times: number[] = [];
    client.on('disconnected', () => times.push(Date.now()));
    await master.close();
    masters.splice(0);
    await waitUntil(() => times.length >= 5, 'five failed attempts', 5000);
    // Delays: 40, 80, 160, 160 ms, each jittered to 50..150% and never above 160: the delays the client chose
    // (its log), and between two failures at least that delay (plus connect time, however long a busy machine
    // makes it).
    const delays = log.entries.filter((e) => e.msg === 'Mesos subscription lost; resubscribing').map((e) => e.obj.retryInMs as number);
    const [lo, hi] = [[20, 40, 80, 80], [60, 120, 160, 160]];
    for (let i = 0; i < 4; i++) {
      expect(delays[i]).toBeGreaterThanOrEqual(lo[i]!);
      expect(delays[i]).toBeLessThanOrEqual(hi[i]!);
      expect(times[i + 1]! - times[i]!).toBeGreaterThanOrEqual(delays[i]! - 1);
    }
    expect(client.subscribed).toBe(false);
    void url;
  });

  it('survives a dropped connection and resubscribes', async () => {
    const master = await startMaster();
    const client = newClient(master);
    const id = await subscribed(client);
    const lost = once(client, 'disconnected', within(2000));
    master.dropConnection();
    expect(String((await lost)[0])).toMatch(/closed|aborted|error/);
    await once(client, 'subscribed', within(3000));
    expect(client.frameworkId).toBe(id);
  });

  it.each([
    ['garbage RecordIO', (m: FakeMaster) => m.sendGarbage(), /broken event stream: RecordIO: expected a decimal record length/],
    ['a truncated record', (m: FakeMaster) => m.sendTruncatedRecord(), /event stream truncated: .*got 10 of 100 bytes/],
    ['an undecodable event', (m: FakeMaster) => m.sendGarbage(Buffer.from('3\n\xff\xff\xff', 'latin1')), /undecodable event: cannot decode/],
  ])('reports %s clearly, does not crash, and resubscribes', async (_name, inject, reason) => {
    const master = await startMaster();
    const client = newClient(master);
    await subscribed(client);
    const lost = once(client, 'disconnected', within(2000));
    inject(master);
    expect(String((await lost)[0])).toMatch(reason);
    await once(client, 'subscribed', within(3000));
    expect(master.subscribeCount).toBe(2);
  });

  it.each(['protobuf', 'json'] as const)('ignores an unknown event type (%s) and keeps the subscription', async (contentType) => {
    const master = await startMaster();
    const warnings: object[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: object) => warnings.push(obj) };
    const client = newClient(master, { contentType, logger });
    const disconnects = collect<string>(client, 'disconnected');
    await subscribed(client);
    master.sendUnknownEventType();
    await once(client, 'heartbeat', within(2000));
    await once(client, 'heartbeat', within(2000));
    expect(disconnects).toEqual([]);
    expect(warnings).toContainEqual({ type: contentType === 'json' ? 'SOMETHING_NEW' : '99' });
  });

  it('on an ERROR event reports it and resubscribes; a removed framework starts fresh', async () => {
    const master = await startMaster();
    const client = newClient(master);
    const errors = collect<string>(client, 'disconnected');
    const firstId = await subscribed(client);
    const errorEvent = once(client, 'error_event', within(2000));
    master.sendError('Framework is rate limited');
    expect((await errorEvent)[0]).toBe('Framework is rate limited');
    await once(client, 'subscribed', within(3000));
    expect(client.frameworkId).toBe(firstId);
    const removed = once(client, 'framework_removed', within(3000));
    master.removeFramework(firstId);
    expect((await removed)[0]).toBe('Framework has been removed');
    await once(client, 'subscribed', within(3000));
    expect(client.frameworkId).not.toBe(firstId);
    const last = master.callsOfType('SUBSCRIBE').at(-1)!;
    expect(last.call.framework_id).toBeUndefined();
    expect(errors.some((e) => /ERROR event: Framework is rate limited/.test(e))).toBe(true);
  });

  it('a restarted scheduler with the stored id fails over; the old one is told', async () => {
    const master = await startMaster();
    const first = newClient(master);
    const id = await subscribed(first);
    const told = once(first, 'error_event', within(2000));
    const second = newClient(master);
    second.setFrameworkId(id);
    expect(await subscribed(second)).toBe(id);
    expect((await told)[0]).toBe('Framework failed over');
    await first.stop();
  });

  it('keeps working when a listener throws', async () => {
    const master = await startMaster();
    const client = newClient(master);
    client.on('heartbeat', () => {
      throw new Error('listener bug');
    });
    await subscribed(client);
    await once(client, 'heartbeat', within(2000));
    await once(client, 'heartbeat', within(2000));
    expect(client.subscribed).toBe(true);
  });

  it('sends HTTP basic credentials; wrong ones get a clear 401', async () => {
    const master = await startMaster({ auth: { principal: 'miner', secret: 's3cret' } });
    const good = newClient(master, { principal: 'miner', secret: 's3cret' });
    await subscribed(good);
    const sub = master.callsOfType('SUBSCRIBE')[0]!;
    expect(sub.authorization).toBe(`Basic ${Buffer.from('miner:s3cret').toString('base64')}`);
    expect(sub.call.subscribe!.framework_info.principal).toBe('miner');
    const bad = newClient(master, { principal: 'miner', secret: 'wrong' });
    const lost = once(bad, 'disconnected', within(2000));
    bad.start();
    expect(String((await lost)[0])).toMatch(/HTTP 401.*check principal\/secret/);
  });

  it.each([
    ['split into 7-byte chunks', { agents: 20, splitChunkBytes: 7 }],
    ['packed several per chunk and split', { agents: 1000, splitChunkBytes: 1500, packRecords: true }],
  ])('decodes records %s', async (_name, opts) => {
    const master = await startMaster(opts);
    const client = newClient(master);
    const offersSeen = collect<Offer[]>(client, 'offers');
    await subscribed(client);
    const offers = await waitUntil(() => offersSeen.flat().length >= opts.agents && offersSeen.flat(), 'all offers', 10000);
    expect(new Set(offers.map((o) => o.agent_id.value)).size).toBe(opts.agents);
    await once(client, 'heartbeat', within(2000));
    await client.decline(offers.map((o) => o.id), { refuse_seconds: 3600 });
    expect(master.offers.size).toBe(0);
  });

  it.skipIf(!hasOpenssl)('talks to an HTTPS master, trusting a given CA and refusing an unknown one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-master-tls-'));
    try {
      const { keyFile, certFile } = writeSelfSignedCert(dir);
      const cert = readFileSync(certFile);
      const master = await startMaster({ tls: { key: readFileSync(keyFile), cert } });
      expect(master.url).toMatch(/^https:/);
      const trusted = newClient(master, { tls: { ca: cert } });
      const offersSeen = collect<Offer[]>(trusted, 'offers');
      await subscribed(trusted);
      const offers = await waitUntil(() => offersSeen[0], 'offers over TLS');
      await trusted.decline(offers.map((o) => o.id));
      expect(master.callsOfType('DECLINE')[0]!.status).toBe(202);
      const untrusted = newClient(master);
      const lost = once(untrusted, 'disconnected', within(2000));
      untrusted.start();
      expect(String((await lost)[0])).toMatch(/self.signed|certificate/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates its options', () => {
    expect(() => new SchedulerClient({ master: 'ftp://x', framework: FRAMEWORK })).toThrow(/scheme must be http or https/);
    expect(() => new SchedulerClient({ master: 'not a url', framework: FRAMEWORK })).toThrow(/invalid Mesos master URL/);
    expect(() => new SchedulerClient({ master: [], framework: FRAMEWORK })).toThrow(/at least one master/);
    expect(() => new SchedulerClient({ master: 'http://x:5050', framework: { user: '', name: 'n' } })).toThrow(/user and framework.name/);
    expect(() => new SchedulerClient({
      master: 'http://x:5050', framework: { ...FRAMEWORK, capabilities: [{ type: 'PARTITION_AWARENESS' as never }] },
    })).toThrow(/invalid framework info: .*capabilities\[0\]\.type: "PARTITION_AWARENESS" is not a mesos.v1.FrameworkInfo.Capability.Type value/);
  });
});
