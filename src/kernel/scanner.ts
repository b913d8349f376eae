// Runs a ScanRequest on one WasmKernel: sub-batches (so cancellation is seen within milliseconds),
// draining the candidate buffer, and confirming every candidate against the full target with node:crypto.
import { sha256d, meetsTarget } from '../bitcoin/hash.js';
import type { ScanRequest, ScanResult } from './types.js';
import { NONCE_SPACE } from './types.js';
import type { WasmKernel } from './wasm.js';

/** Nonces per kernel call between cancellation checks: ~10 ms at 6 MH/s. */
export const SUB_BATCH = 65_536;
const MAX_TARGET = (1n << 256n) - 1n;

export interface NormalizedScan {
  header: Uint8Array; // always 80 bytes
  target: bigint;
  startNonce: number;
  count: number;
  maxCandidates: number;
}

/** Checks a request and returns an 80-byte copy of the header; throws an Error naming the bad field. */
export function normalizeScanRequest(req: ScanRequest): NormalizedScan {
  if (req === null || typeof req !== 'object') throw new Error('scan request must be an object');
  const { header, target, startNonce, count, maxCandidates = Infinity } = req;
  if (!(header instanceof Uint8Array)) throw new Error('scan request header must be a Uint8Array');
  if (header.length !== 80 && header.length !== 76) {
    throw new Error(`scan request header must be 80 bytes (or 76 without the nonce), got ${header.length}`);
  }
  if (typeof target !== 'bigint' || target < 0n || target > MAX_TARGET) {
    throw new Error(`scan request target must be a bigint in 0..2^256-1, got ${String(target)}`);
  }
  if (!Number.isInteger(startNonce) || startNonce < 0 || startNonce >= NONCE_SPACE) {
    throw new Error(`scan request startNonce must be an integer in 0..4294967295, got ${startNonce}`);
  }
  if (!Number.isInteger(count) || count < 0 || startNonce + count > NONCE_SPACE) {
    throw new Error(`scan request count must be an integer with startNonce + count <= 2^32, got start ${startNonce} count ${count}`);
  }
  if (maxCandidates !== Infinity && (!Number.isInteger(maxCandidates) || maxCandidates < 1)) {
    throw new Error(`scan request maxCandidates must be an integer >= 1, got ${maxCandidates}`);
  }
  const full = new Uint8Array(80);
  full.set(header.subarray(0, 76));
  return { header: full, target, startNonce, count, maxCandidates };
}

/** The most significant 32 bits of a 256-bit target: what the kernel compares against. */
export function targetTopWord(target: bigint): number {
  return Number(target >> 224n);
}

/** True when sha256d(header with this nonce) meets the target. `scratch` is an 80-byte header copy. */
export function confirmNonce(scratch: Uint8Array, nonce: number, target: bigint): boolean {
  new DataView(scratch.buffer, scratch.byteOffset, 80).setUint32(76, nonce, true);
  return meetsTarget(sha256d(scratch), target);
}

/**
 * Scans the request's range on `kernel`. `shouldStop` is polled between sub-batches; `onHashed` (if
 * given) hears every sub-batch's nonce count as it completes, for live hashrate.
 */
export function runScan(
  kernel: WasmKernel,
  request: ScanRequest,
  shouldStop: () => boolean = () => false,
  onHashed?: (nonces: number) => void,
): ScanResult {
  const { header, target, startNonce, count, maxCandidates } = normalizeScanRequest(request);
  kernel.setJob(header, targetTopWord(target));
  const scratch = header.slice();
  const nonces: number[] = [];
  let hashed = 0;
  while (hashed < count) {
    if (shouldStop()) return { hashed, nonces, cancelled: true };
    const batch = Math.min(SUB_BATCH, count - hashed);
    const { candidates, scanned } = kernel.scan(startNonce + hashed, batch);
    for (const nonce of candidates) {
      if (!confirmNonce(scratch, nonce, target)) continue;
      nonces.push(nonce);
      if (nonces.length === maxCandidates) {
        // Candidates come in nonce order: everything up to this one is done, the caller resumes after it.
        const done = nonce - startNonce + 1;
        onHashed?.(done - hashed);
        return { hashed: done, nonces, cancelled: false };
      }
    }
    hashed += scanned;
    onHashed?.(scanned);
  }
  return { hashed, nonces, cancelled: false };
}
