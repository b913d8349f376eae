// The live page of `serve` (GET / on --http): every `sampleMs` the server's totals go into the page's ring of
// samples, and the open pages get the sample and the page's view of /status (web/live-page.ts does the rest).
import { LivePage, type Sample } from '../web/live-page.js';
import type { WebAssets } from '../web/assets.js';
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

export class ServerDashboard extends LivePage {
  readonly sampleMs: number;
  private readonly maxMiners: number;
  private previous: ServerStatsSnapshot;

  constructor(private readonly server: MinerServer, options: DashboardOptions = {}) {
    const sampleMs = options.sampleMs ?? DASHBOARD_DEFAULTS.sampleMs;
    super({
      page: 'serve.html',
      tickMs: sampleMs,
      sampleSeconds: sampleMs / 1000,
      historySeconds: options.historySeconds ?? DASHBOARD_DEFAULTS.historySeconds,
      maxPages: options.maxPages ?? DASHBOARD_DEFAULTS.maxPages,
      ...(options.assets ? { assets: options.assets } : {}),
    });
    this.sampleMs = sampleMs;
    this.maxMiners = options.maxMiners ?? DASHBOARD_DEFAULTS.maxMiners;
    this.previous = server.stats.snapshot();
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
  protected sample(now: number): Sample {
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
    return { t: now / 1000, values };
  }
}
