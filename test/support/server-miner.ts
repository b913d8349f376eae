// A deliberately simple Stratum miner for the miner-server tests: raw socket, its own line parsing, its own header
// assembly (from reference/stratum.md, independent of src/) and node:crypto brute force at low difficulty.
import { connect, type Socket } from 'node:net';
import { nodeSha256d as dsha } from './node-sha256d.js';
import { waitUntil } from './wait-until.js';

const DIFF1 = 0xffffn << 208n;

export function targetFor(difficulty: number): bigint {
  // Exact for the power-of-two difficulties the tests use.
  let shift = 0n;
  let d = difficulty;
  while (!Number.isInteger(d)) {
    d *= 2;
    shift++;
  }
  return (DIFF1 << shift) / BigInt(d);
}

export interface MinerJob {
  id: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  branch: string[];
  version: number;
  nbits: number;
  ntimeHex: string;
  clean: boolean;
  /** Difficulty in force for this job (the last set_difficulty before it). */
  difficulty: number;
}

export interface FoundShare {
  params: [string, string, string, string, string] | [string, string, string, string, string, string];
  hashValue: bigint;
  header: Buffer;
}

export interface Reply {
  id: number;
  result: unknown;
  error: unknown;
}

export class TestMiner {
  readonly socket: Socket;
  readonly notifications: { method: string; params: unknown[] }[] = [];
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private buffer = '';
  extranonce1 = '';
  extranonce2Size = 0;
  difficulty = 1;
  jobs: MinerJob[] = [];
  closed = false;
  versionMask = 0;
  /** Worker name used in handshake(), sent with every share. */
  user = 'worker';

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const resolve of this.waiting.values()) resolve({ id: -1, result: null, error: 'closed' });
      this.waiting.clear();
    });
  }

  static connect(port: number): Promise<TestMiner> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.off('error', reject);
        resolve(new TestMiner(s));
      });
      s.once('error', reject);
    });
  }

  get job(): MinerJob | undefined {
    return this.jobs[this.jobs.length - 1];
  }

  private onData(d: string): void {
    this.buffer += d;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      if (msg.method) this.onNotification(msg.method, msg.params ?? []);
      else if (typeof msg.id === 'number') {
        const r = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        r?.(msg);
      } else this.notifications.push({ method: '(error)', params: [msg.error] });
    }
  }

  private onNotification(method: string, params: any[]): void {
    this.notifications.push({ method, params });
    if (method === 'mining.set_difficulty') this.difficulty = params[0];
    if (method === 'mining.set_extranonce') {
      this.extranonce1 = params[0];
      this.extranonce2Size = params[1];
    }
    if (method === 'mining.notify') {
      const [id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
      const job: MinerJob = {
        id,
        prevhash,
        coinb1,
        coinb2,
        branch,
        version: parseInt(version, 16),
        nbits: parseInt(nbits, 16),
        ntimeHex: ntime,
        clean,
        difficulty: this.difficulty,
      };
      if (clean) this.jobs = [];
      this.jobs.push(job);
    }
  }

  request(method: string, params: unknown[]): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  /** configure (optional) + subscribe + authorize; resolves once a job has arrived. */
  async handshake(user = 'worker', password = 'x', opts: { versionMask?: number } = {}): Promise<void> {
    this.user = user;
    if (opts.versionMask !== undefined) {
      const r = await this.request('mining.configure', [
        ['version-rolling'],
        { 'version-rolling.mask': opts.versionMask.toString(16).padStart(8, '0'), 'version-rolling.min-bit-count': 1 },
      ]);
      const res = r.result as Record<string, unknown>;
      this.versionMask = res['version-rolling'] ? parseInt(String(res['version-rolling.mask']), 16) : 0;
    }
    const sub = await this.request('mining.subscribe', ['test-miner/1.0']);
    if (sub.error) throw new Error(`subscribe failed: ${JSON.stringify(sub.error)}`);
    const [, en1, size] = sub.result as [unknown, string, number];
    this.extranonce1 = en1;
    this.extranonce2Size = size;
    const auth = await this.request('mining.authorize', [user, password]);
    if (auth.result !== true) throw new Error(`authorize failed: ${JSON.stringify(auth.error)}`);
    await this.waitFor(() => this.job !== undefined, 'first job');
  }

  async waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await waitUntil(cond, `${what} (test miner)`, timeoutMs);
  }

  header(job: MinerJob, extranonce2: string, nonce: number, version = job.version): Buffer {
    const coinbase = Buffer.from(job.coinb1 + this.extranonce1 + extranonce2 + job.coinb2, 'hex');
    let root = dsha(coinbase);
    for (const b of job.branch) root = dsha(Buffer.concat([root, Buffer.from(b, 'hex')]));
    const prev = Buffer.from(job.prevhash, 'hex');
    for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse();
    const h = Buffer.alloc(80);
    h.writeUInt32LE(version >>> 0, 0);
    prev.copy(h, 4);
    root.copy(h, 36);
    h.writeUInt32LE(parseInt(job.ntimeHex, 16), 68);
    h.writeUInt32LE(job.nbits, 72);
    h.writeUInt32LE(nonce >>> 0, 76);
    return h;
  }

  /**
   * Brute-forces a share for `job` (default: latest) at or below `target` (default: the job's difficulty).
   * With `above`, finds a hash above that value (a low-difficulty share).
   */
  find(opts: { job?: MinerJob; extranonce2?: string; startNonce?: number; target?: bigint; above?: bigint; versionBits?: number; maxTries?: number } = {}): FoundShare & { nextNonce: number } {
    const job = opts.job ?? this.job!;
    const en2 = opts.extranonce2 ?? '00'.repeat(this.extranonce2Size);
    const target = opts.target ?? targetFor(job.difficulty);
    let version = job.version;
    if (opts.versionBits !== undefined) version = ((version & ~this.versionMask) | (opts.versionBits & this.versionMask)) >>> 0;
    const max = opts.maxTries ?? 1_000_000;
    const start = opts.startNonce ?? 0;
    for (let i = 0; i < max; i++) {
      const nonce = (start + i) >>> 0;
      const header = this.header(job, en2, nonce, version);
      const hash = dsha(header);
      const value = BigInt('0x' + Buffer.from(hash).reverse().toString('hex'));
      const ok = opts.above !== undefined ? value > opts.above : value <= target;
      if (ok) {
        const params: FoundShare['params'] = [this.user, job.id, en2, job.ntimeHex, nonce.toString(16).padStart(8, '0')];
        if (opts.versionBits !== undefined) {
          (params as string[]).push(((opts.versionBits & this.versionMask) >>> 0).toString(16).padStart(8, '0'));
        }
        return { params, hashValue: value, header, nextNonce: nonce + 1 };
      }
    }
    throw new Error(`no share within ${max} nonces`);
  }

  submit(params: unknown[]): Promise<Reply> {
    return this.request('mining.submit', params);
  }

  close(): void {
    this.socket.destroy();
  }
}
