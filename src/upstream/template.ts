// getblocktemplate -> a Stratum job the miner server can hand out like a pool job, and back: a solved header plus
// its coinbase -> the full block for submitblock. Everything a node sends is validated here, so a broken reply is
// a clear error instead of a block the network rejects.
import { sha256d } from '../bitcoin/hash.js';
import { internalPrevHashToStratum } from '../bitcoin/header.js';
import { hexToBytes, reversed, uint32ToBeHex } from '../bitcoin/hex.js';
import { coinbaseMerkleBranch, merkleRootFromBranch } from '../bitcoin/merkle.js';
import { serializeBlock } from '../bitcoin/block.js';
import { nbitsToTarget, hexToTarget, targetToDifficulty } from '../bitcoin/target.js';
import {
  buildCoinbaseTemplate,
  coinbaseWithWitness,
  witnessCommitmentScript,
} from '../bitcoin/transaction.js';
import type { StratumJobFields } from './types.js';

/** What we ask getblocktemplate for (BIP 22/23 + BIP 9 segwit rule). */
export const TEMPLATE_REQUEST = {
  rules: ['segwit'],
  capabilities: ['coinbasetxn', 'workid', 'longpoll'],
} as const;

export interface TemplateTransaction {
  /** Raw transaction as the block carries it (with witness when it has one). */
  data: Buffer;
  /** txid, internal byte order (what the merkle tree hashes). */
  txid: Buffer;
  /** wtxid, internal byte order (what the witness merkle tree hashes). */
  wtxid: Buffer;
  hasWitness: boolean;
}

export interface BlockTemplate {
  version: number;
  /** Display hex, as the node sends it (and getbestblockhash returns). */
  previousBlockHash: string;
  height: number;
  bits: number;
  /** Network target (from `bits`; the template's `target` is checked against it). */
  target: bigint;
  curtime: number;
  mintime: number | null;
  coinbaseValue: bigint;
  transactions: TemplateTransaction[];
  /** Output script of the witness commitment the node proposes (BIP 141), if any. */
  defaultWitnessCommitment: Buffer | null;
  longpollId: string | null;
  workId: string | null;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function field(raw: Record<string, unknown>, name: string): unknown {
  if (!(name in raw) || raw[name] === null || raw[name] === undefined) {
    throw new Error(`getblocktemplate: missing field "${name}"`);
  }
  return raw[name];
}

function uint32Field(raw: Record<string, unknown>, name: string): number {
  const v = field(raw, name);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new Error(`getblocktemplate: "${name}" must be a uint32, got ${JSON.stringify(v)}`);
  }
  return v;
}

function hashField(value: unknown, what: string): string {
  if (typeof value !== 'string' || !HEX64.test(value)) {
    throw new Error(`getblocktemplate: ${what} must be 64 hex digits, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return value.toLowerCase();
}

function parseTransaction(raw: unknown, index: number): TemplateTransaction {
  const what = `transactions[${index}]`;
  if (raw === null || typeof raw !== 'object') throw new Error(`getblocktemplate: ${what} is not an object`);
  const t = raw as Record<string, unknown>;
  const data = hexToBytes(t.data, `getblocktemplate: ${what}.data`);
  if (data.length < 60) throw new Error(`getblocktemplate: ${what}.data is too short for a transaction (${data.length} bytes)`);
  const txidHex = hashField(t.txid, `${what}.txid`);
  // "hash" is the wtxid (equal to the txid without witness); very old nodes omit it.
  const wtxidHex = t.hash === undefined ? txidHex : hashField(t.hash, `${what}.hash`);
  const wtxid = reversed(Buffer.from(wtxidHex, 'hex'));
  if (!sha256d(data).equals(wtxid)) {
    throw new Error(`getblocktemplate: ${what}: data does not hash to its ${t.hash === undefined ? 'txid' : 'hash (wtxid)'} ${wtxidHex}`);
  }
  return { data, txid: reversed(Buffer.from(txidHex, 'hex')), wtxid, hasWitness: wtxidHex !== txidHex };
}

/** Validates a getblocktemplate result. */
export function parseBlockTemplate(raw: unknown): BlockTemplate {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error('getblocktemplate: result is not an object');
  }
  const r = raw as Record<string, unknown>;
  const version = uint32Field(r, 'version');
  const previousBlockHash = hashField(field(r, 'previousblockhash'), 'previousblockhash');
  const height = field(r, 'height');
  if (typeof height !== 'number' || !Number.isInteger(height) || height < 1 || height > 0x7fffffff) {
    throw new Error(`getblocktemplate: "height" must be a positive integer, got ${JSON.stringify(height)}`);
  }
  const bitsHex = field(r, 'bits');
  if (typeof bitsHex !== 'string' || !/^[0-9a-fA-F]{8}$/.test(bitsHex)) {
    throw new Error(`getblocktemplate: "bits" must be 8 hex digits, got ${JSON.stringify(bitsHex)}`);
  }
  const bits = parseInt(bitsHex, 16);
  const target = nbitsToTarget(bits);
  if (target === 0n) throw new Error(`getblocktemplate: bits ${bitsHex} give a zero target`);
  if (r.target !== undefined && hexToTarget(r.target as string) !== target) {
    throw new Error(`getblocktemplate: "target" ${String(r.target)} does not match bits ${bitsHex}`);
  }
  const curtime = uint32Field(r, 'curtime');
  const mintime = r.mintime === undefined ? null : uint32Field(r, 'mintime');
  const cbv = r.coinbasevalue;
  if (cbv === undefined) {
    throw new Error('getblocktemplate: no "coinbasevalue" (templates with only coinbasetxn are not supported)');
  }
  if (typeof cbv !== 'number' || !Number.isSafeInteger(cbv) || cbv < 0 || cbv > 21e14) {
    throw new Error(`getblocktemplate: "coinbasevalue" must be satoshis (0..21e14), got ${JSON.stringify(cbv)}`);
  }
  const txs = field(r, 'transactions');
  if (!Array.isArray(txs)) throw new Error('getblocktemplate: "transactions" is not an array');
  const transactions = txs.map(parseTransaction);
  let defaultWitnessCommitment: Buffer | null = null;
  if (r.default_witness_commitment !== undefined) {
    defaultWitnessCommitment = hexToBytes(r.default_witness_commitment, 'getblocktemplate: default_witness_commitment');
    if (defaultWitnessCommitment.length < 38 || !defaultWitnessCommitment.subarray(0, 6).equals(Buffer.from('6a24aa21a9ed', 'hex'))) {
      throw new Error('getblocktemplate: default_witness_commitment is not an OP_RETURN aa21a9ed commitment script');
    }
  }
  const longpollId = typeof r.longpollid === 'string' && r.longpollid.length > 0 ? r.longpollid : null;
  const workId = typeof r.workid === 'string' ? r.workid : null;
  return {
    version,
    previousBlockHash,
    height,
    bits,
    target,
    curtime,
    mintime,
    coinbaseValue: BigInt(cbv),
    transactions,
    defaultWitnessCommitment,
    longpollId,
    workId,
  };
}

/** True when two templates are for the same block contents (same tip, same transactions, same reward). */
export function sameTemplateContents(a: BlockTemplate, b: BlockTemplate): boolean {
  return (
    a.previousBlockHash === b.previousBlockHash &&
    a.coinbaseValue === b.coinbaseValue &&
    a.bits === b.bits &&
    a.version === b.version &&
    a.transactions.length === b.transactions.length &&
    a.transactions.every((t, i) => t.wtxid.equals(b.transactions[i]!.wtxid))
  );
}

export interface SoloWorkOptions {
  jobId: string;
  /** Payout output script (from the --payout address). */
  payoutScript: Uint8Array;
  /** extranonce1 + extranonce2 bytes reserved in the coinbase scriptSig. */
  extranonceSize: number;
  /** Text after the extranonce in the scriptSig ("/mesos-miner/"). */
  tag?: Uint8Array;
  /** Version bits miners may roll (BIP 310/320). */
  versionMask: number;
}

/** A job built from a template, with what is needed to turn a solution into a block. */
export interface SoloWork {
  template: BlockTemplate;
  fields: StratumJobFields;
  /** Whether the coinbase carries the witness commitment (then the block's coinbase needs the reserved value). */
  witnessCommitment: Buffer | null;
  target: bigint;
  difficulty: number;
  versionMask: number;
}

/**
 * The Stratum job for a template: coinbase split around the extranonce (BIP 34 height first), payout of the full
 * coinbase value, the witness commitment when a transaction has witness data, the merkle branch from the txids.
 */
export function buildSoloWork(template: BlockTemplate, opts: SoloWorkOptions): SoloWork {
  const anyWitness = template.transactions.some((t) => t.hasWitness);
  let witnessCommitment: Buffer | null = null;
  if (anyWitness) {
    // The node's commitment is authoritative; compute one only when an old node leaves it out.
    witnessCommitment = template.defaultWitnessCommitment ?? witnessCommitmentScript(template.transactions.map((t) => t.wtxid));
  }
  const coinbase = buildCoinbaseTemplate({
    height: template.height,
    outputs: [{ script: opts.payoutScript, value: template.coinbaseValue }],
    extranonceSize: opts.extranonceSize,
    ...(opts.tag ? { tag: opts.tag } : {}),
    ...(witnessCommitment ? { witnessCommitmentScript: witnessCommitment } : {}),
  });
  const branch = coinbaseMerkleBranch(template.transactions.map((t) => t.txid));
  const fields: StratumJobFields = {
    jobId: opts.jobId,
    prevhash: internalPrevHashToStratum(reversed(Buffer.from(template.previousBlockHash, 'hex'))),
    coinb1: coinbase.coinb1,
    coinb2: coinbase.coinb2,
    merkleBranch: branch.map((b) => b.toString('hex')),
    version: uint32ToBeHex(template.version, 'template version'),
    nbits: uint32ToBeHex(template.bits, 'template bits'),
    ntime: uint32ToBeHex(template.curtime, 'template curtime'),
  };
  return {
    template,
    fields,
    witnessCommitment,
    target: template.target,
    difficulty: targetToDifficulty(template.target),
    versionMask: opts.versionMask,
  };
}

/**
 * Checks that `header` and `coinbase` really are a solution of `work` (coinbase = coinb1 ‖ extranonce ‖ coinb2,
 * merkle root and prevhash in the header, hash at or below the network target) and returns the block's hash
 * (internal order). Throws with the reason otherwise.
 */
export function verifySolution(work: SoloWork, header: Uint8Array, coinbase: Uint8Array, extranonce: Uint8Array): Buffer {
  if (header.length !== 80) throw new Error(`header must be 80 bytes, got ${header.length}`);
  const expected = Buffer.concat([
    Buffer.from(work.fields.coinb1, 'hex'),
    extranonce,
    Buffer.from(work.fields.coinb2, 'hex'),
  ]);
  if (!expected.equals(Buffer.from(coinbase))) throw new Error('coinbase does not match the job (coinb1 ‖ extranonce ‖ coinb2)');
  const h = Buffer.from(header);
  const prev = reversed(Buffer.from(work.template.previousBlockHash, 'hex'));
  if (!h.subarray(4, 36).equals(prev)) throw new Error('header prevhash is not the template tip');
  const root = merkleRootFromBranch(sha256d(expected), work.fields.merkleBranch.map((b) => Buffer.from(b, 'hex')));
  if (!h.subarray(36, 68).equals(root)) throw new Error('header merkle root does not match the coinbase and transactions');
  if (h.readUInt32LE(72) !== work.template.bits) throw new Error('header bits are not the template bits');
  const keep = ~work.versionMask >>> 0;
  if (((h.readUInt32LE(0) & keep) >>> 0) !== ((work.template.version & keep) >>> 0)) {
    throw new Error('header version differs from the template outside the version-rolling mask');
  }
  const hash = sha256d(h);
  const value = BigInt('0x' + reversed(hash).toString('hex'));
  if (value > work.target) throw new Error('high-hash: the share does not meet the network target');
  return hash;
}

/** header ‖ txcount ‖ coinbase (segwit form when committed) ‖ template transactions in order. */
export function assembleSoloBlock(work: SoloWork, header: Uint8Array, coinbase: Uint8Array): Buffer {
  const cb = work.witnessCommitment ? coinbaseWithWitness(coinbase) : Buffer.from(coinbase);
  return serializeBlock(header, [cb, ...work.template.transactions.map((t) => t.data)]);
}
