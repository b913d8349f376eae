// Failover between two real ckpool pools and back, for `mine -o A -o B` and for `serve --pool A --pool B`.
// A is the lhr pool (its blocks pay PEERS_PAYOUT whatever the username), B the solo pool (its blocks pay the
// username, a regtest address of ours): the coinbase of every block in the node's chain says which pool got the share.
import * as bitcoin from 'bitcoinjs-lib';
import { expect, it } from 'vitest';
import { describePeers, usePeers, type Peers } from '../support/peers.js';
import { jsonLines, spawnCli } from '../support/processes.js';
import { startServe } from '../support/serve-process.js';
import { waitUntil, within } from '../support/wait-until.js';

const regtest = bitcoin.networks.regtest;
/** Our payout address: the solo pool's username and the address its blocks pay. */
const SOLO_ADDRESS = bitcoin.payments.p2wpkh({ hash: new Uint8Array(20).fill(0x5a), network: regtest }).address!;

type Payee = 'A' | 'B';

/** The blocks above `from` in the node's main chain, each checked (id, proof of work) and named by the pool it pays. */
async function chainSince(peers: Peers, from: number): Promise<Payee[]> {
  const scriptOf = (address: string) => Buffer.from(bitcoin.address.toOutputScript(address, regtest));
  const [a, b] = [scriptOf(peers.v('PEERS_PAYOUT')), scriptOf(SOLO_ADDRESS)];
  const height = await peers.rpc<number>('getblockcount');
  const payees: Payee[] = [];
  for (let h = from + 1; h <= height; h++) {
    const hash = await peers.rpc<string>('getblockhash', [h]);
    const block = bitcoin.Block.fromHex(await peers.rpc<string>('getblock', [hash, 0]));
    expect(block.getId()).toBe(hash);
    expect(block.checkProofOfWork()).toBe(true);
    const outs = block.transactions![0]!.outs.map((o) => Buffer.from(o.script));
    const pays = (script: Buffer) => outs.some((o) => o.equals(script));
    expect(pays(a) !== pays(b)).toBe(true);
    payees.push(pays(a) ? 'A' : 'B');
  }
  return payees;
}

/** Waits until the chain has `count` blocks from pool `payee` above `from`; returns the height then. */
async function blocksFrom(peers: Peers, payee: Payee, from: number, count: number): Promise<number> {
  return waitUntil(async () => {
    const payees = await chainSince(peers, from);
    return payees.filter((p) => p === payee).length >= count ? from + payees.length : undefined;
  }, `${count} blocks through pool ${payee} above height ${from}`, 120_000, 500);
}

/**
 * Two blocks through A; A stopped; two blocks through B; A started again; two blocks through A. `settled(pool)` is
 * awaited after each switch. Returns who the chain's blocks paid before the stop, while A was down, and after.
 */
async function failoverAndBack(peers: Peers, settled: (pool: string) => Promise<unknown> = async () => {}) {
  const [poolA, poolB] = [peers.v('PEERS_POOL_LHR_URL'), peers.v('PEERS_POOL_SOLO_URL')];
  const start = await peers.rpc<number>('getblockcount');
  await settled(poolA);
  await blocksFrom(peers, 'A', start, 2);
  // Heights are read before each switch: blocks of the old pool may still arrive while it is being switched.
  const stopped = await peers.rpc<number>('getblockcount');
  await peers.ctl('stop', 'lhr');
  await settled(poolB);
  await blocksFrom(peers, 'B', stopped, 2);
  const restarted = await peers.rpc<number>('getblockcount');
  await peers.start('pool lhr');
  await settled(poolA);
  const end = await blocksFrom(peers, 'A', restarted, 2);
  const payees = (await chainSince(peers, start)).slice(0, end - start).join('');
  return {
    beforeStop: payees.slice(0, stopped - start),
    whileDown: payees.slice(stopped - start, restarted - start),
    afterRestart: payees.slice(restarted - start),
  };
}

/** A's blocks; (A's until A is gone) B's; (B's until the fallback time has passed) A's again. */
const FAILOVER_AND_BACK = { beforeStop: expect.stringMatching(/^A{2,}$/), whileDown: expect.stringMatching(/^A*B{2,}$/), afterRestart: expect.stringMatching(/^B*A{2,}$/) };

describePeers('failover between two real ckpool pools and back', () => {
  const fixture = usePeers('node', 'pool lhr', 'pool solo');

  it('mine -o A -o B: A stops -> B (its shares become B blocks); A back -> after --fallback-time, A again', async () => {
    const { peers, children } = fixture;
    const [poolA, poolB] = [peers.v('PEERS_POOL_LHR_URL'), peers.v('PEERS_POOL_SOLO_URL')];
    const run = spawnCli(['mine', '-o', poolA, '-o', poolB, '-u', SOLO_ADDRESS, '-t', '1', '--fallback-time', '2', '--log-format', 'json', '--status-interval', '2'], { keepChars: 400_000 });
    children.push(run.child);

    expect(await failoverAndBack(peers)).toEqual(FAILOVER_AND_BACK);
    run.child.kill('SIGTERM');
    expect((await within(run.exit, 15_000, 'mine to exit')).code).toBe(0);
    const logs = jsonLines(run.output());
    expect(logs.filter((l) => l.msg?.startsWith('connected to pool')).map((l) => l.pool)).toEqual([poolA, poolB, poolA]);
    expect(logs.some((l) => l.msg === 'stratum: returning to the preferred pool')).toBe(true);
    // Refusals, if any, are stale races after a new block (code 21, the reason reads '21 Stale'); never an invalid share.
    const final = logs.filter((l) => typeof l.accepted === 'number').at(-1)!;
    expect(Object.keys(final.rejectedByReason as object).filter((reason) => !reason.startsWith('21 '))).toEqual([]);
  }, 300_000);

  it('serve --pool A --pool B with cpuminer and mine behind it: miners follow the server to B and back to A', async () => {
    const { peers, children } = fixture;
    const [poolA, poolB] = [peers.v('PEERS_POOL_LHR_URL'), peers.v('PEERS_POOL_SOLO_URL')];
    const serve = await startServe(['--pool', poolA, '--pool', poolB, '--user', SOLO_ADDRESS, '--fallback-time', '2', '--min-diff', '0.001'], { keepChars: 2_000_000 });
    children.push(serve.child);
    const cpu = await peers.cpuminer(serve.url, 'cpu');
    children.push(cpu.child);
    const ours = spawnCli(['mine', '-o', serve.url, '-u', 'ours', '-t', '1', '--log-format', 'json', '--status-interval', '5'], { keepChars: 400_000 });
    children.push(ours.child);

    // After each switch both miners are back, holding extranonce1s of the server's new upstream space.
    const bothOn = (pool: string) => waitUntil(async () => {
      const s = await serve.status();
      const space = s.upstream.spaces[0]?.extranonce1;
      const workers = new Set(s.miners.filter((m) => space && m.extranonce1?.startsWith(space)).map((m) => m.worker));
      return s.upstream.state === 'connected' && s.upstream.endpoint === pool && workers.size === 2 ? s : undefined;
    }, `both miners working through the server on ${pool}`, 120_000, 250);
    expect(await failoverAndBack(peers, bothOn)).toEqual(FAILOVER_AND_BACK);

    ours.child.kill('SIGTERM');
    cpu.child.kill('SIGTERM');
    await within(Promise.all([ours.exit, cpu.exit]), 15_000, 'the miners to exit');
    const status = await serve.status();
    serve.child.kill('SIGTERM');
    expect((await within(serve.exit, 20_000, 'serve to exit')).code).toBe(0);
    // The server went A -> B -> A; every upstream refusal was a stale race (code 21), never an invalid share.
    const logs = jsonLines(serve.output());
    expect(logs.filter((l) => l.msg === 'upstream connected').map((l) => l.pool)).toEqual([poolA, poolB, poolA]);
    expect(logs.filter((l) => l.msg === 'upstream rejected a share' && l.code !== 21)).toEqual([]);
    expect(status.stats.upstream.errors).toBe(0);
    expect(Object.keys(status.stats.shares.rejectedByReason).filter((r) => r !== 'stale')).toEqual([]);
  }, 300_000);
});
