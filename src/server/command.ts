// `mesos-miner serve`: the miner server task. Stratum pool(s) upstream (proxy mode), many miners downstream.
import { Command, Option } from 'commander';
import { createLogger } from '../log.js';
import { exitOnSignals } from '../shutdown.js';
import { StratumUpstream } from '../upstream/stratum.js';
import { BitcoindUpstream } from '../upstream/bitcoind.js';
import { ENV_BITCOIND_URL } from '../upstream/bitcoind-config.js';
import type { Upstream } from '../upstream/types.js';
import { ENV_MINER_PASSWORD, ENV_POOL_PASS, SERVE_DEFAULTS, describeServeConfig, resolveServeConfig, type ServeFlags } from './config.js';
import { ServerDashboard } from './dashboard.js';
import { StatusHttpServer } from './http.js';
import { MinerServer } from './miner-server.js';
import { UpstreamHealth } from './upstream-health.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerServeCommand(program: Command): void {
  const d = SERVE_DEFAULTS;
  program
    .command('serve')
    .description('run the miner server: a Stratum v1 proxy that shares one pool connection among many miners, or solo mining through a Bitcoin node')
    .addOption(new Option('--pool <url>', 'upstream pool stratum+tcp://host:port; repeat for failover, in order').argParser(collect))
    .option('--user <name>', 'pool account / worker name used upstream')
    .option('--pass-file <path>', `file holding the pool password (or env ${ENV_POOL_PASS}; default "x")`)
    .option('--pool-pass-file <path>', 'same as --pass-file')
    .option('--bitcoind <url>', `solo mining: bitcoind RPC http://user:pass@host:8332 (or env ${ENV_BITCOIND_URL}); excludes --pool`)
    .option('--bitcoind-cookie <file>', "solo mining: the node's .cookie file for RPC auth")
    .option('--payout <address>', 'solo mining: address the block reward is paid to (P2PKH, P2SH, P2WPKH, P2WSH, P2TR)')
    .option('--coinbase-tag <text>', 'solo mining: text in the coinbase (default /mesos-miner/)')
    .option('--listen <host:port>', 'where miners connect', d.listen)
    .option('--http <host:port|off>', 'serve the live page (/), /status (JSON) and /metrics (Prometheus) here', d.http)
    .option('--miner-password <secret>', `password miners must send in mining.authorize (or env ${ENV_MINER_PASSWORD})`)
    .option('--miner-password-file <path>', 'file holding the miner password')
    .option('--max-connections <n>', 'maximum concurrent miner connections', d.maxConnections)
    .option('--max-line-length <bytes>', 'longest Stratum line accepted from a miner', d.maxLineLength)
    .option('--submit-rate <n>', 'submits per second allowed per miner (bursts up to twice that)', d.submitRate)
    .option('--idle-timeout <s>', 'drop a miner that sends nothing for this long', d.idleTimeout)
    .option('--vardiff-target <s>', 'seconds between shares each miner is steered towards', d.vardiffTarget)
    .option('--min-diff <d>', 'lowest share difficulty (decimal or fraction, e.g. 1/65536); holds in solo mode whatever the network difficulty', d.minDiff)
    .option('--max-diff <d>', 'highest share difficulty (never above the pool difficulty anyway)', d.maxDiff)
    .option('--start-diff <d>', 'difficulty a new miner starts at', d.startDiff)
    .option('--upstream-connections <n>', 'pool connections opened at most when miners exhaust the extranonce space', d.upstreamConnections)
    .option('--fallback-time <s>', 'go back to the first --pool once it has been healthy this long; 0 = never', d.fallbackTime)
    .option('--shutdown-grace <s>', 'on SIGTERM, wait this long for shares in flight upstream (the process is killed 5 s later at the latest)', d.shutdownGrace)
    .option('--server-index <n>', 'index of this server in a tier (0..65535); solo: written into every coinbase, so servers never hash the same header')
    .option('--unhealthy-after <s>', 'GET /health answers 503 once the upstream has been down this long (0 = never)', d.unhealthyAfter)
    .option('--log-format <json|pretty>', 'log format (default: pretty on a terminal, JSON otherwise)')
    .option('--log-level <level>', 'log level (trace, debug, info, warn, error)', d.logLevel)
    .action(async (flags: ServeFlags & { poolPassFile?: string }, command: Command) => {
      let config;
      try {
        config = resolveServeConfig({ ...flags, passFile: flags.passFile ?? flags.poolPassFile });
      } catch (err) {
        command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      const log = createLogger({ format: config.logFormat, level: config.logLevel, name: 'serve' });
      log.info({ config: describeServeConfig(config) }, 'starting miner server');
      const upstream: Upstream = config.solo
        ? new BitcoindUpstream({
            ...config.solo,
            ...(config.serverIndex !== undefined ? { serverIndex: config.serverIndex } : {}),
            logger: log,
            onFatal: (err) => {
              log.error({ err: err.message }, 'solo mining cannot continue');
              log.flush?.();
              process.exit(1);
            },
          })
        : new StratumUpstream({
            pools: config.pools,
            maxConnections: config.upstreamConnections,
            manager: { fallbackTimeMs: config.fallbackTimeMs },
            logger: log,
          });
      const server = new MinerServer({
        upstream,
        host: config.listen.host,
        port: config.listen.port,
        minerPassword: config.minerPassword,
        maxConnections: config.maxConnections,
        maxLineLength: config.maxLineLength,
        submitRatePerSecond: config.submitRatePerSecond,
        idleTimeoutMs: config.idleTimeoutMs,
        initialDifficulty: config.initialDifficulty,
        vardiff: {
          targetSeconds: config.vardiffTargetSeconds,
          minDifficulty: config.minDifficulty,
          maxDifficulty: config.maxDifficulty,
        },
        defaultMetrics: true,
        logger: log,
      });
      const health = new UpstreamHealth(upstream, config.unhealthyAfterMs);
      const serverIndex = config.serverIndex;
      let dashboard: ServerDashboard | null = null;
      let http: StatusHttpServer | null = null;
      try {
        if (config.http) {
          dashboard = new ServerDashboard(server);
          const status = (limit: number) => ({ ...(serverIndex !== undefined ? { serverIndex } : {}), health: health.report(), ...server.status(Date.now(), limit) });
          const report = () => health.report();
          http = new StatusHttpServer({ ...config.http, status, health: report, registry: server.metrics.registry, pages: dashboard, logger: log });
        }
        await server.listen();
        if (http) {
          const a = await http.listen();
          dashboard?.start();
          log.info({ address: `${a.address}:${a.port}` }, 'status and metrics over HTTP');
        }
      } catch (err) {
        await server.close(0);
        command.error(`error: ${(err as Error).message}`, { exitCode: 1 });
      }
      try {
        await upstream.start();
      } catch (err) {
        await server.close(0);
        await http?.close();
        command.error(`error: ${(err as Error).message}`, { exitCode: 1 });
      }

      exitOnSignals({
        name: 'serve',
        log,
        graceMs: config.shutdownGraceMs,
        stop: async (signal) => {
          log.info({ signal }, 'shutting down: no new miners, forwarding shares in flight');
          // One grace period for both: the upstream's shares in flight are the ones the server waits for.
          const graceEnds = Date.now() + config.shutdownGraceMs;
          await server.close(config.shutdownGraceMs);
          await upstream.stop(Math.max(0, graceEnds - Date.now()));
          dashboard?.stop();
          await http?.close();
          log.info(server.stats.snapshot(), 'miner server stopped');
        },
      });
    });
}
