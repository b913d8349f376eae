// `mesos-miner serve`: the miner server task. Stratum pool(s) upstream (proxy mode), many miners downstream.
import { Command, Option } from 'commander';
import { createLogger } from '../log.js';
import { StratumUpstream } from '../upstream/stratum.js';
import { BitcoindUpstream } from '../upstream/bitcoind.js';
import { ENV_BITCOIND_URL } from '../upstream/bitcoind-config.js';
import type { Upstream } from '../upstream/types.js';
import { ENV_MINER_PASSWORD, ENV_POOL_PASS, SERVE_DEFAULTS, describeServeConfig, resolveServeConfig, type ServeFlags } from './config.js';
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
    .option('--http <host:port|off>', 'serve /status (JSON) and /metrics (Prometheus) here', d.http)
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
    .option('--shutdown-grace <s>', 'on SIGTERM, wait this long for shares in flight upstream', d.shutdownGrace)
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
        : new StratumUpstream({ pools: config.pools, maxConnections: config.upstreamConnections, logger: log });
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
      const http = config.http
        ? new StatusHttpServer({
            ...config.http,
            status: (limit) => ({ ...(serverIndex !== undefined ? { serverIndex } : {}), health: health.report(), ...server.status(Date.now(), limit) }),
            health: () => health.report(),
            registry: server.metrics.registry,
            logger: log,
          })
        : null;
      try {
        await server.listen();
        if (http) {
          const a = await http.listen();
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

      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down: no new miners, forwarding shares in flight');
        const hardStop = setTimeout(() => {
          log.error('shutdown took too long; exiting');
          process.exit(1);
        }, config.shutdownGraceMs + 5000);
        hardStop.unref();
        await server.close(config.shutdownGraceMs);
        await upstream.stop(config.shutdownGraceMs);
        await http?.close();
        log.info(server.stats.snapshot(), 'miner server stopped');
        log.flush?.();
        process.exit(0);
      };
      // 'on', not 'once': a second signal during shutdown must not kill the process with the default action.
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
