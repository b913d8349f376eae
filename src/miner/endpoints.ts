// The read-only endpoints of `mine`: --http serves GET /status (JSON: the figures of the status line, per thread and
// per result) and GET /metrics (Prometheus); --api-listen serves the cgminer API. No password appears in either.
import type { Logger } from '../log.js';
import { StatusHttpServer } from '../server/http.js';
import { packageVersion } from '../stratum/version.js';
import { CgminerApi } from './cgminer-api.js';
import type { MineConfig } from './config.js';
import { MinerMetrics } from './metrics.js';
import type { Miner } from './miner.js';
import { MinerTally } from './tally.js';

export interface MinerEndpoints {
  close(): Promise<void>;
}

/** Starts what the configuration asks for (nothing when neither flag is given); fails if a port cannot be bound. */
export async function startMinerEndpoints(miner: Miner, config: MineConfig, log: Logger): Promise<MinerEndpoints> {
  const user = config.pools[0]?.user ?? '';
  const pools = config.pools.map((p) => p.url);
  const startedAt = new Date().toISOString();
  const open: { close(): Promise<void> }[] = [];
  try {
    if (config.http) {
      const metrics = new MinerMetrics(() => miner.status(), { defaultMetrics: true });
      const http = new StatusHttpServer({
        ...config.http,
        status: () => ({ user, pools, startedAt, ...miner.status() }),
        registry: metrics.registry,
        logger: log,
      });
      const a = await http.listen();
      open.push(http);
      log.info({ address: `${a.address}:${a.port}` }, 'status and metrics over HTTP');
    }
    if (config.apiListen) {
      const api = new CgminerApi(
        {
          status: () => miner.status(),
          tally: new MinerTally(miner, pools.length),
          pools,
          user,
          versionRolling: config.versionRolling,
          logIntervalSeconds: config.statusIntervalMs / 1000,
          description: `mesos-miner ${packageVersion()}`,
        },
        { ...config.apiListen, allow: config.apiAllow, logger: log },
      );
      const a = await api.listen();
      open.push(api);
      log.info({ address: `${a.address}:${a.port}`, allow: config.apiAllow.map((e) => e.text).join(',') }, 'cgminer API listening');
    }
  } catch (err) {
    for (const o of open) await o.close();
    throw err;
  }
  return {
    async close() {
      for (const o of open) await o.close();
    },
  };
}
