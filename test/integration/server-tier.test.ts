// A tier of two solo servers against the real regtest node (bcoin): `schedule --servers 2` on the real Mesos master
// and its one agent (`--container command`), and `local --servers 2`. What the fake master cannot show: both servers
// really placed on one agent, a server process killed with SIGKILL while its miner is mining, the miner's real
// failover (`mine -o a -o b`) to the other server, blocks on the node's chain right after the kill, and Mesos'
// replacement of the server with no miner task relaunched before it runs.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bitcoin from 'bitcoinjs-lib';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { MinerServerStatus } from '../../src/server/miner-server.js';
import type { FrameworkStatus } from '../../src/scheduler/framework.js';
import { agentTaskProcess } from '../support/mesos-topology.js';
import { describePeers, Peers } from '../support/peers.js';
import { CLI_PATH, freePort, jsonLines, killStillRunning, spawnCli } from '../support/processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const PAYOUT = bitcoin.payments.p2wpkh({ hash: Buffer.alloc(20, 0x7e), network: bitcoin.networks.regtest }).address!;
const NAME = 'ittier';

interface MesosTask {
  id: string;
  state: string;
  statuses: Array<{ state: string; timestamp: number }>;
}

describePeers('a tier of two servers, solo against the real regtest node', () => {
  let peers: Peers;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    accessSync(CLI_PATH, constants.X_OK);
    dir = mkdtempSync(join(tmpdir(), 'mm-it-tier-'));
    peers = await Peers.create();
    await peers.start('node', 'mesos');
  }, 120_000);
  afterEach(() => killStillRunning(children));
  afterAll(async () => {
    killStillRunning(children);
    await peers?.stop(); // also kills the agent's tasks
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const height = () => peers.rpc<number>('getblockcount');
  async function getJson<T>(url: string): Promise<T | undefined> {
    try {
      return (await (await fetch(url)).json()) as T;
    } catch {
      return undefined; // not listening (yet, or any more)
    }
  }
  const serverStatus = (httpPort: number) => getJson<MinerServerStatus>(`http://127.0.0.1:${httpPort}/status`);
  const acceptedFrom = (s: MinerServerStatus | undefined, worker: string) => s?.miners.find((m) => m.worker === worker)?.accepted ?? 0;

  /**
   * Kills a server process with SIGKILL and shows that mining goes on: the node's chain grows within 5 s of the kill
   * (the other server's miner never stopped; the killed server's miner reconnects to the other one), and the
   * killed server's miner gets shares accepted by the surviving server.
   */
  async function killAndMineOn(pid: number, survivorHttp: number, orphanWorker: string): Promise<void> {
    const before = acceptedFrom(await serverStatus(survivorHttp), orphanWorker);
    const h0 = await height();
    process.kill(pid, 'SIGKILL');
    await waitUntil(async () => (await height()) > h0, `a block above height ${h0} within 5 s of the server's kill`, 5000, 100);
    await waitUntil(async () => acceptedFrom(await serverStatus(survivorHttp), orphanWorker) > before,
      `${orphanWorker} mining through the other server`, 30_000, 200);
  }

  it('schedule --servers 2 on the one agent: both servers there; a server killed: blocks within 5 s, no miner relaunched before its replacement runs', async () => {
    const scheduler = spawnCli([
      'schedule', '--master', peers.v('PEERS_MESOS_MASTER_URL'), '--name', NAME, '--container', 'command', '--command-path', CLI_PATH,
      '--bitcoind', peers.bitcoindUrl, '--payout', PAYOUT, '--servers', '2', '--miners', '2', '--server-cpus', '0.25', '--miner-cpus', '0.5',
      '--state-file', join(dir, 'state.json'), '--http', '127.0.0.1:0', '--log-format', 'json', '--task-log-level', 'warn',
    ]);
    children.push(scheduler.child);
    const listening = await waitUntil(() => jsonLines(scheduler.output()).find((l) => l.msg === 'status endpoint listening (GET /status)'), 'the scheduler\'s /status', 30_000, 50);
    const statusUrl = `http://${String(listening.http)}/status`;
    const subscribed = await waitUntil(() => jsonLines(scheduler.output()).find((l) => l.msg === 'subscribed'), 'subscribed', 30_000, 50);
    const tasks = async () => {
      const state = await getJson<{ frameworks: Array<{ id: string; tasks: MesosTask[] }> }>(`${peers.v('PEERS_MESOS_MASTER_URL')}/master/state`);
      return state?.frameworks.find((f) => f.id === subscribed.frameworkId)?.tasks ?? [];
    };
    const running = (list: MesosTask[], role: string) => list.filter((t) => t.id.startsWith(`${NAME}.${role}.`) && t.state === 'TASK_RUNNING');

    // Both servers on the one agent, each with its own ports, and each the primary of one miner.
    const steady = await waitUntil(async () => {
      const s = await getJson<FrameworkStatus>(statusUrl);
      return s && s.running.servers === 2 && s.running.miners === 2 && s.servers.every((x) => x.primaryFor.length === 1) ? s : undefined;
    }, '2 servers and 2 miners RUNNING', 60_000, 200);
    expect(new Set(steady.servers.map((s) => s.host)).size).toBe(1);
    expect(new Set(steady.servers.map((s) => s.stratumPort)).size).toBe(2);
    const minersBefore = running(await tasks(), 'miner').map((t) => t.id).sort();
    // Each miner process was started with both servers, its primary first.
    for (const s of steady.servers) {
      const { argv } = await waitUntil(() => agentTaskProcess(peers, 'mine', { needle: `mine -o stratum+tcp://${s.host}:${s.stratumPort} ` }), `the miner process of ${s.primaryFor[0]}`, 10_000, 50);
      expect(argv).toContain(s.primaryFor[0]);
      const urls = argv.flatMap((v, i) => (v === '-o' ? [argv[i + 1]] : []));
      expect(urls[0]).toBe(`stratum+tcp://${s.host}:${s.stratumPort}`);
      expect(urls).toHaveLength(2);
    }
    // Both servers mine blocks, and the scheduler reads the farm's hashrate from them.
    await waitUntil(async () => {
      const s = await getJson<FrameworkStatus>(statusUrl);
      return s?.farm && s.farm.reporting === 2 && (s.farm.hashrate['1m'] ?? 0) > 0 && s.servers.every((x) => (x.stats?.blocksFound ?? 0) > 0);
    }, 'both servers finding blocks, the farm hashrate in the scheduler\'s /status', 60_000, 500);

    const [victim, survivor] = steady.servers;
    const killedAt = Date.now();
    const { pid } = await waitUntil(() => agentTaskProcess(peers, 'serve', { needle: `--listen 0.0.0.0:${victim!.stratumPort} ` }), 'the server process', 10_000, 50);
    await killAndMineOn(pid, survivor!.httpPort!, victim!.primaryFor[0]!);

    // Mesos reports the failure and the framework launches a replacement; no miner task is relaunched before it runs.
    const replacement = await waitUntil(async () => running(await tasks(), 'server').find((t) => t.id !== victim!.taskId && t.id !== survivor!.taskId),
      'a replacement server RUNNING', 60_000, 200);
    const replacementRunningAt = replacement.statuses.find((s) => s.state === 'TASK_RUNNING')!.timestamp;
    const after = await tasks();
    for (const m of after.filter((t) => t.id.startsWith(`${NAME}.miner.`) && !minersBefore.includes(t.id))) {
      expect(m.statuses[0]!.timestamp).toBeGreaterThanOrEqual(replacementRunningAt);
    }
    // On one agent the replacement takes the freed ports: the same address, so the miners need nothing at all.
    const now = await getJson<FrameworkStatus>(statusUrl);
    if (now!.servers.some((s) => s.taskId === replacement.id && s.stratumPort === victim!.stratumPort)) {
      expect(running(after, 'miner').map((t) => t.id).sort()).toEqual(minersBefore);
    }
    expect(replacementRunningAt * 1000).toBeGreaterThan(killedAt - 1000);
    const h = await height();
    await waitUntil(async () => (await height()) > h, 'blocks after the replacement', 30_000, 200);
  }, 240_000);

  it('local --servers 2: a server process killed: blocks within 5 s through the other; the supervisor restarts it at its address', async () => {
    const stratum = await freePort(4); // server i: stratum + i, HTTP + i
    const http = stratum + 2;
    const statusPort = await freePort();
    const local = spawnCli([
      'local', '--bitcoind', `http://127.0.0.1:${peers.v('PEERS_RPC_PORT')}`, '--payout', PAYOUT, '--servers', '2', '--miners', '2',
      '--threads', '1', '--listen', `127.0.0.1:${stratum}`, '--server-http', `127.0.0.1:${http}`, '--http', `127.0.0.1:${statusPort}`,
      '--log-format', 'json', '--log-level', 'warn',
    ], { env: { MESOS_MINER_BITCOIND_URL: peers.bitcoindUrl } });
    children.push(local.child);
    // Server i listens on the ports + i; miner local-i has server i-1 as its primary.
    await waitUntil(async () => acceptedFrom(await serverStatus(http), 'local-1') > 0 && acceptedFrom(await serverStatus(http + 1), 'local-2') > 0,
      'each miner mining through its primary', 120_000, 200);
    type LocalStatus = { children: Array<{ name: string; pid?: number; restarts: number }> };
    const supervised = (await getJson<LocalStatus>(`http://127.0.0.1:${statusPort}/status`))!;
    const server0 = supervised.children.find((c) => c.name === 'server-0')!;

    await killAndMineOn(server0.pid!, http + 1, 'local-1');
    await waitUntil(async () => {
      const s = await getJson<LocalStatus>(`http://127.0.0.1:${statusPort}/status`);
      return s?.children.find((c) => c.name === 'server-0' && c.restarts === 1 && c.pid !== server0.pid);
    }, 'server-0 restarted', 30_000, 200);
    await waitUntil(async () => (await serverStatus(http))?.upstream.state === 'connected', 'server-0 back at its address', 30_000, 200);

    local.child.kill('SIGTERM');
    expect(await within(local.exit, 60_000, 'local exit')).toEqual({ code: 0, signal: null });
  }, 240_000);
});
