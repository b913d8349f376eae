// Coinbase transactions for solo mining: a Stratum template (coinb1/coinb2 around the extranonce) and the
// witness form that goes into a submitted block, plus the BIP 141 witness commitment.
import { sha256d } from './hash.js';
import { merkleRoot } from './merkle.js';
import { bip34HeightPush, pushData } from './script.js';
import { encodeVarint } from './varint.js';

export interface TxOutput {
  script: Uint8Array;
  /** Satoshis. */
  value: bigint;
}

export interface CoinbaseTemplateOptions {
  height: number;
  outputs: readonly TxOutput[];
  /** Bytes reserved for extranonce1 + extranonce2 inside the scriptSig. */
  extranonceSize: number;
  /** Free text after the extranonce ("/mesos-miner/"). */
  tag?: Uint8Array;
  /** Output script of the witness commitment (getblocktemplate's default_witness_commitment), if any. */
  witnessCommitmentScript?: Uint8Array;
  version?: number;
  locktime?: number;
}

export interface CoinbaseTemplate {
  coinb1: string;
  coinb2: string;
  extranonceSize: number;
}

const MAX_SCRIPTSIG = 100;
const MAX_MONEY = 21_000_000n * 100_000_000n;

function serializeOutputs(outputs: readonly TxOutput[]): Buffer {
  const parts: Buffer[] = [encodeVarint(outputs.length)];
  outputs.forEach((out, i) => {
    if (out.value < 0n || out.value > MAX_MONEY) throw new Error(`coinbase output ${i}: value out of range ${out.value}`);
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(out.value);
    parts.push(value, encodeVarint(out.script.length), Buffer.from(out.script));
  });
  return Buffer.concat(parts);
}

/**
 * The coinbase split around its extranonce: scriptSig = <BIP 34 height> <push extranonceSize bytes> [<tag>], so
 * coinb1 ends with the push opcode and coinb2 starts right after the extranonce bytes.
 */
export function buildCoinbaseTemplate(opts: CoinbaseTemplateOptions): CoinbaseTemplate {
  const { extranonceSize } = opts;
  if (!Number.isInteger(extranonceSize) || extranonceSize < 1 || extranonceSize > 75) {
    throw new Error(`coinbase extranonce size must be 1..75 bytes, got ${extranonceSize}`);
  }
  if (opts.outputs.length === 0) throw new Error('coinbase needs at least one output');
  const height = bip34HeightPush(opts.height);
  const tag = opts.tag && opts.tag.length > 0 ? pushData(opts.tag) : Buffer.alloc(0);
  const scriptSigLength = height.length + 1 + extranonceSize + tag.length;
  // Consensus: a coinbase scriptSig is 2..100 bytes.
  if (scriptSigLength > MAX_SCRIPTSIG) {
    throw new Error(`coinbase scriptSig would be ${scriptSigLength} bytes (max ${MAX_SCRIPTSIG}); shorten the tag`);
  }
  const version = Buffer.alloc(4);
  version.writeUInt32LE(opts.version ?? 2);
  const locktime = Buffer.alloc(4);
  locktime.writeUInt32LE(opts.locktime ?? 0);
  const outputs = [...opts.outputs];
  if (opts.witnessCommitmentScript) outputs.push({ script: opts.witnessCommitmentScript, value: 0n });

  const coinb1 = Buffer.concat([
    version,
    Buffer.from([1]), // one input: the null prevout
    Buffer.alloc(32),
    Buffer.from('ffffffff', 'hex'),
    encodeVarint(scriptSigLength),
    height,
    Buffer.from([extranonceSize]), // direct push of the extranonce bytes
  ]);
  const coinb2 = Buffer.concat([tag, Buffer.from('ffffffff', 'hex'), serializeOutputs(outputs), locktime]);
  return { coinb1: coinb1.toString('hex'), coinb2: coinb2.toString('hex'), extranonceSize };
}

/** BIP 141: the coinbase witness is one 32-byte item, the witness reserved value (all zeros here). */
export const WITNESS_RESERVED_VALUE = Buffer.alloc(32);

/**
 * The segwit serialization of a (non-witness) coinbase: marker and flag after the version, the reserved value
 * as the input's witness before the locktime. Blocks with a witness commitment must carry this form.
 */
export function coinbaseWithWitness(coinbase: Uint8Array): Buffer {
  const b = Buffer.from(coinbase);
  if (b.length < 60 || b[4] !== 1) throw new Error('not a one-input (coinbase) transaction without witness');
  return Buffer.concat([
    b.subarray(0, 4),
    Buffer.from([0x00, 0x01]),
    b.subarray(4, b.length - 4),
    Buffer.from([1, WITNESS_RESERVED_VALUE.length]),
    WITNESS_RESERVED_VALUE,
    b.subarray(b.length - 4),
  ]);
}

/**
 * The witness commitment output script for a block whose non-coinbase transactions have these wtxids
 * (internal byte order): OP_RETURN <0xaa21a9ed || sha256d(witness merkle root || reserved value)>.
 */
export function witnessCommitmentScript(otherWtxids: readonly Uint8Array[]): Buffer {
  const root = merkleRoot([Buffer.alloc(32), ...otherWtxids]);
  const commitment = sha256d(Buffer.concat([root, WITNESS_RESERVED_VALUE]));
  return Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment]);
}
