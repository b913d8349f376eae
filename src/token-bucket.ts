// A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. It paces the miner's share
// submissions and caps repeated log lines.

export class TokenBucket {
  private tokens: number;
  private last: number;

  /** `now` in milliseconds; the bucket starts full. */
  constructor(readonly ratePerSecond: number, readonly burst: number, now: number) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error(`token rate must be a positive number, got ${ratePerSecond}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new Error(`token burst must be >= 1, got ${burst}`);
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
    }
  }
}
