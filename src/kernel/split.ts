// Splitting a nonce range between threads.

export interface NonceRange {
  start: number;
  count: number;
}

/**
 * Splits [start, start + count) into at most `parts` contiguous ranges, in order, with no gap and no
 * overlap; sizes differ by at most one. Empty ranges are left out (count < parts gives count ranges).
 */
export function splitRange(start: number, count: number, parts: number): NonceRange[] {
  if (!Number.isInteger(start) || start < 0) throw new Error(`splitRange start must be a non-negative integer, got ${start}`);
  if (!Number.isInteger(count) || count < 0) throw new Error(`splitRange count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`splitRange parts must be a positive integer, got ${parts}`);
  const base = Math.floor(count / parts);
  const extra = count % parts;
  const ranges: NonceRange[] = [];
  let next = start;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    if (size === 0) continue;
    ranges.push({ start: next, count: size });
    next += size;
  }
  return ranges;
}
