// Shared shapes of the kernel API (see pool.ts for the pool itself).

export type KernelName = 'simd8' | 'simd' | 'scalar';
export type KernelChoice = KernelName | 'auto';

export interface ScanRequest {
  /** 80-byte header (or the first 76 bytes); its nonce field is ignored. */
  header: Uint8Array;
  /** Full 256-bit share target: a nonce counts when sha256d(header) read as a LE uint256 is <= target. */
  target: bigint;
  /** First nonce of the range, 0..2^32-1. */
  startNonce: number;
  /** Number of nonces; startNonce + count must not pass 2^32. */
  count: number;
  /**
   * Stop once this many nonces are confirmed (default: no limit). At a tiny share difficulty almost every nonce
   * is a share, so this bounds the work and the result of one call; `hashed` then says where to resume.
   */
  maxCandidates?: number;
}

export interface ScanResult {
  /** Nonces actually hashed (less than count when cancelled or when maxCandidates was reached). */
  hashed: number;
  /** Confirmed nonces (checked with node:crypto against the full target), ascending. */
  nonces: number[];
  cancelled: boolean;
}

/** Every build, fastest first where it applies: simd8 (8 lanes, revectorized), simd (4 lanes), scalar. */
export const KERNEL_NAMES: readonly KernelName[] = ['simd8', 'simd', 'scalar'];
export const NONCE_SPACE = 0x1_0000_0000;
