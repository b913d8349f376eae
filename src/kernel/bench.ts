// `bench`: proves the kernel on a real block, measures a naive node:crypto baseline, then the hashrate of
// each (kernel, threads) configuration, printed as a table or one JSON document.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { sha256d } from '../bitcoin/hash.js';
import { nbitsToTarget } from '../bitcoin/target.js';
import { formatHashrate } from './hashrate.js';
import { KernelPool, validateThreads } from './pool.js';
import { revectorizeSupported, runtimeInfo } from './runtime.js';
import type { KernelName } from './types.js';
import { KERNEL_NAMES } from './types.js';
import { resolveKernel, simdSupported } from './wasm.js';

/** One build, 'auto' (the build the miner would pick here) or 'all' (every build this engine runs). */
export type KernelSelection = KernelName | 'auto' | 'all';

export interface BenchOptions {
  threads: number[] | 'auto';
  kernel: KernelSelection;
  /** Seconds of measurement per configuration. */
  duration: number;
  json: boolean;
  out?: NodeJS.WritableStream;
  /** Progress lines go here (default process.stderr). */
  progress?: NodeJS.WritableStream;
  /** Seconds for the naive baseline (default 1.5). */
  baselineSeconds?: number;
}

export interface BenchRow {
  kernel: KernelName;
  threads: number;
  /** false when measured only as the 1-thread reference for scaling efficiency. */
  requested: boolean;
  hashes: number;
  seconds: number;
  mhs: number;
  mhsPerThread: number;
  /** Per-thread rate relative to the same kernel at 1 thread (1 = perfect scaling). */
  scalingEfficiency: number | null;
  /** Rate relative to the naive node:crypto loop on one thread. */
  vsBaseline: number;
}

export interface BenchReport {
  machine: {
    cpuModel: string;
    cpuVendor: string;
    cores: number;
    arch: string;
    avx2: boolean;
    node: string;
    v8: string;
    simd: boolean;
    /** V8 packs the simd8 build into 256-bit operations here (--experimental-wasm-revectorize). */
    revectorize: boolean;
    /** The build `--kernel auto` (the miner's default) picks here. */
    autoKernel: KernelName;
    kernels: KernelName[];
    /** os.loadavg() at the start and at the end: figures from a busy machine are not comparable. */
    loadAverage: { start: number[]; end: number[] };
    /**
     * Cores the rest of the machine kept busy during the run, on average, on the CPUs this process may use (CPU
     * time of all processes and the hypervisor's steal, from /proc/stat, less this process's own); null where
     * /proc/stat cannot be read.
     */
    otherCores: number | null;
  };
  correctness: Array<{ kernel: KernelName; block: number; expectedNonce: number; found: number[]; window: number }>;
  baseline: { method: string; hashes: number; seconds: number; mhs: number };
  durationSeconds: number;
  results: BenchRow[];
}

// Block 782571 (March 2023, version 0x20000000): the correctness proof scans a window around its nonce.
const PROOF_BLOCK = {
  height: 782571,
  header: '00000020579ef855bb0cfe76b00d6d5ae7388f6610970eda1a40520b000000000000000079ab423b336ba193d564380acd890a7e6baee1c28dd68ad55a8fde9a08030cb87cb809644d4114186c3429b7',
  nonce: 3072930924,
};
const PROOF_WINDOW = 262_144;
/** Nonces per pool.scan call while measuring: ~40 ms at 6-7 MH/s per thread (dispatch costs ~0.1 ms). */
const MEASURE_CHUNK = 1 << 18;
const WARMUP_MS = 500;
/** Other processes using more than this many cores on average during the run share the CPU (the table says so). */
const BUSY_OTHER_CORES = 0.25;

/** The CPUs this process may run on (Cpus_allowed_list, e.g. "0-3,8"); undefined where it cannot be read. */
function allowedCpus(): Set<number> | undefined {
  try {
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (!list) return undefined;
    const cpus = new Set<number>();
    for (const part of list.trim().split(',')) {
      const [from, to = from] = part.split('-').map(Number);
      for (let c = from!; c <= to!; c++) cpus.add(c);
    }
    return cpus;
  } catch {
    return undefined;
  }
}

/**
 * Seconds of CPU used since boot on the CPUs this process may run on (a container's or a Mesos task's cpuset; the
 * host's other CPUs are not its business): user, nice, system, irq, softirq and steal (time the hypervisor gave to
 * other guests), from /proc/stat's per-CPU lines in USER_HZ (100 on Linux); null elsewhere.
 */
function machineCpuSeconds(): number | null {
  try {
    const allowed = allowedCpus();
    let ticks = 0;
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const cpu = /^cpu(\d+)\s/.exec(line);
      if (!cpu || (allowed && !allowed.has(Number(cpu[1])))) continue;
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
      ticks += user + nice + system + irq + softirq + steal;
    }
    return ticks / 100;
  } catch {
    return null;
  }
}

/** This process's CPU seconds, every thread (the kernel's workers included). */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export function parseThreadsList(value: string): number[] | 'auto' {
  const text = String(value).trim();
  if (text === 'auto') return 'auto';
  if (text === '') throw new Error('--threads needs a list like 1,2,4 or "auto"');
  const list = text.split(',').map((part) => {
    const s = part.trim();
    if (!/^\d+$/.test(s)) throw new Error(`--threads: "${s}" is not a whole number (expected a list like 1,2,4 or "auto")`);
    try {
      return validateThreads(Number(s));
    } catch (err) {
      throw new Error(`--threads: ${(err as Error).message}`);
    }
  });
  return [...new Set(list)].sort((a, b) => a - b);
}

export function parseKernelSelection(value: string): KernelSelection {
  if (value === 'auto' || value === 'all' || (KERNEL_NAMES as readonly string[]).includes(value)) return value as KernelSelection;
  throw new Error(`--kernel must be auto, all, ${KERNEL_NAMES.join(', ')}, got "${value}"`);
}

export function parseDuration(value: string): number {
  const seconds = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new Error(`--duration must be a number of seconds in (0, 3600], got "${value}"`);
  }
  return seconds;
}

function kernelsFor(selection: KernelSelection): KernelName[] {
  if (selection === 'all') return simdSupported() ? [...KERNEL_NAMES] : ['scalar'];
  try {
    return [resolveKernel(selection)];
  } catch (err) {
    throw new Error(`--kernel ${selection}: ${(err as Error).message}`);
  }
}

function proofJob() {
  const header = Buffer.from(PROOF_BLOCK.header, 'hex');
  return { header, target: nbitsToTarget(header.readUInt32LE(72)) };
}

/** Single-threaded node:crypto sha256d per nonce: what a straightforward JS miner would do. */
export function measureBaseline(seconds: number): BenchReport['baseline'] {
  const header = Buffer.from(PROOF_BLOCK.header, 'hex');
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let hashes = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1024; i++) {
      header.writeUInt32LE(hashes++ >>> 0, 76);
      sha256d(header);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  return { method: 'node:crypto sha256d per nonce, 1 thread', hashes, seconds: elapsed, mhs: hashes / elapsed / 1e6 };
}

async function proveCorrect(pool: KernelPool): Promise<BenchReport['correctness'][number]> {
  const { header, target } = proofJob();
  const startNonce = PROOF_BLOCK.nonce - PROOF_WINDOW / 2 - 1; // odd offset: the nonce is not lane 0
  const result = await pool.scanRange({ header, target, startNonce, count: PROOF_WINDOW + 3 });
  if (result.nonces.length !== 1 || result.nonces[0] !== PROOF_BLOCK.nonce) {
    throw new Error(
      `kernel ${pool.kernel} failed the correctness check on block ${PROOF_BLOCK.height}: expected nonce ` +
        `${PROOF_BLOCK.nonce}, found [${result.nonces.join(', ')}]; not benchmarking a wrong kernel`,
    );
  }
  return { kernel: pool.kernel, block: PROOF_BLOCK.height, expectedNonce: PROOF_BLOCK.nonce, found: result.nonces, window: PROOF_WINDOW + 3 };
}

/** Keeps every thread busy with consecutive chunks until the deadline; returns hashes and seconds. */
async function hashFor(pool: KernelPool, ms: number, onTick?: (hashes: number, elapsedMs: number) => void) {
  const { header, target } = proofJob();
  let cursor = 0;
  const base = pool.totalHashed();
  const start = performance.now();
  const deadline = start + ms;
  const timer = onTick ? setInterval(() => onTick(pool.totalHashed() - base, performance.now() - start), 250) : undefined;
  try {
    const lanes = Array.from({ length: pool.threads }, async () => {
      let hashes = 0;
      while (performance.now() < deadline) {
        const startNonce = cursor;
        cursor = (cursor + MEASURE_CHUNK) % (2 ** 32 - MEASURE_CHUNK);
        hashes += (await pool.scan({ header, target, startNonce, count: MEASURE_CHUNK })).hashed;
      }
      return hashes;
    });
    const hashes = (await Promise.all(lanes)).reduce((a, b) => a + b, 0);
    return { hashes, seconds: (performance.now() - start) / 1000 };
  } finally {
    if (timer) clearInterval(timer);
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const out = opts.out ?? process.stdout;
  const progress = opts.progress ?? process.stderr;
  const duration = parseDuration(String(opts.duration));
  const requested = opts.threads === 'auto' ? [availableParallelism()] : opts.threads.map(validateThreads);
  if (requested.length === 0) throw new Error('bench needs at least one thread count');
  const kernels = kernelsFor(opts.kernel);
  const live = Boolean((progress as NodeJS.WriteStream).isTTY);
  const say = (line: string) => {
    if (live) progress.write(`\r\x1b[K${line}`);
    else if (!opts.json) progress.write(`${line}\n`);
  };

  const info = runtimeInfo();
  const report: BenchReport = {
    machine: {
      cpuModel: info.cpuModel,
      cpuVendor: info.cpuVendor,
      cores: availableParallelism(),
      arch: info.arch,
      avx2: info.avx2,
      node: info.node,
      v8: info.v8,
      simd: simdSupported(),
      revectorize: simdSupported() && revectorizeSupported(info),
      autoKernel: resolveKernel('auto'),
      kernels,
      loadAverage: { start: loadavg(), end: [] },
      otherCores: null,
    },
    correctness: [],
    baseline: { method: '', hashes: 0, seconds: 0, mhs: 0 },
    durationSeconds: duration,
    results: [],
  };

  const started = { machine: machineCpuSeconds(), own: ownCpuSeconds(), at: process.hrtime.bigint() };
  say('baseline: node:crypto sha256d per nonce ...');
  report.baseline = measureBaseline(opts.baselineSeconds ?? 1.5);

  for (const kernel of kernels) {
    // Always measure 1 thread: it is the reference for scaling efficiency.
    const counts = [...new Set([1, ...requested])].sort((a, b) => a - b);
    let single: number | null = null;
    for (const threads of counts) {
      const pool = await KernelPool.create({ threads, kernel });
      try {
        say(`${kernel} x ${threads}: warming up ...`);
        await hashFor(pool, WARMUP_MS); // lets V8 tier the kernel up to optimized code before timing
        // The proof runs on the optimized code that is timed next (the revectorized simd8 exists only there).
        say(`${kernel} x ${threads}: checking the kernel on block ${PROOF_BLOCK.height} ...`);
        const proof = await proveCorrect(pool);
        if (threads === counts[0]) report.correctness.push(proof);
        // Live line on a terminal; otherwise one line per configuration (no log spam).
        const tick = live
          ? (h: number, ms: number) => say(`${kernel} x ${threads}: ${formatHashrate(h / (ms / 1000))} (${(ms / 1000).toFixed(1)} / ${duration} s)`)
          : undefined;
        if (!live) say(`${kernel} x ${threads}: measuring for ${duration} s ...`);
        const { hashes, seconds } = await hashFor(pool, duration * 1000, tick);
        const mhs = hashes / seconds / 1e6;
        if (threads === 1) single = mhs;
        report.results.push({
          kernel,
          threads,
          requested: requested.includes(threads),
          hashes,
          seconds,
          mhs,
          mhsPerThread: mhs / threads,
          scalingEfficiency: single === null ? null : mhs / threads / single,
          vsBaseline: mhs / report.baseline.mhs,
        });
      } finally {
        await pool.destroy();
      }
    }
  }
  if (live) progress.write('\r\x1b[K');
  report.machine.loadAverage.end = loadavg();
  const machineNow = machineCpuSeconds();
  if (machineNow !== null && started.machine !== null) {
    const wall = Number(process.hrtime.bigint() - started.at) / 1e9;
    const other = machineNow - started.machine - (ownCpuSeconds() - started.own);
    report.machine.otherCores = Math.max(0, other) / wall;
  }

  out.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatBenchTable(report));
  return report;
}

export function formatBenchTable(report: BenchReport): string {
  const header = ['kernel', 'threads', 'MH/s', 'MH/s/thread', 'scaling', 'vs naive'];
  // The build `mine` picks here by default is marked: its rows are the figures a miner gets.
  const rows = report.results.map((r) => [
    r.kernel + (r.kernel === report.machine.autoKernel ? ' (auto)' : ''),
    String(r.threads) + (r.requested ? '' : '*'),
    r.mhs.toFixed(2),
    r.mhsPerThread.toFixed(2),
    r.scalingEfficiency === null ? 'n/a' : `${(r.scalingEfficiency * 100).toFixed(0)}%`,
    `${r.vsBaseline.toFixed(1)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const m = report.machine;
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `CPU: ${m.cpuModel} (${m.cpuVendor}, ${m.arch}), ${m.cores} cores, AVX2: ${yes(m.avx2)}`,
    `runtime: Node ${m.node}, V8 ${m.v8}, WebAssembly SIMD: ${yes(m.simd)}, revectorize: ${yes(m.revectorize)}, auto kernel: ${m.autoKernel}`,
    `load average: ${load(m.loadAverage.start)} at the start, ${load(m.loadAverage.end)} at the end` +
      (m.otherCores === null ? '' : `; other processes used ${m.otherCores.toFixed(2)} cores during the run`) +
      (m.otherCores !== null && m.otherCores > BUSY_OTHER_CORES ? ' (figures are not comparable)' : ''),
    ...report.correctness.map((c) => `check: ${c.kernel} kernel found nonce ${c.expectedNonce} of block ${c.block} in a ${c.window}-nonce window`),
    `naive baseline (${report.baseline.method}): ${report.baseline.mhs.toFixed(3)} MH/s`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(report.results.some((r) => !r.requested) ? ['* measured as the 1-thread reference for scaling'] : []),
    '',
  ].join('\n');
}
