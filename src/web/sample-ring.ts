// A fixed-size ring of timestamped samples, stored by column (one Float64Array per named figure), for the charts of
// the live pages: memory is bounded by capacity x columns, whatever the uptime. A column first seen later (a reject
// reason that appears after an hour) reads 0 for the samples before it.

export interface RingColumns {
  /** Sample times, seconds since the epoch, oldest first. */
  t: number[];
  columns: Record<string, number[]>;
}

export class SampleRing {
  private readonly times: Float64Array;
  private readonly data = new Map<string, Float64Array>();
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a whole number >= 1, got ${capacity}`);
    this.times = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** `t` in seconds since the epoch; figures not given are 0 in this sample. */
  push(t: number, values: Record<string, number>): void {
    const i = this.next;
    this.times[i] = t;
    for (const column of this.data.values()) column[i] = 0;
    for (const [name, value] of Object.entries(values)) {
      let column = this.data.get(name);
      if (!column) {
        column = new Float64Array(this.capacity);
        this.data.set(name, column);
      }
      column[i] = value;
    }
    this.next = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  toJSON(): RingColumns {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    const ordered = (a: Float64Array) => Array.from({ length: this.count }, (_, k) => a[(start + k) % this.capacity]!);
    return { t: ordered(this.times), columns: Object.fromEntries([...this.data].map(([name, a]) => [name, ordered(a)])) };
  }
}
