// Share bookkeeping of the miner: every candidate the kernel finds ends in exactly one bucket, so the counts
// add up (found = accepted + rejected + stale + unanswered + invalid + dropped + pending).
import type { ShareOutcome } from '../stratum/pool-manager.js';

export interface ShareCounts {
  /** Candidates from the kernel (before the miner's own re-check). */
  found: number;
  accepted: number;
  /** Answered by the pool with an error (or `false`). */
  rejected: number;
  /** Rejections by reason, e.g. "23 Low difficulty share". */
  rejectedByReason: Record<string, number>;
  /** Not sent (work superseded by a clean job or a new session) or refused by the manager as stale. */
  stale: number;
  staleByReason: Record<string, number>;
  /** Sent but never answered (timeout) or lost with the connection. */
  unanswered: number;
  /** Kernel candidates that failed the miner's node:crypto re-check (a kernel bug if ever non-zero). */
  invalid: number;
  /** Valid shares never sent: found faster than the submit rate allows (the queue kept better ones), or left at stop. */
  dropped: number;
  /** Waiting to be sent, or sent and waiting for an answer (or queued while disconnected). */
  pending: number;
}

/** Distinct reasons kept per table; later ones are counted under OTHER_REASONS (bounded memory on a long run). */
const MAX_REASONS = 20;
const OTHER_REASONS = 'other reasons';

export class ShareStats {
  private readonly counts: ShareCounts = {
    found: 0,
    accepted: 0,
    rejected: 0,
    rejectedByReason: {},
    stale: 0,
    staleByReason: {},
    unanswered: 0,
    invalid: 0,
    dropped: 0,
    pending: 0,
  };

  candidate(): void {
    this.counts.found++;
  }

  invalid(): void {
    this.counts.invalid++;
  }

  /** Not submitted at all because the work it was found on is gone. */
  staleBeforeSubmit(reason: string): void {
    this.bump('staleByReason', reason);
    this.counts.stale++;
  }

  submitted(): void {
    this.counts.pending++;
  }

  /** A share that waited to be sent and never will be: stale (a clean job came first) or dropped. */
  unsent(bucket: 'stale' | 'dropped', reason = ''): void {
    this.counts.pending = Math.max(0, this.counts.pending - 1);
    if (bucket === 'dropped') this.counts.dropped++;
    else {
      this.counts.stale++;
      this.bump('staleByReason', reason);
    }
  }

  /** The outcome of a submitted share; returns the bucket it landed in. */
  outcome(outcome: ShareOutcome): 'accepted' | 'rejected' | 'stale' | 'unanswered' {
    this.counts.pending = Math.max(0, this.counts.pending - 1);
    switch (outcome.status) {
      case 'accepted':
        this.counts.accepted++;
        return 'accepted';
      case 'rejected':
        this.counts.rejected++;
        this.bump('rejectedByReason', rejectionReason(outcome));
        return 'rejected';
      case 'stale':
        this.counts.stale++;
        this.bump('staleByReason', outcome.reason);
        return 'stale';
      default:
        this.counts.unanswered++;
        return 'unanswered';
    }
  }

  snapshot(): ShareCounts {
    return {
      ...this.counts,
      rejectedByReason: { ...this.counts.rejectedByReason },
      staleByReason: { ...this.counts.staleByReason },
    };
  }

  private bump(table: 'rejectedByReason' | 'staleByReason', reason: string): void {
    const t = this.counts[table];
    // Pools put job ids and such in their messages: past a few distinct reasons, the rest share one bucket.
    const key = reason in t || Object.keys(t).length < MAX_REASONS ? reason : OTHER_REASONS;
    t[key] = (t[key] ?? 0) + 1;
  }
}

/** "23 Low difficulty share" when the pool gave a code, else the client's description. */
export function rejectionReason(outcome: ShareOutcome): string {
  if (outcome.status === 'rejected' && outcome.error) return `${outcome.error.code} ${outcome.error.message}`;
  return outcome.reason ?? outcome.status;
}
