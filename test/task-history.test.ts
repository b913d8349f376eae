// Restarts and failures per slot (a miner's worker name, a server's index), as the topology page and /status show
// them: counted by the framework from Mesos' updates (a task that failed, one we killed, one on a lost agent), carried
// into the replacement's record and the state file, and the recent failures newest first.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile } from '../src/scheduler/state-file.js';
import { RecentFailures, TaskHistory } from '../src/scheduler/task-history.js';
import type { TaskRecord } from '../src/scheduler/task-store.js';
import { FakeMaster } from './support/fake-master.js';
import { testFrameworkConfig } from './support/framework-config.js';
import { waitUntil } from './support/wait-until.js';

const record = (change: Partial<TaskRecord>): TaskRecord => ({
  taskId: 't', role: 'miner', worker: 'miner-1', agentId: 'a', hostname: 'h1', state: 'TASK_RUNNING', cpus: 1, mem: 1, launchedAt: 0, updatedAt: 0, ...change,
});

describe('TaskHistory', () => {
  it('counts ended tasks per slot; a failure is one nobody asked for; a replacement starts with its slot\'s figures', () => {
    const h = new TaskHistory();
    const first = record({ taskId: 't1' });
    h.launched(first);
    expect(first).not.toHaveProperty('restarts');
    h.ended({ ...first, state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'exited 1' }, true, 1000);
    const second = record({ taskId: 't2' });
    h.launched(second);
    expect(second).toMatchObject({ restarts: 1, lastFailure: { at: 1000, state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'exited 1' } });
    // Killed on our request (a rolling relaunch): a restart, not a failure.
    h.ended({ ...second, state: 'TASK_KILLED', killRequested: true }, true, 2000);
    const third = record({ taskId: 't3' });
    h.launched(third);
    expect(third).toMatchObject({ restarts: 2, lastFailure: { at: 1000 } });
    // An agent out of touch: a failure, but the task is not over (no restart yet).
    h.ended({ ...third, state: 'TASK_UNREACHABLE' }, false, 3000);
    expect(h.recent.list().map((f) => [f.name, f.state, f.at])).toEqual([['miner-1', 'TASK_UNREACHABLE', 3000], ['miner-1', 'TASK_FAILED', 1000]]);
    // Then it ends (TASK_GONE): a restart, the same failure (not a second one).
    h.ended({ ...third, state: 'TASK_GONE' }, true, 3500, true);
    expect(h.recent.list()).toHaveLength(2);
    const fourth = record({ taskId: 't4' });
    h.launched(fourth);
    expect(fourth).toMatchObject({ restarts: 3, lastFailure: { at: 3000, state: 'TASK_UNREACHABLE' } });
    h.ended({ ...fourth, state: 'TASK_FAILED' }, true, 3600);
    expect(h.recent.list()).toHaveLength(3);
    // Servers by index; other slots untouched.
    const server = record({ role: 'server', worker: undefined, index: 2, taskId: 's' });
    h.launched(server);
    expect(server).not.toHaveProperty('restarts');
    h.ended({ ...server, state: 'TASK_LOST' }, true, 4000);
    expect(h.recent.list()[0]).toMatchObject({ name: 'server-2', host: 'h1', state: 'TASK_LOST' });
    // A state file's records carry their slots' counts on.
    const restored = new TaskHistory();
    restored.restore([record({ restarts: 5, lastFailure: { at: 9, state: 'TASK_FAILED' } })]);
    const next = record({ taskId: 't9' });
    restored.launched(next);
    expect(next).toMatchObject({ restarts: 5, lastFailure: { at: 9 } });
  });

  it('keeps the newest failures only', () => {
    const recent = new RecentFailures(3);
    for (let i = 0; i < 5; i++) recent.add({ at: i, name: `m${i}`, host: 'h', state: 'TASK_FAILED' });
    expect(recent.list().map((f) => f.at)).toEqual([4, 3, 2]);
  });
});

describe('the framework counts restarts and failures from Mesos\' updates', () => {
  let dir: string;
  let master: FakeMaster | undefined;
  let framework: Framework | undefined;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-history-')); });
  afterEach(async () => {
    await framework?.stop();
    await master?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(cfg: FrameworkConfig): Promise<Framework> {
    const client = new SchedulerClient({ master: master!.url, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 } });
    framework = new Framework(cfg, client, new StateFile(join(dir, 'state.json')), silentLogger);
    await framework.start();
    return framework;
  }

  it('a failed miner: its replacement (same worker name) has restarts 1 and the reason; /status lists the failure; it survives a scheduler restart', async () => {
    master = await FakeMaster.start({ agents: 3 });
    const cfg = testFrameworkConfig({ miners: 2 });
    let f = await start(cfg);
    const running = () => f.status().tasks.filter((t) => t.role === 'miner' && t.state === 'TASK_RUNNING');
    await waitUntil(() => running().length === 2, 'two miners running', 8000);
    const victim = running().find((t) => t.worker === 'miner-1')!;
    master.failTask(victim.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', 'Command exited with status 1');
    const replacement = await waitUntil(() => running().find((t) => t.worker === victim.worker && t.taskId !== victim.taskId), 'the replacement running', 8000);
    expect(replacement).toMatchObject({
      restarts: 1, lastFailure: { state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 1' },
    });
    expect(running().find((t) => t.worker !== victim.worker)).not.toHaveProperty('restarts');
    expect(f.status().failures).toEqual([{
      at: expect.any(Number), name: victim.worker, host: victim.hostname, state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command exited with status 1',
    }]);

    // The counts are in the state file: a new scheduler's next replacement of that slot is its second restart.
    await f.stop();
    framework = undefined;
    f = await start(cfg);
    await waitUntil(() => running().length === 2, 'the tasks reconciled', 8000);
    master.failTask(replacement.taskId, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', 'again');
    await waitUntil(() => running().find((t) => t.worker === victim.worker && t.restarts === 2 && t.lastFailure?.message === 'again'), 'the second restart', 8000);
  });
});
