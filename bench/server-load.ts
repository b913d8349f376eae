// Load benchmark of the miner server: N simulated miners on loopback submitting shares at a fixed total rate.
//
//   ulimit -n 65536   # each connection is a file descriptor in both processes
//   npx tsx bench/server-load.ts --connections 10000 --rate 20000 --duration 20 --warmup 5 --extranonce2 reuse|fresh [--json]
//
// Diagnostics (environment): SERVER_LOAD_CPU_PROF=<dir> (V8 CPU profile of the server), SERVER_LOAD_NODE_FLAGS=
// '--trace-gc ...' (extra node flags for the server), SERVER_LOAD_TIMELINE=1 (the 100 ms windows with most answers
// over 10 ms: tells GC pauses or a busy machine from steady queueing), SERVER_LOAD_ALLOC_PROF=<file> (sampling heap
// profile of all the server allocates while measuring, garbage included).
//
// The server runs in a child process (its own core, its own RSS) behind an in-process upstream that hands out a
// realistic job (12-level merkle branch) every 30 s. Session difficulty is pinned so low that every share is
// valid: each one is fully checked (coinbase, merkle fold, header, sha256d, duplicate set) and answered `true`.
// This process is the load generator: it connects, subscribes, authorizes, then submits round-robin and
// measures the answer latency of every share.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { MinerServer } from '../src/server/miner-server.js';
import type {
  ShareOutcome,
  Upstream,
  UpstreamEvents,
  UpstreamJob,
  UpstreamStatus,
  UpstreamWorkSpace,
} from '../src/upstream/types.js';

const EASY = 2 ** -40; // its target is above 2^256-1, capped there: every hash qualifies

// ---- server side (child process) --------------------------------------------------------------------------------

/** A stand-in pool: one extranonce space, a new job every 30 s, every forwarded share accepted. */
class BenchUpstream extends EventEmitter<UpstreamEvents> implements Upstream {
  readonly kind = 'stratum' as const;
  private readonly space: UpstreamWorkSpace = { spaceId: 'bench', extranonce1: 'f00dbabe', extranonce2Size: 8 };
  private job: UpstreamJob | null = null;
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  async start(): Promise<void> {
    this.emit('space', this.space);
    this.nextJob();
    this.timer = setInterval(() => this.nextJob(), 30_000);
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
  private nextJob(): void {
    const hex = (n: number) => randomBytes(n).toString('hex');
    this.job = {
      spaceId: 'bench',
      jobId: (++this.n).toString(16),
      prevhash: hex(32),
      coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff35' + hex(20),
      coinb2: hex(40) + 'ffffffff0100f2052a010000001976a914' + hex(20) + '88ac00000000',
      merkleBranch: Array.from({ length: 12 }, () => hex(32)),
      version: '20000000',
      nbits: '17034219',
      ntime: Math.floor(Date.now() / 1000).toString(16),
      target: 1n, // nothing meets it: no forwarding, the bench measures the server alone
      difficulty: 1e12,
      clean: true,
      versionMask: 0x1fffe000,
      receivedAt: Date.now(),
    };
    this.emit('job', this.job);
  }
  submit(): Promise<ShareOutcome> {
    return Promise.resolve({ accepted: true });
  }
  spaces(): UpstreamWorkSpace[] {
    return [this.space];
  }
  currentJob(): UpstreamJob | null {
    return this.job;
  }
  addSpace(): Promise<UpstreamWorkSpace> {
    return Promise.reject(new Error('bench upstream has one space'));
  }
  status(): UpstreamStatus {
    return { kind: 'stratum', state: 'connected', endpoint: 'bench', difficulty: 1e12, currentJobId: this.job?.jobId ?? null, spaces: [this.space], accepted: 0, rejected: 0, blocks: 0, reconnects: 0, lastError: null };
  }
}

async function runServer(): Promise<void> {
  const upstream = new BenchUpstream();
  const server = new MinerServer({
    upstream,
    host: '127.0.0.1',
    port: 0,
    maxConnections: 100_000,
    submitRatePerSecond: 1000,
    initialDifficulty: EASY,
    vardiff: { minDifficulty: EASY, maxDifficulty: EASY, targetSeconds: 10 },
  });
  await upstream.start();
  const { port } = await server.listen();
  let cpuMark = process.cpuUsage();
  let timeMark = process.hrtime.bigint();
  const allocProfile = process.env.SERVER_LOAD_ALLOC_PROF ? await allocationProfiler(process.env.SERVER_LOAD_ALLOC_PROF) : null;
  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd === 'mark') {
      allocProfile?.start();
      cpuMark = process.cpuUsage();
      timeMark = process.hrtime.bigint();
      process.send!({ cmd: 'marked', accepted: server.stats.accepted, rejected: server.stats.rejected });
    } else if (msg.cmd === 'stats') {
      allocProfile?.stop();
      const cpu = process.cpuUsage(cpuMark);
      const wallUs = Number(process.hrtime.bigint() - timeMark) / 1000;
      const mem = process.memoryUsage();
      process.send!({
        cmd: 'stats',
        connections: server.connectionCount,
        accepted: server.stats.accepted,
        rejected: server.stats.rejected,
        rejectedByReason: server.stats.rejectedByReason,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        cpuPercent: ((cpu.user + cpu.system) / wallUs) * 100,
      });
    } else if (msg.cmd === 'exit') {
      void server.close(0).then(() => upstream.stop()).then(() => process.exit(0));
    }
  });
  // If the load generator dies, do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send!({ cmd: 'ready', port });
}

/**
 * SERVER_LOAD_ALLOC_PROF=<file>: a sampling heap profile of everything the server allocates while measuring,
 * garbage included (what the young-generation GC has to clean up), written as a .heapprofile (Chrome DevTools).
 */
async function allocationProfiler(file: string): Promise<{ start(): void; stop(): void }> {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    start: () => {
      void post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    },
    stop: () => {
      void post('HeapProfiler.stopSampling').then((r) => {
        writeFileSync(file, JSON.stringify((r as { profile: unknown }).profile));
        process.stderr.write(`allocation profile written to ${file}\n`);
      });
    },
  };
}

// ---- load generator ----------------------------------------------------------------------------------------------

interface SimMiner {
  socket: Socket;
  buffer: string;
  jobId: string;
  ntime: string;
  en2Size: number;
  nonce: number;
  en2: number;
  ready: boolean;
  sentAt: number[]; // FIFO of send times of unanswered submits (the server answers in order)
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runLoad(opts: { connections: number; rate: number; duration: number; warmup: number; json: boolean; fresh: boolean }): Promise<void> {
  const log = (s: string) => {
    if (!opts.json) process.stderr.write(s + '\n');
  };
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--role', 'server'], {
    // SERVER_LOAD_CPU_PROF=<dir> writes a V8 CPU profile of the server process there.
    execArgv: [
      '--import',
      'tsx',
      '--max-old-space-size=4096',
      ...(process.env.SERVER_LOAD_NODE_FLAGS ? process.env.SERVER_LOAD_NODE_FLAGS.split(' ') : []),
      ...(process.env.SERVER_LOAD_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVER_LOAD_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(cmd: string, reply: string) =>
    new Promise<T>((resolve) => {
      const on = (m: { cmd: string }) => {
        if (m.cmd === reply) {
          child.off('message', on);
          resolve(m as T);
        }
      };
      child.on('message', on);
      if (cmd) child.send({ cmd });
    });
  const { port } = await ask<{ port: number }>('', 'ready');
  log(`server child pid ${child.pid} on 127.0.0.1:${port}; connecting ${opts.connections} miners...`);

  const latencies: number[] = [];
  // SERVER_LOAD_TIMELINE=1: also keep answer times, to print the worst 100 ms windows (where do slow answers cluster?).
  const timeline: number[] | null = process.env.SERVER_LOAD_TIMELINE ? [] : null;
  let answered = 0;
  let errors = 0;
  let measuring = false;
  const miners: SimMiner[] = [];
  const connectStart = Date.now();
  const onLine = (m: SimMiner, line: string) => {
    // Submit answers are the hot path here: recognised without JSON.parse to keep the generator cheap.
    if (line.startsWith('{"id":') && !line.startsWith('{"id":null')) {
      const comma = line.indexOf(',');
      const id = Number(line.slice(6, comma));
      if (id === 1) {
        m.en2Size = JSON.parse(line).result?.[2] ?? 4;
        return;
      }
      if (id === 2) return;
      const sent = m.sentAt.shift();
      if (sent === undefined || !measuring) return;
      answered++;
      const now = performance.now();
      latencies.push(now - sent);
      if (timeline) timeline.push(now);
      if (!line.includes('"result":true')) errors++;
      return;
    }
    if (line.includes('"method":"mining.notify"')) {
      const msg = JSON.parse(line);
      m.jobId = msg.params[0];
      m.ntime = msg.params[7];
      m.ready = true;
    }
  };
  const open = () =>
    new Promise<SimMiner>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const m: SimMiner = { socket, buffer: '', jobId: '', ntime: '', en2Size: 4, nonce: 0, en2: 0, ready: false, sentAt: [] };
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        m.buffer += d;
        let nl: number;
        while ((nl = m.buffer.indexOf('\n')) !== -1) {
          const line = m.buffer.slice(0, nl);
          m.buffer = m.buffer.slice(nl + 1);
          if (line) onLine(m, line);
        }
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write('{"id":1,"method":"mining.subscribe","params":["bench/1"]}\n{"id":2,"method":"mining.authorize","params":["bench","x"]}\n');
        resolve(m);
      });
    });
  for (let i = 0; i < opts.connections; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, opts.connections - i) }, () => open()));
    miners.push(...batch);
  }
  const deadline = Date.now() + 60_000;
  while (miners.some((m) => !m.ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ready = miners.filter((m) => m.ready).length;
  log(`${ready}/${opts.connections} miners ready in ${((Date.now() - connectStart) / 1000).toFixed(1)} s; submitting ${opts.rate} shares/s for ${opts.duration} s`);

  // Submit in 1 ms ticks (small bursts, so queueing inside the generator's own bursts stays out of the figures),
  // round-robin over the miners, at the fixed total rate.
  let cursor = 0;
  let sent = 0;
  let id = 10;
  const tickMs = 1;
  const start = performance.now();
  const warmupMs = opts.warmup * 1000;
  let markedAt = 0;
  let clientCpuMark = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      if (!measuring && elapsed >= warmupMs) {
        measuring = true;
        markedAt = performance.now();
        clientCpuMark = process.cpuUsage();
        child.send({ cmd: 'mark' });
      }
      if (elapsed >= warmupMs + opts.duration * 1000) return resolve();
      const due = Math.floor((elapsed / 1000) * opts.rate) - sent;
      for (let k = 0; k < due; k++) {
        const m = miners[cursor++ % miners.length]!;
        if (!m.ready) continue;
        // fresh: a new extranonce2 for every share (worst case: a new coinbase and merkle fold each time);
        // reuse: one extranonce2 per miner and a new nonce each time (a CPU miner thread's pattern).
        const nonce = (opts.fresh ? m.nonce : m.nonce++ >>> 0).toString(16).padStart(8, '0');
        const en2 = ((opts.fresh ? m.en2++ : m.en2) >>> 0).toString(16).padStart(m.en2Size * 2, '0').slice(-m.en2Size * 2);
        m.sentAt.push(performance.now());
        m.socket.write(`{"id":${id++},"method":"mining.submit","params":["bench","${m.jobId}","${en2}","${m.ntime}","${nonce}"]}\n`);
      }
      sent += due;
      setTimeout(tick, tickMs);
    };
    tick();
  });
  const windowS = (performance.now() - markedAt) / 1000;
  const clientCpu = process.cpuUsage(clientCpuMark);
  const clientCpuPercent = ((clientCpu.user + clientCpu.system) / 1e6 / windowS) * 100;
  await new Promise((r) => setTimeout(r, 500)); // let the last answers arrive
  const stats = await ask<{ connections: number; accepted: number; rejected: number; rejectedByReason: object; rssBytes: number; heapUsedBytes: number; cpuPercent: number }>('stats', 'stats');
  if (timeline) {
    const windows = new Map<number, { n: number; max: number; slow: number }>();
    timeline.forEach((t, i) => {
      const w = Math.floor((t - markedAt) / 100);
      const e = windows.get(w) ?? { n: 0, max: 0, slow: 0 };
      e.n++;
      e.max = Math.max(e.max, latencies[i]!);
      if (latencies[i]! > 10) e.slow++;
      windows.set(w, e);
    });
    const worst = [...windows].sort((a, b) => b[1].slow - a[1].slow).slice(0, 15);
    for (const [w, e] of worst) log(`  window ${(w / 10).toFixed(1)} s: ${e.n} answers, ${e.slow} over 10 ms, max ${e.max.toFixed(1)} ms`);
  }
  const sorted = Float64Array.from(latencies).sort();
  const backlog = miners.reduce((a, m) => a + m.sentAt.length, 0);
  const result = {
    connectionsRequested: opts.connections,
    connectionsHeld: stats.connections,
    rateRequested: opts.rate,
    extranonce2: opts.fresh ? 'fresh' : 'reuse',
    durationSeconds: Number(windowS.toFixed(2)),
    sharesAnswered: answered,
    sharesPerSecond: Math.round(answered / windowS),
    errors,
    unansweredAtEnd: backlog,
    latencyMs: { p50: +percentile(sorted, 50).toFixed(3), p99: +percentile(sorted, 99).toFixed(3), p999: +percentile(sorted, 99.9).toFixed(3), max: +percentile(sorted, 100).toFixed(3) },
    loadAverage: loadavg().map((l) => +l.toFixed(2)),
    loadGeneratorCpuPercent: +clientCpuPercent.toFixed(1),
    server: {
      rssMiB: +(stats.rssBytes / 2 ** 20).toFixed(1),
      heapUsedMiB: +(stats.heapUsedBytes / 2 ** 20).toFixed(1),
      cpuPercent: +stats.cpuPercent.toFixed(1),
      accepted: stats.accepted,
      rejected: stats.rejected,
      rejectedByReason: stats.rejectedByReason,
    },
  };
  for (const m of miners) m.socket.destroy();
  child.send({ cmd: 'exit' });
  await new Promise((r) => child.once('exit', r));
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    console.log(
      [
        `connections held      ${result.connectionsHeld} / ${result.connectionsRequested}`,
        `shares/s validated    ${result.sharesPerSecond} (requested ${result.rateRequested}; ${result.errors} errors, ${result.unansweredAtEnd} unanswered)` +
          (result.server.rejected > 0 ? ` rejected: ${JSON.stringify(result.server.rejectedByReason)}` : ''),
        `answer latency        p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, p99.9 ${result.latencyMs.p999} ms, max ${result.latencyMs.max} ms`,
        `server                RSS ${result.server.rssMiB} MiB, heap ${result.server.heapUsedMiB} MiB, CPU ${result.server.cpuPercent}% of one core`,
        `load generator        CPU ${result.loadGeneratorCpuPercent}% of one core (if ~100%, the generator is the limit)`,
        `machine               load average ${result.loadAverage.join(' ')} at the end (${cpus().length} CPUs)`,
      ].join('\n'),
    );
  }
}

// ---- entry -------------------------------------------------------------------------------------------------------

const program = new Command()
  .name('server-load')
  .description('load benchmark of the miner server (see the header of bench/server-load.ts)')
  .option('--connections <n>', 'simulated miners', '1000')
  .option('--rate <n>', 'total shares per second', '5000')
  .option('--duration <s>', 'measured seconds (after a short warm-up)', '10')
  .option('--warmup <s>', 'seconds of load before measuring (JIT, first coinbase of every miner, heap growth)', '3')
  .option('--extranonce2 <mode>', 'fresh: new extranonce2 per share (worst case); reuse: new nonce per share', 'fresh')
  .option('--json', 'print one JSON document')
  .addOption(new (await import('commander')).Option('--role <role>').hideHelp().default('load'))
  .action(async (o: { connections: string; rate: string; duration: string; warmup: string; json?: boolean; role: string; extranonce2: string }) => {
    if (o.role === 'server') return runServer();
    const num = (flag: string, v: string, max: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be an integer 1..${max}, got '${v}'`);
      return n;
    };
    await runLoad({
      connections: num('--connections', o.connections, 60_000),
      rate: num('--rate', o.rate, 1_000_000),
      duration: num('--duration', o.duration, 3600),
      warmup: (() => {
        const w = Number(o.warmup);
        if (!Number.isFinite(w) || w < 0 || w > 600) throw new Error(`--warmup must be 0..600 seconds, got '${o.warmup}'`);
        return w;
      })(),
      json: o.json === true,
      fresh: (() => {
        if (o.extranonce2 !== 'fresh' && o.extranonce2 !== 'reuse') throw new Error(`--extranonce2 must be fresh or reuse, got '${o.extranonce2}'`);
        return o.extranonce2 === 'fresh';
      })(),
    });
  });
try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`server-load: ${(err as Error).message}`);
  process.exit(2);
}
