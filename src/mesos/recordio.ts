// RecordIO framing of the Mesos event stream: each record is "<decimal length>\n<length bytes>".
// The decoder is fed arbitrary chunks: HTTP chunk boundaries have no relation to record boundaries
// (a record can be split over many chunks, a chunk can hold many records, even the length can be split).

/** Default upper bound for one record; an OFFERS event for thousands of agents is a few MB at most. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Longest length prefix we accept, in digits (enough for any record under 1 TB). */
const MAX_LENGTH_DIGITS = 12;

export class RecordIOError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordIOError';
  }
}

/** Frame one record. */
export function encodeRecord(payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${payload.length}\n`, 'ascii'), payload]);
}

/**
 * Incremental RecordIO decoder. `push(chunk)` returns the records completed by that chunk; `end()`
 * checks the stream did not stop inside a record. After an error the decoder stays failed.
 */
export class RecordIODecoder {
  private readonly maxRecordBytes: number;
  private lengthText = '';
  private expected = -1; // payload length of the record being read, -1 while reading the length
  private parts: Buffer[] = [];
  private received = 0;
  private failure: RecordIOError | undefined;
  private offset = 0; // bytes consumed so far, for error messages

  constructor(opts: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    const records: Buffer[] = [];
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      if (this.expected < 0) {
        pos = this.readLength(buf, pos);
        if (this.expected === 0) {
          records.push(Buffer.alloc(0));
          this.expected = -1;
        }
        continue;
      }
      const take = Math.min(this.expected - this.received, buf.length - pos);
      this.parts.push(buf.subarray(pos, pos + take));
      this.received += take;
      pos += take;
      this.offset += take;
      if (this.received === this.expected) {
        records.push(this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts));
        this.parts = [];
        this.received = 0;
        this.expected = -1;
      }
    }
    return records;
  }

  /** The stream ended: throws if it ended inside a record (truncated). */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.expected >= 0) {
      this.fail(`stream ended inside a record: got ${this.received} of ${this.expected} bytes`);
    }
    if (this.lengthText.length > 0) {
      this.fail(`stream ended inside a record length prefix ('${this.lengthText}')`);
    }
  }

  /** True when no partial record is buffered. */
  get idle(): boolean {
    return this.expected < 0 && this.lengthText.length === 0;
  }

  private readLength(buf: Buffer, start: number): number {
    let pos = start;
    while (pos < buf.length) {
      const byte = buf[pos]!;
      pos++;
      this.offset++;
      if (byte === 0x0a) {
        if (this.lengthText.length === 0) this.fail('empty record length before newline');
        const length = Number(this.lengthText);
        this.lengthText = '';
        if (length > this.maxRecordBytes) {
          this.fail(`record length ${length} exceeds the limit of ${this.maxRecordBytes} bytes`);
        }
        this.expected = length;
        return pos;
      }
      if (byte < 0x30 || byte > 0x39) {
        this.fail(`expected a decimal record length, got byte 0x${byte.toString(16).padStart(2, '0')}`
          + (this.lengthText ? ` after '${this.lengthText}'` : ''));
      }
      this.lengthText += String.fromCharCode(byte);
      if (this.lengthText.length > MAX_LENGTH_DIGITS) {
        this.fail(`record length prefix longer than ${MAX_LENGTH_DIGITS} digits ('${this.lengthText}...')`);
      }
    }
    return pos;
  }

  private fail(message: string): never {
    this.failure = new RecordIOError(`RecordIO: ${message} (at stream byte ${this.offset})`);
    throw this.failure;
  }
}
