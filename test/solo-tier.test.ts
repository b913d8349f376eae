// A tier of solo servers on one node (schedule/local --servers K): each server's --server-index is written into its
// coinbase, so two servers never hash the same header, whatever their random extranonce bytes; and a block found
// through one server moves the others' miners to the new tip through their own tip polling.
// The coinbases and headers are rebuilt with bitcoinjs-lib, independently of src/.
import { Block, crypto as bcrypto, script as bscript, Transaction, networks, payments } from 'bitcoinjs-lib';
import { afterEach, describe, expect, it } from 'vitest';
import { MinerServer } from '../src/server/miner-server.js';
import { BitcoindUpstream } from '../src/upstream/bitcoind.js';
import { FakeBitcoind } from './support/fake-bitcoind.js';
import { TestMiner, type MinerJob } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

const PAYOUT = payments.p2wpkh({ hash: Buffer.alloc(20, 0x44), network: networks.regtest }).address!;

interface TierServer { upstream: BitcoindUpstream; server: MinerServer; miner: TestMiner }

let node: FakeBitcoind | undefined;
const tier: TierServer[] = [];

afterEach(async () => {
  for (const s of tier.splice(0)) {
    s.miner.close();
    await s.server.close(100);
    await s.upstream.stop(100);
  }
  await node?.stop();
  node = undefined;
});

/** One server of the tier (polling the node as on bcoin, which cannot long-poll) with one miner connected. */
async function startServer(index: number, extranonce1?: string): Promise<TierServer> {
  const upstream = new BitcoindUpstream({
    url: node!.url, payoutAddress: PAYOUT, serverIndex: index, longpoll: false, backoff: { initialMs: 20, maxMs: 100 },
    ...(extranonce1 ? { extranonce1 } : {}),
  });
  const server = new MinerServer({ upstream, host: '127.0.0.1', port: 0, submitRatePerSecond: 100_000, vardiff: { minDifficulty: 2 ** -24 } });
  await upstream.start();
  const { port } = await server.listen();
  const miner = await TestMiner.connect(port);
  const s = { upstream, server, miner };
  tier.push(s);
  await miner.handshake(`rig-${index}`);
  return s;
}

/** The header a miner of this server builds for (session prefix, extranonce2, nonce), by bitcoinjs-lib. */
function headerOf(soloExtranonce1: string, job: MinerJob, prefix: string, extranonce2: string, nonce: number): { header: Buffer; scriptSig: Buffer } {
  const coinbase = Transaction.fromHex(job.coinb1 + soloExtranonce1 + prefix + extranonce2 + job.coinb2);
  let root = Buffer.from(coinbase.getHash());
  for (const b of job.branch) root = Buffer.from(bcrypto.hash256(Buffer.concat([root, Buffer.from(b, 'hex')])));
  const block = new Block();
  block.version = job.version;
  const prev = Buffer.from(job.prevhash, 'hex');
  for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse(); // Stratum word order -> internal
  block.prevHash = prev;
  block.merkleRoot = root;
  block.timestamp = parseInt(job.ntimeHex, 16);
  block.bits = job.nbits;
  block.nonce = nonce;
  return { header: Buffer.from(block.toBuffer(true)), scriptSig: Buffer.from(coinbase.ins[0]!.script) };
}

describe('a tier of solo servers on one node', () => {
  it('servers with different --server-index never hash the same header, even with the same random extranonce bytes', async () => {
    node = new FakeBitcoind({ noLongpoll: true });
    await node.start();
    // The same "random" extranonce1 for both: only the index can tell them apart.
    const a = await startServer(0, 'aabbccdd');
    const b = await startServer(1, 'aabbccdd');
    const soloA = a.upstream.status().spaces[0]!.extranonce1;
    const soloB = b.upstream.status().spaces[0]!.extranonce1;
    expect(soloA).toBe('0000ccdd');
    expect(soloB).toBe('0001ccdd');
    // Both miners mine on the same tip, with the same session prefix length.
    expect(a.miner.job!.prevhash).toBe(b.miner.job!.prevhash);
    expect(a.miner.extranonce1.slice(0, 8)).toBe(soloA);
    expect(b.miner.extranonce1.slice(0, 8)).toBe(soloB);
    const prefixLength = a.miner.extranonce1.length - 8;
    expect(b.miner.extranonce1.length - 8).toBe(prefixLength);

    // The same miner slot (prefix), extranonce2, ntime and nonce on both servers: different headers.
    for (const prefix of ['00'.repeat(prefixLength / 2), a.miner.extranonce1.slice(8)]) {
      const en2 = '00'.repeat(a.miner.extranonce2Size);
      const x = headerOf(soloA, a.miner.job!, prefix, en2, 12345);
      const y = headerOf(soloB, { ...b.miner.job!, ntimeHex: a.miner.job!.ntimeHex }, prefix, en2, 12345);
      expect(x.header.subarray(0, 36)).toEqual(y.header.subarray(0, 36)); // version + prevhash: same tip
      expect(x.header.subarray(36, 68)).not.toEqual(y.header.subarray(36, 68)); // merkle roots differ
      // The index is the first two bytes of the extranonce push, right after the BIP 34 height.
      const [, extranonceA] = bscript.decompile(x.scriptSig)!;
      const [, extranonceB] = bscript.decompile(y.scriptSig)!;
      expect(Buffer.from(extranonceA as Uint8Array).readUInt16BE(0)).toBe(0);
      expect(Buffer.from(extranonceB as Uint8Array).readUInt16BE(0)).toBe(1);
    }
    // What the test builds is what the server checks: a share from it is accepted by the server.
    const share = a.miner.find();
    expect((await a.miner.submit(share.params)).result).toBe(true);
  });

  it('a block found through one server moves the other server\'s miners to the new tip (tip polling)', async () => {
    node = new FakeBitcoind({ noLongpoll: true });
    await node.start();
    const a = await startServer(0);
    const b = await startServer(1);
    const oldPrev = b.miner.job!.prevhash;
    expect((await a.miner.submit(a.miner.find().params)).result).toBe(true);
    await waitUntil(() => node!.submitted.length === 1, 'the block submitted by server 0');
    // Server 1 did not submit anything: it learns the new tip from the node and sends a clean job.
    await waitUntil(() => b.miner.job!.prevhash !== oldPrev && b.miner.job!.clean, 'a clean job on the new tip at server 1', 10_000);
    expect(b.miner.job!.prevhash).toBe(a.miner.job!.prevhash);
    expect(b.upstream.status().blocks).toBe(0);
    expect(a.upstream.status().blocks).toBe(1);
  });

  it('refuses a server index outside 0..65535', () => {
    for (const serverIndex of [-1, 65536, 1.5]) {
      expect(() => new BitcoindUpstream({ url: 'http://u:p@127.0.0.1:1', payoutAddress: PAYOUT, serverIndex })).toThrow(/server index must be an integer in 0..65535/);
    }
  });
});
