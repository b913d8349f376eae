// Known answers for the WASM module's own SHA-256 (the compression the kernel is generated from shares
// its constants): FIPS 180-2 example vectors, then random lengths against node:crypto.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WasmKernel, simdSupported } from '../src/kernel/wasm.js';
import type { KernelName } from '../src/kernel/types.js';

const NIST: Array<[string, string | Uint8Array, string]> = [
  ['empty string', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"abc"', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['448-bit message (two blocks after padding)', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['896-bit message', 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  ['one million "a"', new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

const builds: KernelName[] = simdSupported() ? ['simd', 'scalar'] : ['scalar'];

describe.each(builds)('WASM sha256 (%s build)', (name) => {
  const kernel = WasmKernel.load(name);

  it.each(NIST)('NIST vector: %s', (_label, input, expected) => {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
    expect(Buffer.from(kernel.sha256(bytes)).toString('hex')).toBe(expected);
  });

  it('matches node:crypto on every length around the block and padding boundaries', () => {
    for (let len = 0; len <= 200; len++) {
      const data = randomBytes(len);
      const expected = createHash('sha256').update(data).digest('hex');
      expect(Buffer.from(kernel.sha256(data)).toString('hex'), `length ${len}`).toBe(expected);
    }
  });
});
