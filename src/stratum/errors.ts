// Stratum v1 share/RPC error codes and the [code, message, data] triple pools send in `error`.

/** Share error codes used by pools (cgminer / ckpool / most pools agree on these). */
export const StratumErrorCode = {
  Other: 20,
  JobNotFound: 21,
  DuplicateShare: 22,
  LowDifficulty: 23,
  Unauthorized: 24,
  NotSubscribed: 25,
} as const;
export type StratumErrorCodeValue = (typeof StratumErrorCode)[keyof typeof StratumErrorCode];

const DEFAULT_MESSAGES: Record<number, string> = {
  20: 'Other/Unknown',
  21: 'Job not found',
  22: 'Duplicate share',
  23: 'Low difficulty share',
  24: 'Unauthorized worker',
  25: 'Not subscribed',
};

/** JSON-RPC 2.0-style codes some pools use for method-level errors. */
export const RpcErrorCode = {
  MethodNotFound: -32601,
  InvalidParams: -32602,
} as const;

/** The parsed form of a Stratum `error` field. */
export interface StratumErrorInfo {
  code: number;
  message: string;
  data?: unknown;
}

/** The wire form: [code, message, data]. */
export type StratumErrorTriple = [number, string, unknown];

export function stratumError(code: number, message?: string, data: unknown = null): StratumErrorTriple {
  return [code, message ?? DEFAULT_MESSAGES[code] ?? `Error ${code}`, data];
}

/**
 * Reads the `error` member of a response. Pools are not consistent: most send [code, msg, data], some send
 * {code, message}, a few a bare string. Returns null for "no error" (null/undefined/false).
 */
export function parseStratumError(raw: unknown): StratumErrorInfo | null {
  if (raw === null || raw === undefined || raw === false) return null;
  if (Array.isArray(raw)) {
    const [code, message, data] = raw;
    return {
      code: typeof code === 'number' && Number.isFinite(code) ? code : StratumErrorCode.Other,
      message: typeof message === 'string' ? message : DEFAULT_MESSAGES[Number(code)] ?? JSON.stringify(raw),
      data: data ?? undefined,
    };
  }
  if (typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    const code = typeof o.code === 'number' && Number.isFinite(o.code) ? o.code : StratumErrorCode.Other;
    const message = typeof o.message === 'string' ? o.message : DEFAULT_MESSAGES[code] ?? JSON.stringify(raw);
    return { code, message, data: o.data };
  }
  if (typeof raw === 'string') return { code: StratumErrorCode.Other, message: raw };
  return { code: StratumErrorCode.Other, message: JSON.stringify(raw) };
}

export function describeStratumError(err: StratumErrorInfo): string {
  return `${err.message} (code ${err.code})`;
}

/** A peer violated the protocol (bad JSON, wrong shape, line too long). Never thrown across a socket callback. */
export class StratumProtocolError extends Error {
  constructor(
    message: string,
    readonly kind: 'line-too-long' | 'bad-json' | 'bad-shape' | 'bad-params',
    readonly line?: string,
  ) {
    super(message);
    this.name = 'StratumProtocolError';
  }
}

/** An RPC answered with an error, timed out, or the connection closed before it answered. */
export class StratumRequestError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly reason: 'error' | 'timeout' | 'closed',
    readonly error?: StratumErrorInfo,
  ) {
    super(message);
    this.name = 'StratumRequestError';
  }
}

/** Shortens a peer-supplied line for inclusion in an error message / log. */
export function excerpt(line: string, max = 120): string {
  return line.length <= max ? line : `${line.slice(0, max)}… (${line.length} chars)`;
}
