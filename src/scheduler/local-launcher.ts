// `local`: the same topology as on Mesos, as child processes of this one. The server starts first; miners start
// once its stratum port accepts connections (or after a bounded wait: they reconnect on their own anyway).
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LogFormat, Logger } from '../log.js';
import type { BackoffOptions } from './backoff.js';
import type { Launcher } from './launcher.js';
import { SupervisedProcess, type ChildStatus, type ProcessSpec } from './supervisor.js';
import { minerCommand, serverCommand, type LogLevel, type TaskCommand, type TaskSecrets, type UpstreamOptions } from './topology.js';

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
  threadsPerMiner: number;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  /** Where the server's stratum port and HTTP status listen; miners connect to the stratum one. */
  stratum: { host: string; port: number };
  serverHttp: { host: string; port: number };
  workerPrefix: string;
  /** Log level and format of the children (default info, JSON). */
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  restart: BackoffOptions & { stableMs: number };
  stopGraceMs: number;
  /** How long miners wait for the server's port before starting anyway. */
  serverReadyTimeoutMs: number;
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

export class LocalLauncher implements Launcher {
  private readonly children: SupervisedProcess[] = [];
  private stopping = false;
  private readonly factory: CommandFactory;

  constructor(private readonly opts: LocalOptions) {
    if (!Number.isInteger(opts.miners) || opts.miners < 0) throw new Error(`miners must be an integer >= 0, got ${opts.miners}`);
    this.factory = opts.factory ?? cliCommandFactory();
  }

  private supervise(name: string, task: TaskCommand): SupervisedProcess {
    const spec = this.factory({ ...task, name });
    const child = new SupervisedProcess({
      name,
      spec,
      restart: this.opts.restart,
      output: this.opts.output ?? process.stdout,
      onEvent: (event, detail) => {
        if (event === 'exit' && !detail.stopping) this.opts.log.warn({ child: name, ...detail }, 'child exited');
        else this.opts.log.info({ child: name, event, ...detail }, `child ${event}`);
      },
    });
    this.children.push(child);
    child.start();
    return child;
  }

  async start(): Promise<void> {
    const { stratum, serverHttp } = this.opts;
    this.supervise('server', serverCommand(this.opts.upstream, this.opts.secrets, {
      stratum: `${stratum.host}:${stratum.port}`,
      http: `${serverHttp.host}:${serverHttp.port}`,
    }, { level: this.opts.logLevel, format: this.opts.logFormat }));
    const endpoint = { host: dialHost(stratum.host), port: stratum.port };
    const ready = await waitForPort(endpoint.host, endpoint.port, this.opts.serverReadyTimeoutMs, () => this.stopping);
    if (this.stopping) return;
    if (!ready) this.opts.log.warn({ endpoint }, 'server port not open yet; starting miners anyway (they retry)');
    for (let i = 1; i <= this.opts.miners; i++) {
      const worker = `${this.opts.workerPrefix}-${i}`;
      this.supervise(worker, minerCommand(endpoint, worker, this.opts.threadsPerMiner, this.opts.secrets, { level: this.opts.logLevel, format: this.opts.logFormat }));
    }
  }

  /** SIGTERM to every child (miners first, then the server so it can forward their last shares). */
  async stop(): Promise<void> {
    this.stopping = true;
    const miners = this.children.filter((c) => c.name !== 'server');
    await Promise.all(miners.map((c) => c.stop(this.opts.stopGraceMs)));
    await Promise.all(this.children.filter((c) => c.name === 'server').map((c) => c.stop(this.opts.stopGraceMs)));
  }

  status(): { mode: 'local'; server: { stratum: string; http: string }; children: ChildStatus[] } {
    return {
      mode: 'local',
      server: { stratum: `${this.opts.stratum.host}:${this.opts.stratum.port}`, http: `${this.opts.serverHttp.host}:${this.opts.serverHttp.port}` },
      children: this.children.map((c) => c.status()),
    };
  }
}
