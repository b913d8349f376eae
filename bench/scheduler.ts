// Scheduler benchmark: the framework against the in-process fake master offering many agents.
//   npx tsx bench/scheduler.ts [--agents 1000] [--miners 1000] [--per-agent 1] [--json]
// Prints the time from SUBSCRIBED to every miner RUNNING, calls by type and per second, and the process's
// CPU time and memory (scheduler and fake master share this process, so CPU is an upper bound).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { SchedulerClient } from '../src/mesos/scheduler-client.js';
import { Framework, FRAMEWORK_DEFAULTS, frameworkInfo, type FrameworkConfig } from '../src/scheduler/framework.js';
import { StateFile } from '../src/scheduler/state-file.js';
import { FakeMaster } from '../test/support/fake-master.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    miners: { type: 'string', default: '1000' },
    'per-agent': { type: 'string', default: '1' },
    'timeout': { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
  },
});
const agents = Number(values.agents);
const miners = Number(values.miners);
const perAgent = Number(values['per-agent']);
if (![agents, miners, perAgent].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--agents, --miners and --per-agent must be positive integers');
  process.exit(2);
}
if (agents * perAgent < miners) {
  console.error(`--agents ${agents} x --per-agent ${perAgent} cannot hold ${miners} miners`);
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'mm-bench-'));
const master = await FakeMaster.start({ agents, heartbeatIntervalSeconds: 15 });
const config: FrameworkConfig = {
  ...FRAMEWORK_DEFAULTS,
  name: 'bench', user: 'bench', roles: ['*'], miners,
  server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 160 }, maxMinersPerAgent: perAgent,
  upstream: { pools: ['stratum+tcp://pool.example:3333'], user: 'bench' }, secrets: {},
  container: { mode: 'docker', image: 'mesos-miner:bench', network: 'HOST', forcePull: false, commandPath: '/x' },
  reviveIntervalMs: 1000, teardownOnExit: false,
};
const client = new SchedulerClient({ master: master.url, framework: frameworkInfo(config) });
const framework = new Framework(config, client, new StateFile(join(dir, 'state.json')), silentLogger);

let subscribedAt = 0;
client.once('subscribed', () => { subscribedAt = performance.now(); });
const cpuBefore = process.cpuUsage();
let peakRss = 0;
await framework.start();
const deadline = Date.now() + Number(values.timeout) * 1000;
let lastPrint = 0;
for (;;) {
  const s = framework.status();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (s.running.miners === miners && s.running.servers === 1) break;
  if (Date.now() > deadline) {
    console.error(`timed out: ${s.running.miners}/${miners} miners running`);
    break;
  }
  if (!values.json && Date.now() - lastPrint > 1000) {
    lastPrint = Date.now();
    process.stderr.write(`\r${s.running.miners}/${miners} miners running...`);
  }
  await new Promise((r) => setTimeout(r, 10));
}
const elapsedMs = performance.now() - subscribedAt;
const cpu = process.cpuUsage(cpuBefore);
await framework.idle();
const byType: Record<string, number> = {};
for (const c of master.calls) byType[c.call.type] = (byType[c.call.type] ?? 0) + 1;
const declinedOffers = master.callsOfType('DECLINE').reduce((n, c) => n + (c.call.decline!.offer_ids?.length ?? 0), 0);
const result = {
  agents, miners, perAgent,
  subscribedToAllRunningMs: Math.round(elapsedMs),
  calls: master.calls.length,
  callsPerSecond: Math.round(master.calls.length / (elapsedMs / 1000)),
  callsByType: byType,
  declinedOffers,
  offersPerDecline: byType.DECLINE ? +(declinedOffers / byType.DECLINE).toFixed(1) : 0,
  cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
  heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
};
await framework.stop();
await master.close();
await rm(dir, { recursive: true, force: true });
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  process.stderr.write('\n');
  console.log(`SUBSCRIBED -> ${miners} miners RUNNING: ${result.subscribedToAllRunningMs} ms (goal < 10,000 ms)`);
  console.log(`calls: ${result.calls} (${result.callsPerSecond}/s) ${JSON.stringify(byType)}`);
  console.log(`declines: ${byType.DECLINE ?? 0} calls for ${declinedOffers} offers (${result.offersPerDecline} per call)`);
  console.log(`process CPU ${result.cpuSeconds} s (scheduler + fake master), peak RSS ${result.peakRssMiB} MiB`);
}
