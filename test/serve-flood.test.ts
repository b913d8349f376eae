// `serve` (the built CLI) under a flood of valid shares at a tiny difficulty, in front of a pool that stops answering:
// what waits for the upstream stays bounded (the rest is counted as dropped), so do memory and log lines, and SIGTERM
// ends the process within --shutdown-grace + the hard deadline.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_DEFAULTS } from '../src/server/miner-server.js';
import { HARD_DEADLINE_MS } from '../src/shutdown.js';
import { CLI_PATH, jsonLines, killStillRunning, maxLinesPerSecond, procMemory } from './support/processes.js';
import { ScriptedPool } from './support/scripted-pool.js';
import { startServe } from './support/serve-process.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil, within } from './support/wait-until.js';

/** Every hash meets it (but for 1 in 65536): each distinct nonce is a valid share that also meets the upstream's. */
const DIFF = '1/4294967296';
const FLOODERS = 4;
const SUBMITS_EACH = 10_000;
const GRACE_S = 1;
/** serve in front of one pool is ~63 MiB resident (docs/OPERATIONS.md). */
const MAX_PEAK_MIB = 200;

const children: ChildProcess[] = [];
const cleanup: (() => unknown)[] = [];
beforeAll(() => {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run "npm run build" before the tests`);
});
afterEach(async () => {
  killStillRunning(children);
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('serve under a flood of shares at a tiny difficulty (child process)', () => {
  it('keeps at most maxPendingForwards waiting upstream, stays small, logs little, exits 0 on SIGTERM', async () => {
    const pool = new ScriptedPool({ extranonce2Size: 8, difficulty: 2 ** -32, answerSubmits: false });
    await pool.start();
    cleanup.push(() => pool.stop());
    const run = await startServe([
      '--pool', pool.url, '--user', 'proxy.flood', '--min-diff', DIFF, '--max-diff', DIFF, '--start-diff', DIFF, '--submit-rate', '1000000',
      '--shutdown-grace', String(GRACE_S),
    ], {}, 20_000);
    children.push(run.child);
    const port = Number(run.url.split(':').pop());
    const status = async () => (await (await fetch(`http://127.0.0.1:${run.httpPort}/status?miners=0`)).json()) as {
      stats: { shares: { accepted: number; rejected: number }; upstream: { forwarded: number; pending: number; dropped: number } };
    };
    await waitUntil(() => pool.received('mining.authorize').length > 0, 'the upstream session', 10_000);

    const miners = await Promise.all(Array.from({ length: FLOODERS }, () => TestMiner.connect(port)));
    cleanup.push(() => miners.forEach((m) => m.close()));
    await Promise.all(miners.map((m, i) => m.handshake(`flooder${i}`)));
    for (const m of miners) {
      const job = m.job!;
      const en2 = '00'.repeat(m.extranonce2Size);
      const submit = (n: number) =>
        JSON.stringify({ id: 100_000 + n, method: 'mining.submit', params: [m.user, job.id, en2, job.ntimeHex, n.toString(16).padStart(8, '0')] });
      m.socket.write(Array.from({ length: SUBMITS_EACH }, (_, n) => submit(n)).join('\n') + '\n');
    }
    // /status is fetched in the background; each check looks at the latest answer.
    let answered = 0;
    const refresh = () => void status().then((s) => (answered = s.stats.shares.accepted + s.stats.shares.rejected), () => {});
    await waitUntil(() => (refresh(), answered >= FLOODERS * SUBMITS_EACH), 'every submit answered', 60_000, 200);
    const { upstream } = (await status()).stats;
    expect(upstream.pending).toBeLessThanOrEqual(SERVER_DEFAULTS.maxPendingForwards);
    expect(upstream.dropped).toBeGreaterThan(FLOODERS * SUBMITS_EACH / 2);
    expect(pool.shares.length).toBeLessThanOrEqual(SERVER_DEFAULTS.maxPendingForwards);
    const peakMiB = procMemory(run.child.pid!)!.hwm;

    run.child.kill('SIGTERM');
    const exit = await within(run.exit, GRACE_S * 1000 + HARD_DEADLINE_MS + 5000, 'serve to exit after SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(peakMiB).toBeLessThan(MAX_PEAK_MIB);
    const lines = jsonLines(run.output());
    expect(maxLinesPerSecond(lines)).toBeLessThanOrEqual(60);
    expect(lines.some((l) => l.msg?.startsWith('log lines left out') && l.message === 'share not forwarded: too many shares waiting for the upstream')).toBe(true);
  }, 120_000);
});
