// The miner's per-share log lines, cpuminer style, at most `linesPerSecond` (bursts of twice that). Beyond that,
// outcomes are only counted, and one summary line a second says how many of each there were: a pool at a tiny
// difficulty must not flood the log. Dropped shares never get a line of their own, only the summary.
import type { Logger } from '../log.js';
import { TokenBucket } from '../token-bucket.js';
import type { ShareCounts } from './share-stats.js';

export type LoggedOutcome = 'accepted' | 'rejected' | 'stale' | 'unanswered' | 'dropped';

/** What one share line says. */
export interface ShareLine {
  outcome: Exclude<LoggedOutcome, 'dropped'>;
  jobId: string;
  nonce: string;
  /** Difficulty of the share's own hash, and the share difficulty asked for. */
  hashDifficulty: number;
  difficulty: number;
  /** Why it was rejected, stale or unanswered. */
  reason?: string;
}

export const SHARE_LINES_PER_SECOND = 5;
const SUMMARY_EVERY_MS = 1000;

export class ShareLog {
  private readonly bucket: TokenBucket;
  private unlogged: Record<LoggedOutcome, number> = emptyCounts();
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    linesPerSecond = SHARE_LINES_PER_SECOND,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bucket = new TokenBucket(linesPerSecond, 2 * linesPerSecond, now());
  }

  /** One share's outcome: a line of its own while the budget lasts, else counted for the summary. */
  share(line: ShareLine, totals: ShareCounts): void {
    if (!this.bucket.take(this.now())) {
      this.count(line.outcome, 1);
      return;
    }
    const answered = totals.accepted + totals.rejected;
    const ratio = answered > 0 ? ((100 * totals.accepted) / answered).toFixed(1) : '0.0';
    // cpuminer style: the message alone tells the story in a terminal; the fields serve JSON log readers.
    const summary = `${totals.accepted}/${answered} (${ratio}%) job ${line.jobId} diff ${line.hashDifficulty.toPrecision(3)}`;
    const fields = {
      jobId: line.jobId,
      nonce: line.nonce,
      shareDifficulty: line.hashDifficulty,
      difficulty: line.difficulty,
      accepted: totals.accepted,
      rejected: totals.rejected,
      stale: totals.stale,
    };
    if (line.outcome === 'accepted') this.log.info(fields, `share accepted: ${summary}`);
    else if (line.outcome === 'rejected') this.log.warn({ ...fields, reason: line.reason }, `share rejected (${line.reason}): ${summary}`);
    else this.log.info({ ...fields, status: line.outcome, reason: line.reason }, `share ${line.outcome} (${line.reason ?? line.outcome}): job ${line.jobId}`);
  }

  /** Shares that end without a line of their own (dropped, or stale before they were sent). */
  count(outcome: LoggedOutcome, n: number): void {
    if (n <= 0) return;
    this.unlogged[outcome] += n;
    this.summaryTimer ??= setTimeout(() => this.flush(), SUMMARY_EVERY_MS);
  }

  /** Prints the summary of what was only counted, if anything was (also at stop). */
  flush(): void {
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    const counts = this.unlogged;
    this.unlogged = emptyCounts();
    const parts = (Object.keys(counts) as LoggedOutcome[]).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
    if (parts.length === 0) return;
    const text = `shares without a line of their own: ${parts.join(', ')}`;
    const why = counts.dropped > 0 ? ' (dropped: valid but never sent, found faster than the submit rate or still queued at stop)' : '';
    const level = counts.rejected > 0 ? 'warn' : 'info';
    this.log[level]({ unlogged: counts }, `${text}${why}`);
  }
}

function emptyCounts(): Record<LoggedOutcome, number> {
  return { accepted: 0, rejected: 0, stale: 0, unanswered: 0, dropped: 0 };
}
