// Solo mining end to end on loopback: fake bitcoind (a template built from real mainnet block 542,213's
// transactions, one with witness data, at regtest difficulty) <- BitcoindUpstream <- MinerServer <- in-test
// miners brute-forcing with node:crypto. Every submitted block is decoded and verified with bitcoinjs-lib.
import { address, Block, networks, payments, script as bscript } from 'bitcoinjs-lib';
import { afterEach, describe, expect, it } from 'vitest';
import { MinerServer, type MinerServerEvents, type MinerServerOptions } from '../src/server/miner-server.js';
import { BitcoindUpstream, type BitcoindUpstreamOptions } from '../src/upstream/bitcoind.js';
import { SEGWIT_BLOCK_542213 as REAL } from './fixtures/segwit-block.js';
import { FakeBitcoind, templateTxsFromBlock, type FakeBitcoindOptions } from './support/fake-bitcoind.js';
import { recordingLogger } from './support/pool-harness.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

/** The servers' --min-diff: at regtest network difficulty (bits 0x207fffff) the session difficulty, and every share a block. */
const SESSION_DIFF = 2 ** -24;
const P2WPKH = payments.p2wpkh({ hash: Buffer.alloc(20, 0x11), network: networks.regtest }).address!;
const P2TR = address.toBech32(Buffer.alloc(32, 0x22), 1, networks.regtest.bech32);
const P2PKH = payments.p2pkh({ hash: Buffer.alloc(20, 0x33), network: networks.regtest }).address!;

interface Rig {
  node: FakeBitcoind;
  upstream: BitcoindUpstream;
  server: MinerServer;
  port: number;
  miners: TestMiner[];
}

let rig: Rig | undefined;

afterEach(async () => {
  if (!rig) return;
  const r = rig;
  rig = undefined;
  for (const m of r.miners) m.close();
  await r.server.close(100);
  await r.upstream.stop(100);
  await r.node.stop();
});

async function setup(
  opts: { node?: FakeBitcoindOptions; upstream?: Partial<BitcoindUpstreamOptions>; server?: Partial<MinerServerOptions> } = {},
): Promise<Rig> {
  const node = new FakeBitcoind({
    transactions: templateTxsFromBlock(REAL.blockHex),
    coinbaseValue: REAL.coinbaseValue,
    height: REAL.height,
    ...opts.node,
  });
  await node.start();
  const upstream = new BitcoindUpstream({
    url: node.url,
    payoutAddress: P2WPKH,
    pollIntervalMs: 50,
    minJobIntervalMs: 300,
    backoff: { initialMs: 20, maxMs: 100 },
    ...opts.upstream,
  });
  const server = new MinerServer({
    upstream,
    host: '127.0.0.1',
    port: 0,
    submitRatePerSecond: 100_000,
    subscribeWaitMs: 3000,
    vardiff: { minDifficulty: SESSION_DIFF },
    ...opts.server,
  });
  rig = { node, upstream, server, port: 0, miners: [] };
  await upstream.start();
  rig.port = (await server.listen()).port;
  return rig;
}

async function miner(r: Rig, opts: { versionMask?: number } = {}): Promise<TestMiner> {
  const m = await TestMiner.connect(r.port);
  r.miners.push(m);
  await m.handshake('solo.worker', 'x', opts);
  return m;
}

/** The server's answers from upstream, in arrival order. */
function forwardedOf(r: Rig) {
  const forwarded: MinerServerEvents['forwarded'][0][] = [];
  r.server.on('forwarded', (f) => forwarded.push(f));
  return forwarded;
}

/** Stratum's word-swapped prevhash for a display-hex block hash. */
function stratumPrev(display: string): string {
  const internal = Buffer.from(display, 'hex').reverse();
  for (let i = 0; i < 32; i += 4) internal.subarray(i, i + 4).reverse();
  return internal.toString('hex');
}

/** Output script of a regtest address, by bitcoinjs-lib (P2TR decoded by hand: it needs no ECC library for that). */
function outputScriptOf(addr: string): string {
  if (addr.startsWith('bcrt1p')) {
    const { version, data } = address.fromBech32(addr);
    return Buffer.concat([Buffer.from([0x50 + version, data.length]), data]).toString('hex');
  }
  return Buffer.from(address.toOutputScript(addr, networks.regtest)).toString('hex');
}

function bip34Height(scriptSig: Uint8Array): number {
  const first = bscript.decompile(scriptSig)![0]!;
  if (typeof first === 'number') return first === 0 ? 0 : first - 0x50; // OP_1..OP_16
  return Number(Buffer.from(first).readUIntLE(0, first.length));
}

describe('solo mining end to end', () => {
  it('finds a block on a segwit template: bitcoinjs-lib verifies roots, witness commitment, PoW, payout, BIP 34', async () => {
    const r = await setup();
    const m = await miner(r);
    const job = m.job!;
    expect(job.clean).toBe(true);
    expect(job.nbits).toBe(0x207fffff);
    expect(job.prevhash).toBe(stratumPrev(r.node.tip));
    expect(job.branch.length).toBe(2); // 4 transactions: coinbase + 3
    expect(m.extranonce1.length).toBe(16); // 4 bytes ours + 4-byte prefix
    expect(m.extranonce2Size).toBe(4);
    const tipBefore = r.node.tip;
    const heightBefore = r.node.height;

    const share = m.find({ extranonce2: 'a1b2c3d4' });
    const reply = await m.submit(share.params);
    expect(reply.error).toBeNull();
    expect(reply.result).toBe(true);
    await waitUntil(() => r.node.submitted.length === 1, 'submitblock');
    const sub = r.node.submitted[0]!;
    expect(sub.result).toBeNull();

    const block = Block.fromHex(sub.hex);
    expect(block.checkTxRoots()).toBe(true); // merkle root and witness commitment
    expect(block.checkProofOfWork()).toBe(true);
    expect(block.bits).toBe(0x207fffff);
    expect(Buffer.from(block.toBuffer(true)).equals(share.header)).toBe(true);
    expect(Buffer.from(block.prevHash!).reverse().toString('hex')).toBe(tipBefore);
    const txs = block.transactions!;
    expect(txs.length).toBe(4);
    const real = Block.fromHex(REAL.blockHex).transactions!;
    for (let i = 1; i < 4; i++) {
      expect(txs[i]!.toHex()).toBe(real[i]!.toHex()); // witness data kept, order kept
      expect(txs[i]!.getId()).toBe(REAL.txs[i - 1]!.txid);
    }
    expect(txs[2]!.hasWitnesses()).toBe(true);
    const coinbase = txs[0]!;
    expect(coinbase.isCoinbase()).toBe(true);
    expect(address.fromOutputScript(coinbase.outs[0]!.script, networks.regtest)).toBe(P2WPKH);
    expect(coinbase.outs[0]!.value).toBe(BigInt(REAL.coinbaseValue));
    expect(Buffer.from(coinbase.outs[1]!.script).toString('hex')).toBe(REAL.witnessCommitmentScript);
    expect(coinbase.outs[1]!.value).toBe(0n);
    expect(bip34Height(coinbase.ins[0]!.script)).toBe(heightBefore);
    expect(coinbase.ins[0]!.witness.map((w) => Buffer.from(w).toString('hex'))).toEqual(['00'.repeat(32)]);
    // The extranonce the miner used is in the scriptSig: ours (4) + its prefix (4) + its extranonce2 (4).
    expect(Buffer.from(coinbase.ins[0]!.script).toString('hex')).toContain(m.extranonce1 + 'a1b2c3d4');

    // Counted, and the node's new tip reaches the miner as a clean job.
    await waitUntil(() => r.upstream.status().blocks === 1 && r.server.stats.blocksFound === 1, 'block counted');
    await m.waitFor(() => m.job!.prevhash === stratumPrev(block.getId()) && m.job!.clean, 'clean job on the new tip');
    expect(r.node.height).toBe(heightBefore + 1);
    const status = r.upstream.status();
    expect(status).toMatchObject({ kind: 'solo', state: 'connected', accepted: 1, blocks: 1 });
    expect(JSON.stringify(r.server.status())).not.toContain(r.node.password);
  });

  it('pays P2TR and P2PKH payouts; a coinbase-only template has no witness commitment', async () => {
    for (const payout of [P2TR, P2PKH]) {
      const r = await setup({ node: { transactions: [], coinbaseValue: 5_000_000_000, height: 17 }, upstream: { payoutAddress: payout } });
      const m = await miner(r);
      expect(m.job!.branch).toEqual([]);
      const share = m.find();
      expect((await m.submit(share.params)).result).toBe(true);
      await waitUntil(() => r.node.submitted.length === 1, 'submitblock');
      const block = Block.fromHex(r.node.submitted[0]!.hex);
      expect(r.node.submitted[0]!.result).toBeNull();
      expect(block.checkTxRoots()).toBe(true);
      expect(block.checkProofOfWork()).toBe(true);
      const cb = block.transactions![0]!;
      expect(block.transactions!.length).toBe(1);
      expect(cb.outs.length).toBe(1); // no commitment output
      expect(cb.hasWitnesses()).toBe(false);
      expect(Buffer.from(cb.outs[0]!.script).toString('hex')).toBe(outputScriptOf(payout));
      expect(cb.outs[0]!.value).toBe(5_000_000_000n);
      expect(bip34Height(cb.ins[0]!.script)).toBe(17);
      for (const mm of r.miners) mm.close();
      await r.server.close(50);
      await r.upstream.stop(50);
      await r.node.stop();
      rig = undefined;
    }
  });

  it('a new tip reaches miners as a clean job at once (long poll); shares on the old tip are stale', async () => {
    // No tip polls and no template refresh for a minute: only the held long poll's answer can bring the new tip,
    // and the min-job interval, a minute too, would hold any job that waited on a timer. "At once" is then shown
    // without timing it (a busy machine stretches the milliseconds, not the path).
    const log = recordingLogger();
    const r = await setup({ upstream: { pollIntervalMs: 60_000, refreshIntervalMs: 60_000, minJobIntervalMs: 60_000, logger: log } });
    const m = await miner(r);
    const oldJob = m.job!;
    await waitUntil(() => r.node.heldPolls === 1, 'long poll held by the node');
    const tip = r.node.announceTip();
    await m.waitFor(() => m.job!.prevhash === stratumPrev(tip), 'job on the new tip', 10_000);
    expect(m.job!.clean).toBe(true);
    const templates = log.entries.filter((e) => e.msg === 'new block template (new tip)').map((e) => e.obj.source);
    expect(templates).toEqual(['start', 'longpoll']);
    expect(r.node.calls.filter((c) => c.method === 'getbestblockhash')).toEqual([]);
    expect(m.job!.branch).toEqual([]); // the node's mempool was emptied by the block
    const share = m.find({ job: oldJob });
    const reply = await m.submit(share.params);
    expect((reply.error as unknown[])[0]).toBe(21);
    expect(r.node.submitted.length).toBe(0);
  });

  it('a better template for the same tip is a non-clean job, at most one per min-job interval', async () => {
    const r = await setup();
    const m = await miner(r);
    const first = m.job!;
    await new Promise((res) => setTimeout(res, 320)); // past the min-job interval since the first job
    const txs = templateTxsFromBlock(REAL.blockHex);
    r.node.setMempool(txs.slice(0, 2), REAL.coinbaseValue - 1000);
    await m.waitFor(() => m.job!.id !== first.id, 'updated job');
    const second = m.job!;
    const t1 = Date.now();
    expect(second.clean).toBe(false);
    expect(second.prevhash).toBe(first.prevhash);
    expect(second.branch).not.toEqual(first.branch);
    // Two more mempool changes right away: one job for both, no sooner than the interval.
    r.node.setMempool(txs.slice(0, 1));
    r.node.setMempool(txs.slice(0, 3), REAL.coinbaseValue + 5);
    await m.waitFor(() => m.job!.id !== second.id, 'deferred job', 2000);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(250);
    expect(m.job!.clean).toBe(false);
    expect(m.job!.branch.length).toBe(2);
    await new Promise((res) => setTimeout(res, 150));
    expect(m.jobs.length).toBe(3); // first, second, the deferred one: nothing else
    // Shares on the earlier non-clean job still make a valid block.
    const share = m.find({ job: second });
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => r.node.submitted.length === 1, 'submitblock');
    expect(r.node.submitted[0]!.result).toBeNull();
    const cb = Block.fromHex(r.node.submitted[0]!.hex).transactions![0]!;
    expect(cb.outs[0]!.value).toBe(BigInt(REAL.coinbaseValue - 1000));
  });

  it('a version-rolling miner (BIP 310) finds a block with rolled version bits', async () => {
    const r = await setup();
    const m = await miner(r, { versionMask: 0x1fffe000 });
    expect(m.versionMask).toBe(0x1fffe000);
    const share = m.find({ versionBits: 0x0abc0000 });
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => r.node.submitted.length === 1, 'submitblock');
    expect(r.node.submitted[0]!.result).toBeNull();
    const block = Block.fromHex(r.node.submitted[0]!.hex);
    expect(block.version >>> 0).toBe((0x20000000 | 0x0abc0000) >>> 0);
    expect(block.checkProofOfWork()).toBe(true);
    expect(block.checkTxRoots()).toBe(true);
  });

  it('without long polling, getbestblockhash polls find the new tip', async () => {
    const r = await setup({ node: { noLongpoll: true } });
    const m = await miner(r);
    const tip = r.node.announceTip();
    await m.waitFor(() => m.job!.prevhash === stratumPrev(tip), 'job on the new tip', 2000);
    expect(m.job!.clean).toBe(true);
    expect(r.node.calls.some((c) => c.method === 'getbestblockhash')).toBe(true);
    expect(r.node.calls.some((c) => c.longpoll)).toBe(false);
  });

  it('a long poll answered with an RPC error (bcoin) means polling: connected, one warning, no reconnects, new tips within ~1 s', async () => {
    // The default poll interval: it alone must bring a new tip to the miners.
    const log = recordingLogger();
    const r = await setup({ node: { longpollFails: true }, upstream: { pollIntervalMs: undefined, logger: log } });
    const m = await miner(r);
    await waitUntil(() => r.node.calls.some((c) => c.longpoll), 'one long poll tried');
    const polls = () => r.node.calls.filter((c) => c.method === 'getbestblockhash').length;
    const before = polls();
    await waitUntil(() => polls() >= before + 2, 'tip polls go on');
    expect(r.node.calls.filter((c) => c.longpoll).length).toBe(1);
    expect(r.upstream.status()).toMatchObject({ state: 'connected', reconnects: 0, lastError: null });
    for (let i = 0; i < 2; i++) {
      const tip = r.node.announceTip();
      await m.waitFor(() => m.job!.prevhash === stratumPrev(tip) && m.job!.clean, `clean job on new tip ${i + 1}`, 2000);
    }
    expect(r.upstream.status()).toMatchObject({ state: 'connected', reconnects: 0, lastError: null });
    expect(r.node.calls.filter((c) => c.longpoll).length).toBe(1);
    const warnings = log.entries.filter((e) => e.level === 'warn' || e.level === 'error');
    expect(warnings.map((e) => e.msg)).toEqual(['bitcoind long poll not usable: following the tip with getbestblockhash polls']);
    expect(warnings[0]!.obj.err).toBe('bitcoind getblocktemplate: RPC error -32603: Assertion failed.');
  });

  it('a long poll answered with something that is not a template also means polling, with the reason logged', async () => {
    const log = recordingLogger();
    const r = await setup({ upstream: { logger: log } });
    const m = await miner(r);
    await waitUntil(() => r.node.heldPolls === 1, 'long poll held by the node');
    r.node.failNext('not-an-object', 1, 'getblocktemplate');
    let tip = r.node.announceTip(); // answers the held poll; the next long poll gets the bad answer
    await m.waitFor(() => m.job!.prevhash === stratumPrev(tip), 'job on the first new tip');
    await waitUntil(() => log.entries.some((e) => e.level === 'warn'), 'the warning');
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.obj.err)).toEqual(['getblocktemplate: result is not an object']);
    tip = r.node.announceTip();
    await m.waitFor(() => m.job!.prevhash === stratumPrev(tip), 'job on the second new tip, by polling', 2000);
    expect(r.upstream.status()).toMatchObject({ state: 'connected', reconnects: 0, lastError: null });
    expect(r.node.calls.filter((c) => c.longpoll).length).toBe(2);
  });

  it('node down: state disconnected, miners keep their job, a block found meanwhile is retried; recovers', async () => {
    const r = await setup();
    const m = await miner(r);
    const job = m.job!;
    await r.node.goDown();
    await waitUntil(() => r.upstream.status().state === 'disconnected', 'disconnected');
    expect(r.upstream.status().lastError).toMatch(/ECONNREFUSED|ECONNRESET|closed/);
    expect(r.upstream.status().lastError).not.toContain(r.node.password);
    expect(m.closed).toBe(false);
    expect(m.job!.id).toBe(job.id);
    // A block while the node is away: submitblock is retried until the node is back.
    const share = m.find();
    expect((await m.submit(share.params)).result).toBe(true);
    await new Promise((res) => setTimeout(res, 150));
    await r.node.comeUp();
    await waitUntil(() => r.node.submitted.length === 1, 'block submitted after the node came back', 6000);
    expect(r.node.submitted[0]!.result).toBeNull();
    await waitUntil(() => r.upstream.status().state === 'connected', 'connected again');
    await m.waitFor(() => m.job!.clean && m.job!.id !== job.id, 'clean job after the block', 3000);
    // Counted once getblockheader has answered, which may come after the clean job (sent right after submitblock).
    await waitUntil(() => r.upstream.status().blocks === 1, 'block counted');
    expect(r.upstream.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('stopping while a template request is in flight: stopped, not a failure', async () => {
    const r = await setup({ node: { longpollFails: true }, upstream: { pollIntervalMs: 60_000 } });
    const m = await miner(r);
    r.node.failNext('hang', 1, 'getblocktemplate'); // the template asked for after our block never comes
    expect((await m.submit(m.find().params)).result).toBe(true);
    await waitUntil(() => r.upstream.status().blocks === 1, 'block counted');
    await r.upstream.stop(100);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.upstream.status()).toMatchObject({ state: 'stopped', lastError: null, reconnects: 0 });
  });

  it('RPC errors (HTTP 500, RPC error, non-JSON, 401) are reported and survived', async () => {
    const r = await setup({ upstream: { longpoll: false } });
    const m = await miner(r);
    const seen = new Set<string>();
    for (const kind of ['http500', 'rpc-error', 'not-json', 'unauthorized'] as const) {
      r.node.failNext(kind, 1, 'getbestblockhash');
      await waitUntil(() => r.upstream.status().state === 'disconnected', `${kind}: disconnected`);
      seen.add(r.upstream.status().lastError!);
      await waitUntil(() => r.upstream.status().state === 'connected', `${kind}: connected again`);
    }
    const errors = [...seen].join('\n');
    expect(errors).toMatch(/getbestblockhash: HTTP 500, reply is not JSON: "<html>Internal Server Error/);
    expect(errors).toMatch(/RPC error -10: Bitcoin Core is in initial sync/);
    expect(errors).toMatch(/reply is not JSON/);
    expect(errors).toMatch(/HTTP 401 unauthorized/);
    expect(errors).not.toContain(r.node.password);
    expect(m.closed).toBe(false);
    const tip = r.node.announceTip();
    await m.waitFor(() => m.job!.prevhash === stratumPrev(tip), 'still following the chain', 2000);
  });

  it('submitblock verdicts: a reject reason is counted as rejected and leaves the tip open for the next solution', async () => {
    const r = await setup({ node: { submitResult: 'bad-cb-amount' } });
    const m = await miner(r);
    const forwarded = forwardedOf(r);
    let share = m.find();
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => forwarded.length === 1, 'first verdict');
    expect(forwarded[0]).toMatchObject({ accepted: false, reason: 'bad-cb-amount' });
    expect(r.upstream.status()).toMatchObject({ rejected: 1, blocks: 0, blocksStale: 0 });
    expect(r.upstream.status().lastError).toContain('bad-cb-amount');

    r.node.submitResult = undefined;
    share = m.find({ startNonce: share.nextNonce });
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => forwarded.length === 2, 'second verdict');
    expect(forwarded[1]).toMatchObject({ accepted: true, block: true });
    expect(r.upstream.status()).toMatchObject({ accepted: 1, blocks: 1 });
    expect(r.node.submitted.map((s) => s.result)).toEqual(['bad-cb-amount', null]);
  });
});

describe('solo mining: one block per tip, found means on the best chain', () => {
  it('a second solution on a tip we already have a block on is stale, never submitted; every miner moves on at once', async () => {
    // As on bcoin: no long poll, and a tip poll too slow to matter: only the template fetched right after
    // submitblock can move the miners.
    const r = await setup({ node: { longpollFails: true }, upstream: { pollIntervalMs: 60_000 } });
    const a = await miner(r);
    const b = await miner(r);
    const oldJob = b.job!;
    const forwarded = forwardedOf(r);
    const first = a.find();
    const second = a.find({ startNonce: first.nextNonce });
    const replies = await Promise.all([a.submit(first.params), a.submit(second.params)]);
    expect(replies.map((reply) => reply.result)).toEqual([true, true]); // valid shares at the session difficulty
    await waitUntil(() => forwarded.length === 2, 'both verdicts');
    expect(forwarded.filter((f) => f.block).length).toBe(1);
    expect(forwarded.filter((f) => f.lostBlock === 'stale').length).toBe(1);
    expect(r.node.submitted.map((s) => s.result)).toEqual([null]);
    for (const m of [a, b]) await m.waitFor(() => m.job!.clean && m.job!.prevhash === stratumPrev(r.node.tip), 'clean job on our block');
    // Too late on the old tip: stale for the miner too, and still nothing more for the node.
    const late = b.find({ job: oldJob });
    expect(((await b.submit(late.params)).error as unknown[])[0]).toBe(21);
    expect(r.node.submitted.length).toBe(1);
    expect(r.server.stats).toMatchObject({ blocksFound: 1, blocksStale: 1, blocksOrphaned: 0, upstreamRejected: 0 });
    expect(r.upstream.status()).toMatchObject({ state: 'connected', blocks: 1, blocksStale: 1, rejected: 0, reconnects: 0 });
  });

  it('"blocks found" counts only blocks on the best chain; one that lost a race is orphaned, apart in /status and /metrics', async () => {
    const r = await setup();
    const m = await miner(r);
    const forwarded = forwardedOf(r);
    // Lost races: as bcoin answers (null) and as bitcoind does ("inconclusive").
    for (const [i, answer] of [null, 'inconclusive'].entries()) {
      r.node.sideChainResult = answer;
      r.node.competeBeforeNextSubmit();
      expect((await m.submit(m.find().params)).result).toBe(true);
      await waitUntil(() => forwarded.length === i + 1, `verdict ${i + 1}`);
      expect(forwarded[i]).toMatchObject({ accepted: true, lostBlock: 'orphaned' });
      expect(forwarded[i]!.block).toBeFalsy();
      const sub = r.node.submitted[i]!;
      expect(sub.result).toBe(answer);
      expect(r.node.onBestChain(Block.fromHex(sub.hex).getId())).toBe(false);
      await m.waitFor(() => m.job!.prevhash === stratumPrev(r.node.tip), 'job on the winning tip');
    }
    expect((await m.submit(m.find().params)).result).toBe(true);
    await waitUntil(() => forwarded.length === 3, 'third verdict');
    expect(forwarded[2]).toMatchObject({ accepted: true, block: true });
    expect(r.node.onBestChain(Block.fromHex(r.node.submitted[2]!.hex).getId())).toBe(true);

    expect(r.server.status().stats).toMatchObject({ blocksFound: 1, blocksOrphaned: 2, blocksStale: 0 });
    expect(r.upstream.status()).toMatchObject({ accepted: 3, blocks: 1, blocksOrphaned: 2, blocksStale: 0 });
    // The live page's list: newest first, with the height and hash of each block the node took.
    const submittedBlocks = r.node.submitted.map((sub) => Block.fromHex(sub.hex)).reverse();
    expect(r.server.status().stats.recentBlocks).toEqual(
      submittedBlocks.map((b, i) => ({
        at: expect.any(String),
        height: bip34Height(b.transactions![0]!.ins[0]!.script),
        hash: b.getId(),
        worker: expect.any(String),
        status: i === 0 ? 'found' : 'orphaned',
      })),
    );
    const metrics = await r.server.metrics.registry.metrics();
    expect(metrics).toContain('mesos_miner_server_blocks_found_total 1');
    expect(metrics).toContain('mesos_miner_server_blocks_lost_total{reason="orphaned"} 2');
    expect(metrics).toContain('mesos_miner_server_blocks_lost_total{reason="stale"} 0');
  });

  it('a getblockheader that cannot answer (RPC error, not an object): a plain null from submitblock still counts, the reason kept', async () => {
    const r = await setup();
    const m = await miner(r);
    const forwarded = forwardedOf(r);
    r.node.failNext('rpc-error', 1, 'getblockheader');
    let share = m.find();
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => forwarded.length === 1, 'verdict');
    expect(forwarded[0]).toMatchObject({ accepted: true, block: true });
    expect(r.upstream.status().lastError).toMatch(/getblockheader: RPC error -10/);

    await m.waitFor(() => m.job!.prevhash === stratumPrev(r.node.tip), 'job on our block');
    r.node.failNext('not-an-object', 1, 'getblockheader');
    share = m.find();
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => forwarded.length === 2, 'second verdict');
    expect(forwarded[1]).toMatchObject({ accepted: true, block: true });
    expect(r.upstream.status().lastError).toBe('bitcoind getblockheader: result has no "confirmations" number');
    expect(r.upstream.status()).toMatchObject({ blocks: 2, blocksOrphaned: 0 });
  });
});

describe('solo mining: session difficulty', () => {
  it('never goes below --min-diff at regtest network difficulty (4.66e-10), and every share there is a block', async () => {
    const r = await setup({ server: { initialDifficulty: 2 ** -40, vardiff: { minDifficulty: 2 ** -20 } } });
    const m = await miner(r);
    expect(r.upstream.status().difficulty).toBeLessThan(1e-9);
    expect(m.difficulty).toBe(2 ** -20);
    expect(m.job!.difficulty).toBe(2 ** -20);
    // A miner asking for less gets the floor.
    expect((await m.request('mining.suggest_difficulty', [1e-12])).result).toBe(true);
    expect(r.server.status().miners[0]!.difficulty).toBe(2 ** -20);
    const share = m.find();
    expect((await m.submit(share.params)).result).toBe(true);
    await waitUntil(() => r.node.submitted.length === 1 && r.upstream.status().blocks === 1, 'the share is a block');
    await m.waitFor(() => m.job!.clean && m.job!.prevhash === stratumPrev(r.node.tip), 'clean job on our block');
    expect(m.difficulty).toBe(2 ** -20);
  });

  it('stays at or below the network difficulty when that is above --min-diff (no block is ever below the session target)', async () => {
    const r = await setup({ node: { bits: 0x1d00ffff }, server: { vardiff: { minDifficulty: 2 ** -20 } } });
    const m = await miner(r);
    expect(r.upstream.status().difficulty).toBe(1);
    expect(m.difficulty).toBe(1); // start difficulty 1
    expect((await m.request('mining.suggest_difficulty', [2 ** 20])).result).toBe(true);
    expect(r.server.status().miners[0]!.difficulty).toBe(1);
    expect((await m.request('mining.suggest_difficulty', [2 ** -30])).result).toBe(true);
    expect(r.server.status().miners[0]!.difficulty).toBe(2 ** -20);
  });
});

describe('solo mining: blocks over the submit rate', () => {
  /** `count` shares on the miner's current job, found before any is sent. */
  function shares(m: TestMiner, count: number) {
    const found = [];
    for (let i = 0, nonce = 0; i < count; i++) {
      const share = m.find({ startNonce: nonce });
      nonce = share.nextNonce;
      found.push(share);
    }
    return found;
  }

  it('a share that meets the network target is never refused for the rate', async () => {
    const r = await setup({ server: { submitRatePerSecond: 1 } });
    const m = await miner(r);
    const replies = await Promise.all(shares(m, 10).map((s) => m.submit(s.params)));
    expect(replies.map((reply) => reply.error)).toEqual(Array(10).fill(null));
    expect(r.server.stats.rejectedByReason['rate-limited']).toBeUndefined();
    expect(r.server.stats.forwarded).toBe(10);
  });

  it('other shares over the rate are refused as before', async () => {
    const r = await setup({ node: { bits: 0x1d00ffff }, server: { submitRatePerSecond: 1, initialDifficulty: SESSION_DIFF } });
    const m = await miner(r);
    expect(m.difficulty).toBe(SESSION_DIFF); // far below the network's 1: these shares are not blocks
    const replies = await Promise.all(shares(m, 10).map((s) => m.submit(s.params)));
    const limited = replies.filter((reply) => (reply.error as unknown[] | null)?.[1] === 'Submit rate limit exceeded');
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(r.server.stats.rejectedByReason['rate-limited']).toBe(limited.length);
    expect(r.server.stats.forwarded).toBe(0);
  });
});

describe('solo mining: bad configuration', () => {
  it('a bad payout address or URL is a clear error before anything starts', () => {
    const base = { url: 'http://u:p@127.0.0.1:1' };
    expect(() => new BitcoindUpstream({ ...base, payoutAddress: 'not-an-address' })).toThrow(/--payout "not-an-address" is not a valid Bitcoin address/);
    expect(() => new BitcoindUpstream({ ...base, payoutAddress: P2WPKH.slice(0, -1) + 'x' })).toThrow(/not a valid Bitcoin address/);
    expect(() => new BitcoindUpstream({ ...base, payoutAddress: P2WPKH, network: 'mainnet' })).toThrow(/is not a mainnet address/);
    expect(() => new BitcoindUpstream({ url: 'ftp://u:p@host:1', payoutAddress: P2WPKH })).toThrow(/must be http:\/\/ or https:\/\//);
    expect(() => new BitcoindUpstream({ url: 'http://127.0.0.1:8332', payoutAddress: P2WPKH })).toThrow(/no credentials/);
    let message = '';
    try {
      new BitcoindUpstream({ url: 'http://user:hunter2@[bad', payoutAddress: P2WPKH });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not a valid URL/);
    expect(message).not.toContain('hunter2');
  });

  it('a payout address of another network than the node is refused at start', async () => {
    const node = new FakeBitcoind({ chain: 'regtest' });
    await node.start();
    const mainnetAddress = payments.p2wpkh({ hash: Buffer.alloc(20, 1), network: networks.bitcoin }).address!;
    const upstream = new BitcoindUpstream({ url: node.url, payoutAddress: mainnetAddress });
    try {
      await expect(upstream.start()).rejects.toThrow(/runs regtest: invalid regtest address/);
      expect(upstream.status().state).toBe('stopped');
      expect(upstream.spaces()).toEqual([]);
    } finally {
      await upstream.stop(0);
      await node.stop();
    }
  });

  it('an unreachable node at start is retried in the background, not fatal', async () => {
    const node = new FakeBitcoind({ transactions: [] });
    await node.start();
    await node.goDown();
    const upstream = new BitcoindUpstream({ url: node.url, payoutAddress: P2WPKH, pollIntervalMs: 30, backoff: { initialMs: 20, maxMs: 60 } });
    try {
      await upstream.start();
      expect(upstream.status().state).toBe('disconnected');
      await node.comeUp();
      await waitUntil(() => upstream.currentJob('solo'), 'first job after the node came up', 3000);
      expect(upstream.status().state).toBe('connected');
      expect(upstream.payoutNetwork).toBe('regtest');
    } finally {
      await upstream.stop(0);
      await node.stop();
    }
  });
});
