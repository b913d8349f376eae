// vitest globalSetup: one line at the start of a run saying whether the integration suite runs against the real
// peers or is skipped (the per-suite skip reason only shows with the verbose reporter).
import { peersPresent, PEERS_HOME, SKIP_MESSAGE } from './peers.js';

export default function setup(): void {
  console.log(peersPresent ? `integration suite: real peers from ${PEERS_HOME}` : `integration suite: ${SKIP_MESSAGE}`);
}
