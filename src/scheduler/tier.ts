// The rules of a tier of servers, as pure functions: the failover list a new miner gets, and which miners a rolling
// relaunch takes next. A miner list is a list of server endpoint keys (host:port), its primary first.

/** A running server as a new miner's list sees it. */
export interface TierServer {
  key: string;
  /** False once Mesos reported it unhealthy: it is still listed, but never made a primary while a healthy one runs. */
  healthy: boolean;
}

/** The list's key in the task store's index (miners grouped by the exact list they were launched with). */
export function listKey(servers: readonly string[]): string {
  return servers.join(',');
}

/**
 * Failover lists for `count` new miners over the running servers (in index order). Each primary is the server the
 * fewest miners use as theirs (healthy servers first, then the lowest index); the other servers follow in index
 * order, rotated by how many miners that primary already has, so its miners spread their second choice evenly and
 * a lost server's miners do not all land on one neighbour. `primaries` (miners per primary key) is updated.
 */
export function failoverLists(servers: readonly TierServer[], primaries: Map<string, number>, count: number): string[][] {
  if (servers.length === 0) throw new Error('no running server to give miners');
  const candidates = servers.some((s) => s.healthy) ? servers.filter((s) => s.healthy) : servers;
  const lists: string[][] = [];
  for (let n = 0; n < count; n++) {
    let primary = candidates[0]!.key;
    for (const s of candidates) if ((primaries.get(s.key) ?? 0) < (primaries.get(primary) ?? 0)) primary = s.key;
    const used = primaries.get(primary) ?? 0;
    primaries.set(primary, used + 1);
    const others = servers.map((s) => s.key).filter((k) => k !== primary);
    const turn = others.length > 0 ? used % others.length : 0;
    lists.push([primary, ...others.slice(turn), ...others.slice(0, turn)]);
  }
  return lists;
}

/** How many miners may be in a rolling relaunch at once: `fraction` of the farm, at least one. */
export function relaunchLimit(miners: number, fraction: number): number {
  return Math.max(1, Math.floor(miners * fraction));
}

/**
 * The next miners of a rolling relaunch, at most `budget`: RUNNING miners whose list lacks a running server (one
 * that replaced a lost server at a new address, or started after them). Those whose primary is no longer running
 * go first: they are the ones mining on a fallback. `groups` are the miners by the list they were launched with.
 */
export function pickOutdated<T extends { state: string }>(groups: Iterable<[string, Iterable<T>]>, running: ReadonlySet<string>, budget: number): T[] {
  if (budget <= 0 || running.size === 0) return [];
  const outdated: Array<{ primaryGone: boolean; miners: Iterable<T> }> = [];
  // Runs on every status update: string searches, no allocation per group.
  for (const [key, miners] of groups) {
    const list = `,${key},`;
    let lacks = false;
    for (const k of running) if (!list.includes(`,${k},`)) lacks = true;
    if (lacks) outdated.push({ primaryGone: !running.has(key.slice(0, (key + ',').indexOf(','))), miners });
  }
  outdated.sort((a, b) => Number(b.primaryGone) - Number(a.primaryGone));
  const picked: T[] = [];
  for (const group of outdated) {
    for (const m of group.miners) {
      if (picked.length >= budget) return picked;
      if (m.state === 'TASK_RUNNING') picked.push(m);
    }
  }
  return picked;
}
