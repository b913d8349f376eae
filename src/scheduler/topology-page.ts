// The topology page of `schedule` and `local` (GET / on --http): the launcher's view (topology-view.ts) pushed to
// the open pages every few seconds, and the farm's figures charted each time the servers' /status have been read
// (every 10 s). Every miner is listed, so with a farm of 10,000 the list is the bulk of a message: an update carries
// it only when it has changed since the previous update (a page has the rest from its `init`).
import { LivePage, type Sample } from '../web/live-page.js';
import type { WebAssets } from '../web/assets.js';
import type { Launcher } from './launcher.js';
import type { TopologyView } from './topology-view.js';

export const TOPOLOGY_PAGE_DEFAULTS = {
  tickMs: 5000,
  /** Four hours of the farm's figures. */
  historySeconds: 4 * 3600,
  maxPages: 32,
} as const;

export interface TopologyPageOptions {
  tickMs?: number;
  historySeconds?: number;
  maxPages?: number;
  /** How far apart the farm's figures are read (the launcher's stats interval): sizes the ring. */
  sampleSeconds?: number;
  assets?: WebAssets;
}

export class TopologyPage extends LivePage {
  /** The miners as the previous update sent them (JSON). */
  private sentMiners: string | undefined;
  private sampledRound: number | undefined;

  constructor(private readonly launcher: Pick<Launcher, 'topology' | 'serverStats'>, options: TopologyPageOptions = {}) {
    super({
      page: 'topology.html',
      tickMs: options.tickMs ?? TOPOLOGY_PAGE_DEFAULTS.tickMs,
      sampleSeconds: options.sampleSeconds ?? 10,
      historySeconds: options.historySeconds ?? TOPOLOGY_PAGE_DEFAULTS.historySeconds,
      maxPages: options.maxPages ?? TOPOLOGY_PAGE_DEFAULTS.maxPages,
      ...(options.assets ? { assets: options.assets } : {}),
    });
  }

  /** The farm's figures once per round of reads, at the time the round ended. */
  protected sample(): Sample | undefined {
    const stats = this.launcher.serverStats;
    const round = stats?.lastRound;
    if (!stats || round === undefined || round === this.sampledRound) return undefined;
    this.sampledRound = round;
    const farm = stats.farm();
    return {
      t: round / 1000,
      values: {
        hashrate1m: Math.round(farm.hashrate['1m'] ?? 0), hashrate5m: Math.round(farm.hashrate['5m'] ?? 0),
        connections: farm.connections, reporting: farm.reporting,
      },
    };
  }

  view(now: number, kind: 'init' | 'update'): TopologyView {
    const view = this.launcher.topology(now);
    if (kind === 'init') return view;
    const miners = JSON.stringify(view.miners);
    if (miners !== this.sentMiners) {
      this.sentMiners = miners;
      return view;
    }
    const { miners: _same, ...rest } = view;
    return rest;
  }
}
