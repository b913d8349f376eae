// Merkle trees over transaction hashes in internal byte order (the raw sha256d digests, not the reversed txid
// hex block explorers show). Odd levels pair their last hash with itself, as Bitcoin does.
import { sha256d } from './hash.js';

function checkHash(hash: Uint8Array, what: string): void {
  if (hash.length !== 32) throw new Error(`${what}: expected a 32-byte hash, got ${hash.length} bytes`);
}

function parent(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256d(Buffer.concat([left, right]));
}

/** Stratum's way: root = sha256d(coinbase); for each branch b: root = sha256d(root || b). */
export function merkleRootFromBranch(coinbaseHash: Uint8Array, branch: readonly Uint8Array[]): Buffer {
  checkHash(coinbaseHash, 'coinbase hash');
  let node: Buffer = Buffer.from(coinbaseHash);
  branch.forEach((sibling, i) => {
    checkHash(sibling, `merkle branch[${i}]`);
    node = parent(node, sibling);
  });
  return node;
}

/** The full merkle root of a block's transaction hashes (coinbase first). */
export function merkleRoot(txHashes: readonly Uint8Array[]): Buffer {
  if (txHashes.length === 0) throw new Error('merkle root of an empty transaction list');
  txHashes.forEach((h, i) => checkHash(h, `tx hash[${i}]`));
  let level: Uint8Array[] = [...txHashes];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(parent(level[i]!, level[i + 1] ?? level[i]!));
    level = next;
  }
  return Buffer.from(level[0]!);
}

/**
 * The Stratum merkle branch for the coinbase position, from the hashes of every transaction after the coinbase
 * (what a server sends in mining.notify when it builds the block itself). Empty for a coinbase-only block.
 */
export function coinbaseMerkleBranch(otherTxHashes: readonly Uint8Array[]): Buffer[] {
  otherTxHashes.forEach((h, i) => checkHash(h, `tx hash[${i + 1}]`));
  const branch: Buffer[] = [];
  // Index 0 of every level is the (unknown) coinbase-side node; only its siblings and the rest are hashed.
  let rest: Uint8Array[] = [...otherTxHashes];
  while (rest.length > 0) {
    branch.push(Buffer.from(rest[0]!));
    const next: Uint8Array[] = [];
    for (let i = 1; i < rest.length; i += 2) next.push(parent(rest[i]!, rest[i + 1] ?? rest[i]!));
    rest = next;
  }
  return branch;
}
