// The miner's one-line status, cpuminer style: hashrate (5 s / 1 min / 15 min, total and per thread), shares,
// pool and difficulty.
import { formatHashrate } from '../kernel/hashrate.js';
import type { MinerStatus } from './miner.js';

/** Difficulties of test pools are tiny fractions: show them readably (1/65536 rather than 0.0000152587890625). */
export function formatDifficulty(d: number | undefined): string {
  if (d === undefined) return '-';
  if (d >= 1 || d === 0) return Number(d.toPrecision(6)).toString();
  const inverse = 1 / d;
  if (Math.abs(inverse - Math.round(inverse)) < 1e-9 * inverse) return `1/${Math.round(inverse)}`;
  return d.toPrecision(4);
}

export function formatStatusLine(s: MinerStatus): string {
  const h = s.hashrate;
  const threads = s.perThread.map((t, i) => `t${i} ${formatHashrate(t.avg5s)}`).join(', ');
  const sh = s.shares;
  const shares = [`accepted ${sh.accepted}`, `rejected ${sh.rejected}`, `stale ${sh.stale}`];
  if (sh.unanswered > 0) shares.push(`unanswered ${sh.unanswered}`);
  if (sh.invalid > 0) shares.push(`invalid ${sh.invalid}`);
  if (sh.dropped > 0) shares.push(`dropped ${sh.dropped}`);
  const pool = s.pool ? `${s.pool.url}${s.connected ? '' : ' (disconnected)'}` : 'no pool yet';
  const diff =
    s.nextDifficulty !== undefined && s.nextDifficulty !== s.difficulty
      ? `diff ${formatDifficulty(s.difficulty)} (next ${formatDifficulty(s.nextDifficulty)})`
      : `diff ${formatDifficulty(s.difficulty)}`;
  return (
    `${formatHashrate(h.avg5s)} 5s | ${formatHashrate(h.avg1m)} 1m | ${formatHashrate(h.avg15m)} 15m [${threads}]` +
    ` | ${shares.join(', ')} | ${pool} ${diff}`
  );
}

/** Structured fields for a JSON log line carrying the same status. */
export function statusFields(s: MinerStatus): Record<string, unknown> {
  return {
    hashrate: { avg5s: Math.round(s.hashrate.avg5s), avg1m: Math.round(s.hashrate.avg1m), avg15m: Math.round(s.hashrate.avg15m) },
    threadHashrate5s: s.perThread.map((t) => Math.round(t.avg5s)),
    hashed: s.hashrate.total,
    accepted: s.shares.accepted,
    rejected: s.shares.rejected,
    rejectedByReason: s.shares.rejectedByReason,
    stale: s.shares.stale,
    unanswered: s.shares.unanswered,
    invalid: s.shares.invalid,
    dropped: s.shares.dropped,
    pending: s.shares.pending,
    pool: s.pool?.url ?? null,
    connected: s.connected,
    difficulty: s.difficulty ?? null,
    jobId: s.jobId ?? null,
  };
}
