// Truncated exponential backoff: base, 2*base, 4*base ... capped at max. One instance per thing that retries.

export interface BackoffOptions { baseMs: number; maxMs: number }

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  if (attempt <= 0) return 0;
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * Relaunch pacing for one task role. A task that dies unexpectedly adds a failure; one that had been running
 * for at least `stableMs` first clears the count (a crash after hours is not a crash loop); a kill we asked
 * for costs nothing.
 */
export class RelaunchBackoff {
  private failures = 0;
  private notBefore = 0;

  constructor(private readonly opts: BackoffOptions & { stableMs: number }) {}

  recordExit(now: number, ranForMs: number | undefined, requested: boolean): void {
    if (requested) return;
    if (ranForMs !== undefined && ranForMs >= this.opts.stableMs) this.failures = 0;
    this.failures += 1;
    this.notBefore = Math.max(this.notBefore, now + backoffDelay(this.failures, this.opts));
  }

  /** Milliseconds until the next launch is allowed (0 = now). */
  waitMs(now: number): number {
    return Math.max(0, this.notBefore - now);
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
