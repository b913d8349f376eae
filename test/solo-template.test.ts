// getblocktemplate parsing and solo job building against real mainnet block 542,213 (known answers: its merkle
// root, its witness commitment), plus every way a template or a solution can be wrong.
import { Block } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { sha256d } from '../src/bitcoin/hash.js';
import { merkleRootFromBranch } from '../src/bitcoin/merkle.js';
import { witnessCommitmentScript } from '../src/bitcoin/transaction.js';
import { assembleSoloBlock, buildSoloWork, parseBlockTemplate, sameTemplateContents, verifySolution } from '../src/upstream/template.js';
import { SEGWIT_BLOCK_542213 as REAL } from './fixtures/segwit-block.js';
import { FakeBitcoind, commitmentFor, templateTxsFromBlock } from './support/fake-bitcoind.js';

const realBlock = Block.fromHex(REAL.blockHex);
const PAYOUT_SCRIPT = Buffer.from('0014' + '11'.repeat(20), 'hex');

function realTemplate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const node = new FakeBitcoind({
    transactions: templateTxsFromBlock(REAL.blockHex),
    coinbaseValue: REAL.coinbaseValue,
    height: REAL.height,
    bits: REAL.bits,
    tip: REAL.prevHashDisplay,
  });
  return { ...node.template(), ...overrides };
}

describe('the real block fixture', () => {
  it('is block 542,213: real proof of work, consistent merkle root and witness commitment', () => {
    expect(realBlock.getId()).toBe(REAL.hashDisplay);
    expect(realBlock.checkProofOfWork()).toBe(true);
    expect(realBlock.checkTxRoots()).toBe(true);
    expect(realBlock.transactions!.map((t) => t.getId()).slice(1)).toEqual(REAL.txs.map((t) => t.txid));
  });

  it('its witness commitment is what the fake node and src/bitcoin compute from the wtxids', () => {
    expect(commitmentFor(REAL.txs.map((t) => t.wtxid))).toBe(REAL.witnessCommitmentScript);
    const wtxids = REAL.txs.map((t) => Buffer.from(t.wtxid, 'hex').reverse());
    expect(witnessCommitmentScript(wtxids).toString('hex')).toBe(REAL.witnessCommitmentScript);
  });
});

describe('parseBlockTemplate', () => {
  it('reads a template: txids/wtxids in internal order, witness flags, target from bits', () => {
    const t = parseBlockTemplate(realTemplate());
    expect(t.height).toBe(REAL.height);
    expect(t.previousBlockHash).toBe(REAL.prevHashDisplay);
    expect(t.coinbaseValue).toBe(BigInt(REAL.coinbaseValue));
    expect(t.bits).toBe(REAL.bits);
    expect(t.transactions.map((x) => x.hasWitness)).toEqual(REAL.txs.map((x) => x.witness));
    expect(t.transactions.map((x) => Buffer.from(x.txid).reverse().toString('hex'))).toEqual(REAL.txs.map((x) => x.txid));
    expect(t.defaultWitnessCommitment!.toString('hex')).toBe(REAL.witnessCommitmentScript);
    expect(t.longpollId).toMatch(/^[0-9a-f]{64}\d+$/);
  });

  it.each([
    ['not an object', 'nope', /result is not an object/],
    ['no previousblockhash', { previousblockhash: undefined }, /missing field "previousblockhash"/],
    ['short previousblockhash', { previousblockhash: 'abcd' }, /previousblockhash must be 64 hex digits/],
    ['bad bits', { bits: 'xyz' }, /"bits" must be 8 hex digits/],
    ['negative bits', { bits: '1d80ffff' }, /negative/],
    ['target not matching bits', { target: 'ff'.repeat(32) }, /does not match bits/],
    ['height 0', { height: 0 }, /"height" must be a positive integer/],
    ['no coinbasevalue', { coinbasevalue: undefined }, /templates with only coinbasetxn are not supported/],
    ['coinbasevalue too large', { coinbasevalue: 3e15 }, /coinbasevalue/],
    ['version not uint32', { version: -1 }, /"version" must be a uint32/],
    ['transactions not an array', { transactions: {} }, /"transactions" is not an array/],
    ['commitment not OP_RETURN', { default_witness_commitment: '0014' + '00'.repeat(36) }, /not an OP_RETURN aa21a9ed/],
  ])('rejects a template with %s', (_what, change, error) => {
    const raw = typeof change === 'string' ? change : realTemplate(change as Record<string, unknown>);
    if (typeof change !== 'string') for (const [k, v] of Object.entries(change)) if (v === undefined) delete (raw as Record<string, unknown>)[k];
    expect(() => parseBlockTemplate(raw)).toThrow(error);
  });

  it('rejects transaction data that does not hash to its wtxid', () => {
    const raw = realTemplate();
    const txs = raw.transactions as { data: string }[];
    const data = txs[1]!.data;
    txs[1]!.data = data.slice(0, 100) + (data[100] === '0' ? '1' : '0') + data.slice(101);
    expect(() => parseBlockTemplate(raw)).toThrow(/transactions\[1\]: data does not hash to its hash \(wtxid\)/);
  });

  it('tells same-content templates from changed ones', () => {
    const a = parseBlockTemplate(realTemplate());
    expect(sameTemplateContents(a, parseBlockTemplate(realTemplate({ curtime: 1 })))).toBe(true);
    expect(sameTemplateContents(a, parseBlockTemplate(realTemplate({ coinbasevalue: 1 })))).toBe(false);
    const fewer = realTemplate();
    (fewer.transactions as unknown[]).pop();
    expect(sameTemplateContents(a, parseBlockTemplate(fewer))).toBe(false);
  });
});

describe('buildSoloWork', () => {
  const template = parseBlockTemplate(realTemplate());
  const work = buildSoloWork(template, { jobId: '1', payoutScript: PAYOUT_SCRIPT, extranonceSize: 12, tag: Buffer.from('/t/'), versionMask: 0x1fffe000 });

  it('gives the merkle branch that turns the real coinbase txid into the real merkle root', () => {
    const realCoinbaseTxid = realBlock.transactions![0]!.getHash();
    const root = merkleRootFromBranch(realCoinbaseTxid, work.fields.merkleBranch.map((b) => Buffer.from(b, 'hex')));
    expect(root.equals(Buffer.from(realBlock.merkleRoot!))).toBe(true);
  });

  it('announces Stratum fields: word-swapped prevhash, big-endian version/nbits/ntime', () => {
    expect(work.fields.nbits).toBe('172819a1');
    expect(work.fields.version).toBe('20000000');
    expect(work.fields.ntime).toBe(template.curtime.toString(16).padStart(8, '0'));
    // Stratum prevhash: internal bytes with every 4-byte word reversed.
    const internal = Buffer.from(REAL.prevHashDisplay, 'hex').reverse();
    const words = Buffer.from(work.fields.prevhash, 'hex');
    for (let i = 0; i < 32; i += 4) expect(words.subarray(i, i + 4).reverse().equals(internal.subarray(i, i + 4))).toBe(true);
    expect(work.witnessCommitment!.toString('hex')).toBe(REAL.witnessCommitmentScript);
  });

  it('computes the witness commitment itself when the node leaves it out', () => {
    const raw = realTemplate();
    delete raw.default_witness_commitment;
    const w = buildSoloWork(parseBlockTemplate(raw), { jobId: '2', payoutScript: PAYOUT_SCRIPT, extranonceSize: 12, versionMask: 0 });
    expect(w.witnessCommitment!.toString('hex')).toBe(REAL.witnessCommitmentScript);
  });

  it('leaves the commitment out when no transaction has witness data', () => {
    const raw = realTemplate();
    raw.transactions = (raw.transactions as { hash: string; txid: string }[]).filter((t) => t.hash === t.txid);
    const w = buildSoloWork(parseBlockTemplate(raw), { jobId: '3', payoutScript: PAYOUT_SCRIPT, extranonceSize: 12, versionMask: 0 });
    expect(w.witnessCommitment).toBeNull();
    expect(w.fields.coinb2).not.toContain('aa21a9ed');
  });

  it('verifySolution refuses a foreign coinbase, another tip, a wrong merkle root and a high hash', () => {
    const extranonce = Buffer.alloc(12, 7);
    const coinbase = Buffer.concat([Buffer.from(work.fields.coinb1, 'hex'), extranonce, Buffer.from(work.fields.coinb2, 'hex')]);
    const root = merkleRootFromBranch(sha256d(coinbase), work.fields.merkleBranch.map((b) => Buffer.from(b, 'hex')));
    const header = Buffer.alloc(80);
    header.writeUInt32LE(template.version, 0);
    Buffer.from(REAL.prevHashDisplay, 'hex').reverse().copy(header, 4);
    root.copy(header, 36);
    header.writeUInt32LE(template.curtime, 68);
    header.writeUInt32LE(template.bits, 72);
    // At mainnet difficulty no nonce we can try here meets the target: the last check is the one that fails.
    expect(() => verifySolution(work, header, coinbase, extranonce)).toThrow(/high-hash/);
    expect(() => verifySolution(work, header, coinbase, Buffer.alloc(12, 8))).toThrow(/coinbase does not match the job/);
    const otherTip = Buffer.from(header);
    otherTip[4] ^= 1;
    expect(() => verifySolution(work, otherTip, coinbase, extranonce)).toThrow(/prevhash is not the template tip/);
    const otherRoot = Buffer.from(header);
    otherRoot[40] ^= 1;
    expect(() => verifySolution(work, otherRoot, coinbase, extranonce)).toThrow(/merkle root does not match/);
    const otherBits = Buffer.from(header);
    otherBits.writeUInt32LE(0x207fffff, 72);
    expect(() => verifySolution(work, otherBits, coinbase, extranonce)).toThrow(/bits are not the template bits/);
    const rolledInMask = Buffer.from(header);
    rolledInMask.writeUInt32LE((template.version | 0x00400000) >>> 0, 0);
    expect(() => verifySolution(work, rolledInMask, coinbase, extranonce)).toThrow(/high-hash/); // allowed bits: only PoW fails
    const rolledOutside = Buffer.from(header);
    rolledOutside.writeUInt32LE((template.version | 0x00000004) >>> 0, 0);
    expect(() => verifySolution(work, rolledOutside, coinbase, extranonce)).toThrow(/outside the version-rolling mask/);
    // The block it would make is still well-formed: bitcoinjs-lib agrees on both roots.
    const block = Block.fromBuffer(assembleSoloBlock(work, header, coinbase));
    expect(block.checkTxRoots()).toBe(true);
    expect(block.transactions!.length).toBe(4);
  });
});
