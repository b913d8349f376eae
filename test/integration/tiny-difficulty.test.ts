// `mine` and `serve` at a share difficulty of 1e-10 against the real stack: every hash is a share. Both must stay
// bounded (memory, log lines) and end on SIGTERM within their grace period + the hard deadline, exit code 0.
// The difficulty is pinned with serve's --min-diff/--max-diff, so the tests do not depend on how serve picks a
// solo difficulty by itself (regtest's network difficulty is ~4.66e-10 anyway).
import { expect, it } from 'vitest';
import { SHUTDOWN_GRACE_MS } from '../../src/miner/command.js';
import { HARD_DEADLINE_MS } from '../../src/shutdown.js';
import { describePeers, usePeers } from '../support/peers.js';
import { freePort, jsonLines, maxLinesPerSecond, procMemory, spawnCli, type CliRun } from '../support/processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const TINY = '1e-10';
const SERVE_GRACE_S = 2;
/** A 1-thread miner is ~75 MiB resident and serve ~63 MiB (docs/OPERATIONS.md); unbounded, mine reached GiBs. */
const MAX_PEAK_MIB = 200;
/** Room for a busy machine to deliver an exit that the deadline already bounds. */
const SLACK_MS = 5000;

describePeers('mine and serve at difficulty 1e-10 against the real peers', () => {
  const fixture = usePeers('node', 'pool lhr');
  const { children } = fixture;

  /** serve with the session difficulty pinned at 1e-10, listening on a free port; resolves once it takes miners. */
  async function serve(upstream: string[]): Promise<{ run: CliRun; url: string }> {
    const port = await freePort();
    const run = spawnCli(
      ['serve', ...upstream, '--listen', `127.0.0.1:${port}`, '--http', 'off', '--min-diff', TINY, '--max-diff', TINY, '--start-diff', TINY,
        '--shutdown-grace', String(SERVE_GRACE_S), '--log-format', 'json'],
      { env: { MESOS_MINER_POOL_PASS: 'x' } },
    );
    children.push(run.child);
    await waitUntil(() => jsonLines(run.output()).some((l) => l.msg === 'miner server listening'), 'serve to listen', 30_000, 50);
    return { run, url: `stratum+tcp://127.0.0.1:${port}` };
  }

  function mine(url: string): CliRun {
    const run = spawnCli(['mine', '-o', url, '-u', 'it.tiny', '-t', '1', '--status-interval', '1', '--log-format', 'json'], {
      env: { MESOS_MINER_PASS: 'x' },
    });
    children.push(run.child);
    return run;
  }

  const lastStatus = (run: CliRun) => jsonLines(run.output()).filter((l) => typeof l.hashed === 'number').at(-1);

  /** Peak resident memory, then SIGTERM and an exit 0 within the bound; returns the peak (MiB). */
  async function stop(run: CliRun, graceMs: number, what: string): Promise<number> {
    const peak = procMemory(run.child.pid!)!.hwm;
    run.child.kill('SIGTERM');
    expect(await within(run.exit, graceMs + HARD_DEADLINE_MS + SLACK_MS, `${what} to exit after SIGTERM`)).toEqual({ code: 0, signal: null });
    return peak;
  }

  /**
   * Mines until the miner has shares accepted and dropped (found faster than it may send) and the node has a new
   * block, then stops both.
   */
  async function mineAndStop(server: CliRun, miner: CliRun): Promise<void> {
    const start = await fixture.peers.rpc<number>('getblockcount');
    await waitUntil(() => {
      const s = lastStatus(miner);
      return s !== undefined && (s.accepted as number) >= 40 && (s.dropped as number) > 0;
    }, 'accepted and dropped shares', 90_000, 100);
    let height = start;
    const refresh = () => void fixture.peers.rpc<number>('getblockcount').then((h) => (height = h), () => {});
    await waitUntil(() => (refresh(), height > start), 'a new block on the node', 90_000, 250);
    expect(await stop(miner, SHUTDOWN_GRACE_MS, 'mine')).toBeLessThan(MAX_PEAK_MIB);
    expect(await stop(server, SERVE_GRACE_S * 1000, 'serve')).toBeLessThan(MAX_PEAK_MIB);
    expect(maxLinesPerSecond(jsonLines(miner.output()))).toBeLessThanOrEqual(40);
    expect(maxLinesPerSecond(jsonLines(server.output()))).toBeLessThanOrEqual(100);
  }

  // The miner sends the best of what it finds: those that meet ckpool's 0.001 are forwarded, and each is a block.
  it('mine -> serve (proxy, 1e-10 for miners) -> real ckpool -> node: bounded, and the best shares become blocks', async () => {
    const server = await serve(['--pool', fixture.peers.v('PEERS_POOL_LHR_URL'), '--user', 'it.proxy']);
    await mineAndStop(server.run, mine(server.url));
  }, 240_000);

  it('mine -> serve --bitcoind (solo, 1e-10) -> node: every share is a block; bounded, exits on SIGTERM', async () => {
    const server = await serve(['--bitcoind', fixture.peers.bitcoindUrl, '--payout', fixture.peers.v('PEERS_PAYOUT')]);
    await mineAndStop(server.run, mine(server.url));
  }, 240_000);
});
