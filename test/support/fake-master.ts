// An in-process fake Mesos master speaking the real v1 scheduler wire format (like Mesos 1.x):
// POST /api/v1/scheduler, protobuf and JSON with content negotiation, a RecordIO-framed chunked
// SUBSCRIBE stream with Mesos-Stream-Id, 202 for calls, heartbeats, offers from fake agents, task
// launches with status updates, acknowledgements, reconciliation, kills, filters, suppress/revive,
// failover by framework id, leader redirects, HTTP basic auth — plus controls to inject failures.
// Offers follow Mesos' hierarchical allocator: one allocation per --allocation_interval (1 s), and at once on
// SUBSCRIBE, REVIVE and an agent coming back; the resources an ACCEPT leaves unused and a declined offer are
// filtered for max(refuse_seconds, allocation interval) (5 s when the call gives no filter) for that framework
// and agent, and only while what the agent has free is no more than what was refused (a task ending frees more,
// and that is offered); a closed subscription or REVIVE clears the filters; SUPPRESS stops offers until REVIVE.
import http from 'node:http';
import https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import {
  CONTENT_TYPES, decodeCall, encodeEvent, formatFromContentType, type WireFormat,
} from '../../src/mesos/codec.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import type {
  Call, Event, FrameworkInfo, Offer, Resource, TaskInfo, TaskState, TaskStatus, TaskStatusReason,
} from '../../src/mesos/types.js';
import { TERMINAL_TASK_STATES } from '../../src/mesos/types.js';

export interface FakeAgentSpec {
  id?: string;
  hostname?: string;
  cpus?: number;
  mem?: number;
  /** Inclusive port ranges offered as the 'ports' RANGES resource (none: no ports resource). */
  ports?: [number, number][];
}

export interface FakeMasterOptions {
  /** A number of identical agents (4 cpus, 8192 MB, ports 31000-31099) or explicit specs (default 3). */
  agents?: number | FakeAgentSpec[];
  /** Role the resources are allocated to (Offer.allocation_info.role); default '*'. */
  role?: string;
  heartbeatIntervalSeconds?: number;
  /** Require HTTP basic auth with these credentials (401 otherwise). */
  auth?: { principal: string; secret: string };
  /** Answer every request with 307 to this master URL (a non-leading master). */
  redirectTo?: string;
  /** Split each record into HTTP chunks of at most this many bytes (records split across chunks). */
  splitChunkBytes?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Pack all records produced in one tick into one HTTP chunk. */
  packRecords?: boolean;
  /** Allocation period, ms: how often unused resources are (re)offered (default 1000, Mesos' --allocation_interval). */
  allocationIntervalMs?: number;
  /** Re-send unacknowledged agent status updates after this many ms (default: off). */
  resendUnacknowledgedMs?: number;
  /** States sent after a valid LAUNCH, each with a uuid (default STARTING then RUNNING, like the command executor). */
  launchStates?: TaskState[];
  /** Delay between launch status updates, ms (default 2). */
  launchStepMs?: number;
}

/**
 * How the next call of a type fails: an HTTP error answered without applying the call; 'drop' (connection reset,
 * not applied); 'hang' (never answered, not applied); 'applied-hang' (applied, but the answer never comes: the
 * caller cannot know whether the master took it).
 */
export type CallFailure = { status: number; body?: string } | 'drop' | 'hang' | 'applied-hang';

export interface RecordedCall {
  call: Call;
  format: WireFormat;
  status: number;
  streamId?: string;
  authorization?: string;
}

export interface FakeAgent {
  id: string;
  hostname: string;
  cpus: number;
  mem: number;
  ports: [number, number][];
  lost: boolean;
}

export interface FakeTask {
  taskId: string;
  agentId: string;
  frameworkId: string;
  info: TaskInfo;
  state: TaskState;
  cpus: number;
  mem: number;
  ports: number[];
  statuses: TaskStatus[];
}

/** Resources a framework refused on one agent: not offered again while the agent has no more than these free. */
interface OfferFilter { refused: Pool; until: number }

/** Mesos' allocation interval (--allocation_interval default). */
const ALLOCATION_INTERVAL_MS = 1000;

interface FakeOffer {
  offer: Offer;
  frameworkId: string;
  agentId: string;
}

interface FrameworkState {
  id: string;
  info: FrameworkInfo;
  streamId?: string;
  format: WireFormat;
  response?: http.ServerResponse;
  heartbeat?: NodeJS.Timeout;
  suppressed: boolean;
  /** agentId -> resources refused on that agent (DECLINE, or what an ACCEPT left unused), each until a time (ms). */
  filters: Map<string, OfferFilter[]>;
  /** hex uuid -> status awaiting acknowledgement. */
  unacknowledged: Map<string, { status: TaskStatus; sentAt: number }>;
  pending: Buffer[];
  flushScheduled: boolean;
}

const PATH = '/api/v1/scheduler';

export class FakeMaster {
  readonly calls: RecordedCall[] = [];
  readonly agents: FakeAgent[] = [];
  readonly tasks = new Map<string, FakeTask>();
  readonly offers = new Map<string, FakeOffer>();
  /** hex uuids acknowledged by the scheduler. */
  readonly acknowledged = new Set<string>();
  readonly frameworks = new Map<string, FrameworkState>();
  readonly removedFrameworks = new Set<string>();
  /** How many SUBSCRIBE requests were answered 200 (one per stream). */
  subscribeCount = 0;
  /** What a valid LAUNCH does: run (status updates), hang (stays STAGING), drop (master forgets the task). */
  launchBehavior: 'run' | 'hang' | 'drop' = 'run';
  heartbeatsPaused = false;
  redirectTo: string | undefined;
  /** Failures queued by failNextCall, per call type, used up in order. */
  private readonly callFailures = new Map<Call['type'], CallFailure[]>();
  /** Responses left unanswered by a 'hang' failure (ended on close). */
  private readonly hanging = new Set<http.ServerResponse>();

  private readonly server: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly opts: FakeMasterOptions;
  private readonly role: string;
  private readonly allocationIntervalMs: number;
  private heartbeatSeconds: number;
  private allocationTimer?: NodeJS.Timeout;
  private resendTimer?: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  private offerSeq = 0;
  private frameworkSeq = 0;
  private masterId = randomUUID();
  private portNumber = 0;

  private constructor(opts: FakeMasterOptions) {
    this.opts = opts;
    this.role = opts.role ?? '*';
    this.allocationIntervalMs = opts.allocationIntervalMs ?? ALLOCATION_INTERVAL_MS;
    this.heartbeatSeconds = opts.heartbeatIntervalSeconds ?? 15;
    this.redirectTo = opts.redirectTo;
    const specs: FakeAgentSpec[] = typeof opts.agents === 'number' || opts.agents === undefined
      ? Array.from({ length: typeof opts.agents === 'number' ? opts.agents : 3 }, () => ({}))
      : opts.agents;
    specs.forEach((spec, i) => this.agents.push({
      id: spec.id ?? `agent-${i}`,
      hostname: spec.hostname ?? `agent${i}.fake.local`,
      cpus: spec.cpus ?? 4,
      mem: spec.mem ?? 8192,
      ports: spec.ports ?? [[31000, 31099]],
      lost: false,
    }));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    this.server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
      : http.createServer(handler);
    this.server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(opts: FakeMasterOptions = {}): Promise<FakeMaster> {
    const master = new FakeMaster(opts);
    await new Promise<void>((resolve, reject) => {
      master.server.once('error', reject);
      master.server.listen(0, '127.0.0.1', () => resolve());
    });
    master.portNumber = (master.server.address() as AddressInfo).port;
    master.allocationTimer = setInterval(() => master.allocate(), master.allocationIntervalMs);
    if (opts.resendUnacknowledgedMs) {
      const every = opts.resendUnacknowledgedMs;
      master.resendTimer = setInterval(() => master.resendUnacknowledged(every), Math.max(5, every / 2));
    }
    return master;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.portNumber}`;
  }

  get port(): number {
    return this.portNumber;
  }

  async close(): Promise<void> {
    clearInterval(this.allocationTimer);
    clearInterval(this.resendTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const fw of this.frameworks.values()) clearInterval(fw.heartbeat);
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- queries for assertions ----

  callsOfType(type: Call['type']): RecordedCall[] {
    return this.calls.filter((c) => c.call.type === type);
  }

  /** The single subscribed framework (most tests have one). */
  get framework(): FrameworkState | undefined {
    for (const fw of this.frameworks.values()) if (fw.response) return fw;
    return undefined;
  }

  task(taskId: string): FakeTask | undefined {
    return this.tasks.get(taskId);
  }

  runningTasks(): FakeTask[] {
    return [...this.tasks.values()].filter((t) => t.state === 'TASK_RUNNING');
  }

  // ---- test controls ----

  /** Change the heartbeat interval for subscriptions made from now on. */
  setHeartbeatInterval(seconds: number): void {
    this.heartbeatSeconds = seconds;
  }

  pauseHeartbeats(): void {
    this.heartbeatsPaused = true;
  }

  resumeHeartbeats(): void {
    this.heartbeatsPaused = false;
  }

  /** An executor/agent reports a task state change (with a uuid, to be acknowledged). */
  failTask(taskId: string, state: TaskState = 'TASK_FAILED', reason?: TaskStatusReason, message?: string): void {
    const task = this.requireTask(taskId);
    this.transition(task, state, { reason, message: message ?? `task ${state}`, source: 'SOURCE_EXECUTOR', reliable: true });
  }

  /** The agent goes away: its tasks become TASK_UNREACHABLE (PARTITION_AWARE) or TASK_LOST; offers rescinded. */
  loseAgent(agentId: string): void {
    const agent = this.agents.find((a) => a.id === agentId);
    if (!agent) throw new Error(`fake master: no agent '${agentId}'`);
    agent.lost = true;
    for (const [offerId, offer] of this.offers) if (offer.agentId === agentId) this.rescind(offerId);
    for (const task of this.tasks.values()) {
      if (task.agentId !== agentId || TERMINAL_TASK_STATES.has(task.state)) continue;
      const fw = this.frameworks.get(task.frameworkId);
      const partitionAware = fw ? hasCapability(fw.info, 'PARTITION_AWARE') : false;
      this.transition(task, partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST', {
        reason: 'REASON_AGENT_REMOVED', message: 'Agent is unreachable', source: 'SOURCE_MASTER', reliable: false,
        unreachable: partitionAware,
      });
    }
    for (const fw of this.frameworks.values()) this.send(fw, { type: 'FAILURE', failure: { agent_id: { value: agentId } } });
  }

  /** The agent comes back: it re-registers and its resources are offered at once. */
  restoreAgent(agentId: string): void {
    const agent = this.agents.find((a) => a.id === agentId);
    if (agent) agent.lost = false;
    this.allocateSoon();
  }

  rescind(offerId: string): void {
    const offer = this.offers.get(offerId);
    if (!offer) return;
    this.offers.delete(offerId);
    const fw = this.frameworks.get(offer.frameworkId);
    if (fw) this.send(fw, { type: 'RESCIND', rescind: { offer_id: { value: offerId } } });
  }

  /** Mark a framework as removed (failover timeout passed): its next SUBSCRIBE gets an ERROR event. */
  removeFramework(frameworkId: string): void {
    this.removedFrameworks.add(frameworkId);
    const fw = this.frameworks.get(frameworkId);
    if (fw) {
      this.send(fw, { type: 'ERROR', error: { message: 'Framework has been removed' } });
      this.closeStream(fw);
      this.frameworks.delete(frameworkId);
    }
  }

  /** Send any event to the subscribed framework(s). */
  sendEvent(event: Event): void {
    for (const fw of this.frameworks.values()) this.send(fw, event);
  }

  sendError(message: string): void {
    this.sendEvent({ type: 'ERROR', error: { message } });
  }

  /** Bytes that are not RecordIO at all. */
  sendGarbage(bytes: Buffer = Buffer.from('this is not recordio\n')): void {
    for (const fw of this.frameworks.values()) fw.response?.write(bytes);
  }

  /** A record header promising more bytes than follow, then the stream ends. */
  sendTruncatedRecord(): void {
    for (const fw of this.frameworks.values()) {
      if (!fw.response) continue;
      fw.response.end(Buffer.concat([Buffer.from('100\n'), Buffer.alloc(10, 0x41)]));
      fw.response = undefined;
      clearInterval(fw.heartbeat);
    }
  }

  /** An event whose type this build does not know (as a newer master would send). */
  sendUnknownEventType(): void {
    for (const fw of this.frameworks.values()) {
      const payload = fw.format === 'json' ? Buffer.from('{"type":"SOMETHING_NEW","something_new":{"x":1}}')
        : Buffer.from([0x08, 0x63, 0xa2, 0x06, 0x01, 0x00]); // type=99, plus an unknown field 100
      this.writeRecord(fw, payload);
    }
  }

  /** Close the subscription connection abruptly (no clean end). */
  dropConnection(): void {
    for (const fw of this.frameworks.values()) {
      clearInterval(fw.heartbeat);
      fw.response?.socket?.destroy();
      fw.response = undefined;
      fw.streamId = undefined;
      fw.filters.clear();
    }
  }

  /** The next call of this type (after earlier queued failures of the type) fails as `how` says. */
  failNextCall(type: Call['type'], how: CallFailure): void {
    if (type === 'SUBSCRIBE') throw new Error('fake master: failNextCall is for calls other than SUBSCRIBE');
    const queue = this.callFailures.get(type) ?? [];
    queue.push(how);
    this.callFailures.set(type, queue);
  }

  /** Offer resources now instead of at the next allocation tick. */
  allocateNow(): void {
    this.allocate();
  }

  // ---- HTTP ----

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.route(req, res, Buffer.concat(chunks));
      } catch (err) {
        // A bug in the fake must be visible, not a hung test.
        reply(res, 500, `fake master error: ${(err as Error).stack ?? String(err)}`);
      }
    });
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    if (this.redirectTo) {
      const target = new URL(this.redirectTo);
      res.writeHead(307, { Location: `//${target.host}${PATH}` }).end();
      return;
    }
    if (req.url !== PATH) return reply(res, 404, `no such endpoint ${req.url}`);
    if (req.method !== 'POST') return reply(res, 405, `Expecting 'POST', received '${req.method}'`);
    const authorization = req.headers.authorization;
    if (this.opts.auth) {
      const expected = `Basic ${Buffer.from(`${this.opts.auth.principal}:${this.opts.auth.secret}`).toString('base64')}`;
      if (authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="mesos"' }).end();
        return;
      }
    }
    const format = formatFromContentType(req.headers['content-type']);
    if (!format) return reply(res, 415, `Expecting 'Content-Type' of ${CONTENT_TYPES.json} or ${CONTENT_TYPES.protobuf}`);
    const accept = req.headers.accept;
    const acceptFormat = !accept || accept === '*/*' ? 'json' : formatFromContentType(accept);
    if (!acceptFormat) return reply(res, 406, `Expecting 'Accept' to allow ${CONTENT_TYPES.json} or ${CONTENT_TYPES.protobuf}`);
    let call: Call;
    try {
      call = decodeCall(body, format);
    } catch (err) {
      return reply(res, 400, `Failed to parse body into Call: ${(err as Error).message}`);
    }
    const streamHeader = req.headers['mesos-stream-id'] as string | undefined;
    const record: RecordedCall = { call, format, status: 0, streamId: streamHeader, authorization };
    this.calls.push(record);
    const status = (code: number): void => {
      record.status = code;
    };
    if (call.type === 'SUBSCRIBE') {
      status(this.subscribe(call, streamHeader, acceptFormat, res));
      return;
    }
    if (!streamHeader) {
      status(400);
      return reply(res, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    }
    const fw = call.framework_id ? this.frameworks.get(call.framework_id.value) : undefined;
    if (!fw) {
      status(403);
      return reply(res, 403, 'Framework cannot be found');
    }
    if (!fw.response || !fw.streamId) {
      status(403);
      return reply(res, 403, 'Framework is not subscribed');
    }
    if (streamHeader !== fw.streamId) {
      status(400);
      return reply(res, 400, "The stream ID included in this request didn't match the stream ID currently associated with framework ID " + fw.id);
    }
    const problem = this.validate(call);
    if (problem) {
      status(400);
      return reply(res, 400, problem);
    }
    const failure = this.callFailures.get(call.type)?.shift();
    if (failure !== undefined) return this.failCall(fw, call, failure, res, status);
    status(202);
    res.writeHead(202).end();
    this.apply(fw, call);
  }

  private failCall(fw: FrameworkState, call: Call, how: CallFailure, res: http.ServerResponse, status: (code: number) => void): void {
    if (typeof how === 'object') {
      status(how.status);
      return reply(res, how.status, how.body ?? `injected failure of ${call.type}`);
    }
    if (how === 'drop') {
      res.socket?.destroy();
      return;
    }
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
    if (how === 'applied-hang') this.apply(fw, call);
  }

  private validate(call: Call): string | undefined {
    const need: Partial<Record<Call['type'], keyof Call>> = {
      ACCEPT: 'accept', DECLINE: 'decline', KILL: 'kill', ACKNOWLEDGE: 'acknowledge', RECONCILE: 'reconcile',
      MESSAGE: 'message', SHUTDOWN: 'shutdown',
    };
    const field = need[call.type];
    if (field && call[field] === undefined) return `Expecting '${field}' to be present`;
    return undefined;
  }

  private subscribe(call: Call, streamHeader: string | undefined, format: WireFormat, res: http.ServerResponse): number {
    if (streamHeader) {
      reply(res, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
      return 400;
    }
    const info = call.subscribe?.framework_info;
    if (!info) {
      reply(res, 400, "Expecting 'subscribe' to be present");
      return 400;
    }
    const infoId = info.id?.value;
    const callId = call.framework_id?.value;
    if (infoId !== callId) {
      reply(res, 400, "'framework_id' differs from 'subscribe.framework_info.id'");
      return 400;
    }
    const streamId = randomUUID();
    res.writeHead(200, { 'Content-Type': CONTENT_TYPES[format], 'Mesos-Stream-Id': streamId });
    this.subscribeCount++;
    if (infoId && this.removedFrameworks.has(infoId)) {
      res.end(encodeRecord(encodeEvent({ type: 'ERROR', error: { message: 'Framework has been removed' } }, format)));
      return 200;
    }
    const id = infoId ?? `fake-framework-${++this.frameworkSeq}-${randomUUID().slice(0, 8)}`;
    let fw = this.frameworks.get(id);
    if (fw?.response) {
      // Failover: the old scheduler instance is told and its stream closed.
      this.send(fw, { type: 'ERROR', error: { message: 'Framework failed over' } });
      this.closeStream(fw);
    }
    if (!fw) {
      fw = {
        id, info, format, suppressed: false, filters: new Map(), unacknowledged: new Map(), pending: [],
        flushScheduled: false,
      };
      this.frameworks.set(id, fw);
    }
    // Offers do not survive resubscription.
    for (const [offerId, offer] of this.offers) if (offer.frameworkId === id) this.offers.delete(offerId);
    fw.info = info;
    fw.format = format;
    fw.streamId = streamId;
    fw.response = res;
    fw.suppressed = (call.subscribe?.suppressed_roles?.length ?? 0) > 0;
    const current = fw;
    res.on('close', () => {
      if (current.response === res) {
        clearInterval(current.heartbeat);
        current.response = undefined;
        current.streamId = undefined;
        current.filters.clear(); // the master deactivates a disconnected framework, which drops its filters
      }
    });
    this.send(fw, {
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: id },
        heartbeat_interval_seconds: this.heartbeatSeconds,
        master_info: {
          id: this.masterId, ip: 0x0100007f, port: this.portNumber, hostname: '127.0.0.1', version: '1.11.0',
          address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: this.portNumber },
        },
      },
    });
    clearInterval(fw.heartbeat);
    fw.heartbeat = setInterval(() => {
      if (!this.heartbeatsPaused) this.send(current, { type: 'HEARTBEAT' });
    }, this.heartbeatSeconds * 1000);
    // Unacknowledged updates are retried on the new subscription (the agent keeps retrying them).
    for (const pending of fw.unacknowledged.values()) this.send(fw, { type: 'UPDATE', update: { status: pending.status } });
    this.allocateSoon();
    return 200;
  }

  private closeStream(fw: FrameworkState): void {
    clearInterval(fw.heartbeat);
    this.flush(fw);
    fw.response?.end();
    fw.response = undefined;
    fw.streamId = undefined;
    fw.filters.clear();
  }

  // ---- call semantics ----

  private apply(fw: FrameworkState, call: Call): void {
    switch (call.type) {
      case 'ACCEPT': return this.accept(fw, call.accept!);
      case 'DECLINE': {
        for (const id of call.decline!.offer_ids ?? []) {
          const offer = this.consumeOffer(fw, id.value);
          if (offer) this.filter(fw, offer.agentId, offeredPool([offer.offer]), call.decline!.filters);
        }
        return;
      }
      case 'ACKNOWLEDGE': {
        const hex = Buffer.from(call.acknowledge!.uuid).toString('hex');
        this.acknowledged.add(hex);
        fw.unacknowledged.delete(hex);
        return;
      }
      case 'RECONCILE': return this.reconcile(fw, call.reconcile!.tasks ?? []);
      case 'KILL': return this.kill(fw, call.kill!.task_id.value);
      case 'SUPPRESS':
        fw.suppressed = true;
        return;
      case 'REVIVE':
        fw.suppressed = false;
        fw.filters.clear();
        this.allocateSoon();
        return;
      case 'TEARDOWN': {
        for (const task of this.tasks.values()) {
          if (task.frameworkId === fw.id && !TERMINAL_TASK_STATES.has(task.state)) task.state = 'TASK_KILLED';
        }
        for (const [offerId, offer] of this.offers) if (offer.frameworkId === fw.id) this.offers.delete(offerId);
        this.removedFrameworks.add(fw.id);
        this.closeStream(fw);
        this.frameworks.delete(fw.id);
        return;
      }
      default:
        return; // MESSAGE, SHUTDOWN, REQUEST, ...: accepted and recorded, no effect here
    }
  }

  private consumeOffer(fw: FrameworkState, offerId: string): FakeOffer | undefined {
    const offer = this.offers.get(offerId);
    if (!offer || offer.frameworkId !== fw.id) return undefined;
    this.offers.delete(offerId);
    return offer;
  }

  /** Filters `refused` on the agent for max(refuse_seconds, allocation interval); refuse_seconds 0 sets none. */
  private filter(fw: FrameworkState, agentId: string, refused: Pool, filters: { refuse_seconds?: number } | undefined): void {
    const seconds = refuseSeconds(filters);
    if (seconds === 0 || (refused.cpus <= 1e-9 && refused.mem <= 1e-9 && refused.ports.size === 0)) return;
    const list = fw.filters.get(agentId) ?? [];
    list.push({ refused, until: Date.now() + Math.max(seconds * 1000, this.allocationIntervalMs) });
    fw.filters.set(agentId, list);
  }

  /** Whether a live filter of the framework holds back these free resources of the agent. */
  private filtered(fw: FrameworkState, agentId: string, free: Needs, now: number): boolean {
    const list = fw.filters.get(agentId)?.filter((f) => f.until > now);
    if (!list || list.length === 0) {
      fw.filters.delete(agentId);
      return false;
    }
    fw.filters.set(agentId, list);
    return list.some(({ refused }) => free.cpus <= refused.cpus + 1e-9 && free.mem <= refused.mem + 1e-9
      && free.ports.every((p) => refused.ports.has(p)));
  }

  private accept(fw: FrameworkState, accept: NonNullable<Call['accept']>): void {
    const ids = (accept.offer_ids ?? []).map((o) => o.value);
    const launches = (accept.operations ?? []).filter((op) => op.type === 'LAUNCH')
      .flatMap((op) => op.launch?.task_infos ?? []);
    const found = ids.map((id) => this.offers.get(id));
    let invalid: string | undefined;
    if (ids.length === 0) invalid = 'No offers specified';
    else if (found.some((o) => !o || o.frameworkId !== fw.id)) {
      invalid = `Offer ${ids[found.findIndex((o) => !o || o.frameworkId !== fw.id)]} is no longer valid`;
    } else if (new Set(found.map((o) => o!.agentId)).size > 1) invalid = 'Aggregated offers must belong to one agent';
    if (invalid) {
      const state: TaskState = hasCapability(fw.info, 'PARTITION_AWARE') ? 'TASK_DROPPED' : 'TASK_LOST';
      for (const info of launches) {
        this.sendStatus(fw, {
          task_id: info.task_id, agent_id: info.agent_id, state, source: 'SOURCE_MASTER',
          reason: 'REASON_INVALID_OFFERS', message: `Task launched with invalid offers: ${invalid}`,
        }, false);
      }
      // Valid offers among them are still used up, like Mesos.
      for (const id of ids) {
        const offer = this.consumeOffer(fw, id);
        if (offer) this.filter(fw, offer.agentId, offeredPool([offer.offer]), accept.filters);
      }
      return;
    }
    const offers = ids.map((id) => this.consumeOffer(fw, id)!);
    const agentId = offers[0]!.agentId;
    const pool = offeredPool(offers.map((o) => o.offer));
    for (const info of launches) {
      const problem = this.checkTask(info, agentId, pool);
      if (problem) {
        this.sendStatus(fw, {
          task_id: info.task_id, agent_id: info.agent_id, state: 'TASK_ERROR', source: 'SOURCE_MASTER',
          reason: 'REASON_TASK_INVALID', message: problem,
        }, false);
        continue;
      }
      const need = taskNeeds(info.resources ?? []);
      pool.cpus -= need.cpus;
      pool.mem -= need.mem;
      for (const p of need.ports) pool.ports.delete(p);
      this.launch(fw, info, agentId, need);
    }
    // What the tasks left of the offers is refused, with the ACCEPT's filter (5 s without one), like Mesos.
    this.filter(fw, agentId, pool, accept.filters);
  }

  /** Mesos-like validation of a TaskInfo against what is left of the offers. */
  private checkTask(info: TaskInfo, agentId: string, pool: Pool): string | undefined {
    const id = info.task_id?.value;
    if (!id) return 'Task ID must not be empty';
    const existing = this.tasks.get(id);
    if (existing && !TERMINAL_TASK_STATES.has(existing.state)) return `Task has duplicate ID: ${id}`;
    if (info.agent_id?.value !== agentId) return `Task uses invalid agent: ${info.agent_id?.value}`;
    if (!info.command && !info.container) return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
    if (info.container?.type === 'DOCKER' && !info.container.docker?.image) return 'DockerInfo.image is required';
    const need = taskNeeds(info.resources ?? []);
    if (need.cpus <= 0 && need.mem <= 0) return 'Task uses no resources';
    if (need.cpus > pool.cpus + 1e-9 || need.mem > pool.mem + 1e-9) {
      return `Task uses more resources (cpus ${need.cpus}, mem ${need.mem}) than available (cpus ${pool.cpus}, mem ${pool.mem})`;
    }
    for (const port of need.ports) {
      if (!pool.ports.has(port)) return `Task uses port ${port} which is not in the offered ports`;
    }
    return undefined;
  }

  private launch(fw: FrameworkState, info: TaskInfo, agentId: string, need: Needs): void {
    if (this.launchBehavior === 'drop') return;
    const task: FakeTask = {
      taskId: info.task_id.value, agentId, frameworkId: fw.id, info, state: 'TASK_STAGING',
      cpus: need.cpus, mem: need.mem, ports: [...need.ports], statuses: [],
    };
    this.tasks.set(task.taskId, task);
    if (this.launchBehavior === 'hang') return;
    const states = this.opts.launchStates ?? ['TASK_STARTING', 'TASK_RUNNING'];
    const step = this.opts.launchStepMs ?? 2;
    states.forEach((state, i) => this.later(step * (i + 1), () => {
      if (task.state === 'TASK_STAGING' || task.state === 'TASK_STARTING') {
        this.transition(task, state, { source: 'SOURCE_EXECUTOR', reliable: true });
      }
    }));
  }

  private kill(fw: FrameworkState, taskId: string): void {
    const task = this.tasks.get(taskId);
    if (!task || task.frameworkId !== fw.id) {
      this.sendStatus(fw, {
        task_id: { value: taskId }, state: 'TASK_LOST', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION',
        message: 'Attempted to kill an unknown task',
      }, false);
      return;
    }
    if (TERMINAL_TASK_STATES.has(task.state)) return;
    if (hasCapability(fw.info, 'TASK_KILLING_STATE')) {
      this.transition(task, 'TASK_KILLING', { source: 'SOURCE_EXECUTOR', reliable: true });
    }
    this.later(this.opts.launchStepMs ?? 2, () => {
      if (!TERMINAL_TASK_STATES.has(task.state)) {
        this.transition(task, 'TASK_KILLED', { source: 'SOURCE_EXECUTOR', reliable: true, message: 'Command terminated with signal Terminated' });
      }
    });
  }

  private reconcile(fw: FrameworkState, asked: { task_id: { value: string }; agent_id?: { value: string } }[]): void {
    const partitionAware = hasCapability(fw.info, 'PARTITION_AWARE');
    const answer = (task: FakeTask): void => {
      const last = task.statuses[task.statuses.length - 1];
      this.sendStatus(fw, {
        task_id: { value: task.taskId }, agent_id: { value: task.agentId }, state: task.state,
        source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', message: 'Reconciliation: Latest task state',
        ...(last?.unreachable_time ? { unreachable_time: last.unreachable_time } : {}),
      }, false);
    };
    if (asked.length === 0) {
      for (const task of this.tasks.values()) {
        if (task.frameworkId === fw.id && !TERMINAL_TASK_STATES.has(task.state)) answer(task);
      }
      return;
    }
    for (const t of asked) {
      const task = this.tasks.get(t.task_id.value);
      if (task && task.frameworkId === fw.id) {
        answer(task);
      } else {
        this.sendStatus(fw, {
          task_id: t.task_id, ...(t.agent_id ? { agent_id: t.agent_id } : {}),
          state: partitionAware ? 'TASK_UNKNOWN' : 'TASK_LOST', source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION', message: 'Reconciliation: Task is unknown',
        }, false);
      }
    }
  }

  private transition(task: FakeTask, state: TaskState, how: {
    source: TaskStatus['source']; reliable: boolean; reason?: TaskStatusReason; message?: string; unreachable?: boolean;
  }): void {
    task.state = state;
    const status: TaskStatus = {
      task_id: { value: task.taskId }, agent_id: { value: task.agentId }, state, source: how.source,
      ...(how.reason ? { reason: how.reason } : {}), ...(how.message ? { message: how.message } : {}),
      ...(how.unreachable ? { unreachable_time: { nanoseconds: Date.now() * 1e6 } } : {}),
    };
    task.statuses.push(status);
    const fw = this.frameworks.get(task.frameworkId);
    if (fw) this.sendStatus(fw, status, how.reliable);
  }

  private sendStatus(fw: FrameworkState, status: TaskStatus, reliable: boolean): void {
    const full: TaskStatus = { ...status, timestamp: Date.now() / 1000 };
    if (reliable) {
      full.uuid = randomBytes(16);
      fw.unacknowledged.set(full.uuid.toString('hex'), { status: full, sentAt: Date.now() });
    }
    this.send(fw, { type: 'UPDATE', update: { status: full } });
  }

  private resendUnacknowledged(afterMs: number): void {
    const now = Date.now();
    for (const fw of this.frameworks.values()) {
      for (const pending of fw.unacknowledged.values()) {
        if (now - pending.sentAt >= afterMs) {
          pending.sentAt = now;
          this.send(fw, { type: 'UPDATE', update: { status: pending.status } });
        }
      }
    }
  }

  // ---- allocation ----

  private allocate(): void {
    const now = Date.now();
    let usage: Map<string, Needs> | undefined; // built once per tick, only when something may be offered
    for (const fw of this.frameworks.values()) {
      if (!fw.response || fw.suppressed) continue;
      const offered = new Set([...this.offers.values()].map((o) => o.agentId));
      const batch: Offer[] = [];
      for (const agent of this.agents) {
        if (agent.lost || offered.has(agent.id)) continue;
        usage ??= this.usageByAgent();
        const resources = this.available(agent, usage.get(agent.id));
        if (resources.length === 0) continue;
        if (fw.filters.has(agent.id) && this.filtered(fw, agent.id, taskNeeds(resources), now)) continue;
        const offerId = `offer-${++this.offerSeq}`;
        const offer: Offer = {
          id: { value: offerId }, framework_id: { value: fw.id }, agent_id: { value: agent.id },
          hostname: agent.hostname, resources, allocation_info: { role: this.role },
        };
        this.offers.set(offerId, { offer, frameworkId: fw.id, agentId: agent.id });
        batch.push(offer);
      }
      if (batch.length > 0) this.send(fw, { type: 'OFFERS', offers: { offers: batch } });
    }
  }

  /** Resources held by live tasks, per agent (one pass over the tasks: cheap with 1,000 agents). */
  private usageByAgent(): Map<string, Needs> {
    const usage = new Map<string, Needs>();
    for (const task of this.tasks.values()) {
      if (TERMINAL_TASK_STATES.has(task.state)) continue;
      let u = usage.get(task.agentId);
      if (!u) usage.set(task.agentId, (u = { cpus: 0, mem: 0, ports: [] }));
      u.cpus += task.cpus;
      u.mem += task.mem;
      u.ports.push(...task.ports);
    }
    return usage;
  }

  /** What the agent has not given to live tasks, as offer resources. */
  private available(agent: FakeAgent, usage: Needs | undefined): Resource[] {
    const cpus = agent.cpus - (usage?.cpus ?? 0);
    const mem = agent.mem - (usage?.mem ?? 0);
    const used = new Set<number>(usage?.ports ?? []);
    const alloc = { role: this.role };
    const out: Resource[] = [];
    if (cpus > 1e-9) out.push({ name: 'cpus', type: 'SCALAR', scalar: { value: round3(cpus) }, role: '*', allocation_info: alloc });
    if (mem > 1e-9) out.push({ name: 'mem', type: 'SCALAR', scalar: { value: round3(mem) }, role: '*', allocation_info: alloc });
    const ranges = subtractPorts(agent.ports, used);
    if (ranges.length > 0 && out.length > 0) {
      out.push({
        name: 'ports', type: 'RANGES', ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) },
        role: '*', allocation_info: alloc,
      });
    }
    return out;
  }

  // ---- stream writing ----

  private send(fw: FrameworkState, event: Event): void {
    if (!fw.response) return;
    this.writeRecord(fw, encodeEvent(event, fw.format));
  }

  private writeRecord(fw: FrameworkState, payload: Buffer): void {
    if (!fw.response) return;
    const framed = encodeRecord(payload);
    if (this.opts.packRecords) {
      fw.pending.push(framed);
      if (!fw.flushScheduled) {
        fw.flushScheduled = true;
        setImmediate(() => this.flush(fw));
      }
      return;
    }
    this.writeChunks(fw.response, framed);
  }

  private flush(fw: FrameworkState): void {
    fw.flushScheduled = false;
    if (fw.pending.length === 0 || !fw.response) {
      fw.pending = [];
      return;
    }
    const all = Buffer.concat(fw.pending);
    fw.pending = [];
    this.writeChunks(fw.response, all);
  }

  private writeChunks(res: http.ServerResponse, bytes: Buffer): void {
    const size = this.opts.splitChunkBytes;
    if (!size || size >= bytes.length) {
      res.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i += size) res.write(bytes.subarray(i, i + size));
  }

  /** An allocation run right after the current call, as Mesos dispatches one on SUBSCRIBE, REVIVE and agent (re)registration. */
  private allocateSoon(): void {
    this.later(0, () => this.allocate());
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private requireTask(taskId: string): FakeTask {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`fake master: no task '${taskId}'`);
    return task;
  }
}

interface Needs { cpus: number; mem: number; ports: number[] }
interface Pool { cpus: number; mem: number; ports: Set<number> }

function hasCapability(info: FrameworkInfo, type: string): boolean {
  return (info.capabilities ?? []).some((c) => c.type === type);
}

function refuseSeconds(filters: { refuse_seconds?: number } | undefined): number {
  const value = filters?.refuse_seconds;
  return value === undefined || value < 0 ? 5 : Math.min(value, 31536000);
}

function taskNeeds(resources: Resource[]): Needs {
  const needs: Needs = { cpus: 0, mem: 0, ports: [] };
  for (const r of resources) {
    if (r.name === 'cpus') needs.cpus += r.scalar?.value ?? 0;
    else if (r.name === 'mem') needs.mem += r.scalar?.value ?? 0;
    else if (r.name === 'ports') {
      for (const range of r.ranges?.range ?? []) {
        for (let p = range.begin; p <= range.end && needs.ports.length < 65536; p++) needs.ports.push(p);
      }
    }
  }
  return needs;
}

function offeredPool(offers: Offer[]): Pool {
  const pool: Pool = { cpus: 0, mem: 0, ports: new Set() };
  for (const offer of offers) {
    const needs = taskNeeds(offer.resources ?? []);
    pool.cpus += needs.cpus;
    pool.mem += needs.mem;
    needs.ports.forEach((p) => pool.ports.add(p));
  }
  return pool;
}

function subtractPorts(ranges: [number, number][], used: Set<number>): [number, number][] {
  const out: [number, number][] = [];
  for (const [begin, end] of ranges) {
    let start = -1;
    for (let p = begin; p <= end; p++) {
      if (used.has(p)) {
        if (start >= 0) out.push([start, p - 1]);
        start = -1;
      } else if (start < 0) start = p;
    }
    if (start >= 0) out.push([start, end]);
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
}
