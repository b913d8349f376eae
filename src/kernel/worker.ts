// Piscina thread entry: each thread compiles and owns its own WASM kernel instances.
import { runScan } from './scanner.js';
import type { KernelName, ScanRequest, ScanResult } from './types.js';
import { WasmKernel } from './wasm.js';

export interface WorkerTask extends ScanRequest {
  kernel: KernelName;
  /** Shared with the pool: [0] generation counter (Int32), bytes 8..15 nonces hashed (BigInt64). */
  control: SharedArrayBuffer;
  /** Generation when the scan was requested; a different current value means "cancelled". */
  generation: number;
}

const kernels = new Map<KernelName, WasmKernel>();

export default function scanTask(task: WorkerTask): ScanResult {
  let kernel = kernels.get(task.kernel);
  if (!kernel) {
    kernel = WasmKernel.load(task.kernel);
    kernels.set(task.kernel, kernel);
  }
  const generation = new Int32Array(task.control, 0, 1);
  const hashedCounter = new BigInt64Array(task.control, 8, 1);
  return runScan(
    kernel,
    task,
    () => Atomics.load(generation, 0) !== task.generation,
    (nonces) => Atomics.add(hashedCounter, 0, BigInt(nonces)),
  );
}
