// Offer matching: pure functions from (offers, what is missing) to (what to launch where, what to decline).
// Servers go first and each needs two ports (stratum + HTTP status) from the offer's port ranges; they are spread
// one per agent, and share an agent only when every agent the framework knows has one already (a one-agent
// cluster) or the server has waited long enough for an agent of its own. Miners are sized by CPUs, take a port for
// each monitoring endpoint asked for (none by default), and an agent never gets more than --max-miners-per-agent.
import type { Offer, Resource } from './mesos-types.js';
import { OfferBudget } from './resources.js';
import { threadsForCpus } from './topology.js';

export interface TaskShape { cpus: number; mem: number }

export interface PlacementRequest {
  /** Servers to launch now. */
  serversWanted: number;
  /** Active servers per agent id. */
  serversOnAgent: ReadonlyMap<string, number>;
  /** Every agent the framework has seen an offer from: a server shares an agent only when all of them have one... */
  knownAgents: ReadonlySet<string>;
  /** ...or when it has waited long enough for an agent of its own. */
  spreadWaitOver: boolean;
  /** Miners to launch now (0 while no server's address is known). */
  minersWanted: number;
  server: TaskShape;
  miner: TaskShape;
  /** Ports each miner takes from its offer (its cgminer API, its /metrics); default 0. */
  minerPorts?: number;
  maxMinersPerAgent: number;
  /** Miners already running or launching, per agent id. */
  minersOnAgent: ReadonlyMap<string, number>;
  /** Use at most this many offers (one ACCEPT call each); the rest stay unused. Default: no limit. */
  maxOffers?: number;
}

export const SERVER_PORT_COUNT = 2;

export interface PlannedServer {
  role: 'server';
  resources: Resource[];
  /** Host ports taken from the offer: the stratum port and the HTTP status port. */
  ports: { stratum: number; http: number };
}

export interface PlannedMiner {
  role: 'miner';
  resources: Resource[];
  threads: number;
  /** Host ports taken from the offer (PlacementRequest.minerPorts of them). */
  ports: number[];
}

export type PlannedTask = PlannedServer | PlannedMiner;

export interface OfferPlan { offer: Offer; tasks: PlannedTask[] }

export interface PlacementResult {
  launches: OfferPlan[];
  /** Offers nothing was placed on: decline them. */
  unused: Offer[];
  /** What could not be placed in these offers. */
  unplaced: { servers: number; miners: number };
  /** maxOffers stopped the placement while something was still wanted: unused offers may fit. */
  capped: boolean;
}

function placeServer(budget: OfferBudget, shape: TaskShape): PlannedServer {
  const resources = [...budget.takeScalar('cpus', shape.cpus), ...budget.takeScalar('mem', shape.mem)];
  const { ports, resources: portResources } = budget.takePorts(SERVER_PORT_COUNT);
  return { role: 'server', resources: [...resources, ...portResources], ports: { stratum: ports[0]!, http: ports[1]! } };
}

function placeMiner(budget: OfferBudget, shape: TaskShape, portCount: number): PlannedMiner {
  const resources = [...budget.takeScalar('cpus', shape.cpus), ...budget.takeScalar('mem', shape.mem)];
  if (portCount === 0) return { role: 'miner', resources, threads: threadsForCpus(shape.cpus), ports: [] };
  const { ports, resources: portResources } = budget.takePorts(portCount);
  return { role: 'miner', resources: [...resources, ...portResources], threads: threadsForCpus(shape.cpus), ports };
}

export function validateShape(label: string, shape: TaskShape): void {
  if (!(Number.isFinite(shape.cpus) && shape.cpus > 0)) throw new Error(`${label} cpus must be > 0, got ${shape.cpus}`);
  if (!(Number.isFinite(shape.mem) && shape.mem > 0)) throw new Error(`${label} mem must be > 0 MiB, got ${shape.mem}`);
}

export function planOffers(offers: readonly Offer[], req: PlacementRequest): PlacementResult {
  validateShape('server', req.server);
  validateShape('miner', req.miner);
  const budgets = offers.map((offer) => new OfferBudget(offer));
  const planned = new Map<Offer, PlannedTask[]>();
  const maxOffers = req.maxOffers ?? Number.POSITIVE_INFINITY;
  let capped = false;
  const usable = (b: OfferBudget) => {
    if (planned.has(b.offer) || planned.size < maxOffers) return true;
    capped = true;
    return false;
  };
  const add = (offer: Offer, task: PlannedTask) => {
    const list = planned.get(offer) ?? [];
    list.push(task);
    planned.set(offer, list);
  };

  let servers = Math.max(0, req.serversWanted);
  const serversOn = new Map(req.serversOnAgent);
  const hasServer = (agent: string) => (serversOn.get(agent) ?? 0) > 0;
  const serverNeed = { ...req.server, ports: SERVER_PORT_COUNT };
  for (; servers > 0; servers--) {
    const fitting = budgets.filter((b) => b.fits(serverNeed) && usable(b));
    let budget = fitting.find((b) => !hasServer(b.offer.agent_id.value));
    const everyAgentHasOne = () => [...req.knownAgents].every(hasServer) && budgets.every((b) => hasServer(b.offer.agent_id.value));
    if (!budget && (req.spreadWaitOver || everyAgentHasOne())) {
      // Next to the fewest other servers.
      budget = fitting.sort((a, b) => (serversOn.get(a.offer.agent_id.value) ?? 0) - (serversOn.get(b.offer.agent_id.value) ?? 0))[0];
    }
    if (!budget) break;
    add(budget.offer, placeServer(budget, req.server));
    serversOn.set(budget.offer.agent_id.value, (serversOn.get(budget.offer.agent_id.value) ?? 0) + 1);
  }

  let miners = Math.max(0, req.minersWanted);
  const perAgent = new Map(req.minersOnAgent);
  const minerNeed = { ...req.miner, ports: req.minerPorts ?? 0 };
  for (const budget of budgets) {
    if (miners === 0) break;
    const agent = budget.offer.agent_id.value;
    while (miners > 0 && (perAgent.get(agent) ?? 0) < req.maxMinersPerAgent && budget.fits(minerNeed) && usable(budget)) {
      add(budget.offer, placeMiner(budget, req.miner, minerNeed.ports));
      perAgent.set(agent, (perAgent.get(agent) ?? 0) + 1);
      miners -= 1;
    }
  }

  const launches: OfferPlan[] = [];
  const unused: Offer[] = [];
  for (const offer of offers) {
    const tasks = planned.get(offer);
    if (tasks) launches.push({ offer, tasks });
    else unused.push(offer);
  }
  return { launches, unused, unplaced: { servers, miners }, capped: capped && (servers > 0 || miners > 0) };
}
