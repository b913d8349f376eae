// Bech32 (BIP 173, segwit v0) and Bech32m (BIP 350, segwit v1+) decoding of segwit addresses.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

export type Bech32Encoding = 'bech32' | 'bech32m';

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

export function bech32Decode(text: string): { hrp: string; data: number[]; encoding: Bech32Encoding } {
  if (text.length > 90) throw new Error(`bech32: too long (${text.length} characters)`);
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new Error('bech32: mixed case');
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || sep + 7 > s.length) throw new Error('bech32: missing separator or checksum');
  const hrp = s.slice(0, sep);
  for (const c of hrp) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) throw new Error('bech32: invalid character in the prefix');
  }
  const data: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new Error(`bech32: invalid character ${JSON.stringify(c)}`);
    data.push(v);
  }
  const check = polymod([...hrpExpand(hrp), ...data]);
  const encoding = check === BECH32_CONST ? 'bech32' : check === BECH32M_CONST ? 'bech32m' : undefined;
  if (!encoding) throw new Error('bech32: bad checksum');
  return { hrp, data: data.slice(0, -6), encoding };
}

/** Regroups 5-bit words into bytes (no padding allowed beyond 4 zero bits). */
function fromWords(words: number[]): Buffer {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const w of words) {
    acc = (acc << 5) | w;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits >= 5 || acc !== 0) throw new Error('bech32: invalid padding');
  return Buffer.from(out);
}

/** A segwit address -> witness version and program, checked as BIP 173/350 require. */
export function decodeSegwitAddress(address: string, expectedHrp: string): { version: number; program: Buffer } {
  const { hrp, data, encoding } = bech32Decode(address);
  if (hrp !== expectedHrp) throw new Error(`segwit address: prefix ${hrp} is not ${expectedHrp}`);
  if (data.length < 1) throw new Error('segwit address: no witness version');
  const version = data[0]!;
  if (version > 16) throw new Error(`segwit address: bad witness version ${version}`);
  if ((version === 0) !== (encoding === 'bech32')) {
    throw new Error(`segwit address: witness v${version} must use ${version === 0 ? 'bech32' : 'bech32m'}`);
  }
  const program = fromWords(data.slice(1));
  if (program.length < 2 || program.length > 40) {
    throw new Error(`segwit address: program of ${program.length} bytes`);
  }
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    throw new Error(`segwit address: v0 program must be 20 or 32 bytes, got ${program.length}`);
  }
  return { version, program };
}
