// The framework through what real clusters do to it, against the fake master over real HTTP: a non-leading
// master that redirects, a leader that goes silent (missed heartbeats), offers rescinded while a launch is being
// planned, an agent that disappears and comes back, and offers that make no sense.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../src/log.js';
import type { Offer } from '../src/mesos/types.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile, type PersistedState } from '../src/scheduler/state-file.js';
import { FakeMaster, type FakeMasterOptions } from './support/fake-master.js';
import { testFrameworkConfig } from './support/framework-config.js';
import { waitUntil } from './support/wait-until.js';

let dir: string;
const masters: FakeMaster[] = [];
const frameworks: Framework[] = [];

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-failover-')); });
afterEach(async () => {
  for (const f of frameworks.splice(0)) await f.stop();
  for (const m of masters.splice(0)) await m.close();
  await rm(dir, { recursive: true, force: true });
});

async function startMaster(opts: FakeMasterOptions = {}): Promise<FakeMaster> {
  const master = await FakeMaster.start({ agents: 3, ...opts });
  masters.push(master);
  return master;
}

function config(overrides: Partial<FrameworkConfig> = {}): FrameworkConfig {
  return testFrameworkConfig({ name: 'fo', ...overrides });
}

async function startFramework(masterUrls: string | string[], opts: { cfg?: FrameworkConfig; stateFile?: StateFile } = {}): Promise<{ framework: Framework; client: SchedulerClient }> {
  const cfg = opts.cfg ?? config();
  const client = new SchedulerClient({ master: masterUrls, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 } });
  const framework = new Framework(cfg, client, opts.stateFile ?? new StateFile(join(dir, 'state.json')), silentLogger);
  frameworks.push(framework);
  await framework.start();
  return { framework, client };
}

const running = (master: FakeMaster, role: 'server' | 'miner') => master.runningTasks().filter((t) => t.taskId.startsWith(`fo.${role}.`));

async function steady(master: FakeMaster, framework: Framework, miners = 2): Promise<void> {
  await waitUntil(() => running(master, 'server').length === 1 && running(master, 'miner').length === miners
    && framework.runningCounts().miners === miners && framework.runningCounts().servers === 1, `1 server + ${miners} miners running`, 8000);
}

describe('framework failover behaviour', () => {
  it('a non-leading master redirects to the leader; after losing the leader it resubscribes through the redirect, reconciles and keeps its tasks', async () => {
    const leader = await startMaster();
    const follower = await startMaster({ redirectTo: leader.url });
    // The follower is listed first, as an operator would list every master.
    const { framework } = await startFramework([follower.url, leader.url]);
    await steady(leader, framework);
    expect(follower.calls).toHaveLength(0); // it only ever answered 307
    expect(follower.tasks.size).toBe(0);
    const id = leader.framework!.id;
    const accepts = leader.callsOfType('ACCEPT').length;
    const reconciles = leader.callsOfType('RECONCILE').length;
    const tasks = leader.runningTasks().map((t) => t.taskId).sort();

    leader.dropConnection();
    await waitUntil(() => leader.callsOfType('SUBSCRIBE').length === 2, 'a second SUBSCRIBE at the leader');
    const resubscribe = leader.callsOfType('SUBSCRIBE')[1]!.call;
    expect(resubscribe.framework_id!.value).toBe(id);
    expect(resubscribe.subscribe!.framework_info.id!.value).toBe(id);
    // Explicit reconciliation of every task it knows, answered, and nothing launched again.
    await waitUntil(() => leader.callsOfType('RECONCILE').length > reconciles && framework.status().reconciling === 0, 'reconciliation after resubscribing');
    const asked = leader.callsOfType('RECONCILE').at(-1)!.call.reconcile!.tasks!.map((t) => t.task_id.value).sort();
    expect(asked).toEqual(tasks);
    await steady(leader, framework);
    await new Promise((r) => setTimeout(r, 100));
    expect(leader.callsOfType('ACCEPT')).toHaveLength(accepts);
    expect(leader.runningTasks().map((t) => t.taskId).sort()).toEqual(tasks);
  });

  it('missed heartbeats: the framework drops the silent stream, resubscribes with its id, reconciles and keeps its tasks', async () => {
    const master = await startMaster({ heartbeatIntervalSeconds: 0.05 });
    const { framework, client } = await startFramework(master.url);
    await steady(master, framework);
    const accepts = master.callsOfType('ACCEPT').length;
    const reconciles = master.callsOfType('RECONCILE').length;
    const subscribes = master.callsOfType('SUBSCRIBE').length;
    let disconnectReason = '';
    client.once('disconnected', (reason) => { disconnectReason = reason; });

    master.pauseHeartbeats(); // the connection stays open: only the watchdog can notice
    await waitUntil(() => master.callsOfType('SUBSCRIBE').length > subscribes, 'a resubscription after missed heartbeats');
    master.resumeHeartbeats();
    expect(disconnectReason).toMatch(/heartbeats missed/);
    expect(master.callsOfType('SUBSCRIBE').at(-1)!.call.framework_id!.value).toBe(master.framework!.id);
    await waitUntil(() => master.callsOfType('RECONCILE').length > reconciles && framework.status().reconciling === 0, 'reconciliation answered');
    await steady(master, framework);
    expect(master.callsOfType('ACCEPT')).toHaveLength(accepts);
    expect(framework.status().subscribed).toBe(true);
  });

  it('offers rescinded while their launch is being planned are never accepted; the tasks go to other offers', async () => {
    const master = await startMaster({ agents: 4 });
    // Saving launch intents takes a while here, so a RESCIND arrives between planning and ACCEPT.
    class SlowStateFile extends StateFile {
      override async save(state: PersistedState | (() => PersistedState)): Promise<void> {
        const snapshot = typeof state === 'function' ? state() : state;
        if (snapshot.tasks.some((t) => t.state === 'INTENT')) await new Promise((r) => setTimeout(r, 80));
        return super.save(snapshot);
      }
    }
    const rescinded = new Set<string>();
    const stateFile = new SlowStateFile(join(dir, 'state.json'));
    const cfg = config();
    const client = new SchedulerClient({ master: master.url, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 } });
    const messages: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { messages.push(String(JSON.parse(chunk.toString()).msg)); done(); } });
    const framework = new Framework(cfg, client, stateFile, createLogger({ format: 'json', destination: sink }));
    frameworks.push(framework);
    // Registered after the framework's own listener: the framework has queued these offers when they are rescinded.
    let batches = 0;
    client.on('offers', (offers: Offer[]) => {
      if (!framework.status().subscribed || ++batches > 2) return; // the first two batches: the server's round and the miners' round
      for (const o of offers) {
        rescinded.add(o.id.value);
        master.rescind(o.id.value);
      }
    });
    await framework.start();
    await steady(master, framework);

    const acceptedOffers = master.callsOfType('ACCEPT').flatMap((c) => c.call.accept!.offer_ids!.map((o) => o.value));
    expect(acceptedOffers.filter((id) => rescinded.has(id))).toEqual([]);
    const declinedOffers = master.callsOfType('DECLINE').flatMap((c) => c.call.decline!.offer_ids!.map((o) => o.value));
    expect(declinedOffers.filter((id) => rescinded.has(id))).toEqual([]);
    // No launch ever failed for an invalid offer, and exactly the tasks that run were launched.
    const statuses = [...master.tasks.values()].flatMap((t) => t.statuses.map((s) => s.state));
    expect(statuses).not.toContain('TASK_DROPPED');
    const launched = master.callsOfType('ACCEPT').flatMap((c) => c.call.accept!.operations![0]!.launch!.task_infos!.map((t) => t.task_id.value));
    expect(launched.sort()).toEqual(master.runningTasks().map((t) => t.taskId).sort());
    expect(framework.status().tasks).toHaveLength(3);
    // The planned launches were dropped when the RESCIND came in during the save, before any ACCEPT.
    expect(messages).toContain('offer rescinded before ACCEPT: launch dropped');
  });

  it('agent lost: its miner is replaced elsewhere; when the agent comes back with the old miner running, the surplus is killed', async () => {
    const master = await startMaster({ agents: 4 });
    const { framework } = await startFramework(master.url);
    await steady(master, framework);
    const serverAgent = running(master, 'server')[0]!.agentId;
    const victim = running(master, 'miner').find((m) => m.agentId !== serverAgent)!;
    master.loseAgent(victim.agentId);
    expect(master.task(victim.taskId)!.state).toBe('TASK_UNREACHABLE'); // PARTITION_AWARE: precise state
    await waitUntil(() => running(master, 'miner').filter((m) => m.agentId !== victim.agentId).length === 2, 'a replacement on another agent');
    expect(framework.status().tasks.find((t) => t.taskId === victim.taskId)?.state).toBe('TASK_UNREACHABLE');

    // The agent re-registers and its task reports RUNNING again: three miners for two wanted.
    master.restoreAgent(victim.agentId);
    master.failTask(victim.taskId, 'TASK_RUNNING');
    await waitUntil(() => master.callsOfType('KILL').length >= 1, 'a KILL for the surplus miner');
    await waitUntil(() => running(master, 'miner').length === 2 && framework.runningCounts().miners === 2, 'back to 2 miners');
    await framework.idle();
    expect(framework.status().tasks.filter((t) => t.role === 'miner' && !t.killRequested)).toHaveLength(2);
  });

  it('garbage offers (negative or missing scalars, no or broken port ranges) launch nothing and are declined; a sane agent is then used', async () => {
    const master = await startMaster({ agents: [] });
    const { framework } = await startFramework(master.url);
    await waitUntil(() => framework.status().subscribed, 'subscribed');
    const fwId = master.framework!.id;
    const offer = (id: string, resources: Offer['resources']): Offer => ({
      id: { value: id }, framework_id: { value: fwId }, agent_id: { value: `bad-agent-${id}` }, hostname: `${id}.bad`, resources,
    });
    const scalar = (name: string, value: number) => ({ name, type: 'SCALAR' as const, scalar: { value } });
    const ports = (range: Array<{ begin: number; end: number }>) => ({ name: 'ports', type: 'RANGES' as const, ranges: { range } });
    const garbage = [
      offer('neg-cpus', [scalar('cpus', -4), scalar('mem', 4096), ports([{ begin: 31000, end: 31010 }])]),
      offer('neg-mem', [scalar('cpus', 4), scalar('mem', -1), ports([{ begin: 31000, end: 31010 }])]),
      offer('no-ports', [scalar('cpus', 4), scalar('mem', 4096)]),
      offer('reversed-ports', [scalar('cpus', 4), scalar('mem', 4096), ports([{ begin: 31010, end: 31000 }])]),
      offer('port-zero', [scalar('cpus', 4), scalar('mem', 4096), ports([{ begin: 0, end: 0 }])]),
      offer('one-port', [scalar('cpus', 4), scalar('mem', 4096), ports([{ begin: 31000, end: 31000 }])]),
      offer('empty', []),
      offer('strange', [{ name: 'cpus', type: 'RANGES', ranges: { range: [{ begin: 1, end: 8 }] } }, { name: 'mem', type: 'SET', set: { item: ['a'] } }]),
    ];
    master.sendEvent({ type: 'OFFERS', offers: { offers: garbage } });
    await waitUntil(() => master.callsOfType('DECLINE').some((c) => c.call.decline!.offer_ids!.length === garbage.length), 'one DECLINE of all garbage offers');
    expect(master.callsOfType('ACCEPT')).toHaveLength(0);
    expect(framework.status().tasks).toHaveLength(0);

    // The framework is unharmed: a real agent joins and gets the server and both miners (max 1 per agent: 3 agents).
    for (let i = 0; i < 3; i++) master.agents.push({ id: `good-${i}`, hostname: `good${i}.fake.local`, cpus: 4, mem: 8192, ports: [[31000, 31099]], lost: false });
    await steady(master, framework);
    expect(master.callsOfType('ACCEPT').flatMap((c) => c.call.accept!.offer_ids!.map((o) => o.value)).some((id) => garbage.some((g) => g.id.value === id))).toBe(false);
  });
});
