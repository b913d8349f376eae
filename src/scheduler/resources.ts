// Reading an offer's resources and carving task resources out of it. An offer can hold several pieces of the
// same resource (unreserved and reserved for our role, say); each piece we draw from becomes one Resource in
// the TaskInfo carrying that piece's role/reservation/allocation metadata, which is what Mesos validates.
import type { Offer, Range, Resource } from './mesos-types.js';

/** Mesos keeps scalars to three decimals; round so 0.1 + 0.2 never leaves 0.30000000000000004 cpus. */
export function roundScalar(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function metadataOf(piece: Resource): Partial<Resource> {
  const { scalar: _s, ranges: _r, set: _set, ...meta } = piece;
  return meta;
}

interface ScalarPiece { meta: Partial<Resource>; remaining: number }
interface RangesPiece { meta: Partial<Resource>; ranges: Range[] }

/** What is left of one offer while tasks are being fitted into it. */
export class OfferBudget {
  private readonly scalars = new Map<string, ScalarPiece[]>();
  private readonly portPieces: RangesPiece[] = [];

  constructor(readonly offer: Offer) {
    for (const resource of offer.resources ?? []) {
      if (resource.type === 'SCALAR' && typeof resource.scalar?.value === 'number' && resource.scalar.value > 0) {
        const list = this.scalars.get(resource.name) ?? [];
        list.push({ meta: metadataOf(resource), remaining: resource.scalar.value });
        this.scalars.set(resource.name, list);
      } else if (resource.type === 'RANGES' && resource.name === 'ports') {
        const ranges = (resource.ranges?.range ?? [])
          .filter((r) => Number.isInteger(r.begin) && Number.isInteger(r.end) && r.begin <= r.end && r.begin > 0)
          .map((r) => ({ begin: r.begin, end: Math.min(r.end, 65535) }))
          .filter((r) => r.begin <= r.end);
        if (ranges.length > 0) this.portPieces.push({ meta: metadataOf(resource), ranges });
      }
    }
  }

  scalar(name: string): number {
    return roundScalar((this.scalars.get(name) ?? []).reduce((sum, p) => sum + p.remaining, 0));
  }

  portCount(): number {
    let n = 0;
    for (const piece of this.portPieces) for (const r of piece.ranges) n += r.end - r.begin + 1;
    return n;
  }

  fits(need: { cpus: number; mem: number; ports?: number }): boolean {
    return this.scalar('cpus') >= need.cpus && this.scalar('mem') >= need.mem && this.portCount() >= (need.ports ?? 0);
  }

  /** Draws `amount` of a scalar resource; throws if the offer has less (callers check fits() first). */
  takeScalar(name: string, amount: number): Resource[] {
    if (this.scalar(name) < amount) {
      throw new Error(`offer ${this.offer.id.value} has ${this.scalar(name)} ${name}, needs ${amount}`);
    }
    const taken: Resource[] = [];
    let left = roundScalar(amount);
    for (const piece of this.scalars.get(name) ?? []) {
      if (left <= 0) break;
      const part = roundScalar(Math.min(piece.remaining, left));
      if (part <= 0) continue;
      piece.remaining = roundScalar(piece.remaining - part);
      left = roundScalar(left - part);
      taken.push({ ...piece.meta, name, type: 'SCALAR', scalar: { value: part } } as Resource);
    }
    return taken;
  }

  /** Takes the `count` lowest free ports, each declared as a one-port range in the task's resources. */
  takePorts(count: number): { ports: number[]; resources: Resource[] } {
    if (this.portCount() < count) {
      throw new Error(`offer ${this.offer.id.value} has ${this.portCount()} free ports, needs ${count}`);
    }
    const ports: number[] = [];
    const resources: Resource[] = [];
    for (const piece of this.portPieces) {
      const chosen: Range[] = [];
      while (ports.length < count && piece.ranges.length > 0) {
        const first = piece.ranges[0]!;
        ports.push(first.begin);
        chosen.push({ begin: first.begin, end: first.begin });
        if (first.begin === first.end) piece.ranges.shift();
        else first.begin += 1;
      }
      if (chosen.length > 0) resources.push({ ...piece.meta, name: 'ports', type: 'RANGES', ranges: { range: chosen } } as Resource);
      if (ports.length === count) break;
    }
    return { ports, resources };
  }
}

/** The role an offer was allocated to (MULTI_ROLE): the offer's allocation_info, else its first resource's. */
export function offerRole(offer: Offer): string | undefined {
  return offer.allocation_info?.role ?? offer.resources?.find((r) => r.allocation_info?.role)?.allocation_info?.role;
}

export function portInRanges(port: number, ranges: Range[]): boolean {
  return ranges.some((r) => port >= r.begin && port <= r.end);
}
