// SHA-256 helpers on node:crypto: the reference the WASM kernel is checked against.
import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256d(data: Uint8Array): Buffer {
  return sha256(sha256(data));
}

/** A digest read as Bitcoin reads it: a 256-bit little-endian integer. */
export function hashToBigInt(hash: Uint8Array): bigint {
  if (hash.length !== 32) throw new Error(`hash must be 32 bytes, got ${hash.length}`);
  return BigInt('0x' + Buffer.from(hash).reverse().toString('hex'));
}

/** Block-explorer form: the digest bytes reversed, as hex. */
export function hashToDisplayHex(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

export function meetsTarget(hash: Uint8Array, target: bigint): boolean {
  return hashToBigInt(hash) <= target;
}
