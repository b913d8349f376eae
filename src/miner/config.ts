// `mine` settings from flags, the environment and an optional JSON config file, validated before anything
// starts. Precedence: flags > environment (MESOS_MINER_PASS) > config file > defaults. The config file uses the
// long flag names as keys ("url", "user", "threads", "fallback-time", ...); an unknown key is an error.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MAX_THREADS, validateThreads } from '../kernel/pool.js';
import type { KernelChoice } from '../kernel/types.js';
import { resolveKernel } from '../kernel/wasm.js';
import { parseListenAddress, type ListenAddress } from '../listen-address.js';
import { parseLogFormat, type LogFormat } from '../log.js';
import { parsePoolUrl } from '../stratum/pool-url.js';
import { LOOPBACK_ONLY, parseApiAllow, type AllowEntry } from './api-allow.js';
import { DEFAULT_SUBMIT_RATE } from './miner.js';

/** The pool password can come from here, so it never has to be on the command line (visible in `ps`). */
export const ENV_MINER_PASS = 'MESOS_MINER_PASS';

/** Raw option values as commander hands them over: only the ones given on the command line. */
export interface MineFlags {
  url?: string[];
  user?: string;
  pass?: string;
  threads?: string;
  kernel?: string;
  quiet?: boolean;
  config?: string;
  fallbackTime?: string;
  versionRolling?: boolean;
  extranonceSubscribe?: boolean;
  statusInterval?: string;
  submitRate?: string;
  http?: string;
  /** true: the flag without a value (cgminer's --api-listen), i.e. the default address. */
  apiListen?: string | boolean;
  apiAllow?: string;
  logFormat?: string;
  logLevel?: string;
}

export interface MineConfig {
  pools: { url: string; user: string; password: string }[];
  threads: number;
  kernel: KernelChoice;
  quiet: boolean;
  fallbackTimeMs: number;
  versionRolling: boolean;
  extranonceSubscribe: boolean;
  /** 0 = no periodic status line (one is still printed at exit). */
  statusIntervalMs: number;
  /** Shares sent per second at most. */
  submitRate: number;
  /** /status and /metrics (null: off). */
  http: ListenAddress | null;
  /** The cgminer API (null: off), and who may use it. */
  apiListen: ListenAddress | null;
  apiAllow: AllowEntry[];
  logFormat: LogFormat | undefined;
  logLevel: string;
}

export const MINE_DEFAULTS = {
  kernel: 'auto',
  fallbackTime: 120,
  statusInterval: 5,
  submitRate: DEFAULT_SUBMIT_RATE,
  /** cgminer's API port. */
  apiListen: '127.0.0.1:4028',
  apiAllow: LOOPBACK_ONLY,
  logLevel: 'info',
  pass: 'x',
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Config file keys and the flag they stand for. */
const FILE_KEYS = {
  url: 'url',
  user: 'user',
  pass: 'pass',
  threads: 'threads',
  kernel: 'kernel',
  quiet: 'quiet',
  'fallback-time': 'fallbackTime',
  'version-rolling': 'versionRolling',
  'no-version-rolling': 'noVersionRolling',
  'extranonce-subscribe': 'extranonceSubscribe',
  'status-interval': 'statusInterval',
  'submit-rate': 'submitRate',
  http: 'http',
  'api-listen': 'apiListen',
  'api-allow': 'apiAllow',
  'log-format': 'logFormat',
  'log-level': 'logLevel',
} as const;

type FileKey = keyof typeof FILE_KEYS;

/** A config file's settings, converted to flag-like values (strings for numbers, so one validator serves both). */
export function readMineConfigFile(path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): MineFlags {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new Error(`--config ${path}: cannot read it: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`--config ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`--config ${path}: expected a JSON object of settings`);
  const flags: MineFlags = {};
  const where = (key: string) => `--config ${path}: "${key}"`;
  for (const [key, value] of Object.entries(doc)) {
    if (!(key in FILE_KEYS)) {
      throw new Error(`--config ${path}: unknown key "${key}" (known keys: ${Object.keys(FILE_KEYS).join(', ')})`);
    }
    switch (key as FileKey) {
      case 'url': {
        const list = Array.isArray(value) ? value : [value];
        if (list.length === 0 || !list.every((u) => typeof u === 'string')) throw new Error(`${where(key)} must be a URL string or a list of them`);
        flags.url = list as string[];
        break;
      }
      case 'user':
      case 'pass':
      case 'kernel':
      case 'http':
      case 'api-allow':
      case 'log-format':
      case 'log-level':
        if (typeof value !== 'string') throw new Error(`${where(key)} must be a string`);
        flags[FILE_KEYS[key as 'user' | 'pass' | 'kernel' | 'http' | 'api-allow' | 'log-format' | 'log-level']] = value;
        break;
      case 'api-listen':
        if (typeof value !== 'string' && value !== true) throw new Error(`${where(key)} must be "[host:]port" or true`);
        flags.apiListen = value;
        break;
      case 'threads':
      case 'fallback-time':
      case 'status-interval':
      case 'submit-rate':
        if (typeof value !== 'number' && typeof value !== 'string') throw new Error(`${where(key)} must be a number`);
        flags[FILE_KEYS[key as 'threads' | 'fallback-time' | 'status-interval' | 'submit-rate']] = String(value);
        break;
      case 'quiet':
      case 'version-rolling':
      case 'no-version-rolling':
      case 'extranonce-subscribe':
        if (typeof value !== 'boolean') throw new Error(`${where(key)} must be true or false`);
        if (key === 'quiet') flags.quiet = value;
        else if (key === 'extranonce-subscribe') flags.extranonceSubscribe = value;
        else flags.versionRolling = key === 'version-rolling' ? value : !value;
        break;
    }
  }
  return flags;
}

function parseSeconds(flag: string, value: string, allowZero: boolean): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || (!allowZero && n === 0)) {
    throw new Error(`${flag} must be a number of seconds ${allowZero ? '>= 0' : '> 0'}, got '${value}'`);
  }
  return Math.round(n * 1000);
}

function parseSubmitRate(value: string): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--submit-rate must be a number of shares per second > 0, got '${value}'`);
  return n;
}

function parseThreads(value: string | undefined): number {
  if (value === undefined) return Math.min(availableParallelism(), MAX_THREADS);
  if (!/^\s*\d+\s*$/.test(value)) throw new Error(`--threads must be an integer in 1..${MAX_THREADS}, got '${value}'`);
  try {
    return validateThreads(Number(value));
  } catch (err) {
    throw new Error(`--threads: ${(err as Error).message}`);
  }
}

/**
 * Merges flags (only those given on the command line), the environment and the config file named by --config,
 * and validates every value. Throws an Error naming the flag on the first bad one.
 */
export function resolveMineConfig(
  cli: MineFlags,
  env: NodeJS.ProcessEnv = process.env,
  readConfig: (path: string) => MineFlags = (p) => readMineConfigFile(p),
): MineConfig {
  const file = cli.config !== undefined ? readConfig(cli.config) : {};
  const f: MineFlags = { ...file, ...stripUndefined(cli) };

  const urls = f.url ?? [];
  if (urls.length === 0) throw new Error('no pool given: use -o stratum+tcp://host:port (repeat for backup pools)');
  const parsed = urls.map((u) => {
    try {
      return parsePoolUrl(u).url;
    } catch (err) {
      throw new Error(`--url: ${(err as Error).message}`);
    }
  });
  const user = f.user?.trim();
  if (!user) throw new Error('no user given: use -u wallet.worker (the pool account or worker name)');
  const envPass = env[ENV_MINER_PASS];
  const password = cli.pass ?? (envPass !== undefined && envPass !== '' ? envPass : undefined) ?? file.pass ?? MINE_DEFAULTS.pass;

  const threads = parseThreads(f.threads);
  const kernelText = f.kernel ?? MINE_DEFAULTS.kernel;
  if (!['auto', 'simd8', 'simd', 'scalar'].includes(kernelText)) throw new Error(`--kernel must be auto, simd8, simd or scalar, got '${kernelText}'`);
  // Fails now (not after connecting) when a SIMD build is forced on an engine without WebAssembly SIMD.
  resolveKernel(kernelText);

  const fallbackTimeMs = parseSeconds('--fallback-time', f.fallbackTime ?? String(MINE_DEFAULTS.fallbackTime), true);
  const statusIntervalMs = parseSeconds('--status-interval', f.statusInterval ?? String(MINE_DEFAULTS.statusInterval), true);
  const submitRate = parseSubmitRate(f.submitRate ?? String(MINE_DEFAULTS.submitRate));
  const listen = (flag: string, value: string | undefined) => (value === undefined || value === 'off' ? null : parseListenAddress(flag, value));
  const http = listen('--http', f.http);
  const apiListen = listen('--api-listen', f.apiListen === true ? MINE_DEFAULTS.apiListen : f.apiListen || undefined);
  if (f.apiAllow !== undefined && !apiListen) throw new Error('--api-allow needs --api-listen (the cgminer API is off without it)');
  const apiAllow = parseApiAllow(f.apiAllow ?? MINE_DEFAULTS.apiAllow);
  const logFormat = f.logFormat !== undefined ? parseLogFormat(f.logFormat) : undefined;
  const logLevel = f.logLevel ?? MINE_DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);

  return {
    pools: parsed.map((url) => ({ url, user, password })),
    threads,
    kernel: kernelText as KernelChoice,
    quiet: f.quiet ?? false,
    fallbackTimeMs,
    versionRolling: f.versionRolling ?? true,
    extranonceSubscribe: f.extranonceSubscribe ?? false,
    statusIntervalMs,
    submitRate,
    http,
    apiListen,
    apiAllow,
    logFormat,
    logLevel,
  };
}

/** The configuration as it may be logged: no password. */
export function describeMineConfig(c: MineConfig): Record<string, unknown> {
  return {
    pools: c.pools.map((p) => p.url),
    user: c.pools[0]?.user,
    threads: c.threads,
    kernel: c.kernel,
    fallbackTimeSeconds: c.fallbackTimeMs / 1000,
    versionRolling: c.versionRolling,
    extranonceSubscribe: c.extranonceSubscribe,
    submitRate: c.submitRate,
    http: c.http ? `${c.http.host}:${c.http.port}` : 'off',
    apiListen: c.apiListen ? `${c.apiListen.host}:${c.apiListen.port}` : 'off',
    apiAllow: c.apiListen ? c.apiAllow.map((e) => e.text).join(',') : undefined,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
