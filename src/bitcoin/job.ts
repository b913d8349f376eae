// From a Stratum job plus extranonces to the 80-byte header: coinbase -> merkle root -> header.
// The validating parser of mining.notify lives in src/stratum/messages.ts; this module only needs the fields
// below, so any object with them (the parsed StratumJob included) will do.
import { assembleCoinbase } from './coinbase.js';
import { sha256d } from './hash.js';
import { stratumJobHeader, type StratumHeaderJob } from './header.js';
import { hexToBytes } from './hex.js';
import { merkleRootFromBranch } from './merkle.js';

export interface StratumWorkJob extends StratumHeaderJob {
  jobId: string;
  coinb1: string;
  coinb2: string;
  /** 32-byte hashes as hex, raw order as sent. */
  merkleBranch: readonly string[];
}

export interface Extranonces {
  extranonce1: string;
  extranonce2: string;
  extranonce2Size: number;
}

export interface JobHeader {
  coinbase: Buffer;
  /** sha256d(coinbase): the coinbase txid in internal byte order. */
  coinbaseHash: Buffer;
  merkleRoot: Buffer;
  header: Buffer;
}

export function decodeMerkleBranch(branch: readonly string[]): Buffer[] {
  if (!Array.isArray(branch)) throw new Error('merkle branch must be an array of hex hashes');
  return branch.map((b, i) => hexToBytes(b, `merkle branch[${i}]`, 32));
}

export function buildJobHeader(
  job: StratumWorkJob,
  extranonces: Extranonces,
  opts: { version?: number; nonce?: number; ntime?: number } = {},
): JobHeader {
  const coinbase = assembleCoinbase({
    coinb1: job.coinb1,
    extranonce1: extranonces.extranonce1,
    extranonce2: extranonces.extranonce2,
    extranonce2Size: extranonces.extranonce2Size,
    coinb2: job.coinb2,
  });
  const coinbaseHash = sha256d(coinbase);
  const merkleRoot = merkleRootFromBranch(coinbaseHash, decodeMerkleBranch(job.merkleBranch));
  const header = stratumJobHeader(job, merkleRoot, opts);
  return { coinbase, coinbaseHash, merkleRoot, header };
}
