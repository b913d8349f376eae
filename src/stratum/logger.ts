// The logging surface the stratum layer needs; a pino logger satisfies it. Defaults to silence.

type LogFn = (obj: object, msg: string) => void;

export interface StratumLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => {};
export const silentLogger: StratumLogger = { debug: noop, info: noop, warn: noop, error: noop };
