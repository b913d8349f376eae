// `serve` flags -> a validated configuration, before anything starts. Secrets (pool password, miner password)
// come from the environment or a file; a value given only on the command line is refused for the pool password
// (argv is visible to every user of the machine and in Mesos task info) and never logged or shown in /status.
import { readFileSync } from 'node:fs';
import { parseLogFormat, type LogFormat } from '../log.js';
import { parsePoolUrl } from '../stratum/pool-url.js';
import { describeSoloConfig, resolveSoloConfig, type SoloConfig, type SoloFlags } from '../upstream/bitcoind-config.js';
import { SERVER_DEFAULTS } from './miner-server.js';

export const ENV_POOL_PASS = 'MESOS_MINER_POOL_PASS';
export const ENV_MINER_PASSWORD = 'MESOS_MINER_MINER_PASSWORD';

/** The raw option values as commander hands them over (strings, a list for --pool). */
export interface ServeFlags extends SoloFlags {
  pool?: string[];
  user?: string;
  passFile?: string;
  listen?: string;
  http?: string;
  minerPassword?: string;
  minerPasswordFile?: string;
  maxConnections?: string;
  maxLineLength?: string;
  submitRate?: string;
  idleTimeout?: string;
  vardiffTarget?: string;
  minDiff?: string;
  maxDiff?: string;
  startDiff?: string;
  upstreamConnections?: string;
  fallbackTime?: string;
  shutdownGrace?: string;
  serverIndex?: string;
  unhealthyAfter?: string;
  logFormat?: string;
  logLevel?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface ServeConfig {
  pools: { url: string; user: string; password: string }[];
  /** Solo mining through a Bitcoin node instead of pools (null in proxy mode). */
  solo: SoloConfig | null;
  listen: HostPort;
  http: HostPort | null;
  minerPassword: string | undefined;
  maxConnections: number;
  maxLineLength: number;
  submitRatePerSecond: number;
  idleTimeoutMs: number;
  vardiffTargetSeconds: number;
  minDifficulty: number;
  maxDifficulty: number;
  initialDifficulty: number;
  upstreamConnections: number;
  /** Proxy mode: back to the first --pool once it has been healthy this long (0 = never). */
  fallbackTimeMs: number;
  shutdownGraceMs: number;
  /** Index in a tier of servers (schedule/local --servers); in solo mode the first two bytes of extranonce1. */
  serverIndex: number | undefined;
  /** The upstream down this long makes GET /health fail (0: never). */
  unhealthyAfterMs: number;
  logFormat: LogFormat | undefined;
  logLevel: string;
}

export const SERVE_DEFAULTS = {
  listen: `${SERVER_DEFAULTS.host}:${SERVER_DEFAULTS.port}`,
  http: 'off',
  maxConnections: String(SERVER_DEFAULTS.maxConnections),
  maxLineLength: String(SERVER_DEFAULTS.maxLineLength),
  submitRate: String(SERVER_DEFAULTS.submitRatePerSecond),
  idleTimeout: String(SERVER_DEFAULTS.idleTimeoutMs / 1000),
  vardiffTarget: String(SERVER_DEFAULTS.vardiffTargetSeconds),
  minDiff: '0.0001',
  maxDiff: String(SERVER_DEFAULTS.maxDifficulty),
  startDiff: '0.01',
  upstreamConnections: '4',
  fallbackTime: '120',
  shutdownGrace: '10',
  unhealthyAfter: '60',
  logLevel: 'info',
} as const;

export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`${flag} must be host:port (e.g. 0.0.0.0:3333), got '${value}'`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${flag}: port ${port} out of range 0-65535`);
  return { host, port };
}

/** A positive number; accepts plain decimals and fractions like 1/65536. */
export function parsePositive(flag: string, value: string, opts: { integer?: boolean; max?: number } = {}): number {
  const text = value.trim();
  let n: number;
  const frac = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (frac) n = Number(frac[1]) / Number(frac[2]);
  else n = /^[0-9]*\.?[0-9]+(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got '${value}'`);
  if (opts.integer && !Number.isInteger(n)) throw new Error(`${flag} must be a whole number, got '${value}'`);
  if (opts.max !== undefined && n > opts.max) throw new Error(`${flag} must be at most ${opts.max}, got '${value}'`);
  return n;
}

/** A whole number in 0..65535 (two bytes of the solo coinbase). */
function parseIndex(flag: string, value: string): number {
  const text = value.trim();
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 0xffff)) throw new Error(`${flag} must be a whole number in 0..65535, got '${value}'`);
  return n;
}

/** Seconds in 0..max, where 0 means never. */
function parseSecondsOrZero(flag: string, value: string, max: number): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= max)) throw new Error(`${flag} must be seconds in 0..${max} (0 = never), got '${value}'`);
  return n;
}

function readSecretFile(flag: string, path: string, read: (p: string) => string): string {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new Error(`${flag}: ${path} is empty`);
  return secret;
}

export function resolveServeConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ServeConfig {
  const urls = flags.pool ?? [];
  const solo = resolveSoloConfig(flags, urls.length, env);
  if (urls.length === 0 && !solo) throw new Error('at least one --pool stratum+tcp://host:port (or --bitcoind and --payout for solo mining) is required');
  const parsed = urls.map((u) => parsePoolUrl(u));
  const user = flags.user?.trim();
  if (!user && !solo) throw new Error('--user is required with --pool (the pool account, e.g. wallet.worker)');
  const poolPassword = flags.passFile ? readSecretFile('--pass-file', flags.passFile, read) : env[ENV_POOL_PASS] || 'x';

  let minerPassword: string | undefined;
  if (flags.minerPasswordFile) minerPassword = readSecretFile('--miner-password-file', flags.minerPasswordFile, read);
  else if (flags.minerPassword !== undefined) minerPassword = flags.minerPassword;
  else if (env[ENV_MINER_PASSWORD]) minerPassword = env[ENV_MINER_PASSWORD];
  if (minerPassword !== undefined && minerPassword.length === 0) throw new Error('--miner-password must not be empty');

  const d = SERVE_DEFAULTS;
  const minDifficulty = parsePositive('--min-diff', flags.minDiff ?? d.minDiff);
  const maxDifficulty = parsePositive('--max-diff', flags.maxDiff ?? d.maxDiff);
  if (maxDifficulty < minDifficulty) throw new Error(`--max-diff (${maxDifficulty}) must be >= --min-diff (${minDifficulty})`);
  const startRaw = parsePositive('--start-diff', flags.startDiff ?? d.startDiff);
  const httpText = flags.http ?? d.http;
  return {
    pools: parsed.map((p) => ({ url: p.url, user: user ?? '', password: poolPassword })),
    solo,
    listen: parseHostPort('--listen', flags.listen ?? d.listen),
    http: httpText === 'off' || httpText === '' ? null : parseHostPort('--http', httpText),
    minerPassword,
    maxConnections: parsePositive('--max-connections', flags.maxConnections ?? d.maxConnections, { integer: true, max: 1_000_000 }),
    maxLineLength: parsePositive('--max-line-length', flags.maxLineLength ?? d.maxLineLength, { integer: true, max: 1 << 20 }),
    submitRatePerSecond: parsePositive('--submit-rate', flags.submitRate ?? d.submitRate, { max: 1_000_000 }),
    idleTimeoutMs: parsePositive('--idle-timeout', flags.idleTimeout ?? d.idleTimeout, { max: 86_400 }) * 1000,
    vardiffTargetSeconds: parsePositive('--vardiff-target', flags.vardiffTarget ?? d.vardiffTarget, { max: 3600 }),
    minDifficulty,
    maxDifficulty,
    initialDifficulty: Math.min(Math.max(startRaw, minDifficulty), maxDifficulty),
    upstreamConnections: parsePositive('--upstream-connections', flags.upstreamConnections ?? d.upstreamConnections, { integer: true, max: 64 }),
    fallbackTimeMs: Math.round(parseSecondsOrZero('--fallback-time', flags.fallbackTime ?? d.fallbackTime, 86_400) * 1000),
    shutdownGraceMs: parsePositive('--shutdown-grace', flags.shutdownGrace ?? d.shutdownGrace, { max: 600 }) * 1000,
    serverIndex: flags.serverIndex === undefined ? undefined : parseIndex('--server-index', flags.serverIndex),
    unhealthyAfterMs: Math.round(parseSecondsOrZero('--unhealthy-after', flags.unhealthyAfter ?? d.unhealthyAfter, 86_400) * 1000),
    logFormat: flags.logFormat === undefined ? undefined : parseLogFormat(flags.logFormat),
    logLevel: flags.logLevel ?? d.logLevel,
  };
}

/** The configuration with secrets masked: safe to log. */
export function describeServeConfig(c: ServeConfig): Record<string, unknown> {
  return {
    ...c,
    pools: c.pools.map((p) => ({ url: p.url, user: p.user, password: '***' })),
    solo: c.solo ? describeSoloConfig(c.solo) : null,
    minerPassword: c.minerPassword === undefined ? 'none' : '***',
  };
}
