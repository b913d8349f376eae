// A fake bitcoind for solo-mining tests: JSON-RPC 1.0 over HTTP on 127.0.0.1 with basic auth, serving
// getblockchaininfo / getbestblockhash / getblockheader / getblocktemplate (with long polling) / submitblock.
// Templates are built from real transactions (a real block's, see fixtures/segwit-block.ts) with an easy target by
// default (regtest bits 0x207fffff: about every second hash is a block). submitblock checks what a node would check
// that matters here (decodes, parent known, proof of work, merkle root and witness commitment) with bitcoinjs-lib
// and records the payload. The node keeps a block tree like the real one: a block on the tip moves the tip (long
// polls return at once); a valid block on an older parent goes to a side chain, answered null as bcoin does
// (`sideChainResult: 'inconclusive'` for bitcoind), and getblockheader shows it with confirmations -1.
// Failure injection: failNext() (HTTP 500, RPC error, non-JSON, a result that is not an object, 401, a hang), goDown()/comeUp(),
// competeBeforeNextSubmit() (another miner's block wins the race), and `longpollFails` (bcoin 2.2 answers every
// long poll at once with RPC error -32603 "Assertion failed.").
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Block } from 'bitcoinjs-lib';
import { nodeSha256d } from './node-sha256d.js';

export interface FakeTx {
  /** Raw transaction hex (with witness). */
  data: string;
  /** Display hex. */
  txid: string;
  /** wtxid, display hex. */
  hash: string;
  fee: number;
  weight: number;
}

export type FailureKind = 'http500' | 'rpc-error' | 'not-json' | 'not-an-object' | 'unauthorized' | 'hang';

export interface FakeBitcoindOptions {
  user?: string;
  password?: string;
  chain?: 'main' | 'test' | 'testnet4' | 'signet' | 'regtest';
  bits?: number;
  height?: number;
  /** Display hex of the tip; random by default. */
  tip?: string;
  transactions?: FakeTx[];
  coinbaseValue?: number;
  /** Longest a long poll is held before the current template is returned anyway. */
  longpollHoldMs?: number;
  /** Leave long polling out of templates (no longpollid). */
  noLongpoll?: boolean;
  /** Answer a long poll at once with RPC error -32603 "Assertion failed.", as bcoin 2.2 does. */
  longpollFails?: boolean;
  /** submitblock answer for a valid block that lands on a side chain: null (bcoin, default) or "inconclusive" (bitcoind). */
  sideChainResult?: string | null;
  /** submitblock answer override: a string reject reason for every block (e.g. "inconclusive"). */
  submitResult?: string | null;
}

export interface SubmittedBlock {
  hex: string;
  result: string | null;
}

const rev = (hex: string) => Buffer.from(hex, 'hex').reverse().toString('hex');

/** The transactions (all but the coinbase) of a raw block, in template form. */
export function templateTxsFromBlock(blockHex: string): FakeTx[] {
  const block = Block.fromHex(blockHex);
  return block.transactions!.slice(1).map((tx) => ({
    data: tx.toHex(),
    txid: tx.getId(),
    hash: Buffer.from(tx.getHash(true)).reverse().toString('hex'),
    fee: 0,
    weight: tx.weight(),
  }));
}

/** BIP 141 commitment script for these wtxids (display hex), computed independently of src/. */
export function commitmentFor(wtxidsDisplay: string[]): string {
  let level: Buffer[] = [Buffer.alloc(32), ...wtxidsDisplay.map((h) => Buffer.from(rev(h), 'hex'))];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeSha256d(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    level = next;
  }
  return '6a24aa21a9ed' + nodeSha256d(Buffer.concat([level[0]!, Buffer.alloc(32)])).toString('hex');
}

function compactToTarget(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x7fffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

/** A block the node knows: its height and parent (null for the first tip, whose history the fake leaves out). */
interface KnownBlock {
  height: number;
  prev: string | null;
}

interface HeldPoll {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

export class FakeBitcoind {
  readonly user: string;
  readonly password: string;
  chain: string;
  bits: number;
  height: number;
  tip: string;
  transactions: FakeTx[];
  coinbaseValue: number;
  curtime = Math.floor(Date.now() / 1000);
  noLongpoll: boolean;
  longpollFails: boolean;
  sideChainResult: string | null;
  submitResult: string | null | undefined;
  readonly submitted: SubmittedBlock[] = [];
  readonly calls: { method: string; params: unknown[]; longpoll: boolean }[] = [];
  /** Every block the node knows, main chain and side chains. */
  private readonly blocks = new Map<string, KnownBlock>();
  private competeNext = false;
  private seq = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<HeldPoll>();
  private readonly hangs = new Set<ServerResponse>();
  private readonly failures: { kind: FailureKind; method: string | undefined }[] = [];
  private readonly longpollHoldMs: number;
  private port = 0;

  constructor(options: FakeBitcoindOptions = {}) {
    this.user = options.user ?? 'rpcuser';
    this.password = options.password ?? 'rpc-secret-pw';
    this.chain = options.chain ?? 'regtest';
    this.bits = options.bits ?? 0x207fffff;
    this.height = options.height ?? 200;
    this.tip = options.tip ?? randomBytes(32).toString('hex');
    this.transactions = options.transactions ?? [];
    this.coinbaseValue = options.coinbaseValue ?? 5_000_000_000;
    this.longpollHoldMs = options.longpollHoldMs ?? 30_000;
    this.noLongpoll = options.noLongpoll ?? false;
    this.longpollFails = options.longpollFails ?? false;
    this.sideChainResult = options.sideChainResult ?? null;
    this.submitResult = options.submitResult;
    this.blocks.set(this.tip, { height: this.height - 1, prev: null });
  }

  /** URL with credentials, as an operator would pass --bitcoind. */
  get url(): string {
    return `http://${this.user}:${this.password}@127.0.0.1:${this.port}`;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get longpollId(): string {
    return `${this.tip}${this.seq}`;
  }

  get heldPolls(): number {
    return this.held.size;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** The node goes away: listener closed, every connection (and held long poll) cut. */
  async goDown(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const h of this.held) clearTimeout(h.timer);
    this.held.clear();
    this.hangs.clear();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Back on the same port. */
  async comeUp(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.goDown();
  }

  /** The next matching call (any method when `method` is undefined) fails this way. */
  failNext(kind: FailureKind, count = 1, method?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ kind, method });
  }

  /** Another node found a block: new tip, height + 1, mempool emptied (unless `transactions` given). */
  announceTip(transactions: FakeTx[] = []): string {
    this.extendTip(randomBytes(32).toString('hex'), transactions);
    return this.tip;
  }

  /** The next submitblock loses a race: another node's block on the same parent arrives just before it. */
  competeBeforeNextSubmit(): void {
    this.competeNext = true;
  }

  /** Whether a block is on the best chain (walks back from the tip). */
  onBestChain(hash: string): boolean {
    for (let h: string | null = this.tip; h !== null; h = this.blocks.get(h)?.prev ?? null) {
      if (h === hash) return true;
    }
    return false;
  }

  private extendTip(hash: string, transactions: FakeTx[] = []): void {
    this.blocks.set(hash, { height: this.height, prev: this.tip });
    this.tip = hash;
    this.height++;
    this.transactions = transactions;
    this.curtime++;
    this.templateChanged();
  }

  /** Same tip, different mempool (e.g. a fee-paying transaction arrived). */
  setMempool(transactions: FakeTx[], coinbaseValue = this.coinbaseValue): void {
    this.transactions = transactions;
    this.coinbaseValue = coinbaseValue;
    this.templateChanged();
  }

  template(): Record<string, unknown> {
    const target = compactToTarget(this.bits).toString(16).padStart(64, '0');
    return {
      capabilities: ['proposal'],
      version: 0x20000000,
      rules: ['csv', '!segwit', 'taproot'],
      vbavailable: {},
      vbrequired: 0,
      previousblockhash: this.tip,
      transactions: this.transactions.map((t) => ({ ...t, depends: [], sigops: 4 })),
      coinbaseaux: {},
      coinbasevalue: this.coinbaseValue,
      ...(this.noLongpoll ? {} : { longpollid: this.longpollId }),
      target,
      mintime: this.curtime - 600,
      mutable: ['time', 'transactions', 'prevblock'],
      noncerange: '00000000ffffffff',
      sigoplimit: 80000,
      sizelimit: 4000000,
      weightlimit: 4000000,
      curtime: this.curtime,
      bits: this.bits.toString(16).padStart(8, '0'),
      height: this.height,
      default_witness_commitment: commitmentFor(this.transactions.map((t) => t.hash)),
    };
  }

  private templateChanged(): void {
    this.seq++;
    const body = this.template();
    for (const h of [...this.held]) {
      clearTimeout(h.timer);
      this.held.delete(h);
      this.reply(h.res, 200, { result: body, error: null, id: 1 });
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const expected = 'Basic ' + Buffer.from(`${this.user}:${this.password}`).toString('base64');
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' }).end();
        return;
      }
      let msg: { id?: unknown; method?: unknown; params?: unknown };
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        this.reply(res, 500, { result: null, error: { code: -32700, message: 'Parse error' }, id: null });
        return;
      }
      const method = String(msg.method);
      const params = Array.isArray(msg.params) ? msg.params : [];
      const longpoll = method === 'getblocktemplate' && typeof (params[0] as { longpollid?: unknown })?.longpollid === 'string';
      this.calls.push({ method, params, longpoll });
      const failIndex = this.failures.findIndex((f) => f.method === undefined || f.method === method);
      if (failIndex >= 0) {
        const [f] = this.failures.splice(failIndex, 1);
        this.fail(res, f!.kind, msg.id);
        return;
      }
      this.dispatch(method, params, msg.id ?? null, res);
    });
  }

  private fail(res: ServerResponse, kind: FailureKind, id: unknown): void {
    switch (kind) {
      case 'http500':
        res.writeHead(500, { 'content-type': 'text/html' }).end('<html>Internal Server Error</html>');
        return;
      case 'rpc-error':
        this.reply(res, 500, { result: null, error: { code: -10, message: 'Bitcoin Core is in initial sync and waiting for blocks...' }, id });
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('this is not json');
        return;
      case 'not-an-object':
        this.reply(res, 200, { result: 'surprise', error: null, id });
        return;
      case 'unauthorized':
        res.writeHead(401).end();
        return;
      case 'hang':
        this.hangs.add(res);
        return;
    }
  }

  private dispatch(method: string, params: unknown[], id: unknown, res: ServerResponse): void {
    const ok = (result: unknown) => this.reply(res, 200, { result, error: null, id });
    switch (method) {
      case 'getblockchaininfo':
        ok({ chain: this.chain, blocks: this.height - 1, headers: this.height - 1, bestblockhash: this.tip, initialblockdownload: false });
        return;
      case 'getbestblockhash':
        ok(this.tip);
        return;
      case 'getblockheader': {
        const hash = String(params[0]);
        const known = this.blocks.get(hash);
        if (!known) {
          this.reply(res, 500, { result: null, error: { code: -5, message: 'Block not found' }, id });
          return;
        }
        const confirmations = this.onBestChain(hash) ? this.height - known.height : -1;
        ok({ hash, confirmations, height: known.height, previousblockhash: known.prev });
        return;
      }
      case 'getblocktemplate': {
        const req = (params[0] ?? {}) as { rules?: unknown; longpollid?: unknown };
        if (!Array.isArray(req.rules) || !req.rules.includes('segwit')) {
          this.reply(res, 500, { result: null, error: { code: -8, message: 'getblocktemplate must be called with the segwit rule set' }, id });
          return;
        }
        if (typeof req.longpollid === 'string' && this.longpollFails) {
          this.reply(res, 200, { result: null, error: { code: -32603, message: 'Assertion failed.' }, id });
          return;
        }
        if (typeof req.longpollid === 'string' && req.longpollid === this.longpollId && !this.noLongpoll) {
          const h: HeldPoll = {
            res,
            timer: setTimeout(() => {
              this.held.delete(h);
              ok(this.template());
            }, this.longpollHoldMs),
          };
          this.held.add(h);
          res.on('close', () => {
            clearTimeout(h.timer);
            this.held.delete(h);
          });
          return;
        }
        ok(this.template());
        return;
      }
      case 'submitblock': {
        const hex = params[0];
        if (typeof hex !== 'string') {
          this.reply(res, 500, { result: null, error: { code: -1, message: 'submitblock "hexdata"' }, id });
          return;
        }
        let result: string | null;
        try {
          result = this.judge(hex);
        } catch (err) {
          this.reply(res, 500, { result: null, error: { code: -22, message: `Block decode failed: ${(err as Error).message}` }, id });
          return;
        }
        this.submitted.push({ hex, result });
        ok(result);
        return;
      }
      default:
        this.reply(res, 404, { result: null, error: { code: -32601, message: 'Method not found' }, id });
    }
  }

  /** What a node would answer to submitblock: null when it took the block (on the best chain or, like bcoin, not). */
  private judge(hex: string): string | null {
    const block = Block.fromHex(hex);
    const id = block.getId();
    if (this.competeNext) {
      this.competeNext = false;
      this.announceTip();
    }
    if (this.blocks.has(id)) return 'duplicate';
    if (this.submitResult !== undefined) return this.submitResult;
    const prev = Buffer.from(block.prevHash!).reverse().toString('hex');
    const parent = this.blocks.get(prev);
    if (!parent) return 'prev-blk-not-found';
    if (!block.checkProofOfWork()) return 'high-hash';
    if (!block.checkTxRoots()) return 'bad-txnmrklroot';
    if (prev === this.tip) {
      this.extendTip(id);
      return null;
    }
    // A sibling of a block the node already has (same work): the first one seen stays the tip.
    this.blocks.set(id, { height: parent.height + 1, prev });
    return this.sideChainResult;
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }
}
