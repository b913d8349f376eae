import { Block, Transaction, script as bjsScript } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { addressToScript } from '../src/bitcoin/address.js';
import { serializeBlock } from '../src/bitcoin/block.js';
import { sha256d } from '../src/bitcoin/hash.js';
import { internalPrevHashToStratum } from '../src/bitcoin/header.js';
import { buildJobHeader } from '../src/bitcoin/job.js';
import { coinbaseMerkleBranch } from '../src/bitcoin/merkle.js';
import {
  buildCoinbaseTemplate,
  coinbaseWithWitness,
  witnessCommitmentScript,
} from '../src/bitcoin/transaction.js';
import { BLOCK_100000, BLOCK_881423 } from './fixtures/blocks.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('witness commitment and coinbase witness', () => {
  it('block 881,423\'s real coinbase is the witness form of its stripped coinbase', () => {
    const s = BLOCK_881423.stratum;
    const stripped = Buffer.from(s.coinb1 + s.extranonce1 + s.extranonce2 + s.coinb2, 'hex');
    expect(hex(coinbaseWithWitness(stripped))).toBe(BLOCK_881423.coinbaseTxHex);
    expect(() => coinbaseWithWitness(Buffer.alloc(10))).toThrow(/coinbase/);
  });
});

describe('solo mining: coinbase template -> Stratum job -> full block (checked by bitcoinjs-lib)', () => {
  const others = Block.fromHex(BLOCK_100000.blockHex).transactions!.slice(1);
  const payout = addressToScript('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
  const commitment = witnessCommitmentScript(others.map((tx) => tx.getHash(true)));
  const template = buildCoinbaseTemplate({
    height: 881_424,
    outputs: [{ script: payout, value: 312_500_000n }],
    extranonceSize: 8,
    tag: Buffer.from('/mesos-miner/'),
    witnessCommitmentScript: commitment,
  });

  it('the coinbase parses, starts with the BIP 34 height and pays the address', () => {
    const coinbase = Buffer.from(template.coinb1 + '0102030405060708' + template.coinb2, 'hex');
    const tx = Transaction.fromBuffer(coinbase);
    expect(tx.isCoinbase()).toBe(true);
    const chunks = bjsScript.decompile(tx.ins[0]!.script)!;
    expect(bjsScript.number.decode(chunks[0] as Buffer)).toBe(881_424);
    expect(hex(chunks[1] as Buffer)).toBe('0102030405060708');
    expect(Buffer.from(chunks[2] as Buffer).toString()).toBe('/mesos-miner/');
    expect(tx.outs).toHaveLength(2);
    expect(hex(tx.outs[0]!.script)).toBe(hex(payout));
    expect(tx.outs[0]!.value).toBe(312_500_000n);
    expect(hex(tx.outs[1]!.script)).toBe(hex(commitment));
    expect(tx.outs[1]!.value).toBe(0n);
  });

  it('a block assembled from the job passes bitcoinjs-lib\'s merkle and witness-commitment checks', () => {
    const prev = Buffer.from(BLOCK_100000.hashDisplay, 'hex').reverse();
    const job = {
      jobId: 'solo-1',
      prevHash: internalPrevHashToStratum(prev),
      coinb1: template.coinb1,
      coinb2: template.coinb2,
      merkleBranch: coinbaseMerkleBranch(others.map((tx) => tx.getHash())).map(hex),
      version: 0x20000000,
      nbits: 0x207fffff,
      ntime: 1_700_000_000,
    };
    const built = buildJobHeader(job, { extranonce1: 'aabbccdd', extranonce2: '00000001', extranonce2Size: 4 });
    const raw = serializeBlock(built.header, [coinbaseWithWitness(built.coinbase), ...others.map((t) => t.toBuffer())]);
    const block = Block.fromBuffer(raw);
    expect(block.transactions).toHaveLength(4);
    expect(block.hasWitnessCommit()).toBe(true);
    expect(block.checkTxRoots()).toBe(true);
    expect(hex(block.getHash())).toBe(hex(sha256d(built.header)));
    expect(hex(block.toBuffer())).toBe(hex(raw));
    // A commitment over other wtxids must fail the same check.
    const wrong = buildCoinbaseTemplate({
      height: 881_424,
      outputs: [{ script: payout, value: 1n }],
      extranonceSize: 8,
      witnessCommitmentScript: witnessCommitmentScript([Buffer.alloc(32, 9)]),
    });
    const badJob = { ...job, coinb1: wrong.coinb1, coinb2: wrong.coinb2 };
    const bad = buildJobHeader(badJob, { extranonce1: 'aabbccdd', extranonce2: '00000001', extranonce2Size: 4 });
    const badBlock = Block.fromBuffer(
      serializeBlock(bad.header, [coinbaseWithWitness(bad.coinbase), ...others.map((t) => t.toBuffer())]),
    );
    expect(badBlock.checkTxRoots()).toBe(false);
  });

  it('regtest heights 1..16 use OP_1..OP_16, as bitcoind requires', () => {
    const t = buildCoinbaseTemplate({ height: 5, outputs: [{ script: payout, value: 1n }], extranonceSize: 4 });
    const tx = Transaction.fromBuffer(Buffer.from(t.coinb1 + '00000000' + t.coinb2, 'hex'));
    expect(hex(tx.ins[0]!.script).slice(0, 2)).toBe('55');
  });

  it('rejects templates that cannot be valid', () => {
    const base = { height: 1000, outputs: [{ script: payout, value: 1n }], extranonceSize: 8 };
    expect(() => buildCoinbaseTemplate({ ...base, outputs: [] })).toThrow(/at least one output/);
    expect(() => buildCoinbaseTemplate({ ...base, extranonceSize: 0 })).toThrow(/extranonce size/);
    expect(() => buildCoinbaseTemplate({ ...base, tag: Buffer.alloc(90) })).toThrow(/scriptSig would be/);
    expect(() => buildCoinbaseTemplate({ ...base, outputs: [{ script: payout, value: -1n }] })).toThrow(/value/);
    expect(() => serializeBlock(Buffer.alloc(80), [])).toThrow(/coinbase/);
    expect(() => serializeBlock(Buffer.alloc(81), [Buffer.alloc(60)])).toThrow(/80 bytes/);
  });
});
