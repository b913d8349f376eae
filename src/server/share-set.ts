// The set of shares a job has already accepted, for duplicate detection. Keyed by the share's block hash: two
// submissions are the same work exactly when their 80-byte headers are equal, and the header's sha256d
// identifies it. 128 bits of the hash are kept (a false "duplicate" between two different valid shares would need
// a 128-bit collision, never in practice). Entries live in one typed array (open addressing, linear probing), so
// hundreds of thousands of shares per job cost 16-32 bytes each and nothing for the garbage collector to trace.
// A full table is never rehashed (that would stall every miner for tens of ms at 500k entries): a new table twice
// the size takes the new entries, and lookups probe each table, newest first (about log2(n / 512) of them).

const WORDS = 4; // 128 bits per entry
const INITIAL_SLOTS = 1024; // power of two
const MAX_LOAD = 0.5;

export class ShareHashSet {
  private tables: Int32Array[] = [];
  private masks: number[] = [];
  /** Entries in the newest table (the others are full and frozen). */
  private newestCount = 0;
  private count = 0;
  /** An all-zero key would look like an empty slot: tracked apart. */
  private hasZeroKey = false;

  constructor() {
    this.addTable(INITIAL_SLOTS);
  }

  get size(): number {
    return this.count + (this.hasZeroKey ? 1 : 0);
  }

  /** Bytes held by the tables (for memory accounting). */
  get byteLength(): number {
    return this.tables.reduce((sum, t) => sum + t.byteLength, 0);
  }

  /**
   * Adds the share whose 32-byte hash is given (its bytes 0..15 are the key); returns false when it was already
   * there (a duplicate), true when it was added.
   */
  add(hash: Uint8Array): boolean {
    if (hash.length < 16) throw new Error(`share hash must have at least 16 bytes, got ${hash.length}`);
    const a = word(hash, 0);
    const b = word(hash, 4);
    const c = word(hash, 8);
    const d = word(hash, 12);
    if ((a | b | c | d) === 0) {
      if (this.hasZeroKey) return false;
      this.hasZeroKey = true;
      return true;
    }
    if (this.contains(a, b, c, d)) return false;
    const last = this.tables.length - 1;
    if (this.newestCount + 1 > (this.masks[last]! + 1) * MAX_LOAD) {
      this.addTable((this.masks[last]! + 1) * 2);
      this.newestCount = 0;
    }
    insert(this.tables[this.tables.length - 1]!, this.masks[this.masks.length - 1]!, a, b, c, d);
    this.newestCount++;
    this.count++;
    return true;
  }

  /** Whether the share with this hash was added. */
  has(hash: Uint8Array): boolean {
    if (hash.length < 16) return false;
    const a = word(hash, 0);
    const b = word(hash, 4);
    const c = word(hash, 8);
    const d = word(hash, 12);
    if ((a | b | c | d) === 0) return this.hasZeroKey;
    return this.contains(a, b, c, d);
  }

  clear(): void {
    this.tables = [];
    this.masks = [];
    this.addTable(INITIAL_SLOTS);
    this.newestCount = 0;
    this.count = 0;
    this.hasZeroKey = false;
  }

  private addTable(slots: number): void {
    this.tables.push(new Int32Array(slots * WORDS));
    this.masks.push(slots - 1);
  }

  private contains(a: number, b: number, c: number, d: number): boolean {
    for (let i = this.tables.length - 1; i >= 0; i--) {
      if (probe(this.tables[i]!, this.masks[i]!, a, b, c, d)) return true;
    }
    return false;
  }
}

function probe(t: Int32Array, mask: number, a: number, b: number, c: number, d: number): boolean {
  // The hash bytes are uniformly random already: the first word is a good slot index.
  for (let slot = a & mask; ; slot = (slot + 1) & mask) {
    const o = slot * WORDS;
    const x = t[o]!;
    const y = t[o + 1]!;
    const z = t[o + 2]!;
    const w = t[o + 3]!;
    if ((x | y | z | w) === 0) return false;
    if (x === a && y === b && z === c && w === d) return true;
  }
}

function insert(t: Int32Array, mask: number, a: number, b: number, c: number, d: number): void {
  let slot = a & mask;
  while ((t[slot * WORDS]! | t[slot * WORDS + 1]! | t[slot * WORDS + 2]! | t[slot * WORDS + 3]!) !== 0) {
    slot = (slot + 1) & mask;
  }
  const o = slot * WORDS;
  t[o] = a;
  t[o + 1] = b;
  t[o + 2] = c;
  t[o + 3] = d;
}

function word(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}
