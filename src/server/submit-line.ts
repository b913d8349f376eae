// A fast path for the one line a miner server sees thousands of times a second: a mining.submit request.
// It recognises only the plain shape miners send — an object with exactly the keys "id", "method" and "params"
// (any order, any JSON whitespace), a non-negative integer or plain-string id, and 2 to 8 plain-string params —
// and returns null for anything else, so the generic JSON.parse path handles (and reports) every unusual line.
// "Plain" strings contain no backslash and no control character: exactly the JSON strings whose text is their
// value, so everything accepted here is valid JSON that JSON.parse would read the same way.
import type { RpcId } from '../stratum/codec.js';

export interface SubmitLine {
  id: RpcId;
  params: string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const MIN_PARAMS = 2;
const MAX_PARAMS = 8;
/** Longer integer ids could lose precision as doubles: leave them to JSON.parse. */
const MAX_ID_DIGITS = 15;

/** Parser state over one line; `pos` moves forward, `fail` is set at the first thing outside the fast shape. */
class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  skipWs(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) p++;
      else break;
    }
    this.pos = p;
  }

  /** Consumes `c` after optional whitespace. */
  take(c: number): boolean {
    this.skipWs();
    if (this.s.charCodeAt(this.pos) !== c) return false;
    this.pos++;
    return true;
  }

  /** A plain string (no escapes, no control characters) after optional whitespace, or null. */
  plainString(): string | null {
    this.skipWs();
    const s = this.s;
    if (s.charCodeAt(this.pos) !== QUOTE) return null;
    const start = this.pos + 1;
    let p = start;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === QUOTE) break;
      // NaN (end of line), an escape or a control character: not for the fast path.
      if (!(c >= 0x20) || c === BACKSLASH) return null;
      p++;
    }
    this.pos = p + 1;
    return s.slice(start, p);
  }

  /** Consumes `text` exactly (after optional whitespace), without copying anything out of the line. */
  literal(text: string): boolean {
    this.skipWs();
    if (!this.s.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  /** One of the keys "id", "method", "params" (as written, no escapes); null for any other. */
  knownKey(): 'id' | 'method' | 'params' | null {
    if (this.literal('"id"')) return 'id';
    if (this.literal('"method"')) return 'method';
    if (this.literal('"params"')) return 'params';
    return null;
  }

  /** A non-negative integer without leading zeros, fraction or exponent, or -1. */
  smallInteger(): number {
    this.skipWs();
    const s = this.s;
    const start = this.pos;
    let p = start;
    let c = s.charCodeAt(p);
    while (c >= ZERO && c <= NINE) c = s.charCodeAt(++p);
    const digits = p - start;
    if (digits === 0 || digits > MAX_ID_DIGITS) return -1;
    if (digits > 1 && s.charCodeAt(start) === ZERO) return -1;
    // A fraction or exponent is valid JSON but not a plain integer: let JSON.parse decide.
    if (c === 0x2e || c === 0x65 || c === 0x45) return -1;
    this.pos = p;
    return Number(s.slice(start, p));
  }
}

/** Recognises a plain mining.submit request line; null means "use the generic parser". */
export function parseSubmitLine(line: string): SubmitLine | null {
  const cur = new Cursor(line);
  if (!cur.take(OPEN_BRACE)) return null;
  let id: RpcId | undefined;
  let method: string | undefined;
  let params: string[] | undefined;
  for (let key = 0; key < 3; key++) {
    if (key > 0 && !cur.take(COMMA)) return null;
    const name = cur.knownKey();
    if (name === null || !cur.take(COLON)) return null;
    if (name === 'id' && id === undefined) {
      cur.skipWs();
      if (line.charCodeAt(cur.pos) === QUOTE) {
        const s = cur.plainString();
        if (s === null) return null;
        id = s;
      } else {
        const n = cur.smallInteger();
        if (n < 0) return null;
        id = n;
      }
    } else if (name === 'method' && method === undefined) {
      if (!cur.literal('"mining.submit"')) return null;
      method = 'mining.submit';
    } else if (name === 'params' && params === undefined) {
      params = plainStringArray(cur) ?? undefined;
      if (params === undefined) return null;
    } else {
      // Another key, or one seen twice (JSON.parse keeps the last): the generic path decides.
      return null;
    }
  }
  if (!cur.take(CLOSE_BRACE)) return null;
  cur.skipWs();
  if (cur.pos !== line.length) return null;
  return { id: id!, params: params! };
}

/** Collects the strings of the array being parsed; the result is an exact-size copy (no growth slack). */
const collected: string[] = [];

function plainStringArray(cur: Cursor): string[] | null {
  if (!cur.take(OPEN_BRACKET)) return null;
  let n = 0;
  for (;;) {
    const s = cur.plainString();
    if (s === null || n === MAX_PARAMS) return null;
    collected[n++] = s;
    if (cur.take(CLOSE_BRACKET)) break;
    if (!cur.take(COMMA)) return null;
  }
  if (n < MIN_PARAMS) return null;
  const out = collected.slice(0, n);
  collected.fill('', 0, n); // do not keep the line's strings alive
  return out;
}
