// Exponentially decaying rate estimate (as ckpool's decay_time): each event adds `amount`, the running value decays
// with time constant `windowSeconds`. For shares, amount = difficulty * 2^32 gives hashes per second.

export class DecayingRate {
  private value = 0;
  private last: number;
  private readonly started: number;

  constructor(
    readonly windowSeconds: number,
    now: number,
  ) {
    if (!(windowSeconds > 0)) throw new Error(`decay window must be positive, got ${windowSeconds}`);
    this.last = now;
    this.started = now;
  }

  add(amount: number, now: number): void {
    this.decayTo(now);
    this.value += amount;
  }

  /** Rate per second at `now`. Early on (less than one window elapsed) it scales by the time actually observed. */
  rate(now: number): number {
    this.decayTo(now);
    const observed = Math.max((now - this.started) / 1000, 1e-3);
    const denom = this.windowSeconds * (1 - Math.exp(-observed / this.windowSeconds));
    return this.value / denom;
  }

  private decayTo(now: number): void {
    const dt = (now - this.last) / 1000;
    if (dt > 0) {
      this.value *= Math.exp(-dt / this.windowSeconds);
      this.last = now;
    }
  }
}

/** Hashrate windows reported in /status. */
export const HASHRATE_WINDOWS = { '1m': 60, '5m': 300, '1h': 3600 } as const;
export type HashrateWindow = keyof typeof HASHRATE_WINDOWS;

export class HashrateMeter {
  private readonly rates: Record<HashrateWindow, DecayingRate>;

  constructor(now: number) {
    this.rates = {
      '1m': new DecayingRate(HASHRATE_WINDOWS['1m'], now),
      '5m': new DecayingRate(HASHRATE_WINDOWS['5m'], now),
      '1h': new DecayingRate(HASHRATE_WINDOWS['1h'], now),
    };
  }

  /** One accepted share at `difficulty`: on average difficulty * 2^32 hashes were done to find it. */
  addShare(difficulty: number, now: number): void {
    const work = difficulty * 4294967296;
    for (const r of Object.values(this.rates)) r.add(work, now);
  }

  snapshot(now: number): Record<HashrateWindow, number> {
    return {
      '1m': this.rates['1m'].rate(now),
      '5m': this.rates['5m'].rate(now),
      '1h': this.rates['1h'].rate(now),
    };
  }
}
