// Miner hashrate as the server sees it: estimated from accepted shares, since a share at difficulty d stands for
// d * 2^32 hashes on average. Decaying averages over 1 min, 5 min and 1 h (see src/rate.ts).
import { DecayingRates } from '../rate.js';

export const HASHRATE_WINDOWS = { '1m': 60, '5m': 300, '1h': 3600 } as const;
export type HashrateWindow = keyof typeof HASHRATE_WINDOWS;

export class ShareHashrate extends DecayingRates<HashrateWindow> {
  constructor(now: number) {
    super(HASHRATE_WINDOWS, now);
  }

  addShare(difficulty: number, now: number): void {
    this.add(difficulty * 4294967296, now);
  }
}
