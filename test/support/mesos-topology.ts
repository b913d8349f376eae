// What the real Mesos master and agent of the peers show about one framework's topology (1 server + 1 miner):
// its tasks as the master reports them, waiting for a steady topology, the task processes on the agent and their
// sandboxes. Shared by the integration suites that run `schedule` on the real peers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Peers } from './peers.js';
import { waitUntil } from './wait-until.js';

export interface MesosTask {
  id: string;
  state: string;
  statuses: Array<{ state: string; timestamp: number; healthy?: boolean }>;
}

export type Topology = { server: MesosTask; miner: MesosTask };

export const runningAt = (t: MesosTask): number | undefined => t.statuses.find((s) => s.state === 'TASK_RUNNING')?.timestamp;

export class MesosTopology {
  frameworkId = '';

  /** `name`: the framework name, which prefixes its task ids. */
  constructor(private readonly peers: Peers, private readonly name: string) {}

  /** The framework's live tasks as the master reports them. */
  async tasks(): Promise<MesosTask[]> {
    const state = await (await fetch(`${this.peers.v('PEERS_MESOS_MASTER_URL')}/master/state`)).json() as {
      frameworks: Array<{ id: string; tasks: MesosTask[] }>;
    };
    return state.frameworks.find((f) => f.id === this.frameworkId)?.tasks ?? [];
  }

  ofRole(list: MesosTask[], role: 'server' | 'miner'): MesosTask[] {
    return list.filter((t) => t.id.startsWith(`${this.name}.${role}.`));
  }

  /** The one server and the one miner, once both are RUNNING, nothing else of ours is live, and `wanted` holds. */
  async steady(what: string, timeoutMs: number, wanted: (t: Topology) => boolean = () => true): Promise<Topology> {
    let seen: MesosTask[] = [];
    try {
      return await waitUntil(async () => {
        seen = await this.tasks();
        const [server, ...servers] = this.ofRole(seen, 'server');
        const [miner, ...miners] = this.ofRole(seen, 'miner');
        const one = servers.length === 0 && miners.length === 0;
        const up = one && server?.state === 'TASK_RUNNING' && miner?.state === 'TASK_RUNNING';
        return up && wanted({ server, miner }) ? { server, miner } : undefined;
      }, what, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the master has: ${JSON.stringify(seen.map((t) => [t.id, t.state]))}`);
    }
  }

  /**
   * Pid of this framework's `mine` or `serve` task process on the agent. Only this framework's: a torn-down
   * framework's tasks may still be ending when the next one starts.
   */
  taskPid(command: 'mine' | 'serve'): number | undefined {
    return agentTaskProcess(this.peers, command, { frameworkId: this.frameworkId })?.pid;
  }

  /** The latest run's sandbox of one of our tasks on the agent. */
  sandbox(taskId: string): string {
    const slaves = join(this.peers.v('PEERS_MESOS_AGENT_WORK_DIR'), 'slaves');
    for (const agent of readdirSync(slaves)) {
      const dir = join(slaves, agent, 'frameworks', this.frameworkId, 'executors', taskId, 'runs', 'latest');
      try {
        readdirSync(dir);
        return dir;
      } catch {
        // not on this agent id
      }
    }
    throw new Error(`no sandbox for task ${taskId} under ${slaves}`);
  }
}

/**
 * A task process `node .../dist/cli.js <command> ...` on the peers' Mesos agent (found by its MESOS_SANDBOX), of one
 * framework when `frameworkId` is given, whose command line contains `needle` when given.
 */
export function agentTaskProcess(
  peers: Peers,
  command: 'mine' | 'serve',
  { frameworkId, needle }: { frameworkId?: string; needle?: string } = {},
): { pid: number; argv: string[] } | undefined {
  const agentDir = `MESOS_SANDBOX=${peers.v('PEERS_MESOS_AGENT_WORK_DIR')}/`;
  const framework = frameworkId === undefined ? '' : `/frameworks/${frameworkId}/executors/`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.findIndex((a) => a.endsWith('dist/cli.js'));
      if (at < 0 || argv[at + 1] !== command || (needle !== undefined && !argv.join(' ').includes(needle))) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.some((v) => v.startsWith(agentDir) && v.includes(framework))) return { pid: Number(entry), argv };
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}
