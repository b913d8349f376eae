// Typed params/results of every Stratum v1 method, with validating parsers. Parsers throw
// StratumProtocolError('bad-params') with the method name and the offending value; callers catch and log.
import { StratumProtocolError } from './errors.js';

function fail(method: string, what: string, value: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 200) shown = `${shown.slice(0, 200)}…`;
  throw new StratumProtocolError(`${method}: ${what} (got ${shown})`, 'bad-params');
}

const HEX = /^[0-9a-fA-F]*$/;

/** Checks an even-length hex string (optionally of an exact byte length) and returns it lower-cased. */
export function expectHex(method: string, field: string, value: unknown, byteLength?: number): string {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !HEX.test(value)) {
    fail(method, `${field} must be an even-length hex string`, value);
  }
  if (byteLength !== undefined && value.length !== byteLength * 2) {
    fail(method, `${field} must be ${byteLength} bytes of hex`, value);
  }
  return value.toLowerCase();
}

function expectParams(method: string, params: unknown, min: number): unknown[] {
  if (!Array.isArray(params)) fail(method, 'params must be an array', params);
  if (params.length < min) fail(method, `expected at least ${min} params, got ${params.length}`, params);
  return params;
}

function expectInt(method: string, field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(method, `${field} must be an integer in [${min}, ${max}]`, value);
  }
  return n;
}

// ---- mining.subscribe -------------------------------------------------------------------------------------

export interface SubscribeResult {
  /** [method, subscription id] pairs as sent by the pool. */
  subscriptions: [string, string][];
  /** The id a reconnecting miner passes back to resume its session (the mining.notify subscription id). */
  sessionId: string | undefined;
  extranonce1: string;
  extranonce2Size: number;
}

export const MAX_EXTRANONCE2_SIZE = 16;

export function parseSubscribeResult(result: unknown): SubscribeResult {
  const m = 'mining.subscribe';
  const r = expectParams(m, result, 3);
  const subscriptions: [string, string][] = [];
  const raw = r[0];
  // Either one pair ["mining.notify", "id"] or a list of pairs; some pools send null or [].
  const pairs = Array.isArray(raw) && raw.length === 2 && typeof raw[0] === 'string' ? [raw] : raw;
  if (Array.isArray(pairs)) {
    for (const p of pairs) {
      if (Array.isArray(p) && typeof p[0] === 'string' && (typeof p[1] === 'string' || typeof p[1] === 'number')) {
        subscriptions.push([p[0], String(p[1])]);
      }
    }
  } else if (raw !== null && raw !== undefined) {
    fail(m, 'subscriptions must be an array', raw);
  }
  const notifySub = subscriptions.find(([name]) => name === 'mining.notify');
  return {
    subscriptions,
    sessionId: notifySub?.[1] || undefined,
    extranonce1: expectHex(m, 'extranonce1', r[1]),
    extranonce2Size: expectInt(m, 'extranonce2_size', r[2], 1, MAX_EXTRANONCE2_SIZE),
  };
}

// ---- mining.notify ----------------------------------------------------------------------------------------

/** A job as the pool sends it. Hex fields are kept as received (lower-cased); numbers are the uint32 values. */
export interface StratumJob {
  jobId: string;
  /** 32 bytes in Stratum's word-swapped order (see reference/stratum.md, "prevhash quirk"). */
  prevHash: string;
  coinb1: string;
  coinb2: string;
  /** Each 32 bytes, raw order as sent: root = sha256d(root ‖ branch). */
  merkleBranch: string[];
  /** Big-endian hex of the uint32 fields, as received (submit ntime exactly like this). */
  versionHex: string;
  nbitsHex: string;
  ntimeHex: string;
  version: number;
  nbits: number;
  ntime: number;
  cleanJobs: boolean;
}

export function parseNotifyParams(params: unknown): StratumJob {
  const m = 'mining.notify';
  const p = expectParams(m, params, 9);
  const jobId = typeof p[0] === 'number' ? String(p[0]) : p[0];
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 128) {
    fail(m, 'job_id must be a non-empty string', p[0]);
  }
  if (!Array.isArray(p[4])) fail(m, 'merkle_branch must be an array', p[4]);
  const merkleBranch = p[4].map((b, i) => expectHex(m, `merkle_branch[${i}]`, b, 32));
  const versionHex = expectHex(m, 'version', p[5], 4);
  const nbitsHex = expectHex(m, 'nbits', p[6], 4);
  const ntimeHex = expectHex(m, 'ntime', p[7], 4);
  if (typeof p[8] !== 'boolean') fail(m, 'clean_jobs must be a boolean', p[8]);
  return {
    jobId,
    prevHash: expectHex(m, 'prevhash', p[1], 32),
    coinb1: expectHex(m, 'coinb1', p[2]),
    coinb2: expectHex(m, 'coinb2', p[3]),
    merkleBranch,
    versionHex,
    nbitsHex,
    ntimeHex,
    version: parseInt(versionHex, 16) >>> 0,
    nbits: parseInt(nbitsHex, 16) >>> 0,
    ntime: parseInt(ntimeHex, 16) >>> 0,
    cleanJobs: p[8],
  };
}

/** The wire form of a job (for servers re-announcing work). */
export function notifyParams(job: StratumJob): unknown[] {
  return [
    job.jobId,
    job.prevHash,
    job.coinb1,
    job.coinb2,
    job.merkleBranch,
    job.versionHex,
    job.nbitsHex,
    job.ntimeHex,
    job.cleanJobs,
  ];
}

// ---- mining.set_difficulty / suggest_difficulty ----------------------------------------------------------

export function parseDifficulty(method: string, params: unknown): number {
  const p = expectParams(method, params, 1);
  const d = typeof p[0] === 'string' && p[0].trim() !== '' ? Number(p[0]) : p[0];
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
    fail(method, 'difficulty must be a positive finite number', p[0]);
  }
  return d;
}

export function parseSetDifficultyParams(params: unknown): number {
  return parseDifficulty('mining.set_difficulty', params);
}

// ---- mining.set_extranonce ----------------------------------------------------------------------------------

export interface ExtranonceParams {
  extranonce1: string;
  extranonce2Size: number;
}

export function parseSetExtranonceParams(params: unknown): ExtranonceParams {
  const m = 'mining.set_extranonce';
  const p = expectParams(m, params, 2);
  return {
    extranonce1: expectHex(m, 'extranonce1', p[0]),
    extranonce2Size: expectInt(m, 'extranonce2_size', p[1], 1, MAX_EXTRANONCE2_SIZE),
  };
}

// ---- mining.configure (BIP 310) / mining.set_version_mask ---------------------------------------------------

/** BIP 310's recommended mask: bits 13..28. */
export const DEFAULT_VERSION_ROLLING_MASK = 0x1fffe000;
export const DEFAULT_VERSION_ROLLING_MIN_BIT_COUNT = 2;

export function configureParams(mask = DEFAULT_VERSION_ROLLING_MASK, minBitCount = DEFAULT_VERSION_ROLLING_MIN_BIT_COUNT) {
  return [
    ['version-rolling'],
    { 'version-rolling.mask': formatMask(mask), 'version-rolling.min-bit-count': minBitCount },
  ];
}

export function formatMask(mask: number): string {
  return (mask >>> 0).toString(16).padStart(8, '0');
}

function parseMask(method: string, value: unknown): number {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{1,8}$/.test(value)) {
    fail(method, 'version mask must be hex of a uint32', value);
  }
  return parseInt(value, 16) >>> 0;
}

export interface ConfigureResult {
  versionRolling: boolean;
  /** Mask the pool allows (already ANDed with ours); 0 when rolling is off. */
  versionMask: number;
}

/** Reads the configure result. A pool that does not grant rolling, or grants bits we did not ask for, yields off. */
export function parseConfigureResult(result: unknown, requestedMask = DEFAULT_VERSION_ROLLING_MASK): ConfigureResult {
  const m = 'mining.configure';
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    fail(m, 'result must be an object', result);
  }
  const r = result as Record<string, unknown>;
  const granted = r['version-rolling'];
  if (granted !== true) return { versionRolling: false, versionMask: 0 };
  const mask = parseMask(m, r['version-rolling.mask']) & requestedMask;
  return { versionRolling: mask !== 0, versionMask: mask >>> 0 };
}

export function parseSetVersionMaskParams(params: unknown): number {
  const m = 'mining.set_version_mask';
  const p = expectParams(m, params, 1);
  return parseMask(m, p[0]);
}

// ---- client.reconnect / client.show_message -----------------------------------------------------------------

export interface ReconnectParams {
  host?: string;
  port?: number;
  waitSeconds: number;
}

export const MAX_RECONNECT_WAIT_SECONDS = 3600;

export function parseReconnectParams(params: unknown): ReconnectParams {
  const m = 'client.reconnect';
  const p = expectParams(m, params ?? [], 0);
  const out: ReconnectParams = { waitSeconds: 0 };
  if (p[0] !== undefined && p[0] !== null && p[0] !== '') {
    if (typeof p[0] !== 'string' || !/^[A-Za-z0-9.\-:[\]]{1,253}$/.test(p[0])) fail(m, 'host must be a hostname', p[0]);
    out.host = p[0];
  }
  if (p[1] !== undefined && p[1] !== null && p[1] !== '') out.port = expectInt(m, 'port', p[1], 1, 65535);
  if (p[2] !== undefined && p[2] !== null) out.waitSeconds = expectInt(m, 'wait', p[2], 0, MAX_RECONNECT_WAIT_SECONDS);
  return out;
}

export function parseShowMessageParams(params: unknown): string {
  const p = expectParams('client.show_message', params, 1);
  return typeof p[0] === 'string' ? p[0] : JSON.stringify(p[0]);
}

// ---- mining.authorize / mining.submit ------------------------------------------------------------------------

export interface Share {
  jobId: string;
  /** Hex, exactly extranonce2Size bytes. */
  extranonce2: string;
  /** Big-endian hex uint32, as received in the job (or rolled by the miner). */
  ntime: string;
  /** Big-endian hex of the uint32 nonce. */
  nonce: string;
  /** With version rolling: hex of (version & mask) bits the miner changed. */
  versionBits?: string;
}

export function submitParams(user: string, share: Share): unknown[] {
  const p: unknown[] = [user, share.jobId, share.extranonce2, share.ntime, share.nonce];
  if (share.versionBits !== undefined) p.push(share.versionBits);
  return p;
}

/** Server side: validates a mining.submit request's params. */
export function parseSubmitParams(params: unknown): { user: string; share: Share } {
  const m = 'mining.submit';
  const p = expectParams(m, params, 5);
  if (typeof p[0] !== 'string') fail(m, 'user must be a string', p[0]);
  if (typeof p[1] !== 'string' || p[1].length === 0) fail(m, 'job_id must be a non-empty string', p[1]);
  const share: Share = {
    jobId: p[1],
    extranonce2: expectHex(m, 'extranonce2', p[2]),
    ntime: expectHex(m, 'ntime', p[3], 4),
    nonce: expectHex(m, 'nonce', p[4], 4),
  };
  if (p[5] !== undefined && p[5] !== null) share.versionBits = expectHex(m, 'version_bits', p[5], 4);
  return { user: p[0], share };
}
