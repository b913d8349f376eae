// Fake Mesos masters and scheduler clients for one test file; cleanup() stops and closes all of them.
import type { SchedulerClient } from '../../src/mesos/scheduler-client.js';
import { FakeMaster, type FakeMasterOptions } from './fake-master.js';

export class MesosFixture {
  readonly masters: FakeMaster[] = [];
  readonly clients: SchedulerClient[] = [];

  /** `defaults` apply to every master of this fixture; heartbeats every 50 ms unless they say otherwise. */
  constructor(private readonly defaults: FakeMasterOptions = {}) {}

  async master(options: FakeMasterOptions = {}): Promise<FakeMaster> {
    const master = await FakeMaster.start({ heartbeatIntervalSeconds: 0.05, ...this.defaults, ...options });
    this.masters.push(master);
    return master;
  }

  /** Registers a client to be stopped by cleanup(). */
  track<C extends SchedulerClient>(client: C): C {
    this.clients.push(client);
    return client;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.stop()));
    await Promise.all(this.masters.splice(0).map((m) => m.close()));
  }
}
