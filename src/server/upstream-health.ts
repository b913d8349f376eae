// Whether this server is worth its miners: a server whose upstream (pool or node) has been down longer than a
// threshold is unhealthy. Its HTTP health check (GET /health) then fails, so Mesos replaces it while its miners
// mine through the other servers of the tier. A short outage (a pool reconnect, a node restart) is not enough.
import type { Upstream, UpstreamState } from '../upstream/types.js';

export interface HealthReport {
  healthy: boolean;
  upstream: UpstreamState;
  /** Seconds the upstream has been down (absent while it is connected). */
  downSeconds?: number;
  reason?: string;
}

export class UpstreamHealth {
  /** Since when the upstream has not been connected (the start counts as down until the first connection). */
  private downSince: number | null;

  /** `unhealthyAfterMs` 0: never unhealthy. */
  constructor(private readonly upstream: Upstream, private readonly unhealthyAfterMs: number, private readonly now: () => number = Date.now) {
    this.downSince = upstream.status().state === 'connected' ? null : now();
    upstream.on('state', (state) => {
      if (state === 'connected') this.downSince = null;
      else this.downSince ??= this.now();
    });
  }

  report(): HealthReport {
    const upstream = this.upstream.status().state;
    if (this.downSince === null) return { healthy: true, upstream };
    const downMs = this.now() - this.downSince;
    const downSeconds = Math.round(downMs / 1000);
    if (this.unhealthyAfterMs <= 0 || downMs < this.unhealthyAfterMs) return { healthy: true, upstream, downSeconds };
    return { healthy: false, upstream, downSeconds, reason: `upstream ${upstream} for ${downSeconds} s (limit ${this.unhealthyAfterMs / 1000} s)` };
  }
}
