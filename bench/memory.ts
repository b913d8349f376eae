// Memory of the tasks the framework launches, for the --miner-mem / --server-mem defaults (docs/OPERATIONS.md).
//   npm run build && npx tsx bench/memory.ts [--threads 1,2,4,8] [--duration 20] [--miners 1000] [--json]
//     [--skip-mine] [--skip-serve]
// `mine` runs as the built CLI against the scripted test pool (which verifies every share) at each thread
// count; `serve` runs as the built CLI in front of the same pool with --miners simulated Stratum connections
// from this process that subscribe, authorize and submit a share every ~10 s each. Both are sampled from
// /proc/<pid>/status: VmRSS (resident now) every 250 ms, and VmHWM (the kernel's resident peak) at the end.
// Figures are MiB. The suggested defaults are the measured peak plus 50 % headroom, rounded up to 32 MiB.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { freePort, procMemory, spawnCli } from '../test/support/processes.js';
import { ScriptedPool } from '../test/support/scripted-pool.js';

interface Sample { rssMiB: number; peakMiB: number; meanMiB: number }

/** Samples a child's memory for `seconds`, then stops it with SIGTERM (SIGKILL after 10 s). */
async function measure(child: ChildProcess, exited: Promise<unknown>, seconds: number, label: string, progress: boolean): Promise<Sample> {
  const pid = child.pid!;
  const rss: number[] = [];
  let hwm = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const m = procMemory(pid);
    if (!m) throw new Error(`${label} exited early`);
    rss.push(m.rss);
    hwm = m.hwm;
    if (progress) process.stderr.write(`\r${label}: RSS ${m.rss.toFixed(0)} MiB, peak ${m.hwm.toFixed(0)} MiB, ${Math.ceil((end - Date.now()) / 1000)} s left   `);
    await new Promise((r) => setTimeout(r, 250));
  }
  const last = procMemory(pid);
  if (last) hwm = last.hwm;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
  if (progress) process.stderr.write('\n');
  // The mean of the second half: the steady state after start-up.
  const steady = rss.slice(Math.floor(rss.length / 2));
  return {
    rssMiB: Math.round(rss.at(-1) ?? 0),
    peakMiB: Math.round(hwm),
    meanMiB: Math.round(steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length)),
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

/** One simulated Stratum miner: subscribe, authorize, then a share for the current job every ~intervalMs. */
class LoadMiner {
  private readonly socket: net.Socket;
  private buffer = '';
  private en2Size = 4;
  private jobId: string | undefined;
  private ntime = '';
  private counter = 0;
  private nextId = 3;
  private timer: NodeJS.Timeout | undefined;
  authorized = false;
  accepted = 0;
  rejected = 0;
  closed = false;

  constructor(port: number, private readonly worker: string, private readonly intervalMs: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => {
      this.send({ id: 1, method: 'mining.subscribe', params: ['memload/1.0'] });
      this.send({ id: 2, method: 'mining.authorize', params: [worker, 'x'] });
    });
    this.socket.on('data', (d: string) => this.onData(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => { this.closed = true; clearTimeout(this.timer); clearInterval(this.timer); });
  }

  private send(msg: unknown): void {
    if (!this.socket.destroyed) this.socket.write(JSON.stringify(msg) + '\n');
  }

  private onData(data: string): void {
    this.buffer += data;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      let msg: { id?: number | null; method?: string; params?: unknown[]; result?: unknown; error?: unknown };
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.method === 'mining.notify' && msg.params) {
        this.jobId = String(msg.params[0]);
        this.ntime = String(msg.params[7]);
      } else if (msg.id === 1 && Array.isArray(msg.result)) {
        this.en2Size = Number(msg.result[2]);
      } else if (msg.id === 2) {
        this.authorized = msg.result === true;
        if (this.authorized) {
          // Spread the submits: each miner starts at a random point of its interval.
          this.timer = setTimeout(() => {
            if (this.closed) return;
            this.submit();
            this.timer = setInterval(() => this.submit(), this.intervalMs);
          }, Math.random() * this.intervalMs);
        }
      } else if (typeof msg.id === 'number' && msg.id >= 3) {
        if (msg.result === true) this.accepted++;
        else this.rejected++;
      }
    }
  }

  private submit(): void {
    if (!this.jobId) return;
    const en2 = (this.counter++).toString(16).padStart(this.en2Size * 2, '0').slice(-this.en2Size * 2);
    const nonce = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
    this.send({ id: this.nextId++, method: 'mining.submit', params: [this.worker, this.jobId, en2, this.ntime, nonce] });
  }

  close(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.socket.destroy();
  }
}

function suggested(peakMiB: number): number {
  return Math.ceil((peakMiB * 1.5) / 32) * 32;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '1,2,4,8' },
      duration: { type: 'string', default: '20' },
      miners: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
      'skip-mine': { type: 'boolean', default: false },
      'skip-serve': { type: 'boolean', default: false },
    },
  });
  const threads = values.threads.split(',').map((t) => Number(t.trim()));
  const duration = Number(values.duration);
  const miners = Number(values.miners);
  if (!threads.every((t) => Number.isInteger(t) && t >= 1 && t <= 256)) throw new Error(`--threads must be a list of integers 1..256, got '${values.threads}'`);
  if (!(duration >= 2)) throw new Error(`--duration must be at least 2 seconds, got '${values.duration}'`);
  if (!Number.isInteger(miners) || miners < 1 || miners > 15_000) throw new Error(`--miners must be an integer 1..15000, got '${values.miners}'`);
  const progress = !values.json && process.stderr.isTTY === true;

  const result: { mine: Array<{ threads: number } & Sample & { shares: number }>; serve?: Sample & { miners: number; authorized: number; accepted: number; rejected: number } } = { mine: [] };

  if (!values['skip-mine']) {
    for (const t of threads) {
      // 2^-8: a share every few seconds per thread, so the share path runs too.
      const pool = new ScriptedPool({ difficulty: 2 ** -8, extranonce2Size: 8 });
      await pool.start();
      try {
        const run = spawnCli(['mine', '-o', pool.url, '-u', `mem.t${t}`, '-t', String(t), '-q', '--log-format', 'json'], { keepChars: 20_000 });
        const sample = await measure(run.child, run.exit, duration, `mine -t ${t}`, progress);
        result.mine.push({ threads: t, ...sample, shares: pool.shares.filter((s) => s.accepted).length });
        if (!values.json) console.log(`mine -t ${t}: peak ${sample.peakMiB} MiB, steady ${sample.meanMiB} MiB, at end ${sample.rssMiB} MiB (${result.mine.at(-1)!.shares} shares accepted)`);
      } finally {
        await pool.stop();
      }
    }
  }

  if (!values['skip-serve']) {
    const pool = new ScriptedPool({ difficulty: 2 ** -32, extranonce2Size: 8 });
    await pool.start();
    const loads: LoadMiner[] = [];
    try {
      const [stratumPort, httpPort] = [await freePort(), await freePort()];
      const easy = '1/4294967296'; // every hash is a share: each submit is checked, accepted and forwarded
      const run = spawnCli([
        'serve', '--pool', pool.url, '--user', 'mem.server', '--listen', `127.0.0.1:${stratumPort}`, '--http', `127.0.0.1:${httpPort}`,
        '--min-diff', easy, '--start-diff', easy, '--max-diff', easy, '--log-format', 'json', '--log-level', 'warn',
      ], { keepChars: 20_000 });
      await waitForPort(stratumPort, 15_000);
      for (let i = 0; i < miners; i++) {
        loads.push(new LoadMiner(stratumPort, `load.${i}`, 10_000));
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // connect in waves, not one SYN flood
      }
      const deadline = Date.now() + 30_000;
      while (loads.filter((l) => l.authorized).length < miners && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const authorized = loads.filter((l) => l.authorized).length;
      const sample = await measure(run.child, run.exit, duration, `serve with ${authorized} miners`, progress);
      result.serve = {
        miners, authorized, ...sample,
        accepted: loads.reduce((n, l) => n + l.accepted, 0), rejected: loads.reduce((n, l) => n + l.rejected, 0),
      };
      if (!values.json) {
        console.log(`serve with ${authorized}/${miners} miners: peak ${sample.peakMiB} MiB, steady ${sample.meanMiB} MiB, at end ${sample.rssMiB} MiB `
          + `(${result.serve.accepted} shares accepted, ${result.serve.rejected} rejected)`);
      }
    } finally {
      for (const l of loads) l.close();
      await pool.stop();
    }
  }

  const defaults = {
    minerMemByThreads: Object.fromEntries(result.mine.map((m) => [m.threads, suggested(m.peakMiB)])),
    serverMem: result.serve ? suggested(result.serve.peakMiB) : undefined,
  };
  if (values.json) console.log(JSON.stringify({ ...result, suggestedMiB: defaults }));
  else console.log(`suggested (peak + 50 %, 32 MiB steps): miner ${JSON.stringify(defaults.minerMemByThreads)}, server ${defaults.serverMem ?? '-'}`);
}

main().catch((err: unknown) => {
  console.error(`bench/memory: ${(err as Error).message}`);
  process.exitCode = 1;
});
