// The SHA-256d the server's share checks use: the project's WASM kernel (its plain sha256 compression, in the
// scalar build, which every engine runs). One instance for the process, loaded synchronously on first use; the
// server is single-threaded, so calls never interleave.
import { WasmKernel } from '../kernel/wasm.js';

let kernel: WasmKernel | undefined;

function hashKernel(): WasmKernel {
  kernel ??= WasmKernel.load('scalar');
  return kernel;
}

/** sha256d(data) written to out[outOffset, outOffset + 32); `out` may alias `data`. */
export function sha256dInto(data: Uint8Array, out: Uint8Array, outOffset = 0): void {
  hashKernel().sha256dInto(data, out, outOffset);
}

/** Merkle root of `coinbase` through `branch` (32-byte hashes concatenated) written to out[outOffset, +32). */
export function merkleRootInto(coinbase: Uint8Array, branch: Uint8Array, out: Uint8Array, outOffset = 0): void {
  hashKernel().merkleRootInto(coinbase, branch, out, outOffset);
}
