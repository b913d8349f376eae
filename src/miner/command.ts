// `mesos-miner mine`: the miner, with cpuminer-style flags. Points at a pool or at `mesos-miner serve` (the miner
// task of the design). Every flag is validated before the kernel starts or anything connects.
import { Command, Option } from 'commander';
import { MAX_THREADS } from '../kernel/pool.js';
import { createLogger, defaultLogFormat } from '../log.js';
import { exitOnSignals } from '../shutdown.js';
import { ENV_MINER_PASS, MINE_DEFAULTS, describeMineConfig, resolveMineConfig, type MineConfig, type MineFlags } from './config.js';
import { startMinerEndpoints, type MinerEndpoints } from './endpoints.js';
import { Miner } from './miner.js';
import { formatStatusLine, statusFields } from './status-line.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** How long SIGTERM/SIGINT waits for shares in flight before closing the pool connection. */
export const SHUTDOWN_GRACE_MS = 3000;

export function registerMineCommand(program: Command): void {
  program
    .command('mine')
    .description('mine against a Stratum v1 pool (or a `mesos-miner serve` server) with the WebAssembly kernel on every core')
    .addOption(new Option('-o, --url <url>', 'pool stratum+tcp://host:port; repeat for backup pools, in failover order').argParser(collect))
    .option('-u, --user <name>', 'pool account or worker name (wallet.worker)')
    .option('-p, --pass <password>', `pool password (default "x"); prefer env ${ENV_MINER_PASS}: argv is visible to every user`)
    .option('-t, --threads <n>', `kernel threads, 1..${MAX_THREADS} (default: all cores)`)
    .option('--kernel <auto|simd8|simd|scalar>', `kernel build (default ${MINE_DEFAULTS.kernel}: simd8 where V8 revectorizes it, else simd where supported)`)
    .option('-q, --quiet', 'no periodic status line or per-share logs (warnings, errors and the final status still print)')
    .option('--config <file.json>', 'JSON file with the same keys as the long flags ("url", "user", "threads", ...); flags win')
    .option('--fallback-time <s>', `return to the first pool after it has been healthy this long; 0 = never (default ${MINE_DEFAULTS.fallbackTime})`)
    .option('--no-version-rolling', 'do not ask the pool for BIP 310 version rolling')
    .option('--extranonce-subscribe', 'send mining.extranonce.subscribe (pool may change extranonce1 without a reconnect)')
    .option('--submit-rate <n>', `shares sent per second at most; when a pool's difficulty is so low that more are found, the best are sent and the rest counted as dropped (default ${MINE_DEFAULTS.submitRate})`)
    .option('--status-interval <s>', `seconds between status lines; 0 = only at exit (default ${MINE_DEFAULTS.statusInterval})`)
    .option('--http <[host:]port|off>', 'serve GET /status (JSON) and /metrics (Prometheus) here; a port alone listens on 127.0.0.1 only (default off)')
    .option('--api-listen [[host:]port]', `the cgminer API (summary, devs, pools, stats, config, version; read-only); alone: ${MINE_DEFAULTS.apiListen}; a port alone listens on 127.0.0.1 only (default off)`)
    .option('--api-allow <list>', "who may use the cgminer API, in cgminer's syntax [W:]address[/prefix],... e.g. 127.0.0.1,192.168.0/24 (default: this machine only)")
    .option('--log-format <json|pretty>', 'log format (default: pretty on a terminal, JSON otherwise)')
    .option('--log-level <level>', `log level: trace, debug, info, warn, error (default ${MINE_DEFAULTS.logLevel})`)
    .action(async (_opts: MineFlags, command: Command) => {
      let config: MineConfig;
      try {
        config = resolveMineConfig(givenOnCommandLine(command));
      } catch (err) {
        command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      await runMiner(config, command);
    });
}

/** Only the options typed on the command line, so a config file can fill the rest (commander sets defaults for --no-*). */
function givenOnCommandLine(command: Command): MineFlags {
  const opts = command.opts<Record<string, unknown>>();
  return Object.fromEntries(Object.entries(opts).filter(([key]) => command.getOptionValueSource(key) === 'cli')) as MineFlags;
}

async function runMiner(config: MineConfig, command: Command): Promise<void> {
  const log = createLogger({ format: config.logFormat, level: config.logLevel, name: 'mine' });
  // Quiet: the miner's own info lines (shares, connects) are dropped; this command's final status still prints.
  const minerLog = config.quiet ? log.child({}, { level: 'warn' }) : log;
  log.info({ config: describeMineConfig(config) }, 'starting miner');

  let miner: Miner;
  try {
    miner = new Miner({
      pools: config.pools,
      threads: config.threads,
      kernel: config.kernel,
      fallbackTimeMs: config.fallbackTimeMs,
      versionRolling: config.versionRolling,
      extranonceSubscribe: config.extranonceSubscribe,
      submitRatePerSecond: config.submitRate,
      logger: minerLog,
    });
  } catch (err) {
    command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
  }

  let endpoints: MinerEndpoints;
  try {
    endpoints = await startMinerEndpoints(miner, config, log);
  } catch (err) {
    command.error(`error: ${(err as Error).message}`, { exitCode: 1 });
  }

  let stopping = false;
  let statusTimer: NodeJS.Timeout | undefined;
  // Pretty logs show the line alone (fields would spread over many lines); JSON logs carry the fields too.
  const pretty = (config.logFormat ?? defaultLogFormat()) === 'pretty';
  const printStatus = (prefix: string) => {
    const s = miner.status();
    const line = `${prefix}${formatStatusLine(s)}`;
    if (pretty) log.info(line);
    else log.info(statusFields(s), line);
  };
  exitOnSignals({
    name: 'mine',
    log,
    graceMs: SHUTDOWN_GRACE_MS,
    stop: async (signal) => {
      stopping = true;
      if (statusTimer) clearInterval(statusTimer);
      log.info({ signal }, 'stopping: hashing stopped, waiting briefly for shares in flight');
      await miner.stop(SHUTDOWN_GRACE_MS);
      printStatus('final: ');
      await endpoints.close();
    },
  });

  try {
    await miner.start();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'miner failed to start');
    await miner.stop(0);
    log.flush?.();
    command.error(`error: ${(err as Error).message}`, { exitCode: 1 });
  }
  if (!config.quiet && config.statusIntervalMs > 0 && !stopping) {
    statusTimer = setInterval(() => printStatus(''), config.statusIntervalMs);
  }
}
