// Plain SHA-256 over linear memory: used once per job for the header midstate, and exported so the
// tests can check this module's compression against NIST vectors. Not on the per-nonce path.
import { K_TABLE, IV_TABLE } from './generated';
import { compressUnrolled } from './sha256-unrolled';

// 64-word message schedule and a 128-byte block for the final padding.
const SCHEDULE: usize = memory.data(64 * 4, 16);
const LAST_BLOCKS: usize = memory.data(128, 16);

// @ts-ignore: decorator
@inline function readWordBE(ptr: usize): u32 {
  return bswap<u32>(load<u32>(ptr));
}

/** One SHA-256 compression of the 64-byte block at blockPtr into the 8-word state at statePtr. */
export function compress(statePtr: usize, blockPtr: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(SCHEDULE + (t << 2), readWordBE(blockPtr + (t << 2)));
  for (let t: usize = 16; t < 64; t++) {
    const w15 = load<u32>(SCHEDULE + ((t - 15) << 2));
    const w2 = load<u32>(SCHEDULE + ((t - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(SCHEDULE + (t << 2), s1 + load<u32>(SCHEDULE + ((t - 7) << 2)) + s0 + load<u32>(SCHEDULE + ((t - 16) << 2)));
  }
  let a = load<u32>(statePtr, 0), b = load<u32>(statePtr, 4), c = load<u32>(statePtr, 8), d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16), f = load<u32>(statePtr, 20), g = load<u32>(statePtr, 24), h = load<u32>(statePtr, 28);
  for (let t: usize = 0; t < 64; t++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g))) +
      load<u32>(K_TABLE + (t << 2)) + load<u32>(SCHEDULE + (t << 2));
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(statePtr, load<u32>(statePtr, 0) + a, 0);
  store<u32>(statePtr, load<u32>(statePtr, 4) + b, 4);
  store<u32>(statePtr, load<u32>(statePtr, 8) + c, 8);
  store<u32>(statePtr, load<u32>(statePtr, 12) + d, 12);
  store<u32>(statePtr, load<u32>(statePtr, 16) + e, 16);
  store<u32>(statePtr, load<u32>(statePtr, 20) + f, 20);
  store<u32>(statePtr, load<u32>(statePtr, 24) + g, 24);
  store<u32>(statePtr, load<u32>(statePtr, 28) + h, 28);
}

export function initState(statePtr: usize): void {
  memory.copy(statePtr, IV_TABLE, 32);
}

/** SHA-256 of len bytes at dataPtr; the 32-byte digest goes to outPtr (8-word scratch state at statePtr). */
export function sha256Into(dataPtr: usize, len: usize, statePtr: usize, outPtr: usize): void {
  initState(statePtr);
  let offset: usize = 0;
  for (; offset + 64 <= len; offset += 64) compressUnrolled(statePtr, dataPtr + offset);
  const rest = len - offset;
  memory.fill(LAST_BLOCKS, 0, 128);
  memory.copy(LAST_BLOCKS, dataPtr + offset, rest);
  store<u8>(LAST_BLOCKS + rest, 0x80);
  const blocks: usize = rest + 9 <= 64 ? 1 : 2;
  // Message length in bits, big-endian, in the last 8 bytes (lengths here stay below 2^32 bytes).
  const bits = <u64>len << 3;
  store<u64>(LAST_BLOCKS + blocks * 64 - 8, bswap<u64>(bits));
  for (let i: usize = 0; i < blocks; i++) compressUnrolled(statePtr, LAST_BLOCKS + i * 64);
  for (let i: usize = 0; i < 8; i++) store<u32>(outPtr + (i << 2), bswap<u32>(load<u32>(statePtr + (i << 2))));
}
