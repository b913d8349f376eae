// TaskInfo construction: one planned task + the topology's command line -> the exact message Mesos gets.
// Three ways to run the CLI on an agent: the Docker containerizer (ContainerInfo.DOCKER), the Mesos
// containerizer with a Docker image (ContainerInfo.MESOS + Image.DOCKER), a plain command for agents that
// have the CLI installed, or a command whose CLI the Mesos fetcher brings. Always shell=false (no shell parses
// our arguments).
//  - Docker containerizer: no `value`, only `arguments`: Docker runs the image's ENTRYPOINT
//    (node /app/dist/cli.js) with the arguments appended.
//  - Mesos containerizer: it would also run the ENTRYPOINT for shell=false without `value` (its docker/runtime
//    isolator appends `arguments` to it), but not on agents started with --docker_ignore_runtime. So `value` is
//    set: the image's node binary, and then `arguments` is the full argv INCLUDING argv[0] (Mesos execs `value`
//    with `arguments` as argv, like execv), i.e. ['node', '/app/dist/cli.js', ...].
//  - command: `value` is the installed CLI, `arguments` again starts with argv[0].
//  - fetch: `uris` bring the bundle (extracted into the sandbox, cached per agent), `value` is node and the CLI is
//    the bundle's, relative to the sandbox (the task's working directory).
import { BUNDLE_CLI } from '../bundle/bundle.js';
import { ENV_EXPECT_BUNDLE } from '../bundle/expect.js';
import type { FetchOptions } from './fetch.js';
import type { CommandInfo, ContainerInfo, HealthCheck, Label, TaskInfo } from './mesos-types.js';
import type { PlannedMiner, PlannedServer } from './matching.js';
import {
  endpointKey, minerCommand, serverCommand, type LogLevel, type MinerListen, type MinerPorts, type ServerEndpoint, type TaskCommand, type TaskRole,
  type TaskSecrets, type UpstreamOptions,
} from './topology.js';

export type ContainerMode = 'docker' | 'mesos' | 'command' | 'fetch';
export const CONTAINER_MODES: readonly ContainerMode[] = ['docker', 'mesos', 'command', 'fetch'];
export type DockerNetwork = 'HOST' | 'BRIDGE';

export interface ContainerOptions {
  mode: ContainerMode;
  image: string;
  network: DockerNetwork;
  forcePull: boolean;
  /** Path of the mesos-miner executable on the agent (mode 'command'). */
  commandPath: string;
  /** What the fetcher brings and how the task runs it (mode 'fetch'). */
  fetch?: FetchOptions;
}

/** Ports the server binds inside its container when Docker BRIDGE networking maps host ports onto them. */
export const BRIDGE_CONTAINER_PORTS = { stratum: 3333, http: 8080 } as const;
/** The same for a miner's endpoints (cgminer's API port, and the server's HTTP port in a container of its own). */
export const BRIDGE_MINER_PORTS = { api: 4028, http: 8080 } as const;
/** Names of a miner's ports in its DiscoveryInfo (Mesos-DNS makes SRV records of them). */
export const MINER_PORT_NAMES = { api: 'cgminer-api', http: 'http-metrics' } as const;

export const LABEL_ROLE = 'mesos-miner.role';
export const LABEL_FRAMEWORK = 'mesos-miner.framework';
export const LABEL_SERVER = 'mesos-miner.server';
export const LABEL_SERVER_INDEX = 'mesos-miner.server-index';

const SECOND_NS = 1_000_000_000;

/** Where docker/Dockerfile puts node (the node:20-alpine base) and the CLI: used by --container mesos. */
export const IMAGE_NODE = '/usr/local/bin/node';
export const IMAGE_CLI = '/app/dist/cli.js';

function fetchOptionsOf(container: ContainerOptions): FetchOptions {
  if (!container.fetch) throw new Error('--container fetch needs the bundle URI');
  return container.fetch;
}

/** The node binary the task runs on: the agent's, or the one --node-uri brings into the sandbox. */
function nodeOf(container: ContainerOptions): string {
  return container.mode === 'fetch' ? fetchOptionsOf(container).node : 'node';
}

function commandInfo(cmd: TaskCommand, container: ContainerOptions): CommandInfo {
  const environment = { variables: Object.entries(cmd.env).map(([name, value]) => ({ name, value })) };
  if (container.mode === 'fetch') {
    const fetch = fetchOptionsOf(container);
    // Cached per agent under the URI, which names the bundle's contents: a new bundle is a new URI, never stale.
    const uris = [fetch.bundleUri, ...(fetch.nodeUri ? [fetch.nodeUri] : [])].map((value) => ({ value, extract: true, cache: true }));
    environment.variables.push({ name: ENV_EXPECT_BUNDLE, value: fetch.expect });
    return { shell: false, value: fetch.node, arguments: ['node', BUNDLE_CLI, ...cmd.args], uris, environment };
  }
  if (container.mode === 'command') {
    // shell=false: `value` is the executable and `arguments` the full argv, argv[0] included.
    return { shell: false, value: container.commandPath, arguments: ['mesos-miner', ...cmd.args], environment };
  }
  if (container.mode === 'mesos') {
    return { shell: false, value: IMAGE_NODE, arguments: ['node', IMAGE_CLI, ...cmd.args], environment };
  }
  return { shell: false, arguments: cmd.args, environment };
}

function containerInfo(container: ContainerOptions, portMappings?: { host_port: number; container_port: number }[]): ContainerInfo | undefined {
  if (container.mode === 'docker') {
    return {
      type: 'DOCKER',
      docker: {
        image: container.image,
        network: container.network,
        force_pull_image: container.forcePull,
        ...(container.network === 'BRIDGE' && portMappings
          ? { port_mappings: portMappings.map((m) => ({ ...m, protocol: 'tcp' })) } : {}),
      },
    };
  }
  if (container.mode === 'mesos') {
    return { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: container.image }, cached: !container.forcePull } } };
  }
  return undefined;
}

function labels(frameworkName: string, role: TaskRole, extra: Label[] = []): { labels: Label[] } {
  return { labels: [{ key: LABEL_FRAMEWORK, value: frameworkName }, { key: LABEL_ROLE, value: role }, ...extra] };
}

/** Whether the server binds container ports that Docker maps from the host ports of the offer. */
export function usesBridge(container: ContainerOptions): boolean {
  return container.mode === 'docker' && container.network === 'BRIDGE';
}

export interface ServerTaskInput {
  frameworkName: string;
  taskId: string;
  agentId: string;
  planned: PlannedServer;
  /** Place in the tier: `serve --server-index`, part of the task name. */
  index: number;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  container: ContainerOptions;
  /** The task's own log level (default info). */
  logLevel?: LogLevel;
}

export function buildServerTask(input: ServerTaskInput): TaskInfo {
  const { planned, container } = input;
  const bridge = usesBridge(container);
  const inside = bridge ? BRIDGE_CONTAINER_PORTS : planned.ports;
  const cmd = serverCommand(input.upstream, input.secrets, {
    stratum: `0.0.0.0:${inside.stratum}`,
    http: `0.0.0.0:${inside.http}`,
  }, { level: input.logLevel }, input.index);
  // Health checks run in the task's network namespace, so they use the port the server binds there. /health fails
  // once the server's upstream has been down for `serve --unhealthy-after`: Mesos then replaces the server.
  const healthCheck: HealthCheck = {
    type: 'HTTP',
    http: { port: inside.http, path: '/health', scheme: 'http', statuses: [200] },
    delay_seconds: 5,
    interval_seconds: 10,
    timeout_seconds: 5,
    consecutive_failures: 3,
    grace_period_seconds: 60,
  };
  const task: TaskInfo = {
    name: `${input.frameworkName}-server-${input.index}`,
    task_id: { value: input.taskId },
    agent_id: { value: input.agentId },
    resources: planned.resources,
    command: commandInfo(cmd, container),
    health_check: healthCheck,
    labels: labels(input.frameworkName, 'server', [
      { key: 'mesos-miner.stratum-port', value: String(planned.ports.stratum) }, { key: LABEL_SERVER_INDEX, value: String(input.index) },
    ]),
    // The server forwards pending shares on SIGTERM before it exits.
    kill_policy: { grace_period: { nanoseconds: 30 * SECOND_NS } },
  };
  const info = containerInfo(container, [
    { host_port: planned.ports.stratum, container_port: BRIDGE_CONTAINER_PORTS.stratum },
    { host_port: planned.ports.http, container_port: BRIDGE_CONTAINER_PORTS.http },
  ]);
  if (info) task.container = info;
  return task;
}

export interface MinerTaskInput {
  frameworkName: string;
  taskId: string;
  agentId: string;
  planned: PlannedMiner;
  /** Every server, in this miner's failover order (its primary first). */
  servers: ServerEndpoint[];
  worker: string;
  secrets: TaskSecrets;
  container: ContainerOptions;
  logLevel?: LogLevel;
  /** Host ports of its monitoring endpoints (taken from the offer), and who may use its cgminer API. */
  ports?: MinerPorts;
  apiAllow?: string;
}

/**
 * A miner has no port of its own, so its health check is a COMMAND that proves the miner's network can reach
 * the stratum port of at least one of its servers (all are tried at once): a miner whose primary server is gone
 * mines through another and stays healthy; one cut off from every server hashes nothing, and after a few failures
 * Mesos kills it and the framework relaunches it with the current server addresses.
 */
export function minerHealthCheck(servers: readonly ServerEndpoint[], node = 'node'): HealthCheck {
  const targets = JSON.stringify(servers.map((s) => [s.port, s.host]));
  const probe = `const n=require('net'),t=${targets};let f=0;setTimeout(()=>process.exit(1),4000);`
    + `for(const[p,h]of t){const s=n.connect(p,h);s.on('connect',()=>process.exit(0));s.on('error',()=>{if(++f===t.length)process.exit(1)})}`;
  return {
    type: 'COMMAND',
    command: { shell: false, value: node, arguments: ['node', '-e', probe] },
    delay_seconds: 15,
    interval_seconds: 30,
    timeout_seconds: 10,
    consecutive_failures: 3,
    grace_period_seconds: 60,
  };
}

export function buildMinerTask(input: MinerTaskInput): TaskInfo {
  const ports = input.ports ?? {};
  const endpoints = (['api', 'http'] as const).filter((e) => ports[e] !== undefined);
  // The endpoints listen on every interface of the agent (its port resource); the cgminer API still lets in only
  // the addresses --api-allow lists (loopback without it).
  const inside = (e: 'api' | 'http') => (usesBridge(input.container) ? BRIDGE_MINER_PORTS[e] : ports[e]!);
  const listen: MinerListen = Object.fromEntries(endpoints.map((e) => [e, `0.0.0.0:${inside(e)}`]));
  if (input.apiAllow) listen.apiAllow = input.apiAllow;
  const cmd = minerCommand(input.servers, input.worker, input.planned.threads, input.secrets, { level: input.logLevel }, listen);
  const task: TaskInfo = {
    name: `${input.frameworkName}-${input.worker}`,
    task_id: { value: input.taskId },
    agent_id: { value: input.agentId },
    resources: input.planned.resources,
    command: commandInfo(cmd, input.container),
    health_check: minerHealthCheck(input.servers, nodeOf(input.container)),
    labels: labels(input.frameworkName, 'miner', [{ key: LABEL_SERVER, value: endpointKey(input.servers[0]!) }]),
    kill_policy: { grace_period: { nanoseconds: 10 * SECOND_NS } },
  };
  if (endpoints.length > 0) {
    task.discovery = {
      visibility: 'FRAMEWORK',
      name: task.name,
      ports: { ports: endpoints.map((e) => ({ number: ports[e]!, name: MINER_PORT_NAMES[e], protocol: 'tcp' })) },
    };
  }
  const mappings = endpoints.map((e) => ({ host_port: ports[e]!, container_port: BRIDGE_MINER_PORTS[e] }));
  const info = containerInfo(input.container, mappings.length > 0 ? mappings : undefined);
  if (info) task.container = info;
  return task;
}
