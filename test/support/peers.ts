// The real peers of the integration suite (../shared/peers beside the project, or $MESOS_MINER_PEERS): a bcoin
// regtest node, ckpool pools, cpuminer and a Mesos master + agent. Each test file gets its own run dir and its own
// free ports, so files never collide with each other or with peers someone started by hand; `stop()` stops only
// what that run dir started. Where the peers are absent (a user's clone), the suite is skipped with a clear message.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { freePort, killStillRunning, spawnCaptured, type CliRun } from './processes.js';
import { waitUntil } from './wait-until.js';

const execFileAsync = promisify(execFile);

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the peers live: $MESOS_MINER_PEERS, else ../shared/peers beside the project. */
export const PEERS_HOME = process.env.MESOS_MINER_PEERS ?? path.resolve(PROJECT_ROOT, '../shared/peers');
const PEERS_CTL = path.join(PEERS_HOME, 'peers');

export const peersPresent = existsSync(PEERS_CTL);
export const SKIP_MESSAGE = `skipped: real peers not present (looked for ${PEERS_CTL}; set MESOS_MINER_PEERS to their folder)`;

/** `describe` for a suite that needs the real peers: skipped, and says so, where they are absent. */
export function describePeers(name: string, body: () => void): void {
  if (peersPresent) {
    describe(name, body);
    return;
  }
  describe.skip(`${name} (${SKIP_MESSAGE})`, body);
}

export type PeerName = 'node' | 'pool lhr' | 'pool solo' | 'pool shares' | 'mesos';

export interface PeersFixture {
  /** The suite's peers (set once beforeAll has run). */
  readonly peers: Peers;
  /** Processes a test starts; whatever still runs is killed after each test. */
  readonly children: ChildProcess[];
}

/**
 * The hooks of a suite on real peers, to call inside describePeers: its own run dir with `names` started before all
 * tests, the tests' children killed after each one, the peers stopped after all.
 */
export function usePeers(...names: PeerName[]): PeersFixture {
  let peers: Peers | undefined;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    peers = await Peers.create();
    await peers.start(...names);
  }, 120_000);
  afterEach(() => killStillRunning(children));
  afterAll(async () => peers?.stop());
  return {
    get peers() {
      if (!peers) throw new Error('peers not started (beforeAll failed?)');
      return peers;
    },
    children,
  };
}

/** Ports of one run dir's peers, all free when chosen. */
const PORT_VARS = [
  'PEERS_RPC_PORT',
  'PEERS_P2P_PORT',
  'PEERS_WALLET_PORT',
  'PEERS_POOL_LHR_PORT',
  'PEERS_POOL_SOLO_PORT',
  'PEERS_POOL_SHARES_PORT',
  'PEERS_FILTER_PORT',
  'PEERS_MESOS_MASTER_PORT',
  'PEERS_MESOS_AGENT_PORT',
] as const;

export interface RpcReply<T> {
  result: T;
  error: { code: number; message: string } | null;
}

/** One run dir of real peers. Create with `Peers.create()`, start what the test needs, `stop()` in afterAll. */
export class Peers {
  /** Environment for the control script (and for children that want the PEERS_* variables). */
  readonly env: Record<string, string>;
  private vars: Record<string, string> = {};

  private constructor(readonly runDir: string, ports: Record<string, string>, extra: Record<string, string>) {
    this.env = { PEERS_RUN: runDir, ...ports, ...extra };
  }

  /** A fresh short run dir (ckpool socket paths must stay short) and free ports. */
  static async create(extra: Record<string, string> = {}): Promise<Peers> {
    const runDir = mkdtempSync('/tmp/mmp-');
    const ports: Record<string, string> = {};
    const taken = new Set<number>();
    for (const name of PORT_VARS) {
      let port: number;
      do port = await freePort(); while (taken.has(port));
      taken.add(port);
      ports[name] = String(port);
    }
    // The agent offers its own port range, so tasks of two run dirs' agents never bind the same port (the
    // default range, 31000-31999, would be shared); it stays below Linux's ephemeral range (32768+).
    const base = 20_000 + 500 * Math.floor(Math.random() * 24);
    const resources = `cpus:2;mem:4096;ports:[${base}-${base + 499}]`;
    return new Peers(runDir, ports, { PEERS_MESOS_AGENT_RESOURCES: resources, ...extra });
  }

  /** Runs the control script; resolves with its stdout, rejects with its output on failure. */
  async ctl(...args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync(PEERS_CTL, args, {
        env: { ...process.env, ...this.env },
        timeout: 120_000,
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`peers ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }

  /** Starts peers in order (pools need the node) and reads the resulting environment. */
  async start(...names: PeerName[]): Promise<void> {
    for (const name of names) await this.ctl('start', ...name.split(' '));
    this.vars = parseEnv(await this.ctl('env'));
  }

  /** A PEERS_* variable as `peers env` prints it (URLs, payout, binaries); throws for an unknown one. */
  v(name: string): string {
    const value = this.vars[name] ?? this.env[name];
    if (value === undefined) throw new Error(`peers env has no ${name} (start the peers first)`);
    return value;
  }

  /** The node's RPC URL with credentials, as `serve --bitcoind` takes it. */
  get bitcoindUrl(): string {
    return `http://${this.v('PEERS_RPC_USER')}:${this.v('PEERS_RPC_PASS')}@127.0.0.1:${this.v('PEERS_RPC_PORT')}`;
  }

  /** A JSON-RPC call to the node; throws on an RPC error. */
  async rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const reply = await this.rpcReply<T>(method, params);
    if (reply.error) throw new Error(`node ${method}: RPC error ${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  }

  /** The node's whole reply (result and error), for tests about RPC errors. */
  async rpcReply<T = unknown>(method: string, params: unknown[] = []): Promise<RpcReply<T>> {
    const auth = Buffer.from(`${this.v('PEERS_RPC_USER')}:${this.v('PEERS_RPC_PASS')}`).toString('base64');
    const res = await fetch(`http://127.0.0.1:${this.v('PEERS_RPC_PORT')}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
      body: JSON.stringify({ jsonrpc: '1.0', id: 'test', method, params }),
      signal: AbortSignal.timeout(30_000),
    });
    return (await res.json()) as RpcReply<T>;
  }

  /**
   * cpuminer (sha256d, one thread) mining on `url` as `user`, its mining thread at normal priority. cpuminer puts
   * each mining thread at nice 19 and SCHED_IDLE, where it gets about 0.3% of a core while the cores are busy with
   * anything else (a CI job beside the suite, the busy-machine runs): a share at the pools' 0.001 then took two
   * minutes. Set back to SCHED_OTHER and nice 0 (chrt, renice: root or CAP_SYS_NICE), it competes like every other
   * process; where that is refused it runs as it chose, and a warning says so. `idle: true` leaves it as it chose.
   */
  async cpuminer(url: string, user: string, opts: { idle?: boolean } = {}): Promise<CliRun> {
    const run = spawnCaptured(this.v('PEERS_MINERD'), ['-a', 'sha256d', '-o', url, '-u', user, '-p', 'x', '-t', '1'], { keepChars: 20_000 });
    if (opts.idle) return run;
    try {
      const tid = await waitUntil(() => idleThreads(run.child.pid!)[0], "cpuminer's mining thread at SCHED_IDLE", 10_000, 20);
      await execFileAsync('chrt', ['--other', '-p', '0', tid]);
      await execFileAsync('renice', ['-n', '0', '-p', tid]);
    } catch (err) {
      console.warn(`cpuminer keeps its idle priority (slow while the cores are busy): ${(err as Error).message}`);
    }
    return run;
  }

  /** Stops everything this run dir started and removes the run dir unless `keep` (to read its logs). */
  async stop(keep = false): Promise<void> {
    try {
      await this.ctl('stop', 'all');
    } finally {
      if (!keep) rmSync(this.runDir, { recursive: true, force: true });
    }
  }
}

/** The threads of a process scheduled SCHED_IDLE (policy 5, the 41st field of /proc/TID/stat). */
function idleThreads(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).filter((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3] === '5';
  });
}

/** `export NAME=value` lines (values possibly single-quoted) -> object. */
function parseEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1).replace(/'\\''/g, "'");
    else if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    vars[m[1]!] = value;
  }
  return vars;
}
