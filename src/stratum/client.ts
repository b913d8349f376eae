// A Stratum v1 client for ONE connection to ONE pool: handshake (configure → subscribe → authorize), the pool's
// notifications, and share submission. Reconnects and failover live in pool-manager.ts, which creates a new
// client per connection (passing the previous session id so the pool can resume the session).
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { JsonRpcConnection, type RpcNotification, type RpcRequest } from './codec.js';
import {
  RpcErrorCode,
  StratumErrorCode,
  StratumProtocolError,
  StratumRequestError,
  describeStratumError,
  stratumError,
  type StratumErrorInfo,
} from './errors.js';
import { silentLogger, type LogSink } from '../log.js';
import {
  DEFAULT_VERSION_ROLLING_MASK,
  DEFAULT_VERSION_ROLLING_MIN_BIT_COUNT,
  configureParams,
  parseConfigureResult,
  parseNotifyParams,
  parseReconnectParams,
  parseSetDifficultyParams,
  parseSetExtranonceParams,
  parseSetVersionMaskParams,
  parseShowMessageParams,
  parseSubscribeResult,
  submitParams,
  type ReconnectParams,
  type Share,
  type StratumJob,
} from './messages.js';
import { userAgent as defaultUserAgent } from './version.js';

export interface StratumClientOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** Sent in mining.subscribe and answered to client.get_version. Default "mesos-miner/<version>". */
  userAgent?: string;
  /** Session id from a previous connection to the same pool: asks the pool to resume it. */
  sessionId?: string;
  /** Ask for BIP 310 version rolling (default true). */
  versionRolling?: boolean;
  versionRollingMask?: number;
  /** Send mining.extranonce.subscribe (default false: some pools drop connections on unknown methods). */
  extranonceSubscribe?: boolean;
  /** Send mining.suggest_difficulty with this value (between subscribe and authorize). */
  suggestDifficulty?: number;
  /** Follow client.reconnect to another host (default false: only the same host, as cgminer does). */
  allowRedirect?: boolean;
  connectTimeoutMs?: number;
  /** Timeout for handshake requests (default 15 s). */
  requestTimeoutMs?: number;
  /** A share without an answer after this long is reported as 'timeout' (default 30 s). */
  submitTimeoutMs?: number;
  /** How long to wait for a configure answer after subscribe was answered (pools that ignore it). */
  configureGraceMs?: number;
  /** Drop the connection when the pool sends nothing for this long (default 10 min; 0 = never). */
  idleTimeoutMs?: number;
  maxLineLength?: number;
  logger?: LogSink;
}

export type ClientState = 'connecting' | 'handshaking' | 'ready' | 'closed';

export interface SessionInfo {
  extranonce1: string;
  extranonce2Size: number;
  sessionId: string | undefined;
  /** True when the pool resumed the session we asked for (same session id, same extranonce1 expected). */
  resumed: boolean;
  versionMask: number;
}

/** A job together with the difficulty that applies to it (the latest set_difficulty before its notify). */
export interface ClientJob {
  job: StratumJob;
  difficulty: number;
}

export type SubmitStatus = 'accepted' | 'rejected' | 'timeout' | 'disconnected';

export interface SubmitResult {
  status: SubmitStatus;
  /** The pool's error for 'rejected' (code 21/22/23/...), when it gave one. */
  error?: StratumErrorInfo;
  /** Human-readable reason for anything but 'accepted'. */
  reason?: string;
}

export interface StratumClientEvents {
  ready: [SessionInfo];
  job: [ClientJob];
  /** A new difficulty was announced; it applies from the next job. */
  difficulty: [number];
  extranonce: [{ extranonce1: string; extranonce2Size: number }];
  'version-mask': [number];
  /** The pool asked us to reconnect (already validated against allowRedirect); the client closes itself. */
  'reconnect-request': [ReconnectParams & { host: string; port: number }];
  message: [string];
  'protocol-error': [StratumProtocolError];
  close: [reason: string];
}

const METHOD_NOT_FOUND = RpcErrorCode.MethodNotFound;

export class StratumClient extends EventEmitter<StratumClientEvents> {
  private readonly options: Required<Omit<StratumClientOptions, 'sessionId' | 'suggestDifficulty' | 'password'>> &
    Pick<StratumClientOptions, 'sessionId' | 'suggestDifficulty' | 'password'>;
  private readonly log: LogSink;
  private socket: Socket | undefined;
  private conn: JsonRpcConnection | undefined;
  private _state: ClientState = 'connecting';
  private closeReason: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private session: SessionInfo | undefined;
  private versionMask = 0;
  /** Latest announced difficulty: becomes the difficulty of the next job. */
  private nextDifficulty = 1;
  private latestJob: ClientJob | undefined;
  private started = false;

  constructor(options: StratumClientOptions) {
    super();
    this.options = {
      password: 'x',
      userAgent: defaultUserAgent(),
      versionRolling: true,
      versionRollingMask: DEFAULT_VERSION_ROLLING_MASK,
      extranonceSubscribe: false,
      allowRedirect: false,
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 15_000,
      submitTimeoutMs: 30_000,
      configureGraceMs: 500,
      idleTimeoutMs: 600_000,
      maxLineLength: 16 * 1024,
      logger: silentLogger,
      ...options,
    };
    this.log = this.options.logger;
    const o = this.options;
    if (typeof o.user !== 'string' || o.user === '') throw new Error('stratum client: a user (wallet.worker) is required');
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new Error(`stratum client: bad port ${o.port}`);
    if (o.suggestDifficulty !== undefined && !(Number.isFinite(o.suggestDifficulty) && o.suggestDifficulty > 0)) {
      throw new Error(`stratum client: suggestDifficulty must be a positive number, got ${o.suggestDifficulty}`);
    }
    for (const key of ['connectTimeoutMs', 'requestTimeoutMs', 'submitTimeoutMs'] as const) {
      if (!(Number.isFinite(o[key]) && o[key] > 0)) throw new Error(`stratum client: ${key} must be > 0, got ${o[key]}`);
    }
  }

  get state(): ClientState {
    return this._state;
  }

  get poolAddress(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get sessionInfo(): SessionInfo | undefined {
    return this.session ? { ...this.session, versionMask: this.versionMask } : undefined;
  }

  get currentJob(): ClientJob | undefined {
    return this.latestJob;
  }

  /** Bytes queued towards the pool (a pool that stops reading makes this grow). */
  get writableLength(): number {
    return this.conn?.writableLength ?? 0;
  }

  /**
   * Connects and runs the handshake. Resolves with the session once subscribed and authorized; rejects (and
   * closes) on any failure. 'close' is emitted exactly once in every case after start().
   */
  async start(): Promise<SessionInfo> {
    if (this.started) throw new Error('StratumClient.start() called twice; create a new client per connection');
    this.started = true;
    try {
      await this.openSocket();
      return await this.handshake();
    } catch (err) {
      this.close(`handshake failed: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Submits a share. Never rejects: the result says accepted, rejected (with the pool's code), timeout or disconnected. */
  async submit(share: Share): Promise<SubmitResult> {
    const conn = this.conn;
    if (this._state !== 'ready' || !conn || conn.isClosed) {
      return { status: 'disconnected', reason: `not connected to ${this.poolAddress}` };
    }
    try {
      const result = await conn.request('mining.submit', submitParams(this.options.user, share), {
        timeoutMs: this.options.submitTimeoutMs,
      });
      if (result === true) return { status: 'accepted' };
      return { status: 'rejected', reason: `pool answered ${JSON.stringify(result)} without an error` };
    } catch (err) {
      if (err instanceof StratumRequestError) {
        if (err.reason === 'error' && err.error) {
          return { status: 'rejected', error: err.error, reason: describeStratumError(err.error) };
        }
        return { status: err.reason === 'timeout' ? 'timeout' : 'disconnected', reason: err.message };
      }
      return { status: 'disconnected', reason: (err as Error).message };
    }
  }

  /** Closes the connection (idempotent). */
  close(reason = 'closed by client'): void {
    this.closeReason ??= reason;
    if (this.conn) this.conn.destroy(reason);
    else if (this.socket) this.socket.destroy();
    this.finish(this.closeReason);
  }

  // ---- connection -----------------------------------------------------------------------------------------

  private openSocket(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      this.socket = socket;
      const onError = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(new Error(`cannot connect to ${host}:${port}: ${err.message}`));
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`connection to ${host}:${port} closed while connecting`));
      };
      const cleanup = () => {
        if (this.connectTimer) clearTimeout(this.connectTimer);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('connect', onConnect);
      };
      const onConnect = () => {
        cleanup();
        // Pools drop idle-looking connections and NATs forget them: keep the TCP session alive.
        socket.setKeepAlive(true, 30_000);
        socket.setNoDelay(true);
        this.attach(socket);
        resolve();
      };
      this.connectTimer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(new Error(`cannot connect to ${host}:${port}: timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.once('connect', onConnect);
    });
  }

  private attach(socket: Socket): void {
    const conn = new JsonRpcConnection(socket, {
      maxLineLength: this.options.maxLineLength,
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    this.conn = conn;
    this._state = 'handshaking';
    this.touch();
    conn.on('notification', (msg) => this.safely(msg.method, () => this.onPoolMessage(msg)));
    conn.on('request', (msg) => this.safely(msg.method, () => this.onPoolMessage(msg)));
    conn.on('unmatched-response', (msg) => {
      this.touch();
      this.log.warn({ pool: this.poolAddress, id: msg.id }, 'stratum: response to no pending request (late or bogus)');
    });
    conn.on('protocol-error', (err) => this.onProtocolError(err));
    conn.on('close', (reason) => this.finish(this.closeReason ?? reason ?? 'connection closed'));
  }

  private async handshake(): Promise<SessionInfo> {
    const conn = this.conn!;
    const o = this.options;
    // Pipelined like cgminer: configure (first), subscribe and authorize all go out at once. Pools process
    // requests in order, so once subscribe is answered an unanswered configure was ignored.
    let configure: Promise<unknown> | undefined;
    if (o.versionRolling) {
      configure = conn.request('mining.configure', configureParams(o.versionRollingMask, DEFAULT_VERSION_ROLLING_MIN_BIT_COUNT));
      configure.catch(() => {}); // Observed below; avoid an unhandled rejection if we never get there.
    }
    const subscribeArgs: unknown[] = [o.userAgent];
    if (o.sessionId) subscribeArgs.push(o.sessionId);
    const subscribe = conn.request('mining.subscribe', subscribeArgs);
    // Before authorize: pools that pick a starting difficulty at authorize time take the hint into account.
    if (o.suggestDifficulty !== undefined) this.optionalRequest('mining.suggest_difficulty', [o.suggestDifficulty]);
    const authorize = conn.request('mining.authorize', [o.user, o.password ?? 'x']);
    subscribe.catch(() => {});
    authorize.catch(() => {});

    const sub = parseSubscribeResult(await subscribe);
    if (configure) this.versionMask = await this.configureOutcome(configure);
    const resumed = o.sessionId !== undefined && sub.sessionId === o.sessionId;
    this.session = {
      extranonce1: sub.extranonce1,
      extranonce2Size: sub.extranonce2Size,
      sessionId: sub.sessionId,
      resumed,
      versionMask: this.versionMask,
    };

    if (o.extranonceSubscribe) this.optionalRequest('mining.extranonce.subscribe', []);

    let authorized: unknown;
    try {
      authorized = await authorize;
    } catch (err) {
      throw new Error(`authorization of "${o.user}" failed: ${(err as Error).message}`);
    }
    if (authorized !== true) {
      throw new Error(`pool refused worker "${o.user}" (mining.authorize returned ${JSON.stringify(authorized)})`);
    }
    if (this._state === 'closed') throw new Error(`connection closed during handshake: ${this.closeReason}`);
    this._state = 'ready';
    const info = this.sessionInfo!;
    this.log.info(
      { pool: this.poolAddress, extranonce1: info.extranonce1, extranonce2Size: info.extranonce2Size, resumed, versionMask: info.versionMask },
      'stratum: subscribed and authorized',
    );
    this.emit('ready', info);
    // Jobs that arrived during the handshake are delivered now that the session is known.
    if (this.latestJob && this._state === 'ready') this.emit('job', this.latestJob);
    return info;
  }

  private async configureOutcome(configure: Promise<unknown>): Promise<number> {
    const grace = new Promise<'ignored'>((resolve) => {
      const t = setTimeout(() => resolve('ignored'), this.options.configureGraceMs);
      t.unref();
    });
    try {
      const result = await Promise.race([configure, grace]);
      if (result === 'ignored') {
        this.log.info({ pool: this.poolAddress }, 'stratum: pool ignored mining.configure; mining without version rolling');
        return 0;
      }
      const cfg = parseConfigureResult(result, this.options.versionRollingMask);
      this.log.info({ pool: this.poolAddress, versionMask: cfg.versionMask.toString(16) }, cfg.versionRolling ? 'stratum: version rolling on' : 'stratum: pool declined version rolling');
      return cfg.versionMask;
    } catch (err) {
      this.log.info({ pool: this.poolAddress, err: (err as Error).message }, 'stratum: mining.configure failed; mining without version rolling');
      return 0;
    }
  }

  private optionalRequest(method: string, params: unknown[]): void {
    this.conn?.request(method, params).then(
      (result) => this.log.debug({ pool: this.poolAddress, method, result }, 'stratum: optional request answered'),
      (err: Error) => this.log.info({ pool: this.poolAddress, method, err: err.message }, 'stratum: optional request not supported'),
    );
  }

  // ---- pool → miner -----------------------------------------------------------------------------------------

  private safely(method: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A handler bug or bad params must never take the process down; report it as a protocol error.
      const e = err instanceof StratumProtocolError ? err : new StratumProtocolError(`${method}: ${(err as Error).message}`, 'bad-params');
      this.onProtocolError(e);
    }
  }

  private onPoolMessage(msg: RpcRequest | RpcNotification): void {
    this.touch();
    const reply = (result: unknown) => {
      if (msg.kind === 'request') this.conn?.respond(msg.id, result);
    };
    const replyError = (code: number, message: string) => {
      if (msg.kind === 'request') this.conn?.respondError(msg.id, stratumError(code, message));
    };
    try {
      this.dispatch(msg, reply, replyError);
    } catch (err) {
      replyError(StratumErrorCode.Other, (err as Error).message);
      throw err;
    }
  }

  private dispatch(
    msg: RpcRequest | RpcNotification,
    reply: (result: unknown) => void,
    replyError: (code: number, message: string) => void,
  ): void {
    switch (msg.method) {
      case 'mining.notify': {
        const job = parseNotifyParams(msg.params);
        this.latestJob = { job, difficulty: this.nextDifficulty };
        this.log.debug({ pool: this.poolAddress, jobId: job.jobId, clean: job.cleanJobs, difficulty: this.nextDifficulty }, 'stratum: new job');
        if (this._state === 'ready') this.emit('job', this.latestJob);
        reply(true);
        return;
      }
      case 'mining.set_difficulty': {
        const difficulty = parseSetDifficultyParams(msg.params);
        this.nextDifficulty = difficulty;
        this.log.info({ pool: this.poolAddress, difficulty }, 'stratum: difficulty set (applies from the next job)');
        this.emit('difficulty', difficulty);
        reply(true);
        return;
      }
      case 'mining.set_extranonce': {
        const en = parseSetExtranonceParams(msg.params);
        if (this.session) {
          this.session.extranonce1 = en.extranonce1;
          this.session.extranonce2Size = en.extranonce2Size;
        }
        this.log.info({ pool: this.poolAddress, ...en }, 'stratum: extranonce changed; work rebuilt');
        this.emit('extranonce', en);
        reply(true);
        return;
      }
      case 'mining.set_version_mask': {
        const mask = parseSetVersionMaskParams(msg.params);
        // Never roll bits we did not offer; without configure we never offered any.
        this.versionMask = this.options.versionRolling ? (mask & this.options.versionRollingMask) >>> 0 : 0;
        this.log.info({ pool: this.poolAddress, mask: this.versionMask.toString(16) }, 'stratum: version mask changed');
        this.emit('version-mask', this.versionMask);
        reply(true);
        return;
      }
      case 'client.get_version':
        reply(this.options.userAgent);
        return;
      case 'client.show_message': {
        const text = parseShowMessageParams(msg.params);
        this.log.info({ pool: this.poolAddress, message: text }, 'stratum: message from pool');
        this.emit('message', text);
        reply(true);
        return;
      }
      case 'client.reconnect': {
        const params = parseReconnectParams(msg.params);
        const host = params.host ?? this.options.host;
        const port = params.port ?? this.options.port;
        if (host !== this.options.host && !this.options.allowRedirect) {
          this.log.warn({ pool: this.poolAddress, host, port }, 'stratum: ignoring client.reconnect to another host (allowRedirect is off)');
          replyError(StratumErrorCode.Other, 'redirect to another host refused');
          return;
        }
        this.log.info({ pool: this.poolAddress, host, port, waitSeconds: params.waitSeconds }, 'stratum: pool asked us to reconnect');
        reply(true);
        this.emit('reconnect-request', { ...params, host, port });
        this.close(`pool requested reconnect to ${host}:${port}`);
        return;
      }
      default:
        this.log.warn({ pool: this.poolAddress, method: msg.method, kind: msg.kind }, 'stratum: unknown method from pool');
        replyError(METHOD_NOT_FOUND, `method not found: ${msg.method}`);
    }
  }

  private onProtocolError(err: StratumProtocolError): void {
    this.touch();
    this.log.warn({ pool: this.poolAddress, kind: err.kind, err: err.message }, 'stratum: bad input from pool');
    this.emit('protocol-error', err);
    // Bytes that are not JSON mean the stream is not Stratum (or is corrupted): drop it and let the manager
    // reconnect. Valid JSON of the wrong shape is only logged: a sloppy pool is still usable.
    if (err.kind === 'bad-json' || err.kind === 'line-too-long') this.close(`protocol error: ${err.message}`);
  }

  private touch(): void {
    if (this.options.idleTimeoutMs <= 0 || this._state === 'closed') return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(
        () => this.close(`pool sent nothing for ${this.options.idleTimeoutMs} ms`),
        this.options.idleTimeoutMs,
      );
    }
  }

  private finish(reason: string): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
    this.log.info({ pool: this.poolAddress, reason }, 'stratum: connection closed');
    this.emit('close', reason);
  }
}

