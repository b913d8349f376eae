// Prometheus metrics for the miner server, in their own Registry (several servers can live in one process: tests).
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricValueWithName } from 'prom-client';

/**
 * A label-less Prometheus histogram for the per-share path: observe() only bumps numbers (prom-client's hashes
 * the labels and allocates on every call, 20,000 times a second here); the exposition is built at scrape time.
 */
export class FastHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    if (buckets.some((b, i) => !(b > (buckets[i - 1] ?? -Infinity)))) throw new Error(`${name}: buckets must increase`);
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  /** What prom-client's Registry reads at scrape time. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export interface ServerMetricsSources {
  connections: () => number;
  upstreamConnected: () => number;
  upstreamDifficulty: () => number;
  hashrate: () => number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly shares: Counter<'result' | 'reason'>;
  /** shares{result="accepted"}: counted in a plain number per share, added to the counter at scrape time. */
  readonly acceptedShares: { inc(): void };
  readonly upstreamShares: Counter<'result'>;
  readonly blocks: Counter;
  readonly lostBlocks: Counter<'reason'>;
  readonly connectionsTotal: Counter<'outcome'>;
  readonly shareLatency: FastHistogram;

  constructor(sources: ServerMetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mesos_miner_' });
    let accepted = 0;
    this.shares = new Counter({
      name: 'mesos_miner_server_shares_total',
      help: 'Shares answered downstream, by result (accepted/rejected) and reject reason',
      labelNames: ['result', 'reason'],
      registers,
      collect() {
        this.inc({ result: 'accepted', reason: '' }, accepted);
        accepted = 0;
      },
    });
    this.shares.inc({ result: 'accepted', reason: '' }, 0);
    this.acceptedShares = {
      inc: () => {
        accepted++;
      },
    };
    this.upstreamShares = new Counter({
      name: 'mesos_miner_server_upstream_shares_total',
      help: 'Shares forwarded upstream, by the upstream answer (accepted/rejected/error; stale: a solo block solution kept back); dropped: not forwarded, too many were waiting for an answer',
      labelNames: ['result'],
      registers,
    });
    this.blocks = new Counter({
      name: 'mesos_miner_server_blocks_found_total',
      help: 'Blocks found (solo: on the node\'s best chain when checked after submitblock)',
      registers,
    });
    this.lostBlocks = new Counter({
      name: 'mesos_miner_server_blocks_lost_total',
      help: 'Block solutions not on the best chain: stale (not submitted: a block of ours was already on that tip, or it had moved on), orphaned (the node took it, not on its best chain)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['stale', 'orphaned']) this.lostBlocks.inc({ reason }, 0);
    this.connectionsTotal = new Counter({
      name: 'mesos_miner_server_connections_total',
      help: 'Downstream connections, by outcome (accepted, refused at the connection limit)',
      labelNames: ['outcome'],
      registers,
    });
    this.shareLatency = new FastHistogram(
      'mesos_miner_server_share_check_seconds',
      'Time to check one share (parse to answer queued)',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
    );
    this.registry.registerMetric(this.shareLatency as unknown as Metric);
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
