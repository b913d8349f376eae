// SIGTERM handling of the long-running commands (src/shutdown.ts): a graceful stop exits 0; a stop that never ends,
// even one that never lets the main thread's event loop run again, is cut short by the watchdog thread.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HARD_DEADLINE_MS } from '../src/shutdown.js';
import { killStillRunning, type ExitStatus } from './support/processes.js';
import { waitUntil, within } from './support/wait-until.js';

const CHILD = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));
const GRACE_MS = 200; // as in the fixture
const children: ReturnType<typeof spawn>[] = [];
afterEach(() => killStillRunning(children));

function start(mode: 'stuck' | 'graceful') {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exit, output: () => out };
}

describe('exitOnSignals', () => {
  it('exits 0 once the stop is done; a second SIGTERM changes nothing', async () => {
    const p = start('graceful');
    await waitUntil(() => p.output().includes('ready'), 'the child to start', 20_000);
    p.child.kill('SIGTERM');
    p.child.kill('SIGTERM');
    expect(await within(p.exit, 10_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(p.output()).not.toMatch(/killing the process/);
  });

  it('kills the process at grace + HARD_DEADLINE_MS when the stop monopolises the main thread', async () => {
    const p = start('stuck');
    await waitUntil(() => p.output().includes('ready'), 'the child to start', 20_000);
    p.child.kill('SIGTERM');
    expect(await within(p.exit, GRACE_MS + HARD_DEADLINE_MS + 5000, 'the deadline to kill the child')).toEqual({ code: null, signal: 'SIGKILL' });
    const line = JSON.parse(p.output().split('\n').find((l) => l.includes('killing the process'))!);
    expect(line).toMatchObject({ level: 60, name: 'shutdown-child', msg: `stopping took longer than ${GRACE_MS + HARD_DEADLINE_MS} ms; killing the process` });
  });
});
