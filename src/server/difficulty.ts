// Fast "hash meets target" on raw digests for the share hot path (no BigInt per share). Target <-> difficulty
// conversions live in src/bitcoin/target.ts.
import { MAX_TARGET } from '../bitcoin/target.js';

/** The target as 32 little-endian bytes, the byte order of a raw sha256d digest. */
export function targetToLeBytes(target: bigint): Buffer {
  if (target < 0n || target > MAX_TARGET) throw new Error(`target out of range: ${target}`);
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex').reverse();
}

/** hash <= target, both 32 bytes little-endian; compares from the most significant byte. */
export function leHashMeetsTarget(hash: Uint8Array, targetLe: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const h = hash[i]!;
    const t = targetLe[i]!;
    if (h !== t) return h < t;
  }
  return true;
}
