import { Block, Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { sha256d } from '../src/bitcoin/hash.js';
import { coinbaseMerkleBranch, merkleRoot, merkleRootFromBranch } from '../src/bitcoin/merkle.js';
import { BLOCK_100000, BLOCK_881423 } from './fixtures/blocks.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const display = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex');

/** Distinct throwaway transactions, so bitcoinjs-lib can compute roots of any size. */
function syntheticTxs(n: number): Transaction[] {
  return Array.from({ length: n }, (_, i) => {
    const tx = new Transaction();
    tx.addInput(Buffer.alloc(32, i + 1), i);
    tx.addOutput(Buffer.from([0x51]), BigInt(1000 + i));
    return tx;
  });
}

describe('merkle root of a real block (mainnet 100000)', () => {
  const block = Block.fromHex(BLOCK_100000.blockHex);
  const txs = block.transactions!;
  const hashes = txs.map((tx) => Buffer.from(tx.getHash()));

  it('equals the header\'s merkle root and bitcoinjs-lib\'s', () => {
    expect(txs).toHaveLength(BLOCK_100000.txCount);
    const root = merkleRoot(hashes);
    expect(display(root)).toBe(BLOCK_100000.merkleRootDisplay);
    expect(hex(root)).toBe(hex(block.merkleRoot!));
    expect(hex(root)).toBe(hex(Block.calculateMerkleRoot(txs)));
  });

  it('the Stratum branch of the coinbase leads from the coinbase txid to the same root', () => {
    const branch = coinbaseMerkleBranch(hashes.slice(1));
    expect(branch).toHaveLength(2);
    expect(hex(branch[0]!)).toBe(hex(hashes[1]!));
    expect(hex(merkleRootFromBranch(hashes[0]!, branch))).toBe(hex(block.merkleRoot!));
  });

  it('matches bitcoinjs-lib on prefixes of the block (odd counts duplicate the last hash)', () => {
    for (let n = 1; n <= txs.length; n++) {
      const expected = hex(Block.calculateMerkleRoot(txs.slice(0, n)));
      expect(hex(merkleRoot(hashes.slice(0, n)))).toBe(expected);
      expect(hex(merkleRootFromBranch(hashes[0]!, coinbaseMerkleBranch(hashes.slice(1, n))))).toBe(expected);
    }
  });
});

describe('merkle branch of a real segwit block (mainnet 881,423)', () => {
  it('the coinbase txid and its 11-hash branch give the header\'s merkle root', () => {
    const coinbase = Transaction.fromHex(BLOCK_881423.coinbaseTxHex);
    const header = Buffer.from(BLOCK_881423.headerHex, 'hex');
    const branch = BLOCK_881423.merkleBranch.map((b) => Buffer.from(b, 'hex'));
    const s = BLOCK_881423.stratum;
    const stratumCoinbase = Buffer.from(s.coinb1 + s.extranonce1 + s.extranonce2 + s.coinb2, 'hex');
    // The txid hashes the witness-stripped coinbase, which is exactly what a pool's coinb1/coinb2 describe.
    expect(hex(sha256d(stratumCoinbase))).toBe(hex(coinbase.getHash()));
    expect(hex(merkleRootFromBranch(sha256d(stratumCoinbase), branch))).toBe(hex(header.subarray(36, 68)));
    // One wrong sibling changes the root.
    const broken = branch.map((b, i) => (i === 5 ? Buffer.alloc(32) : b));
    expect(hex(merkleRootFromBranch(sha256d(stratumCoinbase), broken))).not.toBe(hex(header.subarray(36, 68)));
  });
});

describe('merkle trees of every size from 1 to 33 (bitcoinjs-lib as the reference)', () => {
  it('root and coinbase branch agree with Block.calculateMerkleRoot', () => {
    for (let n = 1; n <= 33; n++) {
      const txs = syntheticTxs(n);
      const hashes = txs.map((tx) => tx.getHash());
      const expected = hex(Block.calculateMerkleRoot(txs));
      expect(hex(merkleRoot(hashes)), `n=${n}`).toBe(expected);
      const branch = coinbaseMerkleBranch(hashes.slice(1));
      expect(branch.length, `n=${n}`).toBe(Math.ceil(Math.log2(n)));
      expect(hex(merkleRootFromBranch(hashes[0]!, branch)), `n=${n}`).toBe(expected);
    }
  });

  it('a coinbase-only block has an empty branch and its root is the coinbase txid', () => {
    const [tx] = syntheticTxs(1);
    expect(coinbaseMerkleBranch([])).toEqual([]);
    expect(hex(merkleRoot([tx!.getHash()]))).toBe(hex(tx!.getHash()));
  });

  it('rejects bad input with the position of the bad hash', () => {
    expect(() => merkleRoot([])).toThrow(/empty/);
    expect(() => merkleRoot([Buffer.alloc(32), Buffer.alloc(31)])).toThrow(/tx hash\[1\].*31 bytes/);
    expect(() => merkleRootFromBranch(Buffer.alloc(32), [Buffer.alloc(32), Buffer.alloc(33)])).toThrow(
      /merkle branch\[1\]/,
    );
    expect(() => merkleRootFromBranch(Buffer.alloc(20), [])).toThrow(/coinbase hash/);
    expect(() => coinbaseMerkleBranch([Buffer.alloc(1)])).toThrow(/tx hash\[1\]/);
  });
});
