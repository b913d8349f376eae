// The topology both launchers run: a tier of `serve` tasks and N `mine` tasks, each given every server in its
// failover order. This module owns the exact command lines so Mesos tasks and local child processes start the
// same programs the same way.
// Secrets only ever go into `env`; `args` is visible to anyone reading Mesos state or `ps`.

import { hostPort } from '../listen-address.js';
import type { LogFormat } from '../log.js';

export type TaskRole = 'server' | 'miner';

/** What the server mines for. Exactly one of pools / bitcoind is set (validated by the command parser). */
export interface UpstreamOptions {
  pools: string[];
  user?: string;
  bitcoind?: string;
  payout?: string;
  /** Solo mining: text in the coinbase (not a secret: argv). */
  coinbaseTag?: string;
}

/** Secrets handed to tasks through their environment. */
export interface TaskSecrets {
  poolPass?: string;
  minerPassword?: string;
  /**
   * Full bitcoind URL including credentials (from the URL, the environment or the node's cookie file read at
   * start); argv only gets the URL with them stripped.
   */
  bitcoindUrl?: string;
}

/** Log level of the tasks' own logs (`serve` / `mine --log-level`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a task logs. Mesos tasks log JSON (for the sandbox and log shippers); `local` children follow the supervisor. */
export interface TaskLogs {
  level?: LogLevel;
  format?: LogFormat;
}

export interface TaskCommand {
  role: TaskRole;
  /** Arguments after the CLI entry point, e.g. ['serve', '--listen', ...]. */
  args: string[];
  env: Record<string, string>;
}

export const ENV_POOL_PASS = 'MESOS_MINER_POOL_PASS';
export const ENV_MINER_PASSWORD = 'MESOS_MINER_MINER_PASSWORD';
export const ENV_BITCOIND_URL = 'MESOS_MINER_BITCOIND_URL';
export const ENV_MINER_PASS = 'MESOS_MINER_PASS';

/** The URL without user:password, safe for argv and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    throw new Error(`not a valid URL: '${url.replace(/\/\/[^@/]*@/, '//***@')}'`);
  }
}

export interface ServerListen {
  /** Address the stratum server binds, e.g. 0.0.0.0:31000. */
  stratum: string;
  /** Address of its HTTP /status + /metrics endpoint. */
  http: string;
}

/** `index`: the server's place in the tier (solo: its identity in the coinbase, unique among live servers). */
export function serverCommand(upstream: UpstreamOptions, secrets: TaskSecrets, listen: ServerListen, logs: TaskLogs = {}, index?: number): TaskCommand {
  const args = ['serve', '--listen', listen.stratum, '--http', listen.http];
  if (index !== undefined) args.push('--server-index', String(index));
  if (upstream.bitcoind) {
    // The credentials (also those of a cookie file, which only exists on the scheduler's machine) go in env.
    args.push('--bitcoind', redactUrl(upstream.bitcoind));
    if (upstream.payout) args.push('--payout', upstream.payout);
    if (upstream.coinbaseTag !== undefined) args.push('--coinbase-tag', upstream.coinbaseTag);
  } else {
    for (const pool of upstream.pools) args.push('--pool', pool);
    if (upstream.user) args.push('--user', upstream.user);
  }
  args.push('--log-format', logs.format ?? 'json', '--log-level', logs.level ?? 'info');
  const env: Record<string, string> = {};
  if (secrets.poolPass) env[ENV_POOL_PASS] = secrets.poolPass;
  if (secrets.minerPassword) env[ENV_MINER_PASSWORD] = secrets.minerPassword;
  if (upstream.bitcoind) env[ENV_BITCOIND_URL] = secrets.bitcoindUrl ?? upstream.bitcoind;
  return { role: 'server', args, env };
}

export interface ServerEndpoint { host: string; port: number }

export function endpointKey(endpoint: ServerEndpoint): string {
  return `${endpoint.host}:${endpoint.port}`;
}

/** The inverse of endpointKey (the port follows the last ':'). */
export function parseEndpointKey(key: string): ServerEndpoint {
  const at = key.lastIndexOf(':');
  return { host: key.slice(0, at), port: Number(key.slice(at + 1)) };
}

/** The monitoring endpoints each miner opens on ports of its own (`schedule --miner-api/--miner-http`, `local`). */
export interface MinerEndpoints {
  /** The cgminer API (`mine --api-listen`). */
  api: boolean;
  /** Who may use it, in cgminer's `--api-allow` syntax; unset: `mine`'s default, this machine's loopback only. */
  apiAllow?: string;
  /** GET /status and /metrics (`mine --http`). */
  http: boolean;
}

/** A miner's own ports, by endpoint. */
export interface MinerPorts { api?: number; http?: number }

/** How many ports a miner takes: one per endpoint asked for. */
export function minerPortCount(endpoints: MinerEndpoints | undefined): number {
  return Number(endpoints?.api === true) + Number(endpoints?.http === true);
}

/** Ports taken from an offer (minerPortCount of them, in order) -> the endpoint each serves. */
export function assignMinerPorts(endpoints: MinerEndpoints | undefined, ports: readonly number[]): MinerPorts {
  const next = [...ports];
  return { ...(endpoints?.api ? { api: next.shift()! } : {}), ...(endpoints?.http ? { http: next.shift()! } : {}) };
}

/** Where a miner's endpoints listen, as `mine` takes them (host:port). */
export interface MinerListen {
  api?: string;
  apiAllow?: string;
  http?: string;
}

/** `servers` in failover order: `mine` starts on the first and returns to it after its --fallback-time. */
export function minerCommand(
  servers: readonly ServerEndpoint[], worker: string, threads: number, secrets: TaskSecrets, logs: TaskLogs = {}, listen: MinerListen = {},
): TaskCommand {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`miner threads must be an integer >= 1, got ${threads}`);
  if (servers.length === 0) throw new Error('a miner needs at least one server');
  const args = ['mine'];
  for (const s of servers) args.push('-o', `stratum+tcp://${hostPort(s.host, s.port)}`);
  args.push('-u', worker, '-t', String(threads), '--log-format', logs.format ?? 'json', '--log-level', logs.level ?? 'info');
  if (listen.api) args.push('--api-listen', listen.api);
  if (listen.api && listen.apiAllow) args.push('--api-allow', listen.apiAllow);
  if (listen.http) args.push('--http', listen.http);
  const env: Record<string, string> = {};
  if (secrets.minerPassword) env[ENV_MINER_PASS] = secrets.minerPassword;
  return { role: 'miner', args, env };
}

/** A miner's thread count is the whole CPUs it was given, at least one. */
export function threadsForCpus(cpus: number): number {
  return Math.max(1, Math.floor(cpus + 1e-9));
}
