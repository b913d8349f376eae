// A Piscina pool of kernel threads: one WASM instance per thread, scans of one range or split ranges,
// and cancellation of stale work through a shared generation counter (Piscina's abort kills threads).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { normalizeScanRequest } from './scanner.js';
import { splitRange } from './split.js';
import type { KernelChoice, KernelName, ScanRequest, ScanResult } from './types.js';
import { resolveKernel } from './wasm.js';
import type { WorkerTask } from './worker.js';

export type { KernelChoice, KernelName, ScanRequest, ScanResult } from './types.js';
export { splitRange } from './split.js';

export const MAX_THREADS = 256;

export interface KernelPoolOptions {
  /** Worker threads, 1..256; default: os.availableParallelism(). */
  threads?: number;
  /** 'auto' (default) picks simd when the engine supports it. */
  kernel?: KernelChoice;
}

export function validateThreads(threads: unknown): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new Error(`threads must be an integer in 1..${MAX_THREADS}, got ${String(threads)}`);
  }
  return threads;
}

function workerFilename(): string {
  // Piscina needs plain JS. Built code finds worker.js next to itself; under vitest this module runs
  // from src/kernel/*.ts, so use the compiled twin in dist/ (`npm test` builds first).
  const url = import.meta.url.endsWith('.ts')
    ? new URL('../../dist/kernel/worker.js', import.meta.url)
    : new URL('./worker.js', import.meta.url);
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new Error(`kernel worker not found at ${path}: run "npm run build" first`);
  return path;
}

export class KernelPool {
  private readonly control = new SharedArrayBuffer(16);
  private readonly generation = new Int32Array(this.control, 0, 1);
  private readonly hashedCounter = new BigInt64Array(this.control, 8, 1);
  private destroyed = false;

  private constructor(
    private readonly piscina: Piscina<WorkerTask, ScanResult>,
    readonly threads: number,
    readonly kernel: KernelName,
  ) {}

  static async create(opts: KernelPoolOptions = {}): Promise<KernelPool> {
    const threads = validateThreads(opts.threads ?? availableParallelism());
    const kernel = resolveKernel(opts.kernel ?? 'auto');
    const piscina = new Piscina<WorkerTask, ScanResult>({
      filename: workerFilename(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
    const pool = new KernelPool(piscina, threads, kernel);
    try {
      // One empty scan per thread loads its WASM now, so a broken build fails here and not mid-job.
      const empty: ScanRequest = { header: new Uint8Array(80), target: 0n, startNonce: 0, count: 0 };
      await Promise.all(Array.from({ length: threads }, () => pool.scan(empty)));
    } catch (err) {
      await pool.destroy();
      throw new Error(`kernel pool failed to start: ${(err as Error).message}`);
    }
    return pool;
  }

  /** Scans the whole request on one thread. */
  async scan(req: ScanRequest): Promise<ScanResult> {
    return this.dispatch(normalizeScanRequest(req), Atomics.load(this.generation, 0));
  }

  /** Splits [startNonce, startNonce + count) over all threads (no gap, no overlap) and merges results. */
  async scanRange(req: ScanRequest): Promise<ScanResult> {
    const job = normalizeScanRequest(req);
    // Split parts that stop early at maxCandidates leave gaps: the summed `hashed` would be no resume point.
    if (Number.isFinite(job.maxCandidates)) throw new Error('scanRange: maxCandidates applies to scan() only');
    const generation = Atomics.load(this.generation, 0);
    const parts = splitRange(job.startNonce, job.count, this.threads);
    const results = await Promise.all(
      parts.map((part) => this.dispatch({ ...job, startNonce: part.start, count: part.count }, generation)),
    );
    return {
      hashed: results.reduce((sum, r) => sum + r.hashed, 0),
      nonces: results.flatMap((r) => r.nonces).sort((a, b) => a - b),
      cancelled: results.some((r) => r.cancelled),
    };
  }

  /** Every scan requested before this call stops at its next sub-batch (a few ms) with cancelled: true. */
  cancel(): void {
    Atomics.add(this.generation, 0, 1);
  }

  /** Nonces hashed by all threads since the pool started, updated live after every sub-batch. */
  totalHashed(): number {
    return Number(Atomics.load(this.hashedCounter, 0));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.cancel();
    await this.piscina.destroy();
  }

  private async dispatch(req: ScanRequest, generation: number): Promise<ScanResult> {
    if (this.destroyed) throw new Error('kernel pool is destroyed');
    return this.piscina.run({ ...req, kernel: this.kernel, control: this.control, generation });
  }
}
