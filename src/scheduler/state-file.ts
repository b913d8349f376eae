// The scheduler's persisted state: written atomically (temp file + fsync + rename) so a crash mid-write leaves
// the previous version intact, and serialised so two saves never interleave. Callers await save() before they
// rely on what it records (framework id before acting as that framework, launch intents before ACCEPT).
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TaskRecord } from './task-store.js';

export const STATE_VERSION = 1;

export interface PersistedState {
  version: number;
  frameworkId?: string;
  tasks: TaskRecord[];
}

export function emptyState(): PersistedState {
  return { version: STATE_VERSION, tasks: [] };
}

function parseState(text: string, path: string): PersistedState {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`state file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null) throw new Error(`state file ${path} does not hold an object`);
  const obj = data as Record<string, unknown>;
  if (obj.version !== STATE_VERSION) throw new Error(`state file ${path} has version ${String(obj.version)}, expected ${STATE_VERSION}`);
  if (obj.frameworkId !== undefined && typeof obj.frameworkId !== 'string') throw new Error(`state file ${path}: frameworkId must be a string`);
  if (!Array.isArray(obj.tasks)) throw new Error(`state file ${path}: tasks must be an array`);
  for (const t of obj.tasks as Record<string, unknown>[]) {
    if (typeof t?.taskId !== 'string' || (t.role !== 'server' && t.role !== 'miner') || typeof t.agentId !== 'string') {
      throw new Error(`state file ${path}: malformed task record ${JSON.stringify(t)}`);
    }
    // Written before the tier of servers: a miner had one server.
    if (t.role === 'miner' && t.servers === undefined && typeof t.server === 'string') {
      t.servers = [t.server];
      delete t.server;
    }
  }
  return obj as unknown as PersistedState;
}

export class StateFile {
  private chain: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private latest: () => PersistedState = emptyState;
  private counter = 0;

  constructor(readonly path: string) {}

  /** The saved state, or an empty one when the file does not exist yet. A corrupt file is an error, not a reset. */
  async load(): Promise<PersistedState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new Error(`cannot read state file ${this.path}: ${(err as Error).message}`);
    }
    return parseState(text, this.path);
  }

  /**
   * Resolves once a version at least as new as `state` is on disk. Saves that arrive while a write is in
   * flight are coalesced into one next write of the newest state, so a burst of status updates costs a few
   * fsyncs, not one each. Pass a function to defer building (and serialising) the state to the moment it is
   * written: a burst of N saves then serialises the task list a few times, not N times.
   */
  save(state: PersistedState | (() => PersistedState)): Promise<void> {
    this.latest = typeof state === 'function' ? state : () => state;
    if (!this.pending) {
      const run = this.chain.then(() => {
        this.pending = undefined;
        return this.write(JSON.stringify(this.latest()) + '\n');
      });
      this.pending = run;
      this.chain = run.catch(() => undefined);
    }
    return this.pending;
  }

  private async write(text: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++this.counter}.tmp`;
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`cannot write state file ${this.path}: ${(err as Error).message}`);
    }
  }
}
