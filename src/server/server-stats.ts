// Share accounting of the whole server: accepted/rejected by reason, upstream answers, blocks, pool hashrate.
import type { ShareRejectReason } from './share-check.js';
import { ShareHashrate, type HashrateWindow } from './share-hashrate.js';

export interface ServerStatsSnapshot {
  startedAt: string;
  uptimeSeconds: number;
  shares: { accepted: number; rejected: number; stale: number; rejectedByReason: Partial<Record<ShareRejectReason, number>> };
  upstream: { forwarded: number; accepted: number; rejected: number; errors: number; pending: number };
  blocksFound: number;
  hashrate: Record<HashrateWindow, number>;
  bestShareDifficulty: number;
}

export class ServerStats {
  readonly startedAt = Date.now();
  accepted = 0;
  rejected = 0;
  readonly rejectedByReason: Partial<Record<ShareRejectReason, number>> = {};
  forwarded = 0;
  upstreamAccepted = 0;
  upstreamRejected = 0;
  upstreamErrors = 0;
  pendingUpstream = 0;
  blocksFound = 0;
  bestShareDifficulty = 0;
  readonly hashrate = new ShareHashrate(Date.now());

  /** `shareDifficulty`: what the share's hash achieved (for the best share). */
  recordAccepted(difficulty: number, now: number, shareDifficulty = difficulty): void {
    this.accepted++;
    if (shareDifficulty > this.bestShareDifficulty) this.bestShareDifficulty = shareDifficulty;
    this.hashrate.addShare(difficulty, now);
  }

  recordRejected(reason: ShareRejectReason): void {
    this.rejected++;
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
  }

  snapshot(now = Date.now()): ServerStatsSnapshot {
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      shares: {
        accepted: this.accepted,
        rejected: this.rejected,
        stale: this.rejectedByReason.stale ?? 0,
        rejectedByReason: { ...this.rejectedByReason },
      },
      upstream: {
        forwarded: this.forwarded,
        accepted: this.upstreamAccepted,
        rejected: this.upstreamRejected,
        errors: this.upstreamErrors,
        pending: this.pendingUpstream,
      },
      blocksFound: this.blocksFound,
      hashrate: this.hashrate.snapshot(now),
      bestShareDifficulty: this.bestShareDifficulty,
    };
  }
}
