// Exponentially decaying event rates (the load-average way, as ckpool's decay_time): each event adds an amount
// (nonces hashed, or difficulty * 2^32 for a share), the running sum decays with the window's time constant.
// Used for miner hashrates (from nonces) and server hashrates (from shares).

export class DecayingRate {
  private value = 0;
  private last: number;
  private readonly started: number;

  /** `now` in milliseconds. */
  constructor(readonly windowSeconds: number, now: number) {
    if (!(windowSeconds > 0)) throw new Error(`decay window must be positive, got ${windowSeconds}`);
    this.last = now;
    this.started = now;
  }

  add(amount: number, now: number): void {
    this.decayTo(now);
    this.value += amount;
  }

  /**
   * Rate per second at `now`. Before a whole window has passed it divides by the time actually observed
   * (bias correction), so a fresh 15-minute average shows the real rate at once instead of climbing from zero.
   */
  rate(now: number): number {
    this.decayTo(now);
    const observed = Math.max((now - this.started) / 1000, 1e-3);
    return this.value / (this.windowSeconds * (1 - Math.exp(-observed / this.windowSeconds)));
  }

  private decayTo(now: number): void {
    const dt = (now - this.last) / 1000;
    if (dt > 0) {
      this.value *= Math.exp(-dt / this.windowSeconds);
      this.last = now;
    }
  }
}

/** One DecayingRate per named window, fed the same events. */
export class DecayingRates<W extends string> {
  private readonly rates: Array<[W, DecayingRate]>;

  constructor(windowsSeconds: Record<W, number>, now: number) {
    this.rates = (Object.entries(windowsSeconds) as Array<[W, number]>).map(([name, s]) => [name, new DecayingRate(s, now)]);
  }

  add(amount: number, now: number): void {
    for (const [, rate] of this.rates) rate.add(amount, now);
  }

  snapshot(now: number): Record<W, number> {
    return Object.fromEntries(this.rates.map(([name, rate]) => [name, rate.rate(now)])) as Record<W, number>;
  }
}
