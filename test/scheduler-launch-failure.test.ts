// A failed ACCEPT, against the fake master over real HTTP. Refused (an HTTP error answer): the launch intents are
// dropped and saved at once and the tasks placed again on the next offers (REVIVE after SUPPRESS), long before the
// launch timeout. Outcome unknown (no answer, connection reset): the tasks are reconciled at once; the master's
// answer either ends them (relaunched) or confirms them (nothing launched twice).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { MesosCallError, SchedulerClient } from '../src/mesos/scheduler-client.js';
import { failedCallOutcome } from '../src/scheduler/call-outcome.js';
import { Framework, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile, type PersistedState } from '../src/scheduler/state-file.js';
import { FakeMaster, type CallFailure } from './support/fake-master.js';
import { testFrameworkConfig } from './support/framework-config.js';
import { waitUntil } from './support/wait-until.js';

let dir: string;
let master: FakeMaster | undefined;
let framework: Framework | undefined;

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mm-launch-fail-')); });
afterEach(async () => {
  await framework?.stop();
  await master?.close();
  framework = undefined;
  master = undefined;
  await rm(dir, { recursive: true, force: true });
});

// The launch timeout is far beyond every wait below: only the immediate handling can make these tests pass.
const LAUNCH_TIMEOUT_MS = 120_000;

function config(miners: number): FrameworkConfig {
  return testFrameworkConfig({ name: 'lf', miners, launchTimeoutMs: LAUNCH_TIMEOUT_MS });
}

async function start(miners: number, launchStepMs?: number): Promise<{ master: FakeMaster; framework: Framework; statePath: string }> {
  master = await FakeMaster.start({ agents: 3, ...(launchStepMs !== undefined ? { launchStepMs } : {}) });
  const cfg = config(miners);
  const client = new SchedulerClient({
    master: master.url, framework: frameworkInfo(cfg), backoff: { initialMs: 20, maxMs: 100 }, callTimeoutMs: 300,
  });
  const statePath = join(dir, 'state.json');
  framework = new Framework(cfg, client, new StateFile(statePath), silentLogger);
  return { master, framework, statePath };
}

const acceptedTaskIds = (m: FakeMaster, index: number): string[] =>
  m.callsOfType('ACCEPT')[index]!.call.accept!.operations!.flatMap((op) => (op.launch!.task_infos ?? []).map((t) => t.task_id.value));

describe('a refused ACCEPT', () => {
  it.each([
    [{ status: 400, body: 'Failed to validate scheduler::Call: injected' }, true],
    [{ status: 503, body: 'Master is not the leader (injected)' }, true],
    // 403: the subscription is stale; the client resubscribes and the offer dies with the old subscription.
    [{ status: 403, body: 'Framework is not subscribed' }, false],
  ] as const)('%j: intents dropped and saved at once, offer given back, relaunched via REVIVE well before the launch timeout', async (failure, declined) => {
    const { master: m, framework: f, statePath } = await start(0);
    m.failNextCall('ACCEPT', failure);
    const began = Date.now();
    await f.start();

    await waitUntil(() => m.runningTasks().length === 1 && f.runningCounts().servers === 1, 'the server running after the refused ACCEPT', 5000);
    expect(Date.now() - began).toBeLessThan(LAUNCH_TIMEOUT_MS / 10);
    const accepts = m.callsOfType('ACCEPT');
    expect(accepts.map((a) => a.status)).toEqual([failure.status, 202]);
    const [refusedTask] = acceptedTaskIds(m, 0);
    const refusedOffer = accepts[0]!.call.accept!.offer_ids![0]!.value;
    // The refused task reached neither the master nor the framework's state; its replacement has a new id.
    expect(m.task(refusedTask!)).toBeUndefined();
    expect(acceptedTaskIds(m, 1)).not.toContain(refusedTask);
    await f.idle();
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as PersistedState;
    expect(saved.tasks.map((t) => t.taskId)).toEqual([acceptedTaskIds(m, 1)[0]]);
    expect(saved.tasks[0]!.state).toBe('TASK_RUNNING');
    // The offer the master still held was declined (not after a 403: that subscription is gone).
    const declinedIds = m.callsOfType('DECLINE').flatMap((d) => (d.call.decline!.offer_ids ?? []).map((o) => o.value));
    expect(declinedIds.includes(refusedOffer)).toBe(declined);
    if (failure.status !== 403) {
      // Satisfied by the intent it SUPPRESSed; the dropped intent made it REVIVE to get offers back.
      const types = m.calls.map((c) => c.call.type);
      const suppressAt = types.indexOf('SUPPRESS');
      expect(suppressAt).toBeGreaterThan(-1);
      expect(types.indexOf('REVIVE', suppressAt)).toBeGreaterThan(suppressAt);
    }
  });

  it('with miners: a refused miner launch is replaced on the next offers, nothing waits for the launch timeout', async () => {
    const { master: m, framework: f } = await start(2);
    await f.start();
    await waitUntil(() => f.runningCounts().servers === 1, 'the server running');
    m.failNextCall('ACCEPT', { status: 400, body: 'injected' });
    await waitUntil(() => f.runningCounts().miners === 2 && m.runningTasks().length === 3, '2 miners running despite a refused ACCEPT', 5000);
    const refused = m.calls.find((c) => c.call.type === 'ACCEPT' && c.status === 400)!;
    for (const op of refused.call.accept!.operations!) {
      for (const t of op.launch!.task_infos ?? []) expect(m.task(t.task_id.value)).toBeUndefined();
    }
    expect(f.status().tasks.filter((t) => t.state === 'INTENT')).toHaveLength(0);
  });
});

describe('an ACCEPT with no answer', () => {
  it.each(['hang', 'drop'] as const)('%s (master did not take it): reconciled at once, TASK_UNKNOWN, relaunched', async (how) => {
    const { master: m, framework: f } = await start(0);
    m.failNextCall('ACCEPT', how);
    await f.start();
    await waitUntil(() => m.runningTasks().length === 1 && f.runningCounts().servers === 1, 'the server running after the lost ACCEPT', 5000);
    const [lost] = acceptedTaskIds(m, 0);
    expect(m.task(lost!)).toBeUndefined();
    const asked = m.callsOfType('RECONCILE').flatMap((c) => c.call.reconcile!.tasks!.map((t) => t.task_id.value));
    expect(asked).toContain(lost);
    expect(m.callsOfType('ACCEPT')).toHaveLength(2);
    expect(f.status().tasks.map((t) => t.taskId)).not.toContain(lost);
  });

  it('applied-hang (master took it, the answer was lost): reconciliation confirms the task, nothing is launched twice', async () => {
    // The first status update comes after the call timeout, so only reconciliation can tell the task exists.
    const { master: m, framework: f } = await start(0, 800);
    const failure: CallFailure = 'applied-hang';
    m.failNextCall('ACCEPT', failure);
    await f.start();
    await waitUntil(() => m.callsOfType('ACCEPT').length === 1, 'the ACCEPT');
    const [taken] = acceptedTaskIds(m, 0);
    await waitUntil(() => m.callsOfType('RECONCILE').some((c) => c.call.reconcile!.tasks!.some((t) => t.task_id.value === taken)),
      'a reconciliation of the task whose ACCEPT got no answer', 3000);
    // The master answers with the task's latest state (STAGING), before any update from the agent.
    await waitUntil(() => f.status().tasks.find((t) => t.taskId === taken)?.state === 'TASK_STAGING', 'the task confirmed STAGING by reconciliation', 3000);
    expect(m.task(taken!)!.statuses).toHaveLength(0);
    await waitUntil(() => m.runningTasks().length === 1 && f.runningCounts().servers === 1, 'the server running', 5000);
    await new Promise((r) => setTimeout(r, 200));
    await f.idle();
    expect(m.callsOfType('ACCEPT')).toHaveLength(1);
    expect(m.runningTasks().map((t) => t.taskId)).toEqual([taken]);
    expect(f.status().tasks.map((t) => [t.taskId, t.state])).toEqual([[taken, 'TASK_RUNNING']]);
  });
});

describe('failedCallOutcome', () => {
  it('an HTTP error answer or a call never sent is refused; a timeout or reset is unknown', () => {
    expect(failedCallOutcome(new MesosCallError('HTTP 400', 'ACCEPT', 400, 'bad'))).toBe('refused');
    expect(failedCallOutcome(new MesosCallError('HTTP 307', 'ACCEPT', 307))).toBe('refused');
    expect(failedCallOutcome(new MesosCallError('cannot send ACCEPT: not subscribed', 'ACCEPT'))).toBe('refused');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(failedCallOutcome(new MesosCallError('x', 'ACCEPT', undefined, undefined, { cause: refused }))).toBe('refused');
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(failedCallOutcome(new MesosCallError('x', 'ACCEPT', undefined, undefined, { cause: reset }))).toBe('unknown');
    expect(failedCallOutcome(new MesosCallError('x', 'ACCEPT', undefined, undefined, { cause: new Error('no response within 300 ms') }))).toBe('unknown');
    expect(failedCallOutcome(new MesosCallError('read failed', 'ACCEPT', 202))).toBe('unknown');
    expect(failedCallOutcome(new Error('something else'))).toBe('unknown');
  });
});
