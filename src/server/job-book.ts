// The jobs the server has announced downstream. Server job ids are our own (a counter), mapped to the upstream
// job they wrap: a session whose difficulty changes gets the same upstream job again under a new id, so every id
// a miner holds stands for exactly one (upstream job, difficulty) pair.
import type { UpstreamJob } from '../upstream/types.js';
import { difficultyToTarget, nbitsToTarget } from '../bitcoin/target.js';
import { targetToLeBytes } from './difficulty.js';
import { JobTemplate } from './job-template.js';
import { ShareHashSet } from './share-set.js';

export interface ServerJob {
  /** Our job id, announced downstream (a hex counter, unique for the server's lifetime). */
  id: string;
  upstream: UpstreamJob;
  template: JobTemplate;
  /** Upstream target as LE bytes (shares meeting it are forwarded). */
  upstreamTargetLe: Buffer;
  /** Block target (the job's nbits) as LE bytes: a share meeting it is a block. */
  networkTargetLe: Buffer;
  /** Set when a clean job of the same space replaced it, or its space was lost: shares get "stale". */
  stale: boolean;
  /** Hashes of the shares accepted for this upstream job (any session), for duplicate detection. */
  seen: ShareHashSet;
}

/** Cache of difficulty -> LE target bytes (sessions share a handful of difficulties). */
const targetCache = new Map<number, Buffer>();
export function shareTargetLe(difficulty: number): Buffer {
  let t = targetCache.get(difficulty);
  if (!t) {
    if (targetCache.size > 4096) targetCache.clear();
    t = targetToLeBytes(difficultyToTarget(difficulty));
    targetCache.set(difficulty, t);
  }
  return t;
}

/** The block target of a job's nbits (hex checked by JobTemplate); nbits that make no target make no block. */
function networkTargetLe(nbits: string): Buffer {
  try {
    return targetToLeBytes(nbitsToTarget(parseInt(nbits, 16)));
  } catch {
    return Buffer.alloc(32);
  }
}

export class JobBook {
  /** Keyed by `${spaceId}/${upstream job id}`. */
  private readonly jobs = new Map<string, ServerJob>();
  private readonly order: string[] = [];
  private counter = 0;

  constructor(private readonly maxJobs = 32) {}

  /** Registers an upstream job (or returns the one already known). A clean job marks older jobs of its space stale. */
  add(upstream: UpstreamJob): ServerJob {
    const key = `${upstream.spaceId}/${upstream.jobId}`;
    const known = this.jobs.get(key);
    if (known) return known;
    const job: ServerJob = {
      id: (++this.counter).toString(16),
      upstream,
      template: new JobTemplate(upstream),
      upstreamTargetLe: targetToLeBytes(upstream.target),
      networkTargetLe: networkTargetLe(upstream.nbits),
      stale: false,
      seen: new ShareHashSet(),
    };
    if (upstream.clean) this.markSpaceStale(upstream.spaceId);
    this.jobs.set(key, job);
    this.order.push(key);
    while (this.order.length > this.maxJobs) {
      const old = this.order.shift()!;
      this.jobs.delete(old);
    }
    return job;
  }

  markSpaceStale(spaceId: string): void {
    for (const job of this.jobs.values()) {
      if (job.upstream.spaceId === spaceId) {
        job.stale = true;
        // Stale shares are refused before the duplicate check: the set is no longer needed.
        job.seen.clear();
      }
    }
  }

  /** Whether the book still holds the job (an evicted job's shares are "job not found"). */
  has(job: ServerJob): boolean {
    return this.jobs.get(`${job.upstream.spaceId}/${job.upstream.jobId}`) === job;
  }

  get size(): number {
    return this.jobs.size;
  }
}
