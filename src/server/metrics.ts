// Prometheus metrics for the miner server, in their own Registry (several servers can live in one process: tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetricsSources {
  connections: () => number;
  upstreamConnected: () => number;
  upstreamDifficulty: () => number;
  hashrate: () => number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly shares: Counter<'result' | 'reason'>;
  /** shares{result="accepted"}, bound once: the per-share path skips the label lookup. */
  readonly acceptedShares: { inc(): void };
  readonly upstreamShares: Counter<'result'>;
  readonly blocks: Counter;
  readonly connectionsTotal: Counter<'outcome'>;
  readonly shareLatency: Histogram;

  constructor(sources: ServerMetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mesos_miner_' });
    this.shares = new Counter({
      name: 'mesos_miner_server_shares_total',
      help: 'Shares answered downstream, by result (accepted/rejected) and reject reason',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.acceptedShares = this.shares.labels({ result: 'accepted', reason: '' });
    this.upstreamShares = new Counter({
      name: 'mesos_miner_server_upstream_shares_total',
      help: 'Shares forwarded upstream, by the upstream answer (accepted/rejected/error)',
      labelNames: ['result'],
      registers,
    });
    this.blocks = new Counter({ name: 'mesos_miner_server_blocks_found_total', help: 'Blocks found', registers });
    this.connectionsTotal = new Counter({
      name: 'mesos_miner_server_connections_total',
      help: 'Downstream connections, by outcome (accepted, refused at the connection limit)',
      labelNames: ['outcome'],
      registers,
    });
    this.shareLatency = new Histogram({
      name: 'mesos_miner_server_share_check_seconds',
      help: 'Time to check one share (parse to answer queued)',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
      registers,
    });
    new Gauge({
      name: 'mesos_miner_server_connections',
      help: 'Open downstream miner connections',
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'mesos_miner_server_upstream_connected',
      help: '1 when the upstream is connected',
      registers,
      collect() {
        this.set(sources.upstreamConnected());
      },
    });
    new Gauge({
      name: 'mesos_miner_server_upstream_difficulty',
      help: 'Current upstream share difficulty',
      registers,
      collect() {
        this.set(sources.upstreamDifficulty());
      },
    });
    new Gauge({
      name: 'mesos_miner_server_hashrate_hps',
      help: 'Estimated hashrate of all miners (hashes/s, 5-minute decaying average of share work)',
      registers,
      collect() {
        this.set(sources.hashrate());
      },
    });
  }
}
