// `mesos-miner local` end to end, as a user runs it: the built CLI starts a real `serve` and two real `mine`
// processes (1 thread each) in front of the scripted pool, which checks every share it receives independently
// (bitcoinjs-lib). Shares of both miners must reach the pool through the server and be accepted; SIGTERM must
// stop every process. Bad flags fail before any child process starts.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedPool } from './support/scripted-pool.js';
import { alive, freePort, killStillRunning, spawnCli, type CliRun } from './support/processes.js';
import { waitUntil, within } from './support/wait-until.js';

const POOL_PASS = 'pool-pass-c0ffee';

const children: ChildProcess[] = [];
const pools: ScriptedPool[] = [];
const pids: number[] = [];

afterEach(async () => {
  killStillRunning(children);
  // A failed test must not leave servers or miners hashing behind it.
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const p of pools.splice(0)) await p.stop();
});

function start(args: string[], env: Record<string, string> = {}): CliRun {
  const run = spawnCli(args, { env });
  children.push(run.child);
  return run;
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url);
    return res.ok ? await res.json() as T : undefined;
  } catch {
    return undefined;
  }
}

interface LocalStatus { children: Array<{ name: string; state: string; pid?: number; restarts: number }> }
interface ServerStatus { miners: Array<{ worker: string; accepted: number; rejected: number }> }

describe('mesos-miner local: bad flags', () => {
  const upstream = ['--pool', 'stratum+tcp://127.0.0.1:1', '--user', 'u'];
  it.each([
    [[...upstream, '--miners', '0'], /--miners must be >= 1, got 0/],
    [[...upstream, '--miners', '1000'], /--miners must be <= 256, got 1000/],
    [[...upstream, '--threads', '0'], /--threads must be >= 1, got 0/],
    [[...upstream, '--threads', '1.5'], /--threads must be a whole number, got '1.5'/],
    [[...upstream, '--listen', 'localhost'], /--listen must be host:port with a port 0-65535, got 'localhost'/],
    [[...upstream, '--listen', '127.0.0.1:0'], /--listen and --server-http need fixed ports/],
    [[...upstream, '--listen', '127.0.0.1:4000', '--server-http', '127.0.0.1:4000'], /--listen and --server-http overlap: ports 4000-4001 \(server i: port \+ i\)/],
    [[...upstream, '--listen', '127.0.0.1:4000', '--server-http', '127.0.0.1:4001'], /--listen and --server-http overlap: ports 4000-4001 \(server i: port \+ i\) and ports 4001-4002/],
    [[...upstream, '--servers', '0'], /--servers must be >= 1, got 0/],
    [[...upstream, '--worker-prefix', 'a b'], /--worker-prefix must be 1-32 letters/],
    [[...upstream, '--worker-prefix', 'server'], /--worker-prefix 'server' is taken by the servers/],
    [[...upstream, '--log-level', 'chatty'], /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'chatty'/],
    [['--bitcoind', 'http://127.0.0.1:8332', '--payout', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', '--coinbase-tag', 'x'.repeat(61)], /--coinbase-tag is 61 bytes; at most 60/],
    [[...upstream, '--http', '127.0.0.1:99999'], /--http must be host:port with a port 0-65535/],
    [['--pool', 'stratum+tcp://127.0.0.1:1'], /--pool needs --user/],
    [['--pool', 'stratum+tcp://127.0.0.1:1', '--bitcoind', 'http://127.0.0.1:8332', '--user', 'u'], /either --pool or --bitcoind, not both/],
    [[], /an upstream is required/],
  ])('%j: clear error, non-zero exit, no child started', async (args, message) => {
    const run = start(['local', '--log-format', 'json', ...args]);
    const { code } = await within(run.exit, 10_000, 'the CLI to exit');
    expect(code).not.toBe(0);
    expect(run.output()).toMatch(message);
    expect(run.output()).not.toMatch(/"child":|child start/);
  });
});

describe('mesos-miner local end to end', () => {
  it('a server and two 1-thread miners: both miners\' shares reach the pool through the server and are accepted; SIGTERM stops everything', async () => {
    // Pool difficulty 2^-12 (~1 M hashes a share): shares arrive within seconds even on a loaded machine; the
    // server keeps its miners at or below the pool's difficulty, so every share it accepts is forwarded.
    const pool = new ScriptedPool({ extranonce2Size: 8, difficulty: 2 ** -12 });
    await pool.start();
    pools.push(pool);
    const [stratumPort, serverHttpPort, statusPort] = [await freePort(), await freePort(), await freePort()];
    const run = start([
      'local', '--miners', '2', '--servers', '1', '--threads', '1', '--pool', pool.url, '--user', 'acct.proxy',
      '--listen', `127.0.0.1:${stratumPort}`, '--server-http', `127.0.0.1:${serverHttpPort}`,
      '--http', `127.0.0.1:${statusPort}`, '--worker-prefix', 'e2e', '--log-format', 'json',
    ], { MESOS_MINER_POOL_PASS: POOL_PASS });

    const local = await waitUntil(async () => {
      const s = await getJson<LocalStatus>(`http://127.0.0.1:${statusPort}/status`);
      return s && s.children.length === 3 && s.children.every((c) => c.state === 'running' && c.pid) ? s : undefined;
    }, 'the supervisor reporting server + 2 miners running', 30_000, 200);
    for (const c of local.children) pids.push(c.pid!);
    expect(local.children.map((c) => c.name).sort()).toEqual(['e2e-1', 'e2e-2', 'server-0']);

    // Both miners have shares accepted by the server, and the pool has accepted shares forwarded by it.
    const server = await waitUntil(async () => {
      const s = await getJson<ServerStatus>(`http://127.0.0.1:${serverHttpPort}/status`);
      const byWorker = new Map((s?.miners ?? []).map((m) => [m.worker, m.accepted]));
      return (byWorker.get('e2e-1') ?? 0) >= 2 && (byWorker.get('e2e-2') ?? 0) >= 2 && pool.shares.filter((x) => x.accepted).length >= 4 ? s : undefined;
    }, 'accepted shares from both miners, forwarded upstream', 60_000, 200);
    expect(server!.miners.every((m) => m.rejected === 0)).toBe(true);

    // Upstream: one connection (the server's), authorized as --user with the password from the environment,
    // every share verified by the pool's independent check, no (extranonce2, nonce) twice.
    expect(pool.shares.filter((s) => !s.accepted)).toEqual([]);
    expect(new Set(pool.shares.map((s) => s.conn)).size).toBe(1);
    const keys = pool.shares.map((s) => `${String(s.params[2])}/${String(s.params[4])}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(pool.shares.every((s) => s.params[0] === 'acct.proxy')).toBe(true);
    expect(run.output()).not.toContain(POOL_PASS);

    // SIGTERM: local stops the miners, then the server, and exits 0 with no process left behind.
    run.child.kill('SIGTERM');
    const { code } = await within(run.exit, 20_000, 'local to exit after SIGTERM');
    expect(code).toBe(0);
    await waitUntil(() => pids.every((pid) => !alive(pid)), 'every child process gone', 5000);
    await waitUntil(() => pool.openConnections.length === 0, 'the server\'s upstream connection closed', 5000);
  }, 120_000);

  it('a killed supervisor leaves no orphans: its children see the IPC channel close and shut down', async () => {
    const pool = new ScriptedPool({ extranonce2Size: 8, difficulty: 2 ** -12 });
    await pool.start();
    pools.push(pool);
    const [stratumPort, serverHttpPort, statusPort] = [await freePort(), await freePort(), await freePort()];
    const run = start([
      'local', '--miners', '1', '--threads', '1', '--pool', pool.url, '--user', 'acct.proxy',
      '--listen', `127.0.0.1:${stratumPort}`, '--server-http', `127.0.0.1:${serverHttpPort}`,
      '--http', `127.0.0.1:${statusPort}`, '--log-format', 'json',
    ]);
    const local = await waitUntil(async () => {
      const s = await getJson<LocalStatus>(`http://127.0.0.1:${statusPort}/status`);
      return s && s.children.length === 2 && s.children.every((c) => c.state === 'running' && c.pid) ? s : undefined;
    }, 'the supervisor reporting server + miner running', 30_000, 200);
    for (const c of local.children) pids.push(c.pid!);
    run.child.kill('SIGKILL'); // no chance to stop anything itself
    await within(run.exit, 5000, 'local to die');
    await waitUntil(() => pids.every((pid) => !alive(pid)), 'every child process gone after the supervisor was killed', 15_000);
  }, 60_000);
});
