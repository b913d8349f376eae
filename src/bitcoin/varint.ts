// Bitcoin's CompactSize integer ("varint") used for counts and lengths in transactions and blocks.

export function encodeVarint(value: number | bigint): Buffer {
  const n = BigInt(value);
  if (n < 0n || n > 0xffffffffffffffffn) throw new Error(`varint out of range: ${value}`);
  if (n < 0xfdn) return Buffer.from([Number(n)]);
  if (n <= 0xffffn) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(Number(n), 1);
    return b;
  }
  if (n <= 0xffffffffn) {
    const b = Buffer.alloc(5);
    b[0] = 0xfe;
    b.writeUInt32LE(Number(n), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeBigUInt64LE(n, 1);
  return b;
}

/** Reads a varint at `offset`; `size` is how many bytes it took. Rejects non-canonical (over-long) forms. */
export function decodeVarint(bytes: Uint8Array, offset = 0): { value: bigint; size: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset >= b.length) throw new Error(`varint: no byte at offset ${offset}`);
  const first = b[offset]!;
  const need = first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
  if (offset + need > b.length) throw new Error(`varint: truncated at offset ${offset}`);
  let value: bigint;
  if (need === 1) value = BigInt(first);
  else if (need === 3) value = BigInt(b.readUInt16LE(offset + 1));
  else if (need === 5) value = BigInt(b.readUInt32LE(offset + 1));
  else value = b.readBigUInt64LE(offset + 1);
  if (encodeVarint(value).length !== need) throw new Error(`varint: non-canonical encoding at offset ${offset}`);
  return { value, size: need };
}
