// The set of shares a job has already accepted, for duplicate detection. Keyed by the share's block hash: two
// submissions are the same work exactly when their 80-byte headers are equal, and the header's sha256d
// identifies it. 128 bits of the hash are kept (a false "duplicate" between two different valid shares would need
// a 128-bit collision, never in practice). Entries live in one typed array (open addressing, linear probing), so
// hundreds of thousands of shares per job cost 16-32 bytes each and nothing for the garbage collector to trace.

const WORDS = 4; // 128 bits per entry
const INITIAL_SLOTS = 1024; // power of two
const MAX_LOAD = 0.5;

export class ShareHashSet {
  private table = new Int32Array(INITIAL_SLOTS * WORDS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  /** An all-zero key would look like an empty slot: tracked apart. */
  private hasZeroKey = false;

  get size(): number {
    return this.count + (this.hasZeroKey ? 1 : 0);
  }

  /** Bytes held by the table (for memory accounting). */
  get byteLength(): number {
    return this.table.byteLength;
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
    if (this.probe(a, b, c, d)) return false;
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    this.insert(a, b, c, d);
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
    return this.probe(a, b, c, d);
  }

  clear(): void {
    this.table = new Int32Array(INITIAL_SLOTS * WORDS);
    this.mask = INITIAL_SLOTS - 1;
    this.count = 0;
    this.hasZeroKey = false;
  }

  private probe(a: number, b: number, c: number, d: number): boolean {
    const t = this.table;
    // The hash bytes are uniformly random already: the first word is a good slot index.
    for (let slot = a & this.mask; ; slot = (slot + 1) & this.mask) {
      const o = slot * WORDS;
      const x = t[o]!;
      const y = t[o + 1]!;
      const z = t[o + 2]!;
      const w = t[o + 3]!;
      if ((x | y | z | w) === 0) return false;
      if (x === a && y === b && z === c && w === d) return true;
    }
  }

  private insert(a: number, b: number, c: number, d: number): void {
    const t = this.table;
    let slot = a & this.mask;
    while ((t[slot * WORDS]! | t[slot * WORDS + 1]! | t[slot * WORDS + 2]! | t[slot * WORDS + 3]!) !== 0) {
      slot = (slot + 1) & this.mask;
    }
    const o = slot * WORDS;
    t[o] = a;
    t[o + 1] = b;
    t[o + 2] = c;
    t[o + 3] = d;
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Int32Array(slots * WORDS);
    this.mask = slots - 1;
    for (let o = 0; o < old.length; o += WORDS) {
      const a = old[o]!;
      const b = old[o + 1]!;
      const c = old[o + 2]!;
      const d = old[o + 3]!;
      if ((a | b | c | d) !== 0) this.insert(a, b, c, d);
    }
  }
}

function word(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}
