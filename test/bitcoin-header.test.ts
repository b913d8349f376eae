import { Block, Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { assembleCoinbase, extranonce2Hex, extranonce2Space } from '../src/bitcoin/coinbase.js';
import { hashToDisplayHex, sha256d } from '../src/bitcoin/hash.js';
import {
  internalPrevHashToStratum,
  parseHeader,
  rollVersion,
  serializeHeader,
  stratumJobHeader,
  stratumPrevHashToInternal,
  withNonce,
} from '../src/bitcoin/header.js';
import { buildJobHeader, type StratumWorkJob } from '../src/bitcoin/job.js';
import { coinbaseMerkleBranch } from '../src/bitcoin/merkle.js';
import { BLOCK_100000, BLOCK_125552, BLOCK_881423, GENESIS, JOB_881423 } from './fixtures/blocks.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => Buffer.from(h, 'hex');

const REAL_HEADERS = [
  { name: 'genesis', headerHex: GENESIS.headerHex, hash: GENESIS.hashDisplay },
  { name: '100000', headerHex: BLOCK_100000.blockHex.slice(0, 160), hash: BLOCK_100000.hashDisplay },
  { name: '125552', headerHex: BLOCK_125552.headerHex, hash: BLOCK_125552.hashDisplay },
  { name: '881423', headerHex: BLOCK_881423.headerHex, hash: BLOCK_881423.hashDisplay },
];

describe('80-byte header', () => {
  it.each(REAL_HEADERS)('block $name: parse agrees with bitcoinjs-lib and serializes back byte for byte', (f) => {
    const bytes = fromHex(f.headerHex);
    const fields = parseHeader(bytes);
    const reference = Block.fromHex(f.headerHex);
    expect(fields.version).toBe(reference.version >>> 0);
    expect(hex(fields.prevHash)).toBe(hex(reference.prevHash!));
    expect(hex(fields.merkleRoot)).toBe(hex(reference.merkleRoot!));
    expect(fields.ntime).toBe(reference.timestamp);
    expect(fields.nbits).toBe(reference.bits);
    expect(fields.nonce).toBe(reference.nonce);
    expect(hex(serializeHeader(fields))).toBe(f.headerHex);
    expect(hashToDisplayHex(sha256d(serializeHeader(fields)))).toBe(f.hash);
  });

  it('puts the fields of block 881,423 in little-endian order', () => {
    const fields = parseHeader(fromHex(BLOCK_881423.headerHex));
    expect(fields.version).toBe(BLOCK_881423.version);
    expect(fields.ntime).toBe(BLOCK_881423.ntime);
    expect(fields.nbits).toBe(BLOCK_881423.nbits);
    expect(fields.nonce).toBe(BLOCK_881423.nonce);
  });

  it('withNonce changes only bytes 76..79 (little-endian) and leaves its input alone', () => {
    const original = fromHex(BLOCK_125552.headerHex);
    const copy = withNonce(original, 0x01020304);
    expect(hex(copy.subarray(76))).toBe('04030201');
    expect(hex(copy.subarray(0, 76))).toBe(hex(original.subarray(0, 76)));
    expect(hex(original)).toBe(BLOCK_125552.headerHex);
    expect(hex(withNonce(copy, parseHeader(original).nonce))).toBe(BLOCK_125552.headerHex);
  });

  it('rejects bad fields with what was wrong', () => {
    const ok = parseHeader(fromHex(GENESIS.headerHex));
    expect(() => parseHeader(Buffer.alloc(79))).toThrow(/80 bytes, got 79/);
    expect(() => serializeHeader({ ...ok, nonce: 2 ** 32 })).toThrow(/nonce/);
    expect(() => serializeHeader({ ...ok, version: -1 })).toThrow(/version/);
    expect(() => serializeHeader({ ...ok, prevHash: Buffer.alloc(31) })).toThrow(/prevHash/);
    expect(() => serializeHeader({ ...ok, merkleRoot: Buffer.alloc(33) })).toThrow(/merkleRoot/);
    expect(() => withNonce(Buffer.alloc(80), 1.5)).toThrow(/nonce/);
  });
});

describe('Stratum prevhash word order', () => {
  // Block 881,423's previous block, 00000000000000000001543bc4d2b5e1434cb64af8995e21fe15ca708a6ac9e3, as a pool
  // sends it in mining.notify: internal byte order with each 4-byte word's bytes reversed.
  const stratumPrevHash = '8a6ac9e3fe15ca70f8995e21434cb64ac4d2b5e10001543b0000000000000000';

  it('turns into the internal order of the real header and back', () => {
    const internal = stratumPrevHashToInternal(stratumPrevHash);
    expect(hex(internal)).toBe(BLOCK_881423.headerHex.slice(8, 72));
    expect(Buffer.from(internal).reverse().toString('hex')).toBe(
      '00000000000000000001543bc4d2b5e1434cb64af8995e21fe15ca708a6ac9e3',
    );
    expect(internalPrevHashToStratum(internal)).toBe(stratumPrevHash);
  });

  it('rejects a prevhash of the wrong size or not hex', () => {
    expect(() => stratumPrevHashToInternal('00'.repeat(31))).toThrow(/prevhash.*32 bytes/);
    expect(() => stratumPrevHashToInternal('zz'.repeat(32))).toThrow(/prevhash.*not hex/);
    expect(() => internalPrevHashToStratum(Buffer.alloc(8))).toThrow(/32 bytes/);
  });
});

describe('version rolling (BIP 310)', () => {
  it('rebuilds block 881,423\'s rolled version from a plain job version and the usual mask', () => {
    expect(rollVersion(0x20000000, 0x0e596000, 0x1fffe000)).toBe(BLOCK_881423.version);
  });

  it('keeps job bits outside the mask and ignores rolled bits outside it', () => {
    expect(rollVersion(0x20000004, 0xffffffff, 0x1fffe000)).toBe(0x3fffe004);
    expect(rollVersion(0x3fffffff, 0, 0x1fffe000)).toBe(0x20001fff);
    expect(rollVersion(0x20000000, 0x12345678, 0)).toBe(0x20000000);
    expect(() => rollVersion(0x20000000, -1, 0x1fffe000)).toThrow(/version bits/);
  });
});

describe('real Stratum job: block 881,423', () => {
  const s = BLOCK_881423.stratum;
  const job: StratumWorkJob = { jobId: '881423', ...JOB_881423 };

  it('the Stratum parts rejoin into bitcoinjs-lib\'s witness-stripped serialization of the real coinbase', () => {
    const tx = Transaction.fromHex(BLOCK_881423.coinbaseTxHex);
    for (const input of tx.ins) input.witness = [];
    const coinbase = assembleCoinbase(s);
    expect(hex(coinbase)).toBe(hex(tx.toBuffer()));
  });

  it('coinbase -> merkle root -> header reproduces the real header and block hash', () => {
    const version = rollVersion(job.version, 0x0e596000, 0x1fffe000);
    const built = buildJobHeader(job, s, { version, nonce: BLOCK_881423.nonce });
    expect(hex(built.header)).toBe(BLOCK_881423.headerHex);
    expect(hashToDisplayHex(sha256d(built.header))).toBe(BLOCK_881423.hashDisplay);
    expect(hex(built.coinbaseHash)).toBe(hex(Transaction.fromHex(BLOCK_881423.coinbaseTxHex).getHash()));
    // Another extranonce2 gives another coinbase, so another header.
    const other = buildJobHeader(job, { ...s, extranonce2: '220cf1ae' }, { version, nonce: BLOCK_881423.nonce });
    expect(hex(other.header)).not.toBe(BLOCK_881423.headerHex);
  });

  it('rejects extranonces and parts that do not fit', () => {
    expect(() => buildJobHeader(job, { ...s, extranonce2: '220cf1' })).toThrow(/extranonce2.*4 bytes, got 3/);
    expect(() => buildJobHeader(job, { ...s, extranonce1: 'xyz0' })).toThrow(/extranonce1.*not hex/);
    expect(() => buildJobHeader({ ...job, coinb1: 'abc' }, s)).toThrow(/coinb1.*odd/);
    expect(() => buildJobHeader({ ...job, coinb2: '' }, s)).toThrow(/must not be empty/);
    expect(() => buildJobHeader({ ...job, merkleBranch: ['00'] }, s)).toThrow(/merkle branch\[0\].*32 bytes/);
    expect(() => buildJobHeader({ ...job, ntime: 2 ** 32 }, s)).toThrow(/ntime/);
    expect(() => buildJobHeader(job, { ...s, extranonce2Size: 33 })).toThrow(/extranonce2_size/);
  });
});

/** P2PKH output script for a 20-byte hash (OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG). */
function p2pkh(hash160: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x76, 0xa9, 0x14]), hash160, Buffer.from([0x88, 0xac])]);
}

describe('synthetic Stratum job rebuilt independently with bitcoinjs-lib', () => {
  // A coinbase laid out by hand: the scriptSig is <push 3: height> <push 8: extranonce1 || extranonce2> <tag>.
  const height = Buffer.from([0xa0, 0x86, 0x01]); // 100000, little-endian (BIP 34)
  const tag = Buffer.from('/mesos-miner test/', 'ascii');
  const scriptSigLength = 1 + height.length + 1 + 8 + 1 + tag.length;
  const coinb1 = Buffer.concat([
    fromHex('01000000' + '01' + '00'.repeat(32) + 'ffffffff'),
    Buffer.from([scriptSigLength, height.length]),
    height,
    Buffer.from([8]),
  ]);
  const output = p2pkh(Buffer.alloc(20, 0x42));
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(625_000_000n);
  const coinb2 = Buffer.concat([
    Buffer.from([tag.length]),
    tag,
    fromHex('ffffffff' + '01'),
    value,
    Buffer.from([output.length]),
    output,
    fromHex('00000000'),
  ]);
  const others = Block.fromHex(BLOCK_100000.blockHex).transactions!.slice(1);
  const prevDisplay = '000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506';
  const prevInternal = Buffer.from(prevDisplay, 'hex').reverse();
  const job: StratumWorkJob = {
    jobId: 'synthetic-1',
    prevHash: internalPrevHashToStratum(prevInternal),
    coinb1: hex(coinb1),
    coinb2: hex(coinb2),
    merkleBranch: coinbaseMerkleBranch(others.map((tx) => tx.getHash())).map(hex),
    version: 0x20000000,
    nbits: 0x1d00ffff,
    ntime: 1_700_000_000,
  };
  const extranonce1 = 'f00dbabe';

  it.each([0n, 1n, 0xdeadbeefn])('extranonce2 %i: same header as bitcoinjs-lib builds', (counter) => {
    const extranonce2 = extranonce2Hex(counter, 4);
    const ours = buildJobHeader(job, { extranonce1, extranonce2, extranonce2Size: 4 }, { nonce: 12345 });

    const coinbaseTx = Transaction.fromBuffer(ours.coinbase);
    expect(coinbaseTx.isCoinbase()).toBe(true);
    expect(hex(coinbaseTx.ins[0]!.script)).toContain('08' + extranonce1 + extranonce2);
    expect(coinbaseTx.outs[0]!.value).toBe(625_000_000n);

    const block = new Block();
    block.version = 0x20000000;
    block.prevHash = prevInternal;
    block.merkleRoot = Block.calculateMerkleRoot([coinbaseTx, ...others]);
    block.timestamp = 1_700_000_000;
    block.bits = 0x1d00ffff;
    block.nonce = 12345;
    expect(hex(ours.header)).toBe(hex(block.toBuffer(true)));
    expect(hex(sha256d(ours.header))).toBe(hex(block.getHash()));
  });

  it('stratumJobHeader uses the job\'s own version, ntime and nonce 0 by default', () => {
    const root = Buffer.alloc(32, 7);
    const fields = parseHeader(stratumJobHeader(job, root));
    expect(fields).toMatchObject({ version: 0x20000000, ntime: 1_700_000_000, nbits: 0x1d00ffff, nonce: 0 });
    expect(hex(fields.prevHash)).toBe(hex(prevInternal));
  });
});

describe('extranonce2 encoding', () => {
  it('writes exactly size bytes, big-endian, and refuses values that do not fit', () => {
    expect(extranonce2Hex(1n, 4)).toBe('00000001');
    expect(extranonce2Hex(0x0102n, 2)).toBe('0102');
    expect(extranonce2Hex(0n, 0)).toBe('');
    expect(extranonce2Space(2)).toBe(65536n);
    expect(() => extranonce2Hex(256n, 1)).toThrow(/does not fit/);
    expect(() => extranonce2Hex(-1n, 4)).toThrow(/negative/);
    expect(() => extranonce2Space(-1)).toThrow(/extranonce2_size/);
  });
});
