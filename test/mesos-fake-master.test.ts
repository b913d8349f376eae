// The fake master is what every scheduler test trusts, so its wire behaviour is tested on its own
// with raw HTTP requests (no SchedulerClient involved).
import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTENT_TYPES, decodeEvent, encodeCall } from '../src/mesos/codec.js';
import { RecordIODecoder } from '../src/mesos/recordio.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import type { Call, Event, Offer, TaskStatus } from '../src/mesos/types.js';
import { FakeMaster, type FakeMasterOptions } from './support/fake-master.js';
import { MesosFixture } from './support/mesos-fixture.js';
import { waitUntil } from './support/wait-until.js';

const mesos = new MesosFixture();
afterEach(() => mesos.cleanup());
const startMaster = (opts: FakeMasterOptions = {}) => mesos.master(opts);

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function post(master: FakeMaster, body: Buffer | string, headers: http.OutgoingHttpHeaders, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${master.url}/api/v1/scheduler`, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const PB = { 'Content-Type': CONTENT_TYPES.protobuf, Accept: CONTENT_TYPES.protobuf };
const subscribeCall: Call = { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'raw' } } };

/** Open a raw SUBSCRIBE stream and collect its decoded events. */
async function rawSubscribe(master: FakeMaster, accept: 'protobuf' | 'json') {
  const events: Event[] = [];
  const body = encodeCall(subscribeCall, 'protobuf');
  const req = http.request(`${master.url}/api/v1/scheduler`, {
    method: 'POST', agent: false, headers: { 'Content-Type': CONTENT_TYPES.protobuf, Accept: CONTENT_TYPES[accept] },
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const decoder = new RecordIODecoder();
  res.on('data', (chunk: Buffer) => {
    for (const record of decoder.push(chunk)) events.push(decodeEvent(record, accept));
  });
  return { res, events, close: () => req.destroy() };
}

describe('fake master wire behaviour (like Mesos 1.x)', () => {
  it.each(['protobuf', 'json'] as const)('streams RecordIO %s events with Content-Type and Mesos-Stream-Id', async (accept) => {
    const master = await startMaster();
    const stream = await rawSubscribe(master, accept);
    try {
      expect(stream.res.statusCode).toBe(200);
      expect(stream.res.headers['content-type']).toBe(CONTENT_TYPES[accept]);
      expect(stream.res.headers['mesos-stream-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(stream.res.headers['transfer-encoding']).toBe('chunked');
      await waitUntil(() => stream.events.some((e) => e.type === 'HEARTBEAT'), 'a heartbeat');
      expect(stream.events[0]!.type).toBe('SUBSCRIBED');
      expect(stream.events[0]!.subscribed!.heartbeat_interval_seconds).toBe(0.05);
      expect(stream.events.some((e) => e.type === 'OFFERS')).toBe(true);
    } finally {
      stream.close();
    }
  });

  it('answers 415, 406, 405, 400 and 403 like Mesos', async () => {
    const master = await startMaster();
    const decline = encodeCall({ type: 'DECLINE', framework_id: { value: 'nope' }, decline: { offer_ids: [] } }, 'protobuf');
    expect((await post(master, decline, { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post(master, decline, { ...PB, Accept: 'text/html' })).status).toBe(406);
    expect((await post(master, decline, PB, 'PUT')).status).toBe(405);
    const malformed = await post(master, Buffer.from('ffffffff', 'hex'), PB);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatch(/Failed to parse body into Call/);
    expect((await post(master, '{"type":', { 'Content-Type': CONTENT_TYPES.json })).status).toBe(400);
    const noStream = await post(master, decline, PB);
    expect(noStream).toMatchObject({ status: 400, body: "All non-subscribe calls should include the 'Mesos-Stream-Id' header" });
    const unknown = await post(master, decline, { ...PB, 'Mesos-Stream-Id': 'x' });
    expect(unknown).toMatchObject({ status: 403, body: 'Framework cannot be found' });
    const subWithStream = await post(master, encodeCall(subscribeCall, 'protobuf'), { ...PB, 'Mesos-Stream-Id': 'x' });
    expect(subWithStream.status).toBe(400);
  });

  it('requires HTTP basic auth when configured (401 with WWW-Authenticate)', async () => {
    const master = await startMaster({ auth: { principal: 'p', secret: 's' } });
    const reply = await post(master, encodeCall(subscribeCall, 'protobuf'), PB);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Basic realm="mesos"');
  });

  it('redirects with a scheme-relative Location when not the leader', async () => {
    const master = await startMaster({ redirectTo: 'http://10.0.0.7:5050' });
    const reply = await post(master, encodeCall(subscribeCall, 'protobuf'), PB);
    expect(reply.status).toBe(307);
    expect(reply.headers.location).toBe('//10.0.0.7:5050/api/v1/scheduler');
  });
});

describe('fake master task life cycle through the client', () => {
  const FRAMEWORK = { user: 'u', name: 'lifecycle', capabilities: [{ type: 'PARTITION_AWARE' as const }] };

  async function setup(opts: FakeMasterOptions = {}) {
    const master = await startMaster({ agents: 2, ...opts });
    const client = mesos.track(new SchedulerClient({ master: master.url, framework: FRAMEWORK, backoff: { initialMs: 20, maxMs: 50 } }));
    const offers: Offer[] = [];
    const updates: TaskStatus[] = [];
    client.on('offers', (o) => offers.push(...o));
    client.on('update', (u) => updates.push(u));
    const subscribed = once(client, 'subscribed');
    client.start();
    await subscribed;
    await waitUntil(() => offers.length >= 2, 'offers');
    return { master, client, offers, updates };
  }

  const task = (offer: Offer, id: string) => ({
    name: id, task_id: { value: id }, agent_id: offer.agent_id, command: { value: 'true' },
    resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 1 } }],
  });

  it('re-sends unacknowledged updates until acknowledged', async () => {
    const { master, client, offers, updates } = await setup({ resendUnacknowledgedMs: 40, launchStates: ['TASK_RUNNING'] });
    await client.launch([offers[0]!.id], [task(offers[0]!, 't1')]);
    await waitUntil(() => updates.length >= 3, 'the RUNNING update three times');
    const uuids = new Set(updates.map((u) => u.uuid!.toString('hex')));
    expect(uuids.size).toBe(1);
    await client.acknowledge(updates[0]!.agent_id!, 't1', updates[0]!.uuid!);
    await waitUntil(() => master.acknowledged.size === 1, 'the acknowledgement');
    const seen = updates.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(updates.length).toBeLessThanOrEqual(seen + 1); // at most one already in flight
  });

  it('loses an agent: TASK_UNREACHABLE for PARTITION_AWARE frameworks, FAILURE, rescinded offers', async () => {
    const { master, client, offers, updates } = await setup();
    const failures: unknown[] = [];
    const rescinded: string[] = [];
    client.on('failure', (f) => failures.push(f));
    client.on('rescind', (id) => rescinded.push(id.value));
    const [a, b] = offers;
    await client.launch([a!.id], [task(a!, 'on-a')]);
    await waitUntil(() => master.task('on-a')?.state === 'TASK_RUNNING', 'on-a running');
    master.loseAgent(b!.agent_id.value);
    master.loseAgent(a!.agent_id.value);
    await waitUntil(() => updates.some((u) => u.state === 'TASK_UNREACHABLE'), 'TASK_UNREACHABLE');
    const lost = updates.find((u) => u.state === 'TASK_UNREACHABLE')!;
    expect(lost).toMatchObject({ task_id: { value: 'on-a' }, reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER' });
    expect(lost.unreachable_time!.nanoseconds).toBeGreaterThan(0);
    await waitUntil(() => failures.length === 2, 'FAILURE events');
    expect(rescinded).toContain(b!.id.value);
  });

  it('failTask sends a reliable update; hang and drop launch behaviours show up in reconciliation', async () => {
    const { master, client, offers, updates } = await setup();
    await client.launch([offers[0]!.id], [task(offers[0]!, 'f1')]);
    await waitUntil(() => master.task('f1')?.state === 'TASK_RUNNING', 'f1 running');
    master.failTask('f1', 'TASK_FAILED', 'REASON_CONTAINER_LIMITATION_MEMORY');
    await waitUntil(() => updates.some((u) => u.state === 'TASK_FAILED'), 'TASK_FAILED');
    expect(updates.find((u) => u.state === 'TASK_FAILED')).toMatchObject({ reason: 'REASON_CONTAINER_LIMITATION_MEMORY' });
    expect(updates.find((u) => u.state === 'TASK_FAILED')!.uuid).toHaveLength(16);
    master.launchBehavior = 'hang';
    await client.launch([offers[1]!.id], [task(offers[1]!, 'hung')], { refuse_seconds: 0 });
    master.launchBehavior = 'drop';
    const more = await waitUntil(() => master.offers.size > 0 && [...master.offers.values()][0], 'another offer');
    await client.launch([more.offer.id], [task(more.offer, 'dropped')]);
    updates.length = 0;
    await client.reconcile([{ task_id: 'hung' }, { task_id: 'dropped' }]);
    await waitUntil(() => updates.length === 2, 'reconciliation answers');
    expect(updates.find((u) => u.task_id.value === 'hung')!.state).toBe('TASK_STAGING');
    expect(updates.find((u) => u.task_id.value === 'dropped')!.state).toBe('TASK_UNKNOWN');
  });

  it('filters like the hierarchical allocator: what an ACCEPT left and what a DECLINE refused, until more is free or REVIVE', async () => {
    const { master, client, offers } = await setup();
    const [a, b] = [offers.find((o) => o.agent_id.value === 'agent-0')!, offers.find((o) => o.agent_id.value === 'agent-1')!];
    const offeredFor = (agent: string) => [...master.offers.values()].filter((o) => o.agentId === agent).length;
    const untilIn = (agent: string) => Math.max(...master.framework!.filters.get(agent)!.map((f) => f.until)) - Date.now();
    await client.launch([a.id], [task(a, 'busy')], { refuse_seconds: 3600 });
    await client.decline([b.id]);
    await waitUntil(() => master.task('busy')?.state === 'TASK_RUNNING' && master.framework!.filters.size === 2, 'task running, both agents filtered');
    expect(untilIn('agent-0')).toBeGreaterThan(3500_000); // the rest of the accepted offer, for refuse_seconds
    expect(untilIn('agent-1')).toBeGreaterThan(3000); // no filter given: Mesos' default of 5 s
    expect(untilIn('agent-1')).toBeLessThanOrEqual(5000);
    master.allocateNow();
    expect(master.offers.size).toBe(0);
    // The task ends: agent-0 now has more free than was refused there, so it is offered; agent-1 is still filtered.
    master.failTask('busy');
    await waitUntil(() => master.task('busy')?.state === 'TASK_FAILED', 'busy failed');
    master.allocateNow();
    expect([offeredFor('agent-0'), offeredFor('agent-1')]).toEqual([1, 0]);
    // REVIVE clears the filters and allocates at once, without waiting for the allocation interval.
    await client.revive();
    await waitUntil(() => offeredFor('agent-1') === 1, 'agent-1 offered after REVIVE');
    expect(master.framework!.filters.size).toBe(0);
    // refuse_seconds 0 sets no filter at all.
    await client.decline([[...master.offers.values()].find((o) => o.agentId === 'agent-1')!.offer.id], { refuse_seconds: 0 });
    master.allocateNow();
    expect(offeredFor('agent-1')).toBe(1);
  });

  it('delivers every event type to its client event', async () => {
    const { master, client } = await setup();
    const got: string[] = [];
    for (const name of ['inverse_offers', 'rescind_inverse_offer', 'update_operation_status', 'message', 'failure'] as const) {
      client.on(name, () => got.push(name));
    }
    const agent = { value: 'agent-0' };
    master.sendEvent({
      type: 'INVERSE_OFFERS',
      inverse_offers: { inverse_offers: [{ id: { value: 'io1' }, framework_id: { value: client.frameworkId! }, agent_id: agent, unavailability: { start: { nanoseconds: 1 } } }] },
    });
    master.sendEvent({ type: 'RESCIND_INVERSE_OFFER', rescind_inverse_offer: { inverse_offer_id: { value: 'io1' } } });
    master.sendEvent({ type: 'UPDATE_OPERATION_STATUS', update_operation_status: { status: { state: 'OPERATION_FINISHED', operation_id: { value: 'op' } } } });
    master.sendEvent({ type: 'MESSAGE', message: { agent_id: agent, executor_id: { value: 'e' }, data: Buffer.from('hi') } });
    master.sendEvent({ type: 'FAILURE', failure: { agent_id: agent, executor_id: { value: 'e' }, status: 137 } });
    await waitUntil(() => got.length === 5, 'five events');
    expect(got).toEqual(['inverse_offers', 'rescind_inverse_offer', 'update_operation_status', 'message', 'failure']);
  });
});
