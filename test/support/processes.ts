// Child processes and ports for tests (and benches) that run the built CLI (dist/cli.js) the way users do.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The built CLI; `npm run build` makes it. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const CLI_SOURCE = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null }

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr interleaved in arrival order. */
  output: () => string;
  exit: Promise<ExitStatus>;
}

export interface CliRunOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Keep only the last this-many characters of each capture (long benches). Default: everything. */
  keepChars?: number;
  /** Run src/cli.ts through tsx instead of the built dist/cli.js. */
  fromSource?: boolean;
}

/** Starts `node dist/cli.js ...args` with piped output captured as text. */
export function spawnCli(args: string[], options: CliRunOptions = {}): CliRun {
  const entry = options.fromSource ? ['--import', 'tsx', CLI_SOURCE] : [CLI_PATH];
  return spawnCaptured(process.execPath, [...entry, ...args], options);
}

/** Starts any program (e.g. the peers' cpuminer) with piped output captured as text. */
export function spawnCaptured(command: string, args: string[], options: Omit<CliRunOptions, 'fromSource'> = {}): CliRun {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = options.keepChars ?? Infinity;
  const trim = (s: string) => (s.length > keep ? s.slice(-keep) : s);
  let out = '';
  let err = '';
  let both = '';
  child.stdout!.on('data', (d: Buffer) => { out = trim(out + d.toString()); both = trim(both + d.toString()); });
  child.stderr!.on('data', (d: Buffer) => { err = trim(err + d.toString()); both = trim(both + d.toString()); });
  const exit = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, output: () => both, exit };
}

export interface RunResult {
  /** The exit code; null when a signal ended the child (SIGTERM after the 60 s timeout). */
  code: number | null;
  /** The signal that ended the child, or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node ...args` to its end (60 s at most, then SIGTERM) and gives how it ended and its output, whatever the
 * code. Rejects only when there is no such end to give (it could not start; output over execFile's maxBuffer).
 */
export function runNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { ...options, timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, signal: null, stdout, stderr });
      const code = typeof err.code === 'number' ? err.code : null;
      const signal = (err.signal as NodeJS.Signals | undefined) ?? null;
      if (code === null && signal === null) return reject(err);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** SIGKILLs every child still running and empties the list (afterEach cleanup after a failed test). */
export function killStillRunning(children: ChildProcess[]): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, and the `count - 1` ports after it (`local --servers 2` takes
 * a port and the next), for children and peers that need fixed ports. Chosen in 10000-19999: below the real Mesos
 * agent's task ports (20000-31999, see peers.ts) and below Linux's ephemeral range (32768+), where any outgoing
 * connection or listener on port 0 may take a port between the check and the child's bind (seen: bcoin's p2p port;
 * local-launcher's second server, EADDRINUSE while a busy machine was starting it).
 */
export async function freePort(count = 1): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (10_000 - count));
    if (await canListen(port, count)) return port;
  }
}

/** Whether ports port..port+count-1 on 127.0.0.1 can all be listened on now. */
async function canListen(port: number, count: number): Promise<boolean> {
  const servers: net.Server[] = [];
  try {
    for (let p = port; p < port + count; p++) {
      const server = net.createServer();
      servers.push(server);
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(p, '127.0.0.1', () => resolve(true));
      });
      if (!ok) return false;
    }
    return true;
  } finally {
    await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Whether a process with this pid exists (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** VmRSS (resident now) and VmHWM (the kernel's resident peak) of a process in MiB, from /proc; undefined once it exited. */
export function procMemory(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const mib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), hwm: mib('VmHWM') };
}

/** The JSON log lines (pino, --log-format json) in a child's captured output, parsed; a line still being written is left out. */
export function jsonLines(text: string): Array<{ msg?: string; [k: string]: unknown }> {
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; [k: string]: unknown });
}

/** The most log lines written within any one second, by the lines' own timestamps (pino's `time`, in ms). */
export function maxLinesPerSecond(lines: Array<Record<string, unknown>>): number {
  const times = lines.map((l) => Number(l.time)).filter(Number.isFinite).sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= 1000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
