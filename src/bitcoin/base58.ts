// Base58Check (legacy P2PKH / P2SH addresses): base58 text -> version byte + payload, checksum verified.
import { sha256d } from './hash.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, BigInt(i)]));

export function base58Decode(text: string): Buffer {
  let value = 0n;
  for (const c of text) {
    const digit = INDEX.get(c);
    if (digit === undefined) throw new Error(`base58: invalid character ${JSON.stringify(c)}`);
    value = value * 58n + digit;
  }
  const body = value === 0n ? '' : value.toString(16);
  const bytes = Buffer.from(body.length % 2 ? '0' + body : body, 'hex');
  // Each leading '1' stands for a leading zero byte.
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  return Buffer.concat([Buffer.alloc(zeros), bytes]);
}

export function base58Encode(bytes: Uint8Array): string {
  let value = bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex'));
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 58n)]! + out;
    value /= 58n;
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return '1'.repeat(zeros) + out;
}

/** Decodes and checks the 4-byte sha256d checksum; returns version byte and payload. */
export function base58CheckDecode(text: string): { version: number; payload: Buffer } {
  const raw = base58Decode(text);
  if (raw.length < 5) throw new Error(`base58check: too short (${raw.length} bytes)`);
  const data = raw.subarray(0, raw.length - 4);
  const checksum = raw.subarray(raw.length - 4);
  if (!sha256d(data).subarray(0, 4).equals(checksum)) throw new Error('base58check: bad checksum');
  return { version: data[0]!, payload: Buffer.from(data.subarray(1)) };
}

export function base58CheckEncode(version: number, payload: Uint8Array): string {
  const data = Buffer.concat([Buffer.from([version]), payload]);
  return base58Encode(Buffer.concat([data, sha256d(data).subarray(0, 4)]));
}
