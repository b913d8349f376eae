import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay, RelaunchBackoff } from '../src/scheduler/backoff.js';
import { planOffers, type PlannedMiner, type PlannedServer } from '../src/scheduler/matching.js';
import type { Offer, TaskInfo } from '../src/scheduler/mesos-types.js';
import { parseLocalFlags, parseScheduleFlags, type ScheduleFlags } from '../src/scheduler/options.js';
import { StateFile } from '../src/scheduler/state-file.js';
import { buildMinerTask, buildServerTask, type ContainerOptions } from '../src/scheduler/task-spec.js';
import { TaskStore, type TaskRecord } from '../src/scheduler/task-store.js';
import { resolveSoloConfig } from '../src/upstream/bitcoind-config.js';
import { buildBundle } from '../src/bundle/bundle.js';
import { fetchOptions, nodeInSandbox } from '../src/scheduler/fetch.js';
import { defaultAdvertiseUrl } from '../src/scheduler/status-server.js';

const offer: Offer = {
  id: { value: 'o1' }, framework_id: { value: 'fw' }, agent_id: { value: 'agent-1' }, hostname: 'node1.example',
  allocation_info: { role: 'mining' },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 8 }, allocation_info: { role: 'mining' } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 8192 }, allocation_info: { role: 'mining' } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31500, end: 31600 }] }, allocation_info: { role: 'mining' } },
  ],
};

function plan() {
  const result = planOffers([offer], {
    serversWanted: 1, serversOnAgent: new Map(), knownAgents: new Set(), spreadWaitOver: false,
    minersWanted: 1, server: { cpus: 1, mem: 256 }, miner: { cpus: 2.5, mem: 256 }, maxMinersPerAgent: 4, minersOnAgent: new Map(),
  });
  const [server, miner] = result.launches[0]!.tasks as [PlannedServer, PlannedMiner];
  return { server, miner };
}

const docker = (network: 'HOST' | 'BRIDGE'): ContainerOptions => ({ mode: 'docker', image: 'registry/mesos-miner:1', network, forcePull: true, commandPath: '/usr/bin/mesos-miner' });
const secrets = { poolPass: 'pool-secret', minerPassword: 'miner-secret' };
const upstream = { pools: ['stratum+tcp://pool.example:3333'], user: 'acct.rig' };

function argvOf(task: TaskInfo): string {
  return JSON.stringify([task.command?.value, task.command?.arguments, task.health_check, task.labels, task.container]);
}

describe('task specs', () => {
  it('server on Docker HOST: listens on the offered ports, its index in the tier, HTTP health check on /health, secrets only in env', () => {
    const { server } = plan();
    const task = buildServerTask({ frameworkName: 'mm', taskId: 'mm.server.1', agentId: 'agent-1', planned: server, index: 1, upstream, secrets, container: docker('HOST') });
    expect(task.command!.shell).toBe(false);
    expect(task.command!.value).toBeUndefined();
    expect(task.command!.arguments).toEqual([
      'serve', '--listen', `0.0.0.0:${server.ports.stratum}`, '--http', `0.0.0.0:${server.ports.http}`, '--server-index', '1',
      '--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct.rig', '--log-format', 'json', '--log-level', 'info',
    ]);
    expect(task.command!.environment!.variables).toEqual(expect.arrayContaining([
      { name: 'MESOS_MINER_POOL_PASS', value: 'pool-secret' }, { name: 'MESOS_MINER_MINER_PASSWORD', value: 'miner-secret' },
    ]));
    expect(argvOf(task)).not.toMatch(/secret/);
    expect(task.health_check).toMatchObject({ type: 'HTTP', http: { port: server.ports.http, path: '/health' } });
    expect(task.name).toBe('mm-server-1');
    expect(task.container).toEqual({ type: 'DOCKER', docker: { image: 'registry/mesos-miner:1', network: 'HOST', force_pull_image: true } });
    expect(task.labels!.labels).toEqual(expect.arrayContaining([{ key: 'mesos-miner.role', value: 'server' }, { key: 'mesos-miner.server-index', value: '1' }]));
    expect(task.resources).toBe(server.resources);
    expect(task.kill_policy!.grace_period!.nanoseconds).toBe(30e9);
  });

  it('server on Docker BRIDGE: fixed container ports, host ports from the offer mapped onto them', () => {
    const { server } = plan();
    const task = buildServerTask({ frameworkName: 'mm', taskId: 't', agentId: 'agent-1', planned: server, index: 0, upstream, secrets, container: docker('BRIDGE') });
    expect(task.command!.arguments!.slice(0, 5)).toEqual(['serve', '--listen', '0.0.0.0:3333', '--http', '0.0.0.0:8080']);
    expect(task.container!.docker!.port_mappings).toEqual([
      { host_port: server.ports.stratum, container_port: 3333, protocol: 'tcp' },
      { host_port: server.ports.http, container_port: 8080, protocol: 'tcp' },
    ]);
    expect(task.health_check!.http!.port).toBe(8080);
  });

  it('solo server: bitcoind credentials never reach argv; coinbase tag and log level do', () => {
    const { server } = plan();
    const task = buildServerTask({
      frameworkName: 'mm', taskId: 't', agentId: 'a', planned: server, index: 0, secrets: { bitcoindUrl: 'http://rpc:pw@10.0.0.5:8332/' },
      upstream: { pools: [], bitcoind: 'http://rpc:pw@10.0.0.5:8332/', payout: 'bc1qexample', coinbaseTag: '/rig 7/' }, container: docker('HOST'),
      logLevel: 'debug',
    });
    expect(task.command!.arguments).toEqual(expect.arrayContaining(['--bitcoind', 'http://10.0.0.5:8332/', '--payout', 'bc1qexample']));
    const args = task.command!.arguments!;
    expect(args[args.indexOf('--coinbase-tag') + 1]).toBe('/rig 7/');
    expect(args[args.indexOf('--log-level') + 1]).toBe('debug');
    expect(argvOf(task)).not.toMatch(/pw/);
    expect(task.command!.environment!.variables).toContainEqual({ name: 'MESOS_MINER_BITCOIND_URL', value: 'http://rpc:pw@10.0.0.5:8332/' });
  });

  it('miner: threads = floor(cpus), every server in failover order, password in env, TCP reachability check of any server', () => {
    const { miner } = plan();
    const task = buildMinerTask({
      frameworkName: 'mm', taskId: 'mm.miner.1', agentId: 'agent-1', planned: miner,
      servers: [{ host: 'node9.example', port: 31500 }, { host: 'node2.example', port: 31002 }], worker: 'miner-1', secrets, container: docker('HOST'),
    });
    expect(task.command!.arguments).toEqual([
      'mine', '-o', 'stratum+tcp://node9.example:31500', '-o', 'stratum+tcp://node2.example:31002', '-u', 'miner-1', '-t', '2',
      '--log-format', 'json', '--log-level', 'info',
    ]);
    expect(task.command!.environment!.variables).toEqual([{ name: 'MESOS_MINER_PASS', value: 'miner-secret' }]);
    expect(argvOf(task)).not.toMatch(/secret/);
    expect(task.health_check!.type).toBe('COMMAND');
    expect(task.health_check!.command!.arguments!.join(' ')).toContain('[[31500,"node9.example"],[31002,"node2.example"]]');
    expect(task.labels!.labels).toContainEqual({ key: 'mesos-miner.server', value: 'node9.example:31500' });
    expect(task.resources!.some((r) => r.name === 'ports')).toBe(false);
    // A server on an IPv6 agent: its address in brackets, a URL mine can parse.
    const v6 = buildMinerTask({
      frameworkName: 'mm', taskId: 'mm.miner.2', agentId: 'agent-1', planned: miner, servers: [{ host: 'fd00::7', port: 31500 }], worker: 'miner-2', secrets, container: docker('HOST'),
    });
    expect(v6.command!.arguments!.slice(0, 3)).toEqual(['mine', '-o', 'stratum+tcp://[fd00::7]:31500']);
  });

  it('Mesos containerizer uses an Image of type DOCKER and runs node on the CLI with argv[0]; command mode runs the installed CLI with argv[0]', () => {
    const { miner } = plan();
    const base = { frameworkName: 'mm', taskId: 't', agentId: 'a', planned: miner, servers: [{ host: 'h', port: 1 }], worker: 'miner-1', secrets: {} };
    const mesos = buildMinerTask({ ...base, container: { ...docker('HOST'), mode: 'mesos' } });
    expect(mesos.container).toEqual({ type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'registry/mesos-miner:1' }, cached: false } } });
    // shell=false with a value: Mesos execs value with arguments as the whole argv, so argv[0] comes first.
    expect(mesos.command!.shell).toBe(false);
    expect(mesos.command!.value).toBe('/usr/local/bin/node');
    expect(mesos.command!.arguments!.slice(0, 3)).toEqual(['node', '/app/dist/cli.js', 'mine']);
    // Docker containerizer: no value, the image ENTRYPOINT (node /app/dist/cli.js) gets the arguments appended.
    const viaDocker = buildMinerTask({ ...base, container: docker('HOST') });
    expect(viaDocker.command!.value).toBeUndefined();
    expect(viaDocker.command!.arguments![0]).toBe('mine');
    const command = buildMinerTask({ ...base, container: { ...docker('HOST'), mode: 'command' } });
    expect(command.container).toBeUndefined();
    expect(command.command!.value).toBe('/usr/bin/mesos-miner');
    expect(command.command!.arguments![0]).toBe('mesos-miner');
    expect(command.command!.arguments![1]).toBe('mine');
  });
});

describe('task specs for --container fetch', () => {
  const bundleUri = 'http://sched.example:8090/artifacts/mesos-miner-0.1.0-0123456789abcdef.tar.gz';
  const fetch = (nodeUri?: string): ContainerOptions => ({
    ...docker('HOST'), mode: 'fetch',
    fetch: { bundleUri, ...(nodeUri ? { nodeUri } : {}), node: nodeUri ? nodeInSandbox(nodeUri) : 'node', expect: '0.1.0+0123456789abcdef' },
  });

  it('the fetcher brings the bundle (extracted, cached); node runs its CLI from the sandbox; the task checks the bundle; secrets only in env', () => {
    const { server, miner } = plan();
    const serverTask = buildServerTask({ frameworkName: 'mm', taskId: 't', agentId: 'a', planned: server, index: 0, upstream, secrets, container: fetch() });
    expect(serverTask.container).toBeUndefined(); // the Mesos containerizer's command executor, no image
    expect(serverTask.command).toEqual({
      shell: false,
      value: 'node',
      arguments: ['node', 'mesos-miner/dist/cli.js', 'serve', '--listen', `0.0.0.0:${server.ports.stratum}`, '--http', `0.0.0.0:${server.ports.http}`, '--server-index', '0',
        '--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct.rig', '--log-format', 'json', '--log-level', 'info'],
      uris: [{ value: bundleUri, extract: true, cache: true }],
      environment: { variables: [
        { name: 'MESOS_MINER_POOL_PASS', value: 'pool-secret' }, { name: 'MESOS_MINER_MINER_PASSWORD', value: 'miner-secret' },
        { name: 'MESOS_MINER_EXPECT_BUNDLE', value: '0.1.0+0123456789abcdef' },
      ] },
    });
    expect(argvOf(serverTask)).not.toMatch(/secret/);
    expect(JSON.stringify(serverTask.command!.uris)).not.toMatch(/secret/);
    const minerTask = buildMinerTask({ frameworkName: 'mm', taskId: 't', agentId: 'a', planned: miner, servers: [{ host: 'h', port: 1 }], worker: 'miner-1', secrets, container: fetch() });
    expect(minerTask.command!.arguments!.slice(0, 3)).toEqual(['node', 'mesos-miner/dist/cli.js', 'mine']);
    expect(minerTask.command!.environment!.variables).toEqual([
      { name: 'MESOS_MINER_PASS', value: 'miner-secret' }, { name: 'MESOS_MINER_EXPECT_BUNDLE', value: '0.1.0+0123456789abcdef' },
    ]);
    expect(minerTask.health_check!.command!.value).toBe('node');
  });

  it('--node-uri: node comes from its tarball in the sandbox, for the task and for the miner\'s health check', () => {
    const { miner } = plan();
    const nodeUri = 'https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz';
    const task = buildMinerTask({ frameworkName: 'mm', taskId: 't', agentId: 'a', planned: miner, servers: [{ host: 'h', port: 1 }], worker: 'miner-1', secrets: {}, container: fetch(nodeUri) });
    expect(task.command!.value).toBe('node-v20.11.1-linux-x64/bin/node');
    expect(task.command!.arguments![0]).toBe('node');
    expect(task.command!.uris).toEqual([{ value: bundleUri, extract: true, cache: true }, { value: nodeUri, extract: true, cache: true }]);
    expect(task.health_check!.command!.value).toBe('node-v20.11.1-linux-x64/bin/node');
  });
});

function record(id: string, state = 'INTENT'): TaskRecord {
  return { taskId: id, role: 'miner', worker: 'miner-1', agentId: 'a1', hostname: 'h', state, cpus: 1, mem: 160, launchedAt: 0, updatedAt: 0 };
}

describe('TaskStore', () => {
  it('applies updates idempotently and removes a task on a terminal state', () => {
    const store = new TaskStore([record('t1')]);
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_STAGING' }, 1).kind).toBe('changed');
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_RUNNING' }, 2).kind).toBe('changed');
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_RUNNING' }, 3).kind).toBe('duplicate');
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_RUNNING', healthy: true }, 4).kind).toBe('changed');
    expect(store.get('t1')!.healthy).toBe(true);
    const end = store.apply({ task_id: { value: 't1' }, state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED' }, 10);
    expect(end).toMatchObject({ kind: 'terminal', previous: 'TASK_RUNNING', ranForMs: 8 });
    expect(store.get('t1')).toBeUndefined();
    // A duplicate of the terminal update finds nothing to change.
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_FAILED' }, 11).kind).toBe('unknown');
  });

  it('keeps LOST / UNREACHABLE tasks (not counted) and lets them come back', () => {
    const store = new TaskStore([record('t1', 'TASK_RUNNING')]);
    expect(store.active('miner')).toHaveLength(1);
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_UNREACHABLE' }, 1).kind).toBe('changed');
    expect(store.active('miner')).toHaveLength(0);
    expect(store.get('t1')).toBeDefined();
    store.apply({ task_id: { value: 't1' }, state: 'TASK_LOST' }, 2);
    expect(store.apply({ task_id: { value: 't1' }, state: 'TASK_RUNNING' }, 3).kind).toBe('changed');
    expect(store.active('miner')).toHaveLength(1);
  });

  it('refuses a duplicate task id', () => {
    const store = new TaskStore([record('t1')]);
    expect(() => store.add(record('t1'))).toThrow(/already recorded/);
  });
});

describe('backoff', () => {
  it('doubles up to the cap and resets after a stable run; requested kills are free', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { baseMs: 100, maxMs: 500 }))).toEqual([0, 100, 200, 400, 500]);
    const b = new RelaunchBackoff({ baseMs: 100, maxMs: 1000, stableMs: 5000 });
    b.recordExit(0, 10, false);
    expect(b.waitMs(0)).toBe(100);
    b.recordExit(100, 10, false);
    expect(b.waitMs(100)).toBe(200);
    b.recordExit(300, undefined, true);
    expect(b.consecutiveFailures).toBe(2);
    b.recordExit(10_000, 6000, false);
    expect(b.consecutiveFailures).toBe(1);
    expect(b.waitMs(10_000)).toBe(100);
  });
});

describe('StateFile', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-state-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('round-trips, writes atomically (no temp files left) and serialises concurrent saves', async () => {
    const file = new StateFile(join(dir, 'sub', 'state.json'));
    expect(await file.load()).toEqual({ version: 1, tasks: [] });
    await Promise.all([1, 2, 3].map((n) => file.save({ version: 1, frameworkId: `fw-${n}`, tasks: [record(`t${n}`)] })));
    const loaded = await file.load();
    expect(loaded.frameworkId).toBe('fw-3');
    expect(loaded.tasks.map((t) => t.taskId)).toEqual(['t3']);
    expect(await readdir(join(dir, 'sub'))).toEqual(['state.json']);
  });

  it('a corrupt or foreign file is a clear error, never silently reset', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, '{"version":1,"tasks":[');
    await expect(new StateFile(path).load()).rejects.toThrow(/not valid JSON/);
    await writeFile(path, '{"version":7,"tasks":[]}');
    await expect(new StateFile(path).load()).rejects.toThrow(/version 7/);
    await writeFile(path, '{"version":1,"tasks":[{"taskId":3}]}');
    await expect(new StateFile(path).load()).rejects.toThrow(/malformed task record/);
  });

  it('a miner saved before the tier of servers (one `server`) loads with that server as its list', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify({ version: 1, tasks: [{ ...record('t1', 'TASK_RUNNING'), server: 'h:31000' }] }));
    const [miner] = (await new StateFile(path).load()).tasks;
    expect(miner!.servers).toEqual(['h:31000']);
    expect('server' in miner!).toBe(false);
  });
});

describe('flag validation', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-flags-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
  const good: ScheduleFlags = {
    master: ['http://m1:5050,http://m2:5050'], name: 'mesos-miner', role: 'mining,*', contentType: 'protobuf', stateFile: 's.json',
    failoverTimeout: '604800', miners: '3', maxRelaunchFraction: '0.1', minerCpus: '2.5', serverCpus: '0.5', serverMem: '256', maxMinersPerAgent: '4',
    container: 'docker', image: 'img', network: 'bridge', commandPath: '/usr/local/bin/mesos-miner', http: '0.0.0.0:8090',
    declineSeconds: '600', reviveInterval: '30', launchTimeout: '300', reconcileInterval: '600',
    pool: ['stratum+tcp://pool.example:3333'], user: 'acct',
  };

  it('accepts good flags with working defaults; secrets come from the environment', () => {
    const s = parseScheduleFlags(good, { MESOS_MINER_POOL_PASS: 'x', MESOS_MINER_MINER_PASSWORD: 'y' });
    expect(s.masters).toEqual(['http://m1:5050', 'http://m2:5050']);
    expect(s.framework.roles).toEqual(['mining', '*']);
    expect(s.framework.miner).toEqual({ cpus: 2.5, mem: 128 + 16 * 2 });
    expect(s.framework.container.network).toBe('BRIDGE');
    expect(s.framework.secrets).toEqual({ poolPass: 'x', minerPassword: 'y' });
    expect(s.framework.failoverTimeoutSeconds).toBe(604800);
    expect(s.framework.server.mem).toBe(256);
  });

  it('memory defaults follow the measured figures: miners by threads, the server by the number of miners', () => {
    const { serverMem: _explicit, ...noServerMem } = good;
    const at = (change: Partial<ScheduleFlags>) => parseScheduleFlags({ ...noServerMem, ...change } as ScheduleFlags, {}).framework;
    expect(at({ minerCpus: '1' }).miner.mem).toBe(144);
    expect(at({ minerCpus: '8' }).miner.mem).toBe(256);
    expect(at({ minerCpus: '0.5' }).miner.mem).toBe(144); // half a CPU still runs one thread
    expect(at({ miners: '3' }).server.mem).toBe(160);
    expect(at({ miners: '1000' }).server.mem).toBe(160);
    expect(at({ miners: '2500' }).server.mem).toBe(224);
    expect(at({ minerMem: '512', serverMem: '1024' })).toMatchObject({ miner: { mem: 512 }, server: { mem: 1024 } });
  });

  it.each([
    [{ master: ['mesos:5050'] }, /--master must use http or https|--master must be an http/],
    [{ miners: '-1' }, /--miners must be >= 0/],
    [{ miners: '2.5' }, /--miners must be a whole number/],
    [{ minerCpus: 'lots' }, /--miner-cpus must be a number/],
    [{ container: 'podman' }, /--container must be one of docker, mesos, command/],
    [{ network: 'overlay' }, /--network must be host or bridge/],
    [{ container: 'mesos', network: 'bridge' }, /--network bridge needs --container docker/],
    [{ contentType: 'xml' }, /--content-type must be protobuf or json/],
    [{ pool: undefined }, /an upstream is required/],
    [{ user: undefined }, /--pool needs --user/],
    [{ pool: ['http://pool:80'] }, /unsupported scheme/],
    [{ bitcoind: 'http://n:8332' }, /either --pool or --bitcoind/],
    [{ http: 'nowhere' }, /--http must be host:port/],
    [{ secretFile: '/nonexistent' }, /--secret-file needs --principal/],
    [{ principal: 'p', secretFile: '/nonexistent/secret' }, /--secret-file: cannot read \/nonexistent\/secret: ENOENT/],
    [{ role: 'bad role' }, /not a valid Mesos role/],
  ] as [Partial<ScheduleFlags>, RegExp][])('rejects %o', (change, message) => {
    expect(() => parseScheduleFlags({ ...good, ...change } as ScheduleFlags, {})).toThrow(message);
  });

  it('--log-level / --task-log-level: validated, info by default, the task level reaches the framework config', () => {
    const s = parseScheduleFlags({ ...good, logLevel: 'warn', taskLogLevel: 'debug' }, {});
    expect(s.logLevel).toBe('warn');
    expect(s.framework.taskLogLevel).toBe('debug');
    expect(parseScheduleFlags(good, {}).framework.taskLogLevel).toBe('info');
    expect(() => parseScheduleFlags({ ...good, logLevel: 'loud' }, {})).toThrow(/--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'/);
    expect(() => parseScheduleFlags({ ...good, taskLogLevel: 'LOUD' }, {})).toThrow(/--task-log-level must be one of/);
  });

  it('--master-ca: a PEM file read at start, only for https masters, with clear errors', async () => {
    const pem = join(dir, 'ca.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const https = { ...good, master: ['https://m1:5050'] };
    expect(parseScheduleFlags({ ...https, masterCa: pem }, {}).tls).toEqual({ ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    expect(parseScheduleFlags(https, {}).tls).toBeUndefined();
    expect(() => parseScheduleFlags({ ...https, masterCa: join(dir, 'missing.pem') }, {})).toThrow(/--master-ca: cannot read .*missing\.pem: ENOENT/);
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello');
    expect(() => parseScheduleFlags({ ...https, masterCa: notPem }, {})).toThrow(/--master-ca: .*not\.pem holds no PEM certificate/);
    expect(() => parseScheduleFlags({ ...good, masterCa: pem }, {})).toThrow(/--master-ca needs an https:\/\/ --master/);
  });

  it('--bitcoind-cookie: the cookie\'s credentials go into the server\'s MESOS_MINER_BITCOIND_URL, the path and secret never into argv', async () => {
    const cookie = join(dir, '.cookie');
    const password = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
    await writeFile(cookie, `__cookie__:${password}`);
    const solo = { ...good, pool: undefined, user: undefined, bitcoind: 'http://10.0.0.5:8332', payout: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', bitcoindCookie: cookie, coinbaseTag: '/rig 7/' };
    const s = parseScheduleFlags(solo, {});
    expect(s.framework.secrets.bitcoindUrl).toBe(`http://__cookie__:${password}@10.0.0.5:8332/`);
    expect(s.framework.upstream.coinbaseTag).toBe('/rig 7/');
    const { server } = plan();
    const task = buildServerTask({ frameworkName: 'mm', taskId: 't', agentId: 'a', planned: server, index: 0, upstream: s.framework.upstream, secrets: s.framework.secrets, container: docker('HOST') });
    expect(task.command!.environment!.variables).toContainEqual({ name: 'MESOS_MINER_BITCOIND_URL', value: `http://__cookie__:${password}@10.0.0.5:8332/` });
    expect(argvOf(task)).not.toContain(password);
    expect(argvOf(task)).not.toContain(cookie);
    // What `serve` makes of that argv + environment: the node from --bitcoind, the cookie's credentials from env.
    const args = task.command!.arguments!;
    const env = Object.fromEntries(task.command!.environment!.variables!.map((v) => [v.name, v.value!]));
    const served = resolveSoloConfig({ bitcoind: args[args.indexOf('--bitcoind') + 1], payout: args[args.indexOf('--payout') + 1], coinbaseTag: args[args.indexOf('--coinbase-tag') + 1] }, 0, env);
    expect(served).toMatchObject({ url: `http://__cookie__:${password}@10.0.0.5:8332/`, coinbaseTag: '/rig 7/' });
    expect(() => parseScheduleFlags({ ...solo, bitcoindCookie: join(dir, 'nope') }, {})).toThrow(/--bitcoind-cookie: cannot read bitcoind cookie file .*nope: ENOENT/);
    await writeFile(join(dir, 'bad'), 'no colon here');
    expect(() => parseScheduleFlags({ ...solo, bitcoindCookie: join(dir, 'bad') }, {})).toThrow(/--bitcoind-cookie: bitcoind cookie file .* is not of the form user:password/);
    expect(() => parseScheduleFlags({ ...solo, bitcoind: 'http://u:p@10.0.0.5:8332' }, {})).toThrow(/either in the --bitcoind URL or with --bitcoind-cookie/);
    expect(() => parseScheduleFlags({ ...good, bitcoindCookie: cookie }, {})).toThrow(/--bitcoind-cookie needs --bitcoind/);
    expect(() => parseScheduleFlags({ ...good, coinbaseTag: 'x' }, {})).toThrow(/--coinbase-tag needs --bitcoind/);
    expect(() => parseScheduleFlags({ ...solo, coinbaseTag: 'x'.repeat(61) }, {})).toThrow(/--coinbase-tag is 61 bytes; at most 60/);
  });

  describe('--container fetch', () => {
    const fetchFlags = { ...good, network: 'host', container: 'fetch' };
    /** A bundle of a tiny installation of `version` (no dependencies). */
    async function fakeBundle(version: string): Promise<string> {
      const root = join(dir, `install-${version}`);
      await mkdir(join(root, 'dist'), { recursive: true });
      await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'mesos-miner', version, files: ['dist'] }));
      await writeFile(join(root, 'dist', 'cli.js'), '');
      const file = join(dir, `b-${version}.tar.gz`);
      await writeFile(file, buildBundle(root).bytes);
      return file;
    }

    it('serves the bundle from --http by default, at the advertised URL under its content-addressed name', async () => {
      const s = parseScheduleFlags(fetchFlags, {}, '0.1.0');
      expect(s.fetch).toEqual({});
      const file = await fakeBundle('0.1.0');
      const given = parseScheduleFlags({ ...fetchFlags, bundle: file, advertiseUrl: 'http://sched.example:8090/mm/' }, {}, '0.1.0');
      const bundle = given.fetch!.bundle!;
      expect(given.advertiseUrl).toBe('http://sched.example:8090/mm');
      expect(fetchOptions(given.fetch!, bundle, '0.1.0', given.advertiseUrl)).toEqual({
        bundleUri: `http://sched.example:8090/mm/artifacts/${bundle.fileName}`, node: 'node', expect: `0.1.0+${bundle.manifest.digest.slice(0, 16)}`,
      });
      // Hosted elsewhere: the URI as given; without the bundle the tasks can only be held to the version.
      const hosted = parseScheduleFlags({ ...fetchFlags, http: 'off', bundleUri: 'hdfs://nn:8020/apps/mesos-miner-0.1.0-x.tar.gz' }, {}, '0.1.0');
      expect(fetchOptions(hosted.fetch!, undefined, '0.1.0', undefined)).toEqual({ bundleUri: 'hdfs://nn:8020/apps/mesos-miner-0.1.0-x.tar.gz', node: 'node', expect: '0.1.0' });
      const withNode = parseScheduleFlags({ ...fetchFlags, nodeUri: 'http://files/node-v20.11.1-linux-x64.tar.gz' }, {}, '0.1.0');
      expect(fetchOptions(withNode.fetch!, bundle, '0.1.0', 'http://s:1')).toMatchObject({ nodeUri: 'http://files/node-v20.11.1-linux-x64.tar.gz', node: 'node-v20.11.1-linux-x64/bin/node' });
    });

    it('rejects what cannot work, before anything starts', async () => {
      const bad = (change: Partial<ScheduleFlags>) => () => parseScheduleFlags({ ...fetchFlags, ...change } as ScheduleFlags, {}, '0.1.0');
      expect(bad({ bundle: join(dir, 'missing.tar.gz') })).toThrow(/--bundle: .*missing\.tar\.gz: ENOENT/);
      await writeFile(join(dir, 'junk.tar.gz'), 'junk');
      expect(bad({ bundle: join(dir, 'junk.tar.gz') })).toThrow(/--bundle: .*junk\.tar\.gz: not a gzip file/);
      const old = await fakeBundle('0.0.9');
      expect(bad({ bundle: old })).toThrow(/--bundle: .*b-0\.0\.9\.tar\.gz holds mesos-miner 0\.0\.9, this scheduler is 0\.1\.0/);
      expect(bad({ http: 'off' })).toThrow(/--container fetch serves the bundle on the --http endpoint: give --http host:port, or --bundle-uri/);
      expect(bad({ bundleUri: 'bundle.tar.gz' })).toThrow(/--bundle-uri must be a URI .* or an absolute path, got 'bundle\.tar\.gz'/);
      expect(bad({ bundleUri: 'http://files/mesos-miner.zip' })).toThrow(/--bundle-uri must name a \.tar\.gz or \.tgz file/);
      expect(bad({ nodeUri: 'http://files/node' })).toThrow(/--node-uri must name a Node\.js \.tar\.gz, \.tgz, \.tar\.xz or \.txz/);
      expect(bad({ advertiseUrl: 'sched:8090' })).toThrow(/--advertise-url must use http or https|--advertise-url must be an http/);
      expect(bad({ advertiseUrl: 'http://sched:8090/?x=1' })).toThrow(/--advertise-url takes no query or fragment/);
      expect(bad({ http: 'off', bundleUri: 'http://f/b.tar.gz', advertiseUrl: 'http://s:1' })).toThrow(/--advertise-url needs --http/);
      for (const flag of ['bundle', 'bundleUri', 'nodeUri'] as const) {
        expect(bad({ container: 'command', [flag]: '/x.tar.gz' })).toThrow(/needs --container fetch/);
      }
    });

    it('the advertised URL defaults to the --http host when it is an address, else this hostname', () => {
      expect(defaultAdvertiseUrl({ host: '0.0.0.0' }, 8090, 'sched1')).toBe('http://sched1:8090');
      expect(defaultAdvertiseUrl({ host: '::' }, 8090, 'sched1')).toBe('http://sched1:8090');
      expect(defaultAdvertiseUrl({ host: '10.0.0.7' }, 41234, 'sched1')).toBe('http://10.0.0.7:41234');
      expect(defaultAdvertiseUrl({ host: 'fd00::7' }, 8090, 'sched1')).toBe('http://[fd00::7]:8090');
    });
  });

  it('--servers: 2 by default with 2 or more miners, else 1, at most 64; --max-relaunch-fraction in (0, 1], 0.1 by default', () => {
    const at = (change: Partial<ScheduleFlags>) => parseScheduleFlags({ ...good, ...change } as ScheduleFlags, {}).framework;
    expect(at({})).toMatchObject({ miners: 3, servers: 2, maxRelaunchFraction: 0.1 });
    expect(at({ miners: '1' }).servers).toBe(1);
    expect(at({ miners: '0' }).servers).toBe(1);
    expect(at({ servers: '1' }).servers).toBe(1);
    expect(at({ servers: '8', maxRelaunchFraction: '0.25' })).toMatchObject({ servers: 8, maxRelaunchFraction: 0.25 });
    for (const servers of ['0', '65', '1.5', 'two']) expect(() => at({ servers })).toThrow(/--servers must be/);
    for (const maxRelaunchFraction of ['0', '1.5', '-0.1', 'x']) expect(() => at({ maxRelaunchFraction })).toThrow(/--max-relaunch-fraction must be/);
  });

  it('local: threads default to cores / miners and ports must be fixed and distinct', () => {
    const base = { miners: '2', listen: '127.0.0.1:3333', serverHttp: '127.0.0.1:8080', workerPrefix: 'local', pool: ['stratum+tcp://p:1'], user: 'u' };
    expect(parseLocalFlags(base, {}, 8).threadsPerMiner).toBe(4);
    expect(parseLocalFlags({ ...base, miners: '3' }, {}, 2).threadsPerMiner).toBe(1);
    expect(() => parseLocalFlags({ ...base, listen: '127.0.0.1:8080' }, {}, 2)).toThrow(/--listen and --server-http overlap/);
    expect(() => parseLocalFlags({ ...base, miners: '0' }, {}, 2)).toThrow(/--miners must be >= 1/);
    expect(() => parseLocalFlags({ ...base, threads: '0' }, {}, 2)).toThrow(/--threads must be >= 1/);
    expect(parseLocalFlags(base, {}, 2).logLevel).toBe('info');
    expect(parseLocalFlags({ ...base, logLevel: 'debug' }, {}, 2).logLevel).toBe('debug');
    expect(() => parseLocalFlags({ ...base, logLevel: 'chatty' }, {}, 2)).toThrow(/--log-level must be one of/);
  });

  it('local --servers: 2 by default with 2 miners; server i uses both ports + i, so the two ranges must not meet', () => {
    const base = { miners: '2', listen: '127.0.0.1:3333', serverHttp: '127.0.0.1:8080', workerPrefix: 'local', pool: ['stratum+tcp://p:1'], user: 'u' };
    expect(parseLocalFlags(base, {}, 2).servers).toBe(2);
    expect(parseLocalFlags({ ...base, miners: '1' }, {}, 2).servers).toBe(1);
    expect(parseLocalFlags({ ...base, servers: '3' }, {}, 2).servers).toBe(3);
    expect(() => parseLocalFlags({ ...base, serverHttp: '127.0.0.1:3334' }, {}, 2)).toThrow(/--listen and --server-http overlap: ports 3333-3334 \(server i: port \+ i\) and ports 3334-3335 \(server i: port \+ i\)/);
    expect(parseLocalFlags({ ...base, serverHttp: '127.0.0.1:3335' }, {}, 2).serverHttp.port).toBe(3335);
    expect(() => parseLocalFlags({ ...base, listen: '127.0.0.1:65535' }, {}, 2)).toThrow(/--listen: ports 65535-65536 \(server i: port \+ i\) go above 65535/);
    expect(() => parseLocalFlags({ ...base, servers: '0' }, {}, 2)).toThrow(/--servers must be >= 1/);
  });
});
