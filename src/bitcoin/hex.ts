// Hex and fixed-width integer helpers shared by the Bitcoin modules. Every decoder names what it decodes, so a
// bad field from a pool or a node gives an error that says which one.

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Decodes even-length hex; `what` names the field in errors, `byteLength` (optional) is the exact size. */
export function hexToBytes(hex: unknown, what: string, byteLength?: number): Buffer {
  if (typeof hex !== 'string') throw new Error(`${what}: expected a hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new Error(`${what}: hex has an odd length (${hex.length})`);
  if (!HEX_RE.test(hex)) throw new Error(`${what}: not hex: ${JSON.stringify(hex.slice(0, 80))}`);
  if (byteLength !== undefined && hex.length !== byteLength * 2) {
    throw new Error(`${what}: expected ${byteLength} bytes, got ${hex.length / 2}`);
  }
  return Buffer.from(hex, 'hex');
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A reversed copy (the input is left alone). */
export function reversed(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes).reverse();
}

export function assertUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${what}: expected a uint32, got ${value}`);
  }
}

/** 8 hex digits, big-endian: how Stratum writes version, nbits, ntime and the submitted nonce. */
export function uint32ToBeHex(value: number, what = 'uint32'): string {
  assertUint32(value, what);
  return value.toString(16).padStart(8, '0');
}

export function beHexToUint32(hex: unknown, what: string): number {
  return hexToBytes(hex, what, 4).readUInt32BE(0);
}

/** A non-negative bigint as exactly `byteLength` big-endian bytes; throws if it does not fit. */
export function bigintToBeBytes(value: bigint, byteLength: number, what = 'value'): Buffer {
  if (value < 0n) throw new Error(`${what}: negative value ${value}`);
  if (byteLength < 0 || !Number.isInteger(byteLength)) throw new Error(`${what}: bad byte length ${byteLength}`);
  if (value >> BigInt(8 * byteLength) !== 0n) {
    throw new Error(`${what}: ${value} does not fit in ${byteLength} bytes`);
  }
  if (byteLength === 0) return Buffer.alloc(0);
  return Buffer.from(value.toString(16).padStart(byteLength * 2, '0'), 'hex');
}

export function beBytesToBigint(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytesToHex(bytes));
}
