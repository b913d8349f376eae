// Targets, nBits (compact form) and difficulty, all in bigint so nothing is lost to floating point.
//
// A target is a 256-bit unsigned integer; a hash meets it when the hash, read as a little-endian integer, is <= it.

export const MAX_TARGET = (1n << 256n) - 1n;

/** Pool difficulty 1 ("pdiff"): 0x00000000ffff0000...0, the target of nBits 0x1d00ffff. */
export const DIFF1_TARGET = 0xffffn << 208n;

/**
 * nBits -> target, as Bitcoin Core's SetCompact: mantissa = low 23 bits, exponent = high byte,
 * target = mantissa * 256^(exponent - 3). Bit 23 is a sign bit: a negative or overflowing value is an error.
 */
export function nbitsToTarget(nbits: number): bigint {
  if (!Number.isInteger(nbits) || nbits < 0 || nbits > 0xffffffff) {
    throw new Error(`nbits must be a uint32, got ${nbits}`);
  }
  const exponent = nbits >>> 24;
  const mantissa = nbits & 0x007fffff;
  const hex = nbits.toString(16).padStart(8, '0');
  if (mantissa !== 0 && (nbits & 0x00800000) !== 0) {
    throw new Error(`nbits 0x${hex} is negative (sign bit set)`);
  }
  if (
    mantissa !== 0 &&
    (exponent > 34 || (mantissa > 0xff && exponent > 33) || (mantissa > 0xffff && exponent > 32))
  ) {
    throw new Error(`nbits 0x${hex} overflows 256 bits`);
  }
  const m = BigInt(mantissa);
  return exponent <= 3 ? m >> BigInt(8 * (3 - exponent)) : m << BigInt(8 * (exponent - 3));
}

/** target -> nBits, as Bitcoin Core's GetCompact (lossy: keeps the top 3 significant bytes, rounds down). */
export function targetToNbits(target: bigint): number {
  if (target < 0n || target > MAX_TARGET) throw new Error(`target out of range 0..2^256-1: ${target}`);
  let size = byteLength(target);
  let mantissa =
    size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  // The mantissa's top bit would read as a sign: shift it into the next exponent instead.
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size += 1;
  }
  return ((size << 24) | mantissa) >>> 0;
}

function byteLength(value: bigint): number {
  return value === 0n ? 0 : Math.ceil(value.toString(16).length / 2);
}

/**
 * An exact rational form of a finite double: value = numerator / 2^shift. Doubles are dyadic, so doubling until
 * the value is an integer is exact and ends within 1074 steps.
 */
function doubleAsRatio(value: number): { numerator: bigint; shift: bigint } {
  let shift = 0;
  let scaled = value;
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    shift += 1;
  }
  return { numerator: BigInt(scaled), shift: BigInt(shift) };
}

function checkDifficulty(difficulty: number): void {
  if (typeof difficulty !== 'number' || !Number.isFinite(difficulty) || difficulty <= 0) {
    throw new Error(`difficulty must be a positive finite number, got ${String(difficulty)}`);
  }
}

/**
 * Share target for a pool difficulty: DIFF1_TARGET / difficulty, computed exactly (difficulty may be fractional,
 * e.g. 1/65536). Capped at 2^256 - 1 for tiny difficulties; an error when the target would be 0.
 */
export function difficultyToTarget(difficulty: number): bigint {
  checkDifficulty(difficulty);
  const { numerator, shift } = doubleAsRatio(difficulty);
  const target = (DIFF1_TARGET << shift) / numerator;
  if (target === 0n) throw new Error(`difficulty ${difficulty} is too high: its target is 0`);
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/** Difficulty of a target, DIFF1_TARGET / target, as a number (for reporting; ~15 significant digits). */
export function targetToDifficulty(target: bigint): number {
  if (target <= 0n || target > MAX_TARGET) throw new Error(`target out of range 1..2^256-1: ${target}`);
  // 64 fractional bits of fixed point keep difficulties far below 1 exact enough.
  const fixed = (DIFF1_TARGET << 64n) / target;
  return Number(fixed) / 2 ** 64;
}

/** Network difficulty of an nBits value (1 for 0x1d00ffff). */
export function nbitsToDifficulty(nbits: number): number {
  return targetToDifficulty(nbitsToTarget(nbits));
}

/** The difficulty a hash achieves ("share difficulty" in pool logs): DIFF1_TARGET / hash. */
export function hashDifficulty(hashValue: bigint): number {
  return hashValue === 0n ? Infinity : targetToDifficulty(hashValue);
}

/** 64 hex digits, big-endian: how targets are usually shown (and how bitcoind's getblocktemplate sends them). */
export function targetToHex(target: bigint): string {
  if (target < 0n || target > MAX_TARGET) throw new Error(`target out of range 0..2^256-1: ${target}`);
  return target.toString(16).padStart(64, '0');
}

export function hexToTarget(hex: string): bigint {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error(`target must be 64 hex digits, got ${JSON.stringify(String(hex).slice(0, 80))}`);
  }
  return BigInt('0x' + hex);
}
