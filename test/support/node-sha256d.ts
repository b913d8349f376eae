// sha256d with node:crypto: an implementation independent of src/bitcoin/hash.ts and the WASM kernel, for test
// code that checks or builds what the product hashes.
import { createHash } from 'node:crypto';

export const nodeSha256d = (b: Uint8Array): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
