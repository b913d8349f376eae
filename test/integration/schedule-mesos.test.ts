// `schedule --container command` on a real Mesos master and agent, solo mining against the real regtest node:
// the agent runs this checkout's CLI (dist/cli.js, executable with its `#!/usr/bin/env node` line; the peers put
// node on the tasks' PATH). What the fake master cannot prove: the real allocator's offer filters, real command
// tasks, real status updates, and that blocks reach the real node. The steps share one framework and run in order.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MesosTopology, runningAt, type Topology } from '../support/mesos-topology.js';
import { describePeers, Peers } from '../support/peers.js';
import { CLI_PATH, jsonLines, killStillRunning, spawnCli, type CliRun } from '../support/processes.js';
import { waitUntil } from '../support/wait-until.js';

const NAME = 'itmesos';

describePeers('schedule --container command -> real Mesos master + agent -> real regtest node', () => {
  let peers: Peers;
  let dir: string;
  let scheduler: CliRun | undefined;
  let mesos: MesosTopology;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    try {
      accessSync(CLI_PATH, constants.X_OK);
    } catch {
      throw new Error(`${CLI_PATH} is not executable: the agent runs it as --command-path (npm run build:ts makes it so)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'mm-it-mesos-'));
    peers = await Peers.create();
    await peers.start('node', 'mesos');
    mesos = new MesosTopology(peers, NAME);
  }, 120_000);
  afterAll(async () => {
    killStillRunning(children);
    await peers?.stop(); // also kills the agent's tasks
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One scheduler process on the state file of this suite; resolves once it is subscribed. */
  async function startScheduler(): Promise<string> {
    scheduler = spawnCli([
      'schedule', '--master', peers.v('PEERS_MESOS_MASTER_URL'), '--name', NAME,
      '--container', 'command', '--command-path', CLI_PATH,
      '--bitcoind', peers.bitcoindUrl, '--payout', peers.v('PEERS_PAYOUT'),
      '--miners', '1', '--miner-cpus', '1', '--state-file', join(dir, 'state.json'), '--http', '127.0.0.1:0',
      // Tasks log warnings only: their sandboxes are in the run dir, and regtest shares are many.
      '--log-format', 'json', '--task-log-level', 'warn',
    ]);
    children.push(scheduler.child);
    const run = scheduler;
    const subscribed = await waitUntil(() => jsonLines(run.output()).find((l) => l.msg === 'subscribed'), 'the scheduler subscribed', 30_000, 50);
    return String(subscribed.frameworkId);
  }

  const steady = (what: string, timeoutMs: number, wanted?: (t: Topology) => boolean) => mesos.steady(what, timeoutMs, wanted);

  const chainGrowsFrom = (height: number, what: string) =>
    waitUntil(async () => (await peers.rpc<number>('getblockcount')) > height, `a block above height ${height} ${what}`, 45_000, 250);

  it('places the server, then the miner once the server runs (both RUNNING within 30 s); blocks reach the node', async () => {
    const start = await peers.rpc<number>('getblockcount');
    mesos.frameworkId = await startScheduler();
    const { server, miner } = await steady('the server and the miner RUNNING', 30_000);
    // The miner needs the server's address: it is launched only after the server runs.
    expect(miner.statuses[0]!.timestamp).toBeGreaterThanOrEqual(runningAt(server)!);
    await chainGrowsFrom(start, 'mined by the miner task through the server task');
  }, 90_000);

  it('a scheduler killed with SIGKILL and restarted on its state file keeps its framework id and launches nothing twice', async () => {
    const before = await steady('the topology', 10_000);
    scheduler!.child.kill('SIGKILL');
    await scheduler!.exit;
    expect(await startScheduler()).toBe(mesos.frameworkId);
    const run = scheduler!;
    await waitUntil(() => jsonLines(run.output()).some((l) => l.msg === 'desired state reached: suppressing offers'), 'the restarted scheduler content with the tasks', 30_000, 50);
    const after = await steady('the same topology', 10_000);
    expect([after.server.id, after.miner.id]).toEqual([before.server.id, before.miner.id]);
    expect(jsonLines(run.output()).filter((l) => l.msg === 'launching')).toHaveLength(0);
  }, 60_000);

  it('a miner process killed on the agent is relaunched', async () => {
    const before = await steady('the topology', 10_000);
    const pid = await waitUntil(() => mesos.taskPid('mine'), 'the miner process');
    process.kill(pid, 'SIGKILL');
    const after = await steady('a new miner RUNNING', 30_000, (t) => t.miner.id !== before.miner.id);
    expect(after.server.id).toBe(before.server.id);
  }, 60_000);

  it('a server process killed on the agent is replaced, and mining goes on through the new one', async () => {
    const before = await steady('the topology', 10_000);
    const pid = await waitUntil(() => mesos.taskPid('serve'), 'the server process');
    process.kill(pid, 'SIGKILL');
    await steady('a new server (and its miner) RUNNING', 30_000, (t) => t.server.id !== before.server.id);
    await chainGrowsFrom(await peers.rpc<number>('getblockcount'), 'after the server was replaced');
  }, 90_000);
});
