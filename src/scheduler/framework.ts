// The framework: keeps a tier of K server tasks and N miner tasks running on a Mesos cluster through SchedulerClient.
// Every miner gets every server in its failover order (`mine -o a -o b ...`), so a lost server costs its miners a
// reconnect, not a relaunch; a server replaced at a new address reaches the miners' lists by a rolling relaunch
// (a bounded number of miners at a time, only while another server runs).
// Everything that reacts to the master runs one event at a time through a promise queue, so a state change is
// persisted before the call that relies on it (framework id before acting as it, launch intents before ACCEPT,
// status changes before ACKNOWLEDGE) and no two handlers ever interleave.
import { randomUUID } from 'node:crypto';
import type { SchedulerClient } from '../mesos/scheduler-client.js';
import type { Logger } from '../log.js';
import { backoffDelay, RelaunchBackoff, type BackoffOptions } from './backoff.js';
import { failedCallOutcome, masterAnswered } from './call-outcome.js';
import { planOffers, type PlacementRequest, type TaskShape } from './matching.js';
import type { FrameworkInfo, Offer, Subscribed, TaskInfo, TaskStatus } from './mesos-types.js';
import type { Launcher } from './launcher.js';
import { ServerStatsPoller, type FarmFigures, type ServerFigures } from './server-stats.js';
import { StateFile } from './state-file.js';
import { buildMinerTask, buildServerTask, type ContainerOptions } from './task-spec.js';
import { TaskHistory, type FailureEntry } from './task-history.js';
import { frameworkView, type TopologyView } from './topology-view.js';
import { ACTIVE_STATES, isTerminal, LIMBO_STATES, TaskStore, type TaskRecord, type UpdateOutcome } from './task-store.js';
import { failoverLists, pickOutdated, relaunchLimit, type TierServer } from './tier.js';
import {
  assignMinerPorts, endpointKey, minerPortCount, parseEndpointKey, type LogLevel, type MinerEndpoints, type ServerEndpoint, type TaskRole,
  type TaskSecrets, type UpstreamOptions,
} from './topology.js';

export interface FrameworkConfig {
  name: string;
  /** OS user the tasks run as on the agents. */
  user: string;
  roles: string[];
  principal?: string;
  hostname?: string;
  webuiUrl?: string;
  failoverTimeoutSeconds: number;
  /** Server tasks in the tier (K). */
  servers: number;
  miners: number;
  /** At most this fraction of the miners (at least one) is in a rolling relaunch at a time. */
  maxRelaunchFraction: number;
  /**
   * How long a missing server waits for an agent without a server before it may share one, and how long new miners
   * wait for a server that is being launched (so they get it in their list) before they start without it.
   */
  tierWaitMs: number;
  /** How often each running server's /status is read for the farm's figures in our /status (0: never). */
  serverStatsIntervalMs: number;
  /**
   * At most this many ACCEPT calls in flight. Offers beyond them (a farm's worth of agents offered at once) are
   * declined in groups of this size for 1, 2, 3... s, so each group comes back about when there is room for its
   * ACCEPTs: no offer waits seconds in a queue of calls, and the master does not re-offer them all every second.
   */
  maxAcceptsInFlight: number;
  server: TaskShape;
  miner: TaskShape;
  /** Monitoring endpoints each miner opens on ports of its own from its offer (none by default). */
  minerEndpoints?: MinerEndpoints;
  maxMinersPerAgent: number;
  upstream: UpstreamOptions;
  secrets: TaskSecrets;
  container: ContainerOptions;
  /** Worker names are `<prefix>-<n>`. */
  workerPrefix: string;
  /** Filter sent with DECLINE of offers we do not need. */
  declineRefuseSeconds: number;
  /** A REVIVE repeated for the same missing tasks waits this long (a newly launchable task revives at once). */
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
  /** Log level of the server and miner tasks (default info). */
  taskLogLevel?: LogLevel;
}

export const FRAMEWORK_DEFAULTS = {
  name: 'mesos-miner',
  failoverTimeoutSeconds: 7 * 24 * 3600,
  maxRelaunchFraction: 0.1,
  tierWaitMs: 30_000,
  serverStatsIntervalMs: 10_000,
  maxAcceptsInFlight: 1000,
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

/** One server of the tier in /status, with the workers that use it as their primary. */
export interface ServerView {
  index?: number;
  taskId: string;
  host: string;
  stratumPort?: number;
  httpPort?: number;
  state: string;
  healthy?: boolean;
  primaryFor: string[];
  /** What its own /status said last (read every serverStatsIntervalMs). */
  stats?: ServerFigures;
}

/** A task in /status: its record, and for a miner with endpoints where they are (host:port). */
export type TaskView = TaskRecord & { api?: string; http?: string };

/** Where a miner's endpoints are, when it has any. */
export function minerEndpointsOf(t: TaskRecord): { api?: string; http?: string } {
  const p = t.minerPorts;
  if (!p) return {};
  return { ...(p.api !== undefined ? { api: `${t.hostname}:${p.api}` } : {}), ...(p.http !== undefined ? { http: `${t.hostname}:${p.http}` } : {}) };
}

export interface FrameworkStatus {
  frameworkId?: string;
  subscribed: boolean;
  suppressed: boolean;
  desired: { servers: number; miners: number };
  running: { servers: number; miners: number };
  servers: ServerView[];
  /** The sum of the servers' figures: the farm's hashrate as their shares show it. */
  farm?: FarmFigures;
  /** Rolling relaunch: miners whose server list lacks a running server, and how many may be in flight at once. */
  rolling: { outdated: number; inFlight: number; limit: number };
  reconciling: number;
  /** Tasks that ended without our asking, newest first (the last 20). */
  failures: FailureEntry[];
  tasks: TaskView[];
}

type Clock = () => number;

export class Framework implements Launcher {
  private readonly store: TaskStore;
  private frameworkId: string | undefined;
  private subscribed = false;
  private suppressed = false;
  /**
   * Until when an offer filter we set may hold resources back: the master filters what a DECLINE refused and what
   * an ACCEPT left unused (for refuse_seconds) on that agent, and only REVIVE clears that early.
   */
  private filteredUntil = Number.NEGATIVE_INFINITY;
  private lastReviveAt = Number.NEGATIVE_INFINITY;
  /** Tasks that could be launched at the last offer-interest check: when there are more, REVIVE is not rate-limited. */
  private launchable = 0;
  /**
   * Miners the rolling relaunch killed whose replacements are not launched yet. Only these (and miners starting)
   * count against its bound: miners the cluster has no room for are not its doing and must not stop it.
   */
  private rolledNotRelaunched = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly background = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Record<TaskRole, RelaunchBackoff>;
  private reconcile = { pending: new Set<string>(), attempt: 0, nextAt: 0 };
  private nextImplicitReconcileAt = Number.POSITIVE_INFINITY;
  private readonly launchReconcileSentAt = new Map<string, number>();
  private readonly killSentAt = new Map<string, number>();
  private stopped = false;
  /** Offers received and not yet accepted or declined, and those of them the master has rescinded. */
  private readonly heldOffers = new Set<string>();
  private readonly rescinded = new Set<string>();
  /** ACCEPT and DECLINE calls in flight: each sets a filter, which must land before a REVIVE clears them. */
  private readonly filterCalls = new Set<Promise<void>>();
  private acceptsInFlight = 0;
  private readonly listeners: Array<[string, (...args: never[]) => void]> = [];
  /** Every agent seen in an offer: a server shares an agent only once each of them has one. */
  private readonly knownAgents = new Set<string>();
  /** Since when fewer than K servers are active (the spread wait runs from there). */
  private serverMissingSince: number | undefined;
  readonly serverStats: ServerStatsPoller | undefined;
  /** Restarts and the last failure per slot, and the recent failures. */
  private readonly history = new TaskHistory();

  constructor(
    readonly config: FrameworkConfig,
    private readonly client: SchedulerClient,
    private readonly stateFile: StateFile,
    private readonly log: Logger,
    private readonly now: Clock = Date.now,
  ) {
    if (!Number.isInteger(config.miners) || config.miners < 0) throw new Error(`miners must be an integer >= 0, got ${config.miners}`);
    if (!Number.isInteger(config.servers) || config.servers < 1) throw new Error(`servers must be an integer >= 1, got ${config.servers}`);
    if (!(config.maxRelaunchFraction > 0 && config.maxRelaunchFraction <= 1)) {
      throw new Error(`maxRelaunchFraction must be in (0, 1], got ${config.maxRelaunchFraction}`);
    }
    this.store = new TaskStore();
    if (config.serverStatsIntervalMs > 0) {
      this.serverStats = new ServerStatsPoller(() => this.runningServers().map((s) => ({
        key: endpointKey(this.endpointOf(s)), statusUrl: `http://${s.hostname}:${s.ports!.http}/status?miners=0`,
      })), config.serverStatsIntervalMs);
    }
    this.backoff = { server: new RelaunchBackoff(config.relaunchBackoff), miner: new RelaunchBackoff(config.relaunchBackoff) };
  }

  /** Loads the state file, restores the framework id, subscribes. */
  async start(): Promise<void> {
    const state = await this.stateFile.load();
    this.frameworkId = state.frameworkId;
    for (const record of state.tasks) this.store.add({ ...record });
    // Servers saved before the tier had no index: give them one, so each has its place in the miners' lists (and
    // its history its slot, restored next).
    for (const s of this.store.servers()) s.index ??= this.freeServerIndexes(1)[0];
    this.history.restore(this.store.values());
    if (this.frameworkId) this.client.setFrameworkId(this.frameworkId);
    this.log.info({ frameworkId: this.frameworkId, tasks: state.tasks.length, stateFile: this.stateFile.path }, 'framework starting');

    this.listen('subscribed', (s: Subscribed) => this.enqueue('subscribed', () => this.onSubscribed(s)));
    this.listen('offers', (offers: Offer[]) => {
      for (const o of offers) this.heldOffers.add(o.id.value);
      this.enqueue('offers', () => this.onOffers(offers));
    });
    this.listen('update', (status: TaskStatus) => this.enqueue('update', () => this.onUpdate(status)));
    // Recorded at once, not queued: onOffers checks it after saving intents, just before ACCEPT.
    this.listen('rescind', (offerId: { value: string }) => {
      this.log.info({ offerId: offerId.value }, 'offer rescinded');
      if (this.heldOffers.has(offerId.value)) this.rescinded.add(offerId.value);
    });
    this.listen('disconnected', (reason: string) => {
      this.subscribed = false;
      // Offers do not survive a lost subscription.
      this.heldOffers.clear();
      this.rescinded.clear();
      this.log.warn({ reason }, 'disconnected from master; the client resubscribes');
    });
    this.listen('framework_removed', (message: string) => this.enqueue('framework_removed', () => this.onFrameworkRemoved(message)));
    this.listen('failure', (f: { agent_id?: { value: string }; status?: number }) => this.log.warn({ agentId: f.agent_id?.value, status: f.status }, 'agent or executor failure'));
    this.listen('error_event', (message: string) => this.log.error({ message }, 'master sent ERROR'));
    this.listen('inverse_offers', () => this.log.debug({}, 'inverse offers ignored (maintenance is handled by task relaunch)'));

    this.timer = setInterval(() => this.enqueue('tick', () => this.onTick()), this.config.tickMs);
    this.timer.unref();
    this.serverStats?.start();
    this.client.start();
  }

  /** Stops the client; with teardownOnExit the framework (and all its tasks) is torn down first. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.serverStats?.stop();
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

  /** Running tasks by role (not those being killed), from the store's counts: cheap enough to poll. */
  runningCounts(): { servers: number; miners: number } {
    return { servers: this.store.runningCount('server'), miners: this.store.runningCount('miner') };
  }

  status(): FrameworkStatus {
    const primaryFor = new Map<string, string[]>();
    for (const t of this.store.values()) {
      if (t.role !== 'miner' || t.killRequested || !ACTIVE_STATES.has(t.state) || !t.servers?.[0]) continue;
      const list = primaryFor.get(t.servers[0]) ?? [];
      list.push(t.worker ?? t.taskId);
      primaryFor.set(t.servers[0], list);
    }
    const servers = this.store.servers().sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((s): ServerView => {
      const key = s.ports ? endpointKey(this.endpointOf(s)) : '';
      const stats = this.serverStats?.get(key);
      return {
        ...(s.index !== undefined ? { index: s.index } : {}),
        taskId: s.taskId, host: s.hostname,
        ...(s.ports ? { stratumPort: s.ports.stratum, httpPort: s.ports.http } : {}),
        state: s.state, ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
        primaryFor: primaryFor.get(key) ?? [],
        ...(stats ? { stats } : {}),
      };
    });
    return {
      ...(this.frameworkId ? { frameworkId: this.frameworkId } : {}),
      subscribed: this.subscribed,
      suppressed: this.suppressed,
      desired: { servers: this.config.servers, miners: this.config.miners },
      running: this.runningCounts(),
      servers,
      ...(this.serverStats ? { farm: this.serverStats.farm() } : {}),
      rolling: {
        outdated: pickOutdated(this.store.minerGroups(), this.runningServerKeys(), Number.POSITIVE_INFINITY).length,
        inFlight: this.minersNotHashing(),
        limit: relaunchLimit(this.config.miners, this.config.maxRelaunchFraction),
      },
      reconciling: this.reconcile.pending.size,
      failures: this.history.recent.list(),
      tasks: this.store.all().map((t) => ({ ...t, ...minerEndpointsOf(t) })),
    };
  }

  topology(now: number): TopologyView {
    return frameworkView(this.status(), now);
  }

  /** Resolves when every event received so far has been handled, saved and acknowledged (tests, shutdown). */
  async idle(): Promise<void> {
    // A background call may queue a handler when it fails (a refused ACCEPT): wait until neither moves.
    for (;;) {
      const queue = this.queue;
      await queue;
      if (this.background.size > 0) await Promise.all([...this.background]);
      else if (queue === this.queue) return;
    }
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

  /** The state is built when the write happens, so a burst of saves serialises the task list once per write. */
  private persist(): Promise<void> {
    return this.stateFile.save(() => ({ version: 1, ...(this.frameworkId ? { frameworkId: this.frameworkId } : {}), tasks: this.store.toJSON() }));
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
    this.launchable = 0;
    this.log.info({ frameworkId: id, heartbeatSeconds: s.heartbeat_interval_seconds }, 'subscribed');
    const now = this.now();
    this.reconcile = { pending: new Set(this.store.all().map((t) => t.taskId)), attempt: 0, nextAt: now };
    this.nextImplicitReconcileAt = now + this.config.reconcileIntervalMs;
    this.sendExplicitReconcile(now);
    this.adjustOfferInterest(now);
  }

  private async onFrameworkRemoved(message: string): Promise<void> {
    this.log.error({ message, frameworkId: this.frameworkId }, 'master removed the framework; starting fresh');
    this.frameworkId = undefined;
    this.store.clear();
    this.reconcile.pending.clear();
    this.subscribed = false;
    await this.persist();
  }

  private sendExplicitReconcile(now: number): void {
    const pending = this.reconcile.pending;
    for (const id of [...pending]) if (!this.store.get(id)) pending.delete(id);
    if (pending.size === 0) return;
    const tasks = [...pending].map((id) => ({ task_id: { value: id }, agent_id: { value: this.store.get(id)!.agentId } }));
    this.reconcile.attempt += 1;
    this.reconcile.nextAt = now + backoffDelay(this.reconcile.attempt, this.config.reconcileBackoff);
    this.log.info({ tasks: tasks.length, attempt: this.reconcile.attempt }, 'explicit reconciliation');
    this.send('reconcile', () => this.client.reconcile(tasks));
  }

  // ---- offers ----

  /** The servers new miners get, in index order: RUNNING, not being killed, with known ports. */
  private runningServers(): TaskRecord[] {
    return this.store.servers()
      .filter((s) => s.state === 'TASK_RUNNING' && !s.killRequested && s.ports)
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  private runningServerKeys(): Set<string> {
    return new Set(this.runningServers().map((s) => endpointKey(this.endpointOf(s))));
  }

  private endpointOf(server: TaskRecord): ServerEndpoint {
    return { host: server.hostname, port: server.ports!.stratum };
  }

  /** The `count` lowest indexes no known server uses (a server on an unreachable agent keeps its own). */
  private freeServerIndexes(count: number, taken = new Set(this.store.servers().map((s) => s.index))): number[] {
    const free: number[] = [];
    for (let i = 0; free.length < count; i++) if (!taken.has(i)) free.push(i);
    return free;
  }

  private demand(now: number): PlacementRequest & { blocked: boolean } {
    // A server Mesos is killing (its health check failed) still holds its ports: replaced once it is gone, the
    // replacement can take the same ports on that agent, the same address, and no miner needs a relaunch.
    const dying = this.store.servers().filter((s) => s.state === 'TASK_KILLING' && !s.killRequested).length;
    const serversMissing = Math.max(0, this.config.servers - this.store.activeCount('server') - dying);
    if (serversMissing === 0) this.serverMissingSince = undefined;
    else this.serverMissingSince ??= now;
    const serversWanted = this.backoff.server.waitMs(now) === 0 ? serversMissing : 0;
    // Miners start once a server runs, but not while one is being launched (for a while): they would miss it in
    // their list and need a relaunch.
    const running = this.runningServers().length;
    const serverStarting = this.store.servers().some((s) => ACTIVE_STATES.has(s.state) && s.state !== 'TASK_RUNNING'
      && !s.killRequested && now - s.launchedAt < this.config.tierWaitMs);
    const minersMissing = Math.max(0, this.config.miners - this.store.activeCount('miner'));
    const minersWanted = running > 0 && !serverStarting && this.backoff.miner.waitMs(now) === 0 ? minersMissing : 0;
    return {
      serversWanted,
      serversOnAgent: this.store.activeServersOnAgents(),
      knownAgents: this.knownAgents,
      spreadWaitOver: this.serverMissingSince !== undefined && now - this.serverMissingSince >= this.config.tierWaitMs,
      minersWanted,
      server: this.config.server,
      miner: this.config.miner,
      minerPorts: minerPortCount(this.config.minerEndpoints),
      maxMinersPerAgent: this.config.maxMinersPerAgent,
      minersOnAgent: this.store.activeMinersOnAgents(),
      // Something is missing but cannot be launched yet (no server running, relaunch backoff).
      blocked: (serversMissing > 0 && serversWanted === 0) || (minersMissing > 0 && minersWanted === 0),
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

  private async onOffers(received: Offer[]): Promise<void> {
    const now = this.now();
    const offers = this.dropRescinded(received);
    if (this.stopped || !this.subscribed) {
      this.declineAll(offers);
      return;
    }
    for (const o of offers) this.knownAgents.add(o.agent_id.value);
    const request = this.demand(now);
    const result = planOffers(offers, { ...request, maxOffers: Math.max(0, this.config.maxAcceptsInFlight - this.acceptsInFlight) });
    let launches: Array<{ offer: Offer; tasks: TaskInfo[] }> = [];
    const planned = result.launches.flatMap((l) => l.tasks);
    const minerCount = planned.filter((t) => t.role === 'miner').length;
    const workers = this.nextWorkerNames(minerCount);
    const indexes = this.freeServerIndexes(planned.length - minerCount);
    const tier: TierServer[] = this.runningServers().map((s) => ({ key: endpointKey(this.endpointOf(s)), healthy: s.healthy !== false }));
    const lists = minerCount > 0 ? failoverLists(tier, new Map(this.store.primaryCounts()), minerCount) : [];
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
          record.index = indexes.shift()!;
          tasks.push(buildServerTask({
            frameworkName: this.config.name, taskId, agentId, planned, index: record.index, upstream: this.config.upstream,
            secrets: this.config.secrets, container: this.config.container, logLevel: this.config.taskLogLevel ?? 'info',
          }));
        } else {
          record.worker = workers.shift()!;
          this.rolledNotRelaunched = Math.max(0, this.rolledNotRelaunched - 1);
          record.servers = lists.shift()!;
          if (planned.ports.length > 0) record.minerPorts = assignMinerPorts(this.config.minerEndpoints, planned.ports);
          tasks.push(buildMinerTask({
            frameworkName: this.config.name, taskId, agentId, planned, servers: record.servers.map(parseEndpointKey), worker: record.worker,
            secrets: this.config.secrets, container: this.config.container, logLevel: this.config.taskLogLevel ?? 'info',
            ...(record.minerPorts ? { ports: record.minerPorts } : {}),
            ...(this.config.minerEndpoints?.apiAllow ? { apiAllow: this.config.minerEndpoints.apiAllow } : {}),
          }));
        }
        this.history.launched(record);
        this.store.add(record);
      }
      launches.push({ offer: plan.offer, tasks });
    }
    // Intents are on disk before any ACCEPT: after a crash we reconcile them instead of forgetting them.
    if (launches.length > 0) await this.persist();
    // An offer rescinded while the intents were being saved cannot be accepted: its intents are dropped (the
    // tasks are still missing, so they are placed on the next offers) instead of ending as TASK_DROPPED.
    const gone = launches.filter((l) => this.rescinded.has(l.offer.id.value));
    if (gone.length > 0) {
      for (const { offer, tasks } of gone) {
        this.forgetOffer(offer.id.value);
        for (const t of tasks) this.store.remove(t.task_id.value);
        this.log.info({ offerId: offer.id.value, tasks: tasks.length }, 'offer rescinded before ACCEPT: launch dropped');
      }
      launches = launches.filter((l) => !gone.includes(l));
      this.inBackground(this.persist().catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'state not saved')));
    }
    const stillWanted = result.unplaced.servers > 0 || result.unplaced.miners > 0;
    // The rest of an accepted offer goes back with a short filter while we still want more, a long one otherwise.
    const filters = { refuse_seconds: stillWanted ? 5 : this.config.declineRefuseSeconds };
    // ACCEPTs and DECLINEs go out beside the queue: status updates of earlier launches are handled while a
    // thousand calls are in flight, and no offer waits for another's call to finish.
    for (const { offer, tasks } of launches) {
      this.forgetOffer(offer.id.value);
      this.log.info({ offerId: offer.id.value, agent: offer.hostname, tasks: tasks.map((t) => t.task_id.value) }, 'launching');
      this.acceptsInFlight += 1;
      const accept = this.client.launch([offer.id], tasks, filters).catch((err: unknown) => {
        this.enqueue('launch failed', () => this.onLaunchFailed(offer, tasks.map((t) => t.task_id.value), err));
      }).finally(() => { this.acceptsInFlight -= 1; });
      this.inBackground(this.filterCall(now, filters.refuse_seconds, accept));
    }
    // Unused offers rescinded in the meantime are gone already: nothing to decline.
    const unused = this.dropRescinded(result.unused);
    const group = this.config.maxAcceptsInFlight;
    if (result.capped) for (let g = 0; g * group < unused.length; g++) this.declineAll(unused.slice(g * group, (g + 1) * group), g + 1, true);
    else this.declineAll(unused);
    this.adjustOfferInterest(now);
  }

  /**
   * An ACCEPT that failed. Refused (the master answered with an error, or the call never left): its intents are
   * dropped at once and saved, so the tasks count as missing and are placed on the next offers (REVIVE if we had
   * suppressed); an offer the master still holds is given back. Outcome unknown (timeout, connection reset: the
   * master may have taken it): its tasks are reconciled now rather than after the launch timeout; the answer
   * either confirms them or (TASK_UNKNOWN / TASK_LOST) ends them, and they are relaunched.
   */
  private async onLaunchFailed(offer: Offer, taskIds: string[], err: unknown): Promise<void> {
    const now = this.now();
    // Only tasks still waiting for their first update: one may have been confirmed in the meantime.
    const intents = taskIds.map((id) => this.store.get(id)).filter((t): t is TaskRecord => t?.state === 'INTENT');
    const outcome = failedCallOutcome(err);
    const message = (err as Error).message;
    if (outcome === 'unknown') {
      this.log.warn({ offerId: offer.id.value, tasks: intents.length, err: message }, 'ACCEPT outcome unknown: reconciling its tasks now');
      if (this.reconcile.pending.size === 0) this.reconcile.attempt = 0;
      for (const t of intents) {
        this.reconcile.pending.add(t.taskId);
        // Counts as the launch timeout's reconciliation: no answer within the launch timeout gives the task up.
        this.launchReconcileSentAt.set(t.taskId, now);
      }
      if (this.subscribed && intents.length > 0) this.sendExplicitReconcile(now);
      return;
    }
    this.log.warn({ offerId: offer.id.value, tasks: intents.length, err: message }, 'ACCEPT refused: launch dropped, tasks placed again on the next offers');
    const roles = new Set<TaskRecord['role']>();
    for (const t of intents) {
      this.store.remove(t.taskId);
      this.launchReconcileSentAt.delete(t.taskId);
      roles.add(t.role);
    }
    // A refusal that repeats (a bad call) must not turn into a tight offer/ACCEPT loop.
    for (const role of roles) this.backoff[role].recordExit(now, undefined, false);
    if (intents.length > 0) await this.persist();
    // The master answered, so it still counts the offer as ours: give it back (short filter). After 403/307 the
    // subscription is being replaced and the offer dies with it.
    const status = masterAnswered(err);
    if (status !== undefined && status !== 403 && status !== 307 && this.subscribed) {
      this.inBackground(this.filterCall(now, 1, this.call('decline', () => this.client.decline([offer.id], { refuse_seconds: 1 }))));
    }
    this.adjustOfferInterest(now);
  }

  /** Offers the master rescinded before we got to them are neither accepted nor declined. */
  private dropRescinded(offers: Offer[]): Offer[] {
    if (this.rescinded.size === 0) return offers;
    return offers.filter((o) => {
      if (!this.rescinded.has(o.id.value)) return true;
      this.forgetOffer(o.id.value);
      this.log.info({ offerId: o.id.value }, 'offer rescinded before it was used');
      return false;
    });
  }

  private forgetOffer(offerId: string): void {
    this.heldOffers.delete(offerId);
    this.rescinded.delete(offerId);
  }

  /**
   * One DECLINE call for all offers we do not use, with the long filter by default (sent beside the queue). Offers
   * `deferred` for room among the ACCEPTs come back when their short filter ends: nothing to REVIVE for.
   */
  private declineAll(offers: Offer[], seconds = this.config.declineRefuseSeconds, deferred = false): void {
    if (offers.length === 0) return;
    for (const o of offers) this.forgetOffer(o.id.value);
    const call = this.call('decline', () => this.client.decline(offers.map((o) => o.id), { refuse_seconds: seconds }));
    this.inBackground(this.filterCall(this.now(), deferred ? 0 : seconds, call));
  }

  /** Notes the filter an ACCEPT or DECLINE sets (Mesos' default refuse_seconds is 5) and tracks the call until it is answered. */
  private filterCall(now: number, refuseSeconds: number | undefined, call: Promise<void>): Promise<void> {
    this.filteredUntil = Math.max(this.filteredUntil, now + (refuseSeconds ?? 5) * 1000);
    this.filterCalls.add(call);
    return call.finally(() => this.filterCalls.delete(call));
  }

  /**
   * SUPPRESS when nothing is missing; REVIVE when something launchable is missing and offers are suppressed or
   * filtered. A task that has just become launchable (the server runs, a backoff is over, a task was lost) revives
   * at once; reviving again for the same tasks (the offers did not fit) waits for --revive-interval.
   * Replacements of miners the rolling relaunch killed are not "more": a killed miner's resources come back as an
   * offer of their own (a filter holds back no more than it refused), so a relaunch does not make the master offer
   * every agent again per batch; offers stay unsuppressed until the relaunch is over.
   */
  private adjustOfferInterest(now: number): void {
    if (!this.subscribed || this.stopped) return;
    const request = this.demand(now);
    const launchable = request.serversWanted + request.minersWanted;
    const rolled = Math.min(request.minersWanted, this.rolledNotRelaunched);
    const more = launchable - rolled > this.launchable || (rolled > 0 && this.suppressed);
    this.launchable = launchable - rolled;
    if (launchable === 0) {
      // Waiting for the server to run or a backoff to expire keeps offers coming: the tick comes back; so does a
      // rolling relaunch with miners still to relaunch.
      if (!request.blocked && !this.suppressed && !this.rollingPending()) {
        this.suppressed = true;
        this.log.info({}, 'desired state reached: suppressing offers');
        this.send('suppress', () => this.client.suppress(this.config.roles));
      }
      return;
    }
    const held = this.suppressed || now < this.filteredUntil;
    if (!held || (!more && now - this.lastReviveAt < this.config.reviveIntervalMs)) return;
    this.lastReviveAt = now;
    this.suppressed = false;
    this.filteredUntil = Number.NEGATIVE_INFINITY;
    this.log.info({ servers: request.serversWanted, miners: request.minersWanted }, 'tasks missing: reviving offers');
    // An ACCEPT or DECLINE still in flight would set its filter after the REVIVE cleared them: let them land first.
    const inFlight = [...this.filterCalls];
    this.send('revive', async () => {
      await Promise.all(inFlight);
      await this.client.revive(this.config.roles);
    });
  }

  // ---- status updates ----

  private async onUpdate(status: TaskStatus): Promise<void> {
    const now = this.now();
    const outcome = this.store.apply(status, now);
    this.reconcile.pending.delete(status.task_id.value);
    this.launchReconcileSentAt.delete(status.task_id.value);
    this.logUpdate(status, outcome);
    let dirty = outcome.kind === 'changed' || outcome.kind === 'terminal';
    if (outcome.kind === 'terminal') this.history.ended(outcome.record, true, now, LIMBO_STATES.has(outcome.previous));
    else if (outcome.kind === 'changed' && LIMBO_STATES.has(outcome.record.state) && !LIMBO_STATES.has(outcome.previous)) {
      this.history.ended(outcome.record, false, now);
    }
    if (outcome.kind === 'terminal') {
      this.killSentAt.delete(outcome.record.taskId);
      this.backoff[outcome.record.role].recordExit(now, outcome.ranForMs, outcome.record.killRequested === true);
    }
    if (outcome.kind === 'unknown' && !LIMBO_STATES.has(outcome.state) && !isTerminal(outcome.state) && outcome.state !== 'TASK_KILLING') {
      // A live task of ours that the state file does not know (e.g. state lost): we cannot know its
      // configuration, so we kill it rather than adopt it.
      this.log.warn({ taskId: outcome.taskId, state: outcome.state }, 'unknown live task: killing it');
      this.send('kill', () => this.client.kill(status.task_id, status.agent_id));
    }
    if (outcome.kind === 'changed' || outcome.kind === 'terminal') dirty = this.enforceTopology(now) || dirty;
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
    this.adjustOfferInterest(now);
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
   * Kills what the desired state does not want: servers above --servers (one came back from an unreachable agent:
   * the one the fewest miners use as primary goes, one not yet running first), miners above --miners, and the next
   * miners of a rolling relaunch. Returns whether anything changed.
   */
  private enforceTopology(now: number): boolean {
    let changed = false;
    const servers = this.store.servers().filter((s) => ACTIVE_STATES.has(s.state) && !s.killRequested);
    if (servers.length > this.config.servers) {
      const primaries = this.store.primaryCounts();
      const users = (s: TaskRecord) => (s.ports ? primaries.get(endpointKey(this.endpointOf(s))) ?? 0 : 0);
      const running = (s: TaskRecord) => Number(s.state === 'TASK_RUNNING');
      servers.sort((a, b) => users(a) - users(b) || running(a) - running(b) || b.launchedAt - a.launchedAt);
      for (const s of servers.slice(0, servers.length - this.config.servers)) this.killTask(s, now, 'more servers than --servers');
      changed = true;
    }
    const surplus = this.store.activeCount('miner') - this.config.miners;
    if (surplus > 0) {
      const newest = this.store.active('miner').sort((a, b) => b.launchedAt - a.launchedAt).slice(0, surplus);
      for (const t of newest) this.killTask(t, now, 'more miners than --miners');
      changed = true;
    }
    return this.rollMiners(now) || changed;
  }

  /**
   * Miner slots without a RUNNING miner: killed by the rolling relaunch and not yet replaced, or replaced by a miner
   * still launching. The relaunch keeps this under its bound (a killed miner's slot counts until its replacement
   * runs); slots the cluster has no room for do not count (after a scheduler restart, the counter starts at 0).
   */
  private minersNotHashing(): number {
    const missing = Math.max(0, this.config.miners - this.store.activeCount('miner'));
    return Math.min(missing, this.rolledNotRelaunched) + this.store.minersStarting();
  }

  /**
   * The rolling relaunch: miners whose list lacks a running server (a lost server replaced at a new address, or one
   * that started after them) are killed and launched again with the current list, at most --max-relaunch-fraction
   * of the farm not hashing at once, and only while a healthy server runs for them to mine through. Their
   * replacements are launched as missing miners.
   */
  private rollMiners(now: number): boolean {
    const running = this.runningServers();
    if (!running.some((s) => s.healthy !== false)) return false;
    const budget = relaunchLimit(this.config.miners, this.config.maxRelaunchFraction) - this.minersNotHashing();
    const next = pickOutdated(this.store.minerGroups(), new Set(running.map((s) => endpointKey(this.endpointOf(s)))), budget);
    for (const m of next) this.killTask(m, now, 'rolling relaunch: a server it does not know runs');
    this.rolledNotRelaunched += next.length;
    return next.length > 0;
  }

  /** Miners the rolling relaunch has yet to relaunch (while a server runs for them). */
  private rollingPending(): boolean {
    return this.runningServers().length > 0 && pickOutdated(this.store.minerGroups(), this.runningServerKeys(), 1).length > 0;
  }

  private killTask(task: TaskRecord, now: number, why: string): void {
    this.store.markKillRequested(task);
    this.killSentAt.set(task.taskId, now);
    this.log.info({ taskId: task.taskId, role: task.role, why }, 'killing task');
    this.send('kill', () => this.client.kill(task.taskId, task.agentId));
  }

  // ---- timers ----

  private async onTick(): Promise<void> {
    if (this.stopped || !this.subscribed) return;
    const now = this.now();
    let dirty = false;
    if (this.reconcile.pending.size > 0 && now >= this.reconcile.nextAt) this.sendExplicitReconcile(now);
    if (now >= this.nextImplicitReconcileAt) {
      this.nextImplicitReconcileAt = now + this.config.reconcileIntervalMs;
      this.log.debug({}, 'implicit reconciliation');
      this.send('reconcile', () => this.client.reconcile([]));
      // Tasks on unreachable agents are asked about by name too, so a task the master forgot does not linger.
      const limbo = this.store.all().filter((t) => LIMBO_STATES.has(t.state));
      if (limbo.length > 0) {
        this.send('reconcile', () => this.client.reconcile(limbo.map((t) => ({ task_id: { value: t.taskId }, agent_id: { value: t.agentId } }))));
      }
    }
    for (const t of this.store.all()) {
      if (t.state !== 'INTENT' || now - t.launchedAt < this.config.launchTimeoutMs) continue;
      const sentAt = this.launchReconcileSentAt.get(t.taskId);
      if (sentAt === undefined) {
        this.launchReconcileSentAt.set(t.taskId, now);
        this.log.warn({ taskId: t.taskId }, 'launch timed out without a status update: reconciling it');
        this.send('reconcile', () => this.client.reconcile([{ task_id: { value: t.taskId }, agent_id: { value: t.agentId } }]));
      } else if (now - sentAt >= this.config.launchTimeoutMs) {
        this.log.warn({ taskId: t.taskId }, 'launch never confirmed: giving it up and relaunching');
        this.launchReconcileSentAt.delete(t.taskId);
        this.store.remove(t.taskId);
        this.backoff[t.role].recordExit(now, undefined, false);
        this.send('kill', () => this.client.kill(t.taskId, t.agentId));
        dirty = true;
      }
    }
    for (const t of this.store.all()) {
      const sentAt = this.killSentAt.get(t.taskId);
      if (t.killRequested && (sentAt === undefined || now - sentAt >= this.config.killRetryMs)) {
        this.killTask(t, now, 'kill not confirmed yet');
      }
    }
    // A rolling relaunch goes on when launches in flight were given up (or a server turned healthy again).
    dirty = this.rollMiners(now) || dirty;
    if (dirty) await this.persist();
    this.adjustOfferInterest(now);
  }

  /**
   * Sends a call beside the event queue: a call waits for a free connection (behind a burst of ACCEPTs, say),
   * and the queue must not wait with it. Everything a call relies on is already decided (and, where needed,
   * saved) when it is handed over; idle() waits for it.
   */
  private send(what: string, fn: () => Promise<void>): void {
    this.inBackground(this.call(what, fn));
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
