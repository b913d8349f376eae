// Structured logs (pino): JSON lines for machines (Mesos sandboxes, log shippers), a pretty mode for terminals.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface LogOptions {
  format?: LogFormat;
  level?: string;
  /** Where log lines go; stderr by default so stdout stays free for command output (bench --json). */
  destination?: NodeJS.WritableStream;
  name?: string;
}

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
  const base = { level: opts.level ?? 'info', name: opts.name };
  if (format === 'pretty') {
    // One line per event: a miner logs a line per share, and fields spread over lines drown the terminal.
    return pino(base, pretty({ destination, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', singleLine: true }));
  }
  return pino(base, destination);
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
