// Scheduler benchmark: the framework against a fake Mesos master offering many agents.
//   npx tsx bench/scheduler.ts [--agents 1000] [--miners 1000] [--servers 1] [--per-agent 1] [--timeout 60] [--json]
// The fake master runs in a child process (this same file, started with MESOS_MINER_BENCH_ROLE=fake-master),
// so the CPU time and memory reported for the scheduler are the scheduler's alone, and every call crosses a
// real loopback HTTP connection between two processes as it would against a real master.
// Reports: time from SUBSCRIBED to every task RUNNING (as the scheduler sees it), the phases on the way,
// calls by type and per second (counted by the master), how long the scheduler held offers (from the OFFERS
// event to the 202 of the ACCEPT/DECLINE that answered them; how many longer than 5 s), scheduler CPU and RSS,
// the master's CPU, and on how many agents the servers landed.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import type { Call } from '../src/mesos/types.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, FRAMEWORK_DEFAULTS, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile } from '../src/scheduler/state-file.js';

const ROLE_ENV = 'MESOS_MINER_BENCH_ROLE';

interface MasterReport {
  calls: number;
  callsByType: Record<string, number>;
  declinedOffers: number;
  cpuSeconds: number;
  peakRssMiB: number;
  runningMiners: number;
}

type ToMaster = { type: 'report' } | { type: 'close' };
type FromMaster = { type: 'ready'; url: string } | { type: 'report'; report: MasterReport };

// ---- the fake master's process ----

async function runFakeMaster(agents: number): Promise<void> {
  const { FakeMaster } = await import('../test/support/fake-master.js');
  const master = await FakeMaster.start({ agents, heartbeatIntervalSeconds: 15 });
  const cpuStart = process.cpuUsage();
  let peakRss = 0;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 50);
  const send = (m: FromMaster) => process.send!(m);
  process.on('message', (m: ToMaster) => {
    if (m.type === 'report') {
      const callsByType: Record<string, number> = {};
      let declinedOffers = 0;
      for (const c of master.calls) {
        callsByType[c.call.type] = (callsByType[c.call.type] ?? 0) + 1;
        if (c.call.type === 'DECLINE') declinedOffers += c.call.decline!.offer_ids?.length ?? 0;
      }
      const cpu = process.cpuUsage(cpuStart);
      send({
        type: 'report',
        report: {
          calls: master.calls.length, callsByType, declinedOffers,
          cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
          peakRssMiB: Math.round(Math.max(peakRss, process.memoryUsage.rss()) / 2 ** 20),
          runningMiners: master.runningTasks().filter((t) => t.taskId.includes('.miner.')).length,
        },
      });
    } else if (m.type === 'close') {
      clearInterval(sampler);
      void master.close().then(() => process.exit(0));
    }
  });
  // The parent going away (crash, Ctrl-C) must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: master.url });
}

// ---- the scheduler's process ----

function startMasterProcess(agents: number): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['--agents', String(agents)], {
    env: { ...process.env, [ROLE_ENV]: 'fake-master' },
    execArgv: process.execArgv, // the tsx loader this bench runs under
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake master process did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`fake master process exited early (code ${code})`)));
    child.on('message', (m: FromMaster) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve({ child, url: m.url });
      }
    });
  });
}

function askMaster(child: ChildProcess): Promise<MasterReport> {
  return new Promise((resolve) => {
    const onMessage = (m: FromMaster) => {
      if (m.type !== 'report') return;
      child.off('message', onMessage);
      resolve(m.report);
    };
    child.on('message', onMessage);
    child.send({ type: 'report' } satisfies ToMaster);
  });
}

/** Offer-holding times: each offer from its OFFERS event to the 202 of the call that answered it. */
class OfferClock {
  private readonly receivedAt = new Map<string, number>();
  readonly heldMs: number[] = [];

  received(offerIds: string[]): void {
    const now = performance.now();
    for (const id of offerIds) this.receivedAt.set(id, now);
  }

  answered(offerIds: string[]): void {
    const now = performance.now();
    for (const id of offerIds) {
      const at = this.receivedAt.get(id);
      if (at === undefined) continue;
      this.receivedAt.delete(id);
      this.heldMs.push(now - at);
    }
  }

  get unanswered(): number {
    return this.receivedAt.size;
  }
}

/** The real client, with the answered offers of each ACCEPT/DECLINE timed once the master took the call. */
class TimedClient extends SchedulerClient {
  constructor(opts: ConstructorParameters<typeof SchedulerClient>[0], private readonly clock: OfferClock) {
    super(opts);
  }

  override async call(call: Omit<Call, 'framework_id'>): Promise<void> {
    await super.call(call);
    const ids = call.type === 'ACCEPT' ? call.accept?.offer_ids : call.type === 'DECLINE' ? call.decline?.offer_ids : undefined;
    if (ids) this.clock.answered(ids.map((o) => o.value));
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runBench(opts: { agents: number; miners: number; servers: number; perAgent: number; timeoutS: number; json: boolean }): Promise<number> {
  const { agents, miners, servers, perAgent } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-'));
  const { child, url } = await startMasterProcess(agents);
  const config: FrameworkConfig = {
    ...FRAMEWORK_DEFAULTS,
    name: 'bench', user: 'bench', roles: ['*'], miners, servers,
    server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 160 }, maxMinersPerAgent: perAgent,
    upstream: { pools: ['stratum+tcp://pool.example:3333'], user: 'bench' }, secrets: {},
    container: { mode: 'docker', image: 'mesos-miner:bench', network: 'HOST', forcePull: false, commandPath: '/x' },
    teardownOnExit: false, serverStatsIntervalMs: 0,
  };
  const clock = new OfferClock();
  const client = new TimedClient({ master: url, framework: frameworkInfo(config) }, clock);
  const framework = new Framework(config, client, new StateFile(join(dir, 'state.json')), silentLogger);

  // Phase marks, in ms after SUBSCRIBED.
  let subscribedAt = 0;
  const phases: Record<string, number> = {};
  const mark = (name: string) => { if (phases[name] === undefined) phases[name] = Math.round(performance.now() - subscribedAt); };
  client.once('subscribed', () => { subscribedAt = performance.now(); });
  client.on('offers', (offers) => { clock.received(offers.map((o) => o.id.value)); mark('firstOffers'); });
  let runningUpdates = 0;
  client.on('update', (status) => {
    if (status.state !== 'TASK_RUNNING' || !status.task_id.value.includes('.miner.')) return;
    mark('firstMinerRunningUpdate');
    if (++runningUpdates === miners) mark('lastMinerRunningUpdate');
  });

  const cpuBefore = process.cpuUsage();
  let peakRss = 0;
  const rssSampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 50);
  await framework.start();
  const deadline = Date.now() + opts.timeoutS * 1000;
  let lastPrint = 0;
  let timedOut = false;
  for (;;) {
    const running = framework.runningCounts();
    if (running.servers === servers) mark('serversRunning');
    if (running.miners > 0) mark('firstMinerRunning');
    if (running.miners >= miners / 2) mark('halfMinersRunning');
    if (running.miners === miners && running.servers === servers) break;
    if (Date.now() > deadline) {
      console.error(`timed out: ${running.miners}/${miners} miners running after ${opts.timeoutS} s`);
      timedOut = true;
      break;
    }
    if (!opts.json && Date.now() - lastPrint > 1000) {
      lastPrint = Date.now();
      process.stderr.write(`\r${running.miners}/${miners} miners running...`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsedMs = performance.now() - subscribedAt;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(rssSampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  await framework.idle();
  const master = await askMaster(child);
  const held = [...clock.heldMs].sort((a, b) => a - b);
  const serverAgents = new Set(framework.status().servers.map((s) => s.host)).size;
  const result = {
    agents, miners, servers, serverAgents, perAgent,
    subscribedToAllRunningMs: Math.round(elapsedMs),
    phasesMs: phases,
    calls: master.calls,
    callsPerSecond: Math.round(master.calls / (elapsedMs / 1000)),
    callsByType: master.callsByType,
    declinedOffers: master.declinedOffers,
    offersPerDecline: master.callsByType.DECLINE ? +(master.declinedOffers / master.callsByType.DECLINE).toFixed(1) : 0,
    offersAnswered: held.length,
    offersUnanswered: clock.unanswered,
    offerHeldMs: { p50: Math.round(percentile(held, 50)), p99: Math.round(percentile(held, 99)), max: Math.round(held.at(-1) ?? 0) },
    offersHeldOver5s: held.filter((ms) => ms > 5000).length,
    schedulerCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    schedulerPeakRssMiB: Math.round(peakRss / 2 ** 20),
    schedulerHeapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    masterCpuSeconds: master.cpuSeconds,
    masterPeakRssMiB: master.peakRssMiB,
    masterRunningMiners: master.runningMiners,
    timedOut,
  };
  await framework.stop();
  child.send({ type: 'close' } satisfies ToMaster);
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });

  if (opts.json) {
    console.log(JSON.stringify(result));
  } else {
    process.stderr.write('\n');
    console.log(`SUBSCRIBED -> ${servers} servers (on ${serverAgents} agents) + ${miners} miners RUNNING: ${result.subscribedToAllRunningMs} ms`);
    console.log(`phases (ms after SUBSCRIBED): ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`calls: ${result.calls} (${result.callsPerSecond}/s) ${JSON.stringify(result.callsByType)}`);
    console.log(`declines: ${result.callsByType.DECLINE ?? 0} calls for ${result.declinedOffers} offers (${result.offersPerDecline} per call)`);
    console.log(`offers held: p50 ${result.offerHeldMs.p50} ms, p99 ${result.offerHeldMs.p99} ms, max ${result.offerHeldMs.max} ms, ${result.offersHeldOver5s} over 5 s (${result.offersAnswered} answered, ${result.offersUnanswered} unanswered)`);
    console.log(`scheduler: CPU ${result.schedulerCpuSeconds} s, peak RSS ${result.schedulerPeakRssMiB} MiB, heap ${result.schedulerHeapUsedMiB} MiB`);
    console.log(`fake master (separate process): CPU ${result.masterCpuSeconds} s, peak RSS ${result.masterPeakRssMiB} MiB`);
  }
  return timedOut ? 1 : 0;
}

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    miners: { type: 'string', default: '1000' },
    servers: { type: 'string', default: '1' },
    'per-agent': { type: 'string', default: '1' },
    timeout: { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
  },
});
const agents = Number(values.agents);
const miners = Number(values.miners);
const servers = Number(values.servers);
const perAgent = Number(values['per-agent']);
const timeoutS = Number(values.timeout);
if (![agents, miners, servers, perAgent].every((n) => Number.isInteger(n) && n > 0) || !(timeoutS > 0)) {
  console.error('--agents, --miners, --servers and --per-agent must be positive integers, --timeout a positive number of seconds');
  process.exit(2);
}
if (process.env[ROLE_ENV] === 'fake-master') {
  await runFakeMaster(agents);
} else {
  // The fake agents have 4 CPUs: a server (1 CPU) leaves its agent at most 3 miners.
  if (agents * perAgent - servers * Math.max(0, perAgent - 3) < miners || perAgent > 4 || servers > agents * 4) {
    console.error(`--agents ${agents} x --per-agent ${perAgent} (4 CPUs each, one used by each server) cannot hold ${servers} servers and ${miners} miners`);
    process.exit(2);
  }
  process.exitCode = await runBench({ agents, miners, servers, perAgent, timeoutS, json: values.json });
}
