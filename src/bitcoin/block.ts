// A full block for submitblock: header || varint(tx count) || transactions (coinbase first).
import { HEADER_SIZE } from './header.js';
import { encodeVarint } from './varint.js';

export function serializeBlock(header: Uint8Array, transactions: readonly Uint8Array[]): Buffer {
  if (header.length !== HEADER_SIZE) throw new Error(`block header must be 80 bytes, got ${header.length}`);
  if (transactions.length === 0) throw new Error('a block needs at least its coinbase transaction');
  return Buffer.concat([header, encodeVarint(transactions.length), ...transactions]);
}
