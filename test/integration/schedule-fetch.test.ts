// `schedule --container fetch` on a real Mesos master and agent (with the fetcher and its cache), solo mining
// against the real regtest node: nothing of mesos-miner is installed for the agent; the scheduler serves the bundle
// it built at start, the agent's fetcher downloads it once into its cache, extracts it into each sandbox, and the
// tasks run `node mesos-miner/dist/cli.js` from there. Then --bundle FILE with --node-uri: node itself arrives
// through the fetcher too. The steps run in order.
import { execFile, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MesosTopology, runningAt, type Topology } from '../support/mesos-topology.js';
import { describePeers, Peers } from '../support/peers.js';
import { jsonLines, killStillRunning, spawnCli, type CliRun } from '../support/processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const run = promisify(execFile);

describePeers('schedule --container fetch -> the Mesos fetcher brings the bundle -> real Mesos agent -> real regtest node', () => {
  let peers: Peers;
  let dir: string;
  let scheduler: CliRun;
  let mesos: MesosTopology;
  let served: { uri: string; expect: string; bytes: number };
  let bundleFile: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mm-it-fetch-'));
    peers = await Peers.create();
    await peers.start('node', 'mesos');
  }, 120_000);
  afterAll(async () => {
    killStillRunning(children);
    await peers?.stop(); // also kills the agent's tasks; with two frameworks' sandboxes this took up to 36 s here
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  /** A scheduler (framework `name`) with --container fetch; resolves once it is subscribed. */
  async function startScheduler(name: string, extra: string[] = []): Promise<void> {
    scheduler = spawnCli([
      'schedule', '--master', peers.v('PEERS_MESOS_MASTER_URL'), '--name', name, '--container', 'fetch',
      '--bitcoind', peers.bitcoindUrl, '--payout', peers.v('PEERS_PAYOUT'),
      '--miners', '1', '--miner-cpus', '1', '--state-file', join(dir, `${name}.json`), '--http', '127.0.0.1:0', '--teardown',
      // Tasks log warnings only: their sandboxes are in the run dir, and regtest shares are many.
      '--log-format', 'json', '--task-log-level', 'warn', ...extra,
    ]);
    children.push(scheduler.child);
    const current = scheduler;
    const subscribed = await waitUntil(() => jsonLines(current.output()).find((l) => l.msg === 'subscribed'), 'the scheduler subscribed', 30_000, 50);
    mesos = new MesosTopology(peers, name);
    mesos.frameworkId = String(subscribed.frameworkId);
    const line = jsonLines(current.output()).find((l) => l.msg === 'serving the bundle to the agents\' fetchers');
    if (line) served = { uri: String(line.uri), expect: String(line.expect), bytes: Number(line.bytes) };
  }

  /** What the fetcher wrote before the task started (the head of the sandbox's stderr). */
  const fetcherLog = (taskId: string) => readFileSync(join(mesos.sandbox(taskId), 'stderr'), 'utf8').split('\n').filter((l) => l.includes('fetcher.cpp')).join('\n');
  /** The files in the agent's fetcher cache (--fetcher_cache_dir), at any depth. */
  const cacheFiles = (): string[] => (readdirSync(join(peers.runDir, 'mesos', 'fetch'), { recursive: true }) as string[])
    .filter((f) => statSync(join(peers.runDir, 'mesos', 'fetch', f)).isFile());
  const chainGrowsFrom = (height: number, what: string) =>
    waitUntil(async () => (await peers.rpc<number>('getblockcount')) > height, `a block above height ${height} ${what}`, 45_000, 250);

  it('the agent downloads the served bundle once into its cache; server then miner RUNNING (within 30 s) from it; blocks reach the node', async () => {
    const start = await peers.rpc<number>('getblockcount');
    await startScheduler('itfetch');
    const { server, miner } = await mesos.steady('the server and the miner RUNNING', 30_000);
    expect(miner.statuses[0]!.timestamp).toBeGreaterThanOrEqual(runningAt(server)!);
    // The server's launch downloaded the bundle into the cache; the miner's, on the same agent, copied it from there.
    expect(fetcherLog(server.id)).toContain('"action":"DOWNLOAD_AND_CACHE"');
    expect(fetcherLog(server.id)).toContain(`Downloading resource from '${served.uri}'`);
    expect(fetcherLog(miner.id)).toMatch(/"action":"RETRIEVE_FROM_CACHE"/);
    expect(fetcherLog(miner.id)).not.toMatch(/Downloading resource/);
    const [cached, ...more] = cacheFiles();
    expect(more).toEqual([]);
    expect(statSync(join(peers.runDir, 'mesos', 'fetch', cached!)).size).toBe(served.bytes);
    // The task is node running the extracted bundle's CLI in its sandbox, the bundle it was told to expect.
    const sandbox = mesos.sandbox(miner.id);
    const manifest = JSON.parse(readFileSync(join(sandbox, 'mesos-miner', 'bundle.json'), 'utf8')) as { version: string; digest: string };
    expect(served.expect).toBe(`${manifest.version}+${manifest.digest.slice(0, 16)}`);
    const pid = await waitUntil(() => mesos.taskPid('mine'), 'the miner process');
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, 3)).toEqual(['mesos-miner/dist/cli.js', 'mine']);
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(realpathSync(sandbox));
    await chainGrowsFrom(start, 'mined by the fetched miner through the fetched server');
  }, 90_000);

  it('a relaunched miner comes out of the agent\'s fetcher cache: no second download', async () => {
    const before = await mesos.steady('the topology', 10_000);
    process.kill(await waitUntil(() => mesos.taskPid('mine'), 'the miner process'), 'SIGKILL');
    const after = await mesos.steady('a new miner RUNNING', 30_000, (t: Topology) => t.miner.id !== before.miner.id);
    expect(fetcherLog(after.miner.id)).toMatch(/"action":"RETRIEVE_FROM_CACHE"/);
    expect(fetcherLog(after.miner.id)).not.toMatch(/Downloading resource/);
    expect(cacheFiles()).toHaveLength(1);
  }, 60_000);

  it('--bundle FILE and --node-uri: node comes through the fetcher as well, and runs the tasks and the miner\'s health check', async () => {
    // The first framework goes (--teardown kills its tasks), so its resources are free again.
    scheduler.child.kill('SIGTERM');
    expect((await within(scheduler.exit, 15_000, 'the first scheduler to exit')).code).toBe(0);
    // A bundle file as an operator makes it, and node packed the way nodejs.org ships it.
    const made = await run(process.execPath, [join(process.cwd(), 'dist', 'cli.js'), 'bundle', '-o', dir]);
    bundleFile = made.stdout.trim().split(/\s+/)[1]!;
    const nodeDir = `node-v${process.versions.node}-linux-x64`;
    mkdirSync(join(dir, nodeDir, 'bin'), { recursive: true });
    copyFileSync(process.execPath, join(dir, nodeDir, 'bin', 'node'));
    await run('sh', ['-c', `tar -C "$0" -cf - "$1" | gzip -1 > "$0/$1.tar.gz"`, dir, nodeDir]);
    await startScheduler('itnode', ['--bundle', bundleFile, '--node-uri', `file://${join(dir, `${nodeDir}.tar.gz`)}`]);
    const { miner } = await mesos.steady('the server and the miner RUNNING on the fetched node', 60_000);
    const pid = await waitUntil(() => mesos.taskPid('mine'), 'the miner process');
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(new RegExp(`/${nodeDir}/bin/node$`));
    expect(readlinkSync(`/proc/${pid}/exe`).startsWith(peers.v('PEERS_MESOS_AGENT_WORK_DIR'))).toBe(true);
    // The COMMAND health check (node -e, a TCP connect to the server) runs the fetched node too.
    await waitUntil(async () => (await mesos.tasks()).find((t) => t.id === miner.id && t.statuses.some((s) => s.healthy === true)), 'the miner healthy', 60_000, 500);
  }, 150_000);

  it('--bundle-uri: the tasks fetch the bundle from where the operator hosts it (HTTP), once per agent', async () => {
    scheduler.child.kill('SIGTERM');
    expect((await within(scheduler.exit, 15_000, 'the second scheduler to exit')).code).toBe(0);
    // The operator's file server: the bundle made in the step before, under its own name.
    const requests: string[] = [];
    const files = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url !== `/apps/${basename(bundleFile)}`) return void res.writeHead(404).end();
      // Content-Length on HEAD too: the agent sizes a download for its cache with a HEAD request first, and without
      // a size it bypasses the cache (every task downloads the bundle again).
      const bytes = readFileSync(bundleFile);
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': bytes.length }).end(req.method === 'HEAD' ? undefined : bytes);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    try {
      const uri = `http://127.0.0.1:${(files.address() as AddressInfo).port}/apps/${basename(bundleFile)}`;
      await startScheduler('ituri', ['--bundle-uri', uri]);
      const { server, miner } = await mesos.steady('the server and the miner RUNNING from the hosted bundle', 60_000);
      expect(fetcherLog(server.id)).toContain(`Downloading resource from '${uri}'`);
      expect(fetcherLog(miner.id)).toMatch(/"action":"RETRIEVE_FROM_CACHE"/);
      expect(requests.filter((r) => r.startsWith('GET'))).toEqual([`GET /apps/${basename(bundleFile)}`]);
      const pid = await waitUntil(() => mesos.taskPid('mine'), 'the miner process');
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(realpathSync(mesos.sandbox(miner.id)));
    } finally {
      await new Promise((resolve) => files.close(resolve));
    }
  }, 120_000);
});
