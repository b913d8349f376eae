// Capped exponential backoff with jitter, so a down pool, node or Mesos master never causes a tight reconnect
// loop, and many clients that lost the same peer do not come back in step.

export interface BackoffOptions {
  /** First delay in ms (default 1000). */
  initialMs?: number;
  /** Upper bound in ms (default 60000). */
  maxMs?: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Fraction of the delay randomised: delay * (1 - jitter/2 .. 1 + jitter/2) (default 0.5). */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.5;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0)) throw new Error(`backoff initialMs must be > 0, got ${this.initialMs}`);
    if (!(this.maxMs >= this.initialMs)) throw new Error(`backoff maxMs (${this.maxMs}) must be >= initialMs (${this.initialMs})`);
    if (!(this.factor >= 1)) throw new Error(`backoff factor must be >= 1, got ${this.factor}`);
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new Error(`backoff jitter must be in [0, 1], got ${this.jitter}`);
  }

  get failures(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one more failure. Never below initialMs/2. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    const spread = base * this.jitter;
    const delay = base - spread / 2 + this.random() * spread;
    return Math.max(1, Math.round(Math.min(this.maxMs, delay)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
