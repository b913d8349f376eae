// The miners' monitoring endpoints as the scheduler and `local` give them: a declared port of the miner task's own
// for the cgminer API and for /status + /metrics (schedule --miner-api/--miner-http), what reaches `mine`'s argv,
// and the flags' defaults and checks (exit 2 before anything starts).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FrameworkStatus } from '../src/scheduler/framework.js';
import { planOffers, type PlacementRequest, type PlannedMiner } from '../src/scheduler/matching.js';
import type { Offer, Resource } from '../src/scheduler/mesos-types.js';
import { parseLocalFlags, parseScheduleFlags, type LocalFlags, type ScheduleFlags } from '../src/scheduler/options.js';
import { portInRanges } from '../src/scheduler/resources.js';
import { buildMinerTask, type ContainerOptions } from '../src/scheduler/task-spec.js';
import { FakeMaster } from './support/fake-master.js';
import { jsonLines, killStillRunning, spawnCli } from './support/processes.js';
import { waitUntil, within } from './support/wait-until.js';

const offer: Offer = {
  id: { value: 'o1' }, framework_id: { value: 'fw' }, agent_id: { value: 'agent-1' }, hostname: 'node1.example',
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 4096 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31002 }] } },
  ],
};

const request: PlacementRequest = {
  serversWanted: 0, serversOnAgent: new Map(), knownAgents: new Set(), spreadWaitOver: false, minersWanted: 3,
  server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 160 }, maxMinersPerAgent: 8, minersOnAgent: new Map(),
};

const portsOf = (resources: Resource[]) => resources.filter((r) => r.name === 'ports').flatMap((r) => r.ranges!.range!);

describe('placement with miner ports', () => {
  it('each miner takes its ports from the offer, declared in its resources; miners that find none are not placed', () => {
    const result = planOffers([offer], { ...request, minerPorts: 2 });
    const miners = result.launches[0]!.tasks as PlannedMiner[];
    // Three ports: one miner gets two, the second would need two more.
    expect(miners).toHaveLength(1);
    expect(miners[0]!.ports).toEqual([31000, 31001]);
    expect(portsOf(miners[0]!.resources)).toEqual([{ begin: 31000, end: 31000 }, { begin: 31001, end: 31001 }]);
    expect(result.unplaced.miners).toBe(2);
    const one = planOffers([offer], { ...request, minerPorts: 1 }).launches[0]!.tasks as PlannedMiner[];
    expect(one.map((m) => m.ports)).toEqual([[31000], [31001], [31002]]);
    // Without endpoints a miner takes no port (and fits an offer without any).
    const none = planOffers([{ ...offer, resources: offer.resources!.slice(0, 2) }], request).launches[0]!.tasks as PlannedMiner[];
    expect(none.map((m) => [m.ports, portsOf(m.resources)])).toEqual([[[], []], [[], []], [[], []]]);
  });
});

describe('the miner task with endpoints', () => {
  const planned: PlannedMiner = { role: 'miner', resources: [], threads: 2, ports: [31000, 31001] };
  const container = (network: 'HOST' | 'BRIDGE'): ContainerOptions => ({ mode: 'docker', image: 'img', network, forcePull: false, commandPath: '/x' });
  const task = (network: 'HOST' | 'BRIDGE', ports?: { api?: number; http?: number }, apiAllow?: string) => buildMinerTask({
    frameworkName: 'mm', taskId: 'mm.miner.1', agentId: 'a1', planned, servers: [{ host: 'h1', port: 3333 }], worker: 'miner-1',
    secrets: { minerPassword: 'pw' }, container: container(network), ...(ports ? { ports } : {}), ...(apiAllow ? { apiAllow } : {}),
  });

  it('HOST: mine listens on the declared ports on every interface, the API only for --api-allow; the ports are named for discovery', () => {
    const t = task('HOST', { api: 31000, http: 31001 }, '10.0.0.0/8,127.0.0.1');
    const argv = t.command!.arguments!;
    expect(argv.slice(argv.indexOf('--api-listen'))).toEqual(['--api-listen', '0.0.0.0:31000', '--api-allow', '10.0.0.0/8,127.0.0.1', '--http', '0.0.0.0:31001']);
    expect(t.discovery).toEqual({
      visibility: 'FRAMEWORK', name: 'mm-miner-1',
      ports: { ports: [{ number: 31000, name: 'cgminer-api', protocol: 'tcp' }, { number: 31001, name: 'http-metrics', protocol: 'tcp' }] },
    });
    expect(JSON.stringify(t.command!.arguments)).not.toContain('pw');
    // Only what was asked for; no allow list: mine's own default (loopback).
    const api = task('HOST', { api: 31000 }).command!.arguments!;
    expect(api.slice(api.indexOf('--api-listen'))).toEqual(['--api-listen', '0.0.0.0:31000']);
    const plain = task('HOST');
    expect(plain.command!.arguments!.some((a) => a === '--api-listen' || a === '--http')).toBe(false);
    expect(plain.discovery).toBeUndefined();
  });

  it('BRIDGE: fixed container ports (4028, 8080), the declared host ports mapped onto them', () => {
    const t = task('BRIDGE', { api: 31000, http: 31001 });
    const argv = t.command!.arguments!;
    expect(argv.slice(argv.indexOf('--api-listen'))).toEqual(['--api-listen', '0.0.0.0:4028', '--http', '0.0.0.0:8080']);
    expect(t.container!.docker!.port_mappings).toEqual([
      { host_port: 31000, container_port: 4028, protocol: 'tcp' }, { host_port: 31001, container_port: 8080, protocol: 'tcp' },
    ]);
    expect(task('BRIDGE').container!.docker!.port_mappings).toBeUndefined();
  });
});

describe('flags', () => {
  const schedule: ScheduleFlags = {
    master: ['http://m:5050'], name: 'mm', role: '*', contentType: 'protobuf', stateFile: 's.json', failoverTimeout: '1', miners: '2',
    maxRelaunchFraction: '0.1', minerCpus: '1', serverCpus: '0.5', maxMinersPerAgent: '8', container: 'command', image: 'img', network: 'host',
    commandPath: '/usr/bin/mesos-miner', declineSeconds: '600', reviveInterval: '30', launchTimeout: '300', reconcileInterval: '600',
    pool: ['stratum+tcp://pool.example:3333'], user: 'acct',
  };
  const local: LocalFlags = { miners: '3', servers: '1', listen: '127.0.0.1:3333', serverHttp: '127.0.0.1:8080', workerPrefix: 'w', pool: ['stratum+tcp://p:1'], user: 'u' };

  it('schedule: off by default; --miner-api-allow in cgminer syntax, only with --miner-api; --http on loopback unless agents fetch from it', () => {
    const s = parseScheduleFlags(schedule, {});
    expect(s.framework.minerEndpoints).toEqual({ api: false, http: false });
    expect(s.http).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(parseScheduleFlags({ ...schedule, container: 'fetch' }, {}, '0.1.0').http).toEqual({ host: '0.0.0.0', port: 8090 });
    expect(parseScheduleFlags({ ...schedule, minerApi: true, minerHttp: true, minerApiAllow: ' W:10.0.0/24,[fd00::]/8 ' }, {}).framework.minerEndpoints)
      .toEqual({ api: true, http: true, apiAllow: 'W:10.0.0/24,[fd00::]/8' });
    expect(() => parseScheduleFlags({ ...schedule, minerApiAllow: '10.0.0.0/8' }, {})).toThrow(/--miner-api-allow needs --miner-api/);
    expect(() => parseScheduleFlags({ ...schedule, minerApi: true, minerApiAllow: '10.0.0.300' }, {})).toThrow(/--api-allow: '10\.0\.0\.300': not an IPv4 address/);
  });

  it('local: miner i on the ports + i - 1, loopback for a port alone, the defaults when given alone; no range may meet another', () => {
    expect(parseLocalFlags(local, {}, 2)).not.toHaveProperty('minerApi');
    expect(parseLocalFlags({ ...local, minerApi: true, minerHttp: true }, {}, 2)).toMatchObject({
      minerApi: { host: '127.0.0.1', port: 4028 }, minerHttp: { host: '127.0.0.1', port: 8180 },
    });
    expect(parseLocalFlags({ ...local, minerApi: '5000', minerApiAllow: '0/0' }, {}, 2)).toMatchObject({ minerApi: { host: '127.0.0.1', port: 5000 }, minerApiAllow: '0/0' });
    expect(parseLocalFlags({ ...local, minerHttp: '0.0.0.0:5000' }, {}, 2).minerHttp).toEqual({ host: '0.0.0.0', port: 5000 });
    const bad = (change: Partial<LocalFlags>) => () => parseLocalFlags({ ...local, ...change }, {}, 2);
    expect(bad({ minerApi: '3331' })).toThrow(/--listen and --miner-api overlap: port 3333 and ports 3331-3333 \(miner i: port \+ i - 1\)/);
    expect(bad({ minerApi: '5000', minerHttp: '127.0.0.1:5002' })).toThrow(/--miner-api and --miner-http overlap: ports 5000-5002 .* and ports 5002-5004/);
    expect(bad({ minerHttp: '8079' })).toThrow(/--server-http and --miner-http overlap/);
    expect(bad({ minerApi: '5000', http: '127.0.0.1:5001' })).toThrow(/--miner-api and --http overlap: ports 5000-5002 \(miner i: port \+ i - 1\) and port 5001/);
    expect(bad({ minerApi: '65534' })).toThrow(/--miner-api: ports 65534-65536 \(miner i: port \+ i - 1\) go above 65535/);
    expect(bad({ minerApi: '0' })).toThrow(/--miner-api needs a fixed port/);
    expect(bad({ minerHttp: 'localhost' })).toThrow(/--miner-http must be a port \(this machine only\) or host:port/);
    expect(bad({ minerApiAllow: '127.0.0.1' })).toThrow(/--miner-api-allow needs --miner-api/);
    expect(bad({ minerApi: true, minerApiAllow: 'nope' })).toThrow(/--api-allow: 'nope': not an IPv4 address/);
  });

  it.each([
    [['schedule', '--master', 'http://127.0.0.1:1', '--pool', 'stratum+tcp://p:1', '--user', 'u', '--miner-api-allow', '10.0.0.0/8'], /--miner-api-allow needs --miner-api/],
    [['local', '--pool', 'stratum+tcp://p:1', '--user', 'u', '--miner-api', '3334'], /--listen and --miner-api overlap/],
  ])('%j: exit 2 with the reason, nothing started', async (args, message) => {
    const run = spawnCli([...args, '--log-format', 'json']);
    const { code } = await within(run.exit, 10_000, 'the CLI to exit');
    expect(code).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(run.output()).not.toMatch(/subscrib|child start/);
  });
});

describe('schedule --miner-api --miner-http on the fake master', () => {
  const children: ChildProcess[] = [];
  let master: FakeMaster;
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-miner-ports-'));
    // One agent the server fits on (its two ports), two for the miners with three ports each.
    master = await FakeMaster.start({
      agents: [
        { hostname: 'server.fake.local', cpus: 1, mem: 512, ports: [[31000, 31001]] },
        { hostname: 'rig1.fake.local', cpus: 2, mem: 1024, ports: [[32000, 32002]] },
        { hostname: 'rig2.fake.local', cpus: 2, mem: 1024, ports: [[33000, 33002]] },
      ],
    });
  });
  afterEach(async () => {
    killStillRunning(children);
    await master.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every miner declares two ports of its offer; mine gets them in its argv; /status shows each miner\'s endpoints', async () => {
    const run = spawnCli([
      'schedule', '--master', master.url, '--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct', '--servers', '1', '--miners', '3',
      '--server-cpus', '1', '--server-mem', '256', '--miner-cpus', '1', '--miner-mem', '256', '--container', 'command',
      '--miner-api', '--miner-api-allow', '10.1.0.0/16', '--miner-http', '--state-file', join(dir, 's.json'), '--http', '127.0.0.1:0', '--log-format', 'json',
    ]);
    children.push(run.child);
    const listening = await waitUntil(() => jsonLines(run.stderr()).find((l) => l.msg === 'status endpoint listening (GET /status)'), 'the status endpoint', 10_000);
    const statusUrl = `http://${String(listening.http)}/status`;
    // Three ports per rig agent: one miner each (two ports), the third miner finds no agent with two free.
    await waitUntil(() => [...master.tasks.values()].filter((t) => t.state === 'TASK_RUNNING').length === 3, 'the server and two miners running', 15_000);
    const miners = [...master.tasks.values()].filter((t) => t.taskId.includes('.miner.'));
    expect(miners).toHaveLength(2);
    for (const m of miners) {
      const agent = master.agents.find((a) => a.id === m.agentId)!;
      expect(m.ports).toHaveLength(2);
      for (const p of m.ports) expect(portInRanges(p, agent.ports.map(([begin, end]) => ({ begin, end })))).toBe(true);
      const argv = m.info.command!.arguments!;
      expect(argv.slice(argv.indexOf('--api-listen'))).toEqual(['--api-listen', `0.0.0.0:${m.ports[0]}`, '--api-allow', '10.1.0.0/16', '--http', `0.0.0.0:${m.ports[1]}`]);
    }
    const status = await waitUntil(async () => {
      const s = (await (await fetch(statusUrl)).json()) as FrameworkStatus;
      return s.running.miners === 2 ? s : undefined;
    }, 'the scheduler seeing both miners run', 10_000, 50);
    const shown = status.tasks.filter((t) => t.role === 'miner').map((t) => [t.api, t.http]).sort();
    expect(shown).toEqual(miners.map((m) => {
      const host = master.agents.find((a) => a.id === m.agentId)!.hostname;
      return [`${host}:${m.ports[0]}`, `${host}:${m.ports[1]}`];
    }).sort());
    expect(status.tasks.find((t) => t.role === 'server')).not.toHaveProperty('api');
  });
});
