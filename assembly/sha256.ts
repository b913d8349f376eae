// SHA-256 over linear memory, not on the per-nonce path: the header midstate once per job (setJob), and the
// miner server's share checks (coinbase, merkle pairs, header: about 40 compressions per share with a new
// extranonce2). The compression is written out round by round: state and a 16-word message ring in locals (no
// schedule array, no loop), the roles of a..h rotating from round to round instead of moving values. Checked
// against NIST vectors and node:crypto by the kernel tests.
import { IV_TABLE } from './generated';

// A 128-byte block for the final padding.
const LAST_BLOCKS: usize = memory.data(128, 16);

// @ts-ignore: decorator
@inline function bigSigma0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
// @ts-ignore: decorator
@inline function bigSigma1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
// @ts-ignore: decorator
@inline function smallSigma0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
// @ts-ignore: decorator
@inline function smallSigma1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }
// @ts-ignore: decorator
@inline function choose(e: u32, f: u32, g: u32): u32 { return g ^ (e & (f ^ g)); }
// @ts-ignore: decorator
@inline function majority(a: u32, b: u32, c: u32): u32 { return (a & b) | (c & (a | b)); }

/** One SHA-256 compression of the 64-byte block at blockPtr into the 8-word state at statePtr. */
export function compress(statePtr: usize, blockPtr: usize): void {
  let w0 = bswap<u32>(load<u32>(blockPtr, 0));
  let w1 = bswap<u32>(load<u32>(blockPtr, 4));
  let w2 = bswap<u32>(load<u32>(blockPtr, 8));
  let w3 = bswap<u32>(load<u32>(blockPtr, 12));
  let w4 = bswap<u32>(load<u32>(blockPtr, 16));
  let w5 = bswap<u32>(load<u32>(blockPtr, 20));
  let w6 = bswap<u32>(load<u32>(blockPtr, 24));
  let w7 = bswap<u32>(load<u32>(blockPtr, 28));
  let w8 = bswap<u32>(load<u32>(blockPtr, 32));
  let w9 = bswap<u32>(load<u32>(blockPtr, 36));
  let w10 = bswap<u32>(load<u32>(blockPtr, 40));
  let w11 = bswap<u32>(load<u32>(blockPtr, 44));
  let w12 = bswap<u32>(load<u32>(blockPtr, 48));
  let w13 = bswap<u32>(load<u32>(blockPtr, 52));
  let w14 = bswap<u32>(load<u32>(blockPtr, 56));
  let w15 = bswap<u32>(load<u32>(blockPtr, 60));
  let a = load<u32>(statePtr, 0), b = load<u32>(statePtr, 4), c = load<u32>(statePtr, 8), d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16), f = load<u32>(statePtr, 20), g = load<u32>(statePtr, 24), h = load<u32>(statePtr, 28);
  let t: u32;
  t = h + bigSigma1(e) + choose(e, f, g) + 0x428a2f98 + w0; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  t = g + bigSigma1(d) + choose(d, e, f) + 0x71374491 + w1; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  t = f + bigSigma1(c) + choose(c, d, e) + 0xb5c0fbcf + w2; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  t = e + bigSigma1(b) + choose(b, c, d) + 0xe9b5dba5 + w3; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x3956c25b + w4; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  t = c + bigSigma1(h) + choose(h, a, b) + 0x59f111f1 + w5; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x923f82a4 + w6; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  t = a + bigSigma1(f) + choose(f, g, h) + 0xab1c5ed5 + w7; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  t = h + bigSigma1(e) + choose(e, f, g) + 0xd807aa98 + w8; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  t = g + bigSigma1(d) + choose(d, e, f) + 0x12835b01 + w9; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  t = f + bigSigma1(c) + choose(c, d, e) + 0x243185be + w10; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  t = e + bigSigma1(b) + choose(b, c, d) + 0x550c7dc3 + w11; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x72be5d74 + w12; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  t = c + bigSigma1(h) + choose(h, a, b) + 0x80deb1fe + w13; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x9bdc06a7 + w14; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  t = a + bigSigma1(f) + choose(f, g, h) + 0xc19bf174 + w15; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w0 += smallSigma1(w14) + w9 + smallSigma0(w1);
  t = h + bigSigma1(e) + choose(e, f, g) + 0xe49b69c1 + w0; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w1 += smallSigma1(w15) + w10 + smallSigma0(w2);
  t = g + bigSigma1(d) + choose(d, e, f) + 0xefbe4786 + w1; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w2 += smallSigma1(w0) + w11 + smallSigma0(w3);
  t = f + bigSigma1(c) + choose(c, d, e) + 0x0fc19dc6 + w2; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w3 += smallSigma1(w1) + w12 + smallSigma0(w4);
  t = e + bigSigma1(b) + choose(b, c, d) + 0x240ca1cc + w3; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w4 += smallSigma1(w2) + w13 + smallSigma0(w5);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x2de92c6f + w4; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w5 += smallSigma1(w3) + w14 + smallSigma0(w6);
  t = c + bigSigma1(h) + choose(h, a, b) + 0x4a7484aa + w5; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w6 += smallSigma1(w4) + w15 + smallSigma0(w7);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x5cb0a9dc + w6; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w7 += smallSigma1(w5) + w0 + smallSigma0(w8);
  t = a + bigSigma1(f) + choose(f, g, h) + 0x76f988da + w7; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w8 += smallSigma1(w6) + w1 + smallSigma0(w9);
  t = h + bigSigma1(e) + choose(e, f, g) + 0x983e5152 + w8; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w9 += smallSigma1(w7) + w2 + smallSigma0(w10);
  t = g + bigSigma1(d) + choose(d, e, f) + 0xa831c66d + w9; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w10 += smallSigma1(w8) + w3 + smallSigma0(w11);
  t = f + bigSigma1(c) + choose(c, d, e) + 0xb00327c8 + w10; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w11 += smallSigma1(w9) + w4 + smallSigma0(w12);
  t = e + bigSigma1(b) + choose(b, c, d) + 0xbf597fc7 + w11; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w12 += smallSigma1(w10) + w5 + smallSigma0(w13);
  t = d + bigSigma1(a) + choose(a, b, c) + 0xc6e00bf3 + w12; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w13 += smallSigma1(w11) + w6 + smallSigma0(w14);
  t = c + bigSigma1(h) + choose(h, a, b) + 0xd5a79147 + w13; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w14 += smallSigma1(w12) + w7 + smallSigma0(w15);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x06ca6351 + w14; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w15 += smallSigma1(w13) + w8 + smallSigma0(w0);
  t = a + bigSigma1(f) + choose(f, g, h) + 0x14292967 + w15; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w0 += smallSigma1(w14) + w9 + smallSigma0(w1);
  t = h + bigSigma1(e) + choose(e, f, g) + 0x27b70a85 + w0; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w1 += smallSigma1(w15) + w10 + smallSigma0(w2);
  t = g + bigSigma1(d) + choose(d, e, f) + 0x2e1b2138 + w1; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w2 += smallSigma1(w0) + w11 + smallSigma0(w3);
  t = f + bigSigma1(c) + choose(c, d, e) + 0x4d2c6dfc + w2; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w3 += smallSigma1(w1) + w12 + smallSigma0(w4);
  t = e + bigSigma1(b) + choose(b, c, d) + 0x53380d13 + w3; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w4 += smallSigma1(w2) + w13 + smallSigma0(w5);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x650a7354 + w4; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w5 += smallSigma1(w3) + w14 + smallSigma0(w6);
  t = c + bigSigma1(h) + choose(h, a, b) + 0x766a0abb + w5; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w6 += smallSigma1(w4) + w15 + smallSigma0(w7);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x81c2c92e + w6; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w7 += smallSigma1(w5) + w0 + smallSigma0(w8);
  t = a + bigSigma1(f) + choose(f, g, h) + 0x92722c85 + w7; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w8 += smallSigma1(w6) + w1 + smallSigma0(w9);
  t = h + bigSigma1(e) + choose(e, f, g) + 0xa2bfe8a1 + w8; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w9 += smallSigma1(w7) + w2 + smallSigma0(w10);
  t = g + bigSigma1(d) + choose(d, e, f) + 0xa81a664b + w9; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w10 += smallSigma1(w8) + w3 + smallSigma0(w11);
  t = f + bigSigma1(c) + choose(c, d, e) + 0xc24b8b70 + w10; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w11 += smallSigma1(w9) + w4 + smallSigma0(w12);
  t = e + bigSigma1(b) + choose(b, c, d) + 0xc76c51a3 + w11; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w12 += smallSigma1(w10) + w5 + smallSigma0(w13);
  t = d + bigSigma1(a) + choose(a, b, c) + 0xd192e819 + w12; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w13 += smallSigma1(w11) + w6 + smallSigma0(w14);
  t = c + bigSigma1(h) + choose(h, a, b) + 0xd6990624 + w13; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w14 += smallSigma1(w12) + w7 + smallSigma0(w15);
  t = b + bigSigma1(g) + choose(g, h, a) + 0xf40e3585 + w14; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w15 += smallSigma1(w13) + w8 + smallSigma0(w0);
  t = a + bigSigma1(f) + choose(f, g, h) + 0x106aa070 + w15; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w0 += smallSigma1(w14) + w9 + smallSigma0(w1);
  t = h + bigSigma1(e) + choose(e, f, g) + 0x19a4c116 + w0; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w1 += smallSigma1(w15) + w10 + smallSigma0(w2);
  t = g + bigSigma1(d) + choose(d, e, f) + 0x1e376c08 + w1; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w2 += smallSigma1(w0) + w11 + smallSigma0(w3);
  t = f + bigSigma1(c) + choose(c, d, e) + 0x2748774c + w2; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w3 += smallSigma1(w1) + w12 + smallSigma0(w4);
  t = e + bigSigma1(b) + choose(b, c, d) + 0x34b0bcb5 + w3; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w4 += smallSigma1(w2) + w13 + smallSigma0(w5);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x391c0cb3 + w4; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w5 += smallSigma1(w3) + w14 + smallSigma0(w6);
  t = c + bigSigma1(h) + choose(h, a, b) + 0x4ed8aa4a + w5; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w6 += smallSigma1(w4) + w15 + smallSigma0(w7);
  t = b + bigSigma1(g) + choose(g, h, a) + 0x5b9cca4f + w6; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w7 += smallSigma1(w5) + w0 + smallSigma0(w8);
  t = a + bigSigma1(f) + choose(f, g, h) + 0x682e6ff3 + w7; e += t; a = t + bigSigma0(b) + majority(b, c, d);
  w8 += smallSigma1(w6) + w1 + smallSigma0(w9);
  t = h + bigSigma1(e) + choose(e, f, g) + 0x748f82ee + w8; d += t; h = t + bigSigma0(a) + majority(a, b, c);
  w9 += smallSigma1(w7) + w2 + smallSigma0(w10);
  t = g + bigSigma1(d) + choose(d, e, f) + 0x78a5636f + w9; c += t; g = t + bigSigma0(h) + majority(h, a, b);
  w10 += smallSigma1(w8) + w3 + smallSigma0(w11);
  t = f + bigSigma1(c) + choose(c, d, e) + 0x84c87814 + w10; b += t; f = t + bigSigma0(g) + majority(g, h, a);
  w11 += smallSigma1(w9) + w4 + smallSigma0(w12);
  t = e + bigSigma1(b) + choose(b, c, d) + 0x8cc70208 + w11; a += t; e = t + bigSigma0(f) + majority(f, g, h);
  w12 += smallSigma1(w10) + w5 + smallSigma0(w13);
  t = d + bigSigma1(a) + choose(a, b, c) + 0x90befffa + w12; h += t; d = t + bigSigma0(e) + majority(e, f, g);
  w13 += smallSigma1(w11) + w6 + smallSigma0(w14);
  t = c + bigSigma1(h) + choose(h, a, b) + 0xa4506ceb + w13; g += t; c = t + bigSigma0(d) + majority(d, e, f);
  w14 += smallSigma1(w12) + w7 + smallSigma0(w15);
  t = b + bigSigma1(g) + choose(g, h, a) + 0xbef9a3f7 + w14; f += t; b = t + bigSigma0(c) + majority(c, d, e);
  w15 += smallSigma1(w13) + w8 + smallSigma0(w0);
  t = a + bigSigma1(f) + choose(f, g, h) + 0xc67178f2 + w15; e += t; a = t + bigSigma0(b) + majority(b, c, d);
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
  for (; offset + 64 <= len; offset += 64) compress(statePtr, dataPtr + offset);
  const rest = len - offset;
  memory.fill(LAST_BLOCKS, 0, 128);
  memory.copy(LAST_BLOCKS, dataPtr + offset, rest);
  store<u8>(LAST_BLOCKS + rest, 0x80);
  const blocks: usize = rest + 9 <= 64 ? 1 : 2;
  // Message length in bits, big-endian, in the last 8 bytes (lengths here stay below 2^32 bytes).
  const bits = <u64>len << 3;
  store<u64>(LAST_BLOCKS + blocks * 64 - 8, bswap<u64>(bits));
  for (let i: usize = 0; i < blocks; i++) compress(statePtr, LAST_BLOCKS + i * 64);
  for (let i: usize = 0; i < 8; i++) store<u32>(outPtr + (i << 2), bswap<u32>(load<u32>(statePtr + (i << 2))));
}
