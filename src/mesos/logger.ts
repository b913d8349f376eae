// The logging surface src/mesos needs: structurally compatible with a pino Logger (obj first, message second).
export interface MesosLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** Drops everything: the default when no logger is given. */
export const silentMesosLogger: MesosLogger = { debug: noop, info: noop, warn: noop, error: noop };
