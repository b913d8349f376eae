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

/**
 * The difficulty a hash achieves (difficulty-1 target / hash, "share difficulty" in pool logs), from the hash's two
 * most significant non-zero 32-bit words: double precision, no BigInt and no allocation, cheap enough for every share.
 */
export function leHashDifficulty(hash: Uint8Array): number {
  let w = 7;
  while (w > 0 && leWord(hash, w) === 0) w--;
  const top = leWord(hash, w) * 2 ** 32 + (w > 0 ? leWord(hash, w - 1) : 0);
  if (top === 0) return Infinity;
  // hash ~= top * 2^(32(w-1)); the difficulty-1 target is 0xffff * 2^208.
  return (0xffff * 2 ** (208 - 32 * (w - 1))) / top;
}

/** 32-bit word `i` of a little-endian 256-bit value. */
function leWord(bytes: Uint8Array, i: number): number {
  const o = i * 4;
  return (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
}
