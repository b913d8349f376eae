// The mining.submit fast path must never disagree with the generic parser: whatever it accepts, JSON.parse reads
// the same way; whatever is unusual goes back (null) to the generic path, which gives the proper error.
import { afterEach, describe, expect, it } from 'vitest';
import { parseSubmitLine } from '../src/server/submit-line.js';
import { Duplex, PassThrough } from 'node:stream';
import { JsonRpcConnection, parseRpcLine, type RpcRequest } from '../src/stratum/codec.js';
import type { StratumProtocolError } from '../src/stratum/errors.js';
import { startProxyRig } from './support/proxy-rig.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

const PARAMS = '["worker.1","1a","00000000","6553f0aa","0badf00d"]';
const PARAM_VALUES = ['worker.1', '1a', '00000000', '6553f0aa', '0badf00d'];

/** The fast path's answer must be null or exactly what the generic parser makes of the line. */
function agreesWithGeneric(line: string): void {
  const fast = parseSubmitLine(line);
  if (fast === null) return;
  const generic = parseRpcLine(line);
  expect(generic, line).toEqual({ kind: 'request', id: fast.id, method: 'mining.submit', params: fast.params });
}

describe('parseSubmitLine', () => {
  it.each([
    [`{"id":4,"method":"mining.submit","params":${PARAMS}}`, 4],
    [`{"params": ${PARAMS.replace(/,/g, ', ')}, "id": 7, "method": "mining.submit"}`, 7],
    [`{"method":"mining.submit","params":${PARAMS},"id":"a-b c"}`, 'a-b c'],
    [` \t{ "id" : 0 , "method" : "mining.submit" , "params" : [ "w" , "1" , "00" , "6553f0aa" , "0badf00d" ] } \r `, 0],
    [`{"id":123456789012345,"method":"mining.submit","params":${PARAMS}}`, 123456789012345],
    [`{"id":"","method":"mining.submit","params":["w","j","00","6553f0aa","0badf00d","1fffe000"]}`, ''],
    [`{"id":5,"method":"mining.submit","params":["wörker ✓","j","00","6553f0aa","0badf00d"]}`, 5],
  ])('reads %s', (line, id) => {
    const fast = parseSubmitLine(line);
    expect(fast).not.toBeNull();
    expect(fast!.id).toBe(id);
    agreesWithGeneric(line);
  });

  it('returns the params as strings in order', () => {
    expect(parseSubmitLine(`{"id":1,"method":"mining.submit","params":${PARAMS}}`)!.params).toEqual(PARAM_VALUES);
  });

  it.each([
    // escapes and control characters: valid JSON (or not), but the generic parser decides
    `{"id":1,"method":"mining.submit","params":["wor\\u006ber","1a","00","6553f0aa","0badf00d"]}`,
    `{"id":1,"method":"mining.submit","params":["w\\"x","1a","00","6553f0aa","0badf00d"]}`,
    `{"id":1,"method":"mining.submit","params":["w\tx","1a","00","6553f0aa","0badf00d"]}`,
    `{"id":"a\\nb","method":"mining.submit","params":${PARAMS}}`,
    `{"id":1,"method":"mining.sub\\u006dit","params":${PARAMS}}`,
    `{"i\\u0064":1,"method":"mining.submit","params":${PARAMS}}`,
    // ids the fast path leaves alone
    `{"id":null,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":-1,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1.5,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1e3,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1E3,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":01,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1234567890123456,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":true,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":[1],"method":"mining.submit","params":${PARAMS}}`,
    `{"method":"mining.submit","params":${PARAMS}}`,
    // params of the wrong types or counts
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa",195948557]}`,
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa",null]}`,
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa","0badf00d",null]}`,
    `{"id":1,"method":"mining.submit","params":[]}`,
    `{"id":1,"method":"mining.submit","params":["w"]}`,
    `{"id":1,"method":"mining.submit","params":["a","b","c","d","e","f","g","h","i"]}`,
    `{"id":1,"method":"mining.submit","params":{"user":"w"}}`,
    `{"id":1,"method":"mining.submit","params":"w"}`,
    // other methods, keys and shapes
    `{"id":1,"method":"mining.authorize","params":["w","x"]}`,
    `{"id":1,"method":"mining.submit","params":${PARAMS},"jsonrpc":"2.0"}`,
    `{"id":1,"method":"mining.submit","params":${PARAMS},"id":2}`,
    `{"id":1,"id":2,"method":"mining.submit","params":${PARAMS}}`,
    // broken JSON must never be accepted
    `{"id":1,"method":"mining.submit","params":${PARAMS}`,
    `{"id":1,"method":"mining.submit","params":${PARAMS}}}`,
    `{"id":1,"method":"mining.submit","params":${PARAMS}} x`,
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa","0badf00d",]}`,
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa","0badf00d"}`,
    `{"id":1,"method":"mining.submit","params":["w","1a","00","6553f0aa","0badf00d]}`,
    `{"id":1,,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1 "method":"mining.submit","params":${PARAMS}}`,
    `{id:1,"method":"mining.submit","params":${PARAMS}}`,
    `{'id':1,"method":"mining.submit","params":${PARAMS}}`,
    `{"id":1,"method":"mining.submit","params":${PARAMS}}\u00a0`,
    `{"id":1,"method":"mining.submit"\u000b,"params":${PARAMS}}`,
    '',
    '{}',
  ])('leaves %s to the generic parser', (line) => {
    expect(parseSubmitLine(line)).toBeNull();
  });

  it('never accepts a line the generic parser reads differently (mutated lines)', () => {
    // Deterministic pseudo-random mutations of a valid line: deletions, insertions and replacements of the
    // characters that matter to JSON. Bounded count, fixed seed.
    const base = `{"id":12,"method":"mining.submit","params":["worker.1","1a","00000000","6553f0aa","0badf00d"]}`;
    const alphabet = ['"', '\\', ',', ':', '[', ']', '{', '}', ' ', '\t', '\n', '0', '1', '-', '.', 'e', 'a', 'n', '\u0001', 'é'];
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let line = base;
      for (let k = 1 + rand(3); k > 0; k--) {
        const at = rand(line.length + 1);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)]!;
        if (op === 0) line = line.slice(0, at) + line.slice(at + 1);
        else if (op === 1) line = line.slice(0, at) + ch + line.slice(at);
        else line = line.slice(0, at) + ch + line.slice(at + 1);
      }
      if (parseSubmitLine(line) !== null) accepted++;
      agreesWithGeneric(line);
    }
    // Some mutations (whitespace, digits in strings) keep the fast shape: the invariant was exercised.
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('JsonRpcConnection.interceptLines', () => {
  it('offers every line first; handled lines skip the generic dispatch, a throw becomes a protocol error', async () => {
    const stream = new PassThrough();
    const conn = new JsonRpcConnection(stream, { requestTimeoutMs: 0 });
    const seen: string[] = [];
    const requests: RpcRequest[] = [];
    const errors: StratumProtocolError[] = [];
    conn.on('request', (r) => requests.push(r));
    conn.on('protocol-error', (e) => errors.push(e));
    conn.interceptLines((line) => {
      seen.push(line);
      if (line.includes('boom')) throw new Error('interceptor failed');
      return line.includes('mining.submit');
    });
    stream.write(`{"id":1,"method":"mining.submit","params":[]}\r\n{"id":2,"method":"mining.authorize","params":[]}\n  \n`);
    stream.write('{"id":3,"method":"boom"}\n');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([
      '{"id":1,"method":"mining.submit","params":[]}',
      '{"id":2,"method":"mining.authorize","params":[]}',
      '{"id":3,"method":"boom"}',
    ]);
    expect(requests.map((r) => r.id)).toEqual([2]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('interceptor failed');
    conn.interceptLines(null);
    stream.write('{"id":4,"method":"mining.submit","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(requests.map((r) => r.id)).toEqual([2, 4]);
    conn.destroy();
  });
});

describe('JsonRpcConnection write batching', () => {
  /** A duplex that records how its writes arrive: one entry per _write/_writev call. */
  function recordingStream() {
    const calls: string[][] = [];
    const stream = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        calls.push([chunk.toString()]);
        cb();
      },
      writev(chunks, cb) {
        calls.push(chunks.map((c) => String(c.chunk)));
        cb();
      },
    });
    return { stream, calls };
  }

  it('answers the lines of one chunk in one write, and single lines at once', async () => {
    const { stream, calls } = recordingStream();
    const conn = new JsonRpcConnection(stream, { requestTimeoutMs: 0 });
    conn.on('request', (r) => conn.respond(r.id, true));
    stream.push('{"id":1,"method":"a","params":[]}\n{"id":2,"method":"a","params":[]}\n{"id":3,"method":"a","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((l) => JSON.parse(l).id)).toEqual([1, 2, 3]);
    stream.push('{"id":4,"method":"a","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2);
    conn.destroy();
  });

  it('still sends the batched answers when a handler drops the connection mid-batch', async () => {
    const { stream, calls } = recordingStream();
    const conn = new JsonRpcConnection(stream, { requestTimeoutMs: 0 });
    conn.on('request', (r) => {
      conn.respond(r.id, false);
      if (r.id === 2) conn.destroy('enough');
    });
    stream.push('{"id":1,"method":"a","params":[]}\n{"id":2,"method":"a","params":[]}\n{"id":3,"method":"a","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(calls.flat().map((l) => JSON.parse(l).id)).toEqual([1, 2]);
    expect(conn.isClosed).toBe(true);
  });
});

describe('miner server answers submits the same through the fast and the generic path', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it('accepts odd but valid shapes, rejects wrong types with 20 and duplicates with 22', async () => {
    const diff = 2 ** -26;
    const { server, port, close } = await startProxyRig({ minerDifficulty: diff, pool: { difficulty: 2 ** -20 } });
    cleanup.push(() => close(100));
    const miner = await TestMiner.connect(port);
    cleanup.push(async () => miner.close());
    await miner.handshake('worker');
    let text = '';
    miner.socket.on('data', (d: string) => (text += d));
    const answer = async (id: number | string) => {
      let found: { id: unknown; result: unknown; error: unknown } | undefined;
      await waitUntil(() => {
        found = text
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l))
          .find((m) => m.id === id);
        return found !== undefined;
      }, `answer to ${JSON.stringify(id)}`);
      return found!;
    };
    const q = (s: string) => JSON.stringify(s);
    let nonce = 0;
    const next = () => {
      const f = miner.find({ startNonce: nonce });
      nonce = f.nextNonce;
      return f.params;
    };

    // cgminer's key order with spaces: fast path
    let p = next();
    miner.socket.write(`{"params": [${p.map(q).join(', ')}], "id": 1001, "method": "mining.submit"}\n`);
    expect(await answer(1001)).toMatchObject({ result: true, error: null });
    // a string id comes back as the same string
    p = next();
    miner.socket.write(`{"id":"s-1","method":"mining.submit","params":[${p.map(q).join(',')}]}\r\n`);
    expect(await answer('s-1')).toMatchObject({ result: true, error: null });
    // an escaped worker name (generic path) is the same worker
    p = next();
    const escaped = `"wor\\u006ber"`;
    miner.socket.write(`{"id":1002,"method":"mining.submit","params":[${[escaped, ...p.slice(1).map(q)].join(',')}]}\n`);
    expect(await answer(1002)).toMatchObject({ result: true, error: null });
    // the same share again through the fast path: duplicate
    miner.socket.write(`{"id":1003,"method":"mining.submit","params":[${p.map(q).join(',')}]}\n`);
    expect((await answer(1003)).error).toEqual([22, expect.any(String), null]);
    // a nonce as a number (generic path): malformed, code 20
    p = next();
    miner.socket.write(`{"id":1004,"method":"mining.submit","params":[${p.slice(0, 4).map(q).join(',')},${parseInt(p[4], 16)}]}\n`);
    expect((await answer(1004)).error).toEqual([20, expect.stringContaining('nonce'), null]);
    // a bad hex nonce through the fast path: malformed, code 20
    miner.socket.write(`{"id":1005,"method":"mining.submit","params":[${[...p.slice(0, 4), 'zzzzzzzz'].map(q).join(',')}]}\n`);
    expect((await answer(1005)).error).toEqual([20, expect.stringContaining('nonce'), null]);
    expect(server.stats.accepted).toBe(3);
  });
});
