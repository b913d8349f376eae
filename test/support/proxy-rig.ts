// A miner server in proxy mode for tests: scripted pool(s) on loopback -> StratumUpstream -> MinerServer with a
// fixed miner difficulty (vardiff pinned), listening on a free port. close() stops it all, server first.
import { MinerServer, type MinerServerOptions } from '../../src/server/miner-server.js';
import { StratumUpstream, type StratumUpstreamOptions } from '../../src/upstream/stratum.js';
import { ScriptedPool, type ScriptedPoolOptions } from './scripted-pool.js';

export interface ProxyRigOptions {
  /** The session difficulty every miner gets (vardiff is pinned to it). */
  minerDifficulty: number;
  /** Options of every scripted pool (default: 8-byte extranonce2). */
  pool?: ScriptedPoolOptions;
  /** How many pools, in failover order (default 1). */
  pools?: number;
  /** The upstream's pool password (default none). */
  poolPassword?: string;
  upstream?: Omit<StratumUpstreamOptions, 'pools'>;
  server?: Partial<MinerServerOptions>;
}

export interface ProxyRig {
  pools: ScriptedPool[];
  upstream: StratumUpstream;
  server: MinerServer;
  port: number;
  /** stratum+tcp:// URL of the server. */
  url: string;
  close(graceMs?: number): Promise<void>;
}

export async function startProxyRig(opts: ProxyRigOptions): Promise<ProxyRig> {
  const pools = Array.from({ length: opts.pools ?? 1 }, () => new ScriptedPool({ extranonce2Size: 8, ...opts.pool }));
  for (const p of pools) await p.start();
  const upstream = new StratumUpstream({
    ...opts.upstream,
    pools: pools.map((p) => ({ url: p.url, user: 'proxy.worker', ...(opts.poolPassword ? { password: opts.poolPassword } : {}) })),
  });
  const diff = opts.minerDifficulty;
  const server = new MinerServer({
    upstream,
    host: '127.0.0.1',
    port: 0,
    initialDifficulty: diff,
    vardiff: { minDifficulty: diff, maxDifficulty: diff, targetSeconds: 10 },
    ...opts.server,
  });
  await upstream.start();
  const { port } = await server.listen();
  return {
    pools,
    upstream,
    server,
    port,
    url: `stratum+tcp://127.0.0.1:${port}`,
    async close(graceMs = 200) {
      await server.close(graceMs);
      await upstream.stop(graceMs);
      for (const p of pools) await p.stop();
    },
  };
}
