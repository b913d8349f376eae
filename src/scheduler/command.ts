// `mesos-miner schedule` (the Mesos framework) and `mesos-miner local` (the same topology as child processes).
import os from 'node:os';
import type { Command } from 'commander';
import type { Bundle } from '../bundle/bundle.js';
import { createLogger, defaultLogFormat, parseLogFormat, type LogFormat, type Logger } from '../log.js';
import { SchedulerClient } from '../mesos/scheduler-client.js';
import { packageVersion } from '../stratum/version.js';
import { Framework, FRAMEWORK_DEFAULTS, frameworkInfo, type FrameworkConfig } from './framework.js';
import { fetchOptions, logBundleSource, schedulerBundle } from './fetch.js';
import type { Launcher } from './launcher.js';
import { LocalLauncher } from './local-launcher.js';
import {
  LOCAL_MINER_DEFAULTS, MAX_SERVERS, parseLocalFlags, parseScheduleFlags, SCHEDULE_HTTP_DEFAULTS, type LocalFlags, type ScheduleFlags,
} from './options.js';
import { StateFile } from './state-file.js';
import { defaultAdvertiseUrl, startStatusServer, type StatusServer } from './status-server.js';
import { TopologyPage } from './topology-page.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function fail(command: Command, err: unknown): never {
  command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
}

interface HttpEndpoint {
  listen: { host: string; port: number };
  /** Files served at /artifacts/<name> (the bundle, for --container fetch). */
  artifacts?: ReadonlyMap<string, Buffer>;
}

/**
 * Runs a launcher until SIGTERM/SIGINT, then stops it (forwarding SIGTERM to what it runs). The HTTP endpoint
 * starts first, so whatever the launcher starts can already reach it (agents fetch the bundle from it), and
 * `create` learns the port it got; the topology page is served there once the launcher exists. If either cannot
 * start, whatever did start is stopped again and the command fails with the reason (exit code 1).
 */
async function runUntilSignal(command: Command, endpoint: HttpEndpoint | undefined, create: (httpPort?: number) => Launcher, log: Logger): Promise<void> {
  let launcher: Launcher | undefined;
  let status: StatusServer | undefined;
  let page: TopologyPage | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, 'shutting down');
    stopping = (async () => {
      await launcher?.stop();
      page?.stop();
      await status?.close();
    })();
    stopping.then(() => process.exit(0), (err) => {
      log.error({ err: (err as Error).message }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    if (endpoint) {
      const pages = { handle: (...args: Parameters<TopologyPage['handle']>) => page?.handle(...args) ?? false };
      status = await startStatusServer(endpoint.listen, () => launcher?.status() ?? { starting: true }, endpoint.artifacts, pages);
      log.info({ http: `${endpoint.listen.host}:${status.port}` }, 'status endpoint listening (GET /status)');
    }
    if (stopping) return;
    launcher = create(status?.port);
    if (status) {
      page = new TopologyPage(launcher, { sampleSeconds: FRAMEWORK_DEFAULTS.serverStatsIntervalMs / 1000 });
      page.start();
    }
    await launcher.start();
  } catch (err) {
    await launcher?.stop().catch(() => undefined);
    page?.stop();
    await status?.close();
    log.error({ err: (err as Error).message }, 'cannot start');
    // Not a usage error: no help hint, exit code 1.
    process.stderr.write(`error: cannot start ${command.name()}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function addUpstreamOptions(cmd: Command): Command {
  return cmd
    .option('--pool <url>', 'upstream pool stratum+tcp://host:port (repeat for failover order)', collect)
    .option('--user <name>', 'pool account / worker name the server mines as')
    .option('--pool-pass-file <path>', `file holding the pool password (default: env ${'MESOS_MINER_POOL_PASS'})`)
    .option('--bitcoind <url>', 'solo mining: bitcoind RPC URL (credentials in the URL or env MESOS_MINER_BITCOIND_URL)')
    .option('--bitcoind-cookie <file>', "solo mining: the node's .cookie file, read at start; its credentials reach the server in its environment")
    .option('--payout <address>', 'solo mining: address that receives block rewards')
    .option('--coinbase-tag <text>', 'solo mining: text in the coinbase (default /mesos-miner/, at most 60 bytes)')
    .option('--miner-password-file <path>', 'file with the password miners use on the server (default: env MESOS_MINER_MINER_PASSWORD)');
}

export function registerSchedulerCommands(program: Command): void {
  const schedule = program.command('schedule')
    .description('run the Mesos framework: a tier of miner server tasks and N miner tasks on a Mesos cluster');
  addUpstreamOptions(schedule)
    .option('--master <url>', 'Mesos master http(s)://host:5050 (repeat or comma-separate for several)', collect)
    .option('--master-ca <file>', 'PEM CA certificate(s) to trust for an https master (or env NODE_EXTRA_CA_CERTS)')
    .option('--name <name>', 'framework name (also prefixes task ids)', FRAMEWORK_DEFAULTS.name)
    .option('--task-user <user>', 'OS user the tasks run as on the agents (default: this process\'s user)')
    .option('--role <roles>', 'comma-separated roles to receive offers for (MULTI_ROLE)', '*')
    .option('--principal <principal>', 'principal for HTTP basic authentication and FrameworkInfo.principal')
    .option('--secret-file <path>', 'file holding the principal\'s secret')
    .option('--content-type <type>', 'wire format to the master: protobuf or json', 'protobuf')
    .option('--state-file <path>', 'where the framework id and task state are persisted', '.state/scheduler.json')
    .option('--failover-timeout <seconds>', 'how long Mesos keeps tasks running while the scheduler is away', String(FRAMEWORK_DEFAULTS.failoverTimeoutSeconds))
    .option('--miners <n>', 'number of miner tasks', '2')
    .option('--servers <k>', `miner server tasks, one per agent where offers allow; every miner gets all of them in failover order (default: 2 with 2 or more miners, else 1; at most ${MAX_SERVERS})`)
    .option('--max-relaunch-fraction <f>', 'a server replaced at a new address reaches the miners by a rolling relaunch of at most this fraction of them at a time (at least 1)', String(FRAMEWORK_DEFAULTS.maxRelaunchFraction))
    .option('--miner-cpus <cpus>', 'CPUs per miner task; its --threads is the whole part (>= 1)', '1')
    .option('--miner-mem <mib>', 'memory per miner task in MiB (default: 128 + 16 per thread, from measurements)')
    .option('--server-cpus <cpus>', 'CPUs of the server task', '0.5')
    .option('--server-mem <mib>', 'memory of each server task in MiB (default: 128 + 32 per started 1,000 miners: any one server can carry the whole farm)')
    .option('--max-miners-per-agent <n>', 'at most this many miner tasks on one agent', String(FRAMEWORK_DEFAULTS.maxMinersPerAgent))
    .option('--miner-api', 'each miner task takes a port from its offer for the cgminer API (read-only; mine --api-listen 0.0.0.0:<port>); shown in /status (default off)')
    .option('--miner-api-allow <list>', "who may use the miners' cgminer API, cgminer's [W:]address[/prefix],... e.g. 10.0.0.0/8 (default: the agent's loopback only)")
    .option('--miner-http', 'each miner task takes a port from its offer for GET /status and /metrics (mine --http 0.0.0.0:<port>; open to whoever reaches the agent); shown in /status (default off)')
    .option('--container <mode>', 'docker (Docker containerizer), mesos (Mesos containerizer + Docker image), command (CLI installed on agents) or fetch (the Mesos fetcher brings the CLI bundle)', 'docker')
    .option('--image <image>', 'Docker image with the mesos-miner CLI as entrypoint', 'mesos-miner:latest')
    .option('--network <mode>', 'Docker network: host or bridge (bridge maps the offered ports)', 'host')
    .option('--force-pull', 'pull the image on every launch')
    .option('--command-path <path>', 'mesos-miner executable on the agents (--container command)', '/usr/local/bin/mesos-miner')
    .option('--bundle <file>', '--container fetch: serve this bundle (from mesos-miner bundle) instead of building one at start')
    .option('--bundle-uri <uri>', '--container fetch: agents fetch the bundle from here (http(s)://, hdfs://, s3a://...; a .tar.gz) instead of from this scheduler')
    .option('--node-uri <uri>', '--container fetch: a Node.js tarball (node-v20.x-linux-x64.tar.xz) fetched beside the bundle, for agents without node on PATH')
    .option('--http <host:port>', `scheduler endpoint: the topology page (GET /), GET /status, and the bundle for --container fetch; or off (default: ${SCHEDULE_HTTP_DEFAULTS.other}, ${SCHEDULE_HTTP_DEFAULTS.fetch} with --container fetch)`)
    .option('--advertise-url <url>', 'URL of --http as agents reach it (bundle downloads, webui_url) (default: http://<--http host, or this hostname>:<port>)')
    .option('--decline-seconds <s>', 'filter sent when declining offers we do not need', String(FRAMEWORK_DEFAULTS.declineRefuseSeconds))
    .option('--revive-interval <s>', 'wait this long before reviving again for the same missing tasks (a task that becomes launchable revives at once)', String(FRAMEWORK_DEFAULTS.reviveIntervalMs / 1000))
    .option('--launch-timeout <s>', 'a launch without a status update after this long is reconciled, then relaunched', String(FRAMEWORK_DEFAULTS.launchTimeoutMs / 1000))
    .option('--reconcile-interval <s>', 'period of the implicit reconciliation', String(FRAMEWORK_DEFAULTS.reconcileIntervalMs / 1000))
    .option('--teardown', 'tear the framework down (killing its tasks) when the scheduler exits')
    .option('--log-format <format>', 'json or pretty (default: pretty on a terminal)')
    .option('--log-level <level>', 'scheduler log level: trace, debug, info, warn, error, fatal, silent', 'info')
    .option('--task-log-level <level>', 'log level of the server and miner tasks', 'info')
    .action(async (flags: ScheduleFlags, command: Command) => {
      let settings;
      let log: Logger;
      try {
        settings = parseScheduleFlags({ ...flags, master: flags.master ?? ['http://127.0.0.1:5050'] });
        log = createLogger({ name: 'schedule', level: settings.logLevel, ...(flags.logFormat ? { format: parseLogFormat(flags.logFormat) } : {}) });
      } catch (err) {
        fail(command, err);
      }
      const { fetch } = settings;
      let bundle: Bundle | undefined;
      try {
        bundle = fetch ? schedulerBundle(fetch) : undefined;
      } catch (err) {
        process.stderr.write(`error: cannot start schedule: cannot make the bundle: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const served = bundle && !fetch?.bundleUri ? bundle : undefined;
      const endpoint = settings.http ? { listen: settings.http, ...(served ? { artifacts: new Map([[served.fileName, served.bytes]]) } : {}) } : undefined;
      await runUntilSignal(command, endpoint, (httpPort) => {
        const advertised = settings.http && httpPort !== undefined ? settings.advertiseUrl ?? defaultAdvertiseUrl(settings.http, httpPort) : undefined;
        const container = fetch ? { ...settings.framework.container, fetch: fetchOptions(fetch, bundle, packageVersion(), advertised) } : settings.framework.container;
        if (container.fetch) logBundleSource(log, container.fetch, bundle, served !== undefined);
        const config: FrameworkConfig = {
          ...FRAMEWORK_DEFAULTS,
          ...settings.framework,
          container,
          hostname: os.hostname(),
          workerPrefix: FRAMEWORK_DEFAULTS.workerPrefix,
          ...(advertised ? { webuiUrl: `${advertised}/` } : {}),
        };
        const client = new SchedulerClient({
          master: settings.masters,
          framework: frameworkInfo(config),
          contentType: settings.contentType,
          ...(settings.tls ? { tls: settings.tls } : {}),
          ...(settings.principal ? { principal: settings.principal } : {}),
          ...(settings.secret ? { secret: settings.secret } : {}),
          logger: log.child({ component: 'mesos' }),
        });
        return new Framework(config, client, new StateFile(settings.stateFile), log);
      }, log);
    });

  const local = program.command('local')
    .description('run a tier of miner servers and N miners as local processes (no Mesos), supervised and restarted');
  addUpstreamOptions(local)
    .option('--miners <n>', 'number of miner processes', '2')
    .option('--servers <k>', `miner server processes; every miner gets all of them in failover order (default: 2 with 2 or more miners, else 1; at most ${MAX_SERVERS})`)
    .option('--threads <n>', 'hashing threads per miner (default: cores / miners, at least 1)')
    .option('--listen <host:port>', 'stratum address of server 0 (server i: port + i); miners connect here', '127.0.0.1:3333')
    .option('--server-http <host:port>', 'HTTP /status, /metrics and /health of server 0 (server i: port + i)', '127.0.0.1:8080')
    .option('--http <host:port>', 'supervisor endpoint: the topology page (GET /) and GET /status; off unless given')
    .option('--miner-api [[host:]port]', `each miner's cgminer API (read-only), miner i on port + i - 1; alone: ${LOCAL_MINER_DEFAULTS.api}; a port alone listens on 127.0.0.1 (default off)`)
    .option('--miner-api-allow <list>', "who may use the miners' cgminer API, cgminer's [W:]address[/prefix],... (default: this machine's loopback only)")
    .option('--miner-http [[host:]port]', `each miner's GET /status and /metrics, miner i on port + i - 1; alone: ${LOCAL_MINER_DEFAULTS.http}; a port alone listens on 127.0.0.1 (default off)`)
    .option('--worker-prefix <prefix>', 'miners are named <prefix>-1 .. <prefix>-N', 'local')
    .option('--log-format <format>', 'json or pretty (default: pretty on a terminal)')
    .option('--log-level <level>', 'log level of the supervisor and its children: trace, debug, info, warn, error, fatal, silent', 'info')
    .action(async (flags: LocalFlags, command: Command) => {
      let settings;
      let log: Logger;
      let logFormat: LogFormat;
      try {
        settings = parseLocalFlags(flags);
        // The children log the way the supervisor does: pretty on a terminal, their lines prefixed with their name.
        logFormat = flags.logFormat ? parseLogFormat(flags.logFormat) : defaultLogFormat();
        log = createLogger({ name: 'local', level: settings.logLevel, format: logFormat });
      } catch (err) {
        fail(command, err);
      }
      const launcher = new LocalLauncher({
        ...settings,
        logFormat,
        restart: { baseMs: 1000, maxMs: 30_000, stableMs: 30_000 },
        stopGraceMs: 10_000,
        serverReadyTimeoutMs: 15_000,
        serverStatsIntervalMs: FRAMEWORK_DEFAULTS.serverStatsIntervalMs,
        log,
      });
      await runUntilSignal(command, settings.http ? { listen: settings.http } : undefined, () => launcher, log);
    });
}
