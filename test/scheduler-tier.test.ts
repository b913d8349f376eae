// A tier of servers (schedule --servers K): the pure rules (failover lists, rolling relaunch picks), then the
// framework on the Mesos-like fake master: servers on distinct agents, both on a one-agent cluster, every miner's
// -o list and how the primaries spread, a server lost without any miner relaunched, and the rolling relaunch that
// takes a replacement at a new address into the miners' lists, never more than its bound at a time.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, FRAMEWORK_DEFAULTS, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { ServerStatsPoller } from '../src/scheduler/server-stats.js';
import { StateFile } from '../src/scheduler/state-file.js';
import { failoverLists, listKey, pickOutdated, relaunchLimit } from '../src/scheduler/tier.js';
import { FakeMaster, type FakeAgentSpec, type FakeTask } from './support/fake-master.js';
import { testFrameworkConfig } from './support/framework-config.js';
import { waitUntil } from './support/wait-until.js';

describe('tier rules', () => {
  const tier = (...keys: string[]) => keys.map((key) => ({ key, healthy: true }));

  it('spreads primaries evenly and, per primary, the second choices too', () => {
    const lists = failoverLists(tier('a', 'b', 'c'), new Map(), 6);
    expect(lists).toEqual([['a', 'b', 'c'], ['b', 'a', 'c'], ['c', 'a', 'b'], ['a', 'c', 'b'], ['b', 'c', 'a'], ['c', 'b', 'a']]);
    // New miners go to the server the fewest use: after a replacement, that is the new one.
    expect(failoverLists(tier('a', 'b', 'c'), new Map([['a', 3], ['c', 3]]), 3).map((l) => l[0])).toEqual(['b', 'b', 'b']);
  });

  it('never makes an unhealthy server a primary while a healthy one runs, but keeps it in the list', () => {
    const lists = failoverLists([{ key: 'a', healthy: false }, { key: 'b', healthy: true }], new Map(), 2);
    expect(lists).toEqual([['b', 'a'], ['b', 'a']]);
    expect(failoverLists([{ key: 'a', healthy: false }], new Map(), 1)).toEqual([['a']]);
  });

  it('relaunches at most the bound, RUNNING miners only, those whose primary is gone first', () => {
    const m = (id: string, state = 'TASK_RUNNING') => ({ id, state });
    const groups = new Map([
      [listKey(['a', 'b']), new Set([m('1'), m('2', 'TASK_STAGING'), m('3')])],
      [listKey(['b', 'a']), new Set([m('4'), m('5')])],
      [listKey(['b', 'c']), new Set([m('6')])],
    ]);
    // 'a' was replaced by 'c': every list without 'c' is outdated; those on 'a' first.
    expect(pickOutdated(groups, new Set(['b', 'c']), 3).map((x) => x.id)).toEqual(['1', '3', '4']);
    expect(pickOutdated(groups, new Set(['b', 'c']), 0)).toEqual([]);
    expect(pickOutdated(groups, new Set(['b']), 10)).toEqual([]); // lost, not replaced yet: nobody is relaunched
    expect([relaunchLimit(10_000, 0.1), relaunchLimit(5, 0.1), relaunchLimit(0, 0.1)]).toEqual([1000, 1, 1]);
  });
});

describe("the farm's figures from the servers' own /status", () => {
  it('sums connections, hashrate by window and blocks; a server that stops answering keeps its last figures, with the error', async () => {
    let failing = false;
    const serve = (connections: number, rate: number) => http.createServer((req, res) => {
      if (failing && connections === 2) return void res.writeHead(500).end();
      expect(req.url).toBe('/status?miners=0');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        connections, upstream: { state: 'connected' }, stats: { hashrate: { '1m': rate, '5m': rate / 2 }, blocksFound: 1 },
      }));
    }).listen(0, '127.0.0.1');
    const servers = [serve(3, 6e6), serve(2, 4e6)];
    await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
    try {
      const targets = servers.map((s, i) => ({ key: `s${i}`, statusUrl: `http://127.0.0.1:${(s.address() as AddressInfo).port}/status?miners=0` }));
      let shown = targets;
      const poller = new ServerStatsPoller(() => shown, 60_000);
      await poller.poll();
      expect(poller.farm()).toEqual({ reporting: 2, connections: 5, hashrate: { '1m': 10e6, '5m': 5e6 }, blocksFound: 2 });
      expect(poller.get('s1')).toMatchObject({ connections: 2, upstream: 'connected' });
      failing = true;
      await poller.poll();
      expect(poller.farm()).toMatchObject({ reporting: 1, connections: 5 });
      expect(poller.get('s1')!.error).toBe('HTTP 500');
      // A server no longer running is forgotten.
      shown = [targets[0]!];
      await poller.poll();
      expect(poller.farm()).toEqual({ reporting: 1, connections: 3, hashrate: { '1m': 6e6, '5m': 3e6 }, blocksFound: 1 });
    } finally {
      for (const s of servers) s.close();
    }
  });
});

let dir: string;
let master: FakeMaster | undefined;
const frameworks: Framework[] = [];

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-tier-')); });
afterEach(async () => {
  for (const f of frameworks.splice(0)) await f.stop();
  await master?.close();
  master = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function startFramework(overrides: Partial<FrameworkConfig>): Promise<Framework> {
  const cfg = testFrameworkConfig({ servers: 2, maxMinersPerAgent: 4, ...overrides });
  const client = new SchedulerClient({ master: master!.url, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 } });
  const framework = new Framework(cfg, client, new StateFile(join(dir, 'state.json')), silentLogger);
  frameworks.push(framework);
  await framework.start();
  return framework;
}

const live = (role: 'server' | 'miner') => [...master!.tasks.values()].filter((t) => t.taskId.startsWith(`mm.${role}.`) && t.state === 'TASK_RUNNING');
const endpointOf = (t: FakeTask) => `${master!.agents.find((a) => a.id === t.agentId)!.hostname}:${t.ports[0]}`;
/** A miner's -o list, host:port, in order. */
const listOf = (t: FakeTask) => {
  const args = t.info.command!.arguments!;
  return args.flatMap((v, i) => (v === '-o' ? [args[i + 1]!.replace('stratum+tcp://', '')] : []));
};

async function steady(framework: Framework, servers: number, miners: number): Promise<void> {
  await waitUntil(() => live('server').length === servers && live('miner').length === miners
    && framework.status().running.servers === servers && framework.status().running.miners === miners
    && framework.status().rolling.outdated === 0, `${servers} servers + ${miners} miners running`, 10_000);
}

describe('a tier of servers on the fake master', () => {
  it('servers on distinct agents; every miner gets every server, primaries and second choices spread evenly', async () => {
    master = await FakeMaster.start({ agents: 5 });
    const framework = await startFramework({ servers: 3, miners: 6 });
    await steady(framework, 3, 6);
    const servers = live('server');
    expect(new Set(servers.map((s) => s.agentId)).size).toBe(3);
    // Each server has its own index in the tier, on its command line.
    const indexes = servers.map((s) => s.info.command!.arguments![s.info.command!.arguments!.indexOf('--server-index') + 1]);
    expect(indexes.sort()).toEqual(['0', '1', '2']);
    const endpoints = servers.map(endpointOf).sort();
    const lists = live('miner').map(listOf);
    for (const list of lists) expect([...list].sort()).toEqual(endpoints);
    const primaries = new Map<string, number>();
    for (const list of lists) primaries.set(list[0]!, (primaries.get(list[0]!) ?? 0) + 1);
    expect([...primaries.values()]).toEqual([2, 2, 2]);
    // The two miners of each primary fail over to different servers.
    for (const e of endpoints) expect(new Set(lists.filter((l) => l[0] === e).map((l) => l[1])).size).toBe(2);
    // The scheduler's /status: every server and the workers that use it as primary.
    const status = framework.status();
    expect(status.desired).toEqual({ servers: 3, miners: 6 });
    expect(status.servers.map((s) => s.primaryFor.length)).toEqual([2, 2, 2]);
    expect(status.servers.flatMap((s) => s.primaryFor).sort()).toEqual(['miner-1', 'miner-2', 'miner-3', 'miner-4', 'miner-5', 'miner-6']);
  });

  it('a one-agent cluster places both servers on it, each with its own ports, in one ACCEPT', async () => {
    const agent: FakeAgentSpec = { cpus: 2, mem: 4096, ports: [[24000, 24499]] };
    master = await FakeMaster.start({ agents: [agent] });
    const framework = await startFramework({ miners: 2, server: { cpus: 0.5, mem: 160 }, miner: { cpus: 0.5, mem: 144 } });
    await steady(framework, 2, 2);
    expect(live('server').map((s) => s.ports).sort()).toEqual([[24000, 24001], [24002, 24003]]);
    const first = master.callsOfType('ACCEPT')[0]!.call.accept!.operations![0]!.launch!.task_infos!;
    expect(first.map((t) => t.task_id.value.split('.')[1])).toEqual(['server', 'server']);
  });

  it('a farm offered at once: at most maxAcceptsInFlight offers used per round, the rest declined in groups for 1, 2... s and used when they come back', async () => {
    master = await FakeMaster.start({ agents: 12 });
    const framework = await startFramework({
      servers: 2, miners: 10, maxMinersPerAgent: 1, maxAcceptsInFlight: 3, reviveIntervalMs: FRAMEWORK_DEFAULTS.reviveIntervalMs,
    });
    await steady(framework, 2, 10);
    // Servers first (the other offers declined for long: no miner can go anywhere yet); once they run, a REVIVE
    // brings the 10 agents back: 3 used, the other 7 deferred in groups of at most 3, back after 1, 2, 3 s.
    const deferred = master.callsOfType('DECLINE').map((c) => c.call.decline!).filter((d) => d.filters!.refuse_seconds! < 600);
    expect(deferred.length).toBeGreaterThanOrEqual(3);
    expect(deferred.every((d) => d.offer_ids!.length <= 3)).toBe(true);
    expect(new Set(deferred.map((d) => d.filters!.refuse_seconds))).toEqual(new Set([1, 2, 3]));
    // They came back by themselves: the one REVIVE is the one for the miners once the servers ran.
    expect(master.callsOfType('REVIVE')).toHaveLength(1);
    expect(master.callsOfType('ACCEPT').reduce((n, c) => n + c.call.accept!.operations![0]!.launch!.task_infos!.length, 0)).toBe(12);
  }, 20_000);

  it('a server lost and replaced at the same address: no miner is ever relaunched, the tier is whole again', async () => {
    master = await FakeMaster.start({ agents: [{ cpus: 2, mem: 4096, ports: [[24000, 24499]] }] });
    const framework = await startFramework({ miners: 2, server: { cpus: 0.5, mem: 160 }, miner: { cpus: 0.5, mem: 144 } });
    await steady(framework, 2, 2);
    const miners = live('miner').map((m) => m.taskId).sort();
    const lost = live('server').find((s) => s.ports[0] === 24000)!;
    master.failTask(lost.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED');
    await waitUntil(() => live('server').some((s) => s.taskId !== lost.taskId && s.ports[0] === 24000), 'the replacement at 24000');
    await steady(framework, 2, 2);
    await framework.idle();
    expect(live('miner').map((m) => m.taskId).sort()).toEqual(miners);
    expect(master.callsOfType('KILL')).toHaveLength(0);
  });

  it('a server its health check kills (TASK_KILLING) is replaced once it is gone: the same ports, no miner relaunched', async () => {
    // Room for a third server: a replacement launched while the old one still holds its ports would get others.
    master = await FakeMaster.start({ agents: [{ cpus: 4, mem: 4096, ports: [[24000, 24499]] }] });
    const framework = await startFramework({ miners: 2, server: { cpus: 0.5, mem: 160 }, miner: { cpus: 0.5, mem: 144 } });
    await steady(framework, 2, 2);
    const sick = live('server').find((s) => s.ports[0] === 24000)!;
    master.failTask(sick.taskId, 'TASK_KILLING', 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
    await waitUntil(() => framework.status().servers.find((s) => s.taskId === sick.taskId)?.state === 'TASK_KILLING', 'the server being killed');
    // Ticks come every 20 ms: a replacement launched now would take other ports, a new address.
    await new Promise((r) => setTimeout(r, 200));
    await framework.idle();
    expect(master.callsOfType('ACCEPT')).toHaveLength(2);
    master.failTask(sick.taskId, 'TASK_KILLED', 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
    await waitUntil(() => live('server').some((s) => s.taskId !== sick.taskId && s.ports[0] === 24000), 'the replacement at 24000');
    await steady(framework, 2, 2);
    expect(master.callsOfType('KILL')).toHaveLength(0);
  });

  it('a server replaced at a new address: no miner is touched before it runs, then a rolling relaunch of at most the bound at a time', async () => {
    // Two server-sized agents and a spare (one CPU each: a server leaves no room for a miner), two miner agents without ports.
    const serverAgent = (n: number): FakeAgentSpec => ({ id: `s${n}`, hostname: `s${n}.example`, cpus: 1, mem: 1024, ports: [[31000, 31099]] });
    const minerAgent = (n: number): FakeAgentSpec => ({ id: `m${n}`, hostname: `m${n}.example`, cpus: 4, mem: 4096, ports: [] });
    // Launches and kills take 100 ms per step, so launches and kills in flight can be watched.
    master = await FakeMaster.start({ agents: [serverAgent(0), serverAgent(1), minerAgent(0), minerAgent(1), serverAgent(2)], launchStepMs: 100 });
    // Repeated revives as rarely as in production: every REVIVE seen is one the framework chose at once.
    const framework = await startFramework({ miners: 6, maxRelaunchFraction: 0.34, server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 160 }, reviveIntervalMs: 60_000 });
    await steady(framework, 2, 6);
    expect(live('server').map((s) => s.agentId).sort()).toEqual(['s0', 's1']);
    const before = new Map(live('miner').map((m) => [m.taskId, listOf(m)]));
    const killsBefore = master.callsOfType('KILL').length;

    // Watch, between event-loop turns: miner kills before the replacement runs, and how many of the 6 miner slots
    // have no RUNNING miner that is not being killed (the master's view; the scheduler's is never smaller).
    const limit = relaunchLimit(6, 0.34);
    let killedEarly = 0;
    let peakInFlight = 0;
    let revivesBefore = 0;
    const replacementRunning = () => live('server').some((s) => s.agentId === 's2');
    const watcher = setInterval(() => {
      const killed = new Set(master!.callsOfType('KILL').slice(killsBefore).map((c) => c.call.kill!.task_id.value));
      if (killed.size > 0 && !replacementRunning()) killedEarly = killed.size;
      const hashing = live('miner').filter((t) => !killed.has(t.taskId)).length;
      peakInFlight = Math.max(peakInFlight, 6 - hashing);
    }, 1);
    try {
      master.loseAgent('s0');
      await waitUntil(replacementRunning, 'the replacement server on s2', 10_000);
      revivesBefore = master.callsOfType('REVIVE').length;
      await waitUntil(() => live('miner').length === 6 && live('miner').every((m) => !before.has(m.taskId)), 'every miner relaunched', 20_000);
      await steady(framework, 2, 6);
      await waitUntil(() => framework.status().suppressed, 'offers suppressed once the relaunch is over', 10_000);
    } finally {
      clearInterval(watcher);
    }
    expect(killedEarly).toBe(0);
    // The relaunched miners' resources come back as offers of their own: no REVIVE per relaunched miner (each one
    // would make the master offer every agent again).
    expect(master.callsOfType('REVIVE').length - revivesBefore).toBeLessThanOrEqual(1);
    expect(peakInFlight).toBeGreaterThan(0);
    expect(peakInFlight).toBeLessThanOrEqual(limit);
    // Every miner now has the two running servers, none the lost one; the primaries are even again.
    const endpoints = live('server').map(endpointOf).sort();
    const lists = live('miner').map(listOf);
    for (const list of lists) expect([...list].sort()).toEqual(endpoints);
    expect(lists.filter((l) => l[0] === endpoints[0]).length).toBe(3);
    // The lost server keeps its index while it may come back: the replacement got a new one.
    const replacement = live('server').find((s) => s.agentId === 's2')!;
    expect(replacement.info.command!.arguments!).toContain('2');
    expect(framework.status().servers.find((s) => s.host === 's0.example')!.index).toBe(0);
  }, 40_000);

  it('the rolling relaunch goes on when the cluster cannot place every miner (missing miners are not its doing)', async () => {
    // Room for 8 miners (two agents, 4 each; a miner does not fit a server agent) of the 9 asked for: one miner is
    // missing for good, and the bound is 1.
    const serverAgent = (n: number): FakeAgentSpec => ({ id: `s${n}`, hostname: `s${n}.example`, cpus: 1, mem: 1024, ports: [[31000, 31099]] });
    const minerAgent = (n: number): FakeAgentSpec => ({ id: `m${n}`, hostname: `m${n}.example`, cpus: 4, mem: 8192, ports: [] });
    master = await FakeMaster.start({ agents: [serverAgent(0), serverAgent(1), minerAgent(0), minerAgent(1), serverAgent(2)] });
    const framework = await startFramework({ miners: 9, maxRelaunchFraction: 0.1, server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 1536 } });
    await waitUntil(() => live('server').length === 2 && live('miner').length === 8, '2 servers + the 8 miners there is room for', 10_000);
    const before = new Set(live('miner').map((m) => m.taskId));
    master.loseAgent('s0');
    await waitUntil(() => live('server').some((s) => s.agentId === 's2'), 'the replacement server on s2', 10_000);
    const endpoints = () => live('server').map(endpointOf).sort();
    await waitUntil(() => live('miner').length === 8 && live('miner').every((m) => !before.has(m.taskId) && [...listOf(m)].sort().join() === endpoints().join()),
      'every placed miner relaunched with the running servers', 20_000);
    expect(framework.status().rolling).toMatchObject({ outdated: 0, limit: 1 });
  }, 40_000);
});
