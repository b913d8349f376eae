// A real Stratum v1 pool on 127.0.0.1 for tests. It builds real coinbase transactions and merkle branches,
// records every message, verifies every share independently (pool-share-check.ts, bitcoinjs-lib) and can be
// scripted to misbehave: close mid-job, client.reconnect, refuse connections, garbage, huge lines, bad JSON
// shapes, unknown methods, broken notifies, bad difficulties, silence on submits.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { checkShare, shareTargetFor, swapWords, type JobForCheck } from './pool-share-check.js';

export interface ScriptedPoolOptions {
  /** Fixed extranonce1 for every session (hex); default: a distinct 4-byte value per session. */
  extranonce1?: string;
  extranonce2Size?: number;
  /** Difficulty sent after subscribe and used for shares (default 2^-24: about 1 hash in 256 qualifies). */
  difficulty?: number;
  /** How to answer mining.configure: grant the mask, answer with an error, or say nothing. */
  configure?: 'grant' | 'error' | 'ignore';
  versionMask?: number;
  /** Offer and honour session resume by subscription id (default true). */
  resume?: boolean;
  /** Send the first job on subscribe, right after set_difficulty and before authorize is answered (default true). */
  jobOnAuthorize?: boolean;
  /** Answer mining.submit (default true). */
  answerSubmits?: boolean;
  /** Accept mining.authorize (default true). */
  authorize?: boolean;
  /** nBits of the jobs (default 0x17034219, a mainnet-like target no test share meets). */
  nbits?: number;
}

export interface RecordedMessage {
  conn: number;
  dir: 'in' | 'out';
  line: string;
  msg?: any;
}

export interface ShareRecord {
  conn: number;
  jobId: string;
  params: unknown[];
  accepted: boolean;
  code?: number;
  reason?: string;
}

interface PoolJob {
  check: JobForCheck;
  difficulty: number;
  notify: unknown[];
}

interface Session {
  id: string;
  extranonce1: string;
  extranonce2Size: number;
  jobs: Map<string, PoolJob>;
  seen: Set<string>;
}

export interface PoolConnection {
  id: number;
  socket: Socket;
  session?: Session;
  subscribed: boolean;
  authorized: boolean;
  difficulty: number;
  versionMask: number;
}

const POOL_VERSION = 0x20000000;

export class ScriptedPool {
  readonly options: Required<ScriptedPoolOptions>;
  private server: Server | undefined;
  private _port = 0;
  private nextConnId = 1;
  private nextJobId = 1;
  private nextSession = 1;
  private height = 800_000;
  readonly connections = new Map<number, PoolConnection>();
  readonly sessions = new Map<string, Session>();
  readonly messages: RecordedMessage[] = [];
  readonly shares: ShareRecord[] = [];
  /** Every connection attempt that reached the pool. */
  accepted = 0;

  constructor(options: ScriptedPoolOptions = {}) {
    this.options = {
      extranonce1: '',
      extranonce2Size: 4,
      difficulty: 2 ** -24,
      configure: 'grant',
      versionMask: 0x1fffe000,
      resume: true,
      jobOnAuthorize: true,
      answerSubmits: true,
      authorize: true,
      nbits: 0x1703_4219,
      ...options,
    };
  }

  get port(): number {
    return this._port;
  }

  get url(): string {
    return `stratum+tcp://127.0.0.1:${this._port}`;
  }

  /** Listens on 127.0.0.1 (port 0 = any free port; pass the old port to come back after stop()). */
  async start(port = this._port): Promise<number> {
    const server = createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this._port = (server.address() as { port: number }).port;
    return this._port;
  }

  /** Stops listening (later connections are refused) and drops every connection. */
  async stop(): Promise<void> {
    this.dropAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes every open connection (the pool "dies mid-job" but keeps listening). */
  dropAll(): void {
    for (const c of this.connections.values()) c.socket.destroy();
    this.connections.clear();
  }

  get openConnections(): PoolConnection[] {
    return [...this.connections.values()];
  }

  received(method: string): RecordedMessage[] {
    return this.messages.filter((m) => m.dir === 'in' && m.msg?.method === method);
  }

  // ---- sending ----------------------------------------------------------------------------------------------

  sendRaw(text: string | Buffer, conn?: PoolConnection): void {
    for (const c of conn ? [conn] : this.openConnections) {
      if (!c.socket.destroyed) c.socket.write(text);
      this.messages.push({ conn: c.id, dir: 'out', line: typeof text === 'string' ? text.slice(0, 200) : `<${text.length} bytes>` });
    }
  }

  send(msg: object, conn?: PoolConnection): void {
    for (const c of conn ? [conn] : this.openConnections) {
      const line = JSON.stringify(msg);
      this.messages.push({ conn: c.id, dir: 'out', line, msg });
      if (!c.socket.destroyed) c.socket.write(line + '\n');
    }
  }

  notify(method: string, params: unknown[], conn?: PoolConnection): void {
    this.send({ id: null, method, params }, conn);
  }

  setDifficulty(difficulty: number, conn?: PoolConnection): void {
    for (const c of conn ? [conn] : this.openConnections) {
      c.difficulty = difficulty;
      this.notify('mining.set_difficulty', [difficulty], c);
    }
  }

  setExtranonce(extranonce1: string, extranonce2Size: number, conn?: PoolConnection): void {
    for (const c of conn ? [conn] : this.openConnections) {
      if (c.session) {
        c.session.extranonce1 = extranonce1;
        c.session.extranonce2Size = extranonce2Size;
      }
      this.notify('mining.set_extranonce', [extranonce1, extranonce2Size], c);
    }
  }

  /** Sends a fresh job (real coinbase, random prevhash and branch) to each subscribed connection. */
  sendJob(opts: { clean?: boolean; conn?: PoolConnection } = {}): string {
    const jobId = (this.nextJobId++).toString(16);
    const clean = opts.clean ?? true;
    const prevHashHeaderOrder = randomBytes(32);
    const branch = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const ntime = Math.floor(Date.now() / 1000);
    const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
    for (const c of opts.conn ? [opts.conn] : this.openConnections) {
      if (!c.session || !c.subscribed) continue;
      const { coinb1, coinb2 } = this.coinbaseHalves(c.session);
      const notify = [jobId, swapWords(prevHashHeaderOrder).toString('hex'), coinb1, coinb2, branch, hex32(POOL_VERSION), hex32(this.options.nbits), hex32(ntime), clean];
      if (clean) c.session.jobs.clear();
      c.session.jobs.set(jobId, {
        check: { prevHashHeaderOrder, coinb1, coinb2, merkleBranch: branch, version: POOL_VERSION, nbits: this.options.nbits },
        difficulty: c.difficulty,
        notify,
      });
      this.notify('mining.notify', notify, c);
    }
    return jobId;
  }

  /** A coinbase with a BIP34 height push and the extranonce space inside its scriptSig. */
  private coinbaseHalves(session: Session): { coinb1: string; coinb2: string } {
    const enTotal = session.extranonce1.length / 2 + session.extranonce2Size;
    const heightPush = Buffer.from([0x03, this.height & 0xff, (this.height >> 8) & 0xff, (this.height >> 16) & 0xff]);
    this.height++;
    const tag = Buffer.from('/scripted-pool/', 'ascii');
    const scriptLen = heightPush.length + 1 + enTotal + tag.length;
    const coinb1 = Buffer.concat([
      Buffer.from('01000000', 'hex'), // version
      Buffer.from([1]), // one input
      Buffer.alloc(32), // null prevout hash
      Buffer.from('ffffffff', 'hex'), // prevout index
      Buffer.from([scriptLen]),
      heightPush,
      Buffer.from([enTotal]), // push of the extranonce bytes
    ]);
    const payout = Buffer.concat([Buffer.from('76a914', 'hex'), randomBytes(20), Buffer.from('88ac', 'hex')]);
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(312_500_000n);
    const coinb2 = Buffer.concat([
      tag,
      Buffer.from('ffffffff', 'hex'), // sequence
      Buffer.from([1]), // one output
      value,
      Buffer.from([payout.length]),
      payout,
      Buffer.alloc(4), // locktime
    ]);
    return { coinb1: coinb1.toString('hex'), coinb2: coinb2.toString('hex') };
  }

  // ---- receiving --------------------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    this.accepted++;
    const c: PoolConnection = {
      id: this.nextConnId++,
      socket,
      subscribed: false,
      authorized: false,
      difficulty: this.options.difficulty,
      versionMask: 0,
    };
    this.connections.set(c.id, c);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      buffered += data;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.onLine(c, line);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.connections.delete(c.id));
  }

  private onLine(c: PoolConnection, line: string): void {
    let msg: any;
    try {
      msg = JSON.parse(line);
    } catch {
      this.messages.push({ conn: c.id, dir: 'in', line });
      return;
    }
    this.messages.push({ conn: c.id, dir: 'in', line, msg });
    if (typeof msg.method !== 'string') return; // a response to one of our requests: recorded only
    const reply = (result: unknown, error: unknown = null) => this.send({ id: msg.id, result, error }, c);
    const p: unknown[] = Array.isArray(msg.params) ? msg.params : [];
    switch (msg.method) {
      case 'mining.configure': {
        if (this.options.configure === 'ignore') return;
        if (this.options.configure === 'error') return reply(null, [20, 'configure not supported', null]);
        const requested = parseInt(String((p[1] as any)?.['version-rolling.mask'] ?? '0'), 16);
        c.versionMask = (requested & this.options.versionMask) >>> 0;
        return reply({ 'version-rolling': true, 'version-rolling.mask': c.versionMask.toString(16).padStart(8, '0') });
      }
      case 'mining.subscribe': {
        const wanted = typeof p[1] === 'string' ? this.sessions.get(p[1]) : undefined;
        const session = this.options.resume && wanted ? wanted : this.newSession();
        c.session = session;
        c.subscribed = true;
        // As ckpool does: set_difficulty and the first job follow the subscribe answer at once, before the
        // (pipelined) authorize is answered.
        reply([[['mining.notify', session.id]], session.extranonce1, session.extranonce2Size]);
        this.setDifficulty(c.difficulty, c);
        if (this.options.jobOnAuthorize) this.sendJob({ conn: c, clean: true });
        return;
      }
      case 'mining.authorize':
        c.authorized = this.options.authorize;
        reply(this.options.authorize, this.options.authorize ? null : [24, 'Unauthorized worker', null]);
        return;
      // ckpool refuses extranonce.subscribe and never answers suggest_difficulty.
      case 'mining.extranonce.subscribe':
        return reply(null, [20, 'Not supported.', null]);
      case 'mining.suggest_difficulty':
        return;
      case 'mining.submit':
        return this.onSubmit(c, msg.id, p);
      default:
        return reply(null, [-32601, 'Method not found', null]);
    }
  }

  private onSubmit(c: PoolConnection, id: unknown, p: unknown[]): void {
    const record = (accepted: boolean, code?: number, reason?: string) => {
      this.shares.push({ conn: c.id, jobId: String(p[1]), params: p, accepted, code, reason });
      if (!this.options.answerSubmits) return;
      if (accepted) this.send({ id, result: true, error: null }, c);
      else this.send({ id, result: false, error: [code, reason, null] }, c); // result false, as ckpool sends
    };
    if (!c.subscribed || !c.session) return record(false, 25, 'Not subscribed');
    if (!c.authorized) return record(false, 24, 'Unauthorized worker');
    const [, jobId, en2, ntime, nonce, versionBits] = p as string[];
    const job = c.session.jobs.get(String(jobId));
    if (!job) return record(false, 21, 'Job not found');
    if (typeof en2 !== 'string' || en2.length !== c.session.extranonce2Size * 2) return record(false, 20, 'Bad extranonce2 size');
    const key = `${jobId}/${en2}/${ntime}/${nonce}/${versionBits ?? ''}`;
    if (c.session.seen.has(key)) return record(false, 22, 'Duplicate share');
    const result = checkShare(
      job.check,
      { extranonce1: c.session.extranonce1, extranonce2: en2, ntime, nonce, versionBits, versionMask: c.versionMask },
      shareTargetFor(job.difficulty),
    );
    if (!result.ok) return record(false, result.reason === 'hash above share target' ? 23 : 20, result.reason);
    c.session.seen.add(key);
    record(true);
  }

  private newSession(): Session {
    const id = `s${this.nextSession++}`;
    const extranonce1 = this.options.extranonce1 || randomBytes(4).toString('hex');
    const session: Session = { id, extranonce1, extranonce2Size: this.options.extranonce2Size, jobs: new Map(), seen: new Set() };
    this.sessions.set(id, session);
    return session;
  }
}
