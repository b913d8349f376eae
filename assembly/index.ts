// Mining kernel entry. One source, three builds (asconfig.json targets), told apart by the compile-time
// constant KERNEL_LANES (`use` in asconfig.json): 1 nonce per step (scalar, no SIMD), 4 in i32x4 lanes
// (simd), or 8 as two i32x4 groups side by side (simd8: V8's revectorizer packs them into 256-bit AVX2
// operations on newer Node; without it the pairs run as 128-bit operations).
//
// Protocol with the host (src/kernel/wasm.ts):
//   1. write the 80-byte header at headerPtr() (nonce field ignored), call setJob(targetTopWord);
//   2. call scan(startNonce, count) -> n candidates, their nonces are the u32 at candidatesPtr();
//      scannedCount() says how many nonces of the range were hashed (less than count only when the
//      candidate buffer filled up: the host drains it and continues from start + scannedCount()).
// A candidate is a nonce whose hash's most significant 32 bits (as a little-endian uint256) are <= the
// target's top word; the host confirms each against the full 256-bit target.
import { precomputeJob, lastWordScalar, lastWordSimd, lastWordsSimd8 } from './generated';
import { compress, initState, sha256Into } from './sha256';

const CANDIDATE_CAPACITY: u32 = 1024;
const HEADER: usize = memory.data(80, 16);
const MIDSTATE: usize = memory.data(32, 16);
const HASH_STATE: usize = memory.data(32, 16);
const DIGEST: usize = memory.data(32, 16);
const CANDIDATES: usize = memory.data(CANDIDATE_CAPACITY * 4, 16);
const MERKLE_PAIR: usize = memory.data(64, 16);

let targetTop: u32 = 0;
let lastScanned: u32 = 0;

// Where the simd8 build's two groups leave their H7 words, side by side (the revectorizer's seed). The
// stores go through a variable, not a constant address: V8 12 pairs stores by a shared base.
const H7_PAIR: usize = memory.data(32, 32);
let h7Out: usize = H7_PAIR;

export function kernelLanes(): i32 {
  return KERNEL_LANES;
}
export function headerPtr(): usize {
  return HEADER;
}
export function candidatesPtr(): usize {
  return CANDIDATES;
}
export function candidateCapacity(): u32 {
  return CANDIDATE_CAPACITY;
}
export function digestPtr(): usize {
  return DIGEST;
}
/** Free memory past the static data, for sha256() inputs; the host grows memory as needed. */
export function scratchPtr(): usize {
  return (__heap_base + 15) & ~<usize>15;
}
export function scannedCount(): u32 {
  return lastScanned;
}

/** New job from the header at headerPtr(): midstate of bytes 0..63, then all nonce-independent work. */
export function setJob(targetTopWord: u32): void {
  initState(MIDSTATE);
  compress(MIDSTATE, HEADER);
  precomputeJob(
    load<u32>(MIDSTATE, 0), load<u32>(MIDSTATE, 4), load<u32>(MIDSTATE, 8), load<u32>(MIDSTATE, 12),
    load<u32>(MIDSTATE, 16), load<u32>(MIDSTATE, 20), load<u32>(MIDSTATE, 24), load<u32>(MIDSTATE, 28),
    bswap<u32>(load<u32>(HEADER, 64)), bswap<u32>(load<u32>(HEADER, 68)), bswap<u32>(load<u32>(HEADER, 72)),
  );
  targetTop = targetTopWord;
}

/** Hashes nonces [start, start + count) (count <= 2^31, no wrap past 2^32-1); returns the candidate count. */
export function scan(start: u32, count: u32): u32 {
  if (KERNEL_LANES == 8) return scanSimd8(start, count);
  if (KERNEL_LANES == 4) return scanSimd(start, count);
  return scanScalar(start, count);
}

function scanScalar(start: u32, count: u32): u32 {
  const top = targetTop;
  let found: u32 = 0;
  let done: u32 = 0;
  while (done < count) {
    const nonce = start + done;
    // The nonce field is little-endian in the header, SHA-256 reads big-endian words: word 3 = bswap.
    const h7 = lastWordScalar(bswap<u32>(nonce));
    done++;
    // bswap(H7) = the hash's top 32 bits as a little-endian uint256.
    if (bswap<u32>(h7) <= top) {
      store<u32>(CANDIDATES + (<usize>found << 2), nonce);
      found++;
      if (found == CANDIDATE_CAPACITY) break;
    }
  }
  lastScanned = done;
  return found;
}

function scanSimd(start: u32, count: u32): u32 {
  const topLanes = i32x4.splat(targetTop);
  let nonces = i32x4.add(i32x4.splat(start), i32x4(0, 1, 2, 3));
  let found: u32 = 0;
  let done: u32 = 0;
  while (done < count) {
    const h7 = lastWordSimd(i8x16.shuffle(nonces, nonces, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
    const top32 = i8x16.shuffle(h7, h7, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    if (v128.any_true(i32x4.le_u(top32, topLanes))) {
      found = recordLanes(top32, start + done, count - done, found);
    }
    nonces = i32x4.add(nonces, i32x4(4, 4, 4, 4));
    done += 4;
    // Stop while a whole step still fits: a candidate is never dropped.
    if (found > CANDIDATE_CAPACITY - 4) break;
  }
  lastScanned = done < count ? done : count;
  return found;
}

// Rare path: which of the 4 lanes passed, in nonce order; lanes past the end of the range are ignored.
function recordLanes(top32: v128, firstNonce: u32, remaining: u32, found: u32): u32 {
  const top = targetTop;
  if (remaining > 0 && <u32>i32x4.extract_lane(top32, 0) <= top) { store<u32>(CANDIDATES + (<usize>found << 2), firstNonce); found++; }
  if (remaining > 1 && <u32>i32x4.extract_lane(top32, 1) <= top) { store<u32>(CANDIDATES + (<usize>found << 2), firstNonce + 1); found++; }
  if (remaining > 2 && <u32>i32x4.extract_lane(top32, 2) <= top) { store<u32>(CANDIDATES + (<usize>found << 2), firstNonce + 2); found++; }
  if (remaining > 3 && <u32>i32x4.extract_lane(top32, 3) <= top) { store<u32>(CANDIDATES + (<usize>found << 2), firstNonce + 3); found++; }
  return found;
}

// Steps of 8 nonces from base = start rounded down to a multiple of 8 (so the lanes' nonce words are one
// splat or'ed with constants); lanes outside [start, start + count) are hashed but never reported.
function scanSimd8(start: u32, count: u32): u32 {
  const topLanes = i32x4.splat(targetTop);
  const end: u64 = <u64>start + count;
  let base: u64 = start & ~7;
  let found: u32 = 0;
  while (base < end) {
    // Lane k's nonce word: bswap(base + k) = bswap(base) | k << 24, as base is a multiple of 8.
    const high = i32x4.splat(bswap<u32>(<u32>base));
    lastWordsSimd8(v128.or(high, i32x4(0, 1 << 24, 2 << 24, 3 << 24)), v128.or(high, i32x4(4 << 24, 5 << 24, 6 << 24, 7 << 24)), h7Out);
    const h7a = v128.load(H7_PAIR);
    const h7b = v128.load(H7_PAIR, 16);
    const topA = i8x16.shuffle(h7a, h7a, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    const topB = i8x16.shuffle(h7b, h7b, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    if (v128.any_true(v128.or(i32x4.le_u(topA, topLanes), i32x4.le_u(topB, topLanes)))) {
      found = recordLanes8(<u32>base, start, end, found);
    }
    base += 8;
    if (found > CANDIDATE_CAPACITY - 8) break;
  }
  lastScanned = <u32>((base < end ? base : end) - start);
  return found;
}

// Rare path: the lanes of H7_PAIR that passed, in nonce order, inside [start, end).
function recordLanes8(base: u32, start: u32, end: u64, found: u32): u32 {
  const top = targetTop;
  for (let k: u32 = 0; k < 8; k++) {
    const nonce = base + k;
    if (nonce < start || <u64>nonce >= end) continue;
    if (bswap<u32>(load<u32>(H7_PAIR + (<usize>k << 2))) <= top) {
      store<u32>(CANDIDATES + (<usize>found << 2), nonce);
      found++;
    }
  }
  return found;
}

/** SHA-256 of len bytes at ptr into digestPtr() (for known-answer tests of the compression). */
export function sha256(ptr: usize, len: usize): void {
  sha256Into(ptr, len, HASH_STATE, DIGEST);
}

/**
 * SHA-256d (Bitcoin's double SHA-256) of len bytes at ptr into digestPtr(): the first digest is hashed again
 * where it lies, without a round trip through the host. Used by the miner server's share checks.
 */
export function sha256d(ptr: usize, len: usize): void {
  sha256Into(ptr, len, HASH_STATE, DIGEST);
  // sha256Into copies its (32-byte) input into the padding block before writing the digest: in place is safe.
  sha256Into(DIGEST, 32, HASH_STATE, DIGEST);
}

/**
 * Merkle root of a coinbase through a merkle branch, for the miner server: `len` coinbase bytes at ptr, followed
 * in memory by `branches` 32-byte branch hashes. root = sha256d(coinbase), then root = sha256d(root || branch)
 * for each; the root goes to digestPtr(). One call per share instead of one per tree level.
 */
export function merkleRoot(ptr: usize, len: usize, branches: u32): void {
  sha256d(ptr, len);
  const branchBase = ptr + len;
  for (let i: usize = 0; i < <usize>branches; i++) {
    memory.copy(MERKLE_PAIR, DIGEST, 32);
    memory.copy(MERKLE_PAIR + 32, branchBase + (i << 5), 32);
    sha256d(MERKLE_PAIR, 64);
  }
}
