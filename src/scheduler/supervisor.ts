// One supervised child process: started, its output prefixed line by line, restarted with backoff when it exits
// (unless we are stopping), SIGTERM on stop and SIGKILL if it does not exit within the grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RelaunchBackoff, type BackoffOptions } from './backoff.js';

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export type ChildState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ChildStatus {
  name: string;
  state: ChildState;
  pid?: number;
  restarts: number;
  /** Running since (ms since the epoch). */
  runningSince?: number;
  lastExit?: { code: number | null; signal: string | null; at: number };
  nextStartInMs?: number;
}

export interface SupervisorOptions {
  name: string;
  spec: ProcessSpec;
  restart: BackoffOptions & { stableMs: number };
  /** Where prefixed output lines go. */
  output: NodeJS.WritableStream;
  onEvent?: (event: 'start' | 'exit' | 'restart-scheduled', detail: Record<string, unknown>) => void;
}

export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private state: ChildState = 'stopped';
  private restarts = 0;
  private startedAt = 0;
  private lastExit: ChildStatus['lastExit'];
  private restartTimer: NodeJS.Timeout | undefined;
  private restartAt = 0;
  private readonly backoff: RelaunchBackoff;
  private exitWaiters: Array<() => void> = [];

  constructor(private readonly opts: SupervisorOptions) {
    this.backoff = new RelaunchBackoff(opts.restart);
  }

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.state === 'stopping') return;
    const { spec } = this.opts;
    this.state = 'starting';
    // The parent's environment minus nothing: the child needs PATH, HOME...; secrets ride in spec.env.
    // detached: its own process group, so a terminal's Ctrl-C reaches only us and we stop the children in order
    // (miners first, so their last shares still reach the server). The IPC channel tells a mesos-miner child
    // that we died (src/cli.ts shuts down on 'disconnect'), so a killed supervisor leaves no orphan hashing.
    const child = spawn(spec.command, spec.args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => this.opts.output.write(`[${this.opts.name}] ${line}\n`));
    }
    child.once('spawn', () => {
      if (this.state === 'starting') this.state = 'running';
      this.opts.onEvent?.('start', { pid: child.pid });
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT...): no 'exit' follows when the process never started.
      if (child.pid === undefined) this.onExit(child, null, null, err.message);
    });
    // 'close' (not 'exit'): fires once the child's output pipes are drained, so its last lines are not lost.
    child.once('close', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const now = Date.now();
    this.lastExit = { code, signal, at: now };
    const stopping = this.state === 'stopping';
    this.opts.onEvent?.('exit', { code, signal, error, stopping });
    if (stopping) {
      this.state = 'stopped';
      for (const w of this.exitWaiters.splice(0)) w();
      return;
    }
    this.backoff.recordExit(now, now - this.startedAt, false);
    const delay = this.backoff.waitMs(now);
    this.state = 'backoff';
    this.restartAt = now + delay;
    this.opts.onEvent?.('restart-scheduled', { delayMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts += 1;
      this.start();
    }, delay);
  }

  /** SIGTERM (forwarded to the child), then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs: number): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.state = 'stopping';
    return new Promise<void>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      this.exitWaiters.push(() => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  status(): ChildStatus {
    return {
      name: this.opts.name,
      state: this.state,
      ...(this.child?.pid !== undefined ? { pid: this.child.pid } : {}),
      restarts: this.restarts,
      ...(this.state === 'running' ? { runningSince: this.startedAt } : {}),
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      ...(this.state === 'backoff' ? { nextStartInMs: Math.max(0, this.restartAt - Date.now()) } : {}),
    };
  }
}
