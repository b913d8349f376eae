// Finds a valid share for a WorkSet by brute force with node:crypto, assembling the header by hand from the
// rules in reference/stratum.md. Deliberately a second implementation: the scripted pool verifies with bitcoinjs.
import type { WorkSet } from '../../src/stratum/pool-manager.js';
import type { Share } from '../../src/stratum/messages.js';
import { shareTargetFor } from './pool-share-check.js';
import { nodeSha256d } from './node-sha256d.js';


function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function headerFor(work: WorkSet, extranonce2: string, nonce: number, version: number): Buffer {
  const coinbase = Buffer.from(work.job.coinb1 + work.extranonce1 + extranonce2 + work.job.coinb2, 'hex');
  let root = nodeSha256d(coinbase);
  for (const b of work.job.merkleBranch) root = nodeSha256d(Buffer.concat([root, Buffer.from(b, 'hex')]));
  const prev = Buffer.from(work.job.prevHash, 'hex');
  for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse();
  return Buffer.concat([le32(version), prev, root, le32(work.job.ntime), le32(work.job.nbits), le32(nonce)]);
}

/**
 * Searches nonces from `startNonce` for a hash at or below `target` (default: the work's share target, or a
 * harder one to produce a low-difficulty share). Returns the share and its hash value, or throws after maxTries.
 */
export function findShare(
  work: WorkSet,
  opts: { extranonce2?: string; startNonce?: number; maxTries?: number; target?: bigint; versionBits?: number; above?: bigint } = {},
): { share: Share; hashValue: bigint } {
  const extranonce2 = opts.extranonce2 ?? '00'.repeat(work.extranonce2Size);
  const target = opts.target ?? shareTargetFor(work.difficulty);
  const maxTries = opts.maxTries ?? 200_000;
  let version = work.job.version;
  if (opts.versionBits !== undefined) version = ((version & ~work.versionMask) | (opts.versionBits & work.versionMask)) >>> 0;
  for (let i = 0; i < maxTries; i++) {
    const nonce = ((opts.startNonce ?? 0) + i) >>> 0;
    const hash = nodeSha256d(headerFor(work, extranonce2, nonce, version));
    const value = BigInt('0x' + Buffer.from(hash).reverse().toString('hex'));
    const wanted = opts.above !== undefined ? value > opts.above && value <= target : value <= target;
    if (wanted) {
      const share: Share = {
        jobId: work.job.jobId,
        extranonce2,
        ntime: work.job.ntimeHex,
        nonce: nonce.toString(16).padStart(8, '0'),
      };
      if (opts.versionBits !== undefined) share.versionBits = (opts.versionBits & work.versionMask).toString(16).padStart(8, '0');
      return { share, hashValue: value };
    }
  }
  throw new Error(`no share found in ${maxTries} nonces`);
}
