// The cgminer RPC API of `mine` (--api-listen), read-only, so that tools written for cgminer see this miner: one
// request per TCP connection, JSON ({"command":"summary"}) or text (summary, check|devs, summary+devs), one reply
// with a trailing NUL, then the connection closes. The kernel threads are the devices (CPU0, CPU1, ...). Commands
// that would change the miner are refused with cgminer's "Access denied" status whatever --api-allow says, and an
// address --api-allow does not list is closed without a reply, as cgminer does.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { listenOn } from '../listen-address.js';
import { silentLogger, type Logger } from '../log.js';
import { allowedBy, type AllowEntry } from './api-allow.js';
import { diff, fixed2, formatJoined, formatReply, mhs, percent, Fixed, type Reply, type Row } from './cgminer-reply.js';
import type { MinerStatus } from './miner.js';
import type { MinerTally } from './tally.js';

/** The cgminer API version whose format this follows. */
export const API_VERSION = '3.7';
const MAX_REQUEST_BYTES = 4096;
const MAX_CONNECTIONS = 32;
const REQUEST_TIMEOUT_MS = 5000;
/** How long a JSON request that does not parse yet may wait for the rest. */
const JSON_WAIT_MS = 250;
const TWO_32 = 4294967296;

export interface ApiSource {
  status(): MinerStatus;
  tally: MinerTally;
  /** Pool URLs in failover order (no credentials: the password is never shown). */
  pools: string[];
  user: string;
  versionRolling: boolean;
  /** Seconds between status lines (cgminer's "Log Interval"). */
  logIntervalSeconds: number;
  /** "mesos-miner 0.1.0": cgminer's Description, and the version reported. */
  description: string;
}

export interface CgminerApiOptions {
  host: string;
  port: number;
  allow: AllowEntry[];
  logger?: Logger;
}

/** cgminer's commands that change the miner: refused here (this API is read-only). */
const WRITE_COMMANDS = new Set([
  'switchpool', 'enablepool', 'addpool', 'poolpriority', 'poolquota', 'disablepool', 'removepool', 'save', 'quit', 'privileged',
  'restart', 'pgaenable', 'pgadisable', 'pgaidentify', 'pgaset', 'ascenable', 'ascdisable', 'ascidentify', 'ascset', 'debug',
  'setconfig', 'zero', 'hotplug', 'lockstats', 'failover-only',
]);

const ok = (code: number, msg: string) => ({ severity: 'S' as const, code, msg });
const error = (code: number, msg: string) => ({ severity: 'E' as const, code, msg });
const denied = (command: string): Reply => ({ status: error(45, `Access denied to '${command}' command`) });
const INVALID_COMMAND: Reply = { status: error(14, 'Invalid command') };

/** One request's view: the miner's status read once. */
interface Snapshot {
  s: MinerStatus;
  src: ApiSource;
  now: number;
}

const seconds = (ms: number | null) => (ms === null ? 0 : Math.floor(ms / 1000));
const perMinute = (n: number, elapsed: number) => fixed2(elapsed > 0 ? (n * 60) / elapsed : 0);

function summary({ s, src, now }: Snapshot): Reply {
  const t = src.tally;
  const sh = s.shares;
  const elapsed = s.uptimeSeconds;
  const answered = t.total.diffAccepted + t.total.diffRejected + t.total.diffStale;
  const row: Row = {
    Elapsed: Math.floor(elapsed),
    'MHS av': mhs(s.hashrate.average),
    'MHS 5s': mhs(s.hashrate.avg5s),
    'MHS 1m': mhs(s.hashrate.avg1m),
    'MHS 5m': mhs(s.hashrate.avg5m),
    'MHS 15m': mhs(s.hashrate.avg15m),
    'Found Blocks': 0,
    Getworks: t.jobs,
    Accepted: sh.accepted,
    Rejected: sh.rejected,
    'Hardware Errors': sh.invalid,
    Utility: perMinute(sh.accepted, elapsed),
    Discarded: sh.dropped,
    Stale: sh.stale,
    'Get Failures': t.pools.reduce((n, p) => n + p.disconnects, 0),
    'Local Work': t.scans,
    'Remote Failures': sh.unanswered,
    'Network Blocks': t.cleanJobs,
    'Total MH': new Fixed(s.hashrate.total / 1e6, 4),
    'Work Utility': perMinute(s.hashrate.total / TWO_32, elapsed),
    'Difficulty Accepted': diff(t.total.diffAccepted),
    'Difficulty Rejected': diff(t.total.diffRejected),
    'Difficulty Stale': diff(t.total.diffStale),
    'Best Share': diff(t.bestShare),
    'Device Hardware%': percent(sh.invalid, sh.found),
    'Device Rejected%': percent(t.total.diffRejected, answered),
    'Pool Rejected%': percent(t.total.diffRejected, answered),
    'Pool Stale%': percent(t.total.diffStale, answered),
    'Last getwork': seconds(t.lastJobAt ?? now),
  };
  return { status: ok(11, 'Summary'), section: { name: 'SUMMARY', rows: [row], named: true } };
}

function devs({ s, src }: Snapshot): Reply {
  const elapsed = s.uptimeSeconds;
  const rows = s.perThread.map((h, i): Row => {
    const t = src.tally.threads[i]!;
    const answered = t.diffAccepted + t.diffRejected + t.diffStale;
    // A thread that has not finished a kernel call for a minute is not hashing (no work, or stopped).
    const alive = t.lastScanAt !== null && Date.now() - t.lastScanAt < 60_000;
    return {
      CPU: i,
      Name: 'CPU',
      ID: i,
      Enabled: 'Y',
      Status: alive ? 'Alive' : 'Dead',
      Temperature: fixed2(0),
      'MHS av': mhs(elapsed > 0 ? h.total / elapsed : 0),
      'MHS 5s': mhs(h.avg5s),
      'MHS 1m': mhs(h.avg1m),
      'MHS 5m': mhs(h.avg5m),
      'MHS 15m': mhs(h.avg15m),
      Accepted: t.accepted,
      Rejected: t.rejected,
      'Hardware Errors': 0,
      Utility: perMinute(t.accepted, elapsed),
      'Last Share Pool': t.lastSharePool,
      'Last Share Time': seconds(t.lastShareAt),
      'Total MH': new Fixed(h.total / 1e6, 4),
      'Diff1 Work': Math.floor(h.total / TWO_32),
      'Difficulty Accepted': diff(t.diffAccepted),
      'Difficulty Rejected': diff(t.diffRejected),
      'Last Share Difficulty': diff(t.lastShareDifficulty),
      'Last Valid Work': seconds(t.lastScanAt),
      'Device Hardware%': percent(0, 1),
      'Device Rejected%': percent(t.diffRejected, answered),
      'Device Elapsed': Math.floor(elapsed),
    };
  });
  return { status: ok(9, `${rows.length} CPU(s)`), section: { name: 'DEVS', rows } };
}

function pools({ s, src }: Snapshot): Reply {
  const rows = src.pools.map((url, i): Row => {
    const t = src.tally.pools[i]!;
    const active = s.connected && s.pool?.poolIndex === i;
    const answered = t.diffAccepted + t.diffRejected + t.diffStale;
    return {
      POOL: i,
      URL: url,
      Status: active ? 'Alive' : t.disconnects > 0 ? 'Dead' : 'Unknown',
      Priority: i,
      Quota: 1,
      'Long Poll': 'N',
      Getworks: t.jobs,
      Accepted: t.accepted,
      Rejected: t.rejected,
      Works: t.jobs,
      Discarded: 0,
      Stale: t.stale,
      'Get Failures': t.disconnects,
      'Remote Failures': 0,
      User: src.user,
      'Last Share Time': seconds(t.lastShareAt),
      'Diff1 Shares': 0,
      'Proxy Type': '',
      Proxy: '',
      'Difficulty Accepted': diff(t.diffAccepted),
      'Difficulty Rejected': diff(t.diffRejected),
      'Difficulty Stale': diff(t.diffStale),
      'Last Share Difficulty': diff(t.lastShareDifficulty),
      'Work Difficulty': diff(active ? (s.difficulty ?? 0) : 0),
      'Has Stratum': true,
      'Stratum Active': active,
      'Stratum URL': active ? url.replace(/^stratum\+tcp:\/\//, '') : '',
      'Stratum Difficulty': diff(active ? (s.difficulty ?? 0) : 0),
      'Has Vmask': src.versionRolling,
      'Has GBT': false,
      'Pool Rejected%': percent(t.diffRejected, answered),
      'Pool Stale%': percent(t.diffStale, answered),
    };
  });
  return { status: ok(7, `${rows.length} Pool(s)`), section: { name: 'POOLS', rows } };
}

function stats({ s, src }: Snapshot): Reply {
  const elapsed = Math.floor(s.uptimeSeconds);
  const threads = s.perThread.map((h, i): Row => ({ STATS: i, ID: `CPU${i}`, Elapsed: elapsed, Calls: src.tally.threads[i]!.scans, Kernel: s.kernel ?? '', Hashes: h.total }));
  const poolRows = src.pools.map((_, i): Row => {
    const active = s.connected && s.pool?.poolIndex === i;
    return { STATS: threads.length + i, ID: `POOL${i}`, Elapsed: elapsed, Calls: src.tally.pools[i]!.jobs, 'Work Diff': diff(active ? (s.difficulty ?? 0) : 0) };
  });
  return { status: ok(70, 'CGMiner stats'), section: { name: 'STATS', rows: [...threads, ...poolRows] } };
}

function version({ src }: Snapshot): Reply {
  return { status: ok(22, 'CGMiner versions'), section: { name: 'VERSION', rows: [{ CGMiner: src.description, API: API_VERSION }], named: true } };
}

function config({ src }: Snapshot): Reply {
  const os = process.platform === 'linux' ? 'Linux' : process.platform === 'darwin' ? 'Apple' : process.platform === 'win32' ? 'Windows' : 'Unix';
  const row: Row = {
    'ASC Count': 0,
    'PGA Count': 0,
    'Pool Count': src.pools.length,
    Strategy: 'Failover',
    'Log Interval': src.logIntervalSeconds,
    'Device Code': '',
    OS: os,
    Hotplug: 'None',
  };
  return { status: ok(33, 'CGMiner config'), section: { name: 'CONFIG', rows: [row], named: true } };
}

const count = (name: string, code: number, msg: string) => (): Reply => ({ status: ok(code, msg), section: { name, rows: [{ Count: 0 }], named: true } });

/** Reports: commands that take no parameter and may be joined with '+'. */
const REPORTS: Record<string, (snap: Snapshot) => Reply> = {
  version,
  config,
  summary,
  devs,
  edevs: devs,
  pools,
  stats,
  estats: stats,
  pgacount: count('PGAS', 59, 'PGA count'),
  asccount: count('ASCS', 104, 'ASC count'),
};

/** The report a command names: own keys only (a request for `constructor` or `__proto__` is an invalid command). */
function reportFor(command: string): ((snap: Snapshot) => Reply) | undefined {
  return Object.hasOwn(REPORTS, command) ? REPORTS[command] : undefined;
}

/** check|cmd: whether a command exists here and whether this API lets anyone use it. */
function check(param: string | undefined): Reply {
  if (!param) return { status: error(71, 'Missing check cmd') };
  const exists = reportFor(param) !== undefined || param === 'check' || WRITE_COMMANDS.has(param);
  const access = exists && !WRITE_COMMANDS.has(param);
  return { status: ok(72, 'Check command'), section: { name: 'CHECK', rows: [{ Exists: exists ? 'Y' : 'N', Access: access ? 'Y' : 'N' }] } };
}

/** The reply to one request (without the trailing NUL); `now` in ms. */
export function answerRequest(request: string, source: ApiSource, now = Date.now()): string {
  const context = { when: Math.floor(now / 1000), description: source.description };
  const text = request.replace(/[\0\s]+$/, '').replace(/^\s+/, '');
  const json = text.startsWith('{');
  let command: string;
  let param: string | undefined;
  if (json) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return formatReply({ status: error(23, 'Invalid JSON') }, context, true);
    }
    const c = (doc as { command?: unknown } | null)?.command;
    if (typeof c !== 'string') return formatReply({ status: error(24, "Missing JSON 'command'") }, context, true);
    command = c;
    const p = (doc as { parameter?: unknown }).parameter;
    param = typeof p === 'string' || typeof p === 'number' ? String(p) : undefined;
  } else {
    const bar = text.indexOf('|');
    command = bar < 0 ? text : text.slice(0, bar);
    param = bar < 0 ? undefined : text.slice(bar + 1);
  }
  const snap = (): Snapshot => ({ s: source.status(), src: source, now });
  if (command.includes('+')) {
    const names = [...new Set(command.split('+').filter((c) => c !== ''))];
    const s = snap();
    const replies = names.map((name): [string, Reply] => {
      const report = reportFor(name);
      if (report) return [name, report(s)];
      return [name, name === 'check' || WRITE_COMMANDS.has(name) ? denied(name) : INVALID_COMMAND];
    });
    return formatJoined(replies, context, json);
  }
  const report = reportFor(command);
  const reply = report ? report(snap()) : command === 'check' ? check(param) : WRITE_COMMANDS.has(command) ? denied(command) : INVALID_COMMAND;
  return formatReply(reply, context, json);
}

export class CgminerApi {
  private readonly server: Server;
  private readonly log: Logger;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly source: ApiSource, private readonly options: CgminerApiOptions) {
    this.log = options.logger ?? silentLogger;
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'cgminer API listener error'));
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.options, 'the cgminer API');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => {});
    if (!allowedBy(this.options.allow, socket.remoteAddress) || this.sockets.size >= MAX_CONNECTIONS) {
      const why = this.sockets.size >= MAX_CONNECTIONS ? `${MAX_CONNECTIONS} connections open` : '--api-allow';
      this.log.debug({ remote: socket.remoteAddress }, `cgminer API: connection refused (${why})`);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    let request = '';
    let answered = false;
    let incomplete: NodeJS.Timeout | undefined;
    const answer = () => {
      clearTimeout(incomplete);
      if (answered) return;
      answered = true;
      // One request per connection: nothing more is read (the idle timeout then closes a client that keeps the
      // connection open), and a reply that fails to build closes the connection instead of the miner.
      socket.pause();
      let reply: string;
      try {
        reply = answerRequest(request, this.source);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cgminer API: could not answer a request');
        socket.destroy();
        return;
      }
      socket.end(`${reply}\0`);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (answered) return;
      request += chunk;
      // cgminer answers what one read brought. A text command is answered at once; JSON once it parses, or when
      // nothing more came for a moment (a request split across packets still gets through; a broken one is
      // answered "Invalid JSON").
      clearTimeout(incomplete);
      if (!request.trimStart().startsWith('{') || request.length >= MAX_REQUEST_BYTES || parses(request)) answer();
      else incomplete = setTimeout(answer, JSON_WAIT_MS);
    });
    socket.on('end', answer);
    socket.on('close', () => clearTimeout(incomplete));
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
