import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';
import { JsonRpcConnection, LineSplitter, parseRpcLine } from '../src/stratum/codec.js';
import { StratumProtocolError, StratumRequestError, parseStratumError, stratumError } from '../src/stratum/errors.js';
import { parsePoolUrl } from '../src/stratum/pool-url.js';
import { waitUntil } from './support/wait-until.js';

describe('LineSplitter', () => {
  it('splits across chunks, strips \\r, ignores empty lines', () => {
    const s = new LineSplitter(64);
    expect(s.push(Buffer.from('{"a":1}\r\n\n{"b"')).lines).toEqual(['{"a":1}']);
    expect(s.push(Buffer.from(':2}')).lines).toEqual([]);
    expect(s.push(Buffer.from('\r\n   \r\n{"c":3}\n')).lines).toEqual(['{"b":2}', '{"c":3}']);
  });

  it('keeps multi-byte UTF-8 intact when a chunk splits a character', () => {
    const s = new LineSplitter(64);
    const bytes = Buffer.from('"héllo"\n');
    expect(s.push(bytes.subarray(0, 3)).lines).toEqual([]);
    expect(s.push(bytes.subarray(3)).lines).toEqual(['"héllo"']);
  });

  it('reports a line over the limit without buffering it, then stays broken', () => {
    const s = new LineSplitter(16);
    const first = s.push(Buffer.from('{"ok":1}\n' + 'x'.repeat(10)));
    expect(first.lines).toEqual(['{"ok":1}']);
    expect(first.error).toBeUndefined();
    const second = s.push(Buffer.from('y'.repeat(10)));
    expect(second.error).toBeInstanceOf(StratumProtocolError);
    expect(second.error!.kind).toBe('line-too-long');
    expect(second.error!.message).toMatch(/line too long.*16 bytes/);
    expect(s.push(Buffer.from('{"a":1}\n')).lines).toEqual([]);
  });

  it('catches an over-long line that ends inside the same chunk', () => {
    const s = new LineSplitter(8);
    expect(s.push(Buffer.from('0123456789\n')).error?.kind).toBe('line-too-long');
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new LineSplitter(0)).toThrow(/positive integer/);
  });
});

describe('parseRpcLine', () => {
  it('classifies requests, notifications and responses', () => {
    expect(parseRpcLine('{"id":1,"method":"mining.subscribe","params":["x"]}')).toEqual({ kind: 'request', id: 1, method: 'mining.subscribe', params: ['x'] });
    expect(parseRpcLine('{"id":null,"method":"mining.notify","params":[]}')).toEqual({ kind: 'notification', method: 'mining.notify', params: [] });
    expect(parseRpcLine('{"method":"client.show_message"}')).toEqual({ kind: 'notification', method: 'client.show_message', params: [] });
    expect(parseRpcLine('{"id":"7","result":true,"error":null}')).toEqual({ kind: 'response', id: '7', result: true, error: null });
  });

  it.each([
    ['not json at all', 'bad-json'],
    ['[1,2,3]', 'bad-shape'],
    ['"a string"', 'bad-shape'],
    ['{"id":1,"method":42}', 'bad-shape'],
    ['{"id":1,"method":"x","params":{"a":1}}', 'bad-shape'],
    ['{"id":{},"method":"x","params":[]}', 'bad-shape'],
    ['{"id":null,"result":null,"error":[20,"oops",null]}', 'bad-shape'],
    ['{"hello":"world"}', 'bad-shape'],
  ])('%s -> %s protocol error (no throw)', (line, kind) => {
    const r = parseRpcLine(line);
    expect(r).toBeInstanceOf(StratumProtocolError);
    expect((r as StratumProtocolError).kind).toBe(kind);
  });
});

describe('errors', () => {
  it('builds and parses [code, message, data] and the other forms pools use', () => {
    expect(stratumError(23)).toEqual([23, 'Low difficulty share', null]);
    expect(parseStratumError([21, 'Job not found', null])).toEqual({ code: 21, message: 'Job not found', data: undefined });
    expect(parseStratumError({ code: 22, message: 'dup' })).toEqual({ code: 22, message: 'dup', data: undefined });
    expect(parseStratumError('bad share')).toEqual({ code: 20, message: 'bad share' });
    expect(parseStratumError(null)).toBeNull();
    expect(parseStratumError([null, null])?.code).toBe(20);
  });
});

describe('parsePoolUrl', () => {
  it('accepts stratum+tcp host:port forms', () => {
    expect(parsePoolUrl('stratum+tcp://pool.example.com:3333')).toEqual({ host: 'pool.example.com', port: 3333, url: 'stratum+tcp://pool.example.com:3333' });
    expect(parsePoolUrl(' stratum+tcp://127.0.0.1:1/ ').port).toBe(1);
    expect(parsePoolUrl('stratum+tcp://[::1]:3333')).toMatchObject({ host: '::1', url: 'stratum+tcp://[::1]:3333' });
  });

  it.each([
    ['', /empty/],
    ['pool.example.com:3333', /must look like stratum\+tcp/],
    ['stratum+ssl://pool:3333', /unsupported scheme "stratum\+ssl"/],
    ['http://pool:3333', /unsupported scheme/],
    ['stratum+tcp://pool.example.com', /missing port/],
    ['stratum+tcp://:3333', /missing host/],
    ['stratum+tcp://bad_host!:3333', /bad host/],
    ['stratum+tcp://pool:99999', /out of range/],
    ['stratum+tcp://pool:abc', /bad port/],
    ['stratum+tcp://user@pool:3333', /only host:port/],
  ])('%j -> clear error', (url, re) => {
    expect(() => parsePoolUrl(url)).toThrow(re);
  });
});

describe('Backoff', () => {
  it('doubles up to the cap, with jitter inside its band, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, random: () => 0.5 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => 0 });
    expect(j.next()).toBe(750);
    const k = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => 0.999999 });
    expect(k.next()).toBe(1250);
  });

  it('rejects settings that would allow a tight loop', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(/initialMs/);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(/maxMs/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/factor/);
  });
});

/** The rejection of a request that must fail. */
function failure(p: Promise<unknown>): Promise<StratumRequestError> {
  return p.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e as StratumRequestError,
  );
}

describe('JsonRpcConnection over TCP', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
  });

  async function pair(opts: { maxLineLength?: number; requestTimeoutMs?: number } = {}) {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const accepted = once(server, 'connection');
    const client = connect(port, '127.0.0.1');
    const [serverSocket] = (await accepted) as [Socket];
    sockets.push(client, serverSocket);
    return { a: new JsonRpcConnection(client, opts), b: new JsonRpcConnection(serverSocket, opts), rawServer: serverSocket };
  }

  it('correlates requests and responses both ways, errors reject with the pool error', async () => {
    const { a, b } = await pair();
    b.on('request', (req) => {
      if (req.method === 'echo') b.respond(req.id, req.params);
      else b.respondError(req.id, stratumError(21));
    });
    await expect(a.request('echo', [1, 'two'])).resolves.toEqual([1, 'two']);
    const err = await failure(a.request('mining.submit', []));
    expect(err).toBeInstanceOf(StratumRequestError);
    expect(err.reason).toBe('error');
    expect(err.error?.code).toBe(21);
    expect(err.message).toMatch(/mining.submit failed: Job not found \(code 21\)/);
  });

  it('times out an unanswered request and reports a late answer as unmatched', async () => {
    const { a, b } = await pair();
    const seen: unknown[] = [];
    let reqId: number | string = 0;
    b.on('request', (req) => (reqId = req.id));
    a.on('unmatched-response', (r) => seen.push(r.id));
    const err = await failure(a.request('mining.submit', [], { timeoutMs: 50 }));
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/no answer within 50 ms/);
    b.respond(reqId, true);
    await waitUntil(() => seen.length > 0, 'the late answer');
    expect(seen).toEqual([reqId]);
  });

  it('rejects pending requests when the peer closes', async () => {
    const { a, b } = await pair();
    const p = failure(a.request('mining.authorize', ['u', 'p']));
    const closed = once(a, 'close');
    b.destroy('test');
    const err = await p;
    expect(err.reason).toBe('closed');
    expect((await closed)[0]).toMatch(/closed/);
    expect(a.isClosed).toBe(true);
    await expect(a.request('x', [])).rejects.toThrow(/closed/);
  });

  it('drops the connection on a line that is too long (never buffers it all)', async () => {
    const { a, rawServer } = await pair({ maxLineLength: 1024 });
    const errors: StratumProtocolError[] = [];
    a.on('protocol-error', (e) => errors.push(e));
    const closed = once(a, 'close');
    rawServer.write('z'.repeat(1024 * 1024));
    const [reason] = await closed;
    expect(errors.map((e) => e.kind)).toEqual(['line-too-long']);
    expect(reason).toMatch(/line too long/);
  });

  it('keeps going after wrong-shape and non-JSON lines, reporting each', async () => {
    const { a, rawServer } = await pair();
    const errors: string[] = [];
    const notes: string[] = [];
    a.on('protocol-error', (e) => errors.push(e.kind));
    a.on('notification', (n) => notes.push(n.method));
    rawServer.write('garbage\n[1]\n{"id":null,"method":"ok","params":[]}\n');
    await waitUntil(() => notes.length > 0, 'the good line after the bad ones');
    expect(errors).toEqual(['bad-json', 'bad-shape']);
    expect(notes).toEqual(['ok']);
    expect(a.isClosed).toBe(false);
  });

  it('exposes backpressure: writableLength grows when the peer never reads, drained() waits', async () => {
    const { a, rawServer } = await pair({ maxLineLength: 1 << 20 });
    rawServer.pause();
    const big = { id: null, method: 'x', params: ['p'.repeat(64 * 1024)] };
    // Loopback kernel buffers absorb a few MiB first; past them the queue stays in user space.
    let ok = true;
    for (let i = 0; i < 600 && a.writableLength < 4 * 1024 * 1024; i++) {
      ok = a.send(big);
      if (!ok) await new Promise((r) => setImmediate(r));
    }
    expect(ok).toBe(false);
    expect(a.writableLength).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    let drained = false;
    const d = a.drained().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(false);
    rawServer.resume();
    await d;
    expect(drained).toBe(true);
  });
});

describe('JsonRpcConnection listener failures', () => {
  it('turns a throwing listener into a protocol error instead of an uncaught exception', async () => {
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    const conn = new JsonRpcConnection(stream);
    const errors: StratumProtocolError[] = [];
    conn.on('protocol-error', (e) => errors.push(e));
    conn.on('request', () => {
      throw new Error('handler bug');
    });
    stream.write('{"id":1,"method":"mining.submit","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/handling a message failed: handler bug/);
    expect(conn.isClosed).toBe(false);
    conn.destroy();
  });
});
