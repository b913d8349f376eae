// What the framework knows about each of its tasks, and how status updates move them. Updates arrive at least
// once and sometimes late, so applying the same update twice changes nothing, and a state a task has already
// left for a terminal one is never resurrected. TASK_LOST / TASK_UNREACHABLE are not terminal: the agent may
// come back, so such a task is kept (not counted) and killed later if it reappears and is surplus.
import type { TaskStatus } from './mesos-types.js';
import { listKey } from './tier.js';
import type { TaskFailure } from './task-history.js';
import type { MinerPorts, TaskRole } from './topology.js';

/** 'INTENT': recorded and persisted before ACCEPT, no status update seen yet. */
export type TaskPhase = 'INTENT' | string;

export interface TaskRecord {
  taskId: string;
  role: TaskRole;
  /** Miner worker name (e.g. 'miner-3'); the server has none. */
  worker?: string;
  agentId: string;
  hostname: string;
  state: TaskPhase;
  /** Server: host ports of stratum and HTTP status. */
  ports?: { stratum: number; http: number };
  /** Server: its place in the tier (`serve --server-index`), unique among the servers the framework knows. */
  index?: number;
  /** Miner: the server endpoints (host:port) it was launched with, in its failover order (its primary first). */
  servers?: string[];
  /** Miner: host ports of its cgminer API and its /status + /metrics, when asked for (schedule --miner-api/-http). */
  minerPorts?: MinerPorts;
  cpus: number;
  mem: number;
  launchedAt: number;
  updatedAt: number;
  runningSince?: number;
  healthy?: boolean;
  reason?: string;
  message?: string;
  /** We asked Mesos to kill it (rolling relaunch, surplus, unknown): its end is not a failure. */
  killRequested?: boolean;
  /** Tasks of its slot (worker name, server index) that ended before it, and the last that failed (task-history.ts). */
  restarts?: number;
  lastFailure?: TaskFailure;
}

export const TERMINAL_STATES = new Set([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);
/** The agent is out of touch: the task may still run and may come back. */
export const LIMBO_STATES = new Set(['TASK_LOST', 'TASK_UNREACHABLE']);
/** Counted towards the desired number of tasks. */
export const ACTIVE_STATES = new Set(['INTENT', 'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING']);

export function isTerminal(state: string): boolean {
  return TERMINAL_STATES.has(state);
}

export type UpdateOutcome =
  | { kind: 'unknown'; taskId: string; state: string }
  | { kind: 'duplicate'; record: TaskRecord }
  | { kind: 'changed'; record: TaskRecord; previous: TaskPhase }
  | { kind: 'terminal'; record: TaskRecord; previous: TaskPhase; ranForMs?: number };

/** Counts kept up to date on every change, so the questions asked on each status update cost O(1), not O(tasks). */
interface TaskIndex {
  /** Active (ACTIVE_STATES, not kill-requested) tasks per role. */
  active: Record<TaskRole, number>;
  /** Active miners per agent id. */
  minersOnAgent: Map<string, number>;
  /** Active servers per agent id. */
  serversOnAgent: Map<string, number>;
  /** Active miners per primary server endpoint (the first of their list). */
  primaries: Map<string, number>;
  /** Every server record (few: the tier, replacements, ones on unreachable agents). */
  servers: Set<TaskRecord>;
  /** Miners not asked to die, in any state, by the exact server list they were launched with. */
  minersByList: Map<string, Set<TaskRecord>>;
  /** Active miners not yet RUNNING. */
  minersStarting: number;
  /** RUNNING tasks (not kill-requested) per role. */
  running: Record<TaskRole, number>;
}

function emptyIndex(): TaskIndex {
  return {
    active: { server: 0, miner: 0 }, minersOnAgent: new Map(), serversOnAgent: new Map(), primaries: new Map(), servers: new Set(),
    minersByList: new Map(), minersStarting: 0, running: { server: 0, miner: 0 },
  };
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}

export class TaskStore {
  private readonly tasks = new Map<string, TaskRecord>();
  private index = emptyIndex();

  constructor(records: TaskRecord[] = []) {
    for (const r of records) this.add({ ...r });
  }

  /** Adds (sign 1) or removes (sign -1) a record's contribution to the index. */
  private indexRecord(r: TaskRecord, sign: 1 | -1): void {
    const ix = this.index;
    if (r.role === 'server') {
      if (sign === 1) ix.servers.add(r);
      else ix.servers.delete(r);
    } else if (!r.killRequested) {
      const key = listKey(r.servers ?? []);
      let set = ix.minersByList.get(key);
      if (sign === 1) {
        if (!set) ix.minersByList.set(key, (set = new Set()));
        set.add(r);
      } else if (set) {
        set.delete(r);
        if (set.size === 0) ix.minersByList.delete(key);
      }
    }
    if (!ACTIVE_STATES.has(r.state) || r.killRequested) return;
    ix.active[r.role] += sign;
    if (r.state === 'TASK_RUNNING') ix.running[r.role] += sign;
    if (r.role === 'miner') {
      bump(ix.minersOnAgent, r.agentId, sign);
      bump(ix.primaries, r.servers?.[0] ?? '', sign);
      if (r.state !== 'TASK_RUNNING') ix.minersStarting += sign;
    } else {
      bump(ix.serversOnAgent, r.agentId, sign);
    }
  }

  add(record: TaskRecord): void {
    if (this.tasks.has(record.taskId)) throw new Error(`task ${record.taskId} is already recorded`);
    this.tasks.set(record.taskId, record);
    this.indexRecord(record, 1);
  }

  get(taskId: string): TaskRecord | undefined {
    return this.tasks.get(taskId);
  }

  remove(taskId: string): void {
    const record = this.tasks.get(taskId);
    if (!record) return;
    this.indexRecord(record, -1);
    this.tasks.delete(taskId);
  }

  /** We asked Mesos to kill it: it no longer counts towards the desired state. */
  markKillRequested(record: TaskRecord): void {
    if (record.killRequested) return;
    const known = this.tasks.get(record.taskId) === record;
    if (known) this.indexRecord(record, -1);
    record.killRequested = true;
    if (known) this.indexRecord(record, 1);
  }

  /** Iterates the records without copying the list. */
  values(): IterableIterator<TaskRecord> {
    return this.tasks.values();
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  active(role?: TaskRole): TaskRecord[] {
    return this.all().filter((t) => ACTIVE_STATES.has(t.state) && !t.killRequested && (role === undefined || t.role === role));
  }

  activeCount(role: TaskRole): number {
    return this.index.active[role];
  }

  /** Active miners per agent id (a live view: copy it before changing it). */
  activeMinersOnAgents(): ReadonlyMap<string, number> {
    return this.index.minersOnAgent;
  }

  /** Active servers per agent id (a live view). */
  activeServersOnAgents(): ReadonlyMap<string, number> {
    return this.index.serversOnAgent;
  }

  /** Active miners per primary server endpoint (a live view: copy it before changing it). */
  primaryCounts(): ReadonlyMap<string, number> {
    return this.index.primaries;
  }

  servers(): TaskRecord[] {
    return [...this.index.servers];
  }

  /** Miners not asked to die, by the list key (tier.listKey) of the servers they were launched with (a live view). */
  minerGroups(): Iterable<[string, ReadonlySet<TaskRecord>]> {
    return this.index.minersByList;
  }

  /** Active miners not yet RUNNING. */
  minersStarting(): number {
    return this.index.minersStarting;
  }

  /** RUNNING tasks of a role, not counting those we asked to die. */
  runningCount(role: TaskRole): number {
    return this.index.running[role];
  }

  /** Tasks whose end we have not seen: what explicit reconciliation asks about. */
  nonTerminal(): TaskRecord[] {
    return this.all();
  }

  clear(): void {
    this.tasks.clear();
    this.index = emptyIndex();
  }

  apply(status: TaskStatus, now: number): UpdateOutcome {
    const taskId = status.task_id.value;
    const state = String(status.state);
    const record = this.tasks.get(taskId);
    if (!record) return { kind: 'unknown', taskId, state };
    const previous = record.state;
    const sameHealth = status.healthy === undefined || status.healthy === record.healthy;
    if (previous === state && sameHealth) return { kind: 'duplicate', record };

    this.indexRecord(record, -1);
    record.state = state;
    record.updatedAt = now;
    // Health belongs to a run: a task leaving RUNNING has no health until a check reports again.
    if (state !== previous && state !== 'TASK_RUNNING') delete record.healthy;
    if (status.healthy !== undefined) record.healthy = status.healthy;
    if (status.reason !== undefined) record.reason = String(status.reason);
    if (status.message !== undefined) record.message = status.message;
    if (status.agent_id?.value) record.agentId = status.agent_id.value;
    if (state === 'TASK_RUNNING' && previous !== 'TASK_RUNNING') record.runningSince = now;

    if (isTerminal(state)) {
      this.tasks.delete(taskId);
      const ranForMs = record.runningSince !== undefined ? now - record.runningSince : undefined;
      return { kind: 'terminal', record, previous, ...(ranForMs !== undefined ? { ranForMs } : {}) };
    }
    this.indexRecord(record, 1);
    return { kind: 'changed', record, previous };
  }

  /** For JSON.stringify at once (no copy: the records are serialised before anything can change them). */
  toJSON(): TaskRecord[] {
    return this.all();
  }
}
