// Structured logs (pino): JSON lines for machines (Mesos sandboxes, log shippers), a pretty mode for terminals.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { RepeatLimiter } from './repeat-limiter.js';

export type { Logger };
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface LogOptions {
  format?: LogFormat;
  level?: string;
  /** Where log lines go; stderr by default so stdout stays free for command output (bench --json). */
  destination?: NodeJS.WritableStream;
  name?: string;
  /**
   * Lines with the same message allowed per second (bursts of as many); beyond that they are only counted and a
   * summary line a second says how many were left out. Default REPEATS_PER_SECOND; Infinity: no limit.
   */
  repeatsPerSecond?: number;
}

/** A flood of one message (a share or block line at a tiny difficulty, the same error again and again) is summarised. */
export const REPEATS_PER_SECOND = 10;

/** Pretty when stderr is a terminal, JSON otherwise (what a container's log driver expects). */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}

export function parseLogFormat(value: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${value}'`);
}

export function createLogger(opts: LogOptions = {}): Logger {
  const format = opts.format ?? defaultLogFormat();
  const destination = opts.destination ?? process.stderr;
  const repeats = opts.repeatsPerSecond ?? REPEATS_PER_SECOND;
  let root: Logger | undefined;
  const limiter =
    repeats === Infinity
      ? undefined
      : new RepeatLimiter(repeats, (message, level, suppressed) => {
          const method = pino.levels.labels[level] as 'info';
          root?.[method]({ suppressed, message }, `log lines left out: the same message more than ${repeats} times a second`);
        });
  const base = {
    level: opts.level ?? 'info',
    name: opts.name,
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: Logger['info'], level: number) {
        const message = typeof args[0] === 'string' ? args[0] : args[1];
        if (!limiter || limiter.allow(typeof message === 'string' ? message : '', level)) method.apply(this, args);
      },
    },
  };
  root =
    format === 'pretty'
      ? // One line per event: a miner logs a line per share, and fields spread over lines drown the terminal.
        pino(base, pretty({ destination, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', singleLine: true }))
      : pino(base, destination);
  if (limiter) {
    // Flushing the log (shutdown does, before exit) reports the lines still held back first: never silent.
    const flush = root.flush.bind(root);
    root.flush = (cb?: (err?: Error) => void) => {
      limiter.flush();
      flush(cb);
    };
  }
  return root;
}

/**
 * The logging surface library modules take (stratum, mesos, ...): a pino Logger satisfies it, and so does a
 * test's recorder. Object first, message second, as pino does.
 */
export interface LogSink {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything: the default for library code and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
