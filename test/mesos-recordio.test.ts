import { describe, expect, it } from 'vitest';
import { encodeRecord, RecordIODecoder, RecordIOError } from '../src/mesos/recordio.js';

const records = ['{"type":"SUBSCRIBED"}', 'x', '', 'a'.repeat(1000), '{"type":"HEARTBEAT"}'].map((s) => Buffer.from(s));
const stream = Buffer.concat(records.map(encodeRecord));

describe('RecordIO', () => {
  it('frames a record as <decimal length>\\n<bytes>', () => {
    expect(encodeRecord(Buffer.from('hello')).toString()).toBe('5\nhello');
    expect(encodeRecord(Buffer.alloc(0)).toString()).toBe('0\n');
  });

  it('decodes many records packed in one chunk', () => {
    const out = new RecordIODecoder().push(stream);
    expect(out.map(String)).toEqual(records.map(String));
  });

  it('decodes the same records fed one byte at a time (length and payload split across chunks)', () => {
    const decoder = new RecordIODecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    decoder.end();
    expect(out.map(String)).toEqual(records.map(String));
  });

  it('decodes the same records for every split point of two chunks and random chunkings', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new RecordIODecoder();
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(out.map(String)).toEqual(records.map(String));
    }
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const decoder = new RecordIODecoder();
      const out: Buffer[] = [];
      for (let pos = 0; pos < stream.length;) {
        const size = 1 + Math.floor(rand() * 40);
        out.push(...decoder.push(stream.subarray(pos, pos + size)));
        pos += size;
      }
      expect(out.map(String)).toEqual(records.map(String));
    }
  });

  it('returned records do not alias the input chunk', () => {
    const chunk = Buffer.from(encodeRecord(Buffer.from('abc')));
    const [rec] = new RecordIODecoder().push(chunk);
    chunk.fill(0);
    expect(rec!.toString()).toBe('abc');
  });

  it('rejects a non-digit length with a clear error and stays failed', () => {
    const decoder = new RecordIODecoder();
    expect(() => decoder.push(Buffer.from('12x\nabc'))).toThrow(/expected a decimal record length, got byte 0x78 after '12'/);
    expect(() => decoder.push(Buffer.from('3\nabc'))).toThrow(RecordIOError);
  });

  it('rejects garbage such as an HTML error page', () => {
    expect(() => new RecordIODecoder().push(Buffer.from('<html>'))).toThrow(/got byte 0x3c/);
  });

  it('rejects an empty length and an endless length prefix (missing newline)', () => {
    expect(() => new RecordIODecoder().push(Buffer.from('\nabc'))).toThrow(/empty record length/);
    expect(() => new RecordIODecoder().push(Buffer.from('1234567890123456'))).toThrow(/longer than 12 digits/);
  });

  it('rejects a record over the size limit before buffering it', () => {
    const decoder = new RecordIODecoder({ maxRecordBytes: 1000 });
    expect(decoder.push(encodeRecord(Buffer.alloc(1000)))).toHaveLength(1);
    expect(() => decoder.push(Buffer.from('1001\n'))).toThrow(/record length 1001 exceeds the limit of 1000 bytes/);
  });

  it('reports a stream that ends inside a record (truncated)', () => {
    const decoder = new RecordIODecoder();
    expect(decoder.push(Buffer.from('10\nabc'))).toEqual([]);
    expect(decoder.idle).toBe(false);
    expect(() => decoder.end()).toThrow(/stream ended inside a record: got 3 of 10 bytes/);
    const inLength = new RecordIODecoder();
    inLength.push(Buffer.from('5\nhello1'));
    expect(() => inLength.end()).toThrow(/inside a record length prefix \('1'\)/);
    const clean = new RecordIODecoder();
    clean.push(stream);
    expect(clean.idle).toBe(true);
    expect(() => clean.end()).not.toThrow();
  });
});
