// The framework against the in-process fake master over real HTTP (protobuf wire format by default).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, FRAMEWORK_DEFAULTS, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile } from '../src/scheduler/state-file.js';
import { portInRanges } from '../src/scheduler/resources.js';
import { startStatusServer } from '../src/scheduler/status-server.js';
import { FakeMaster, type FakeAgentSpec, type FakeTask } from './support/fake-master.js';
import { testFrameworkConfig } from './support/framework-config.js';
import { waitUntil } from './support/wait-until.js';

let dir: string;
let master: FakeMaster | undefined;
const frameworks: Framework[] = [];

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-sched-')); });
afterEach(async () => {
  for (const f of frameworks.splice(0)) await f.stop();
  await master?.close();
  master = undefined;
  await rm(dir, { recursive: true, force: true });
});

function config(overrides: Partial<FrameworkConfig> = {}): FrameworkConfig {
  return testFrameworkConfig({
    miners: 4,
    miner: { cpus: 2, mem: 192 },
    maxMinersPerAgent: 2,
    secrets: { poolPass: 'pool-secret', minerPassword: 'miner-secret' },
    launchTimeoutMs: 400,
    ...overrides,
  });
}

async function startFramework(cfg: FrameworkConfig, contentType: 'protobuf' | 'json' = 'protobuf'): Promise<Framework> {
  const client = new SchedulerClient({
    master: master!.url, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 }, contentType,
  });
  const framework = new Framework(cfg, client, new StateFile(join(dir, 'state.json')), silentLogger);
  frameworks.push(framework);
  await framework.start();
  return framework;
}

const running = (role: 'server' | 'miner') => master!.runningTasks().filter((t) => t.taskId.startsWith(`mm.${role}.`));
const argsOf = (t: FakeTask) => t.info.command!.arguments!;
const serverEndpointOf = (t: FakeTask) => `${master!.agents.find((a) => a.id === t.agentId)!.hostname}:${t.ports[0]}`;
const minerTarget = (t: FakeTask) => argsOf(t)[argsOf(t).indexOf('-o') + 1]!.replace('stratum+tcp://', '');

async function steady(framework: Framework, miners: number): Promise<void> {
  await waitUntil(() => running('server').length === 1 && running('miner').length === miners
    && framework.status().running.miners === miners && framework.status().running.servers === 1, `1 server + ${miners} miners running`, 8000);
}

describe('framework on the fake master', () => {
  it('places the server first (ports from the offer), then miners sized by CPUs; acks every update; suppresses', async () => {
    master = await FakeMaster.start({ agents: [{ ports: [[31000, 31010]] }, { ports: [[32000, 32010]] }, { ports: [] }] });
    const framework = await startFramework(config());
    await steady(framework, 4);

    const launches = master.callsOfType('ACCEPT').map((c) => c.call.accept!.operations![0]!.launch!.task_infos!);
    expect(launches[0]!.map((t) => t.task_id.value.split('.')[1])).toEqual(['server']);
    const [server] = running('server');
    const agent = master.agents.find((a) => a.id === server!.agentId)!;
    expect(server!.ports).toHaveLength(2);
    for (const p of server!.ports) expect(portInRanges(p, agent.ports.map(([begin, end]) => ({ begin, end })))).toBe(true);
    expect(argsOf(server!)).toContain(`0.0.0.0:${server!.ports[0]}`);

    for (const m of running('miner')) {
      expect(minerTarget(m)).toBe(serverEndpointOf(server!));
      expect(argsOf(m)[argsOf(m).indexOf('-t') + 1]).toBe('2');
      expect(m.cpus).toBe(2);
      expect(JSON.stringify(argsOf(m))).not.toContain('secret');
    }
    const perAgent = new Map<string, number>();
    for (const m of running('miner')) perAgent.set(m.agentId, (perAgent.get(m.agentId) ?? 0) + 1);
    expect(Math.max(...perAgent.values())).toBeLessThanOrEqual(2);

    await waitUntil(() => master!.framework!.unacknowledged.size === 0 && master!.callsOfType('SUPPRESS').length > 0, 'all updates acknowledged and offers suppressed');
    // Every ACKNOWLEDGE names a uuid the master sent; none is sent for updates without one.
    expect(master.callsOfType('ACKNOWLEDGE').every((c) => c.call.acknowledge!.uuid.length === 16)).toBe(true);
    expect(master.acknowledged.size).toBe(master.callsOfType('ACKNOWLEDGE').length);
    // Declines are batched: at least one DECLINE carries several offers.
    expect(Math.max(...master.callsOfType('DECLINE').map((c) => c.call.decline!.offer_ids!.length))).toBeGreaterThan(1);
    expect(master.callsOfType('DECLINE').every((c) => c.call.decline!.filters!.refuse_seconds === FRAMEWORK_DEFAULTS.declineRefuseSeconds)).toBe(true);

    const sub = master.callsOfType('SUBSCRIBE')[0]!.call.subscribe!.framework_info;
    expect(sub.checkpoint).toBe(true);
    expect(sub.failover_timeout).toBe(7 * 24 * 3600);
    expect(sub.capabilities!.map((c) => c.type).sort()).toEqual(['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE']);
    const saved = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    expect(saved.frameworkId).toBe(master.framework!.id);
    expect(saved.tasks).toHaveLength(5);

    const status = await startStatusServer({ host: '127.0.0.1', port: 0 }, () => framework.status());
    try {
      const body = await (await fetch(`http://127.0.0.1:${status.port}/status`)).json() as ReturnType<Framework['status']>;
      expect(body.servers).toEqual([expect.objectContaining({
        index: 0, host: agent.hostname, stratumPort: server!.ports[0], httpPort: server!.ports[1], state: 'TASK_RUNNING',
      })]);
      expect(body.servers[0]!.primaryFor.sort()).toEqual(['miner-1', 'miner-2', 'miner-3', 'miner-4']);
      expect(body.tasks).toHaveLength(5);
      expect((await fetch(`http://127.0.0.1:${status.port}/nope`)).status).toBe(404);
    } finally {
      await status.close();
    }
  });

  it('never launches on offers without ports: declines them and keeps waiting for the server', async () => {
    master = await FakeMaster.start({ agents: [{ ports: [] }, { ports: [] }] });
    await startFramework(config({ miners: 2 }));
    await waitUntil(() => master!.callsOfType('DECLINE').length >= 1, 'a DECLINE');
    await new Promise((r) => setTimeout(r, 150));
    expect(master.callsOfType('ACCEPT')).toHaveLength(0);
    expect(master.tasks.size).toBe(0);
  });

  it('relaunches failed and lost miners, with the replacement running', async () => {
    master = await FakeMaster.start({ agents: 4 });
    const framework = await startFramework(config({ miners: 3 }));
    await steady(framework, 3);
    const victim = running('miner')[0]!;
    master.failTask(victim.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED');
    await waitUntil(() => running('miner').length === 3 && !running('miner').some((t) => t.taskId === victim.taskId), 'a replacement miner');
    await waitUntil(() => master!.callsOfType('REVIVE').length > 0, 'a REVIVE after the failure');

    const serverAgent = running('server')[0]!.agentId;
    const lostAgent = running('miner').find((m) => m.agentId !== serverAgent)!.agentId;
    const lostCount = running('miner').filter((m) => m.agentId === lostAgent).length;
    master.loseAgent(lostAgent);
    await waitUntil(() => running('miner').filter((m) => m.agentId !== lostAgent).length === 3, `${lostCount} miner(s) from the lost agent replaced`);
    await steady(framework, 3);
  });

  it('follows a server move: miners are relaunched against the new server address', async () => {
    master = await FakeMaster.start({ agents: 4 });
    const framework = await startFramework(config({ miners: 3 }));
    await steady(framework, 3);
    const oldServer = running('server')[0]!;
    const oldEndpoint = serverEndpointOf(oldServer);
    master.loseAgent(oldServer.agentId);
    await waitUntil(() => {
      const s = running('server').filter((t) => t.agentId !== oldServer.agentId);
      const ms = running('miner').filter((m) => m.agentId !== oldServer.agentId);
      return s.length === 1 && ms.length === 3 && ms.every((m) => minerTarget(m) === serverEndpointOf(s[0]!));
    }, 'a new server and 3 miners pointing at it', 8000);
    const newEndpoint = serverEndpointOf(running('server').find((t) => t.agentId !== oldServer.agentId)!);
    expect(newEndpoint).not.toBe(oldEndpoint);
    // The lost one stays listed (unreachable) until Mesos says it is gone.
    const shown = framework.status().servers.map((s) => [s.host, s.state]);
    expect(shown).toEqual(expect.arrayContaining([[newEndpoint.split(':')[0], 'TASK_RUNNING'], [oldEndpoint.split(':')[0], expect.stringMatching(/LOST|UNREACHABLE/)]]));
  });

  it('restarts with the persisted framework id, reconciles its tasks and launches nothing new', async () => {
    master = await FakeMaster.start({ agents: 3 });
    const first = await startFramework(config({ miners: 2 }));
    await steady(first, 2);
    const id = master.framework!.id;
    const launchesBefore = master.callsOfType('ACCEPT').length;
    await first.stop();
    frameworks.splice(frameworks.indexOf(first), 1);

    const second = await startFramework(config({ miners: 2 }));
    await waitUntil(() => master!.callsOfType('SUBSCRIBE').length === 2, 'second SUBSCRIBE');
    const resub = master.callsOfType('SUBSCRIBE')[1]!.call;
    expect(resub.subscribe!.framework_info.id!.value).toBe(id);
    expect(resub.framework_id!.value).toBe(id);
    await waitUntil(() => second.status().reconciling === 0 && master!.callsOfType('RECONCILE').length > 0, 'explicit reconciliation answered');
    const asked = master.callsOfType('RECONCILE')[0]!.call.reconcile!.tasks!.map((t) => t.task_id.value).sort();
    expect(asked).toEqual(master.runningTasks().map((t) => t.taskId).sort());
    await steady(second, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(master.callsOfType('ACCEPT')).toHaveLength(launchesBefore);
  });

  it('a launch the master never confirms is reconciled, given up and relaunched', async () => {
    master = await FakeMaster.start({ agents: 2 });
    master.launchBehavior = 'drop';
    const framework = await startFramework(config({ miners: 1 }));
    await waitUntil(() => master!.callsOfType('ACCEPT').length >= 1, 'first launch');
    await waitUntil(() => master!.callsOfType('RECONCILE').some((c) => (c.call.reconcile!.tasks ?? []).length === 1), 'launch-timeout reconciliation', 4000);
    master.launchBehavior = 'run';
    await steady(framework, 1);
    expect(master.callsOfType('ACCEPT').length).toBeGreaterThanOrEqual(2);
  });

  it('framework removed by the master: drops the stored id and subscribes fresh', async () => {
    master = await FakeMaster.start({ agents: 2 });
    const framework = await startFramework(config({ miners: 1 }));
    await steady(framework, 1);
    const oldId = master.framework!.id;
    master.removeFramework(oldId);
    await waitUntil(() => master!.framework && master!.framework.id !== oldId ? master!.framework : undefined, 'a fresh framework id', 5000);
    const saved = await waitUntil(() => framework.status().frameworkId !== oldId && framework.status().frameworkId, 'framework adopts the new id');
    expect(saved).toBe(master.framework!.id);
    await framework.idle();
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).frameworkId).toBe(saved);
  });

  it('works the same over the JSON wire format', async () => {
    master = await FakeMaster.start({ agents: 2 });
    const framework = await startFramework(config({ miners: 2 }), 'json');
    await steady(framework, 2);
    expect(master.calls.every((c) => c.format === 'json')).toBe(true);
    await waitUntil(() => master!.framework!.unacknowledged.size === 0, 'all JSON updates acknowledged');
  });

  it('teardown on exit removes the framework and its stored id', async () => {
    master = await FakeMaster.start({ agents: 2 });
    const framework = await startFramework(config({ miners: 1, teardownOnExit: true }));
    await steady(framework, 1);
    await framework.stop();
    frameworks.splice(frameworks.indexOf(framework), 1);
    expect(master.callsOfType('TEARDOWN')).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({ version: 1, tasks: [] });
  });
});

// Offers as a real master makes them (test/support/fake-master.ts: Mesos' allocator filters) with the real pacing
// of REVIVE: a launchable task must never wait for a filter to expire or for --revive-interval.
describe('offer filters and REVIVE on a Mesos-like master', () => {
  /** The agent `peers start mesos` runs. */
  const PEER_AGENT: FakeAgentSpec = { cpus: 2, mem: 4096, ports: [[24000, 24499]] };
  const offerConfig = (overrides: Partial<FrameworkConfig> = {}) => config({
    miners: 1, server: { cpus: 0.5, mem: 160 }, miner: { cpus: 1, mem: 144 },
    reviveIntervalMs: FRAMEWORK_DEFAULTS.reviveIntervalMs, ...overrides,
  });

  it('one agent: the miner is launched once the server runs, though the server\'s ACCEPT filtered the rest of the offer', async () => {
    master = await FakeMaster.start({ agents: [PEER_AGENT] });
    const framework = await startFramework(offerConfig());
    await steady(framework, 1);
    const [serverAccept, minerAccept] = master.callsOfType('ACCEPT').map((c) => c.call.accept!);
    // The rest of the agent went back with the long filter (no miner could be placed yet); a REVIVE cleared it.
    expect(serverAccept!.filters!.refuse_seconds).toBe(FRAMEWORK_DEFAULTS.declineRefuseSeconds);
    expect(minerAccept!.operations![0]!.launch!.task_infos![0]!.task_id.value).toMatch(/^mm\.miner\./);
    expect(master.callsOfType('REVIVE')).toHaveLength(1);
  });

  it('a failed server is replaced at once: the first REVIVE after a change does not wait for --revive-interval', async () => {
    master = await FakeMaster.start({ agents: [PEER_AGENT, PEER_AGENT] });
    const framework = await startFramework(offerConfig());
    await steady(framework, 1);
    await waitUntil(() => framework.status().suppressed, 'offers suppressed');
    const revives = master.callsOfType('REVIVE').length;
    const old = running('server')[0]!;
    master.failTask(old.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED');
    // --revive-interval is 30 s and the last REVIVE was just now: the replacement must not wait for it.
    await waitUntil(() => running('server').some((t) => t.taskId !== old.taskId), 'a replacement server');
    expect(master.callsOfType('REVIVE')).toHaveLength(revives + 1);
    await steady(framework, 1);
  });

  it('a task that does not fit any offer revives once, then only every --revive-interval', async () => {
    master = await FakeMaster.start({ agents: [PEER_AGENT] });
    const framework = await startFramework(offerConfig({ miner: { cpus: 4, mem: 144 } }));
    await waitUntil(() => running('server').length === 1 && master!.callsOfType('REVIVE').length === 1
      && master!.callsOfType('DECLINE').length >= 1, 'the server, a REVIVE for the miner and its offer declined');
    // Ticks come every 20 ms: a second REVIVE within the interval would show here.
    await new Promise((r) => setTimeout(r, 300));
    await framework.idle();
    expect(master.callsOfType('REVIVE')).toHaveLength(1);
    expect(running('miner')).toHaveLength(0);
  });
});
