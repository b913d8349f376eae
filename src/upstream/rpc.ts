// JSON-RPC 1.0 over HTTP, the way bitcoind speaks it: POST / with basic auth (rpcuser/rpcpassword from the URL,
// or the `__cookie__:<hex>` line of the node's .cookie file). Every failure becomes an Error that says what went
// wrong and where, without the credentials: RpcError for an error the node returned ({code, message}),
// RpcTransportError for everything before that (refused, timeout, 401/403, non-JSON reply).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface RpcCredentials {
  user: string;
  password: string;
}

export interface BitcoindRpcOptions {
  /** http(s)://[user:pass@]host:port[/path]; credentials in the URL are used unless a cookie file is given. */
  url: string;
  /** Path of the node's .cookie file (read at every call: the node rewrites it on restart). */
  cookieFile?: string;
  /** Per-call timeout in ms unless the call overrides it (default 30 s). */
  timeoutMs?: number;
  /** Largest reply accepted (default 64 MiB: a full getblocktemplate of a 4 MB block is ~8 MB of JSON). */
  maxReplyBytes?: number;
}

export interface RpcCallOptions {
  /** 0 = no timeout (long polls end by abort). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type RpcTransportErrorKind = 'network' | 'timeout' | 'auth' | 'http' | 'parse' | 'aborted' | 'credentials';

/** The node could not be reached, refused us, or replied with something that is not a JSON-RPC reply. */
export class RpcTransportError extends Error {
  constructor(
    readonly kind: RpcTransportErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RpcTransportError';
  }
}

/** The node answered with a JSON-RPC error ({code, message}), e.g. -8 invalid parameter, -10 still syncing. */
export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
  ) {
    super(`bitcoind ${method}: RPC error ${code}: ${rpcMessage}`);
    this.name = 'RpcError';
  }
}

/** Well-known bitcoind RPC error codes the upstream reacts to. */
export const RPC_IN_WARMUP = -28;
export const RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10;
export const RPC_CLIENT_NOT_CONNECTED = -9;

interface ParsedEndpoint {
  url: URL;
  /** The URL as safe to show: no user, no password. */
  display: string;
  credentials: RpcCredentials | null;
}

/** Splits an RPC URL into a credential-free URL and its credentials; throws a clear error for a bad URL. */
export function parseRpcUrl(text: string): ParsedEndpoint {
  if (typeof text !== 'string' || text.trim() === '') throw new Error('bitcoind URL is empty');
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    // Never echo the text: it may hold a password.
    throw new Error('bitcoind URL is not a valid URL (expected http://user:pass@host:8332)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`bitcoind URL must be http:// or https://, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new Error('bitcoind URL has no host');
  const credentials =
    url.username || url.password
      ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : null;
  url.username = '';
  url.password = '';
  const display = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  return { url, display, credentials };
}

/** Reads a bitcoind cookie file: one line `user:password` (`__cookie__:<64 hex>`). */
export function readCookieFile(path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): RpcCredentials {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new RpcTransportError('credentials', `cannot read bitcoind cookie file ${path}: ${code}`);
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) {
    throw new RpcTransportError('credentials', `bitcoind cookie file ${path} is not of the form user:password`);
  }
  return { user: line.slice(0, colon), password: line.slice(colon + 1) };
}

export class BitcoindRpcClient {
  /** Where the node is, without credentials: safe for logs and /status. */
  readonly endpoint: string;
  private readonly url: URL;
  private readonly urlCredentials: RpcCredentials | null;
  private readonly cookieFile: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxReplyBytes: number;
  private readonly agent: http.Agent;
  private nextId = 1;

  constructor(options: BitcoindRpcOptions) {
    const parsed = parseRpcUrl(options.url);
    this.url = parsed.url;
    this.endpoint = parsed.display;
    this.urlCredentials = parsed.credentials;
    this.cookieFile = options.cookieFile;
    if (!this.urlCredentials && !this.cookieFile) {
      throw new Error(`bitcoind ${this.endpoint}: no credentials (put user:pass in the URL or give a cookie file)`);
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxReplyBytes = options.maxReplyBytes ?? 64 << 20;
    if (!(this.timeoutMs >= 0)) throw new Error(`RPC timeout must be >= 0 ms, got ${this.timeoutMs}`);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 8 });
  }

  private credentials(): RpcCredentials {
    // The cookie wins: it is what the node itself wrote, and it changes on every node restart.
    if (this.cookieFile) return readCookieFile(this.cookieFile);
    return this.urlCredentials!;
  }

  /** Calls `method`; resolves with its result, rejects with RpcError or RpcTransportError. */
  async call<T = unknown>(method: string, params: unknown[] = [], opts: RpcCallOptions = {}): Promise<T> {
    const { user, password } = this.credentials();
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '1.0', id, method, params });
    const { status, text } = await this.post(method, body, `${user}:${password}`, opts);
    const where = `bitcoind ${this.endpoint} ${method}`;
    if (status === 401) {
      throw new RpcTransportError('auth', `${where}: HTTP 401 unauthorized (wrong RPC user/password or cookie)`, status);
    }
    if (status === 403) {
      throw new RpcTransportError('auth', `${where}: HTTP 403 forbidden (is this host allowed by rpcallowip?)`, status);
    }
    let reply: unknown;
    try {
      reply = JSON.parse(text);
    } catch {
      const snippet = text.slice(0, 120).replace(/\s+/g, ' ');
      throw new RpcTransportError('parse', `${where}: HTTP ${status}, reply is not JSON: ${JSON.stringify(snippet)}`, status);
    }
    if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) {
      throw new RpcTransportError('parse', `${where}: HTTP ${status}, reply is not a JSON-RPC object`, status);
    }
    const r = reply as { result?: unknown; error?: unknown };
    if (r.error !== null && r.error !== undefined) {
      const e = r.error as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'number' ? e.code : 0;
      const message = typeof e.message === 'string' ? e.message : JSON.stringify(r.error).slice(0, 200);
      throw new RpcError(method, code, message);
    }
    if (status < 200 || status >= 300) {
      throw new RpcTransportError('http', `${where}: HTTP ${status} without a JSON-RPC error`, status);
    }
    if (!('result' in r)) throw new RpcTransportError('parse', `${where}: reply has neither result nor error`, status);
    return r.result as T;
  }

  /** Closes idle keep-alive sockets (in-flight calls are not affected). */
  close(): void {
    this.agent.destroy();
  }

  private post(
    method: string,
    body: string,
    auth: string,
    opts: RpcCallOptions,
  ): Promise<{ status: number; text: string }> {
    const where = `bitcoind ${this.endpoint} ${method}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new RpcTransportError('aborted', `${where}: aborted`));
        return;
      }
      let settled = false;
      const fail = (err: RpcTransportError) => {
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        reject(err);
      };
      const req = transport.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: 'Basic ' + Buffer.from(auth).toString('base64'),
        },
      });
      const timer =
        timeoutMs > 0
          ? setTimeout(() => fail(new RpcTransportError('timeout', `${where}: no reply within ${timeoutMs} ms`)), timeoutMs)
          : undefined;
      const onAbort = () => fail(new RpcTransportError('aborted', `${where}: aborted`));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      req.on('error', (err: NodeJS.ErrnoException) => {
        fail(new RpcTransportError('network', `${where}: ${err.code ?? err.message}`));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxReplyBytes) {
            fail(new RpcTransportError('parse', `${where}: reply larger than ${this.maxReplyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => fail(new RpcTransportError('network', `${where}: reply broken: ${err.message}`)));
        res.on('close', () => {
          if (!res.complete) fail(new RpcTransportError('network', `${where}: connection closed mid-reply`));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }
}
