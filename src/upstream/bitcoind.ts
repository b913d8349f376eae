// Solo mode upstream: a Bitcoin node. Work comes from getblocktemplate (long polling, with getbestblockhash polls
// as a fallback and a guard against a stuck long poll); the server builds its own coinbase paying --payout, and a
// share that meets the network target is a block: assembled here and handed to submitblock.
// A node that answers a long poll with an RPC error (bcoin 2.2: -32603 "Assertion failed." at once) does not
// support it: we stay connected and follow the tip with the poll alone, which is why the poll is frequent.
//
// One block per tip: once a solution on a tip is on its way to the node, another solution on that tip would only
// compete with our own block, so it is counted as stale and never submitted; right after submitblock a fresh
// template moves every miner to the new tip. A block counts as found only once getblockheader shows it on the
// node's best chain (bcoin answers submitblock with null for a side-chain block too); otherwise it is orphaned.
//
// One extranonce space: 4 bytes of extranonce1 chosen here + 8 bytes of extranonce2 that the miner server splits
// among its miners (4-byte prefixes). With a server index (a tier of servers on one node), the first two bytes of
// extranonce1 are that index: no two servers of a tier can build the same coinbase, hence the same header. A new tip is a clean job at once; a better template for the same tip (more
// fees) is a non-clean job at most every `minJobIntervalMs`. When the node is unreachable the state is
// 'disconnected' and the last job stays valid (its tip has not moved as far as we know).
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { addressToScript, NETWORKS, type NetworkName } from '../bitcoin/address.js';
import { hashToDisplayHex } from '../bitcoin/hash.js';
import { silentLogger, type LogSink } from '../log.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { BitcoindRpcClient, RpcError, RpcTransportError } from './rpc.js';
import {
  assembleSoloBlock,
  buildSoloWork,
  parseBlockTemplate,
  sameTemplateContents,
  TEMPLATE_REQUEST,
  verifySolution,
  type BlockTemplate,
  type SoloWork,
} from './template.js';
import type {
  ShareOutcome,
  Upstream,
  UpstreamEvents,
  UpstreamJob,
  UpstreamShare,
  UpstreamState,
  UpstreamStatus,
  UpstreamWorkSpace,
} from './types.js';

export interface BitcoindUpstreamOptions {
  /** http(s)://user:pass@host:port of the node's RPC. */
  url: string;
  /** The node's .cookie file, instead of credentials in the URL. */
  cookieFile?: string;
  /** Where block rewards go (P2PKH, P2SH, P2WPKH, P2WSH, P2TR), on the node's network. */
  payoutAddress: string;
  /** Network of the payout address; by default the node's (getblockchaininfo). */
  network?: NetworkName;
  /** Text in the coinbase scriptSig (default "/mesos-miner/"). */
  coinbaseTag?: string;
  /** Use getblocktemplate long polling (default true). */
  longpoll?: boolean;
  /** getbestblockhash poll period, also the retry base while the node is down (default 500 ms). */
  pollIntervalMs?: number;
  /** Without long polling: fetch a fresh template for the same tip this often (default 30 s). */
  refreshIntervalMs?: number;
  /** A new template for the same tip becomes a (non-clean) job at most this often (default 10 s). */
  minJobIntervalMs?: number;
  /** A long poll held longer than this is re-issued (default 10 min; the node may hold it indefinitely). */
  longpollTimeoutMs?: number;
  rpcTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Extra submitblock (and getblockheader) attempts when the node cannot be reached (default 4). */
  submitRetries?: number;
  /** Version bits miners may roll (default 0x1fffe000, BIP 320). */
  versionMask?: number;
  /** Our part of the coinbase extranonce (4 bytes hex; random by default). */
  extranonce1?: string;
  /**
   * This server's index in a tier of servers mining on the same node (0..65535): the first two bytes of extranonce1,
   * so servers with different indexes never hash the same header. The other two bytes stay random.
   */
  serverIndex?: number;
  /** Called when solo mining cannot go on (payout address not valid on the node's network). */
  onFatal?: (err: Error) => void;
  logger?: LogSink;
}

export const SOLO_SPACE_ID = 'solo';
/** Upstream extranonce2 size: 8 bytes leave the server 4-byte prefixes and each miner 4 bytes. */
export const SOLO_EXTRANONCE2_SIZE = 8;
const DEFAULT_TAG = '/mesos-miner/';
/** Without a working long poll a new tip reaches the miners within this (plus two RPC round trips). */
const DEFAULT_POLL_INTERVAL_MS = 500;
const MAX_WORKS = 32;
/** submitblock answers (BIP 22) meaning the node has the block and found it valid; null is the plain "accepted". */
const BLOCK_TAKEN = new Set(['inconclusive', 'duplicate', 'duplicate-inconclusive']);

/** getblockchaininfo's `chain` -> address network. */
export function networkOfChain(chain: unknown): NetworkName {
  switch (chain) {
    case 'main':
      return 'mainnet';
    case 'test':
    case 'testnet4':
      return 'testnet';
    case 'signet':
      return 'signet';
    case 'regtest':
      return 'regtest';
    default:
      throw new Error(`bitcoind reports an unknown chain ${JSON.stringify(chain)}`);
  }
}

/** Networks on which `address` is valid; throws a clear error when it is valid on none. */
export function payoutNetworks(address: string): NetworkName[] {
  const ok: NetworkName[] = [];
  let firstError: Error | null = null;
  for (const network of Object.keys(NETWORKS) as NetworkName[]) {
    try {
      addressToScript(address, network);
      ok.push(network);
    } catch (err) {
      firstError ??= err as Error;
    }
  }
  if (ok.length === 0) {
    throw new Error(`--payout ${JSON.stringify(address)} is not a valid Bitcoin address on any network (${firstError?.message})`);
  }
  return ok;
}

interface CurrentWork {
  job: UpstreamJob;
  work: SoloWork;
}

export class BitcoindUpstream extends EventEmitter<UpstreamEvents> implements Upstream {
  readonly kind = 'solo' as const;
  readonly rpc: BitcoindRpcClient;
  private readonly log: LogSink;
  private readonly options: BitcoindUpstreamOptions;
  private readonly space: UpstreamWorkSpace;
  private readonly extranonce1: Buffer;
  private readonly tag: Buffer;
  private readonly pollIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly minJobIntervalMs: number;
  private readonly longpollTimeoutMs: number;
  private readonly pollBackoff: Backoff;
  private readonly longpollBackoff: Backoff;
  private readonly works = new Map<string, SoloWork>();
  /** Tips a block of ours is on, or on its way to: further solutions on them are stale (cleared with `works`). */
  private readonly solvedTips = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private payoutScript: Buffer | null = null;
  private network: NetworkName | null = null;
  private current: CurrentWork | null = null;
  private spaceAnnounced = false;
  private jobCounter = 0;
  private lastJobAt = 0;
  private lastTemplateAt = 0;
  private longpollId: string | null = null;
  /** Off by option, or once the node showed it cannot long-poll. */
  private longpollEnabled: boolean;
  private longpollRunning = false;
  private pending: BlockTemplate | null = null;
  private pendingTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private nextRefresh: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private started = false;
  private stopping = false;
  private stateValue: UpstreamState = 'stopped';
  private accepted = 0;
  private rejected = 0;
  private blocks = 0;
  private blocksStale = 0;
  private blocksOrphaned = 0;
  private reconnects = 0;
  private lastError: string | null = null;

  constructor(options: BitcoindUpstreamOptions) {
    super();
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.rpc = new BitcoindRpcClient({
      url: options.url,
      ...(options.cookieFile ? { cookieFile: options.cookieFile } : {}),
      timeoutMs: options.rpcTimeoutMs ?? 30_000,
    });
    const networks = payoutNetworks(options.payoutAddress);
    if (options.network) {
      if (!networks.includes(options.network)) {
        throw new Error(`--payout ${options.payoutAddress} is not a ${options.network} address (it is one for ${networks.join('/')})`);
      }
      this.setNetwork(options.network);
    }
    this.extranonce1 = options.extranonce1 ? Buffer.from(options.extranonce1, 'hex') : randomBytes(4);
    if (this.extranonce1.length !== 4 || (options.extranonce1 && options.extranonce1.length !== 8)) {
      throw new Error(`solo extranonce1 must be 4 bytes of hex, got ${JSON.stringify(options.extranonce1)}`);
    }
    if (options.serverIndex !== undefined) {
      if (!Number.isInteger(options.serverIndex) || options.serverIndex < 0 || options.serverIndex > 0xffff) {
        throw new Error(`server index must be an integer in 0..65535, got ${options.serverIndex}`);
      }
      this.extranonce1.writeUInt16BE(options.serverIndex, 0);
    }
    this.space = { spaceId: SOLO_SPACE_ID, extranonce1: this.extranonce1.toString('hex'), extranonce2Size: SOLO_EXTRANONCE2_SIZE };
    this.longpollEnabled = options.longpoll !== false;
    this.tag = Buffer.from(options.coinbaseTag ?? DEFAULT_TAG, 'utf8');
    if (this.tag.length > 60) throw new Error(`coinbase tag is ${this.tag.length} bytes; at most 60 fit in the scriptSig`);
    this.pollIntervalMs = positive('poll interval', options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.refreshIntervalMs = positive('template refresh interval', options.refreshIntervalMs ?? 30_000);
    this.minJobIntervalMs = nonNegative('min job interval', options.minJobIntervalMs ?? 10_000);
    this.longpollTimeoutMs = positive('long poll timeout', options.longpollTimeoutMs ?? 600_000);
    this.pollBackoff = new Backoff({ initialMs: this.pollIntervalMs, maxMs: Math.max(60_000, this.pollIntervalMs), ...options.backoff });
    this.longpollBackoff = new Backoff({ initialMs: this.pollIntervalMs, maxMs: Math.max(60_000, this.pollIntervalMs), ...options.backoff });
  }

  /**
   * Contacts the node once (network check, first template) and starts polling. A payout address that is not
   * valid on the node's network rejects; an unreachable node does not (it is retried in the background).
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('BitcoindUpstream.start() called twice');
    this.started = true;
    this.setState('connecting');
    this.log.info({ node: this.rpc.endpoint, extranonce1: this.space.extranonce1 }, 'solo mining through bitcoind');
    try {
      await this.refresh('start');
      this.onRpcSuccess();
    } catch (err) {
      if (err instanceof PayoutNetworkError) {
        this.stopNow();
        throw err;
      }
      this.onRpcFailure(err as Error, 'first template');
    }
    this.schedulePoll(this.current ? this.pollIntervalMs : this.pollBackoff.next());
  }

  async stop(graceMs = 5000): Promise<void> {
    if (this.inFlight.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    this.stopNow();
  }

  spaces(): UpstreamWorkSpace[] {
    return this.spaceAnnounced ? [this.space] : [];
  }

  currentJob(spaceId: string): UpstreamJob | null {
    return spaceId === SOLO_SPACE_ID ? (this.current?.job ?? null) : null;
  }

  addSpace(): Promise<UpstreamWorkSpace> {
    return Promise.reject(new Error('solo mode has a single extranonce space (2^32 miner prefixes); no other can be added'));
  }

  async submit(share: UpstreamShare): Promise<ShareOutcome> {
    const work = share.spaceId === SOLO_SPACE_ID ? this.works.get(share.jobId) : undefined;
    if (!work) return this.staleSolution(share, `job ${share.jobId} is no longer current (the chain tip moved on)`);
    const tip = work.template.previousBlockHash;
    if (this.solvedTips.has(tip)) return this.staleSolution(share, `we already have a block on tip ${tip}`);
    let hash: Buffer;
    let block: Buffer;
    try {
      const extranonce = Buffer.concat([this.extranonce1, Buffer.from(share.extranonce2, 'hex')]);
      hash = verifySolution(work, share.header, share.coinbase, extranonce);
      block = assembleSoloBlock(work, share.header, share.coinbase);
    } catch (err) {
      this.rejected++;
      this.log.warn({ worker: share.worker, job: share.jobId, err: (err as Error).message }, 'share is not a block');
      return { accepted: false, reason: (err as Error).message };
    }
    this.solvedTips.add(tip);
    const p = this.submitBlock(block, hashToDisplayHex(hash), work, share.worker);
    this.inFlight.add(p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  status(): UpstreamStatus {
    return {
      kind: 'solo',
      state: this.stateValue,
      endpoint: this.rpc.endpoint,
      difficulty: this.current?.work.difficulty ?? null,
      currentJobId: this.current?.job.jobId ?? null,
      spaces: this.spaces(),
      accepted: this.accepted,
      rejected: this.rejected,
      blocks: this.blocks,
      blocksStale: this.blocksStale,
      blocksOrphaned: this.blocksOrphaned,
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }

  /** The network the payout script was built for (known after the first getblockchaininfo). */
  get payoutNetwork(): NetworkName | null {
    return this.network;
  }

  // ---- blocks ------------------------------------------------------------------------------------------------

  /** A block solution on a tip that is no longer ours to extend: counted, never submitted. */
  private staleSolution(share: UpstreamShare, why: string): ShareOutcome {
    this.blocksStale++;
    this.log.info({ worker: share.worker, job: share.jobId, why }, 'stale block solution: not submitted');
    return { accepted: false, reason: `stale: ${why}`, lostBlock: 'stale' };
  }

  private async submitBlock(block: Buffer, hashHex: string, work: SoloWork, worker: string): Promise<ShareOutcome> {
    const height = work.template.height;
    const tip = work.template.previousBlockHash;
    this.log.info({ worker, hash: hashHex, height, bytes: block.length }, 'block found: submitting');
    let result: unknown;
    try {
      result = await this.callWithRetries('submitblock', [block.toString('hex')], 60_000);
    } catch (err) {
      this.solvedTips.delete(tip);
      this.rejected++;
      this.lastError = (err as Error).message;
      this.log.error({ worker, hash: hashHex, height, err: (err as Error).message }, 'submitblock failed');
      return { accepted: false, reason: `submitblock failed: ${(err as Error).message}` };
    }
    // At once, not at the next poll: an accepted block moves the tip, a rejected one may mean our template is outdated.
    void this.refresh('after submitblock').catch((err: Error) => this.onRpcFailure(err, 'refresh after submitblock'));
    const answer = result === null || result === undefined ? null : typeof result === 'string' ? result : JSON.stringify(result).slice(0, 200);
    if (answer !== null && !BLOCK_TAKEN.has(answer)) {
      this.solvedTips.delete(tip);
      this.rejected++;
      this.lastError = `submitblock ${hashHex}: ${answer}`;
      this.log.error({ worker, hash: hashHex, height, reason: answer }, 'bitcoind rejected the block');
      return { accepted: false, reason: answer };
    }
    this.accepted++;
    // Without an answer from getblockheader, only a plain null (bitcoind: connected to the best chain) counts.
    const onBestChain = (await this.onBestChain(hashHex)) ?? answer === null;
    if (onBestChain) {
      this.blocks++;
      this.log.info({ worker, hash: hashHex, height, submitblock: answer }, 'block accepted by bitcoind');
      return { accepted: true, block: true, height };
    }
    this.blocksOrphaned++;
    this.log.warn({ worker, hash: hashHex, height, submitblock: answer }, 'block orphaned: bitcoind has it, but not on its best chain');
    return { accepted: true, reason: `orphaned: ${answer ?? 'not on the best chain'}`, lostBlock: 'orphaned', height };
  }

  /** getblockheader: whether the block is on the node's best chain (confirmations >= 1); null when it cannot tell. */
  private async onBestChain(hashHex: string): Promise<boolean | null> {
    try {
      const header = await this.callWithRetries('getblockheader', [hashHex, true], undefined);
      const confirmations = header !== null && typeof header === 'object' ? (header as { confirmations?: unknown }).confirmations : undefined;
      if (typeof confirmations !== 'number') throw new Error('bitcoind getblockheader: result has no "confirmations" number');
      return confirmations >= 1;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.warn({ hash: hashHex, err: (err as Error).message }, 'cannot tell whether our block is on the best chain');
      return null;
    }
  }

  /** An RPC call about a block of ours: worth retrying while the node is unreachable; an RPC error is its verdict. */
  private async callWithRetries(method: string, params: unknown[], timeoutMs: number | undefined): Promise<unknown> {
    const retries = this.options.submitRetries ?? 4;
    const backoff = new Backoff({ initialMs: 250, maxMs: 4000 });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.rpc.call(method, params, timeoutMs === undefined ? {} : { timeoutMs });
      } catch (err) {
        const retryable = err instanceof RpcTransportError && err.kind !== 'auth' && err.kind !== 'credentials';
        if (!retryable || attempt >= retries || this.stopping) throw err;
        await delay(backoff.next());
      }
    }
  }

  // ---- templates ---------------------------------------------------------------------------------------------

  /**
   * Fetches a template and turns it into a job if it brings anything new. One request at a time; callers that
   * arrive while one is in flight share the next one, so every caller gets a template asked for after its call
   * (the one in flight may predate a block we just submitted).
   */
  private refresh(reason: string): Promise<void> {
    if (this.refreshing) {
      this.nextRefresh ??= this.refreshing
        .catch(() => {})
        .then(() => {
          this.nextRefresh = null;
          return this.refresh(reason);
        });
      return this.nextRefresh;
    }
    this.refreshing = (async () => {
      try {
        if (!this.payoutScript) await this.checkChain();
        const raw = await this.rpc.call('getblocktemplate', [TEMPLATE_REQUEST], { signal: this.abort.signal });
        this.acceptTemplate(parseBlockTemplate(raw), reason);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async checkChain(): Promise<void> {
    const info = await this.rpc.call<Record<string, unknown>>('getblockchaininfo', [], { signal: this.abort.signal });
    if (info === null || typeof info !== 'object') throw new Error('bitcoind getblockchaininfo: result is not an object');
    const network = networkOfChain(info.chain);
    if (this.network && this.network !== network) {
      throw new PayoutNetworkError(`--payout is a ${this.network} address but bitcoind ${this.rpc.endpoint} runs ${network}`);
    }
    try {
      this.setNetwork(network);
    } catch (err) {
      throw new PayoutNetworkError(`bitcoind ${this.rpc.endpoint} runs ${network}: ${(err as Error).message}`);
    }
    if (info.initialblockdownload === true) this.log.warn({ node: this.rpc.endpoint }, 'bitcoind is still in initial block download');
  }

  private setNetwork(network: NetworkName): void {
    this.payoutScript = addressToScript(this.options.payoutAddress, network);
    this.network = network;
  }

  private acceptTemplate(template: BlockTemplate, source: string): void {
    if (this.stopping) return;
    this.lastTemplateAt = Date.now();
    this.longpollId = template.longpollId;
    const cur = this.current;
    const newTip = !cur || cur.work.template.previousBlockHash !== template.previousBlockHash;
    if (newTip) {
      this.pending = null;
      clearTimeout(this.pendingTimer);
      this.pendingTimer = undefined;
      this.emitJob(template, true, source);
    } else if (!sameTemplateContents(cur.work.template, template)) {
      const wait = this.lastJobAt + this.minJobIntervalMs - Date.now();
      if (wait <= 0) this.emitJob(template, false, source);
      else {
        this.pending = template;
        this.pendingTimer ??= setTimeout(() => {
          this.pendingTimer = undefined;
          const next = this.pending;
          this.pending = null;
          if (next && !this.stopping && this.current?.work.template.previousBlockHash === next.previousBlockHash) {
            this.emitJob(next, false, 'deferred');
          }
        }, wait);
      }
    }
    this.ensureLongpoll();
  }

  private emitJob(template: BlockTemplate, clean: boolean, source: string): void {
    const jobId = (++this.jobCounter).toString(16);
    let work: SoloWork;
    try {
      work = buildSoloWork(template, {
        jobId,
        payoutScript: this.payoutScript!,
        extranonceSize: this.extranonce1.length + SOLO_EXTRANONCE2_SIZE,
        tag: this.tag,
        versionMask: this.options.versionMask ?? 0x1fffe000,
      });
    } catch (err) {
      this.lastError = `cannot build a job from the template: ${(err as Error).message}`;
      this.log.error({ height: template.height, err: (err as Error).message }, 'template unusable');
      return;
    }
    if (clean) {
      this.works.clear();
      this.solvedTips.clear();
    }
    this.works.set(jobId, work);
    while (this.works.size > MAX_WORKS) this.works.delete(this.works.keys().next().value!);
    const job: UpstreamJob = {
      ...work.fields,
      spaceId: SOLO_SPACE_ID,
      target: work.target,
      difficulty: work.difficulty,
      clean,
      versionMask: work.versionMask,
      receivedAt: Date.now(),
    };
    this.current = { job, work };
    this.lastJobAt = Date.now();
    this.log.info(
      { job: jobId, height: template.height, txs: template.transactions.length, clean, source, value: String(template.coinbaseValue) },
      clean ? 'new block template (new tip)' : 'updated block template',
    );
    if (!this.spaceAnnounced) {
      this.spaceAnnounced = true;
      this.emit('space', this.space);
    }
    this.emit('job', job);
  }

  // ---- polling -----------------------------------------------------------------------------------------------

  private schedulePoll(ms: number): void {
    if (this.stopping) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => void this.poll(), ms);
  }

  /** getbestblockhash: a moved tip means a fresh template now; without long polls, refresh now and then. */
  private async poll(): Promise<void> {
    if (this.stopping) return;
    let next = this.pollIntervalMs;
    try {
      if (!this.current) await this.refresh('initial');
      else {
        const best = await this.rpc.call<unknown>('getbestblockhash', [], { signal: this.abort.signal });
        if (typeof best !== 'string') throw new Error('bitcoind getbestblockhash: result is not a hash');
        if (best.toLowerCase() !== this.current.work.template.previousBlockHash) await this.refresh('new tip (poll)');
        else if (!this.longpollRunning && Date.now() - this.lastTemplateAt >= this.refreshIntervalMs) {
          await this.refresh('periodic refresh');
        }
      }
      this.onRpcSuccess();
    } catch (err) {
      if (this.stopping) return;
      if (err instanceof PayoutNetworkError) {
        this.fatal(err);
        return;
      }
      this.onRpcFailure(err as Error, 'poll');
      next = this.pollBackoff.next();
    }
    this.schedulePoll(next);
  }

  private ensureLongpoll(): void {
    if (this.longpollRunning || this.stopping || !this.longpollEnabled || !this.longpollId) return;
    this.longpollRunning = true;
    void this.longpollLoop().finally(() => (this.longpollRunning = false));
  }

  private async longpollLoop(): Promise<void> {
    while (!this.stopping && this.longpollId) {
      try {
        const raw = await this.rpc.call('getblocktemplate', [{ ...TEMPLATE_REQUEST, longpollid: this.longpollId }], {
          timeoutMs: this.longpollTimeoutMs,
          signal: this.abort.signal,
        });
        this.longpollBackoff.reset();
        this.acceptTemplate(parseBlockTemplate(raw), 'longpoll');
        this.onRpcSuccess();
      } catch (err) {
        if (this.stopping) return;
        if (err instanceof RpcTransportError && err.kind === 'timeout') continue; // a quiet chain: ask again
        if (!(err instanceof RpcTransportError)) {
          // The node answered, but not with a template: it cannot long-poll. Not a lost connection.
          this.longpollEnabled = false;
          this.log.warn(
            { node: this.rpc.endpoint, err: (err as Error).message, pollIntervalMs: this.pollIntervalMs },
            'bitcoind long poll not usable: following the tip with getbestblockhash polls',
          );
          return;
        }
        this.onRpcFailure(err, 'long poll');
        await delay(this.longpollBackoff.next(), this.abort.signal);
      }
    }
  }

  // ---- state -------------------------------------------------------------------------------------------------

  private onRpcSuccess(): void {
    this.pollBackoff.reset();
    if (this.current) this.setState('connected');
  }

  private onRpcFailure(err: Error, during: string): void {
    if (this.stopping) return; // a call cut short by stop() is not a failure of the node
    const message = err.message;
    if (this.stateValue === 'connected') this.reconnects++;
    this.lastError = message;
    const level = this.stateValue === 'disconnected' ? 'debug' : 'warn';
    this.log[level]({ node: this.rpc.endpoint, during, err: message, code: err instanceof RpcError ? err.code : undefined }, 'bitcoind unavailable; keeping the last job');
    this.setState('disconnected');
  }

  private fatal(err: Error): void {
    this.lastError = err.message;
    this.log.error({ err: err.message }, 'solo mining stopped');
    this.stopNow();
    this.options.onFatal?.(err);
  }

  private stopNow(): void {
    this.stopping = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.pendingTimer);
    this.abort.abort();
    this.rpc.close();
    this.setState('stopped');
  }

  private setState(state: UpstreamState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }
}

/** The payout address does not belong to the node's network: solo mining cannot start. */
export class PayoutNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayoutNetworkError';
  }
}

function positive(what: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${what} must be a positive number of ms, got ${v}`);
  return v;
}

function nonNegative(what: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${what} must be >= 0 ms, got ${v}`);
  return v;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
