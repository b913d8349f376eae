// Shared plumbing for the stratum tests: start pools and managers, wait for events with a deadline, clean up.
import type { EventEmitter } from 'node:events';
import { PoolManager, type PoolManagerOptions, type WorkSet } from '../../src/stratum/pool-manager.js';
import type { LogSink } from '../../src/log.js';
import { ScriptedPool, type ScriptedPoolOptions } from './scripted-pool.js';

export interface LogEntry {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

/** A logger that keeps every entry, so tests can assert that bad input was reported clearly. */
export function recordingLogger(): LogSink & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: object, msg: string) => entries.push({ level, msg, obj: obj as Record<string, unknown> });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Manager options for tests: the harness supplies fast reconnect backoff unless given. */
export type TestManagerOptions = Omit<PoolManagerOptions, 'backoff'> & Partial<Pick<PoolManagerOptions, 'backoff'>>;

export class Harness {
  readonly pools: ScriptedPool[] = [];
  readonly managers: PoolManager[] = [];

  async pool(options: ScriptedPoolOptions = {}): Promise<ScriptedPool> {
    const pool = new ScriptedPool(options);
    this.pools.push(pool);
    await pool.start();
    return pool;
  }

  manager(options: TestManagerOptions): PoolManager {
    const m = new PoolManager({
      backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
      fallbackTimeMs: 0,
      ...options,
      client: { requestTimeoutMs: 2000, submitTimeoutMs: 2000, configureGraceMs: 200, ...options.client },
    });
    this.managers.push(m);
    return m;
  }

  /** A pool and a started manager on it (one pool, user 'w'), returned once the first job has arrived. */
  async mining(
    poolOptions: ScriptedPoolOptions = {},
    managerOptions: Partial<TestManagerOptions> = {},
  ): Promise<{ pool: ScriptedPool; m: PoolManager; work: WorkSet }> {
    const pool = await this.pool(poolOptions);
    const m = this.manager({ pools: [{ url: pool.url, user: 'w' }], ...managerOptions });
    const first = nextEvent<WorkSet>(m, 'job');
    m.start();
    return { pool, m, work: await first };
  }

  async cleanup(): Promise<void> {
    for (const m of this.managers.splice(0)) m.stop();
    for (const p of this.pools.splice(0)) await p.stop();
  }
}

/** Resolves with the next `event` whose payload passes `match`; rejects after timeoutMs. */
export function nextEvent<T = any>(
  emitter: EventEmitter<any>,
  event: string,
  match: (value: T) => boolean = () => true,
  timeoutMs = 3000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T) => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}
