// Stratum coinbase assembly: coinbase = coinb1 || extranonce1 || extranonce2 || coinb2.
import { bigintToBeBytes, bytesToHex, hexToBytes } from './hex.js';

/** Extranonce2 is 0..32 bytes in practice; more is a broken pool. */
export const MAX_EXTRANONCE2_SIZE = 32;

export interface CoinbaseParts {
  coinb1: string;
  extranonce1: string;
  /** Exactly `extranonce2Size` bytes, as hex. */
  extranonce2: string;
  extranonce2Size: number;
  coinb2: string;
}

export function checkExtranonce2Size(size: number): void {
  if (!Number.isInteger(size) || size < 0 || size > MAX_EXTRANONCE2_SIZE) {
    throw new Error(`extranonce2_size must be an integer 0..${MAX_EXTRANONCE2_SIZE}, got ${size}`);
  }
}

/** The serialized (non-witness) coinbase transaction the miner hashes for the merkle root. */
export function assembleCoinbase(parts: CoinbaseParts): Buffer {
  checkExtranonce2Size(parts.extranonce2Size);
  const coinb1 = hexToBytes(parts.coinb1, 'coinb1');
  const extranonce1 = hexToBytes(parts.extranonce1, 'extranonce1');
  const extranonce2 = hexToBytes(parts.extranonce2, 'extranonce2', parts.extranonce2Size);
  const coinb2 = hexToBytes(parts.coinb2, 'coinb2');
  if (coinb1.length === 0 || coinb2.length === 0) {
    throw new Error(`coinb1 and coinb2 must not be empty (got ${coinb1.length} and ${coinb2.length} bytes)`);
  }
  return Buffer.concat([coinb1, extranonce1, extranonce2, coinb2]);
}

/** The number of distinct extranonce2 values of a given size (2^(8*size)). */
export function extranonce2Space(size: number): bigint {
  checkExtranonce2Size(size);
  return 1n << BigInt(8 * size);
}

/** An extranonce2 counter as exactly `size` big-endian bytes of hex. */
export function extranonce2Hex(counter: bigint, size: number): string {
  checkExtranonce2Size(size);
  return bytesToHex(bigintToBeBytes(counter, size, `extranonce2 (${size} bytes)`));
}
