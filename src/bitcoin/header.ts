// The 80-byte block header: version | prevhash | merkle root | ntime | nbits | nonce, integers little-endian,
// hashes in internal byte order. Also Stratum's prevhash word order and BIP 310 version rolling.
import { assertUint32, hexToBytes } from './hex.js';

export const HEADER_SIZE = 80;

export interface HeaderFields {
  version: number;
  /** Previous block hash, internal byte order (the reverse of its display hex). */
  prevHash: Uint8Array;
  /** Internal byte order, as computed from the transactions. */
  merkleRoot: Uint8Array;
  ntime: number;
  nbits: number;
  nonce: number;
}

export function serializeHeader(fields: HeaderFields): Buffer {
  assertUint32(fields.version, 'header version');
  assertUint32(fields.ntime, 'header ntime');
  assertUint32(fields.nbits, 'header nbits');
  assertUint32(fields.nonce, 'header nonce');
  if (fields.prevHash.length !== 32) throw new Error(`header prevHash must be 32 bytes, got ${fields.prevHash.length}`);
  if (fields.merkleRoot.length !== 32) {
    throw new Error(`header merkleRoot must be 32 bytes, got ${fields.merkleRoot.length}`);
  }
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(fields.version, 0);
  header.set(fields.prevHash, 4);
  header.set(fields.merkleRoot, 36);
  header.writeUInt32LE(fields.ntime, 68);
  header.writeUInt32LE(fields.nbits, 72);
  header.writeUInt32LE(fields.nonce, 76);
  return header;
}

export function parseHeader(header: Uint8Array): HeaderFields {
  if (header.length !== HEADER_SIZE) throw new Error(`a block header is 80 bytes, got ${header.length}`);
  const b = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  return {
    version: b.readUInt32LE(0),
    prevHash: Buffer.from(b.subarray(4, 36)),
    merkleRoot: Buffer.from(b.subarray(36, 68)),
    ntime: b.readUInt32LE(68),
    nbits: b.readUInt32LE(72),
    nonce: b.readUInt32LE(76),
  };
}

/** A copy of the header with another nonce (uint32, little-endian at bytes 76..79). */
export function withNonce(header: Uint8Array, nonce: number): Buffer {
  if (header.length !== HEADER_SIZE) throw new Error(`a block header is 80 bytes, got ${header.length}`);
  assertUint32(nonce, 'nonce');
  const copy = Buffer.from(header);
  copy.writeUInt32LE(nonce, 76);
  return copy;
}

/** Reverses the bytes inside each 4-byte word; its own inverse. */
function swapWords(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    for (let j = 0; j < 4; j++) out[i + j] = bytes[i + 3 - j]!;
  }
  return out;
}

/**
 * Stratum's prevhash (the internal bytes with each 4-byte word's bytes reversed, a legacy of getwork) -> the
 * internal byte order the header holds.
 */
export function stratumPrevHashToInternal(prevHashHex: string): Buffer {
  return swapWords(hexToBytes(prevHashHex, 'prevhash', 32));
}

/** The inverse, for servers announcing work: internal bytes -> Stratum prevhash hex. */
export function internalPrevHashToStratum(prevHash: Uint8Array): string {
  if (prevHash.length !== 32) throw new Error(`prevHash must be 32 bytes, got ${prevHash.length}`);
  return swapWords(prevHash).toString('hex');
}

/** BIP 310: nVersion = (job_version & ~mask) | (version_bits & mask). */
export function rollVersion(jobVersion: number, versionBits: number, mask: number): number {
  assertUint32(jobVersion, 'job version');
  assertUint32(versionBits, 'version bits');
  assertUint32(mask, 'version-rolling mask');
  return ((jobVersion & ~mask) | (versionBits & mask)) >>> 0;
}

/** The fields of a Stratum job that go into its header (structurally what mining.notify carries). */
export interface StratumHeaderJob {
  /** Stratum's word-swapped prevhash hex. */
  prevHash: string;
  version: number;
  nbits: number;
  ntime: number;
}

/** The 80-byte header of a Stratum job for a given merkle root (nonce and rolled version as given). */
export function stratumJobHeader(
  job: StratumHeaderJob,
  merkleRoot: Uint8Array,
  opts: { nonce?: number; version?: number; ntime?: number } = {},
): Buffer {
  return serializeHeader({
    version: opts.version ?? job.version,
    prevHash: stratumPrevHashToInternal(job.prevHash),
    merkleRoot,
    ntime: opts.ntime ?? job.ntime,
    nbits: job.nbits,
    nonce: opts.nonce ?? 0,
  });
}
