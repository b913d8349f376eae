// Per-thread and per-pool share bookkeeping, kept from the miner's events, for the cgminer API (devs, pools,
// summary): answered shares and the difficulty they were worth, the last share, the best share, and the work the
// pools sent (jobs, new blocks). The totals /status shows stay in ShareStats; this only breaks them down.
import type { Miner } from './miner.js';

export interface ShareTally {
  accepted: number;
  rejected: number;
  /** Submitted and refused as stale (late for a new block, or a dropped session). */
  stale: number;
  /** Sums of the share difficulties (what a pool credits). */
  diffAccepted: number;
  diffRejected: number;
  diffStale: number;
  /** ms since the epoch of the last accepted share; null before the first. */
  lastShareAt: number | null;
  lastShareDifficulty: number;
}

export interface PoolTally extends ShareTally {
  /** Jobs received from this pool, and connections lost to it. */
  jobs: number;
  disconnects: number;
}

export interface ThreadTally extends ShareTally {
  /** Kernel calls finished, and when the last one did (ms since the epoch). */
  scans: number;
  lastScanAt: number | null;
  /** The pool (index in the list) of the last accepted share, -1 before the first. */
  lastSharePool: number;
}

const empty = (): ShareTally => ({ accepted: 0, rejected: 0, stale: 0, diffAccepted: 0, diffRejected: 0, diffStale: 0, lastShareAt: null, lastShareDifficulty: 0 });

export class MinerTally {
  readonly total = empty();
  readonly threads: ThreadTally[];
  readonly pools: PoolTally[];
  /** Highest difficulty any submitted share's hash reached. */
  bestShare = 0;
  jobs = 0;
  /** Kernel calls finished, all threads. */
  scans = 0;
  /** Clean jobs: new blocks on the network (or a new session). */
  cleanJobs = 0;
  lastJobAt: number | null = null;

  constructor(miner: Miner, pools: number, now: () => number = Date.now) {
    this.threads = Array.from({ length: miner.threads }, () => ({ ...empty(), scans: 0, lastScanAt: null, lastSharePool: -1 }));
    this.pools = Array.from({ length: pools }, () => ({ ...empty(), jobs: 0, disconnects: 0 }));
    miner.on('share', ({ outcome, slot, poolIndex, difficulty, hashDifficulty }) => {
      const at = now();
      this.bestShare = Math.max(this.bestShare, hashDifficulty);
      for (const t of [this.total, this.threads[slot], this.pools[poolIndex]]) {
        if (!t) continue;
        if (outcome.status === 'accepted') {
          t.accepted++;
          t.diffAccepted += difficulty;
          t.lastShareAt = at;
          t.lastShareDifficulty = difficulty;
        } else if (outcome.status === 'rejected') {
          t.rejected++;
          t.diffRejected += difficulty;
        } else if (outcome.status === 'stale') {
          t.stale++;
          t.diffStale += difficulty;
        }
      }
      if (outcome.status === 'accepted' && this.threads[slot]) this.threads[slot]!.lastSharePool = poolIndex;
    });
    miner.on('scan', ({ slot }) => {
      this.scans++;
      const t = this.threads[slot];
      if (!t) return;
      t.scans++;
      t.lastScanAt = now();
    });
    miner.on('job', ({ clean, poolIndex }) => {
      this.jobs++;
      if (clean) this.cleanJobs++;
      this.lastJobAt = now();
      if (this.pools[poolIndex]) this.pools[poolIndex]!.jobs++;
    });
    miner.on('disconnected', ({ poolIndex }) => {
      if (this.pools[poolIndex]) this.pools[poolIndex]!.disconnects++;
    });
  }
}
