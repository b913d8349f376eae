// Hashrate from "n nonces hashed at time t" reports: the average over the whole run, and exponentially
// decaying averages over 5 s, 1 min, 5 min and 15 min (recent work weighs most; see src/rate.ts).
import { DecayingRates } from '../rate.js';

export interface HashrateSnapshot {
  /** Nonces recorded since start. */
  total: number;
  /** Seconds from start to `at`. */
  elapsedSeconds: number;
  /** total / elapsed, hashes per second. */
  average: number;
  avg5s: number;
  avg1m: number;
  avg5m: number;
  avg15m: number;
}

const WINDOWS_SECONDS = { avg5s: 5, avg1m: 60, avg5m: 300, avg15m: 900 } as const;

export class HashrateMeter {
  private total = 0;
  private last: number;
  private readonly rates: DecayingRates<keyof typeof WINDOWS_SECONDS>;

  /** `now` returns milliseconds (default performance.now); injectable for tests. */
  constructor(private readonly now: () => number = () => performance.now(), private readonly start = now()) {
    this.last = this.start;
    this.rates = new DecayingRates(WINDOWS_SECONDS, this.start);
  }

  /** Records `nonces` hashed between the previous record (or the start) and `at` (ms). */
  record(nonces: number, at: number = this.now()): void {
    if (!Number.isFinite(nonces) || nonces < 0) throw new Error(`hashrate record needs a non-negative count, got ${nonces}`);
    if (at < this.last) throw new Error(`hashrate record time ${at} is before the previous one (${this.last})`);
    this.total += nonces;
    this.rates.add(nonces, at);
    this.last = at;
  }

  snapshot(at: number = this.now()): HashrateSnapshot {
    const elapsedSeconds = Math.max(0, (at - this.start) / 1000);
    return {
      total: this.total,
      elapsedSeconds,
      average: elapsedSeconds > 0 ? this.total / elapsedSeconds : 0,
      ...this.rates.snapshot(at),
    };
  }
}

/** "6.42 MH/s" style formatting of hashes per second. */
export function formatHashrate(hashesPerSecond: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s'];
  let value = hashesPerSecond;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}
