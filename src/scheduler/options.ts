// Flag values -> validated settings for `schedule` and `local`. Pure functions, so every rule is testable and
// a bad flag fails with a clear message before anything starts.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseListenAddress, type ListenAddress } from '../listen-address.js';
import { parseApiAllow } from '../miner/api-allow.js';
import { parsePoolUrl } from '../stratum/pool-url.js';
import { readCookieFile } from '../upstream/rpc.js';
import { packageVersion } from '../stratum/version.js';
import { parseFetchFlags, type FetchFlags, type FetchSettings } from './fetch.js';
import { parseAdvertiseUrl, parseHostPort } from './status-server.js';
import { CONTAINER_MODES, type ContainerMode, type ContainerOptions, type DockerNetwork } from './task-spec.js';
import {
  ENV_BITCOIND_URL, ENV_MINER_PASSWORD, ENV_POOL_PASS, LOG_LEVELS, type LogLevel, type MinerEndpoints, type TaskSecrets, type UpstreamOptions,
} from './topology.js';

export function parseNumber(flag: string, value: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got '${value}'`);
  if (opts.integer && !Number.isInteger(n)) throw new Error(`${flag} must be a whole number, got '${value}'`);
  if (opts.min !== undefined && n < opts.min) throw new Error(`${flag} must be >= ${opts.min}, got ${value}`);
  if (opts.max !== undefined && n > opts.max) throw new Error(`${flag} must be <= ${opts.max}, got ${value}`);
  return n;
}

/**
 * Default memory (MiB) of a miner task with `threads` threads. Measured with bench/memory.ts (docs/OPERATIONS.md,
 * Memory): `mine` peaks at about 69 MiB + 9.5 MiB per thread (78 MiB at 1 thread, 144 MiB at 8). The default,
 * 128 + 16 per thread, leaves 75-85 % headroom for a long uptime and the container's own overhead.
 */
export function defaultMinerMem(threads: number): number {
  return 128 + 16 * threads;
}

/**
 * Default memory (MiB) of the server task for `miners` miners. Measured: `serve` peaks at 63 MiB idle and 83 MiB
 * with 1,000 miners submitting (about 20 KiB per miner). The default, 128 + 32 per started 1,000 miners, is
 * 160 MiB for up to 1,000 miners (about twice the measured peak) and grows with the topology.
 */
export function defaultServerMem(miners: number): number {
  return 128 + 32 * Math.max(1, Math.ceil(miners / 1000));
}

/** At most this many servers in a tier (each one needs its own index, ports and upstream connections). */
export const MAX_SERVERS = 64;

/** `--servers`: default 2 when there are 2 or more miners (no single point of failure), else 1. */
export function parseServers(value: string | undefined, miners: number): number {
  if (value === undefined) return miners >= 2 ? 2 : 1;
  return parseNumber('--servers', value, { min: 1, max: MAX_SERVERS, integer: true });
}

/**
 * --miner-api-allow: cgminer's --api-allow syntax, checked with the miners' own parser (a list they would refuse
 * stops us at start, not each miner at launch). It needs the API it is about.
 */
function parseMinerApiAllow(allow: string | undefined, api: boolean): string | undefined {
  if (allow === undefined) return undefined;
  if (!api) throw new Error('--miner-api-allow needs --miner-api (the miners\' cgminer API is off without it)');
  parseApiAllow(allow);
  return allow.trim();
}

export interface UpstreamFlags {
  pool?: string[];
  user?: string;
  bitcoind?: string;
  payout?: string;
  poolPassFile?: string;
  minerPasswordFile?: string;
  bitcoindCookie?: string;
  coinbaseTag?: string;
}

export function parseLogLevel(flag: string, value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`${flag} must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  return level as LogLevel;
}

/** A PEM file of CA certificates the master's TLS certificate is checked against (read once, at start). */
export function readCaFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${flag}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}

function readSecretFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new Error(`${flag}: ${path} is empty`);
  return secret;
}

/** Upstream choice and the secrets the tasks get (from files or this process's environment, never argv). */
export function parseUpstream(flags: UpstreamFlags, env: NodeJS.ProcessEnv): { upstream: UpstreamOptions; secrets: TaskSecrets } {
  const pools = flags.pool ?? [];
  if (pools.length > 0 && flags.bitcoind) throw new Error('give either --pool or --bitcoind, not both');
  if (!flags.bitcoind && flags.bitcoindCookie) throw new Error('--bitcoind-cookie needs --bitcoind URL');
  if (!flags.bitcoind && flags.coinbaseTag !== undefined) throw new Error('--coinbase-tag needs --bitcoind (solo mining)');
  if (pools.length === 0 && !flags.bitcoind) throw new Error('an upstream is required: --pool stratum+tcp://host:port --user NAME, or --bitcoind URL --payout ADDRESS');
  const secrets: TaskSecrets = {};
  const minerPassword = flags.minerPasswordFile ? readSecretFile('--miner-password-file', flags.minerPasswordFile) : env[ENV_MINER_PASSWORD];
  if (minerPassword) secrets.minerPassword = minerPassword;
  if (flags.bitcoind) {
    let url: URL;
    try {
      url = new URL(flags.bitcoind);
    } catch {
      throw new Error('--bitcoind must be an http(s) URL such as http://127.0.0.1:8332');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--bitcoind must use http or https, got '${url.protocol}'`);
    if (!flags.payout) throw new Error('--bitcoind needs --payout ADDRESS (where block rewards go)');
    if (flags.coinbaseTag !== undefined && Buffer.byteLength(flags.coinbaseTag) > 60) {
      throw new Error(`--coinbase-tag is ${Buffer.byteLength(flags.coinbaseTag)} bytes; at most 60 fit in the coinbase`);
    }
    if (flags.bitcoindCookie) {
      if (url.username || url.password) throw new Error('give bitcoind credentials either in the --bitcoind URL or with --bitcoind-cookie, not both');
      // The cookie file lives on this machine, not on the agents: its contents travel as credentials in the
      // server task's MESOS_MINER_BITCOIND_URL (environment, never argv).
      let cookie: { user: string; password: string };
      try {
        cookie = readCookieFile(flags.bitcoindCookie);
      } catch (err) {
        throw new Error(`--bitcoind-cookie: ${(err as Error).message}`);
      }
      url.username = encodeURIComponent(cookie.user);
      url.password = encodeURIComponent(cookie.password);
      secrets.bitcoindUrl = url.toString();
    } else {
      // Credentials may come in the URL (kept out of argv) or in the environment, as for `serve`.
      secrets.bitcoindUrl = url.username ? flags.bitcoind : env[ENV_BITCOIND_URL] ?? flags.bitcoind;
    }
    const upstream: UpstreamOptions = { pools: [], bitcoind: flags.bitcoind, payout: flags.payout };
    if (flags.coinbaseTag !== undefined) upstream.coinbaseTag = flags.coinbaseTag;
    return { upstream, secrets };
  }
  for (const pool of pools) parsePoolUrl(pool);
  if (!flags.user) throw new Error('--pool needs --user (the pool account or worker name)');
  const poolPass = flags.poolPassFile ? readSecretFile('--pool-pass-file', flags.poolPassFile) : env[ENV_POOL_PASS];
  if (poolPass) secrets.poolPass = poolPass;
  return { upstream: { pools, user: flags.user }, secrets };
}

export interface ScheduleFlags extends UpstreamFlags, FetchFlags {
  master: string[];
  name: string;
  taskUser?: string;
  role: string;
  principal?: string;
  secretFile?: string;
  contentType: string;
  stateFile: string;
  failoverTimeout: string;
  miners: string;
  servers?: string;
  maxRelaunchFraction: string;
  minerCpus: string;
  minerMem?: string;
  serverCpus: string;
  serverMem?: string;
  maxMinersPerAgent: string;
  minerApi?: boolean;
  minerApiAllow?: string;
  minerHttp?: boolean;
  container: string;
  image: string;
  network: string;
  forcePull?: boolean;
  commandPath: string;
  /** Default: SCHEDULE_HTTP_DEFAULTS by --container. */
  http?: string;
  advertiseUrl?: string;
  declineSeconds: string;
  reviveInterval: string;
  launchTimeout: string;
  reconcileInterval: string;
  teardown?: boolean;
  logFormat?: string;
  logLevel?: string;
  taskLogLevel?: string;
  masterCa?: string;
}

export interface ScheduleSettings {
  masters: string[];
  /** PEM CA certificates for an https master (--master-ca). */
  tls?: { ca: string };
  logLevel: LogLevel;
  contentType: 'protobuf' | 'json';
  principal?: string;
  secret?: string;
  stateFile: string;
  http?: { host: string; port: number };
  /** How agents and operators reach --http (default: derived from it once it listens). */
  advertiseUrl?: string;
  /** --container fetch: where the bundle comes from. */
  fetch?: FetchSettings;
  framework: {
    name: string; user: string; roles: string[]; failoverTimeoutSeconds: number; principal?: string;
    miners: number; servers: number; maxRelaunchFraction: number; server: { cpus: number; mem: number }; miner: { cpus: number; mem: number };
    minerEndpoints: MinerEndpoints; maxMinersPerAgent: number; container: ContainerOptions; declineRefuseSeconds: number; reviveIntervalMs: number;
    launchTimeoutMs: number; reconcileIntervalMs: number; teardownOnExit: boolean; upstream: UpstreamOptions; secrets: TaskSecrets;
    taskLogLevel: LogLevel;
  };
}

/**
 * Where `schedule --http` listens unless told: this machine only (the page and /status are for its operators), but
 * every interface with --container fetch, whose agents download the bundle from it.
 */
export const SCHEDULE_HTTP_DEFAULTS = { other: '127.0.0.1:8090', fetch: '0.0.0.0:8090' } as const;

export function parseScheduleFlags(flags: ScheduleFlags, env: NodeJS.ProcessEnv = process.env, version = packageVersion()): ScheduleSettings {
  const masters = flags.master.flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  if (masters.length === 0) throw new Error('--master is required (http://host:5050)');
  for (const m of masters) {
    let url: URL;
    try {
      url = new URL(m);
    } catch {
      throw new Error(`--master must be an http(s) URL like http://mesos-master:5050, got '${m}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--master must use http or https, got '${m}'`);
  }
  if (flags.contentType !== 'protobuf' && flags.contentType !== 'json') throw new Error(`--content-type must be protobuf or json, got '${flags.contentType}'`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(flags.name)) throw new Error(`--name must be 1-63 letters, digits, '.', '_' or '-', got '${flags.name}'`);
  const roles = flags.role.split(',').map((r) => r.trim()).filter(Boolean);
  if (roles.length === 0) throw new Error('--role needs at least one role (e.g. * or mining)');
  for (const r of roles) if (r !== '*' && !/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/.test(r)) throw new Error(`--role: '${r}' is not a valid Mesos role`);
  if (flags.secretFile && !flags.principal) throw new Error('--secret-file needs --principal');
  const secret = flags.secretFile ? readSecretFile('--secret-file', flags.secretFile) : undefined;
  if (flags.masterCa && !masters.some((m) => m.startsWith('https:'))) throw new Error('--master-ca needs an https:// --master');
  const ca = flags.masterCa ? readCaFile('--master-ca', flags.masterCa) : undefined;
  const logLevel = parseLogLevel('--log-level', flags.logLevel);
  const taskLogLevel = parseLogLevel('--task-log-level', flags.taskLogLevel);

  const minerCpus = parseNumber('--miner-cpus', flags.minerCpus, { min: 0.1, max: 1024 });
  const miners = parseNumber('--miners', flags.miners, { min: 0, max: 100_000, integer: true });
  const servers = parseServers(flags.servers, miners);
  const maxRelaunchFraction = parseNumber('--max-relaunch-fraction', flags.maxRelaunchFraction, { min: 0.0001, max: 1 });
  const threads = Math.max(1, Math.floor(minerCpus));
  const mode = flags.container as ContainerMode;
  if (!CONTAINER_MODES.includes(mode)) throw new Error(`--container must be one of ${CONTAINER_MODES.join(', ')}, got '${flags.container}'`);
  const network = flags.network.toUpperCase() as DockerNetwork;
  if (network !== 'HOST' && network !== 'BRIDGE') throw new Error(`--network must be host or bridge, got '${flags.network}'`);
  if (network === 'BRIDGE' && mode !== 'docker') throw new Error('--network bridge needs --container docker');
  if (!flags.image.trim()) throw new Error('--image must name a Docker image');
  if (mode === 'command' && !flags.commandPath.startsWith('/')) throw new Error(`--command-path must be an absolute path, got '${flags.commandPath}'`);
  const { upstream, secrets } = parseUpstream(flags, env);
  const httpFlag = flags.http ?? (mode === 'fetch' ? SCHEDULE_HTTP_DEFAULTS.fetch : SCHEDULE_HTTP_DEFAULTS.other);
  const http = httpFlag === 'off' ? undefined : parseHostPort(httpFlag, '--http');
  if (flags.advertiseUrl !== undefined && !http) throw new Error('--advertise-url needs --http (it is the URL of that endpoint)');
  const advertiseUrl = flags.advertiseUrl === undefined ? undefined : parseAdvertiseUrl(flags.advertiseUrl);
  const fetch = parseFetchFlags(flags, mode, version, http !== undefined);
  const minerApiAllow = parseMinerApiAllow(flags.minerApiAllow, flags.minerApi === true);

  return {
    masters,
    ...(ca ? { tls: { ca } } : {}),
    logLevel,
    contentType: flags.contentType,
    ...(flags.principal ? { principal: flags.principal } : {}),
    ...(secret ? { secret } : {}),
    stateFile: flags.stateFile,
    ...(http ? { http } : {}),
    ...(advertiseUrl ? { advertiseUrl } : {}),
    ...(fetch ? { fetch } : {}),
    framework: {
      name: flags.name,
      user: flags.taskUser ?? os.userInfo().username,
      roles,
      failoverTimeoutSeconds: parseNumber('--failover-timeout', flags.failoverTimeout, { min: 0 }),
      ...(flags.principal ? { principal: flags.principal } : {}),
      miners,
      servers,
      maxRelaunchFraction,
      server: {
        cpus: parseNumber('--server-cpus', flags.serverCpus, { min: 0.1, max: 1024 }),
        mem: flags.serverMem ? parseNumber('--server-mem', flags.serverMem, { min: 32 }) : defaultServerMem(miners),
      },
      miner: { cpus: minerCpus, mem: flags.minerMem ? parseNumber('--miner-mem', flags.minerMem, { min: 32 }) : defaultMinerMem(threads) },
      minerEndpoints: { api: flags.minerApi === true, http: flags.minerHttp === true, ...(minerApiAllow ? { apiAllow: minerApiAllow } : {}) },
      maxMinersPerAgent: parseNumber('--max-miners-per-agent', flags.maxMinersPerAgent, { min: 1, integer: true }),
      container: { mode, image: flags.image, network, forcePull: flags.forcePull === true, commandPath: flags.commandPath },
      declineRefuseSeconds: parseNumber('--decline-seconds', flags.declineSeconds, { min: 1 }),
      reviveIntervalMs: parseNumber('--revive-interval', flags.reviveInterval, { min: 1 }) * 1000,
      launchTimeoutMs: parseNumber('--launch-timeout', flags.launchTimeout, { min: 5 }) * 1000,
      reconcileIntervalMs: parseNumber('--reconcile-interval', flags.reconcileInterval, { min: 10 }) * 1000,
      teardownOnExit: flags.teardown === true,
      upstream,
      secrets,
      taskLogLevel,
    },
  };
}

export interface LocalFlags extends UpstreamFlags {
  miners: string;
  servers?: string;
  threads?: string;
  listen: string;
  serverHttp: string;
  http?: string;
  /** true: the flag without a value (its default address). */
  minerApi?: string | true;
  minerApiAllow?: string;
  minerHttp?: string | true;
  workerPrefix: string;
  logFormat?: string;
  logLevel?: string;
}

export interface LocalSettings {
  miners: number;
  servers: number;
  threadsPerMiner: number;
  stratum: { host: string; port: number };
  serverHttp: { host: string; port: number };
  http?: { host: string; port: number };
  /** Miner i's cgminer API / HTTP endpoint listens on these ports + i - 1. */
  minerApi?: ListenAddress;
  minerApiAllow?: string;
  minerHttp?: ListenAddress;
  workerPrefix: string;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  /** Of the supervisor and of every child. */
  logLevel: LogLevel;
}

export function parseLocalFlags(flags: LocalFlags, env: NodeJS.ProcessEnv = process.env, cores = os.availableParallelism()): LocalSettings {
  const miners = parseNumber('--miners', flags.miners, { min: 1, max: 256, integer: true });
  const threadsPerMiner = flags.threads
    ? parseNumber('--threads', flags.threads, { min: 1, max: 1024, integer: true })
    : Math.max(1, Math.floor(cores / miners));
  const servers = parseServers(flags.servers, miners);
  const stratum = parseHostPort(flags.listen, '--listen');
  const serverHttp = parseHostPort(flags.serverHttp, '--server-http');
  if (stratum.port === 0 || serverHttp.port === 0) throw new Error('--listen and --server-http need fixed ports (miners must know where to connect)');
  const http = flags.http ? parseHostPort(flags.http, '--http') : undefined;
  const minerApi = localMinerListen('--miner-api', flags.minerApi, LOCAL_MINER_DEFAULTS.api);
  const minerHttp = localMinerListen('--miner-http', flags.minerHttp, LOCAL_MINER_DEFAULTS.http);
  const minerApiAllow = parseMinerApiAllow(flags.minerApiAllow, minerApi !== undefined);
  const miner = (flag: string, at: ListenAddress | undefined) => (at ? [{ flag, first: at.port, count: miners, each: 'miner i: port + i - 1' }] : []);
  checkPortRanges([
    // Server i listens on both ports + i.
    { flag: '--listen', first: stratum.port, count: servers, each: 'server i: port + i' },
    { flag: '--server-http', first: serverHttp.port, count: servers, each: 'server i: port + i' },
    ...miner('--miner-api', minerApi),
    ...miner('--miner-http', minerHttp),
    ...(http && http.port !== 0 ? [{ flag: '--http', first: http.port, count: 1, each: '' }] : []),
  ]);
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(flags.workerPrefix)) throw new Error(`--worker-prefix must be 1-32 letters, digits, '.', '_' or '-', got '${flags.workerPrefix}'`);
  // The servers' children are server-0..K-1: miners named the same would be taken for them.
  if (flags.workerPrefix === 'server') throw new Error("--worker-prefix 'server' is taken by the servers (server-0, server-1, ...)");
  const logLevel = parseLogLevel('--log-level', flags.logLevel);
  const { upstream, secrets } = parseUpstream(flags, env);
  return {
    miners, servers, threadsPerMiner, stratum, serverHttp, workerPrefix: flags.workerPrefix, upstream, secrets, logLevel,
    ...(http ? { http } : {}),
    ...(minerApi ? { minerApi } : {}),
    ...(minerApiAllow ? { minerApiAllow } : {}),
    ...(minerHttp ? { minerHttp } : {}),
  };
}

/** Where `local --miner-api` / `--miner-http` given without a value put miner 1 (miner i: the port + i - 1). */
export const LOCAL_MINER_DEFAULTS = { api: '127.0.0.1:4028', http: '127.0.0.1:8180' } as const;

/** A miner endpoint of `local`: a port alone is this machine only (127.0.0.1); the port must be fixed. */
function localMinerListen(flag: string, value: string | true | undefined, fallback: string): ListenAddress | undefined {
  if (value === undefined) return undefined;
  const at = parseListenAddress(flag, value === true ? fallback : value);
  if (at.port === 0) throw new Error(`${flag} needs a fixed port (miner i listens on it + i - 1)`);
  return at;
}

/** Ports a group of local processes listens on: `first` + 0 .. count - 1. */
interface PortRange { flag: string; first: number; count: number; each: string }

/** Every range fits below 65536 and no two meet (whatever their hosts: 0.0.0.0 would take the port on all of them). */
function checkPortRanges(ranges: PortRange[]): void {
  const show = (r: PortRange) => (r.count === 1 ? `port ${r.first}` : `ports ${r.first}-${r.first + r.count - 1} (${r.each})`);
  for (const r of ranges) if (r.first + r.count - 1 > 65535) throw new Error(`${r.flag}: ${show(r)} go above 65535`);
  for (const [i, a] of ranges.entries()) {
    for (const b of ranges.slice(i + 1)) {
      if (a.first <= b.first + b.count - 1 && b.first <= a.first + a.count - 1) throw new Error(`${a.flag} and ${b.flag} overlap: ${show(a)} and ${show(b)}`);
    }
  }
}
