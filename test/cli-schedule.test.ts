// `mesos-miner schedule` as operators run it: the built CLI in a child process, against the fake Mesos master
// (in this process, real HTTP on 127.0.0.1). Bad flags stop it before anything starts; a good command line
// places the server and miners with secrets only in the environment, serves /status, and exits on SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readBundle } from '../src/bundle/bundle.js';
import type { TaskInfo } from '../src/mesos/types.js';
import { FakeMaster } from './support/fake-master.js';
import { jsonLines, killStillRunning, spawnCli, type CliRun } from './support/processes.js';
import { hasOpenssl, writeSelfSignedCert } from './support/self-signed-cert.js';
import { waitUntil, within } from './support/wait-until.js';

const POOL_PASS = 'pool-pass-7f3a9c';
const MINER_PASS = 'miner-pass-51be02';

function start(args: string[], env: Record<string, string> = {}): CliRun {
  const run = spawnCli(args, { env });
  children.push(run.child);
  return run;
}

const children: ChildProcess[] = [];
let dir: string;
let master: FakeMaster;

beforeAll(async () => { master = await FakeMaster.start({ agents: 3 }); });
afterAll(async () => { await master.close(); });
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-cli-sched-')); });
afterEach(async () => {
  killStillRunning(children);
  await rm(dir, { recursive: true, force: true });
});

describe('mesos-miner schedule: bad flags', () => {
  const upstream = ['--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct'];
  it.each([
    [[...upstream, '--miners', '-1'], /--miners must be >= 0, got -1/],
    [[...upstream, '--miners', 'lots'], /--miners must be a number, got 'lots'/],
    [[...upstream, '--miner-cpus', '0'], /--miner-cpus must be >= 0\.1, got 0/],
    [[...upstream, '--server-mem', '8'], /--server-mem must be >= 32, got 8/],
    [[...upstream, '--content-type', 'xml'], /--content-type must be protobuf or json, got 'xml'/],
    [[...upstream, '--master', 'ftp://m:5050'], /--master must use http or https, got 'ftp:\/\/m:5050'/],
    [[...upstream, '--container', 'lxc'], /--container must be one of docker, mesos, command, fetch, got 'lxc'/],
    [[...upstream, '--container', 'fetch', '--bundle', '/nonexistent/b.tar.gz'], /--bundle: \/nonexistent\/b\.tar\.gz: ENOENT/],
    [[...upstream, '--container', 'fetch', '--bundle-uri', 'ftp:/x'], /--bundle-uri must be a URI/],
    [[...upstream, '--container', 'fetch', '--http', 'off'], /--container fetch serves the bundle on the --http endpoint/],
    [[...upstream, '--bundle-uri', 'http://f/b.tar.gz'], /--bundle-uri needs --container fetch/],
    [[...upstream, '--advertise-url', 'mailto:x'], /--advertise-url must use http or https/],
    [[...upstream, '--network', 'bridge', '--container', 'mesos'], /--network bridge needs --container docker/],
    [[...upstream, '--secret-file', '/nonexistent'], /--secret-file needs --principal/],
    [[...upstream, '--principal', 'p', '--secret-file', '/nonexistent/secret'], /--secret-file: cannot read \/nonexistent\/secret: ENOENT/],
    [[...upstream, '--http', 'nowhere'], /--http must be host:port with a port 0-65535, got 'nowhere'/],
    [[...upstream, '--role', 'bad role'], /--role: 'bad role' is not a valid Mesos role/],
    [[...upstream, '--log-format', 'xml'], /--log-format must be one of json, pretty, got 'xml'/],
    [[...upstream, '--log-level', 'loud'], /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'/],
    [[...upstream, '--task-log-level', 'loud'], /--task-log-level must be one of trace, debug/],
    [[...upstream, '--master', 'https://127.0.0.1:5050', '--master-ca', '/nonexistent/ca.pem'], /--master-ca: cannot read \/nonexistent\/ca\.pem: ENOENT/],
    [[...upstream, '--master-ca', '/nonexistent/ca.pem'], /--master-ca needs an https:\/\/ --master/],
    [[...upstream, '--bitcoind-cookie', '/nonexistent/.cookie'], /--bitcoind-cookie needs --bitcoind/],
    [['--bitcoind', 'http://127.0.0.1:8332', '--payout', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', '--bitcoind-cookie', '/nonexistent/.cookie'], /--bitcoind-cookie: cannot read bitcoind cookie file \/nonexistent\/\.cookie: ENOENT/],
    [['--pool', 'stratum+tcp://pool.example:3333'], /--pool needs --user/],
    [['--pool', 'http://pool.example:3333', '--user', 'u'], /unsupported scheme "http"/],
    [['--bitcoind', 'http://127.0.0.1:8332'], /--bitcoind needs --payout ADDRESS/],
    [[], /an upstream is required/],
    [[...upstream, '--frobnicate'], /unknown option '--frobnicate'/],
    [[...upstream, '--servers', '0'], /--servers must be >= 1, got 0/],
    [[...upstream, '--servers', '65'], /--servers must be <= 64, got 65/],
    [[...upstream, '--max-relaunch-fraction', '2'], /--max-relaunch-fraction must be <= 1, got 2/],
  ])('%j: clear error, non-zero exit, nothing started', async (args, message) => {
    const callsBefore = master.calls.length;
    const stateFile = join(dir, 'state.json');
    const run = start(['schedule', '--master', master.url, '--state-file', stateFile, '--http', '127.0.0.1:0', '--log-format', 'json', ...args]);
    const { code } = await within(run.exit, 10_000, 'the CLI to exit');
    expect(code).not.toBe(0);
    expect(run.stderr()).toMatch(message);
    expect(run.stdout()).toBe('');
    expect(master.calls.length).toBe(callsBefore); // never subscribed
    expect(existsSync(stateFile)).toBe(false);
  });

  it('a corrupt state file is a start error (exit 1), not a silent reset', async () => {
    const stateFile = join(dir, 'state.json');
    await writeFile(stateFile, '{"version": 1, "tasks": [');
    const callsBefore = master.calls.length;
    const run = start(['schedule', '--master', master.url, '--state-file', stateFile, '--http', '127.0.0.1:0', '--log-format', 'json', ...upstream]);
    const { code } = await within(run.exit, 10_000, 'the CLI to exit');
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(/cannot start schedule: state file .*state\.json is not valid JSON/);
    expect(master.calls.length).toBe(callsBefore);
    expect(await readFile(stateFile, 'utf8')).toBe('{"version": 1, "tasks": [');
  });
});

describe('mesos-miner schedule against the fake master', () => {
  // A master of its own for each test: tasks a previous scheduler left running must not count.
  let shared: FakeMaster;
  beforeEach(async () => {
    shared = master;
    master = await FakeMaster.start({ agents: 3 });
  });
  afterEach(async () => {
    await master.close();
    master = shared;
  });

  async function runScheduler(extra: string[] = []): Promise<{ run: CliRun; statusPort: number; stateFile: string }> {
    const stateFile = join(dir, 'state.json');
    const minerPassFile = join(dir, 'miner-pass');
    await writeFile(minerPassFile, `${MINER_PASS}\n`);
    const run = start([
      'schedule', '--master', master.url, '--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct',
      '--miners', '2', '--miner-cpus', '2', '--max-miners-per-agent', '1', '--http', '127.0.0.1:0',
      '--state-file', stateFile, '--miner-password-file', minerPassFile, '--name', 'clitest', '--log-format', 'json', ...extra,
    ], { MESOS_MINER_POOL_PASS: POOL_PASS });
    const listening = await waitUntil(
      () => jsonLines(run.stderr()).find((l) => l.msg === 'status endpoint listening (GET /status)'),
      'the status endpoint log line', 10_000,
    );
    return { run, statusPort: Number(String(listening.http).split(':').pop()), stateFile };
  }

  const ours = () => [...master.tasks.values()].filter((t) => t.taskId.startsWith('clitest.'));
  const running = (role: string) => ours().filter((t) => t.state === 'TASK_RUNNING' && t.taskId.startsWith(`clitest.${role}.`));
  const envOf = (info: TaskInfo) => Object.fromEntries((info.command?.environment?.variables ?? []).map((v) => [v.name, v.value]));

  it('launches two servers (the default for 2 miners) and the miners (secrets in env, never argv), serves /status, SIGTERM exits cleanly without TEARDOWN', async () => {
    const { run, statusPort, stateFile } = await runScheduler();
    await waitUntil(() => running('server').length === 2 && running('miner').length === 2, '2 servers + 2 miners running', 15_000);

    const servers = running('server');
    expect(new Set(servers.map((s) => s.agentId)).size).toBe(2);
    for (const server of servers) {
      const serverArgs = server.info.command!.arguments!;
      expect(serverArgs.slice(0, 1)).toEqual(['serve']);
      expect(serverArgs).toContain('--pool');
      expect(envOf(server.info)).toMatchObject({ MESOS_MINER_POOL_PASS: POOL_PASS, MESOS_MINER_MINER_PASSWORD: MINER_PASS });
    }
    const endpoints = servers.map((s) => `stratum+tcp://${master.agents.find((a) => a.id === s.agentId)!.hostname}:${s.ports[0]}`).sort();
    const primaries = new Set<string>();
    for (const miner of running('miner')) {
      const args = miner.info.command!.arguments!;
      expect(args[0]).toBe('mine');
      const urls = args.flatMap((v, i) => (v === '-o' ? [args[i + 1]!] : []));
      expect([...urls].sort()).toEqual(endpoints);
      primaries.add(urls[0]!);
      expect(args[args.indexOf('-t') + 1]).toBe('2');
      expect(envOf(miner.info)).toEqual({ MESOS_MINER_PASS: MINER_PASS });
    }
    expect(primaries.size).toBe(2);
    // Secrets appear nowhere in a TaskInfo but its environment (argv, labels and health checks are visible in Mesos state).
    for (const t of ours()) {
      const visible = JSON.stringify({ ...t.info, command: { ...t.info.command, environment: undefined } });
      expect(visible).not.toContain(POOL_PASS);
      expect(visible).not.toContain(MINER_PASS);
    }
    expect(run.stderr()).not.toContain(POOL_PASS);
    expect(run.stderr()).not.toContain(MINER_PASS);

    const status = await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json() as {
      frameworkId: string; running: { servers: number; miners: number }; servers: Array<{ stratumPort: number; state: string }>; tasks: unknown[];
    };
    expect(status.frameworkId).toBe(master.framework!.id);
    expect(status.servers.map((s) => [s.stratumPort, s.state]).sort()).toEqual(servers.map((s) => [s.ports[0], 'TASK_RUNNING']).sort());
    expect(status.tasks).toHaveLength(4);
    expect(JSON.stringify(status)).not.toContain(POOL_PASS);
    expect((await fetch(`http://127.0.0.1:${statusPort}/status`, { method: 'POST' })).status).toBe(405);

    run.child.kill('SIGTERM');
    const { code } = await within(run.exit, 10_000, 'exit after SIGTERM');
    expect(code).toBe(0);
    expect(master.callsOfType('TEARDOWN')).toHaveLength(0);
    // Without --teardown the tasks keep running and the framework id stays on disk for the next scheduler.
    expect(running('miner')).toHaveLength(2);
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { frameworkId: string; tasks: unknown[] };
    expect(saved.frameworkId).toBe(status.frameworkId);
    expect(saved.tasks).toHaveLength(4);
    await expect(fetch(`http://127.0.0.1:${statusPort}/status`)).rejects.toThrow();
  });

  it('--container fetch: serves the bundle it built at start; tasks fetch it (extracted, cached) and run node on its CLI', async () => {
    const { run, statusPort } = await runScheduler(['--container', 'fetch', '--miners', '1', '--task-log-level', 'warn']);
    await waitUntil(() => running('server').length === 1 && running('miner').length === 1, '1 server + 1 miner running', 15_000);
    const served = jsonLines(run.stderr()).find((l) => l.msg === 'serving the bundle to the agents\' fetchers')!;
    const uri = String(served.uri);
    expect(uri).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${statusPort}/artifacts/mesos-miner-[0-9.]+-[0-9a-f]{16}\\.tar\\.gz$`));
    for (const t of ours()) {
      const command = t.info.command!;
      expect(t.info.container).toBeUndefined();
      expect(command.shell).toBe(false);
      expect(command.value).toBe('node');
      expect(command.arguments!.slice(0, 3)).toEqual(['node', 'mesos-miner/dist/cli.js', t.taskId.startsWith('clitest.server.') ? 'serve' : 'mine']);
      expect(command.uris).toEqual([{ value: uri, extract: true, cache: true }]);
      expect(envOf(t.info).MESOS_MINER_EXPECT_BUNDLE).toBe(served.expect);
      const visible = JSON.stringify({ ...t.info, command: { ...command, environment: undefined } });
      expect(visible).not.toContain(POOL_PASS);
      expect(visible).not.toContain(MINER_PASS);
    }
    // What the agents' fetchers do: ask for the size (HEAD), then download.
    const head = await fetch(uri, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(served.bytes));
    const body = Buffer.from(await (await fetch(uri)).arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(served.sha256);
    expect(readBundle(body).manifest.version).toBe(String(served.expect).split('+')[0]);
    expect((await fetch(uri.replace(/-[0-9a-f]{16}\.tar\.gz$/, '-0000000000000000.tar.gz'))).status).toBe(404);
    run.child.kill('SIGTERM');
    expect((await within(run.exit, 10_000, 'exit after SIGTERM')).code).toBe(0);
  });

  it('with --teardown, SIGTERM tears the framework down: its tasks are killed and the stored id forgotten', async () => {
    const { run, stateFile } = await runScheduler(['--teardown']);
    await waitUntil(() => running('server').length === 2 && running('miner').length === 2, '2 servers + 2 miners running', 15_000);
    const id = master.framework!.id;
    run.child.kill('SIGTERM');
    const { code } = await within(run.exit, 10_000, 'exit after SIGTERM');
    expect(code).toBe(0);
    const teardowns = master.callsOfType('TEARDOWN');
    expect(teardowns).toHaveLength(1);
    expect(teardowns[0]!.call.framework_id!.value).toBe(id);
    expect(ours().filter((t) => t.state === 'TASK_RUNNING')).toHaveLength(0);
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({ version: 1, tasks: [] });
  });
});

describe.skipIf(!hasOpenssl)('mesos-miner schedule against an https master', () => {
  let tlsMaster: FakeMaster;
  let certFile: string;
  let certDir: string;
  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'mm-cli-tls-'));
    const written = writeSelfSignedCert(certDir);
    certFile = written.certFile;
    tlsMaster = await FakeMaster.start({ agents: 3, tls: { key: await readFile(written.keyFile), cert: await readFile(certFile) } });
  });
  afterAll(async () => {
    await tlsMaster.close();
    await rm(certDir, { recursive: true, force: true });
  });

  const args = (name: string, extra: string[]) => [
    'schedule', '--master', tlsMaster.url, '--pool', 'stratum+tcp://pool.example:3333', '--user', 'acct', '--miners', '1',
    '--http', 'off', '--state-file', join(dir, `${name}.json`), '--name', name, '--log-format', 'json', ...extra,
  ];
  const subscribedAs = (name: string) => tlsMaster.calls.some((c) => c.call.type === 'SUBSCRIBE' && c.status === 200 && c.call.subscribe?.framework_info.name === name);

  it('--master-ca trusts the master\'s certificate: subscribes and launches (tasks at --task-log-level)', async () => {
    const run = start(args('tlsca', ['--master-ca', certFile, '--task-log-level', 'debug']));
    await waitUntil(() => [...tlsMaster.tasks.values()].filter((t) => t.taskId.startsWith('tlsca.') && t.state === 'TASK_RUNNING').length === 2, 'server + miner running over https', 15_000);
    for (const t of [...tlsMaster.tasks.values()].filter((x) => x.taskId.startsWith('tlsca.'))) {
      const argv = t.info.command!.arguments!;
      expect(argv[argv.indexOf('--log-level') + 1]).toBe('debug');
    }
    run.child.kill('SIGTERM');
    expect((await within(run.exit, 10_000, 'exit after SIGTERM')).code).toBe(0);
  });

  it('NODE_EXTRA_CA_CERTS works as well; with neither, the certificate is refused and nothing subscribes', async () => {
    const viaEnv = start(args('tlsenv', []), { NODE_EXTRA_CA_CERTS: certFile });
    await waitUntil(() => subscribedAs('tlsenv'), 'a subscription trusted through NODE_EXTRA_CA_CERTS', 10_000);
    viaEnv.child.kill('SIGTERM');
    await within(viaEnv.exit, 10_000, 'exit after SIGTERM');

    const untrusted = start(args('tlsnone', []));
    await waitUntil(() => /self.signed|certificate/i.test(untrusted.stderr()), 'a certificate error in the log', 10_000);
    expect(subscribedAs('tlsnone')).toBe(false);
    untrusted.child.kill('SIGTERM');
    await within(untrusted.exit, 10_000, 'exit after SIGTERM');
  });
});
