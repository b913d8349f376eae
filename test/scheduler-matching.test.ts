import { describe, expect, it } from 'vitest';
import { planOffers, type PlacementRequest, type PlannedMiner, type PlannedServer } from '../src/scheduler/matching.js';
import { OfferBudget, offerRole, portInRanges } from '../src/scheduler/resources.js';
import type { Offer, Resource } from '../src/scheduler/mesos-types.js';

function offer(id: string, agent: string, cpus: number, mem: number, ports: [number, number][] = [[31000, 31099]], role = 'mining'): Offer {
  const alloc = { role };
  const resources: Resource[] = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: cpus }, allocation_info: alloc },
    { name: 'mem', type: 'SCALAR', scalar: { value: mem }, allocation_info: alloc },
  ];
  if (ports.length > 0) {
    resources.push({ name: 'ports', type: 'RANGES', ranges: { range: ports.map(([begin, end]) => ({ begin, end })) }, allocation_info: alloc });
  }
  return { id: { value: id }, framework_id: { value: 'fw' }, agent_id: { value: agent }, hostname: `${agent}.example`, resources, allocation_info: alloc };
}

const base: PlacementRequest = {
  serversWanted: 0,
  serversOnAgent: new Map(),
  knownAgents: new Set(),
  spreadWaitOver: false,
  minersWanted: 0,
  server: { cpus: 1, mem: 256 },
  miner: { cpus: 2, mem: 192 },
  maxMinersPerAgent: 4,
  minersOnAgent: new Map(),
};

function sum(resources: Resource[], name: string): number {
  return resources.filter((r) => r.name === name).reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
}

describe('OfferBudget', () => {
  it('draws scalars across pieces and keeps each piece\'s role metadata', () => {
    const o = offer('o1', 'a1', 1, 1024);
    o.resources!.push({ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, allocation_info: { role: 'mining' }, reservations: [{ type: 'STATIC', role: 'mining' }] });
    const budget = new OfferBudget(o);
    expect(budget.scalar('cpus')).toBe(3);
    const taken = budget.takeScalar('cpus', 2.5);
    expect(taken).toHaveLength(2);
    expect(taken[0]!.scalar!.value).toBe(1);
    expect(taken[1]!.scalar!.value).toBe(1.5);
    expect(taken[1]!.reservations).toEqual([{ type: 'STATIC', role: 'mining' }]);
    expect(taken.every((r) => r.allocation_info?.role === 'mining')).toBe(true);
    expect(budget.scalar('cpus')).toBe(0.5);
    expect(() => budget.takeScalar('cpus', 1)).toThrow(/has 0.5 cpus, needs 1/);
  });

  it('rounds scalars so repeated 0.1 draws do not drift', () => {
    const budget = new OfferBudget(offer('o1', 'a1', 0.3, 100));
    budget.takeScalar('cpus', 0.1);
    budget.takeScalar('cpus', 0.1);
    expect(budget.fits({ cpus: 0.1, mem: 1 })).toBe(true);
    budget.takeScalar('cpus', 0.1);
    expect(budget.scalar('cpus')).toBe(0);
  });

  it('takes ports from inside the ranges, across ranges, never twice', () => {
    const budget = new OfferBudget(offer('o1', 'a1', 4, 1024, [[31000, 31000], [31005, 31006]]));
    expect(budget.portCount()).toBe(3);
    const first = budget.takePorts(2);
    expect(first.ports).toEqual([31000, 31005]);
    expect(first.resources[0]!.ranges!.range).toEqual([{ begin: 31000, end: 31000 }, { begin: 31005, end: 31005 }]);
    const second = budget.takePorts(1);
    expect(second.ports).toEqual([31006]);
    expect(() => budget.takePorts(1)).toThrow(/has 0 free ports/);
  });

  it('ignores malformed port ranges instead of using them', () => {
    const budget = new OfferBudget(offer('o1', 'a1', 4, 1024, [[5, 2], [0, 0], [70000, 70010]]));
    expect(budget.portCount()).toBe(0);
  });

  it('reads the allocation role of an offer', () => {
    expect(offerRole(offer('o', 'a', 1, 1, [], 'blue'))).toBe('blue');
    const o = offer('o', 'a', 1, 1, [], 'green');
    delete o.allocation_info;
    expect(offerRole(o)).toBe('green');
  });
});

describe('planOffers', () => {
  it('places the server first, with two ports inside the offer\'s ranges declared in its resources', () => {
    const offers = [offer('o1', 'a1', 0.5, 4096), offer('o2', 'a2', 4, 4096, [[40000, 40001]])];
    const result = planOffers(offers, { ...base, serversWanted: 1 });
    expect(result.launches).toHaveLength(1);
    expect(result.launches[0]!.offer.id.value).toBe('o2');
    const server = result.launches[0]!.tasks[0] as PlannedServer;
    expect(server.role).toBe('server');
    expect(server.ports).toEqual({ stratum: 40000, http: 40001 });
    const ranges = server.resources.filter((r) => r.name === 'ports').flatMap((r) => r.ranges!.range!);
    for (const port of [server.ports.stratum, server.ports.http]) {
      expect(portInRanges(port, ranges)).toBe(true);
      expect(portInRanges(port, [{ begin: 40000, end: 40001 }])).toBe(true);
    }
    expect(sum(server.resources, 'cpus')).toBe(1);
    expect(sum(server.resources, 'mem')).toBe(256);
    expect(result.unused.map((o) => o.id.value)).toEqual(['o1']);
    expect(result.unplaced.servers).toBe(0);
  });

  it('never places the server on an offer without ports', () => {
    const result = planOffers([offer('o1', 'a1', 8, 8192, [])], { ...base, serversWanted: 1 });
    expect(result.launches).toHaveLength(0);
    expect(result.unused).toHaveLength(1);
    expect(result.unplaced.servers).toBe(1);
  });

  it('sizes miners by CPUs and packs several into one offer up to the per-agent limit', () => {
    const result = planOffers([offer('o1', 'a1', 9, 8192)], { ...base, minersWanted: 10, miner: { cpus: 2, mem: 192 } });
    const tasks = result.launches[0]!.tasks as PlannedMiner[];
    expect(tasks).toHaveLength(4); // 9 cpus fit 4 miners of 2; the limit is also 4
    for (const t of tasks) {
      expect(t.threads).toBe(2);
      expect(sum(t.resources, 'cpus')).toBe(2);
      expect(sum(t.resources, 'mem')).toBe(192);
      expect(t.resources.some((r) => r.name === 'ports')).toBe(false);
    }
    expect(result.unplaced.miners).toBe(6);
  });

  it('gives fractional-CPU miners one thread and floors larger sizes', () => {
    const small = planOffers([offer('o1', 'a1', 1, 1024)], { ...base, minersWanted: 1, miner: { cpus: 0.5, mem: 64 } });
    expect((small.launches[0]!.tasks[0] as PlannedMiner).threads).toBe(1);
    const big = planOffers([offer('o1', 'a1', 8, 1024)], { ...base, minersWanted: 1, miner: { cpus: 3.7, mem: 64 } });
    expect((big.launches[0]!.tasks[0] as PlannedMiner).threads).toBe(3);
  });

  it('counts miners already on an agent and across several offers from the same agent', () => {
    const offers = [offer('o1', 'a1', 4, 4096), offer('o2', 'a1', 4, 4096), offer('o3', 'a2', 4, 4096)];
    const result = planOffers(offers, {
      ...base, minersWanted: 5, miner: { cpus: 1, mem: 100 }, maxMinersPerAgent: 3, minersOnAgent: new Map([['a1', 1]]),
    });
    const perAgent = new Map<string, number>();
    for (const plan of result.launches) perAgent.set(plan.offer.agent_id.value, (perAgent.get(plan.offer.agent_id.value) ?? 0) + plan.tasks.length);
    expect(perAgent.get('a1')).toBe(2);
    expect(perAgent.get('a2')).toBe(3);
    expect(result.unused.map((o) => o.id.value)).toEqual(['o2']);
    expect(result.unplaced.miners).toBe(0);
  });

  it('places server and miners in the same round when both are wanted', () => {
    const result = planOffers([offer('o1', 'a1', 3, 1024)], { ...base, serversWanted: 1, minersWanted: 2, miner: { cpus: 1, mem: 256 } });
    const roles = result.launches[0]!.tasks.map((t) => t.role);
    expect(roles).toEqual(['server', 'miner', 'miner']);
    const total = result.launches[0]!.tasks.flatMap((t) => t.resources);
    expect(sum(total, 'cpus')).toBe(3);
    expect(sum(total, 'mem')).toBe(768);
  });

  it('spreads servers one per agent, the agents that already have one last', () => {
    const offers = [offer('o1', 'a1', 4, 4096), offer('o2', 'a2', 4, 4096), offer('o3', 'a3', 4, 4096)];
    const known = new Set(['a1', 'a2', 'a3']);
    const two = planOffers(offers, { ...base, serversWanted: 2, knownAgents: known, serversOnAgent: new Map([['a1', 1]]) });
    expect(two.launches.map((l) => [l.offer.agent_id.value, l.tasks.length])).toEqual([['a2', 1], ['a3', 1]]);
    expect(two.unplaced.servers).toBe(0);
  });

  it('a server shares an agent only when every known agent has one (a one-agent cluster), or once the spread wait is over', () => {
    const a1 = offer('o1', 'a1', 4, 4096);
    // One agent: both servers go there, each with its own ports.
    const alone = planOffers([a1], { ...base, serversWanted: 2, knownAgents: new Set(['a1']) });
    const ports = (alone.launches[0]!.tasks as PlannedServer[]).map((t) => t.ports);
    expect(ports).toEqual([{ stratum: 31000, http: 31001 }, { stratum: 31002, http: 31003 }]);
    // Another agent is known (its offer did not come, or it is full): the second server waits for it...
    const waiting = planOffers([a1], { ...base, serversWanted: 2, knownAgents: new Set(['a1', 'a2']) });
    expect(waiting.launches[0]!.tasks).toHaveLength(1);
    expect(waiting.unplaced.servers).toBe(1);
    const full = planOffers([a1, offer('o2', 'a2', 0.5, 64)], { ...base, serversWanted: 1, serversOnAgent: new Map([['a1', 1]]), knownAgents: new Set(['a1']) });
    expect(full.unplaced.servers).toBe(1);
    // ...until the framework says it has waited long enough.
    const over = planOffers([a1], { ...base, serversWanted: 2, knownAgents: new Set(['a1', 'a2']), spreadWaitOver: true });
    expect(over.launches[0]!.tasks).toHaveLength(2);
  });

  it('uses at most maxOffers offers and says so when that left something unplaced', () => {
    const offers = [1, 2, 3, 4].map((n) => offer(`o${n}`, `a${n}`, 4, 4096));
    const capped = planOffers(offers, { ...base, minersWanted: 4, maxMinersPerAgent: 1, maxOffers: 2 });
    expect(capped.launches.map((l) => l.offer.id.value)).toEqual(['o1', 'o2']);
    expect(capped).toMatchObject({ unplaced: { miners: 2 }, capped: true });
    expect(planOffers(offers, { ...base, minersWanted: 2, maxMinersPerAgent: 1, maxOffers: 2 }).capped).toBe(false);
    // Several tasks on one offer are one ACCEPT.
    expect(planOffers(offers, { ...base, minersWanted: 4, miner: { cpus: 1, mem: 100 }, maxOffers: 1 }).launches[0]!.tasks).toHaveLength(4);
  });

  it('declines everything when nothing is wanted', () => {
    const offers = [offer('o1', 'a1', 3, 1024), offer('o2', 'a2', 3, 1024)];
    const result = planOffers(offers, base);
    expect(result.launches).toEqual([]);
    expect(result.unused).toEqual(offers);
  });

  it('rejects nonsensical task shapes with a clear error', () => {
    expect(() => planOffers([], { ...base, miner: { cpus: 0, mem: 10 } })).toThrow(/miner cpus must be > 0/);
    expect(() => planOffers([], { ...base, server: { cpus: 1, mem: Number.NaN } })).toThrow(/server mem must be > 0/);
  });
});
