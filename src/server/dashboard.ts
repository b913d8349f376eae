// The live page of `serve` (GET / on --http). Every `sampleMs` the server's totals go into a ring of samples (whether
// or not a page is open, so the charts have hours of history when one opens), and the open pages get the sample and
// the page's view of /status over Server-Sent Events (GET /events): one JSON message built per tick for all of them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebAssets } from '../web/assets.js';
import { EventStream, sseMessage } from '../web/event-stream.js';
import { SampleRing } from '../web/sample-ring.js';
import type { UpstreamStatus } from '../upstream/types.js';
import type { MinerServer } from './miner-server.js';
import type { ServerStatsSnapshot } from './server-stats.js';

export const DASHBOARD_DEFAULTS = {
  sampleMs: 5000,
  /** Four hours of samples (2,880 at 5 s). */
  historySeconds: 4 * 3600,
  /** Miners in the page's table at most, the busiest first (as /status). */
  maxMiners: 1000,
  maxPages: 32,
} as const;

export interface DashboardOptions {
  sampleMs?: number;
  historySeconds?: number;
  maxMiners?: number;
  /** Pages open at once at most (each holds an event stream). */
  maxPages?: number;
  assets?: WebAssets;
}

/** One row of the miners table; times in ms since the epoch, hashrate the 5-minute average. */
export interface MinerRow {
  id: number;
  worker: string;
  remote: string;
  hashrate: number;
  accepted: number;
  rejected: number;
  difficulty: number;
  lastShareAt: number | null;
  connectedAt: number;
}

/** What the page shows besides the charts: /status with the miners cut down to the table's columns. */
export interface DashboardView {
  at: number;
  listen: string | null;
  connections: number;
  maxConnections: number;
  upstream: Omit<UpstreamStatus, 'spaces'>;
  stats: ServerStatsSnapshot;
  miners: MinerRow[];
}

export class ServerDashboard {
  readonly sampleMs: number;
  private readonly assets: WebAssets;
  private readonly ring: SampleRing;
  private readonly stream: EventStream;
  private readonly maxMiners: number;
  private timer: NodeJS.Timeout | undefined;
  private previous: ServerStatsSnapshot;

  constructor(private readonly server: MinerServer, options: DashboardOptions = {}) {
    this.sampleMs = options.sampleMs ?? DASHBOARD_DEFAULTS.sampleMs;
    const historySeconds = options.historySeconds ?? DASHBOARD_DEFAULTS.historySeconds;
    this.ring = new SampleRing(Math.max(1, Math.round((historySeconds * 1000) / this.sampleMs)));
    this.maxMiners = options.maxMiners ?? DASHBOARD_DEFAULTS.maxMiners;
    this.stream = new EventStream({ maxClients: options.maxPages ?? DASHBOARD_DEFAULTS.maxPages });
    this.assets = options.assets ?? new WebAssets();
    this.previous = server.stats.snapshot();
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.closeAll();
  }

  /** GET /, /assets/*, /events; false for any other path. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (path === '/') this.assets.page(req, res, 'serve.html');
    else if (path === '/events') this.stream.open(req, res, () => this.initMessage(Date.now()));
    else return this.assets.serve(req, res, path);
    return true;
  }

  /** Takes a sample; pushes it with the current view to the open pages. Public for tests (no waiting on timers). */
  tick(now: number): void {
    const t = now / 1000;
    const values = this.sample(now);
    this.ring.push(t, values);
    if (this.stream.size > 0) this.stream.broadcast(sseMessage('update', JSON.stringify({ sample: { t, values }, view: this.view(now) })));
  }

  view(now: number): DashboardView {
    const s = this.server.status(now, this.maxMiners);
    const { spaces: _spaces, ...upstream } = s.upstream;
    return {
      at: now,
      listen: s.listen,
      connections: s.connections,
      maxConnections: s.maxConnections,
      upstream,
      stats: s.stats,
      miners: s.miners.map((m) => ({
        id: m.id,
        worker: m.worker,
        remote: m.remote,
        hashrate: Math.round(m.hashrate['5m']),
        accepted: m.accepted,
        rejected: m.rejected,
        difficulty: m.difficulty,
        lastShareAt: m.lastShareAt === null ? null : Date.parse(m.lastShareAt),
        connectedAt: Date.parse(m.connectedAt),
      })),
    };
  }

  /** The figures charted: hashrate averages, and shares and blocks since the previous sample. */
  private sample(now: number): Record<string, number> {
    const s = this.server.stats.snapshot(now);
    const p = this.previous;
    this.previous = s;
    const values: Record<string, number> = {
      hashrate1m: Math.round(s.hashrate['1m']),
      hashrate5m: Math.round(s.hashrate['5m']),
      accepted: s.shares.accepted - p.shares.accepted,
      blocks: s.blocksFound - p.blocksFound,
      miners: this.server.connectionCount,
    };
    for (const [reason, n] of Object.entries(s.shares.rejectedByReason)) {
      const delta = n - (p.shares.rejectedByReason[reason as keyof typeof p.shares.rejectedByReason] ?? 0);
      if (delta > 0) values[`rejected:${reason}`] = delta;
    }
    return values;
  }

  private initMessage(now: number): string {
    const history = { intervalSeconds: this.sampleMs / 1000, capacity: this.ring.capacity, ...this.ring.toJSON() };
    return sseMessage('init', JSON.stringify({ history, view: this.view(now) }));
  }
}
