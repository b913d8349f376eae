// The topology page of schedule/local without a browser: what its event stream carries (the farm's figures sampled
// once per round of reads, the miners only when they changed), the view of the framework's and local's /status, and
// the `schedule` command serving it with no secret on the page, its events or /status.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameworkStatus } from '../src/scheduler/framework.js';
import type { LocalStatus } from '../src/scheduler/local-launcher.js';
import type { ServerStatsPoller } from '../src/scheduler/server-stats.js';
import { startStatusServer, type StatusServer } from '../src/scheduler/status-server.js';
import { TopologyPage } from '../src/scheduler/topology-page.js';
import { localView, type MinerRow, type TopologyView } from '../src/scheduler/topology-view.js';
import { FakeMaster } from './support/fake-master.js';
import { get, readEvents } from './support/page-client.js';
import { jsonLines, killStillRunning, spawnCli } from './support/processes.js';
import { SERVER_FIGURES, startTopologyRig, type TopologyRig } from './support/topology-rig.js';
import { waitUntil } from './support/wait-until.js';

describe('TopologyPage', () => {
  let status: StatusServer | undefined;
  afterEach(async () => status?.close());

  it('charts the farm once per round of reads, at the round\'s time; an update carries the miners only when they changed', async () => {
    const stats = { lastRound: undefined as number | undefined, farm: () => ({ reporting: 2, connections: 5, hashrate: { '1m': 1500.4, '5m': 1400 }, blocksFound: 1 }) };
    let miners: MinerRow[] = [{ worker: 'm-1', host: 'h1', state: 'RUNNING' }];
    const view = (now: number): TopologyView => ({ at: now, mode: 'local', desired: { servers: 1, miners: 1 }, running: { servers: 1, miners: 1 }, servers: [], miners, failures: [] });
    const page = new TopologyPage({ serverStats: stats as unknown as ServerStatsPoller, topology: view }, { tickMs: 60_000, sampleSeconds: 10, historySeconds: 100 });
    status = await startStatusServer({ host: '127.0.0.1', port: 0 }, () => ({}), undefined, page);
    page.tick(1000); // no round of reads yet: nothing to chart
    stats.lastRound = 2_000_000;
    page.tick(2_000_500);
    page.tick(2_001_000); // the same round: no second sample

    const events = readEvents(status.port, (e) => e.length >= 4);
    await waitUntil(() => page['stream'].size === 1, 'the page connected');
    page.tick(2_002_000);
    page.tick(2_003_000);
    miners = [...miners, { worker: 'm-2', host: 'h2', state: 'STAGING' }];
    stats.lastRound = 2_010_000;
    page.tick(2_010_100);
    const [init, first, second, third] = await events;

    expect(init!.event).toBe('init');
    expect(init!.data.history).toEqual({
      intervalSeconds: 10, capacity: 10, t: [2000], columns: { hashrate1m: [1500], hashrate5m: [1400], connections: [5], reporting: [2] },
    });
    expect(init!.data.view.miners).toHaveLength(1);
    // The first update sends the miners (none were sent before); the next leaves them out, unchanged.
    expect(first!.data).toEqual({ view: expect.objectContaining({ miners: [{ worker: 'm-1', host: 'h1', state: 'RUNNING' }] }) });
    expect(second!.data.view).not.toHaveProperty('miners');
    expect(second!.data.view.at).toBe(2_003_000);
    expect(third!.data.sample).toEqual({ t: 2010, values: { hashrate1m: 1500, hashrate5m: 1400, connections: 5, reporting: 2 } });
    expect(third!.data.view.miners.map((m: MinerRow) => m.worker)).toEqual(['m-1', 'm-2']);

    const html = await get(status.port, '/');
    expect(html.headers['content-security-policy']).toContain("default-src 'self'");
    expect(html.body).toContain('<script type="module" src="/assets/topology.js">');
    expect((await get(status.port, '/assets/topology.js')).status).toBe(200);
    expect((await get(status.port, '/assets/nope.js')).status).toBe(404);
    expect((await get(status.port, '/', {}, 'POST')).status).toBe(405);
  });

  it('local\'s view: servers and miners with their process states, restarts, last exit, primary and endpoints', () => {
    const s: LocalStatus = {
      mode: 'local', host: 'box', failures: [{ at: 5, name: 'w-2', host: 'box', state: 'exited', reason: 'exit code 3' }],
      servers: [{ index: 0, stratum: '0.0.0.0:3333', http: '0.0.0.0:8080', stats: { at: 'x', connections: 2, hashrate: { '1m': 10 }, upstream: 'connected', blocksFound: 0 } }],
      miners: [{ worker: 'w-1', primary: 0, api: '127.0.0.1:4028' }, { worker: 'w-2', primary: 0 }],
      farm: { reporting: 1, connections: 2, hashrate: { '1m': 10 }, blocksFound: 0 },
      children: [
        { name: 'server-0', state: 'running', restarts: 0, runningSince: 1 },
        { name: 'w-1', state: 'running', restarts: 0, runningSince: 2 },
        { name: 'w-2', state: 'backoff', restarts: 2, lastExit: { code: 3, signal: null, at: 5 } },
      ],
    };
    const v = localView(s, 9);
    expect(v).toMatchObject({ mode: 'local', desired: { servers: 1, miners: 2 }, running: { servers: 1, miners: 1 }, farm: s.farm });
    expect(v.servers).toEqual([{ index: 0, name: 'server-0', host: 'box', state: 'running', stratum: '0.0.0.0:3333', http: '0.0.0.0:8080', primaryFor: 2, stats: s.servers[0]!.stats }]);
    expect(v.miners).toEqual([
      { worker: 'w-1', host: 'box', state: 'running', primary: 0, api: '127.0.0.1:4028', since: 2 },
      { worker: 'w-2', host: 'box', state: 'backoff', restarts: 2, failure: 'exited (exit code 3)', failedAt: 5, primary: 0 },
    ]);
    expect(v.failures).toEqual([{ at: 5, name: 'w-2', host: 'box', failure: 'exited (exit code 3)' }]);
  });
});

describe('the framework\'s view on the fake master', () => {
  let rig: TopologyRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('the framework, the server with its figures and page, every miner by agent with its API; a failure with its reason', async () => {
    rig = await startTopologyRig({ miners: 4, perAgent: 2, statsIntervalMs: 100, tickMs: 60_000 });
    const { framework, master, port } = rig;
    await waitUntil(() => framework.status().farm?.reporting === 1, 'the server\'s figures read');
    const victim = framework.status().tasks.find((t) => t.worker === 'miner-3')!;
    master.failTask(victim.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', 'Command exited with status 1');
    await waitUntil(() => framework.status().tasks.some((t) => t.worker === 'miner-3' && t.restarts === 1 && t.state === 'TASK_RUNNING'), 'the replacement running');

    const [init] = await readEvents(port, (e) => e.length >= 1);
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as FrameworkStatus;
    const view = init!.data.view as TopologyView;
    expect(view.framework).toEqual({ id: master.framework!.id, subscribed: true, suppressed: true, reconciling: 0, rolling: status.rolling });
    expect(view.farm).toEqual({ reporting: 1, connections: SERVER_FIGURES.connections, hashrate: SERVER_FIGURES.hashrate, blocksFound: SERVER_FIGURES.blocksFound });
    expect(view.servers).toEqual([{
      index: 0, name: 'server-0', host: '127.0.0.1', state: 'RUNNING', stratum: `127.0.0.1:${status.servers[0]!.stratumPort}`,
      http: `127.0.0.1:${rig.serverHttpPort}`, primaryFor: 4, stats: expect.objectContaining({ connections: SERVER_FIGURES.connections, upstream: 'connected' }),
    }]);
    const rows = new Map(view.miners!.map((m) => [m.worker, m]));
    expect([...rows.keys()].sort()).toEqual(['miner-1', 'miner-2', 'miner-3', 'miner-4']);
    for (const t of status.tasks.filter((x) => x.role === 'miner')) {
      expect(rows.get(t.worker!)).toMatchObject({ host: t.hostname, state: 'RUNNING', primary: 0, api: t.api, since: t.runningSince });
      expect(t.api).toMatch(/^rig00[01]\.fake\.local:310\d\d$/);
    }
    expect(rows.get('miner-3')).toMatchObject({ restarts: 1, failure: 'FAILED (COMMAND_EXECUTOR_FAILED): Command exited with status 1', failedAt: expect.any(Number) });
    expect(rows.get('miner-1')).not.toHaveProperty('failure');
    expect(view.failures).toEqual([{ at: expect.any(Number), name: 'miner-3', host: victim.hostname, failure: 'FAILED (COMMAND_EXECUTOR_FAILED): Command exited with status 1' }]);
    expect(new Set(view.miners!.map((m) => m.host)).size).toBe(2);
  });
});

describe('schedule --http serves the topology page', () => {
  const children: ChildProcess[] = [];
  let master: FakeMaster | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    killStillRunning(children);
    await master?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('no secret on the page, its files, its events or /status: RPC credentials, miner password, master credentials', async () => {
    const secrets = { rpc: 'rpc-s3cret-91', miner: 'miner-s3cret-92', master: 'master-s3cret-93' };
    master = await FakeMaster.start({ agents: 2, auth: { principal: 'fw-principal', secret: secrets.master } });
    dir = await mkdtemp(join(tmpdir(), 'mm-topology-cli-'));
    await writeFile(join(dir, 'secret'), secrets.master);
    await writeFile(join(dir, 'miner-pass'), secrets.miner);
    const run = spawnCli([
      'schedule', '--master', master.url, '--principal', 'fw-principal', '--secret-file', join(dir, 'secret'),
      '--bitcoind', `http://rpcuser:${secrets.rpc}@127.0.0.1:8332`, '--payout', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
      '--miner-password-file', join(dir, 'miner-pass'), '--miners', '2', '--miner-api', '--miner-http', '--container', 'command',
      '--state-file', join(dir, 'state.json'), '--http', '127.0.0.1:0', '--log-format', 'json',
    ]);
    children.push(run.child);
    const listening = await waitUntil(() => jsonLines(run.stderr()).find((l) => l.msg === 'status endpoint listening (GET /status)'), 'the endpoint', 10_000);
    const port = Number(String(listening.http).split(':').pop());
    await waitUntil(() => master!.runningTasks().length === 4, '2 servers and 2 miners running', 15_000);
    const [init] = await readEvents(port, (e) => e.length >= 1);
    expect(init!.data.view.miners).toHaveLength(2);
    const everything = [
      JSON.stringify(init), (await get(port, '/')).body, (await get(port, '/status')).body,
      ...await Promise.all(['topology.js', 'common.js', 'chart.js'].map(async (f) => (await get(port, `/assets/${f}`)).body)),
    ];
    for (const text of everything) for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    // The tasks do get them, in their environment.
    expect(JSON.stringify([...master.tasks.values()].map((t) => t.info.command!.environment))).toContain(secrets.rpc);
  });
});
