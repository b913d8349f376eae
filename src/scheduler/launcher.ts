// The Launcher seam: what `schedule` and `local` have in common. Both run the topology of topology.ts (one
// server, N miners pointed at it), restart what dies with backoff, stop cleanly and describe themselves on
// /status; only where the processes live differs (Mesos tasks placed from offers, or children of this process).
export interface Launcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): unknown;
}
