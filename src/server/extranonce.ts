// Splits one upstream extranonce2 space among downstream sessions: each session gets a unique prefix, so no two
// miners ever build the same coinbase. Sizes follow ckpool's proxy: 4 prefix bytes when the upstream leaves more
// than 7 bytes of extranonce2, 2 when more than 5, 1 when more than 3; below that the space is too small to share.

export class ExtranonceExhaustedError extends Error {
  constructor(readonly capacity: number) {
    super(`all ${capacity} extranonce2 prefixes of this upstream connection are in use`);
    this.name = 'ExtranonceExhaustedError';
  }
}

/** How many prefix bytes to take from an upstream extranonce2 of `upstreamSize` bytes. */
export function prefixSizeFor(upstreamSize: number): number {
  if (!Number.isInteger(upstreamSize) || upstreamSize < 0 || upstreamSize > 32) {
    throw new Error(`upstream extranonce2_size must be an integer 0..32, got ${upstreamSize}`);
  }
  if (upstreamSize > 7) return 4;
  if (upstreamSize > 5) return 2;
  if (upstreamSize > 3) return 1;
  throw new Error(
    `upstream extranonce2_size ${upstreamSize} is too small to share among miners (need at least 4 bytes: ` +
      `1 byte of prefix and 3 for each miner)`,
  );
}

export interface ExtranonceSlot {
  /** The session's prefix as hex (prefixSize bytes). */
  prefix: string;
  /** What the session is told: upstream extranonce1 || prefix. */
  extranonce1: string;
  /** What the session is told: upstream extranonce2_size - prefixSize. */
  extranonce2Size: number;
}

/**
 * Hands out unique prefixes for one upstream connection. Prefixes are reused only after release, and the
 * search continues round-robin from the last one handed out, so a just-released prefix is not reused at once
 * (a late share from the old session can never be credited to a new one).
 */
export class ExtranoncePrefixAllocator {
  readonly prefixSize: number;
  readonly capacity: number;
  readonly sessionExtranonce2Size: number;
  private readonly inUse = new Set<number>();
  private cursor = 0;

  constructor(
    readonly upstreamExtranonce1: string,
    readonly upstreamExtranonce2Size: number,
    /** Tests use a smaller limit to reach exhaustion; it never exceeds what the prefix bytes can encode. */
    maxSessions?: number,
  ) {
    if (!/^([0-9a-f]{2})*$/i.test(upstreamExtranonce1)) {
      throw new Error(`upstream extranonce1 must be hex bytes, got '${upstreamExtranonce1}'`);
    }
    this.prefixSize = prefixSizeFor(upstreamExtranonce2Size);
    this.sessionExtranonce2Size = upstreamExtranonce2Size - this.prefixSize;
    const encodable = 2 ** (8 * this.prefixSize);
    this.capacity = Math.min(encodable, maxSessions ?? encodable);
    this.upstreamExtranonce1 = upstreamExtranonce1.toLowerCase();
  }

  get used(): number {
    return this.inUse.size;
  }

  /** Takes a free prefix; throws ExtranonceExhaustedError when every prefix is taken. */
  allocate(): ExtranonceSlot {
    if (this.inUse.size >= this.capacity) throw new ExtranonceExhaustedError(this.capacity);
    let value = this.cursor;
    while (this.inUse.has(value)) value = (value + 1) % this.capacity;
    this.inUse.add(value);
    this.cursor = (value + 1) % this.capacity;
    return this.slotFor(value);
  }

  release(prefix: string): void {
    this.inUse.delete(parseInt(prefix, 16));
  }

  private slotFor(value: number): ExtranonceSlot {
    const prefix = value.toString(16).padStart(this.prefixSize * 2, '0');
    return {
      prefix,
      extranonce1: this.upstreamExtranonce1 + prefix,
      extranonce2Size: this.sessionExtranonce2Size,
    };
  }
}
