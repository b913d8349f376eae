// Mesos v1 scheduler HTTP API client: SUBSCRIBE stream (RecordIO events, protobuf or JSON), calls on
// separate connections, leader redirects, heartbeat watchdog, resubscription with backoff + jitter.
// Knows nothing about what the framework runs: it moves Calls and Events, nothing more.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { CONTENT_TYPES, decodeEvent, encodeCall, formatFromContentType, type WireFormat } from './codec.js';
import { RecordIODecoder } from './recordio.js';
import { Backoff } from '../backoff.js';
import { silentLogger, type LogSink } from '../log.js';
import type {
  AgentID, Call, ExecutorID, Event, Filters, FrameworkInfo, InverseOffer, KillPolicy, Offer, OfferID,
  OfferOperation, OperationStatus, Subscribed, TaskID, TaskInfo, TaskStatus,
} from './types.js';

export const SCHEDULER_API_PATH = '/api/v1/scheduler';
const DEFAULT_HEARTBEAT_SECONDS = 15;
const MAX_ERROR_BODY_BYTES = 16 * 1024;

export interface SchedulerClientOptions {
  /** http(s)://host:port of a master, or a list of masters tried in turn (any of them redirects to the leader). */
  master: string | string[];
  framework: FrameworkInfo;
  /** Wire format of calls and events (default protobuf). */
  contentType?: WireFormat;
  /** HTTP basic authentication credentials; principal also fills framework.principal when unset. */
  principal?: string;
  secret?: string;
  tls?: { ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean };
  /** Resubscribe after this many heartbeat intervals without any event (default 5). */
  heartbeatMissLimit?: number;
  /** Resubscription delay: initialMs doubling up to maxMs, each with jitter (default 1 s .. 15 s). */
  backoff?: { initialMs: number; maxMs: number };
  logger?: LogSink;
  /** Roles to subscribe suppressed (Mesos 1.9+; older masters ignore it); see setSuppressedRoles. */
  suppressedRoles?: string[];
  /** Time allowed for a call's response (default 30 s). */
  callTimeoutMs?: number;
  /** Redirects followed in a row before backing off (default 10). */
  maxRedirects?: number;
  /** Largest accepted event record (default 64 MiB). */
  maxRecordBytes?: number;
}

/** Events emitted by SchedulerClient (name -> listener arguments). */
export interface SchedulerClientEvents {
  subscribed: [subscribed: Subscribed];
  offers: [offers: Offer[]];
  inverse_offers: [inverseOffers: InverseOffer[]];
  rescind: [offerId: OfferID];
  rescind_inverse_offer: [inverseOfferId: OfferID];
  update: [status: TaskStatus];
  update_operation_status: [status: OperationStatus];
  message: [message: { agent_id: AgentID; executor_id: ExecutorID; data: Buffer }];
  failure: [failure: { agent_id?: AgentID; executor_id?: ExecutorID; status?: number }];
  error_event: [message: string];
  heartbeat: [];
  disconnected: [reason: string];
  framework_removed: [message: string];
}

/** A call the master refused (non-2xx) or that could not be delivered. */
export class MesosCallError extends Error {
  constructor(message: string, readonly callType: string, readonly status?: number, readonly body?: string,
    options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MesosCallError';
  }
}

type IdLike<T extends { value: string }> = T | string;
const toId = <T extends { value: string }>(id: IdLike<T>): T => (typeof id === 'string' ? { value: id } as T : id);

/** Mesos' message when the failover timeout passed (or the framework was torn down). */
const FRAMEWORK_REMOVED = /framework.*(has been )?removed|removed framework|framework.*(completed|torn ?down)/i;

export class SchedulerClient extends EventEmitter<SchedulerClientEvents> {
  private readonly masters: URL[];
  private readonly format: WireFormat;
  private readonly log: LogSink;
  private readonly authorization: string | undefined;
  private readonly heartbeatMissLimit: number;
  private readonly callTimeoutMs: number;
  private readonly maxRedirects: number;
  private readonly maxRecordBytes: number | undefined;
  private readonly framework: FrameworkInfo;
  private readonly tls: SchedulerClientOptions['tls'];
  private callAgent: http.Agent | undefined;
  private suppressedRoles: string[];

  private masterIndex = 0;
  private leader: URL | undefined;
  private started = false;
  private stopped = false;
  private generation = 0;
  private readonly retry: Backoff;
  private redirects = 0;
  private id: string | undefined;
  private stream: string | undefined;
  private subscribedNow = false;
  private heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS;
  private request: http.ClientRequest | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(opts: SchedulerClientOptions) {
    super();
    const list = Array.isArray(opts.master) ? opts.master : [opts.master];
    if (list.length === 0) throw new Error('SchedulerClient: at least one master URL is required');
    this.masters = list.map((m) => parseMasterUrl(m));
    this.format = opts.contentType ?? 'protobuf';
    if (this.format !== 'protobuf' && this.format !== 'json') {
      throw new Error(`SchedulerClient: contentType must be 'protobuf' or 'json', got '${String(this.format)}'`);
    }
    if (!opts.framework?.user || !opts.framework?.name) {
      throw new Error('SchedulerClient: framework.user and framework.name are required');
    }
    this.framework = { ...opts.framework };
    if (opts.principal && !this.framework.principal) this.framework.principal = opts.principal;
    if (this.framework.id?.value) this.id = this.framework.id.value;
    delete this.framework.id;
    this.authorization = opts.principal !== undefined
      ? `Basic ${Buffer.from(`${opts.principal}:${opts.secret ?? ''}`).toString('base64')}` : undefined;
    this.heartbeatMissLimit = opts.heartbeatMissLimit ?? 5;
    if (!(this.heartbeatMissLimit > 0)) throw new Error('SchedulerClient: heartbeatMissLimit must be > 0');
    // Jitter 0.5..1.5 of each step spreads schedulers that lost the same master.
    const { initialMs, maxMs } = opts.backoff ?? { initialMs: 1000, maxMs: 15000 };
    try {
      this.retry = new Backoff({ initialMs, maxMs, jitter: 1 });
    } catch (err) {
      throw new Error(`SchedulerClient: ${(err as Error).message}`);
    }
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.maxRedirects = opts.maxRedirects ?? 10;
    this.maxRecordBytes = opts.maxRecordBytes;
    this.tls = opts.tls;
    this.suppressedRoles = opts.suppressedRoles ?? [];
    this.log = opts.logger ?? silentLogger;
    try {
      encodeCall({ type: 'SUBSCRIBE', subscribe: { framework_info: this.framework } }, this.format);
    } catch (err) {
      throw new Error(`SchedulerClient: invalid framework info: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The framework id assigned by the master (or restored with setFrameworkId), if any. */
  get frameworkId(): string | undefined {
    return this.id;
  }

  /** Restore a persisted framework id before start() (or forget it with undefined). */
  setFrameworkId(id: string | undefined): void {
    this.id = id || undefined;
  }

  /**
   * Roles to send as SUBSCRIBE.suppressed_roles on the next (re)subscription, so a framework that is
   * already satisfied does not get a burst of offers after failover. Does not send SUPPRESS by itself.
   */
  setSuppressedRoles(roles: string[]): void {
    this.suppressedRoles = [...roles];
  }

  /** Mesos-Stream-Id of the current subscription (undefined when not subscribed). */
  get streamId(): string | undefined {
    return this.stream;
  }

  get subscribed(): boolean {
    return this.subscribedNow;
  }

  /** Base URL of the master currently used (the leader after a redirect). */
  get masterUrl(): string {
    return this.currentBase().origin;
  }

  /** Subscribe and keep subscribed until stop(). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    this.connect();
  }

  /** Close the event stream and all connections; no resubscription afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.generation++;
    this.clearTimers();
    this.subscribedNow = false;
    this.stream = undefined;
    const req = this.request;
    this.request = undefined;
    this.callAgent?.destroy();
    this.callAgent = undefined;
    if (req && !req.destroyed) {
      await new Promise<void>((resolve) => {
        req.once('close', () => resolve());
        req.destroy();
      });
    }
  }

  // ---- calls ----

  /** Send any call (framework_id is filled in). Resolves once the master accepted it (202). */
  async call(call: Omit<Call, 'framework_id'>): Promise<void> {
    const type = call.type;
    if (type === 'SUBSCRIBE') throw new MesosCallError('use start() to subscribe', type);
    if (!this.subscribedNow || !this.stream || !this.id) {
      throw new MesosCallError(`cannot send ${type}: not subscribed to a Mesos master`, type);
    }
    const body = encodeCall({ ...call, framework_id: { value: this.id } }, this.format);
    const streamId = this.stream;
    const url = new URL(SCHEDULER_API_PATH, this.currentBase());
    const { status, text } = await this.post(url, body, streamId, type);
    if (status >= 200 && status < 300) return;
    const err = new MesosCallError(
      `Mesos ${type} call to ${url.origin} failed: HTTP ${status}${text ? `: ${text}` : ''}`, type, status, text);
    // Stale subscription: 403 (framework not subscribed/unknown), 400 naming the stream id (Mesos answers a
    // wrong Mesos-Stream-Id with 400), or 307 (the leader moved). Resubscribe instead of failing forever.
    const stale = status === 403 || status === 307 || (status === 400 && /stream.?id/i.test(text));
    if (stale && streamId === this.stream) {
      this.connectionLost(this.generation, `${type} call rejected with HTTP ${status}`);
    }
    throw err;
  }

  accept(offerIds: IdLike<OfferID>[], operations: OfferOperation[], filters?: Filters): Promise<void> {
    return this.call({ type: 'ACCEPT', accept: { offer_ids: offerIds.map(toId), operations, filters } });
  }

  /** ACCEPT with one LAUNCH operation. */
  launch(offerIds: IdLike<OfferID>[], taskInfos: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept(offerIds, [{ type: 'LAUNCH', launch: { task_infos: taskInfos } }], filters);
  }

  decline(offerIds: IdLike<OfferID>[], filters?: Filters): Promise<void> {
    return this.call({ type: 'DECLINE', decline: { offer_ids: offerIds.map(toId), filters } });
  }

  acknowledge(agentId: IdLike<AgentID>, taskId: IdLike<TaskID>, uuid: Buffer): Promise<void> {
    return this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: toId(agentId), task_id: toId(taskId), uuid } });
  }

  /** Explicit reconciliation of the given tasks; an empty list asks for every task the master knows. */
  reconcile(tasks: { task_id: IdLike<TaskID>; agent_id?: IdLike<AgentID> }[]): Promise<void> {
    return this.call({
      type: 'RECONCILE',
      reconcile: {
        tasks: tasks.map((t) => ({ task_id: toId(t.task_id), agent_id: t.agent_id ? toId(t.agent_id) : undefined })),
      },
    });
  }

  kill(taskId: IdLike<TaskID>, agentId?: IdLike<AgentID>, killPolicy?: KillPolicy): Promise<void> {
    return this.call({
      type: 'KILL', kill: { task_id: toId(taskId), agent_id: agentId ? toId(agentId) : undefined, kill_policy: killPolicy },
    });
  }

  suppress(roles?: string[]): Promise<void> {
    return this.call({ type: 'SUPPRESS', suppress: roles ? { roles } : undefined });
  }

  revive(roles?: string[]): Promise<void> {
    return this.call({ type: 'REVIVE', revive: roles ? { roles } : undefined });
  }

  /** Tear the framework down (Mesos kills all its tasks), forget its id and stop the client. */
  async teardown(): Promise<void> {
    await this.call({ type: 'TEARDOWN' });
    this.id = undefined;
    await this.stop();
  }

  message(agentId: IdLike<AgentID>, executorId: IdLike<ExecutorID>, data: Buffer): Promise<void> {
    return this.call({
      type: 'MESSAGE', message: { agent_id: toId(agentId), executor_id: toId(executorId), data },
    });
  }

  // ---- subscription ----

  private currentBase(): URL {
    return this.leader ?? this.masters[this.masterIndex % this.masters.length]!;
  }

  private requestModule(url: URL): typeof http | typeof https {
    return url.protocol === 'https:' ? https : http;
  }

  private headers(body: Buffer, streamId?: string): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': CONTENT_TYPES[this.format],
      Accept: CONTENT_TYPES[this.format],
      'Content-Length': body.length,
    };
    if (streamId) headers['Mesos-Stream-Id'] = streamId;
    if (this.authorization) headers.Authorization = this.authorization;
    return headers;
  }

  private tlsOptions(url: URL): https.RequestOptions {
    if (url.protocol !== 'https:' || !this.tls) return {};
    return { ca: this.tls.ca, rejectUnauthorized: this.tls.rejectUnauthorized ?? true };
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.subscribedNow = false;
    this.stream = undefined;
    const base = this.currentBase();
    const url = new URL(SCHEDULER_API_PATH, base);
    const frameworkInfo: FrameworkInfo = { ...this.framework, ...(this.id ? { id: { value: this.id } } : {}) };
    const call: Call = {
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: frameworkInfo,
        ...(this.suppressedRoles.length > 0 ? { suppressed_roles: this.suppressedRoles } : {}),
      },
      ...(this.id ? { framework_id: { value: this.id } } : {}),
    };
    let body: Buffer;
    try {
      body = encodeCall(call, this.format);
    } catch (err) {
      // A bad FrameworkInfo cannot fix itself by retrying; report it loudly and keep backing off.
      this.log.error({ err }, 'cannot encode SUBSCRIBE call');
      this.connectionLost(gen, `cannot encode SUBSCRIBE: ${(err as Error).message}`);
      return;
    }
    this.log.info({ master: url.origin, frameworkId: this.id, attempt: this.retry.failures }, 'subscribing to Mesos master');
    const req = this.requestModule(url).request(url, {
      method: 'POST',
      headers: this.headers(body),
      agent: false, // the event stream gets its own connection
      ...this.tlsOptions(url),
    });
    this.request = req;
    this.armWatchdog(gen); // also bounds the wait for the response headers and SUBSCRIBED
    req.on('response', (res) => this.onSubscribeResponse(gen, url, req, res));
    req.on('error', (err) => {
      if (gen !== this.generation) return;
      if (!this.leader) this.masterIndex++; // try the next configured master
      this.connectionLost(gen, `connection to ${url.origin} failed: ${err.message}`);
    });
    req.end(body);
  }

  private onSubscribeResponse(gen: number, url: URL, req: http.ClientRequest, res: http.IncomingMessage): void {
    if (gen !== this.generation) {
      res.destroy();
      return;
    }
    const status = res.statusCode ?? 0;
    if (status === 307) {
      res.resume();
      const location = res.headers.location;
      if (!location) {
        this.connectionLost(gen, `master ${url.origin} answered 307 without a Location header`);
        return;
      }
      let target: URL;
      try {
        target = new URL(location, url); // Mesos sends '//host:port/api/v1/scheduler' (scheme-relative)
      } catch {
        this.connectionLost(gen, `master ${url.origin} redirected to an invalid Location '${location}'`);
        return;
      }
      this.redirects++;
      this.log.info({ from: url.origin, to: target.origin }, 'Mesos master is not the leader; following redirect');
      this.leader = new URL(target.origin);
      req.destroy();
      if (this.redirects > this.maxRedirects) {
        this.redirects = 0;
        this.leader = undefined;
        this.connectionLost(gen, `more than ${this.maxRedirects} redirects in a row`);
        return;
      }
      this.clearTimers();
      this.generation++;
      setImmediate(() => this.connect());
      return;
    }
    if (status !== 200) {
      readLimited(res).then((text) => {
        if (gen !== this.generation) return;
        const hint = status === 401 ? ' (check principal/secret)' : '';
        this.log.error({ status, body: text, master: url.origin }, `SUBSCRIBE rejected${hint}`);
        this.connectionLost(gen, `SUBSCRIBE rejected by ${url.origin}: HTTP ${status}${text ? `: ${text}` : ''}${hint}`);
      }, () => this.connectionLost(gen, `SUBSCRIBE rejected by ${url.origin}: HTTP ${status}`));
      return;
    }
    const streamId = headerValue(res.headers['mesos-stream-id']);
    if (!streamId) {
      res.destroy();
      this.connectionLost(gen, `master ${url.origin} sent no Mesos-Stream-Id header`);
      return;
    }
    const format = formatFromContentType(headerValue(res.headers['content-type'])) ?? this.format;
    this.stream = streamId;
    const decoder = new RecordIODecoder({ maxRecordBytes: this.maxRecordBytes });
    res.on('data', (chunk: Buffer) => {
      if (gen !== this.generation) return;
      let records: Buffer[];
      try {
        records = decoder.push(chunk);
      } catch (err) {
        this.log.error({ err }, 'broken RecordIO in the Mesos event stream');
        this.connectionLost(gen, `broken event stream: ${(err as Error).message}`);
        return;
      }
      for (const record of records) {
        if (gen !== this.generation) return;
        let event: Event;
        try {
          event = decodeEvent(record, format);
        } catch (err) {
          this.log.error({ err }, 'undecodable Mesos event');
          this.connectionLost(gen, `undecodable event: ${(err as Error).message}`);
          return;
        }
        this.armWatchdog(gen);
        this.dispatch(gen, event);
      }
    });
    res.on('end', () => {
      if (gen !== this.generation) return;
      let reason = 'event stream closed by the master';
      try {
        decoder.end();
      } catch (err) {
        reason = `event stream truncated: ${(err as Error).message}`;
      }
      this.connectionLost(gen, reason);
    });
    res.on('error', (err) => this.connectionLost(gen, `event stream error: ${err.message}`));
    res.on('aborted', () => this.connectionLost(gen, 'event stream aborted'));
  }

  private dispatch(gen: number, event: Event): void {
    switch (event.type) {
      case 'SUBSCRIBED': {
        const subscribed = event.subscribed;
        if (!subscribed?.framework_id?.value) {
          this.connectionLost(gen, 'SUBSCRIBED event without framework_id');
          return;
        }
        this.id = subscribed.framework_id.value;
        this.subscribedNow = true;
        this.retry.reset();
        this.redirects = 0;
        const interval = subscribed.heartbeat_interval_seconds;
        this.heartbeatSeconds = interval && interval > 0 ? interval : DEFAULT_HEARTBEAT_SECONDS;
        this.armWatchdog(gen);
        this.log.info({ frameworkId: this.id, streamId: this.stream, heartbeatSeconds: this.heartbeatSeconds },
          'subscribed to Mesos master');
        this.safeEmit('subscribed', subscribed);
        return;
      }
      case 'HEARTBEAT': this.safeEmit('heartbeat'); return;
      case 'OFFERS': this.safeEmit('offers', event.offers?.offers ?? []); return;
      case 'INVERSE_OFFERS': this.safeEmit('inverse_offers', event.inverse_offers?.inverse_offers ?? []); return;
      case 'RESCIND':
        if (event.rescind) this.safeEmit('rescind', event.rescind.offer_id);
        return;
      case 'RESCIND_INVERSE_OFFER':
        if (event.rescind_inverse_offer) this.safeEmit('rescind_inverse_offer', event.rescind_inverse_offer.inverse_offer_id);
        return;
      case 'UPDATE':
        if (event.update) this.safeEmit('update', event.update.status);
        return;
      case 'UPDATE_OPERATION_STATUS':
        if (event.update_operation_status) this.safeEmit('update_operation_status', event.update_operation_status.status);
        return;
      case 'MESSAGE':
        if (event.message) this.safeEmit('message', event.message);
        return;
      case 'FAILURE': this.safeEmit('failure', event.failure ?? {}); return;
      case 'ERROR': {
        const message = event.error?.message ?? '(no message)';
        this.log.error({ message }, 'Mesos master sent an ERROR event');
        this.safeEmit('error_event', message);
        if (FRAMEWORK_REMOVED.test(message)) {
          this.id = undefined;
          this.safeEmit('framework_removed', message);
        }
        this.connectionLost(gen, `ERROR event: ${message}`);
        return;
      }
      default:
        this.log.warn({ type: event.type }, 'ignoring a Mesos event of unknown type');
    }
  }

  private safeEmit<K extends keyof SchedulerClientEvents>(name: K, ...args: SchedulerClientEvents[K]): void {
    // Each listener isolated: one that throws neither breaks the stream nor starves the others.
    for (const listener of this.rawListeners(name) as ((...a: unknown[]) => void)[]) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.log.error({ err, event: name }, 'a SchedulerClient listener threw');
      }
    }
  }

  private armWatchdog(gen: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const ms = this.heartbeatMissLimit * this.heartbeatSeconds * 1000;
    const timer = setTimeout(() => {
      // A timer fires late when the event loop was busy, and timers run before I/O in each turn of the loop: events
      // the master sent meanwhile may be waiting unread. Read them first (setImmediate runs after this turn's I/O);
      // any event re-arms the watchdog, and only a master that really went silent loses the stream.
      setImmediate(() => {
        if (this.watchdog === timer) this.connectionLost(gen, `no event from the master for ${ms} ms (${this.heartbeatMissLimit} heartbeats missed)`);
      });
    }, ms);
    timer.unref?.();
    this.watchdog = timer;
  }

  private clearTimers(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.watchdog = undefined;
    this.reconnectTimer = undefined;
  }

  /** Drop the current subscription (if `gen` is still current) and resubscribe after a backoff. */
  private connectionLost(gen: number, reason: string): void {
    if (gen !== this.generation || this.stopped) return;
    this.generation++;
    this.clearTimers();
    const wasSubscribed = this.subscribedNow;
    this.subscribedNow = false;
    this.stream = undefined;
    this.leader = undefined; // ask the configured masters again: one of them knows the new leader
    const req = this.request;
    this.request = undefined;
    req?.destroy();
    this.heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS;
    const delay = this.retry.next();
    this.log.warn({ reason, wasSubscribed, retryInMs: delay }, 'Mesos subscription lost; resubscribing');
    this.safeEmit('disconnected', reason);
    if (this.stopped) return; // a listener may have stopped us
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private agentFor(url: URL): http.Agent {
    if (!this.callAgent) {
      this.callAgent = url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: this.tls?.ca,
          rejectUnauthorized: this.tls?.rejectUnauthorized ?? true })
        : new http.Agent({ keepAlive: true, maxSockets: 8 });
    }
    return this.callAgent;
  }

  private post(url: URL, body: Buffer, streamId: string, type: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.requestModule(url).request(url, {
        method: 'POST',
        headers: this.headers(body, streamId),
        agent: this.agentFor(url),
        timeout: this.callTimeoutMs,
        ...this.tlsOptions(url),
      });
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.callTimeoutMs} ms`)));
      req.on('error', (err) => reject(new MesosCallError(
        `Mesos ${type} call to ${url.origin} failed: ${err.message}`, type, undefined, undefined, { cause: err })));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        readLimited(res).then((text) => resolve({ status, text }), (err: Error) => reject(new MesosCallError(
          `Mesos ${type} call to ${url.origin}: reading the response failed: ${err.message}`, type, status)));
      });
      req.end(body);
    });
  }
}

function parseMasterUrl(master: string): URL {
  let url: URL;
  try {
    url = new URL(master);
  } catch {
    throw new Error(`invalid Mesos master URL '${master}': expected http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`invalid Mesos master URL '${master}': scheme must be http or https`);
  }
  return new URL(url.origin);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Read a (small) response body as text, keeping at most MAX_ERROR_BODY_BYTES. */
function readLimited(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY_BYTES) parts.push(chunk.subarray(0, MAX_ERROR_BODY_BYTES - size));
      size += chunk.length;
    });
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8').trim()));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}
