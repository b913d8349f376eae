// The scheduler configuration the framework tests start from: docker tasks on the fake master, fast timers
// (20 ms ticks) so placement, relaunch and reconcile happen within a test's time.
import { FRAMEWORK_DEFAULTS, type FrameworkConfig } from '../../src/scheduler/framework.js';

export function testFrameworkConfig(overrides: Partial<FrameworkConfig> = {}): FrameworkConfig {
  return {
    ...FRAMEWORK_DEFAULTS,
    name: 'mm', user: 'miner', roles: ['*'], miners: 2, servers: 1, tierWaitMs: 1000, serverStatsIntervalMs: 0, maxAcceptsInFlight: 1000,
    server: { cpus: 1, mem: 256 }, miner: { cpus: 1, mem: 160 }, maxMinersPerAgent: 1,
    upstream: { pools: ['stratum+tcp://pool.example:3333'], user: 'acct' }, secrets: {},
    container: { mode: 'docker', image: 'mesos-miner:test', network: 'HOST', forcePull: false, commandPath: '/usr/bin/mesos-miner' },
    tickMs: 20, reviveIntervalMs: 50, launchTimeoutMs: 2000, reconcileIntervalMs: 60_000,
    reconcileBackoff: { baseMs: 50, maxMs: 200 }, relaunchBackoff: { baseMs: 20, maxMs: 100, stableMs: 60_000 },
    killRetryMs: 500, teardownOnExit: false,
    ...overrides,
  };
}
