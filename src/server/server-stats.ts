// Share accounting of the whole server: accepted/rejected by reason, upstream answers, blocks, pool hashrate.
// Blocks found are blocks on the best chain; solutions that did not make it are counted apart (stale, orphaned).
import type { ShareRejectReason } from './share-check.js';
import { ShareHashrate, type HashrateWindow } from './share-hashrate.js';

/** A block of ours the node took: on its best chain (found) or not (orphaned). */
export interface BlockRecord {
  at: string;
  /** Solo mode: the block's height (null when the upstream does not say, e.g. a pool). */
  height: number | null;
  hash: string;
  worker: string;
  status: 'found' | 'orphaned';
}

/** Blocks kept in recentBlocks, newest first. */
export const RECENT_BLOCKS = 20;

export interface ServerStatsSnapshot {
  startedAt: string;
  uptimeSeconds: number;
  shares: { accepted: number; rejected: number; stale: number; rejectedByReason: Partial<Record<ShareRejectReason, number>> };
  upstream: { forwarded: number; accepted: number; rejected: number; errors: number; pending: number; dropped: number };
  blocksFound: number;
  /** Block solutions not submitted: their tip already had a block of ours, or had moved on. */
  blocksStale: number;
  /** Blocks the node took but not on its best chain. */
  blocksOrphaned: number;
  /** The last RECENT_BLOCKS blocks found or orphaned, newest first. */
  recentBlocks: BlockRecord[];
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
  /** Shares that met the upstream target but were not forwarded: too many were waiting for the upstream. */
  forwardsDropped = 0;
  blocksFound = 0;
  blocksStale = 0;
  blocksOrphaned = 0;
  bestShareDifficulty = 0;
  private readonly recentBlocks: BlockRecord[] = [];
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

  recordBlock(block: Omit<BlockRecord, 'at'>, now: number): void {
    if (block.status === 'found') this.blocksFound++;
    else this.blocksOrphaned++;
    this.recentBlocks.unshift({ at: new Date(now).toISOString(), ...block });
    this.recentBlocks.length = Math.min(this.recentBlocks.length, RECENT_BLOCKS);
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
        dropped: this.forwardsDropped,
      },
      blocksFound: this.blocksFound,
      blocksStale: this.blocksStale,
      blocksOrphaned: this.blocksOrphaned,
      recentBlocks: this.recentBlocks.map((b) => ({ ...b })),
      hashrate: this.hashrate.snapshot(now),
      bestShareDifficulty: this.bestShareDifficulty,
    };
  }
}
