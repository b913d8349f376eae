// The bitcoind JSON-RPC client against the fake node and raw HTTP servers on 127.0.0.1: credentials from the URL
// or a cookie file, and a clear error (never showing the password) for each way a call can fail.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BitcoindRpcClient, parseRpcUrl, RpcError, RpcTransportError } from '../src/upstream/rpc.js';
import { FakeBitcoind } from './support/fake-bitcoind.js';

let node: FakeBitcoind;
let dir: string;
const clients: BitcoindRpcClient[] = [];
const servers: Server[] = [];

function client(opts: ConstructorParameters<typeof BitcoindRpcClient>[0]): BitcoindRpcClient {
  const c = new BitcoindRpcClient(opts);
  clients.push(c);
  return c;
}

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://u:secret-pw@127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  node = new FakeBitcoind({ user: '__cookie__', password: 'c0ffee'.repeat(8) });
  await node.start();
  dir = mkdtempSync(join(tmpdir(), 'solo-rpc-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('parseRpcUrl', () => {
  it('takes credentials out of the URL (percent-decoded) and keeps a safe display form', () => {
    const p = parseRpcUrl('http://alice:p%40ss%3Aword@node.example:8332/wallet/x');
    expect(p.credentials).toEqual({ user: 'alice', password: 'p@ss:word' });
    expect(p.display).toBe('http://node.example:8332/wallet/x');
    expect(p.url.toString()).not.toContain('alice');
  });

  it.each([
    ['', /empty/],
    ['node:8332', /must be http/],
    ['ws://u:p@h:1', /must be http:\/\/ or https:\/\//],
    ['http://u:topsecret@[::1', /not a valid URL/],
  ])('rejects %j', (url, error) => {
    expect(() => parseRpcUrl(url)).toThrow(error);
    try {
      parseRpcUrl(url);
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});

describe('BitcoindRpcClient', () => {
  it('calls with credentials from the URL', async () => {
    const c = client({ url: node.url });
    expect(await c.call('getbestblockhash')).toBe(node.tip);
    expect(c.endpoint).toBe(node.endpoint);
  });

  it('calls with credentials from a cookie file, re-read on every call', async () => {
    const cookie = join(dir, '.cookie');
    writeFileSync(cookie, `__cookie__:${node.password}\n`);
    const c = client({ url: node.endpoint, cookieFile: cookie });
    expect((await c.call<{ chain: string }>('getblockchaininfo')).chain).toBe('regtest');
    writeFileSync(cookie, '__cookie__:stale-cookie');
    const err = await failure(c.call('getbestblockhash'));
    expect(err).toBeInstanceOf(RpcTransportError);
    expect((err as RpcTransportError).kind).toBe('auth');
    expect(err.message).not.toContain('stale-cookie');
  });

  it('explains a missing or malformed cookie file', async () => {
    const missing = client({ url: node.endpoint, cookieFile: join(dir, 'nope') });
    expect((await failure(missing.call('getbestblockhash'))).message).toMatch(/cannot read bitcoind cookie file .*nope: ENOENT/);
    const bad = join(dir, 'bad-cookie');
    writeFileSync(bad, 'no colon here');
    const c = client({ url: node.endpoint, cookieFile: bad });
    expect((await failure(c.call('getbestblockhash'))).message).toMatch(/not of the form user:password/);
  });

  it('HTTP 401 is an auth error that does not show the password', async () => {
    const c = client({ url: `http://__cookie__:wrong-password@127.0.0.1:${new URL(node.endpoint).port}` });
    const err = await failure(c.call('getbestblockhash'));
    expect(err.message).toBe(`bitcoind ${node.endpoint} getbestblockhash: HTTP 401 unauthorized (wrong RPC user/password or cookie)`);
    expect(err.message).not.toContain('wrong-password');
  });

  it('HTTP 403 points at rpcallowip', async () => {
    const url = await rawServer((_req, res) => res.writeHead(403).end());
    const err = await failure(client({ url }).call('getblocktemplate'));
    expect(err.message).toMatch(/HTTP 403 forbidden \(is this host allowed by rpcallowip\?\)/);
    expect(err.message).not.toContain('secret-pw');
  });

  it('an RPC error becomes RpcError with code and message (bitcoind sends it with HTTP 404/500)', async () => {
    const c = client({ url: node.url });
    const err = await failure(c.call('nosuchmethod'));
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(-32601);
    expect(err.message).toBe('bitcoind nosuchmethod: RPC error -32601: Method not found');
    node.failNext('rpc-error');
    const warm = await failure(c.call('getbestblockhash'));
    expect((warm as RpcError).code).toBe(-10);
  });

  it('non-JSON, non-object and result-less replies are parse errors', async () => {
    const c = client({ url: node.url });
    node.failNext('not-json');
    expect((await failure(c.call('getbestblockhash'))).message).toMatch(/HTTP 200, reply is not JSON: "this is not json"/);
    const url = await rawServer((req, res) => {
      const body = req.url === '/array' ? '[1,2]' : '{"id":1}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    expect((await failure(client({ url: url + '/array' }).call('x'))).message).toMatch(/not a JSON-RPC object/);
    expect((await failure(client({ url }).call('x'))).message).toMatch(/neither result nor error/);
  });

  it('times out a call the node never answers, and can be aborted', async () => {
    const c = client({ url: node.url, timeoutMs: 100 });
    node.failNext('hang');
    const t0 = Date.now();
    const err = await failure(c.call('getbestblockhash'));
    expect((err as RpcTransportError).kind).toBe('timeout');
    expect(err.message).toMatch(/no reply within 100 ms/);
    expect(Date.now() - t0).toBeLessThan(10_000); // the 100 ms given, not the 30 s default (room for a busy machine)
    node.failNext('hang');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const aborted = await failure(c.call('getbestblockhash', [], { timeoutMs: 0, signal: ac.signal }));
    expect((aborted as RpcTransportError).kind).toBe('aborted');
  });

  it('a refused connection is a network error; an oversized reply is refused', async () => {
    const url = await rawServer((_req, res) => res.writeHead(200).end(JSON.stringify({ result: 'x'.repeat(5000), error: null })));
    const port = new URL(url).port;
    const small = client({ url, maxReplyBytes: 1000 });
    expect((await failure(small.call('x'))).message).toMatch(/reply larger than 1000 bytes/);
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    const err = await failure(client({ url: `http://u:p@127.0.0.1:${port}` }).call('getbestblockhash'));
    expect((err as RpcTransportError).kind).toBe('network');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});
