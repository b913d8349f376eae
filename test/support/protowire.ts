// Hand-building protobuf wire bytes from field numbers and wire types (for byte-exact codec tests),
// independent of protobufjs.
export function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (field: number, wireType: number): Buffer => varint((field << 3) | wireType);

/** Wire type 0. */
export const vField = (field: number, value: number | bigint | boolean): Buffer =>
  Buffer.concat([key(field, 0), varint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);

/** Wire type 2 with raw bytes or a nested message. */
export const lField = (field: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([key(field, 2), varint(body.length), body]);
};

/** Wire type 2 holding a UTF-8 string. */
export const sField = (field: number, text: string): Buffer => lField(field, Buffer.from(text, 'utf8'));

/** Wire type 1 (64-bit little-endian double). */
export const dField = (field: number, value: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([key(field, 1), b]);
};
