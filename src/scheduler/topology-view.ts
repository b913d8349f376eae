// What the topology page shows, from the /status of either launcher: the framework (schedule), the tier of servers
// with their own figures and where their pages are, every miner with its agent, state, health, restarts, last
// failure, primary server and endpoints, the farm's figures and the recent failures. One shape for `schedule` and
// `local`, so one page serves both; built from /status, so the page and /status always agree. Rows leave out what
// is empty (no restarts, no failure): a farm of 10,000 miners is a long list.
import type { FrameworkStatus } from './framework.js';
import type { LocalStatus } from './local-launcher.js';
import type { FarmFigures, ServerFigures } from './server-stats.js';
import type { ChildStatus } from './supervisor.js';
import type { FailureEntry, TaskFailure } from './task-history.js';

/** What every row shows of its task: where it runs, its state and health, its slot's restarts and last failure. */
interface TaskRow {
  host: string;
  state: string;
  healthy?: boolean;
  restarts?: number;
  failure?: string;
  failedAt?: number;
}

export interface ServerRow extends TaskRow {
  index?: number;
  name: string;
  /** host:port where miners connect, and where its page, /status and /metrics are. */
  stratum?: string;
  http?: string;
  /** Miners that have it as their primary. */
  primaryFor: number;
  stats?: ServerFigures;
}

export interface MinerRow extends TaskRow {
  worker: string;
  /** Index of its primary server (the first of its failover list). */
  primary?: number;
  /** host:port of its cgminer API and of its /status + /metrics, when it has them. */
  api?: string;
  http?: string;
  /** RUNNING since (ms since the epoch). */
  since?: number;
}

export interface TopologyView {
  at: number;
  mode: 'mesos' | 'local';
  framework?: {
    id?: string; subscribed: boolean; suppressed: boolean; reconciling: number; rolling: FrameworkStatus['rolling'];
  };
  desired: { servers: number; miners: number };
  running: { servers: number; miners: number };
  farm?: FarmFigures;
  servers: ServerRow[];
  /** Every miner; an update leaves it out when it has not changed since the previous one (topology-page.ts). */
  miners?: MinerRow[];
  /** Recent failures, newest first. */
  failures: FailureRow[];
}

export interface FailureRow {
  at: number;
  name: string;
  host: string;
  failure: string;
}

/** Mesos' state names without their TASK_ prefix; a launch Mesos has not confirmed yet is LAUNCHING. */
export function stateName(state: string): string {
  return state === 'INTENT' ? 'LAUNCHING' : state.replace(/^TASK_/, '');
}

/** "FAILED (COMMAND_EXECUTOR_FAILED): Command exited with status 1". */
export function failureText(f: Pick<TaskFailure, 'state' | 'reason' | 'message'>): string {
  const reason = f.reason ? ` (${f.reason.replace(/^REASON_/, '')})` : '';
  return `${stateName(f.state)}${reason}${f.message ? `: ${f.message}` : ''}`;
}

function failureRows(entries: FailureEntry[]): FailureRow[] {
  return entries.map((f) => ({ at: f.at, name: f.name, host: f.host, failure: failureText(f) }));
}

/** The row fields of a restart count and a last failure, left out when there are none. */
function history(restarts: number | undefined, failure: TaskFailure | undefined): Pick<TaskRow, 'restarts' | 'failure' | 'failedAt'> {
  return {
    ...(restarts ? { restarts } : {}),
    ...(failure ? { failure: failureText(failure), failedAt: failure.at } : {}),
  };
}

export function frameworkView(s: FrameworkStatus, now: number): TopologyView {
  const byTask = new Map(s.tasks.map((t) => [t.taskId, t]));
  const indexOf = new Map(s.servers.flatMap((v) => (v.stratumPort !== undefined && v.index !== undefined ? [[`${v.host}:${v.stratumPort}`, v.index]] : [])));
  const servers = s.servers.map((v): ServerRow => {
    const t = byTask.get(v.taskId);
    return {
      ...(v.index !== undefined ? { index: v.index } : {}),
      name: `server-${v.index ?? '?'}`,
      host: v.host,
      state: stateName(v.state),
      ...(v.healthy !== undefined ? { healthy: v.healthy } : {}),
      ...history(t?.restarts, t?.lastFailure),
      ...(v.stratumPort !== undefined ? { stratum: `${v.host}:${v.stratumPort}`, http: `${v.host}:${v.httpPort}` } : {}),
      primaryFor: v.primaryFor.length,
      ...(v.stats ? { stats: v.stats } : {}),
    };
  });
  const miners: MinerRow[] = [];
  for (const t of s.tasks) {
    if (t.role !== 'miner') continue;
    const primary = t.servers?.[0] === undefined ? undefined : indexOf.get(t.servers[0]);
    miners.push({
      worker: t.worker ?? t.taskId,
      host: t.hostname,
      state: stateName(t.state),
      ...(t.healthy !== undefined ? { healthy: t.healthy } : {}),
      ...history(t.restarts, t.lastFailure),
      ...(primary !== undefined ? { primary } : {}),
      ...(t.api ? { api: t.api } : {}),
      ...(t.http ? { http: t.http } : {}),
      ...(t.state === 'TASK_RUNNING' && t.runningSince !== undefined ? { since: t.runningSince } : {}),
    });
  }
  return {
    at: now,
    mode: 'mesos',
    framework: {
      ...(s.frameworkId ? { id: s.frameworkId } : {}), subscribed: s.subscribed, suppressed: s.suppressed, reconciling: s.reconciling, rolling: s.rolling,
    },
    desired: s.desired,
    running: s.running,
    ...(s.farm ? { farm: s.farm } : {}),
    servers,
    miners,
    failures: failureRows(s.failures),
  };
}

/** A child's last exit as a failure ("exited (exit code 1)"): local processes have no reasons of Mesos'. */
function exitFailure(child: ChildStatus | undefined): TaskFailure | undefined {
  const exit = child?.lastExit;
  if (!exit) return undefined;
  return { at: exit.at, state: 'exited', reason: exitReason(exit.code, exit.signal) };
}

/** How a local child ended: "exit code 1" or "signal SIGKILL". */
export function exitReason(code: number | null, signal: string | null): string {
  return code !== null ? `exit code ${code}` : `signal ${signal}`;
}

export function localView(s: LocalStatus, now: number): TopologyView {
  const children = new Map(s.children.map((c) => [c.name, c]));
  const running = (name: string) => children.get(name)?.state === 'running';
  const servers = s.servers.map((v): ServerRow => {
    const name = `server-${v.index}`;
    const child = children.get(name);
    return {
      index: v.index, name, host: s.host, state: child?.state ?? 'starting', ...history(child?.restarts, exitFailure(child)), stratum: v.stratum, http: v.http,
      primaryFor: s.miners.filter((m) => m.primary === v.index).length, ...(v.stats ? { stats: v.stats } : {}),
    };
  });
  const miners = s.miners.map((m): MinerRow => {
    const child = children.get(m.worker);
    return {
      worker: m.worker, host: s.host, state: child?.state ?? 'starting', ...history(child?.restarts, exitFailure(child)),
      ...(m.primary !== undefined ? { primary: m.primary } : {}), ...(m.api ? { api: m.api } : {}), ...(m.http ? { http: m.http } : {}),
      ...(child?.runningSince !== undefined ? { since: child.runningSince } : {}),
    };
  });
  return {
    at: now,
    mode: 'local',
    desired: { servers: s.servers.length, miners: s.miners.length },
    running: { servers: servers.filter((v) => running(v.name)).length, miners: miners.filter((m) => running(m.worker)).length },
    ...(s.farm ? { farm: s.farm } : {}),
    servers,
    miners,
    failures: failureRows(s.failures),
  };
}
