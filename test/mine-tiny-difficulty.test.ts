// `mine` (the built CLI) against a pool that sends mining.set_difficulty 1e-10: every hash is a share. Any pool can
// send such a difficulty (a solo server following regtest's network difficulty did). The miner must bound what it
// sends, what it holds in memory and what it logs, and SIGTERM must end it within the grace period + the deadline.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_GRACE_MS } from '../src/miner/command.js';
import { MAX_SUBMITS_IN_FLIGHT } from '../src/miner/miner.js';
import { HARD_DEADLINE_MS } from '../src/shutdown.js';
import { CLI_PATH, jsonLines, killStillRunning, maxLinesPerSecond, procMemory, spawnCli, type CliRun } from './support/processes.js';
import { ScriptedPool, type ScriptedPoolOptions } from './support/scripted-pool.js';
import { waitUntil, within } from './support/wait-until.js';

/** A 1-thread miner is ~75 MiB resident (docs/OPERATIONS.md); without bounds it reached gigabytes in seconds. */
const MAX_PEAK_MIB = 200;
/** Share lines (5/s, bursts of 10), one share summary and one status line a second, and the odd other line. */
const MAX_LINES_PER_SECOND = 40;
/** What SIGTERM may take: the grace period, the hard deadline, and room for a busy machine to deliver the exit. */
const EXIT_BOUND_MS = SHUTDOWN_GRACE_MS + HARD_DEADLINE_MS + 5000;

const children: ChildProcess[] = [];
const pools: ScriptedPool[] = [];

beforeAll(() => {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run "npm run build" before the tests`);
});
afterEach(async () => {
  killStillRunning(children);
  for (const p of pools.splice(0)) await p.stop();
});

async function startPool(options: ScriptedPoolOptions): Promise<ScriptedPool> {
  const pool = new ScriptedPool({ difficulty: 1e-10, ...options });
  pools.push(pool);
  await pool.start();
  return pool;
}

function mine(pool: ScriptedPool): CliRun {
  const run = spawnCli(['mine', '-o', pool.url, '-u', 'w.flood', '-t', '1', '--status-interval', '1', '--log-format', 'json'], {
    env: { MESOS_MINER_PASS: '' },
  });
  children.push(run.child);
  return run;
}

type Line = ReturnType<typeof jsonLines>[number];
const statusLines = (run: CliRun): Line[] => jsonLines(run.output()).filter((l) => typeof l.hashed === 'number');

/** SIGTERM, then the exit: code 0 (the graceful path, not the deadline's SIGKILL) within the bound. */
async function stopsOnSigterm(run: CliRun): Promise<void> {
  run.child.kill('SIGTERM');
  expect(await within(run.exit, EXIT_BOUND_MS, 'mine to exit after SIGTERM')).toEqual({ code: 0, signal: null });
}

describe('mine at difficulty 1e-10 (child process)', () => {
  it('sends shares at its submit rate, stays small in memory and in log lines, exits 0 on SIGTERM', async () => {
    const pool = await startPool({});
    const run = mine(pool);
    await waitUntil(() => pool.shares.filter((s) => s.accepted).length >= 60, 'sixty accepted shares', 60_000, 50);
    await waitUntil(() => statusLines(run).length >= 3, 'three status lines', 30_000, 50);
    const peakMiB = procMemory(run.child.pid!)!.hwm;
    await stopsOnSigterm(run);

    expect(peakMiB).toBeLessThan(MAX_PEAK_MIB);
    const lines = jsonLines(run.output());
    expect(maxLinesPerSecond(lines)).toBeLessThanOrEqual(MAX_LINES_PER_SECOND);
    const final = lines.find((l) => l.msg?.startsWith('final: '))!;
    // Far more shares were found than sent: the rest were dropped, counted, and said so.
    expect(final.dropped).toBeGreaterThan(0);
    expect(final.msg).toMatch(/dropped \d+/);
    // Every share the pool accepted is counted accepted, except one in flight when the grace period ended: the pool
    // may accept it after the miner closed the connection, which counts it unanswered.
    const poolAccepted = pool.shares.filter((s) => s.accepted).length;
    expect(final.accepted).toBeLessThanOrEqual(poolAccepted);
    expect(Number(final.accepted) + Number(final.unanswered)).toBeGreaterThanOrEqual(poolAccepted);
    expect(pool.shares.filter((s) => !s.accepted)).toEqual([]);
    expect(lines.some((l) => l.msg?.startsWith('shares without a line of their own'))).toBe(true);
  }, 120_000);

  it('keeps at most MAX_SUBMITS_IN_FLIGHT shares unanswered when the pool stops answering, and still exits 0 on SIGTERM', async () => {
    const pool = await startPool({ answerSubmits: false });
    const run = mine(pool);
    await waitUntil(() => pool.shares.length >= MAX_SUBMITS_IN_FLIGHT, 'the first submits', 60_000, 50);
    // The miner goes on hashing (status lines keep coming) and finds many more shares than it may send.
    await waitUntil(() => statusLines(run).length >= 3, 'three status lines', 60_000, 50);
    expect(pool.shares.length).toBeLessThanOrEqual(MAX_SUBMITS_IN_FLIGHT);
    expect(statusLines(run).at(-1)!.dropped).toBeGreaterThan(100);
    const peakMiB = procMemory(run.child.pid!)!.hwm;
    await stopsOnSigterm(run);
    expect(peakMiB).toBeLessThan(MAX_PEAK_MIB);
  }, 120_000);
});
