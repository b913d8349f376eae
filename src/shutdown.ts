// SIGTERM/SIGINT for the long-running commands (mine, serve): a graceful stop, then exit 0, and never a hang. The
// hard deadline runs on a thread of its own: a timer on the main thread fires late, or never, while the main loop is
// busy (a flood of shares, a storm of promise callbacks, a blocking write to a full log pipe), and the kernel's
// worker threads would keep a stuck process alive. Its only job is to kill the process when the deadline passes.
import { Worker } from 'node:worker_threads';
import type { Logger } from './log.js';

/** How long after the grace period a stop that has not finished is cut short (the process is killed). */
export const HARD_DEADLINE_MS = 5000;

export interface ShutdownOptions {
  /** Names the process in the deadline's log line (the logger's name). */
  name: string;
  log: Logger;
  /** What the graceful stop may take; the process is killed HARD_DEADLINE_MS after that. */
  graceMs: number;
  /** The graceful stop. The process exits with code 0 when it resolves, 1 when it throws. */
  stop: (signal: NodeJS.Signals) => Promise<void>;
}

/** Stops on the first SIGTERM or SIGINT; a second one changes nothing (the default action would kill at once). */
export function exitOnSignals(options: ShutdownOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // First, before anything that could keep the main loop busy.
    startDeadline(options.name, options.graceMs + HARD_DEADLINE_MS);
    options.stop(signal).then(
      () => exit(options.log, 0),
      (err: Error) => {
        options.log.error({ err: err.message }, 'stopping failed');
        exit(options.log, 1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function exit(log: Logger, code: number): void {
  log.flush?.();
  process.exit(code);
}

// The watchdog thread: writes one JSON log line (asynchronously: a full stderr pipe must not hold the kill back)
// and kills the process with SIGKILL, which nothing can catch or delay.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { write } = require('node:fs');
setTimeout(() => {
  const kill = () => process.kill(process.pid, 'SIGKILL');
  const line = JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, name: workerData.name, msg: workerData.msg });
  write(2, line + '\\n', kill);
  setTimeout(kill, 100);
}, workerData.ms);
`;

/** Kills the process `ms` from now, whatever its main thread is doing. The thread does not keep the process alive. */
export function startDeadline(name: string, ms: number): void {
  const msg = `stopping took longer than ${ms} ms; killing the process`;
  try {
    new Worker(WATCHDOG, { eval: true, workerData: { name, ms, msg } }).unref();
  } catch {
    // No thread to be had (resource limits): a main-thread timer is second best.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), ms).unref();
  }
}
