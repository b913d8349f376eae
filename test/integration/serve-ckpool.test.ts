// `serve` in proxy mode in front of a real ckpool (lhr: every share it accepts is also a regtest block), with a stock
// miner (cpuminer) and ours (`mine`) behind it. The books must agree: what /status says the miners sent, forwarded
// and got accepted; what ckpool logged as solved by the proxy's user; and the blocks in the node, each of which
// carries the extranonce1 of the miner session that found it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as bitcoin from 'bitcoinjs-lib';
import { expect, it } from 'vitest';
import { describePeers, usePeers } from '../support/peers.js';
import type { MinerServerStatus } from '../../src/server/miner-server.js';
import { freePort, jsonLines, spawnCaptured, spawnCli } from '../support/processes.js';
import { startServe } from '../support/serve-process.js';
import { waitUntil, within } from '../support/wait-until.js';

describePeers('serve (proxy) -> real ckpool -> real regtest node, cpuminer and mine behind it', () => {
  const fixture = usePeers('node', 'pool lhr');

  it("both miners' shares are checked, forwarded and accepted by ckpool; /status, ckpool's log and the chain agree", async () => {
    const { peers, children } = fixture;
    const startHeight = await peers.rpc<number>('getblockcount');
    // --min-diff at the pool's 0.001: vardiff cannot take a miner below it, so every share the server accepts is
    // also worth forwarding, and the per-miner counts are forwarded shares.
    const serve = await startServe(['--pool', peers.v('PEERS_POOL_LHR_URL'), '--user', 'it.proxy', '--min-diff', '0.001']);
    children.push(serve.child);
    const cpu = await peers.cpuminer(serve.url, 'cpu');
    children.push(cpu.child);
    const ours = spawnCli(['mine', '-o', serve.url, '-u', 'ours', '-t', '1', '--log-format', 'json', '--status-interval', '5'], { keepChars: 200_000 });
    children.push(ours.child);

    // Until each miner has had two shares accepted by the server and one accepted by ckpool as a block. A share
    // takes about 4 M hashes: a second alone, longer with every core busy.
    const accepted = (s: Awaited<ReturnType<typeof serve.status>>, worker: string) => s.miners.find((m) => m.worker === worker)?.accepted ?? 0;
    const blockFinders = () => new Set(jsonLines(serve.output()).filter((l) => l.msg === 'block found').map((l) => l.worker));
    const live = await waitUntil(async () => {
      const s = await serve.status();
      return accepted(s, 'cpu') >= 2 && accepted(s, 'ours') >= 2 && blockFinders().size === 2 ? s : undefined;
    }, 'two accepted shares and a block from each miner', 150_000, 500).catch(async (err: Error) => {
      // Say where it stood: which sessions the server had, and whether a miner had gone (exit code or signal).
      const s = await serve.status();
      const gone = (c: typeof cpu) => JSON.stringify({ code: c.child.exitCode, signal: c.child.signalCode });
      throw new Error(`${err.message}; sessions ${JSON.stringify(s.miners.map((m) => [m.worker, m.accepted, m.rejected]))}, block finders ${[...blockFinders()]}, mine ${gone(ours)}, cpuminer ${gone(cpu)}; mine's log ends:\n${ours.output().slice(-2000)}`);
    });
    const extranonce1 = new Map(live.miners.map((m) => [m.worker, m.extranonce1!]));

    ours.child.kill('SIGTERM');
    cpu.child.kill('SIGTERM');
    expect((await within(ours.exit, 15_000, 'mine to exit')).code).toBe(0);
    await within(cpu.exit, 15_000, 'cpuminer to exit');
    // The server sees the miners go (a busy machine may take a moment) and the last answers come back.
    const status = await waitUntil(async () => {
      const s = await serve.status();
      return s.connections === 0 && s.stats.upstream.pending === 0 ? s : undefined;
    }, 'both miners gone and no share in flight upstream', 30_000, 200);
    serve.child.kill('SIGTERM');
    expect((await within(serve.exit, 20_000, 'serve to exit')).code).toBe(0);
    const logs = jsonLines(serve.output());

    // The server: the only refusals, on either side, are stale races after
    // a new block (a share for a job ckpool or the server had just replaced), never an invalid share.
    const { shares, upstream } = status.stats;
    expect(Object.keys(shares.rejectedByReason).filter((r) => r !== 'stale')).toEqual([]);
    expect(upstream.forwarded).toBe(shares.accepted);
    expect(upstream.accepted + upstream.rejected).toBe(upstream.forwarded);
    expect(upstream.errors).toBe(0);
    const upstreamRejections = logs.filter((l) => l.msg === 'upstream rejected a share');
    expect(upstreamRejections.length).toBe(upstream.rejected);
    expect(upstreamRejections.filter((l) => l.code !== 21)).toEqual([]);
    expect(status.upstream.accepted).toBe(upstream.accepted);
    // Every lhr share meets the regtest network target: each one ckpool accepted is a block.
    expect(status.upstream.blocks).toBe(upstream.accepted);
    expect(status.stats.blocksFound).toBe(upstream.accepted);
    expect(status.stats.bestShareDifficulty).toBeGreaterThanOrEqual(0.001);

    // ckpool: it logs every block it solved, with the worker that sent the share. It also submits a block it
    // answered as "Stale" (the share was for the previous work), so it may count one more per stale refusal.
    const poolLog = readFileSync(path.join(peers.runDir, 'logs/pool-lhr/ckpool-lhr.log'), 'utf8');
    const solved = [...poolLog.matchAll(/Solved and confirmed block \d+ by (\S+)/g)];
    expect(solved.every((m) => m[1] === 'it.proxy')).toBe(true);
    expect(solved.length).toBeGreaterThanOrEqual(upstream.accepted);
    expect(solved.length).toBeLessThanOrEqual(upstream.accepted + upstream.rejected);

    // The node: every block the server reported is there (some lost the race for their height: side chain), is
    // valid, pays the pool's address and carries the extranonce1 of the session that found it.
    const payout = Buffer.from(bitcoin.address.toOutputScript(peers.v('PEERS_PAYOUT'), bitcoin.networks.regtest));
    const found = logs.filter((l) => l.msg === 'block found');
    expect(found.length).toBe(upstream.accepted);
    expect(new Set(found.map((l) => l.worker))).toEqual(new Set(['cpu', 'ours']));
    for (const { hash, worker } of found as Array<{ hash: string; worker: string }>) {
      const block = bitcoin.Block.fromHex(await peers.rpc<string>('getblock', [hash, 0]));
      expect(block.getId()).toBe(hash);
      expect(block.checkProofOfWork()).toBe(true);
      const coinbase = block.transactions![0]!;
      expect(coinbase.outs.some((o) => Buffer.from(o.script).equals(payout))).toBe(true);
      expect(Buffer.from(coinbase.ins[0]!.script).toString('hex')).toContain(extranonce1.get(worker));
    }
    // Nothing else mines on this node: every new block of the main chain is one the server reported.
    const height = await peers.rpc<number>('getblockcount');
    expect(height).toBeGreaterThan(startHeight);
    const foundHashes = new Set(found.map((l) => l.hash));
    for (let h = startHeight + 1; h <= height; h++) expect(foundHashes.has(await peers.rpc<string>('getblockhash', [h]))).toBe(true);
  }, 240_000);

  it('local --servers 2 in front of ckpool: each server has its own pool connection and extranonce space; both miners\' blocks reach the chain', async () => {
    const { peers, children } = fixture;
    const startHeight = await peers.rpc<number>('getblockcount');
    const stratum = await freePort(4); // server i: stratum + i, HTTP + i
    const http = stratum + 2;
    const local = spawnCli([
      'local', '--pool', peers.v('PEERS_POOL_LHR_URL'), '--user', 'it.tier', '--servers', '2', '--miners', '2', '--threads', '1',
      '--listen', `127.0.0.1:${stratum}`, '--server-http', `127.0.0.1:${http}`, '--log-format', 'json', '--log-level', 'warn',
    ], { env: { MESOS_MINER_POOL_PASS: 'x' } });
    children.push(local.child);
    const status = async (port: number): Promise<MinerServerStatus | undefined> => {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(10_000) })).json()) as MinerServerStatus;
      } catch {
        return undefined; // not listening yet
      }
    };
    // Miner local-i has server i-1 as its primary: each server carries one miner, and ckpool accepts shares from both.
    const servers = await waitUntil(async () => {
      const both = [await status(http), await status(http + 1)];
      return both.every((s) => s && s.stats.upstream.accepted >= 1 && s.miners.length === 1) ? (both as MinerServerStatus[]) : undefined;
    }, 'shares accepted by ckpool through each server', 150_000, 500);

    // Two pool sessions: ckpool gave each server its own extranonce1, so no two miners of the tier hash one header.
    const spaces = servers.map((s) => s.upstream.spaces.map((x) => x.extranonce1));
    expect(spaces.every((x) => x.length >= 1)).toBe(true);
    expect(new Set(spaces.flat()).size).toBe(spaces.flat().length);
    expect(servers.map((s) => s.miners[0]!.worker).sort()).toEqual(['local-1', 'local-2']);
    // The chain: blocks from both servers' sessions, told apart by the extranonce1 in their coinbase. A share ckpool
    // accepted may still lose its height to the other server's block, so wait for the chain to show both.
    const serversInChain = async (): Promise<number[]> => {
      const byServer = new Set<number>();
      const height = await peers.rpc<number>('getblockcount');
      for (let h = startHeight + 1; h <= height; h++) {
        const block = bitcoin.Block.fromHex(await peers.rpc<string>('getblock', [await peers.rpc<string>('getblockhash', [h]), 0]));
        const scriptSig = Buffer.from(block.transactions![0]!.ins[0]!.script).toString('hex');
        spaces.forEach((own, i) => own.some((e) => scriptSig.includes(e)) && byServer.add(i));
      }
      return [...byServer].sort();
    };
    await waitUntil(async () => (await serversInChain()).length === 2, "blocks of both servers' pool sessions in the chain", 120_000, 500);
    local.child.kill('SIGTERM');
    expect(await within(local.exit, 60_000, 'local exit')).toEqual({ code: 0, signal: null });
    expect(await serversInChain()).toEqual([0, 1]);
  }, 240_000);
});
