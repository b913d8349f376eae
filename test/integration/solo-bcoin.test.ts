// Solo mining against the real regtest node (bcoin): `serve --bitcoind` with cpuminer and our own miner behind it,
// and `local --bitcoind` with two miners. On regtest every share at --min-diff is a block, so what the server
// claims must be exactly what the node's chain shows: each new block ours, paying --payout, none rejected, and the
// node's broken long poll (RPC error -32603) must not look like a lost connection.
import * as bitcoin from 'bitcoinjs-lib';
import { expect, it } from 'vitest';
import type { MinerServerStatus } from '../../src/server/miner-server.js';
import { describePeers, usePeers } from '../support/peers.js';
import { freePort, jsonLines, spawnCli } from '../support/processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const PAYOUT = bitcoin.payments.p2wpkh({ hash: Buffer.alloc(20, 0x5a), network: bitcoin.networks.regtest }).address!;

describePeers('solo mining against the real regtest node', () => {
  const fixture = usePeers('node');
  const { children } = fixture;

  /** The node's RPC address without credentials: they go in the environment, as an operator would. */
  const bitcoindFlags = () => ['--bitcoind', `http://127.0.0.1:${fixture.peers.v('PEERS_RPC_PORT')}`, '--payout', PAYOUT];
  const bitcoindEnv = () => ({ MESOS_MINER_BITCOIND_URL: fixture.peers.bitcoindUrl });

  async function status(httpPort: number): Promise<MinerServerStatus | undefined> {
    try {
      return (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as MinerServerStatus;
    } catch {
      return undefined; // not listening yet
    }
  }

  /** Waits (bounded) until `check` holds for the server's /status, polling it; a timeout shows the last stats. */
  async function statusWhere(httpPort: number, what: string, check: (s: MinerServerStatus) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await status(httpPort);
      if (s && check(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last /status: ${JSON.stringify(s)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Every block above `from` up to the tip: a valid header whose coinbase pays --payout. */
  async function expectOurBlocks(from: number, to: number): Promise<void> {
    const payout = Buffer.from(bitcoin.address.toOutputScript(PAYOUT, bitcoin.networks.regtest));
    for (let h = from + 1; h <= to; h++) {
      const hash = await fixture.peers.rpc<string>('getblockhash', [h]);
      const block = bitcoin.Block.fromHex(await fixture.peers.rpc<string>('getblock', [hash, 0]));
      expect(block.getId()).toBe(hash);
      expect(block.checkProofOfWork()).toBe(true);
      expect(block.transactions![0]!.outs.some((o) => Buffer.from(o.script).equals(payout))).toBe(true);
    }
  }

  it('serve with cpuminer and mine behind it: blocks claimed = chain growth, all paying --payout, none rejected, no reconnects', async () => {
    const [stratumPort, httpPort] = [await freePort(), await freePort()];
    const start = await fixture.peers.rpc<number>('getblockcount');
    const serve = spawnCli(
      ['serve', ...bitcoindFlags(), '--listen', `127.0.0.1:${stratumPort}`, '--http', `127.0.0.1:${httpPort}`, '--log-format', 'json'],
      { env: bitcoindEnv() },
    );
    children.push(serve.child);
    await statusWhere(httpPort, 'solo upstream connected', (s) => s.upstream.state === 'connected', 30_000);

    const url = `stratum+tcp://127.0.0.1:${stratumPort}`;
    // cpuminer at the idle priority it chooses: here every share is a block, and at normal priority it made 15 a
    // second beside two busy cores, each a clean job. mine hands its shares over at the end of a kernel call
    // (~0.5 s), so all of them went stale and it had none accepted in 2 minutes. On idle cycles only, cpuminer
    // still gets its shares (at the session's 0.0001) within the wait.
    const minerd = await fixture.peers.cpuminer(url, 'it.cpuminer', { idle: true });
    const mine = spawnCli(['mine', '-o', url, '-u', 'it.mine', '-t', '1', '--log-format', 'json'], { env: { MESOS_MINER_PASS: 'x' } });
    children.push(minerd.child, mine.child);
    // A few seconds of mining: both miners' shares accepted, and a handful of blocks.
    await statusWhere(
      httpPort,
      'blocks from both miners',
      (s) => s.stats.blocksFound >= 8 && ['it.cpuminer', 'it.mine'].every((w) => s.miners.some((m) => m.worker === w && m.accepted > 0)),
      120_000,
    );
    minerd.child.kill('SIGTERM');
    mine.child.kill('SIGTERM');
    await within(minerd.exit, 15_000, 'cpuminer exit');
    expect(await within(mine.exit, 15_000, 'mine exit')).toEqual({ code: 0, signal: null });
    const final = await statusWhere(httpPort, 'no block in flight', (s) => s.stats.upstream.pending === 0, 30_000);
    serve.child.kill('SIGTERM');
    expect(await within(serve.exit, 30_000, 'serve exit')).toEqual({ code: 0, signal: null });

    const end = await fixture.peers.rpc<number>('getblockcount');
    const { stats, upstream } = final;
    expect(Math.abs(end - start - stats.blocksFound)).toBeLessThanOrEqual(1);
    expect(upstream.blocks).toBe(stats.blocksFound);
    await expectOurBlocks(start, end);
    // No block share refused: not by the rate limiter, not by the node; the long poll failure is not a disconnection.
    expect(stats.shares.rejectedByReason['rate-limited']).toBeUndefined();
    expect(stats.upstream.rejected).toBe(0);
    expect(stats.upstream.errors).toBe(0);
    expect(stats.blocksOrphaned).toBe(0);
    expect(upstream).toMatchObject({ state: 'connected', rejected: 0, reconnects: 0, lastError: null });
    // The session difficulty is --min-diff (0.0001), not the network's 4.66e-10.
    expect(upstream.difficulty).toBeLessThan(1e-9);
    for (const m of final.miners) expect(m.difficulty).toBeGreaterThanOrEqual(0.0001);
    const warnings = jsonLines(serve.output()).filter((l) => typeof l.level === 'number' && l.level >= 40).map((l) => l.msg);
    expect(warnings).toEqual(['bitcoind long poll not usable: following the tip with getbestblockhash polls']);
  }, 240_000);

  it('local --bitcoind with 2 miners: blocks claimed = chain growth', async () => {
    const [stratumPort, httpPort] = [await freePort(), await freePort()];
    const start = await fixture.peers.rpc<number>('getblockcount');
    const local = spawnCli(
      ['local', ...bitcoindFlags(), '--miners', '2', '--servers', '1', '--threads', '1', '--listen', `127.0.0.1:${stratumPort}`,
        '--server-http', `127.0.0.1:${httpPort}`, '--log-format', 'json'],
      { env: bitcoindEnv() },
    );
    children.push(local.child);
    await statusWhere(httpPort, 'blocks from both miners', (s) => s.stats.blocksFound >= 5 && s.miners.filter((m) => m.accepted > 0).length === 2, 120_000);
    local.child.kill('SIGTERM');
    expect(await within(local.exit, 60_000, 'local exit')).toEqual({ code: 0, signal: null });

    // The server's last word: its stats as it stopped (after the miners, so nothing was in flight).
    const stopped = await waitUntil(
      () => serverLines(local.output()).find((l) => l.msg === 'miner server stopped'),
      'the server stats at stop',
    );
    const end = await fixture.peers.rpc<number>('getblockcount');
    expect(Math.abs(end - start - (stopped.blocksFound as number))).toBeLessThanOrEqual(1);
    expect(stopped.blocksOrphaned).toBe(0);
    expect((stopped.upstream as { rejected: number }).rejected).toBe(0);
    await expectOurBlocks(start, end);
  }, 240_000);
});

/** The server's JSON log lines in `local`'s output (each child's lines are prefixed with its name). */
function serverLines(output: string) {
  return jsonLines(output.split('\n').filter((l) => l.startsWith('[server-0] {')).map((l) => `${l.slice('[server-0] '.length)}\n`).join(''));
}
