// `schedule --container command` on a real Mesos master and agent, solo mining against the real regtest node:
// the agent runs this checkout's CLI (dist/cli.js, executable with its `#!/usr/bin/env node` line; the peers put
// node on the tasks' PATH). What the fake master cannot prove: the real allocator's offer filters, real command
// tasks, real status updates, and that blocks reach the real node. The steps share one framework and run in order.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePeers, Peers } from '../support/peers.js';
import { CLI_PATH, jsonLines, killStillRunning, spawnCli, type CliRun } from '../support/processes.js';
import { waitUntil } from '../support/wait-until.js';

interface MesosTask {
  id: string;
  state: string;
  statuses: Array<{ state: string; timestamp: number }>;
}

const NAME = 'itmesos';

describePeers('schedule --container command -> real Mesos master + agent -> real regtest node', () => {
  let peers: Peers;
  let dir: string;
  let scheduler: CliRun | undefined;
  let frameworkId: string;
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

  /** Our framework's live tasks as the master reports them. */
  async function tasks(): Promise<MesosTask[]> {
    const state = await (await fetch(`${peers.v('PEERS_MESOS_MASTER_URL')}/master/state`)).json() as {
      frameworks: Array<{ id: string; tasks: MesosTask[] }>;
    };
    return state.frameworks.find((f) => f.id === frameworkId)?.tasks ?? [];
  }

  const ofRole = (list: MesosTask[], role: 'server' | 'miner') => list.filter((t) => t.id.startsWith(`${NAME}.${role}.`));
  const runningAt = (t: MesosTask) => t.statuses.find((s) => s.state === 'TASK_RUNNING')?.timestamp;

  type Topology = { server: MesosTask; miner: MesosTask };

  /** The one server and the one miner, once both are RUNNING, nothing else of ours is live, and `wanted` holds. */
  async function steady(what: string, timeoutMs: number, wanted: (t: Topology) => boolean = () => true): Promise<Topology> {
    let seen: MesosTask[] = [];
    try {
      return await waitUntil(async () => {
        seen = await tasks();
        const [server, ...servers] = ofRole(seen, 'server');
        const [miner, ...miners] = ofRole(seen, 'miner');
        const one = servers.length === 0 && miners.length === 0;
        const up = one && server?.state === 'TASK_RUNNING' && miner?.state === 'TASK_RUNNING';
        return up && wanted({ server, miner }) ? { server, miner } : undefined;
      }, what, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the master has: ${JSON.stringify(seen.map((t) => [t.id, t.state]))}`);
    }
  }

  /** Pid of this agent's `mine` or `serve` task process (found by the sandbox in its environment). */
  function taskPid(command: 'mine' | 'serve'): number | undefined {
    const sandboxes = `MESOS_SANDBOX=${peers.v('PEERS_MESOS_AGENT_WORK_DIR')}/`;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        const at = argv.indexOf(CLI_PATH);
        if (at < 0 || argv[at + 1] !== command) continue;
        if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').some((v) => v.startsWith(sandboxes))) return Number(entry);
      } catch {
        // the process ended while we looked
      }
    }
    return undefined;
  }

  const chainGrowsFrom = (height: number, what: string) =>
    waitUntil(async () => (await peers.rpc<number>('getblockcount')) > height, `a block above height ${height} ${what}`, 45_000, 250);

  it('places the server, then the miner once the server runs (both RUNNING within 30 s); blocks reach the node', async () => {
    const start = await peers.rpc<number>('getblockcount');
    frameworkId = await startScheduler();
    const { server, miner } = await steady('the server and the miner RUNNING', 30_000);
    // The miner needs the server's address: it is launched only after the server runs.
    expect(miner.statuses[0]!.timestamp).toBeGreaterThanOrEqual(runningAt(server)!);
    await chainGrowsFrom(start, 'mined by the miner task through the server task');
  }, 90_000);

  it('a scheduler killed with SIGKILL and restarted on its state file keeps its framework id and launches nothing twice', async () => {
    const before = await steady('the topology', 10_000);
    scheduler!.child.kill('SIGKILL');
    await scheduler!.exit;
    expect(await startScheduler()).toBe(frameworkId);
    const run = scheduler!;
    await waitUntil(() => jsonLines(run.output()).some((l) => l.msg === 'desired state reached: suppressing offers'), 'the restarted scheduler content with the tasks', 30_000, 50);
    const after = await steady('the same topology', 10_000);
    expect([after.server.id, after.miner.id]).toEqual([before.server.id, before.miner.id]);
    expect(jsonLines(run.output()).filter((l) => l.msg === 'launching')).toHaveLength(0);
  }, 60_000);

  it('a miner process killed on the agent is relaunched', async () => {
    const before = await steady('the topology', 10_000);
    const pid = await waitUntil(() => taskPid('mine'), 'the miner process');
    process.kill(pid, 'SIGKILL');
    const after = await steady('a new miner RUNNING', 30_000, (t) => t.miner.id !== before.miner.id);
    expect(after.server.id).toBe(before.server.id);
  }, 60_000);

  it('a server process killed on the agent is replaced, and mining goes on through the new one', async () => {
    const before = await steady('the topology', 10_000);
    const pid = await waitUntil(() => taskPid('serve'), 'the server process');
    process.kill(pid, 'SIGKILL');
    await steady('a new server (and its miner) RUNNING', 30_000, (t) => t.server.id !== before.server.id);
    await chainGrowsFrom(await peers.rpc<number>('getblockcount'), 'after the server was replaced');
  }, 90_000);
});
