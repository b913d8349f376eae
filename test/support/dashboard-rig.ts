// serve's live page in-process for tests: a proxy rig (scripted pool -> MinerServer) with the dashboard on its HTTP
// endpoint, and test miners that log in with the miner password. close() stops it all.
import { ServerDashboard, type DashboardOptions } from '../../src/server/dashboard.js';
import { StatusHttpServer } from '../../src/server/http.js';
import type { MinerServer } from '../../src/server/miner-server.js';
import { startProxyRig, type ProxyRig } from './proxy-rig.js';
import { TestMiner } from './server-miner.js';

export const POOL_PASSWORD = 'p00l-s3cret';
export const MINER_PASSWORD = 'm1ner-s3cret';

export interface DashboardRig {
  rig: ProxyRig;
  server: MinerServer;
  dashboard: ServerDashboard;
  /** The HTTP port: /, /events, /status, /metrics. */
  port: number;
  /** A test miner, handshaken as `worker`. */
  miner(worker: string): Promise<TestMiner>;
  close(): Promise<void>;
}

/** Session difficulty 2^-30: a test miner finds a share in a few hashes. The sample timer runs only with `start`. */
export async function startDashboardRig(options: DashboardOptions & { start?: boolean } = {}): Promise<DashboardRig> {
  const rig = await startProxyRig({
    minerDifficulty: 2 ** -30,
    poolPassword: POOL_PASSWORD,
    upstream: { maxConnections: 1 },
    server: { minerPassword: MINER_PASSWORD },
  });
  const server = rig.server;
  const dashboard = new ServerDashboard(server, options);
  const http = new StatusHttpServer({ host: '127.0.0.1', port: 0, status: (limit) => server.status(Date.now(), limit), registry: server.metrics.registry, pages: dashboard });
  const { port } = await http.listen();
  if (options.start) dashboard.start();
  const miners: TestMiner[] = [];
  return {
    rig,
    server,
    dashboard,
    port,
    async miner(worker) {
      const m = await TestMiner.connect(rig.port);
      miners.push(m);
      await m.handshake(worker, MINER_PASSWORD);
      return m;
    },
    async close() {
      for (const m of miners) m.close();
      dashboard.stop();
      await http.close();
      await rig.close();
    },
  };
}
