// Hashrate from "n nonces hashed at time t" reports: the average over the whole run, and exponentially
// decaying averages over 5 s, 1 min and 15 min (the load-average way: recent work weighs most).

export interface HashrateSnapshot {
  /** Nonces recorded since start. */
  total: number;
  /** Seconds from start to `at`. */
  elapsedSeconds: number;
  /** total / elapsed, hashes per second. */
  average: number;
  avg5s: number;
  avg1m: number;
  avg15m: number;
}

const WINDOWS_SECONDS = { avg5s: 5, avg1m: 60, avg15m: 900 } as const;
type WindowName = keyof typeof WINDOWS_SECONDS;

export class HashrateMeter {
  private total = 0;
  /** Nonces recorded at the same instant as the previous record, carried into the next interval. */
  private pending = 0;
  private last: number;
  private readonly rates: Record<WindowName, number> = { avg5s: 0, avg1m: 0, avg15m: 0 };

  /** `now` returns milliseconds (default performance.now); injectable for tests. */
  constructor(private readonly now: () => number = () => performance.now(), private readonly start = now()) {
    this.last = this.start;
  }

  /** Records `nonces` hashed between the previous record (or the start) and `at` (ms). */
  record(nonces: number, at: number = this.now()): void {
    if (!Number.isFinite(nonces) || nonces < 0) throw new Error(`hashrate record needs a non-negative count, got ${nonces}`);
    if (at < this.last) throw new Error(`hashrate record time ${at} is before the previous one (${this.last})`);
    this.total += nonces;
    const dt = (at - this.last) / 1000;
    if (dt === 0) {
      // Same instant as the last record: fold it into the next interval rather than divide by zero.
      this.pending += nonces;
      return;
    }
    const rate = (nonces + this.pending) / dt;
    this.pending = 0;
    for (const name of Object.keys(WINDOWS_SECONDS) as WindowName[]) {
      const alpha = 1 - Math.exp(-dt / WINDOWS_SECONDS[name]);
      this.rates[name] += alpha * (rate - this.rates[name]);
    }
    this.last = at;
  }

  snapshot(at: number = this.now()): HashrateSnapshot {
    const elapsedSeconds = Math.max(0, (at - this.start) / 1000);
    // Silence since the last record counts as zero hashrate, decaying each average accordingly.
    const idle = Math.max(0, (at - this.last) / 1000);
    const decayed = (name: WindowName) => this.rates[name] * Math.exp(-idle / WINDOWS_SECONDS[name]);
    return {
      total: this.total,
      elapsedSeconds,
      average: elapsedSeconds > 0 ? this.total / elapsedSeconds : 0,
      avg5s: decayed('avg5s'),
      avg1m: decayed('avg1m'),
      avg15m: decayed('avg15m'),
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
