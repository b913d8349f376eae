// Script pushes and numbers: what a coinbase scriptSig needs (BIP 34 height, extranonce, tag).

const OP_0 = 0x00;
const OP_PUSHDATA1 = 0x4c;
const OP_PUSHDATA2 = 0x4d;
const OP_1NEGATE = 0x4f;
const OP_1 = 0x51;

/** Minimal push of `data` (direct push up to 75 bytes, then OP_PUSHDATA1/2). */
export function pushData(data: Uint8Array): Buffer {
  const n = data.length;
  if (n <= 75) return Buffer.concat([Buffer.from([n]), data]);
  if (n <= 0xff) return Buffer.concat([Buffer.from([OP_PUSHDATA1, n]), data]);
  if (n <= 0xffff) {
    const len = Buffer.alloc(2);
    len.writeUInt16LE(n);
    return Buffer.concat([Buffer.from([OP_PUSHDATA2]), len, data]);
  }
  throw new Error(`pushData: ${n} bytes is too large for a script push`);
}

/** CScriptNum: minimal little-endian sign-magnitude bytes (0 is empty). */
export function scriptNumber(value: number): Buffer {
  if (!Number.isSafeInteger(value)) throw new Error(`script number must be a safe integer, got ${value}`);
  const out: number[] = [];
  let abs = Math.abs(value);
  while (abs > 0) {
    out.push(abs & 0xff);
    abs = Math.floor(abs / 256);
  }
  if (out.length > 0 && (out[out.length - 1]! & 0x80) !== 0) out.push(value < 0 ? 0x80 : 0x00);
  else if (out.length > 0 && value < 0) out[out.length - 1]! |= 0x80;
  return Buffer.from(out);
}

/** Push of a number as Bitcoin Core's `CScript() << n`: OP_0, OP_1NEGATE, OP_1..OP_16, else a data push. */
export function pushNumber(value: number): Buffer {
  if (value === 0) return Buffer.from([OP_0]);
  if (value === -1) return Buffer.from([OP_1NEGATE]);
  if (value >= 1 && value <= 16) return Buffer.from([OP_1 + value - 1]);
  return pushData(scriptNumber(value));
}

/** BIP 34: the coinbase scriptSig must start with the block height, pushed exactly as `CScript() << height`. */
export function bip34HeightPush(height: number): Buffer {
  if (!Number.isInteger(height) || height < 0 || height > 0x7fffffff) {
    throw new Error(`block height must be an integer 0..2^31-1, got ${height}`);
  }
  return pushNumber(height);
}
