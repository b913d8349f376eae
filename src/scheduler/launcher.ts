// The Launcher seam: what `schedule` and `local` have in common. Both run the topology of topology.ts (a tier of
// servers, N miners given all of them), restart what dies with backoff, stop cleanly and describe themselves on
// /status and the topology page; only where the processes live differs (Mesos tasks placed from offers, or
// children of this process).
import type { ServerStatsPoller } from './server-stats.js';
import type { TopologyView } from './topology-view.js';

export interface Launcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): unknown;
  /** The topology page's view of status(). */
  topology(now: number): TopologyView;
  /** Reads the servers' /status for the farm's figures (absent when turned off). */
  readonly serverStats?: ServerStatsPoller | undefined;
}
