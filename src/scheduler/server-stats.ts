// The farm's figures for the scheduler's /status: every running server's own GET /status, read every few seconds
// (its connected miners, the hashrate their shares show, its upstream), and their sum. Read over HTTP like any
// monitoring would: the servers know nothing of the scheduler, and a server that does not answer keeps its last
// figures with the error beside them.

/** What one server reported (hashrates in H/s, by window: 1m, 5m, 1h). */
export interface ServerFigures {
  /** When they were read (ISO time). */
  at: string;
  connections: number;
  hashrate: Record<string, number>;
  upstream: string;
  blocksFound: number;
  /** The last read failed (the figures are older than `at` suggests). */
  error?: string;
}

export interface FarmFigures {
  /** Servers whose last read succeeded (the sums also hold the last figures of those whose last read failed). */
  reporting: number;
  connections: number;
  hashrate: Record<string, number>;
  blocksFound: number;
}

/** A server to read: its endpoint key (host:stratum port) and where its /status is. */
export interface StatsTarget { key: string; statusUrl: string }

export class ServerStatsPoller {
  private readonly figures = new Map<string, ServerFigures>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private roundEndedAt: number | undefined;

  constructor(private readonly targets: () => StatsTarget[], private readonly intervalMs: number, private readonly timeoutMs = 3000) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads every target once (at most one round at a time); servers no longer targeted are forgotten. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const targets = this.targets();
      const keys = new Set(targets.map((t) => t.key));
      for (const key of this.figures.keys()) if (!keys.has(key)) this.figures.delete(key);
      await Promise.all(targets.map((t) => this.read(t)));
      this.roundEndedAt = Date.now();
    } finally {
      this.polling = false;
    }
  }

  /** When the last round of reads ended (ms since the epoch): the farm's figures are as of then. */
  get lastRound(): number | undefined {
    return this.roundEndedAt;
  }

  get(key: string): ServerFigures | undefined {
    return this.figures.get(key);
  }

  farm(): FarmFigures {
    const farm: FarmFigures = { reporting: 0, connections: 0, hashrate: {}, blocksFound: 0 };
    for (const f of this.figures.values()) {
      if (f.error === undefined) farm.reporting += 1;
      farm.connections += f.connections;
      farm.blocksFound += f.blocksFound;
      for (const [window, rate] of Object.entries(f.hashrate)) farm.hashrate[window] = (farm.hashrate[window] ?? 0) + rate;
    }
    return farm;
  }

  private async read(target: StatsTarget): Promise<void> {
    try {
      const res = await fetch(target.statusUrl, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel(); // frees the connection now, not at garbage collection
        throw new Error(`HTTP ${res.status}`);
      }
      const body = await res.json() as { connections?: unknown; stats?: { hashrate?: unknown; blocksFound?: unknown }; upstream?: { state?: unknown } };
      const hashrate: Record<string, number> = {};
      for (const [window, rate] of Object.entries(body.stats?.hashrate ?? {})) if (typeof rate === 'number') hashrate[window] = rate;
      this.figures.set(target.key, {
        at: new Date().toISOString(),
        connections: typeof body.connections === 'number' ? body.connections : 0,
        hashrate,
        upstream: typeof body.upstream?.state === 'string' ? body.upstream.state : 'unknown',
        blocksFound: typeof body.stats?.blocksFound === 'number' ? body.stats.blocksFound : 0,
      });
    } catch (err) {
      const last = this.figures.get(target.key) ?? { at: new Date().toISOString(), connections: 0, hashrate: {}, upstream: 'unknown', blocksFound: 0 };
      this.figures.set(target.key, { ...last, error: (err as Error).message });
    }
  }
}
