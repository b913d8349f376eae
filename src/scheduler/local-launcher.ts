// `local`: the same topology as on Mesos, as child processes of this one. The servers start first (server i on the
// stratum and HTTP ports + i); miners start once their stratum ports accept connections (or after a bounded wait:
// they reconnect on their own anyway), each with every server in its failover order. A server that exits is
// restarted at the same address, so the miners' lists never change.
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { hostPort, type ListenAddress } from '../listen-address.js';
import type { LogFormat, Logger } from '../log.js';
import type { BackoffOptions } from './backoff.js';
import type { Launcher } from './launcher.js';
import { ServerStatsPoller, type FarmFigures, type ServerFigures } from './server-stats.js';
import { SupervisedProcess, type ChildStatus, type ProcessSpec } from './supervisor.js';
import { RecentFailures, type FailureEntry } from './task-history.js';
import { exitReason, localView, type TopologyView } from './topology-view.js';
import { failoverLists } from './tier.js';
import {
  endpointKey, minerCommand, parseEndpointKey, serverCommand, type LogLevel, type MinerListen, type ServerEndpoint, type TaskCommand, type TaskSecrets,
  type UpstreamOptions,
} from './topology.js';

/** The built CLI, found relative to this module: dist/scheduler/ and src/scheduler/ both resolve to dist/cli.js. */
export function defaultCliPath(): string {
  return fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
}

/** Turns a topology command into a process. The default runs this Node binary on the built CLI. */
export type CommandFactory = (task: TaskCommand & { name: string }) => ProcessSpec;

export function cliCommandFactory(cliPath = defaultCliPath()): CommandFactory {
  return (task) => {
    if (!existsSync(cliPath)) throw new Error(`cannot start ${task.name}: ${cliPath} does not exist (run npm run build)`);
    return { command: process.execPath, args: [cliPath, ...task.args], env: task.env };
  };
}

export interface LocalOptions {
  miners: number;
  /** Server processes: server i listens on the stratum and HTTP ports + i. */
  servers: number;
  threadsPerMiner: number;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  /** Where server 0's stratum port and HTTP status listen (server i: the ports + i); miners connect to the stratum ones. */
  stratum: { host: string; port: number };
  serverHttp: { host: string; port: number };
  /** Miner i's cgminer API and HTTP endpoint listen on these ports + i - 1 (none when unset). */
  minerApi?: ListenAddress;
  minerApiAllow?: string;
  minerHttp?: ListenAddress;
  workerPrefix: string;
  /** Log level and format of the children (default info, JSON). */
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  restart: BackoffOptions & { stableMs: number };
  stopGraceMs: number;
  /** How long miners wait for the servers' ports before starting anyway. */
  serverReadyTimeoutMs: number;
  /** How often each server's /status is read for the farm's figures (0 or unset: never). */
  serverStatsIntervalMs?: number;
  factory?: CommandFactory;
  output?: NodeJS.WritableStream;
  log: Logger;
}

/** Resolves when host:port accepts a TCP connection, false after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs: number, isCancelled: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !isCancelled()) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host);
      const done = (result: boolean) => { socket.destroy(); resolve(result); };
      socket.setTimeout(1000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** A host a miner can dial: a wildcard bind address is reached through loopback. */
function dialHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** What `local` shows on its /status and its topology page. */
export interface LocalStatus {
  mode: 'local';
  /** This machine: every process runs here. */
  host: string;
  servers: Array<{ index: number; stratum: string; http: string; stats?: ServerFigures }>;
  /** Each miner's endpoints and the index of its primary server. */
  miners: Array<{ worker: string; primary: number } & Omit<MinerListen, 'apiAllow'>>;
  /** The sum of the servers' figures (read every serverStatsIntervalMs). */
  farm?: FarmFigures;
  /** Children that exited without being asked to, newest first. */
  failures: FailureEntry[];
  children: ChildStatus[];
}

export class LocalLauncher implements Launcher {
  private readonly children: SupervisedProcess[] = [];
  private stopping = false;
  private readonly factory: CommandFactory;
  private readonly host = os.hostname();
  private readonly failures = new RecentFailures();
  readonly serverStats: ServerStatsPoller | undefined;
  /** The servers' endpoint keys by index, and every miner's failover list (miner i's at i - 1): servers never move here. */
  private readonly serverKeys: string[];
  private readonly failover: string[][];

  constructor(private readonly opts: LocalOptions) {
    if (!Number.isInteger(opts.miners) || opts.miners < 0) throw new Error(`miners must be an integer >= 0, got ${opts.miners}`);
    if (!Number.isInteger(opts.servers) || opts.servers < 1) throw new Error(`servers must be an integer >= 1, got ${opts.servers}`);
    this.factory = opts.factory ?? cliCommandFactory();
    this.serverKeys = Array.from({ length: opts.servers }, (_, i) => endpointKey(this.serverEndpoint(i)));
    this.failover = failoverLists(this.serverKeys.map((key) => ({ key, healthy: true })), new Map(), opts.miners);
    if (opts.serverStatsIntervalMs) {
      this.serverStats = new ServerStatsPoller(() => Array.from({ length: opts.servers }, (_, i) => {
        const { stratum, http } = this.serverAddresses(i);
        const host = dialHost(http.host);
        return { key: `${stratum.host}:${stratum.port}`, statusUrl: `http://${hostPort(host, http.port)}/status?miners=0` };
      }), opts.serverStatsIntervalMs);
    }
  }

  private supervise(name: string, task: TaskCommand): SupervisedProcess {
    const spec = this.factory({ ...task, name });
    const child = new SupervisedProcess({
      name,
      spec,
      restart: this.opts.restart,
      output: this.opts.output ?? process.stdout,
      onEvent: (event, detail) => {
        if (event === 'exit' && !detail.stopping) {
          this.opts.log.warn({ child: name, ...detail }, 'child exited');
          const { code, signal, error } = detail as { code: number | null; signal: string | null; error?: string };
          this.failures.add({
            at: Date.now(), name, host: this.host, state: 'exited', reason: exitReason(code, signal),
            ...(error ? { message: error } : {}),
          });
        } else {
          this.opts.log.info({ child: name, event, ...detail }, `child ${event}`);
        }
      },
    });
    this.children.push(child);
    child.start();
    return child;
  }

  /** Server i's stratum and HTTP addresses. */
  private serverAddresses(i: number): { stratum: { host: string; port: number }; http: { host: string; port: number } } {
    const { stratum, serverHttp } = this.opts;
    return { stratum: { host: stratum.host, port: stratum.port + i }, http: { host: serverHttp.host, port: serverHttp.port + i } };
  }

  /** Where the miners dial server i (a wildcard bind through loopback). */
  private serverEndpoint(i: number): ServerEndpoint {
    const { stratum } = this.serverAddresses(i);
    return { host: dialHost(stratum.host), port: stratum.port };
  }

  /** Index of miner i's primary server. */
  private primaryOf(i: number): number {
    return this.serverKeys.indexOf(this.failover[i - 1]![0]!);
  }

  async start(): Promise<void> {
    const endpoints = [];
    for (let i = 0; i < this.opts.servers; i++) {
      const { stratum, http } = this.serverAddresses(i);
      this.supervise(`server-${i}`, serverCommand(this.opts.upstream, this.opts.secrets, {
        stratum: `${stratum.host}:${stratum.port}`,
        http: `${http.host}:${http.port}`,
      }, { level: this.opts.logLevel, format: this.opts.logFormat }, i));
      endpoints.push(this.serverEndpoint(i));
    }
    const ready = await Promise.all(endpoints.map((e) => waitForPort(e.host, e.port, this.opts.serverReadyTimeoutMs, () => this.stopping)));
    if (this.stopping) return;
    if (ready.includes(false)) this.opts.log.warn({ endpoints }, 'a server port is not open yet; starting miners anyway (they retry and fail over)');
    // Read from now on: before, every read would fail.
    this.serverStats?.start();
    for (let i = 1; i <= this.opts.miners; i++) {
      const worker = `${this.opts.workerPrefix}-${i}`;
      const servers = this.failover[i - 1]!.map(parseEndpointKey);
      const logs = { level: this.opts.logLevel, format: this.opts.logFormat };
      this.supervise(worker, minerCommand(servers, worker, this.opts.threadsPerMiner, this.opts.secrets, logs, this.minerListen(i)));
    }
  }

  /** Where miner i (1..N) listens for its endpoints: the --miner-api/--miner-http ports + i - 1. */
  private minerListen(i: number): MinerListen {
    const { minerApi, minerHttp, minerApiAllow } = this.opts;
    const at = (a: ListenAddress) => hostPort(a.host, a.port + i - 1);
    return {
      ...(minerApi ? { api: at(minerApi), ...(minerApiAllow ? { apiAllow: minerApiAllow } : {}) } : {}),
      ...(minerHttp ? { http: at(minerHttp) } : {}),
    };
  }

  /** SIGTERM to every child (miners first, then the server so it can forward their last shares). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.serverStats?.stop();
    const isServer = (c: SupervisedProcess) => c.name.startsWith('server-');
    await Promise.all(this.children.filter((c) => !isServer(c)).map((c) => c.stop(this.opts.stopGraceMs)));
    await Promise.all(this.children.filter(isServer).map((c) => c.stop(this.opts.stopGraceMs)));
  }

  topology(now: number): TopologyView {
    return localView(this.status(), now);
  }

  status(): LocalStatus {
    const servers = [];
    for (let index = 0; index < this.opts.servers; index++) {
      const { stratum, http } = this.serverAddresses(index);
      const key = `${stratum.host}:${stratum.port}`;
      const stats = this.serverStats?.get(key);
      servers.push({ index, stratum: key, http: `${http.host}:${http.port}`, ...(stats ? { stats } : {}) });
    }
    const miners = [];
    for (let i = 1; i <= this.opts.miners; i++) {
      const { api, http } = this.minerListen(i);
      miners.push({ worker: `${this.opts.workerPrefix}-${i}`, primary: this.primaryOf(i), ...(api ? { api } : {}), ...(http ? { http } : {}) });
    }
    return {
      mode: 'local', host: this.host, servers, miners, ...(this.serverStats ? { farm: this.serverStats.farm() } : {}),
      failures: this.failures.list(), children: this.children.map((c) => c.status()),
    };
  }
}
