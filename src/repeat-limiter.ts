// Caps how often the same log message is written: each message has its own token bucket, lines beyond it are only
// counted, and a report a second says how many of each message were left out. The report itself is never capped.
import { TokenBucket } from './token-bucket.js';

/** Messages tracked at most; messages with nothing left out are forgotten when there are more. */
const MAX_TRACKED = 256;
const REPORT_EVERY_MS = 1000;

interface Tracked {
  bucket: TokenBucket;
  suppressed: number;
  level: number;
}

export class RepeatLimiter {
  private readonly tracked = new Map<string, Tracked>();
  private reportTimer: NodeJS.Timeout | undefined;
  private reporting = false;

  constructor(
    private readonly perSecond: number,
    private readonly report: (message: string, level: number, suppressed: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perSecond > 0)) throw new Error(`repeats per second must be positive, got ${perSecond}`);
  }

  /** Whether a line with this message may be written now. */
  allow(message: string, level: number): boolean {
    if (this.reporting) return true;
    const now = this.now();
    let t = this.tracked.get(message);
    if (!t) {
      if (this.tracked.size >= MAX_TRACKED) this.forgetQuiet();
      t = { bucket: new TokenBucket(this.perSecond, Math.max(1, this.perSecond), now), suppressed: 0, level };
      this.tracked.set(message, t);
    }
    if (t.bucket.take(now)) return true;
    t.suppressed++;
    t.level = Math.max(t.level, level);
    if (!this.reportTimer) {
      this.reportTimer = setTimeout(() => this.flush(), REPORT_EVERY_MS);
      this.reportTimer.unref();
    }
    return false;
  }

  /** Reports what was left out since the last report. */
  flush(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    this.reporting = true;
    try {
      for (const [message, t] of this.tracked) {
        if (t.suppressed === 0) continue;
        const n = t.suppressed;
        t.suppressed = 0;
        this.report(message, t.level, n);
      }
    } finally {
      this.reporting = false;
    }
  }

  private forgetQuiet(): void {
    for (const [message, t] of this.tracked) if (t.suppressed === 0) this.tracked.delete(message);
  }
}
