// `schedule --miner-api --miner-http` on the real Mesos master and agent (`--container command`), solo against the
// real regtest node: the miner task declares ports of the agent's offer, the real `mine` listens there, and its
// cgminer API answers `summary` on the port the scheduler's /status and topology page show; by default only from the
// agent's loopback. What the fake master cannot show: the real agent giving the task those ports and the process
// binding them.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FrameworkStatus } from '../../src/scheduler/framework.js';
import type { TopologyView } from '../../src/scheduler/topology-view.js';
import { apiJson, apiRequest } from '../support/cgminer-client.js';
import { describePeers, Peers } from '../support/peers.js';
import { readEvents } from '../support/page-client.js';
import { CLI_PATH, jsonLines, killStillRunning, spawnCli } from '../support/processes.js';
import { waitUntil } from '../support/wait-until.js';

const NAME = 'ittopo';

interface MasterTask {
  id: string;
  state: string;
  resources: { ports?: string };
  discovery?: { ports?: { ports?: Array<{ number: number; name?: string }> } };
}

/** This machine's first address that is not loopback (a client the default --api-allow must refuse), if any. */
function externalIPv4(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describePeers('schedule --miner-api on the real Mesos agent', () => {
  let peers: Peers;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    accessSync(CLI_PATH, constants.X_OK);
    dir = mkdtempSync(join(tmpdir(), 'mm-it-topo-'));
    peers = await Peers.create();
    await peers.start('node', 'mesos');
  }, 120_000);
  afterAll(async () => {
    killStillRunning(children);
    await peers?.stop(); // also kills the agent's tasks
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the miner task takes ports of its offer; its cgminer API answers summary there (loopback only by default); /status and the page show it', async () => {
    const scheduler = spawnCli([
      'schedule', '--master', peers.v('PEERS_MESOS_MASTER_URL'), '--name', NAME, '--container', 'command', '--command-path', CLI_PATH,
      '--bitcoind', peers.bitcoindUrl, '--payout', peers.v('PEERS_PAYOUT'), '--servers', '1', '--miners', '1', '--miner-cpus', '0.5',
      '--miner-api', '--miner-http', '--state-file', join(dir, 'state.json'), '--http', '127.0.0.1:0', '--log-format', 'json', '--task-log-level', 'warn',
    ]);
    children.push(scheduler.child);
    const listening = await waitUntil(() => jsonLines(scheduler.output()).find((l) => l.msg === 'status endpoint listening (GET /status)'), 'the scheduler\'s endpoint', 30_000, 50);
    const port = Number(String(listening.http).split(':').pop());
    const miner = await waitUntil(async () => {
      const s = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as FrameworkStatus;
      return s.tasks.find((t) => t.role === 'miner' && t.state === 'TASK_RUNNING' && t.api);
    }, 'the miner RUNNING with its endpoints', 60_000, 200);
    const [apiPort, httpPort] = [Number(miner.api!.split(':').pop()), Number(miner.http!.split(':').pop())];
    expect(miner.api).toBe(`127.0.0.1:${apiPort}`);

    // The master has the ports in the task's resources, named in its discovery info.
    const state = (await (await fetch(`${peers.v('PEERS_MESOS_MASTER_URL')}/master/state`)).json()) as { frameworks: Array<{ name: string; tasks: MasterTask[] }> };
    const task = state.frameworks.find((f) => f.name === NAME)!.tasks.find((t) => t.id === miner.taskId)!;
    // Mesos shows them as ranges, "[20004-20005]".
    const ranges = [...(task.resources.ports ?? '').matchAll(/(\d+)-(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    for (const p of [apiPort, httpPort]) expect(ranges.some(([begin, end]) => p >= begin! && p <= end!), `port ${p} in ${task.resources.ports}`).toBe(true);
    expect(task.discovery?.ports?.ports).toEqual([
      expect.objectContaining({ number: apiPort, name: 'cgminer-api' }), expect.objectContaining({ number: httpPort, name: 'http-metrics' }),
    ]);

    // The real mine answers on them: a valid summary once it hashes, and its own /status.
    const summary = await waitUntil(async () => {
      const reply = await apiJson(apiPort, 'summary').catch(() => undefined);
      return reply?.SUMMARY?.[0]?.['Total MH'] > 0 ? reply : undefined;
    }, 'a summary with hashes', 60_000, 500);
    expect(summary.STATUS[0]).toMatchObject({ STATUS: 'S', Code: 11, Msg: 'Summary' });
    expect(summary.SUMMARY[0]).toEqual(expect.objectContaining({ Elapsed: expect.any(Number), 'MHS av': expect.any(Number), Accepted: expect.any(Number) }));
    expect(await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()).toMatchObject({ user: miner.worker, threads: 1 });
    // It listens on every interface of the agent, but without --miner-api-allow only loopback gets an answer.
    const external = externalIPv4();
    if (external) expect(await apiRequest(apiPort, { command: 'summary' }, { host: external, localAddress: external })).toBe('');

    // The topology page shows the miner with its endpoint.
    const [init] = await readEvents(port, (e) => e.length >= 1);
    const view = init!.data.view as TopologyView;
    expect(view.miners).toEqual([expect.objectContaining({ worker: miner.worker, host: '127.0.0.1', state: 'RUNNING', api: miner.api, http: miner.http, primary: 0 })]);
    expect(view.framework).toMatchObject({ subscribed: true });
  }, 180_000);
});
