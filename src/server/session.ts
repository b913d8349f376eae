// One downstream miner connection: the Stratum v1 server side of subscribe/authorize/configure/submit, its
// difficulty (vardiff), its extranonce slot and the jobs it was told about. Everything that involves other
// sessions or the upstream goes through SessionHost.
import type { Socket } from 'node:net';
import type { JsonRpcConnection, RpcId, RpcNotification, RpcRequest } from '../stratum/codec.js';
import { RpcErrorCode, StratumErrorCode, StratumProtocolError, stratumError } from '../stratum/errors.js';
import { formatMask, parseDifficulty, parseSubmitParams, type Share } from '../stratum/messages.js';
import { TokenBucket } from '../token-bucket.js';
import { parseSubmitLine } from './submit-line.js';
import { ShareHashrate, type HashrateWindow } from './share-hashrate.js';
import type { ServerJob } from './job-book.js';
import {
  CoinbaseRootCache,
  RATE_LIMITED,
  REJECT_CODES,
  checkShare,
  reject,
  type ShareCheckContext,
  type ShareRejectReason,
  type ShareVerdict,
} from './share-check.js';
import { Vardiff, type VardiffOptions } from './vardiff.js';

/** The part of the server a session needs. */
export interface SessionHost {
  readonly limits: SessionLimits;
  readonly vardiff: VardiffOptions;
  readonly initialDifficulty: number;
  /** Version bits the server can offer (its own mask intersected with the upstream's). */
  versionMaskOffer(): number;
  checkPassword(password: string): boolean;
  /** Finds a free extranonce prefix (may wait for the upstream, may open another upstream space). */
  assignSlot(session: Session): Promise<SessionSlot>;
  releaseSlot(session: Session): void;
  currentJob(spaceId: string): ServerJob | null;
  jobKnown(job: ServerJob): boolean;
  /** Highest session difficulty for a job (see MinerServer.difficultyCeiling). */
  difficultyCeiling(job: ServerJob): number;
  /** Accounting and forwarding of a checked share. */
  /** `startedAt` is the performance.now() of the submit's arrival. */
  onShareChecked(session: Session, share: Share, verdict: ShareVerdict, startedAt: number): void;
  onSessionClosed(session: Session, reason: string): void;
}

export interface SessionLimits {
  /** Submits per second allowed on average; bursts up to twice that. */
  submitRatePerSecond: number;
  /** Bytes queued towards a miner before it is considered stuck and dropped. */
  maxWriteBufferBytes: number;
  /** Bad lines tolerated before the connection is dropped. */
  maxProtocolErrors: number;
}

export interface SessionSlot {
  spaceId: string;
  prefix: string;
  extranonce1: string;
  extranonce2Size: number;
}

interface AnnouncedJob {
  job: ServerJob;
  difficulty: number;
}

const MAX_ANNOUNCED_JOBS = 8;
const MAX_WORKER_NAME = 128;

export class Session {
  readonly connectedAt = Date.now();
  lastReceivedAt = Date.now();
  userAgent = '';
  workers = new Set<string>();
  subscribed = false;
  slot: SessionSlot | null = null;
  extranonce1Bytes: Buffer = Buffer.alloc(0);
  difficulty: number;
  /** Difficulty last sent with mining.set_difficulty (applies from the next notify). */
  private sentDifficulty = 0;
  versionMask = 0;
  extranonceSubscribed = false;
  accepted = 0;
  rejected = 0;
  readonly rejectedByReason: Partial<Record<ShareRejectReason, number>> = {};
  lastShareAt: number | null = null;
  readonly hashrate: ShareHashrate;
  private readonly vardiff: Vardiff;
  private readonly announced = new Map<string, AnnouncedJob>();
  /** Keyed by server job id + extranonce2; valid only for the current extranonce1 (cleared on re-assign). */
  private readonly rootCache = new CoinbaseRootCache();
  private readonly checkContext: ShareCheckContext = {
    job: undefined,
    jobKnown: false,
    difficulty: 1,
    extranonce1: Buffer.alloc(0),
    extranonce2Size: 0,
    versionMask: 0,
    now: 0,
    rootCache: this.rootCache,
    blocksOnly: false,
  };
  private aliasCounter = 0;
  /** Shares checked at the submit rate, bursts of two seconds' worth; beyond it they are refused (rate limited). */
  private readonly submitTokens: TokenBucket;
  private protocolErrors = 0;
  /**
   * Refusals for the rate not yet forgiven: one more for each, forgiven at the submit rate. Past 10 s worth, the
   * session floods persistently (more than twice its rate for a while) and is dropped; a burst is forgiven.
   */
  private floodDebt = 0;
  private floodDebtAt = Date.now();
  private subscribing = false;
  private closed = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly conn: JsonRpcConnection,
    private readonly host: SessionHost,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.vardiff = new Vardiff(host.vardiff, Date.now());
    this.difficulty = this.vardiff.clamp(host.initialDifficulty);
    this.hashrate = new ShareHashrate(Date.now());
    this.submitTokens = new TokenBucket(host.limits.submitRatePerSecond, Math.max(1, host.limits.submitRatePerSecond * 2), Date.now());
    conn.interceptLines((line) => this.fastLine(line));
    conn.on('request', (req) => this.guard(req.method, () => this.onRequest(req)));
    conn.on('notification', (n) => this.guard(n.method, () => this.onNotification(n)));
    conn.on('unmatched-response', () => this.countProtocolError('unexpected response'));
    conn.on('protocol-error', (err) => this.onProtocolError(err));
    conn.on('close', (reason) => this.onClose(reason ?? 'closed'));
  }

  readonly remote: string;

  get worker(): string {
    return this.workers.values().next().value ?? '';
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ready for work: subscribed (has an extranonce) and authorized. */
  get ready(): boolean {
    return this.subscribed && this.slot !== null && this.workers.size > 0 && !this.closed;
  }

  close(reason: string): void {
    this.conn.destroy(reason);
  }

  // ---- outgoing ------------------------------------------------------------------------------------------

  /** Writes a pre-serialised line; drops a miner whose unread output grows beyond the bound (backpressure). */
  writeLine(line: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(line);
    if (this.socket.writableLength > this.host.limits.maxWriteBufferBytes) {
      this.close(`miner is not reading: ${this.socket.writableLength} bytes queued`);
    }
  }

  private send(message: object): void {
    this.writeLine(JSON.stringify(message) + '\n');
  }

  private respond(id: RpcId, result: unknown): void {
    this.send({ id, result, error: null });
  }

  /** The answer to an accepted share, the one line sent per share: built without JSON.stringify of an object. */
  private respondTrue(id: RpcId): void {
    const idJson = typeof id === 'number' ? String(id) : JSON.stringify(id);
    this.writeLine('{"id":' + idJson + ',"result":true,"error":null}\n');
  }

  private respondError(id: RpcId, code: number, message: string): void {
    this.send({ id, result: null, error: stratumError(code, message) });
  }

  /**
   * Announces a job. `notifyLine` is the job's shared mining.notify line (same id for every session) when the
   * session's difficulty for it is unchanged; a session whose difficulty must change first gets set_difficulty.
   */
  sendJob(job: ServerJob, clean: boolean, notifyLine?: string): void {
    if (!this.ready) return;
    const difficulty = this.vardiff.clamp(this.difficulty, this.host.difficultyCeiling(job));
    if (difficulty !== this.sentDifficulty) {
      this.difficulty = difficulty;
      this.sentDifficulty = difficulty;
      // set_difficulty and notify in one segment: two writes would be two syscalls, and with Nagle the second
      // could wait for the miner's delayed ACK.
      this.socket.cork();
      this.send({ id: null, method: 'mining.set_difficulty', params: [difficulty] });
      this.vardiff.reset(Date.now());
      this.remember(job.id, { job, difficulty });
      this.writeLine(notifyLine ?? notifyLineFor(job, job.id, clean));
      this.socket.uncork();
      return;
    }
    // Old ids stay known (bounded) so a late share after a clean job is counted as stale, not unknown.
    this.remember(job.id, { job, difficulty });
    this.writeLine(notifyLine ?? notifyLineFor(job, job.id, clean));
  }

  /** Re-announces the current job under a fresh id so a changed difficulty applies at once. */
  private reannounce(): void {
    const job = this.slot ? this.host.currentJob(this.slot.spaceId) : null;
    if (!job || job.stale) return;
    const alias = `${job.id}.${(++this.aliasCounter).toString(16)}`;
    this.socket.cork();
    this.send({ id: null, method: 'mining.set_difficulty', params: [this.difficulty] });
    this.sentDifficulty = this.difficulty;
    this.remember(alias, { job, difficulty: this.difficulty });
    this.writeLine(notifyLineFor(job, alias, false));
    this.socket.uncork();
  }

  private remember(id: string, entry: AnnouncedJob): void {
    this.announced.delete(id);
    this.announced.set(id, entry);
    while (this.announced.size > MAX_ANNOUNCED_JOBS) {
      this.announced.delete(this.announced.keys().next().value!);
    }
  }

  /** A new extranonce slot (upstream extranonce changed): tell a miner that can follow, drop one that cannot. */
  reassign(slot: SessionSlot): void {
    this.slot = slot;
    this.extranonce1Bytes = Buffer.from(slot.extranonce1, 'hex');
    this.announced.clear();
    this.rootCache.clear();
    if (!this.extranonceSubscribed) {
      this.send({ id: null, method: 'client.reconnect', params: [] });
      this.close('upstream extranonce changed and the miner did not subscribe to extranonce changes');
      return;
    }
    this.socket.cork();
    this.send({ id: null, method: 'mining.set_extranonce', params: [slot.extranonce1, slot.extranonce2Size] });
    const job = this.host.currentJob(slot.spaceId);
    if (job && !job.stale) this.sendJob(job, true);
    this.socket.uncork();
  }

  // ---- incoming ------------------------------------------------------------------------------------------

  private guard(method: string, fn: () => void): void {
    this.lastReceivedAt = Date.now();
    try {
      fn();
    } catch (err) {
      // A handler bug must never take the server down; the miner gets dropped instead.
      this.close(`internal error handling ${method}: ${(err as Error).message}`);
    }
  }

  private onProtocolError(err: StratumProtocolError): void {
    this.lastReceivedAt = Date.now();
    if (err.kind === 'line-too-long') return; // the codec closes the connection
    this.send({ id: null, result: null, error: stratumError(StratumErrorCode.Other, err.message.slice(0, 200)) });
    this.countProtocolError(err.message);
  }

  private countProtocolError(what: string): void {
    if (++this.protocolErrors > this.host.limits.maxProtocolErrors) {
      this.close(`too many protocol errors (last: ${what.slice(0, 120)})`);
    }
  }

  /** The hot path: a plain mining.submit line skips JSON.parse and the event dispatch (see submit-line.ts). */
  private fastLine(line: string): boolean {
    const submit = parseSubmitLine(line);
    if (submit === null) return false;
    this.lastReceivedAt = Date.now();
    try {
      this.onSubmit(submit.id, submit.params);
    } catch (err) {
      this.close(`internal error handling mining.submit: ${(err as Error).message}`);
    }
    return true;
  }

  private onNotification(n: RpcNotification): void {
    // Some miners send suggest_difficulty without an id; other notifications from miners are ignored.
    if (n.method === 'mining.suggest_difficulty') this.suggestDifficulty(n.params);
  }

  private onRequest(req: RpcRequest): void {
    switch (req.method) {
      case 'mining.submit':
        return this.onSubmit(req.id, req.params);
      case 'mining.subscribe':
        return this.onSubscribe(req);
      case 'mining.authorize':
        return this.onAuthorize(req);
      case 'mining.configure':
        return this.onConfigure(req);
      case 'mining.extranonce.subscribe':
        this.extranonceSubscribed = true;
        return this.respond(req.id, true);
      case 'mining.suggest_difficulty':
        this.suggestDifficulty(req.params, req.id);
        return;
      case 'mining.get_transactions':
        return this.respondError(req.id, StratumErrorCode.Other, 'mining.get_transactions is not supported');
      default:
        this.countProtocolError(`unknown method ${req.method}`);
        return this.respondError(req.id, RpcErrorCode.MethodNotFound, `Unknown method ${req.method.slice(0, 64)}`);
    }
  }

  private onConfigure(req: RpcRequest): void {
    const [extensions, params] = req.params;
    if (!Array.isArray(extensions)) {
      return this.respondError(req.id, StratumErrorCode.Other, 'mining.configure: extensions must be an array');
    }
    const p = params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : {};
    const result: Record<string, unknown> = {};
    for (const ext of extensions) {
      if (ext === 'version-rolling') {
        const raw = p['version-rolling.mask'];
        const minerMask =
          typeof raw === 'string' && /^[0-9a-fA-F]{1,8}$/.test(raw) ? parseInt(raw, 16) >>> 0 : 0xffffffff;
        this.versionMask = (this.host.versionMaskOffer() & minerMask) >>> 0;
        result['version-rolling'] = this.versionMask !== 0;
        result['version-rolling.mask'] = formatMask(this.versionMask);
      } else if (ext === 'minimum-difficulty') {
        const d = Number(p['minimum-difficulty.value']);
        if (d > 0 && Number.isFinite(d)) this.difficulty = this.vardiff.clamp(Math.max(d, this.difficulty));
        result['minimum-difficulty'] = d > 0;
      } else if (ext === 'subscribe-extranonce') {
        this.extranonceSubscribed = true;
        result['subscribe-extranonce'] = true;
      } else if (typeof ext === 'string') {
        result[ext.slice(0, 64)] = false;
      }
    }
    this.respond(req.id, result);
  }

  private onSubscribe(req: RpcRequest): void {
    if (this.subscribed || this.subscribing) {
      return this.respondError(req.id, StratumErrorCode.Other, 'Already subscribed');
    }
    const ua = req.params[0];
    if (typeof ua === 'string') this.userAgent = ua.slice(0, 128);
    this.subscribing = true;
    this.host.assignSlot(this).then(
      (slot) => {
        this.subscribing = false;
        this.slot = slot;
        if (this.closed) {
          // Closed while waiting for a prefix: give it back at once.
          this.host.releaseSlot(this);
          return;
        }
        this.extranonce1Bytes = Buffer.from(slot.extranonce1, 'hex');
        this.subscribed = true;
        const subId = this.id.toString(16);
        this.socket.cork(); // the answer and the first job (after authorize) leave together
        this.respond(req.id, [
          [
            ['mining.set_difficulty', subId],
            ['mining.notify', subId],
          ],
          slot.extranonce1,
          slot.extranonce2Size,
        ]);
        this.startWork();
        this.socket.uncork();
      },
      (err: Error) => {
        this.subscribing = false;
        this.respondError(req.id, StratumErrorCode.Other, `Cannot subscribe: ${err.message}`);
      },
    );
  }

  private onAuthorize(req: RpcRequest): void {
    const [user, password] = req.params;
    if (typeof user !== 'string' || user.length === 0 || user.length > MAX_WORKER_NAME || /[\x00-\x1f]/.test(user)) {
      return this.respondError(req.id, StratumErrorCode.Unauthorized, 'Worker name must be 1-128 printable characters');
    }
    if (!this.host.checkPassword(typeof password === 'string' ? password : '')) {
      return this.respondError(req.id, StratumErrorCode.Unauthorized, 'Unauthorized worker: wrong password');
    }
    const first = this.workers.size === 0;
    if (this.workers.size < 16) this.workers.add(user);
    this.respond(req.id, true);
    if (first) this.startWork();
  }

  private startWork(): void {
    if (!this.ready || !this.slot) return;
    const job = this.host.currentJob(this.slot.spaceId);
    if (job && !job.stale) this.sendJob(job, true);
  }

  private suggestDifficulty(params: unknown[], id?: RpcId): void {
    let d: number;
    try {
      d = parseDifficulty('mining.suggest_difficulty', params);
    } catch (err) {
      if (id !== undefined) this.respondError(id, StratumErrorCode.Other, (err as Error).message);
      return;
    }
    const job = this.slot ? this.host.currentJob(this.slot.spaceId) : null;
    const next = this.vardiff.clamp(d, job ? this.host.difficultyCeiling(job) : undefined);
    if (id !== undefined) this.respond(id, true);
    if (next !== this.difficulty) {
      this.difficulty = next;
      if (this.ready && this.sentDifficulty !== 0) this.reannounce();
    }
  }

  private onSubmit(id: RpcId, params: unknown[]): void {
    const startedAt = performance.now();
    const now = Date.now();
    let share: Share;
    let user: string;
    try {
      ({ user, share } = parseSubmitParams(params));
    } catch (err) {
      return this.finishSubmit(id, share0(), reject('malformed', (err as Error).message), startedAt);
    }
    let verdict: ShareVerdict;
    // Over the rate a share is still checked: a block must never be lost to the limiter.
    const overRate = !this.submitTokens.take(now);
    if (!this.subscribed || !this.slot) {
      verdict = reject('not-subscribed', 'Not subscribed');
    } else if (!this.workers.has(user)) {
      verdict = reject('unauthorized', `Unauthorized worker ${user.slice(0, 64)}`);
    } else {
      const announced = this.announced.get(share.jobId);
      // One context object per session, refilled per share (checkShare keeps no reference to it).
      const ctx = this.checkContext;
      ctx.job = announced?.job;
      ctx.jobKnown = announced ? this.host.jobKnown(announced.job) : false;
      ctx.difficulty = announced?.difficulty ?? this.difficulty;
      ctx.extranonce1 = this.extranonce1Bytes;
      ctx.extranonce2Size = this.slot.extranonce2Size;
      ctx.versionMask = this.versionMask;
      ctx.now = now;
      ctx.blocksOnly = overRate;
      verdict = checkShare(ctx, share);
      ctx.job = undefined;
    }
    if (overRate && !verdict.ok) {
      verdict = RATE_LIMITED;
      const rate = this.host.limits.submitRatePerSecond;
      this.floodDebt = Math.max(0, this.floodDebt - ((now - this.floodDebtAt) / 1000) * rate) + 1;
      this.floodDebtAt = now;
      if (this.floodDebt > rate * 10) {
        this.finishSubmit(id, share, verdict, startedAt);
        this.close('submit flood: rate limit exceeded persistently');
        return;
      }
    }
    this.finishSubmit(id, share, verdict, startedAt);
  }

  private finishSubmit(id: RpcId, share: Share, verdict: ShareVerdict, startedAt: number): void {
    const now = Date.now();
    if (verdict.ok) {
      this.respondTrue(id);
      this.accepted++;
      this.lastShareAt = now;
      this.hashrate.addShare(verdict.difficulty, now);
      this.vardiff.recordShare();
    } else {
      this.respondError(id, REJECT_CODES[verdict.reason], verdict.message);
      this.rejected++;
      this.rejectedByReason[verdict.reason] = (this.rejectedByReason[verdict.reason] ?? 0) + 1;
    }
    this.host.onShareChecked(this, share, verdict, startedAt);
    if (verdict.ok || verdict.reason === 'low-difficulty') this.maybeRetarget(now);
  }

  /** Vardiff check after a share, or from the server's periodic sweep for miners that went quiet. */
  maybeRetarget(now: number): void {
    if (!this.ready || this.sentDifficulty === 0) return;
    const job = this.slot ? this.host.currentJob(this.slot.spaceId) : null;
    if (!job) return;
    const next = this.vardiff.check(this.difficulty, now, this.host.difficultyCeiling(job));
    if (next !== null && next !== this.difficulty) {
      this.difficulty = next;
      this.reannounce();
    }
  }

  private onClose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.announced.clear();
    this.host.onSessionClosed(this, reason);
  }

  status(now: number): SessionStatus {
    return {
      id: this.id,
      worker: this.worker,
      remote: this.remote,
      userAgent: this.userAgent,
      connectedAt: new Date(this.connectedAt).toISOString(),
      extranonce1: this.slot?.extranonce1 ?? null,
      extranonce2Size: this.slot?.extranonce2Size ?? null,
      difficulty: this.difficulty,
      versionMask: formatMask(this.versionMask),
      hashrate: this.hashrate.snapshot(now),
      accepted: this.accepted,
      rejected: this.rejected,
      rejectedByReason: { ...this.rejectedByReason },
      lastShareAt: this.lastShareAt ? new Date(this.lastShareAt).toISOString() : null,
    };
  }
}

export interface SessionStatus {
  id: number;
  worker: string;
  remote: string;
  userAgent: string;
  connectedAt: string;
  extranonce1: string | null;
  extranonce2Size: number | null;
  difficulty: number;
  versionMask: string;
  hashrate: Record<HashrateWindow, number>;
  accepted: number;
  rejected: number;
  rejectedByReason: Partial<Record<ShareRejectReason, number>>;
  lastShareAt: string | null;
}

function share0(): Share {
  return { jobId: '', extranonce2: '', ntime: '', nonce: '' };
}

/** The mining.notify line for a job under the given server job id. */
export function notifyLineFor(job: ServerJob, id: string, clean: boolean): string {
  const u = job.upstream;
  return (
    JSON.stringify({
      id: null,
      method: 'mining.notify',
      params: [id, u.prevhash, u.coinb1, u.coinb2, u.merkleBranch, u.version, u.nbits, u.ntime, clean],
    }) + '\n'
  );
}
