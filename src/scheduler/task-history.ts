// What the launchers remember beyond each task's own record: per slot (a miner's worker name, a server's index),
// how many times its task has ended and been launched again and why it last failed, and the farm's recent failures
// newest first. A replacement takes its predecessor's slot (the lowest free worker name or index), so the count
// follows the slot, and it is written into each new task's record (and with it into the state file).
import type { TaskRecord } from './task-store.js';

/** Why a task (or a local child) ended when nobody asked it to: its last state and the reason given. */
export interface TaskFailure {
  /** ms since the epoch. */
  at: number;
  state: string;
  reason?: string;
  message?: string;
}

/** One failure in the recent list: which slot, on which host. */
export interface FailureEntry extends TaskFailure {
  name: string;
  host: string;
}

/** The `max` most recent failures, newest first. */
export class RecentFailures {
  private readonly entries: FailureEntry[] = [];

  constructor(private readonly max = 20) {}

  add(entry: FailureEntry): void {
    this.entries.unshift(entry);
    if (this.entries.length > this.max) this.entries.pop();
  }

  list(): FailureEntry[] {
    return [...this.entries];
  }
}

/** A task's slot: its worker name, or `server-<index>`. */
export function slotName(t: Pick<TaskRecord, 'role' | 'worker' | 'index' | 'taskId'>): string {
  return t.role === 'miner' ? t.worker ?? t.taskId : `server-${t.index ?? '?'}`;
}

interface Slot { restarts: number; lastFailure?: TaskFailure }

export class TaskHistory {
  private readonly slots = new Map<string, Slot>();
  readonly recent = new RecentFailures();

  /** The records of a state file: their slots' counts carry on. */
  restore(records: Iterable<TaskRecord>): void {
    for (const r of records) {
      const slot = this.slot(slotName(r));
      slot.restarts = Math.max(slot.restarts, r.restarts ?? 0);
      if (r.lastFailure && r.lastFailure.at >= (slot.lastFailure?.at ?? 0)) slot.lastFailure = r.lastFailure;
    }
  }

  /** A new task of a slot: it starts with the slot's count of ended tasks and its last failure. */
  launched(record: TaskRecord): void {
    const slot = this.slots.get(slotName(record));
    if (!slot) return;
    if (slot.restarts > 0) record.restarts = slot.restarts;
    if (slot.lastFailure) record.lastFailure = slot.lastFailure;
  }

  /**
   * A task left the running world: terminal, or on an agent out of touch. Ended tasks count as the slot's restarts
   * (the next task of the slot is one); one that ended without our asking is a failure, recorded once: a task that
   * ends after it went out of touch (`afterLimbo`) had its failure recorded then.
   */
  ended(record: TaskRecord, terminal: boolean, now: number, afterLimbo = false): void {
    const slot = this.slot(slotName(record));
    if (terminal) slot.restarts += 1;
    if (record.killRequested || afterLimbo) return;
    const failure: TaskFailure = {
      at: now, state: record.state, ...(record.reason ? { reason: record.reason } : {}), ...(record.message ? { message: record.message } : {}),
    };
    slot.lastFailure = failure;
    record.lastFailure = failure;
    this.recent.add({ ...failure, name: slotName(record), host: record.hostname });
  }

  private slot(name: string): Slot {
    let slot = this.slots.get(name);
    if (!slot) this.slots.set(name, (slot = { restarts: 0 }));
    return slot;
  }
}
