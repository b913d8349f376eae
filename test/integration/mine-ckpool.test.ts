// `mine` against a real ckpool (pool mode, regtest): every share at the pool's difficulty is also a block, so the
// shares our miner says were accepted must show up as blocks in the real node's chain, paying the pool's address.
import type { ChildProcess } from 'node:child_process';
import * as bitcoin from 'bitcoinjs-lib';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describePeers, Peers } from '../support/peers.js';
import { jsonLines, killStillRunning, spawnCli } from '../support/processes.js';
import { waitUntil } from '../support/wait-until.js';

describePeers('mine -> real ckpool -> real regtest node', () => {
  let peers: Peers;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    peers = await Peers.create();
    await peers.start('node', 'pool lhr');
  }, 120_000);
  afterEach(() => killStillRunning(children));
  afterAll(async () => peers?.stop());

  it('shares accepted by the pool become blocks on the node, with a coinbase paying the pool address', async () => {
    const start = await peers.rpc<number>('getblockcount');
    const run = spawnCli(['mine', '-o', peers.v('PEERS_POOL_LHR_URL'), '-u', 'it.mine', '-t', '1', '--status-interval', '1', '--log-format', 'json'], {
      env: { MESOS_MINER_PASS: 'x' },
    });
    children.push(run.child);
    const accepted = () => jsonLines(run.output()).filter((l) => typeof l.accepted === 'number').at(-1)?.accepted as number | undefined;
    await waitUntil(() => (accepted() ?? 0) >= 3, 'three shares accepted by ckpool', 60_000, 100);
    const height = await peers.rpc<number>('getblockcount');
    expect(height).toBeGreaterThanOrEqual(start + 3);

    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });

    // Every new block is a valid header (bitcoinjs-lib checks the proof of work) paying the pool's address.
    const payout = bitcoin.address.toOutputScript(peers.v('PEERS_PAYOUT'), bitcoin.networks.regtest);
    for (let h = start + 1; h <= height; h++) {
      const hash = await peers.rpc<string>('getblockhash', [h]);
      const block = bitcoin.Block.fromHex(await peers.rpc<string>('getblock', [hash, 0]));
      expect(block.getId()).toBe(hash);
      expect(block.checkProofOfWork()).toBe(true);
      expect(block.transactions![0]!.outs.some((o) => Buffer.from(o.script).equals(Buffer.from(payout)))).toBe(true);
    }
  }, 120_000);
});
