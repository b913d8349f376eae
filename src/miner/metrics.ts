// Prometheus metrics of `mine` (GET /metrics on --http), read from the miner's status at scrape time: nothing is
// counted twice, and the figures are the ones the status line and /status show.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MinerStatus } from './miner.js';

export class MinerMetrics {
  readonly registry = new Registry();

  constructor(status: () => MinerStatus, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // One status per scrape (it snapshots every thread's rates): the registry runs every collect() in one turn.
    let snapshot: MinerStatus | undefined;
    const current = (): MinerStatus => {
      if (!snapshot) {
        snapshot = status();
        queueMicrotask(() => (snapshot = undefined));
      }
      return snapshot;
    };
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mesos_miner_' });
    new Gauge({
      name: 'mesos_miner_miner_hashrate_hps',
      help: 'Hashes per second of each kernel thread (1-minute decaying average)',
      labelNames: ['thread'],
      registers,
      collect() {
        current().perThread.forEach((t, i) => this.set({ thread: String(i) }, t.avg1m));
      },
    });
    new Counter({
      name: 'mesos_miner_miner_hashes_total',
      help: 'Nonces hashed by each kernel thread',
      labelNames: ['thread'],
      registers,
      collect() {
        // The miner keeps the totals; the counter shows them (they only grow).
        this.reset();
        current().perThread.forEach((t, i) => this.inc({ thread: String(i) }, t.total));
      },
    });
    new Counter({
      name: 'mesos_miner_miner_shares_total',
      help: 'Shares found, by result: accepted, rejected (reason: the pool\'s code and message), stale (reason), unanswered, invalid (failed the miner\'s own check), dropped (never sent: over --submit-rate, or left at stop)',
      labelNames: ['result', 'reason'],
      registers,
      collect() {
        const s = current().shares;
        this.reset();
        this.inc({ result: 'accepted', reason: '' }, s.accepted);
        for (const [reason, n] of Object.entries(s.rejectedByReason)) this.inc({ result: 'rejected', reason }, n);
        for (const [reason, n] of Object.entries(s.staleByReason)) this.inc({ result: 'stale', reason }, n);
        for (const result of ['unanswered', 'invalid', 'dropped'] as const) this.inc({ result, reason: '' }, s[result]);
      },
    });
    new Gauge({
      name: 'mesos_miner_miner_shares_pending',
      help: 'Shares waiting to be sent or waiting for the pool\'s answer',
      registers,
      collect() {
        this.set(current().shares.pending);
      },
    });
    new Gauge({
      name: 'mesos_miner_miner_pool_connected',
      help: '1 while connected to a pool; the pool is in the url label (index: its place in the -o list)',
      labelNames: ['url', 'index'],
      registers,
      collect() {
        const s = current();
        this.reset();
        if (s.pool) this.set({ url: s.pool.url, index: String(s.pool.poolIndex) }, s.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mesos_miner_miner_difficulty',
      help: 'Share difficulty of the work being hashed (0 before the first job)',
      registers,
      collect() {
        this.set(current().difficulty ?? 0);
      },
    });
    new Gauge({
      name: 'mesos_miner_miner_threads',
      help: 'Kernel threads',
      registers,
      collect() {
        this.set(current().threads);
      },
    });
  }
}
