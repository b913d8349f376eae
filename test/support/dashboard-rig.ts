// serve's live page in-process for tests: a MinerServer in front of a scripted pool (proxy mode) or a fake bitcoind
// (solo), with the dashboard on its HTTP endpoint, and test miners that log in with the miner password.
import { ServerDashboard, type DashboardOptions } from '../../src/server/dashboard.js';
import { StatusHttpServer } from '../../src/server/http.js';
import { MinerServer } from '../../src/server/miner-server.js';
import { BitcoindUpstream } from '../../src/upstream/bitcoind.js';
import { FakeBitcoind } from './fake-bitcoind.js';
import { startProxyRig } from './proxy-rig.js';
import { TestMiner } from './server-miner.js';

export const POOL_PASSWORD = 'p00l-s3cret';
export const MINER_PASSWORD = 'm1ner-s3cret';
export const RPC_PASSWORD = 'rpc-s3cret';
/** Session difficulty: a test miner finds a share in a few hashes (solo: every share is a regtest block). */
const MINER_DIFF = 2 ** -30;
const REGTEST_P2WPKH = 'bcrt1q7s9860vdj3hsfl6rwut8d2rnn826t6nf4ltry8';

export interface DashboardRig {
  server: MinerServer;
  dashboard: ServerDashboard;
  /** The HTTP port: /, /events, /status, /metrics. */
  port: number;
  /** Where the upstream is, as /status shows it. */
  upstreamEndpoint: string;
  /** A test miner, handshaken as `worker`. */
  miner(worker: string): Promise<TestMiner>;
  close(): Promise<void>;
}

async function proxyServer(): Promise<{ server: MinerServer; endpoint: string; stop(): Promise<void> }> {
  const rig = await startProxyRig({ minerDifficulty: MINER_DIFF, poolPassword: POOL_PASSWORD, upstream: { maxConnections: 1 }, server: { minerPassword: MINER_PASSWORD } });
  return { server: rig.server, endpoint: rig.pools[0]!.url, stop: () => rig.close() };
}

async function soloServer(): Promise<{ server: MinerServer; endpoint: string; stop(): Promise<void> }> {
  const node = new FakeBitcoind({ password: RPC_PASSWORD, height: 200 });
  await node.start();
  const upstream = new BitcoindUpstream({ url: node.url, payoutAddress: REGTEST_P2WPKH, pollIntervalMs: 50, backoff: { initialMs: 20, maxMs: 100 } });
  const server = new MinerServer({ upstream, host: '127.0.0.1', port: 0, minerPassword: MINER_PASSWORD, vardiff: { minDifficulty: MINER_DIFF, maxDifficulty: MINER_DIFF } });
  await upstream.start();
  await server.listen();
  return {
    server,
    endpoint: upstream.status().endpoint!,
    async stop() {
      await server.close(100);
      await upstream.stop(100);
      await node.stop();
    },
  };
}

/** The sample timer runs only with `start` (tests call dashboard.tick themselves otherwise). */
export async function startDashboardRig(options: DashboardOptions & { start?: boolean; solo?: boolean } = {}): Promise<DashboardRig> {
  const { server, endpoint, stop } = options.solo ? await soloServer() : await proxyServer();
  const dashboard = new ServerDashboard(server, options);
  const http = new StatusHttpServer({ host: '127.0.0.1', port: 0, status: (limit) => server.status(Date.now(), limit), registry: server.metrics.registry, pages: dashboard });
  const { port } = await http.listen();
  if (options.start) dashboard.start();
  const stratum = Number(server.status().listen!.split(':').pop());
  const miners: TestMiner[] = [];
  return {
    server,
    dashboard,
    port,
    upstreamEndpoint: endpoint,
    async miner(worker) {
      const m = await TestMiner.connect(stratum);
      miners.push(m);
      await m.handshake(worker, MINER_PASSWORD);
      return m;
    },
    async close() {
      for (const m of miners) m.close();
      dashboard.stop();
      await http.close();
      await stop();
    },
  };
}
