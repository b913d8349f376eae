// The topology page in-process for tests: the real Framework against the fake Mesos master, with its /status and
// topology page on a loopback port. The server task's agent is 127.0.0.1 and its HTTP port is a stand-in for
// serve's /status with fixed figures, so the farm's figures (read every `statsIntervalMs`) are known; the miners go
// on `rigNNN.fake.local` agents, `perAgent` each, each with its own port for the cgminer API.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { SchedulerClient } from '../../src/mesos/scheduler-client.js';
import { Framework, frameworkInfo } from '../../src/scheduler/framework.js';
import { StateFile } from '../../src/scheduler/state-file.js';
import { startStatusServer } from '../../src/scheduler/status-server.js';
import { TopologyPage } from '../../src/scheduler/topology-page.js';
import { FakeMaster } from './fake-master.js';
import { testFrameworkConfig } from './framework-config.js';
import { freePort } from './processes.js';
import { waitUntil } from './wait-until.js';

/** What the stand-in server's /status says. */
export const SERVER_FIGURES = { connections: 987, hashrate: { '1m': 5.25e9, '5m': 5.5e9, '1h': 4.75e9 }, blocksFound: 7 };

export interface TopologyRig {
  master: FakeMaster;
  framework: Framework;
  page: TopologyPage;
  /** The scheduler's endpoint: /, /events, /status. */
  port: number;
  /** The server task's HTTP port (the stand-in's). */
  serverHttpPort: number;
  close(): Promise<void>;
}

/** A stand-in for serve's GET /status on `port`. */
async function fakeServerStatus(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const body = { connections: SERVER_FIGURES.connections, stats: { hashrate: SERVER_FIGURES.hashrate, blocksFound: SERVER_FIGURES.blocksFound }, upstream: { state: 'connected' } };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

export interface FakeFarm {
  master: FakeMaster;
  /** The server task's HTTP port: the stand-in for serve's /status. */
  serverHttpPort: number;
  close(): Promise<void>;
}

/** The fake master with a server agent (127.0.0.1, two ports, the stand-in on the HTTP one) and `miners / perAgent` miner agents. */
export async function startFakeFarm(options: { miners: number; perAgent: number }): Promise<FakeFarm> {
  // The server takes the lowest port of its offer for stratum, the next for HTTP.
  const stratum = await freePort(2);
  const serverHttpPort = stratum + 1;
  const agents = Math.ceil(options.miners / options.perAgent);
  const master = await FakeMaster.start({
    agents: [
      { hostname: '127.0.0.1', cpus: 1, mem: 256, ports: [[stratum, stratum], [serverHttpPort, serverHttpPort]] },
      ...Array.from({ length: agents }, (_, i) => ({
        hostname: `rig${String(i).padStart(3, '0')}.fake.local`, cpus: options.perAgent, mem: 64 * options.perAgent, ports: [[31000, 31099]] as [number, number][],
      })),
    ],
  });
  const stand = await fakeServerStatus(serverHttpPort);
  return {
    master,
    serverHttpPort,
    async close() {
      await master.close();
      await new Promise<void>((resolve) => stand.close(() => resolve()));
    },
  };
}

export async function startTopologyRig(options: { miners: number; perAgent: number; statsIntervalMs?: number; tickMs?: number }): Promise<TopologyRig> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-topology-'));
  const farm = await startFakeFarm(options);
  const config = testFrameworkConfig({
    miners: options.miners, servers: 1, serverStatsIntervalMs: options.statsIntervalMs ?? 500, miner: { cpus: 1, mem: 64 }, server: { cpus: 1, mem: 256 },
    maxMinersPerAgent: options.perAgent, minerEndpoints: { api: true, http: false },
  });
  const client = new SchedulerClient({ master: farm.master.url, framework: frameworkInfo(config), backoff: { initialMs: 20, maxMs: 100 } });
  const framework = new Framework(config, client, new StateFile(join(dir, 'state.json')), silentLogger);
  const page = new TopologyPage(framework, { tickMs: options.tickMs ?? 500, sampleSeconds: (options.statsIntervalMs ?? 500) / 1000 });
  const status = await startStatusServer({ host: '127.0.0.1', port: 0 }, () => framework.status(), undefined, page);
  await framework.start();
  page.start();
  await waitUntil(() => framework.runningCounts().miners === options.miners && framework.runningCounts().servers === 1,
    `1 server and ${options.miners} miners running`, 60_000, 50);
  return {
    master: farm.master, framework, page, port: status.port, serverHttpPort: farm.serverHttpPort,
    async close() {
      page.stop();
      await status.close();
      await framework.stop();
      await farm.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
