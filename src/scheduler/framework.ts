// The framework: keeps one server task and N miner tasks running on a Mesos cluster through SchedulerClient.
// Everything that reacts to the master runs one event at a time through a promise queue, so a state change is
// persisted before the call that relies on it (framework id before acting as it, launch intents before ACCEPT,
// status changes before ACKNOWLEDGE) and no two handlers ever interleave.
import { randomUUID } from 'node:crypto';
import type { SchedulerClient } from '../mesos/scheduler-client.js';
import type { Logger } from '../log.js';
import { backoffDelay, RelaunchBackoff, type BackoffOptions } from './backoff.js';
import { planOffers, type PlacementRequest, type TaskShape } from './matching.js';
import type { FrameworkInfo, Offer, Subscribed, TaskInfo, TaskStatus } from './mesos-types.js';
import type { Launcher } from './launcher.js';
import { StateFile } from './state-file.js';
import { buildMinerTask, buildServerTask, type ContainerOptions } from './task-spec.js';
import { isTerminal, LIMBO_STATES, TaskStore, type TaskRecord, type UpdateOutcome } from './task-store.js';
import { endpointKey, type ServerEndpoint, type TaskRole, type TaskSecrets, type UpstreamOptions } from './topology.js';

export interface FrameworkConfig {
  name: string;
  /** OS user the tasks run as on the agents. */
  user: string;
  roles: string[];
  principal?: string;
  hostname?: string;
  webuiUrl?: string;
  failoverTimeoutSeconds: number;
  miners: number;
  server: TaskShape;
  miner: TaskShape;
  maxMinersPerAgent: number;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  container: ContainerOptions;
  /** Worker names are `<prefix>-<n>`. */
  workerPrefix: string;
  /** Filter sent with DECLINE of offers we do not need. */
  declineRefuseSeconds: number;
  /** At most one REVIVE per this interval. */
  reviveIntervalMs: number;
  /** A launch with no status update after this long is reconciled, then given up. */
  launchTimeoutMs: number;
  /** Implicit reconciliation period. */
  reconcileIntervalMs: number;
  /** Explicit reconciliation retry pacing. */
  reconcileBackoff: BackoffOptions;
  relaunchBackoff: BackoffOptions & { stableMs: number };
  /** A KILL with no terminal update after this long is sent again. */
  killRetryMs: number;
  /** Timer period for timeouts, retries and revives. */
  tickMs: number;
  teardownOnExit: boolean;
}

export const FRAMEWORK_DEFAULTS = {
  name: 'mesos-miner',
  failoverTimeoutSeconds: 7 * 24 * 3600,
  maxMinersPerAgent: 8,
  workerPrefix: 'miner',
  declineRefuseSeconds: 600,
  reviveIntervalMs: 30_000,
  launchTimeoutMs: 300_000,
  reconcileIntervalMs: 600_000,
  reconcileBackoff: { baseMs: 1000, maxMs: 60_000 },
  relaunchBackoff: { baseMs: 1000, maxMs: 120_000, stableMs: 60_000 },
  killRetryMs: 60_000,
  tickMs: 1000,
} as const;

export const CAPABILITIES = ['PARTITION_AWARE', 'MULTI_ROLE', 'TASK_KILLING_STATE'] as const;

export function frameworkInfo(config: FrameworkConfig, id?: string): FrameworkInfo {
  return {
    user: config.user,
    name: config.name,
    ...(id ? { id: { value: id } } : {}),
    failover_timeout: config.failoverTimeoutSeconds,
    checkpoint: true,
    roles: config.roles,
    ...(config.principal ? { principal: config.principal } : {}),
    ...(config.hostname ? { hostname: config.hostname } : {}),
    ...(config.webuiUrl ? { webui_url: config.webuiUrl } : {}),
    capabilities: CAPABILITIES.map((type) => ({ type })),
  };
}

export interface FrameworkStatus {
  frameworkId?: string;
  subscribed: boolean;
  suppressed: boolean;
  desired: { servers: 1; miners: number };
  running: { servers: number; miners: number };
  server?: { taskId: string; host: string; stratumPort: number; httpPort: number; state: string; healthy?: boolean };
  reconciling: number;
  tasks: Array<Omit<TaskRecord, 'cpus' | 'mem'> & { cpus: number; mem: number }>;
}

type Clock = () => number;

export class Framework implements Launcher {
  private readonly store: TaskStore;
  private frameworkId: string | undefined;
  private subscribed = false;
  private suppressed = false;
  /** Some agents are filtered by a long DECLINE: only REVIVE brings their offers back early. */
  private filtersActive = false;
  private lastReviveAt = Number.NEGATIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();
  private readonly background = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Record<TaskRole, RelaunchBackoff>;
  private reconcile = { pending: new Set<string>(), attempt: 0, nextAt: 0 };
  private nextImplicitReconcileAt = Number.POSITIVE_INFINITY;
  private readonly launchReconcileSentAt = new Map<string, number>();
  private readonly killSentAt = new Map<string, number>();
  private stopped = false;
  private readonly listeners: Array<[string, (...args: never[]) => void]> = [];

  constructor(
    readonly config: FrameworkConfig,
    private readonly client: SchedulerClient,
    private readonly stateFile: StateFile,
    private readonly log: Logger,
    private readonly now: Clock = Date.now,
  ) {
    if (!Number.isInteger(config.miners) || config.miners < 0) throw new Error(`miners must be an integer >= 0, got ${config.miners}`);
    this.store = new TaskStore();
    this.backoff = { server: new RelaunchBackoff(config.relaunchBackoff), miner: new RelaunchBackoff(config.relaunchBackoff) };
  }

  /** Loads the state file, restores the framework id, subscribes. */
  async start(): Promise<void> {
    const state = await this.stateFile.load();
    this.frameworkId = state.frameworkId;
    for (const record of state.tasks) this.store.add({ ...record });
    if (this.frameworkId) this.client.setFrameworkId(this.frameworkId);
    this.log.info({ frameworkId: this.frameworkId, tasks: state.tasks.length, stateFile: this.stateFile.path }, 'framework starting');

    this.listen('subscribed', (s: Subscribed) => this.enqueue('subscribed', () => this.onSubscribed(s)));
    this.listen('offers', (offers: Offer[]) => this.enqueue('offers', () => this.onOffers(offers)));
    this.listen('update', (status: TaskStatus) => this.enqueue('update', () => this.onUpdate(status)));
    this.listen('rescind', (offerId: { value: string }) => this.log.info({ offerId: offerId.value }, 'offer rescinded'));
    this.listen('disconnected', (reason: string) => {
      this.subscribed = false;
      this.log.warn({ reason }, 'disconnected from master; the client resubscribes');
    });
    this.listen('framework_removed', (message: string) => this.enqueue('framework_removed', () => this.onFrameworkRemoved(message)));
    this.listen('failure', (f: { agent_id?: { value: string }; status?: number }) => this.log.warn({ agentId: f.agent_id?.value, status: f.status }, 'agent or executor failure'));
    this.listen('error_event', (message: string) => this.log.error({ message }, 'master sent ERROR'));
    this.listen('inverse_offers', () => this.log.debug({}, 'inverse offers ignored (maintenance is handled by task relaunch)'));

    this.timer = setInterval(() => this.enqueue('tick', () => this.onTick()), this.config.tickMs);
    this.timer.unref();
    this.client.start();
  }

  /** Stops the client; with teardownOnExit the framework (and all its tasks) is torn down first. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
    if (this.config.teardownOnExit && this.subscribed) {
      try {
        await this.client.teardown();
        this.log.info({ frameworkId: this.frameworkId }, 'framework torn down');
        this.frameworkId = undefined;
        this.store.clear();
        await this.persist();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'teardown failed; tasks keep running until the failover timeout');
      }
    }
    for (const [event, fn] of this.listeners) this.client.off(event as never, fn as never);
    await this.client.stop();
  }

  status(): FrameworkStatus {
    const server = this.currentServer();
    return {
      ...(this.frameworkId ? { frameworkId: this.frameworkId } : {}),
      subscribed: this.subscribed,
      suppressed: this.suppressed,
      desired: { servers: 1, miners: this.config.miners },
      running: {
        servers: this.store.all().filter((t) => t.role === 'server' && t.state === 'TASK_RUNNING').length,
        miners: this.store.all().filter((t) => t.role === 'miner' && t.state === 'TASK_RUNNING').length,
      },
      ...(server ? {
        server: {
          taskId: server.taskId, host: server.hostname, stratumPort: server.ports!.stratum, httpPort: server.ports!.http,
          state: server.state, ...(server.healthy !== undefined ? { healthy: server.healthy } : {}),
        },
      } : {}),
      reconciling: this.reconcile.pending.size,
      tasks: this.store.all().map((t) => ({ ...t })),
    };
  }

  /** Resolves when every event received so far has been handled, saved and acknowledged (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queue;
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  private listen(event: string, fn: (...args: never[]) => void): void {
    this.client.on(event as never, fn as never);
    this.listeners.push([event, fn]);
  }

  private enqueue(what: string, fn: () => Promise<void> | void): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => {
      this.log.error({ err: (err as Error).message, handler: what }, 'framework handler failed');
    });
  }

  private async persist(): Promise<void> {
    await this.stateFile.save({ version: 1, ...(this.frameworkId ? { frameworkId: this.frameworkId } : {}), tasks: this.store.toJSON() });
  }

  // ---- subscription ----

  private async onSubscribed(s: Subscribed): Promise<void> {
    const id = s.framework_id.value;
    if (this.frameworkId && this.frameworkId !== id) {
      // The master did not accept our old id: whatever ran under it is gone.
      this.log.warn({ oldId: this.frameworkId, newId: id }, 'subscribed under a new framework id; forgetting old tasks');
      this.store.clear();
    }
    this.frameworkId = id;
    await this.persist();
    this.subscribed = true;
    this.suppressed = false;
    this.filtersActive = false;
    this.log.info({ frameworkId: id, heartbeatSeconds: s.heartbeat_interval_seconds }, 'subscribed');
    const now = this.now();
    this.reconcile = { pending: new Set(this.store.all().map((t) => t.taskId)), attempt: 0, nextAt: now };
    this.nextImplicitReconcileAt = now + this.config.reconcileIntervalMs;
    await this.sendExplicitReconcile(now);
    await this.adjustOfferInterest(now);
  }

  private async onFrameworkRemoved(message: string): Promise<void> {
    this.log.error({ message, frameworkId: this.frameworkId }, 'master removed the framework; starting fresh');
    this.frameworkId = undefined;
    this.store.clear();
    this.reconcile.pending.clear();
    this.subscribed = false;
    await this.persist();
  }

  private async sendExplicitReconcile(now: number): Promise<void> {
    const pending = this.reconcile.pending;
    for (const id of [...pending]) if (!this.store.get(id)) pending.delete(id);
    if (pending.size === 0) return;
    const tasks = [...pending].map((id) => ({ task_id: { value: id }, agent_id: { value: this.store.get(id)!.agentId } }));
    this.reconcile.attempt += 1;
    this.reconcile.nextAt = now + backoffDelay(this.reconcile.attempt, this.config.reconcileBackoff);
    this.log.info({ tasks: tasks.length, attempt: this.reconcile.attempt }, 'explicit reconciliation');
    await this.call('reconcile', () => this.client.reconcile(tasks));
  }

  // ---- offers ----

  /** The running server the miners should point at: the one most live miners already use, else the newest. */
  private currentServer(): TaskRecord | undefined {
    const running = this.store.all().filter((t) => t.role === 'server' && t.state === 'TASK_RUNNING' && !t.killRequested && t.ports);
    if (running.length <= 1) return running[0];
    const users = (s: TaskRecord) => this.store.active('miner').filter((m) => m.server === endpointKey(this.endpointOf(s))).length;
    return running.sort((a, b) => users(b) - users(a) || b.launchedAt - a.launchedAt)[0];
  }

  private endpointOf(server: TaskRecord): ServerEndpoint {
    return { host: server.hostname, port: server.ports!.stratum };
  }

  private demand(now: number): PlacementRequest & { blocked: boolean } {
    const servers = this.store.active('server');
    const serverMissing = servers.length === 0;
    const needServer = serverMissing && this.backoff.server.waitMs(now) === 0;
    const current = this.currentServer();
    const endpoint = current ? endpointKey(this.endpointOf(current)) : undefined;
    const miners = this.store.active('miner').filter((m) => m.server === endpoint);
    const minersMissing = endpoint ? Math.max(0, this.config.miners - miners.length) : this.config.miners;
    const minersWanted = endpoint && this.backoff.miner.waitMs(now) === 0 ? minersMissing : 0;
    const minersOnAgent = new Map<string, number>();
    for (const m of this.store.active('miner')) minersOnAgent.set(m.agentId, (minersOnAgent.get(m.agentId) ?? 0) + 1);
    return {
      needServer,
      minersWanted,
      server: this.config.server,
      miner: this.config.miner,
      maxMinersPerAgent: this.config.maxMinersPerAgent,
      minersOnAgent,
      // Something is missing but cannot be launched yet (server starting, relaunch backoff).
      blocked: (serverMissing && !needServer) || (minersMissing > 0 && minersWanted === 0),
    };
  }

  private nextWorkerNames(count: number): string[] {
    const used = new Set(this.store.all().filter((t) => t.role === 'miner' && !t.killRequested).map((t) => t.worker));
    const names: string[] = [];
    for (let i = 1; names.length < count; i++) {
      const name = `${this.config.workerPrefix}-${i}`;
      if (!used.has(name)) names.push(name);
    }
    return names;
  }

  private async onOffers(offers: Offer[]): Promise<void> {
    const now = this.now();
    if (this.stopped || !this.subscribed) {
      await this.declineAll(offers, now);
      return;
    }
    const request = this.demand(now);
    const result = planOffers(offers, request);
    const launches: Array<{ offer: Offer; tasks: TaskInfo[] }> = [];
    const server = this.currentServer();
    const workers = this.nextWorkerNames(result.launches.reduce((n, l) => n + l.tasks.filter((t) => t.role === 'miner').length, 0));
    for (const plan of result.launches) {
      const tasks: TaskInfo[] = [];
      for (const planned of plan.tasks) {
        const taskId = `${this.config.name}.${planned.role}.${randomUUID()}`;
        const agentId = plan.offer.agent_id.value;
        const cpus = planned.resources.filter((r) => r.name === 'cpus').reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
        const mem = planned.resources.filter((r) => r.name === 'mem').reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
        const record: TaskRecord = {
          taskId, role: planned.role, agentId, hostname: plan.offer.hostname, state: 'INTENT', cpus, mem, launchedAt: now, updatedAt: now,
        };
        if (planned.role === 'server') {
          record.ports = planned.ports;
          tasks.push(buildServerTask({
            frameworkName: this.config.name, taskId, agentId, planned, upstream: this.config.upstream,
            secrets: this.config.secrets, container: this.config.container,
          }));
        } else {
          const endpoint = this.endpointOf(server!);
          record.worker = workers.shift()!;
          record.server = endpointKey(endpoint);
          tasks.push(buildMinerTask({
            frameworkName: this.config.name, taskId, agentId, planned, server: endpoint, worker: record.worker,
            secrets: this.config.secrets, container: this.config.container,
          }));
        }
        this.store.add(record);
      }
      launches.push({ offer: plan.offer, tasks });
    }
    // Intents are on disk before any ACCEPT: after a crash we reconcile them instead of forgetting them.
    if (launches.length > 0) await this.persist();
    const stillWanted = result.unplaced.server || result.unplaced.miners > 0;
    // The rest of an accepted offer goes back with a short filter while we still want more, a long one otherwise.
    const filters = { refuse_seconds: stillWanted ? 5 : this.config.declineRefuseSeconds };
    await Promise.all(launches.map(({ offer, tasks }) => {
      this.log.info({ offerId: offer.id.value, agent: offer.hostname, tasks: tasks.map((t) => t.task_id.value) }, 'launching');
      return this.call('launch', () => this.client.launch([offer.id], tasks, filters));
    }));
    await this.declineAll(result.unused, now);
    await this.adjustOfferInterest(now);
  }

  /** One DECLINE call for all offers we do not use, with the long filter. */
  private async declineAll(offers: Offer[], _now: number): Promise<void> {
    if (offers.length === 0) return;
    this.filtersActive = true;
    await this.call('decline', () => this.client.decline(offers.map((o) => o.id), { refuse_seconds: this.config.declineRefuseSeconds }));
  }

  /** SUPPRESS when nothing is missing; REVIVE (rate-limited) when something launchable is missing. */
  private async adjustOfferInterest(now: number): Promise<void> {
    if (!this.subscribed || this.stopped) return;
    const request = this.demand(now);
    const missing = request.needServer || request.minersWanted > 0;
    if (!missing && !request.blocked) {
      if (!this.suppressed) {
        this.suppressed = true;
        this.log.info({}, 'desired state reached: suppressing offers');
        await this.call('suppress', () => this.client.suppress(this.config.roles));
      }
      return;
    }
    if (!missing) return; // waiting for the server to run or a backoff to expire: the tick comes back
    if ((this.suppressed || this.filtersActive) && now - this.lastReviveAt >= this.config.reviveIntervalMs) {
      this.lastReviveAt = now;
      this.suppressed = false;
      this.filtersActive = false;
      this.log.info({ server: request.needServer, miners: request.minersWanted }, 'tasks missing: reviving offers');
      await this.call('revive', () => this.client.revive(this.config.roles));
    }
  }

  // ---- status updates ----

  private async onUpdate(status: TaskStatus): Promise<void> {
    const now = this.now();
    const outcome = this.store.apply(status, now);
    this.reconcile.pending.delete(status.task_id.value);
    this.launchReconcileSentAt.delete(status.task_id.value);
    this.logUpdate(status, outcome);
    let dirty = outcome.kind === 'changed' || outcome.kind === 'terminal';
    if (outcome.kind === 'terminal') {
      this.killSentAt.delete(outcome.record.taskId);
      this.backoff[outcome.record.role].recordExit(now, outcome.ranForMs, outcome.record.killRequested === true);
    }
    if (outcome.kind === 'unknown' && !LIMBO_STATES.has(outcome.state) && !isTerminal(outcome.state) && outcome.state !== 'TASK_KILLING') {
      // A live task of ours that the state file does not know (e.g. state lost): we cannot know its
      // configuration, so we kill it rather than adopt it.
      this.log.warn({ taskId: outcome.taskId, state: outcome.state }, 'unknown live task: killing it');
      await this.call('kill', () => this.client.kill(status.task_id, status.agent_id));
    }
    if (outcome.kind === 'changed' || outcome.kind === 'terminal') dirty = (await this.enforceTopology(now)) || dirty;
    // Acknowledge only after the new state is on disk, and only updates that carry a uuid. The write and the
    // ACKNOWLEDGE run beside the queue (saves coalesce), so a burst of updates does not wait on one fsync each.
    const saved = dirty ? this.persist() : Promise.resolve();
    if (status.uuid && status.uuid.length > 0 && status.agent_id) {
      const { agent_id: agentId, task_id: taskId, uuid } = status;
      this.inBackground(saved.then(
        () => this.call('acknowledge', () => this.client.acknowledge(agentId, taskId, uuid)),
        (err: unknown) => this.log.error({ err: (err as Error).message, taskId: taskId.value }, 'state not saved: update left unacknowledged (Mesos resends it)'),
      ));
    } else {
      this.inBackground(saved.catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'state not saved')));
    }
    await this.adjustOfferInterest(now);
  }

  private logUpdate(status: TaskStatus, outcome: UpdateOutcome): void {
    if (outcome.kind === 'duplicate') return;
    const level = /FAILED|LOST|ERROR|DROPPED|GONE|UNREACHABLE/.test(status.state) ? 'warn' : 'info';
    this.log[level]({
      taskId: status.task_id.value, state: status.state, reason: status.reason, message: status.message,
      healthy: status.healthy, outcome: outcome.kind,
    }, 'task status');
  }

  /**
   * Kills what the desired state does not want: extra servers (one came back from an unreachable agent), miners
   * still pointed at a server that is no longer the current one (the server moved: they are relaunched against
   * the new address), and miners above --miners. Returns whether anything changed.
   */
  private async enforceTopology(now: number): Promise<boolean> {
    const kills: TaskRecord[] = [];
    const current = this.currentServer();
    if (current) {
      const endpoint = endpointKey(this.endpointOf(current));
      for (const s of this.store.all()) {
        if (s.role === 'server' && s !== current && !s.killRequested && (s.state === 'TASK_RUNNING' || s.state === 'TASK_STARTING' || s.state === 'TASK_STAGING')) {
          // A second live server: only if the current one is running (a returning one, or a stale replacement).
          kills.push(s);
        }
      }
      for (const m of this.store.all()) {
        if (m.role === 'miner' && !m.killRequested && m.server !== endpoint && !LIMBO_STATES.has(m.state)) kills.push(m);
      }
    }
    const miners = this.store.active('miner').filter((m) => !kills.includes(m));
    if (miners.length > this.config.miners) {
      const surplus = miners.sort((a, b) => b.launchedAt - a.launchedAt).slice(0, miners.length - this.config.miners);
      kills.push(...surplus);
    }
    for (const t of kills) await this.killTask(t, now, 'not part of the desired topology');
    return kills.length > 0;
  }

  private async killTask(task: TaskRecord, now: number, why: string): Promise<void> {
    task.killRequested = true;
    this.killSentAt.set(task.taskId, now);
    this.log.info({ taskId: task.taskId, role: task.role, why }, 'killing task');
    await this.call('kill', () => this.client.kill(task.taskId, task.agentId));
  }

  // ---- timers ----

  private async onTick(): Promise<void> {
    if (this.stopped || !this.subscribed) return;
    const now = this.now();
    let dirty = false;
    if (this.reconcile.pending.size > 0 && now >= this.reconcile.nextAt) await this.sendExplicitReconcile(now);
    if (now >= this.nextImplicitReconcileAt) {
      this.nextImplicitReconcileAt = now + this.config.reconcileIntervalMs;
      this.log.debug({}, 'implicit reconciliation');
      await this.call('reconcile', () => this.client.reconcile([]));
      // Tasks on unreachable agents are asked about by name too, so a task the master forgot does not linger.
      const limbo = this.store.all().filter((t) => LIMBO_STATES.has(t.state));
      if (limbo.length > 0) {
        await this.call('reconcile', () => this.client.reconcile(limbo.map((t) => ({ task_id: { value: t.taskId }, agent_id: { value: t.agentId } }))));
      }
    }
    for (const t of this.store.all()) {
      if (t.state !== 'INTENT' || now - t.launchedAt < this.config.launchTimeoutMs) continue;
      const sentAt = this.launchReconcileSentAt.get(t.taskId);
      if (sentAt === undefined) {
        this.launchReconcileSentAt.set(t.taskId, now);
        this.log.warn({ taskId: t.taskId }, 'launch timed out without a status update: reconciling it');
        await this.call('reconcile', () => this.client.reconcile([{ task_id: { value: t.taskId }, agent_id: { value: t.agentId } }]));
      } else if (now - sentAt >= this.config.launchTimeoutMs) {
        this.log.warn({ taskId: t.taskId }, 'launch never confirmed: giving it up and relaunching');
        this.launchReconcileSentAt.delete(t.taskId);
        this.store.remove(t.taskId);
        this.backoff[t.role].recordExit(now, undefined, false);
        await this.call('kill', () => this.client.kill(t.taskId, t.agentId));
        dirty = true;
      }
    }
    for (const t of this.store.all()) {
      const sentAt = this.killSentAt.get(t.taskId);
      if (t.killRequested && (sentAt === undefined || now - sentAt >= this.config.killRetryMs)) {
        await this.killTask(t, now, 'kill not confirmed yet');
      }
    }
    if (dirty) await this.persist();
    await this.adjustOfferInterest(now);
  }

  /** Calls are 202-or-error; a failed call is logged and the state machine retries through its timers. */
  private async call(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.warn({ call: what, err: (err as Error).message }, 'call to master failed');
    }
  }
}
