// Per-session variable difficulty: steers each miner towards one share every `targetSeconds`, so a CPU miner and
// an ASIC both send a steady, cheap-to-check trickle. Retargets are bounded (at most x4 / /4 at a time) and
// clamped to [minDifficulty, ceiling]; the ceiling is the upstream difficulty (see MinerServer.difficultyCeiling).

export interface VardiffOptions {
  /** Desired seconds between shares. */
  targetSeconds: number;
  minDifficulty: number;
  maxDifficulty: number;
  /** Retarget after this many shares at most... */
  retargetShares?: number;
  /** ...or after this many seconds, whichever comes first (also lowers the difficulty of a silent miner). */
  retargetSeconds?: number;
  /** Largest change factor per retarget. */
  maxStep?: number;
}

export function validateVardiffOptions(o: VardiffOptions): void {
  if (!(o.targetSeconds > 0) || !Number.isFinite(o.targetSeconds)) {
    throw new Error(`vardiff target must be a positive number of seconds, got ${o.targetSeconds}`);
  }
  if (!(o.minDifficulty > 0) || !Number.isFinite(o.minDifficulty)) {
    throw new Error(`minimum difficulty must be a positive number, got ${o.minDifficulty}`);
  }
  if (!(o.maxDifficulty >= o.minDifficulty) || !Number.isFinite(o.maxDifficulty)) {
    throw new Error(`maximum difficulty must be >= minimum difficulty (${o.minDifficulty}), got ${o.maxDifficulty}`);
  }
}

/** Keeps 4 significant binary digits so announced difficulties stay readable and stable. */
export function roundDifficulty(d: number): number {
  if (!(d > 0) || !Number.isFinite(d)) return d;
  const exp = Math.floor(Math.log2(d)) - 3;
  const unit = 2 ** exp;
  return Math.round(d / unit) * unit;
}

export class Vardiff {
  private readonly retargetShares: number;
  private readonly retargetSeconds: number;
  private readonly maxStep: number;
  private windowStart: number;
  private windowShares = 0;

  constructor(
    private readonly options: VardiffOptions,
    now: number,
  ) {
    validateVardiffOptions(options);
    this.retargetShares = options.retargetShares ?? 16;
    this.retargetSeconds = options.retargetSeconds ?? Math.max(options.targetSeconds * 3, 1);
    this.maxStep = options.maxStep ?? 4;
    this.windowStart = now;
  }

  /** Clamp a requested difficulty (suggest_difficulty, the starting value) into the allowed range. */
  clamp(difficulty: number, ceiling = Infinity): number {
    const hi = Math.min(this.options.maxDifficulty, ceiling);
    return Math.max(Math.min(difficulty, hi), Math.min(this.options.minDifficulty, hi));
  }

  /** Restarts the measuring window (after a difficulty change made elsewhere). */
  reset(now: number): void {
    this.windowStart = now;
    this.windowShares = 0;
  }

  /** Counts one accepted share. */
  recordShare(): void {
    this.windowShares++;
  }

  /**
   * Returns the new difficulty when a retarget is due and changes it noticeably, else null.
   * `now` in milliseconds; `ceiling` is the upstream difficulty (see MinerServer.difficultyCeiling).
   */
  check(current: number, now: number, ceiling = Infinity): number | null {
    const elapsed = (now - this.windowStart) / 1000;
    if (this.windowShares < this.retargetShares && elapsed < this.retargetSeconds) return null;
    if (elapsed <= 0) return null;
    // With no shares yet, act as if one share were just about to arrive: lowers a slow miner's difficulty.
    const observed = elapsed / Math.max(this.windowShares, 1);
    let factor = this.options.targetSeconds / observed;
    factor = Math.min(this.maxStep, Math.max(1 / this.maxStep, factor));
    this.reset(now);
    const next = this.clamp(roundDifficulty(current * factor), ceiling);
    // Ignore changes under 25%: each one costs the miner a job switch.
    if (Math.abs(next - current) / current < 0.25) return current > this.clamp(current, ceiling) ? next : null;
    return next;
  }
}
