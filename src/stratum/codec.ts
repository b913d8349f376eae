// Newline-delimited JSON-RPC framing for Stratum v1, usable by both sides (miner client and pool server).
// A LineSplitter turns bytes into bounded lines; a JsonRpcConnection classifies each line and correlates
// requests with responses. Nothing here throws into a socket callback: bad input becomes a 'protocol-error'.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  StratumProtocolError,
  StratumRequestError,
  describeStratumError,
  excerpt,
  parseStratumError,
  type StratumErrorTriple,
} from './errors.js';

export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024;

export type RpcId = number | string;

export interface RpcRequest {
  kind: 'request';
  id: RpcId;
  method: string;
  params: unknown[];
}
export interface RpcNotification {
  kind: 'notification';
  method: string;
  params: unknown[];
}
export interface RpcResponse {
  kind: 'response';
  id: RpcId;
  result: unknown;
  error: unknown;
}
export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines. Holds at most `maxLineLength` bytes of an unfinished line: anything longer is
 * an error (the caller must treat the stream as broken, there is no way to resynchronise cheaply).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private broken = false;

  constructor(readonly maxLineLength = DEFAULT_MAX_LINE_LENGTH) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new Error(`maxLineLength must be a positive integer, got ${maxLineLength}`);
    }
  }

  /** Returns the complete, non-empty lines in `chunk` (without \r\n), or an error once a line is too long. */
  push(chunk: Buffer): { lines: string[]; error?: StratumProtocolError } {
    const lines: string[] = [];
    if (this.broken) return { lines };
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const partLength = nl - start;
      if (this.pendingLength + partLength > this.maxLineLength) return this.fail(lines, this.pendingLength + partLength);
      let text: string;
      if (this.pending.length > 0) {
        this.pending.push(chunk.subarray(start, nl));
        text = Buffer.concat(this.pending, this.pendingLength + partLength).toString('utf8');
        this.pending = [];
        this.pendingLength = 0;
      } else {
        text = chunk.toString('utf8', start, nl); // no subarray object for the common whole-line case
      }
      if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
      // A line that starts with a visible ASCII character is not blank: skip trim() (a copy) on the hot path.
      const first = text.charCodeAt(0);
      if ((first > 0x20 && first < 0x7f) || text.trim().length > 0) lines.push(text);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingLength + rest.length > this.maxLineLength) return this.fail(lines, this.pendingLength + rest.length);
      // Copy: the socket may reuse its buffer.
      this.pending.push(Buffer.from(rest));
      this.pendingLength += rest.length;
    }
    return { lines };
  }

  private fail(lines: string[], length: number) {
    this.broken = true;
    this.pending = [];
    this.pendingLength = 0;
    return {
      lines,
      error: new StratumProtocolError(
        `line too long: more than ${this.maxLineLength} bytes without a newline (at least ${length})`,
        'line-too-long',
      ),
    };
  }
}

function isRpcId(v: unknown): v is RpcId {
  return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
}

/** Classifies one line. Returns a typed protocol error (never throws) when it is not a Stratum message. */
export function parseRpcLine(line: string): RpcMessage | StratumProtocolError {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return new StratumProtocolError(`bad JSON: ${(e as Error).message}: ${excerpt(line)}`, 'bad-json', excerpt(line));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new StratumProtocolError(`not a JSON-RPC object: ${excerpt(line)}`, 'bad-shape', excerpt(line));
  }
  const o = value as Record<string, unknown>;
  const id = o.id;
  if (o.method !== undefined) {
    if (typeof o.method !== 'string' || o.method.length === 0) {
      return new StratumProtocolError(`method must be a non-empty string: ${excerpt(line)}`, 'bad-shape', excerpt(line));
    }
    const params = o.params ?? [];
    if (!Array.isArray(params)) {
      return new StratumProtocolError(`params of ${o.method} must be an array: ${excerpt(line)}`, 'bad-shape', excerpt(line));
    }
    if (id === null || id === undefined) return { kind: 'notification', method: o.method, params };
    if (!isRpcId(id)) {
      return new StratumProtocolError(`id must be a number or string: ${excerpt(line)}`, 'bad-shape', excerpt(line));
    }
    return { kind: 'request', id, method: o.method, params };
  }
  if ('result' in o || 'error' in o) {
    if (!isRpcId(id)) {
      const why = parseStratumError(o.error);
      const detail = why ? ` (peer error: ${describeStratumError(why)})` : '';
      return new StratumProtocolError(`response without a usable id${detail}: ${excerpt(line)}`, 'bad-shape', excerpt(line));
    }
    return { kind: 'response', id, result: o.result ?? null, error: o.error ?? null };
  }
  return new StratumProtocolError(`neither a request nor a response: ${excerpt(line)}`, 'bad-shape', excerpt(line));
}

export interface JsonRpcConnectionOptions {
  maxLineLength?: number;
  /** Default timeout for request(); 0 disables. */
  requestTimeoutMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: StratumRequestError) => void;
  timer?: NodeJS.Timeout;
}

export interface JsonRpcConnectionEvents {
  request: [RpcRequest];
  notification: [RpcNotification];
  /** A response whose id matches no pending request (late answer after a timeout, or a confused peer). */
  'unmatched-response': [RpcResponse];
  'protocol-error': [StratumProtocolError];
  /** Emitted once; reason is set when the connection broke rather than ended cleanly. */
  close: [reason: string | undefined];
}

/**
 * One JSON-RPC peer over a Duplex (normally a net.Socket). Side-neutral: both the miner's client and the pool
 * server use it. It never emits 'error' (which would crash without a listener); failures arrive as
 * 'protocol-error' and 'close'. A line that is too long closes the connection; other bad lines only emit.
 */
export class JsonRpcConnection extends EventEmitter<JsonRpcConnectionEvents> {
  private readonly splitter: LineSplitter;
  private readonly pending = new Map<RpcId, Pending>();
  private nextId = 1;
  private lineInterceptor: ((line: string) => boolean) | null = null;
  private closed = false;
  private closeReason: string | undefined;
  readonly requestTimeoutMs: number;

  constructor(
    readonly stream: Duplex,
    options: JsonRpcConnectionOptions = {},
  ) {
    super();
    this.splitter = new LineSplitter(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    stream.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('error', (err: Error) => {
      this.closeReason ??= `socket error: ${err.message}`;
    });
    stream.on('end', () => {
      this.closeReason ??= 'peer closed the connection';
      // Half-open sockets are useless for Stratum: finish our side too.
      stream.end();
    });
    stream.on('close', () => this.finish(this.closeReason ?? 'connection closed'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued for the peer but not yet accepted by the kernel: a peer that never reads makes this grow. */
  get writableLength(): number {
    return this.stream.writableLength;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Lets the owner take lines it recognises before the generic JSON parse (a server's hot path, e.g. plain
   * mining.submit lines). `fn` returns true when it handled the line, false to pass it on unchanged. A throw is
   * reported as a 'protocol-error', as for any handler. null removes the interceptor.
   */
  interceptLines(fn: ((line: string) => boolean) | null): void {
    this.lineInterceptor = fn;
  }

  /** Writes one message; returns false when the stream's buffer is full (wait for drained()) or it is closed. */
  send(message: object): boolean {
    if (this.closed || this.stream.destroyed || this.stream.writableEnded) return false;
    return this.stream.write(JSON.stringify(message) + '\n');
  }

  /** Resolves when the write buffer has drained (at once if it is empty); rejects if the connection closes. */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (!this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.stream.off('drain', onDrain);
        reject(new Error('connection closed before drain'));
      };
      this.stream.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  notify(method: string, params: unknown[]): boolean {
    return this.send({ id: null, method, params });
  }

  respond(id: RpcId, result: unknown): boolean {
    return this.send({ id, result, error: null });
  }

  respondError(id: RpcId, error: StratumErrorTriple): boolean {
    return this.send({ id, result: null, error });
  }

  /**
   * Sends a request and resolves with its result. Rejects with StratumRequestError when the peer answers with
   * an error, does not answer within the timeout, or the connection closes first.
   */
  request(method: string, params: unknown[], options: RequestOptions = {}): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(new StratumRequestError(`${method}: connection is closed`, method, 'closed'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry: Pending = { method, resolve, reject };
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new StratumRequestError(`${method}: no answer within ${timeoutMs} ms`, method, 'timeout'));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      this.send({ id, method, params });
    });
  }

  /** Ends the connection gracefully (flushes queued writes). */
  close(reason = 'closed locally'): void {
    this.closeReason ??= reason;
    if (!this.stream.destroyed) this.stream.end();
    // A peer that never reads would keep the socket open forever: do not wait longer than a moment.
    setTimeout(() => this.destroy(reason), 1000).unref();
  }

  /** Drops the connection at once. */
  destroy(reason = 'destroyed locally'): void {
    this.closeReason ??= reason;
    if (!this.stream.destroyed) {
      // Answers held back by a cork (a batch of lines) still go out, as they would have without it.
      while (this.stream.writableCorked > 0) this.stream.uncork();
      this.stream.destroy();
    }
    this.finish(this.closeReason);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const { lines, error } = this.splitter.push(chunk);
    // Several lines in one chunk (a miner's burst of shares): their answers leave in one write, not one each.
    const batch = lines.length > 1 && !this.stream.destroyed;
    if (batch) this.stream.cork();
    try {
      for (const line of lines) {
        if (this.closed) return;
        this.onLine(line);
      }
    } finally {
      if (batch) this.stream.uncork();
    }
    if (error) {
      this.emit('protocol-error', error);
      this.destroy(error.message);
    }
  }

  private onLine(line: string): void {
    try {
      if (this.lineInterceptor !== null && this.lineInterceptor(line)) return;
      this.dispatchLine(line);
    } catch (err) {
      // A listener that throws must not take a server down through the socket's 'data' callback.
      const what = err instanceof Error ? err.message : String(err);
      this.emit('protocol-error', new StratumProtocolError(`handling a message failed: ${what}: ${excerpt(line)}`, 'bad-params', excerpt(line)));
    }
  }

  private dispatchLine(line: string): void {
    const msg = parseRpcLine(line);
    if (msg instanceof StratumProtocolError) {
      this.emit('protocol-error', msg);
      return;
    }
    switch (msg.kind) {
      case 'request':
        this.emit('request', msg);
        break;
      case 'notification':
        this.emit('notification', msg);
        break;
      case 'response': {
        const entry = this.pending.get(msg.id);
        if (!entry) {
          this.emit('unmatched-response', msg);
          return;
        }
        this.pending.delete(msg.id);
        if (entry.timer) clearTimeout(entry.timer);
        const err = parseStratumError(msg.error);
        if (err) {
          entry.reject(
            new StratumRequestError(`${entry.method} failed: ${describeStratumError(err)}`, entry.method, 'error', err),
          );
        } else {
          entry.resolve(msg.result);
        }
        break;
      }
    }
  }

  private finish(reason: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, entry] of this.pending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(
        new StratumRequestError(`${entry.method}: connection closed before an answer (${reason})`, entry.method, 'closed'),
      );
      this.pending.delete(id);
    }
    this.emit('close', reason);
  }
}
