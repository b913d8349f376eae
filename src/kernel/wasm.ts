// Loads one build of the WASM kernel (build/kernel-{simd8,simd,scalar}.wasm) and wraps its memory protocol.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { revectorizeSupported } from './runtime.js';
import type { KernelChoice, KernelName } from './types.js';
import { KERNEL_NAMES } from './types.js';

// The WebAssembly global as far as this module uses it (tsconfig's lib has no DOM typings for it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  kernelLanes(): number;
  headerPtr(): number;
  candidatesPtr(): number;
  candidateCapacity(): number;
  digestPtr(): number;
  scratchPtr(): number;
  scannedCount(): number;
  setJob(targetTopWord: number): void;
  scan(start: number, count: number): number;
  sha256(ptr: number, len: number): void;
  sha256d(ptr: number, len: number): void;
  merkleRoot(ptr: number, len: number, branches: number): void;
}

// The smallest module using a v128 instruction: (func (result v128) (v128.const i32x4 0 0 0 0)).
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // code: v128.const, end
]);

let simdSupport: boolean | undefined;
export function simdSupported(): boolean {
  if (simdSupport === undefined) simdSupport = wasmApi.validate(SIMD_PROBE);
  return simdSupport;
}

/**
 * 'auto' -> simd8 where V8 revectorizes it into 256-bit operations (Node 22+ on x64 with AVX2), else simd
 * where the engine has WebAssembly SIMD, else scalar. Forcing a SIMD build where there is no SIMD is an
 * error; forcing simd8 without the revectorizer runs it as 128-bit pairs (correct, slower than simd).
 */
export function resolveKernel(choice: KernelChoice | string = 'auto'): KernelName {
  if (choice === 'auto') return simdSupported() ? (revectorizeSupported() ? 'simd8' : 'simd') : 'scalar';
  if (!(KERNEL_NAMES as readonly string[]).includes(choice)) {
    throw new Error(`unknown kernel "${choice}": expected one of auto, ${KERNEL_NAMES.join(', ')}`);
  }
  if (choice !== 'scalar' && !simdSupported()) {
    throw new Error(`kernel "${choice}" was requested but this JavaScript engine has no WebAssembly SIMD; use --kernel scalar or auto`);
  }
  return choice as KernelName;
}

let revectorizeOn = false;
/**
 * Turns on V8's 128-to-256-bit revectorizer (process-wide, for modules compiled from now on): it must be set
 * before the simd8 module compiles, in the thread that compiles it. Only where V8 knows the flag.
 */
function enableRevectorize(): void {
  if (revectorizeOn || !revectorizeSupported()) return;
  setFlagsFromString('--experimental-wasm-revectorize');
  revectorizeOn = true;
}

export function kernelWasmPath(name: KernelName): string {
  // Same relative path from src/kernel/*.ts and dist/kernel/*.js.
  return fileURLToPath(new URL(`../../build/kernel-${name}.wasm`, import.meta.url));
}

const compiled = new Map<KernelName, object>();
function compile(name: KernelName): object {
  let module = compiled.get(name);
  if (!module) {
    const path = kernelWasmPath(name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the ${name} kernel at ${path} (run "npm run build:wasm"): ${(err as Error).message}`);
    }
    if (name === 'simd8') enableRevectorize();
    module = new wasmApi.Module(bytes);
    compiled.set(name, module);
  }
  return module;
}

/** Nonces per kernel call: bounded so the caller regains control (cancellation, progress) every few ms. */
export const MAX_KERNEL_BATCH = 1 << 24;

/** One instance of a kernel build; not thread-safe (each worker thread owns its own). */
export class WasmKernel {
  readonly lanes: number;
  readonly candidateCapacity: number;
  private readonly exports: KernelExports;
  /** View over the whole linear memory, replaced when the memory grows (growing detaches the old buffer). */
  private bytes: Uint8Array;
  private readonly scratch: number;
  private readonly digest: number;

  private constructor(readonly name: KernelName) {
    resolveKernel(name);
    const instance = new wasmApi.Instance(compile(name), {
      env: {
        abort: (_msg: number, _file: number, line: number, column: number) => {
          throw new Error(`${name} kernel aborted at ${line}:${column}`);
        },
      },
    });
    this.exports = instance.exports as unknown as KernelExports;
    this.lanes = this.exports.kernelLanes();
    this.candidateCapacity = this.exports.candidateCapacity();
    this.bytes = new Uint8Array(this.exports.memory.buffer);
    this.scratch = this.exports.scratchPtr();
    this.digest = this.exports.digestPtr();
  }

  static load(name: KernelName): WasmKernel {
    return new WasmKernel(name);
  }

  /** Starts a job: header bytes 0..79 (nonce ignored) and the top 32 bits of the target. */
  setJob(header80: Uint8Array, targetTopWord: number): void {
    if (header80.length !== 80) throw new Error(`kernel job needs an 80-byte header, got ${header80.length} bytes`);
    new Uint8Array(this.exports.memory.buffer, this.exports.headerPtr(), 80).set(header80);
    this.exports.setJob(targetTopWord >>> 0);
  }

  /**
   * Hashes [start, start + count) or until the candidate buffer fills; returns the candidate nonces
   * (top word <= target top word, unconfirmed) and how many nonces were hashed.
   */
  scan(start: number, count: number): { candidates: Uint32Array; scanned: number } {
    if (!Number.isInteger(count) || count < 0 || count > MAX_KERNEL_BATCH) {
      throw new Error(`kernel batch must be an integer in 0..${MAX_KERNEL_BATCH}, got ${count}`);
    }
    const found = this.exports.scan(start >>> 0, count);
    const candidates = new Uint32Array(this.exports.memory.buffer, this.exports.candidatesPtr(), found).slice();
    return { candidates, scanned: this.exports.scannedCount() };
  }

  /** SHA-256 computed by the WASM module (for known-answer tests of its compression function). */
  sha256(data: Uint8Array): Uint8Array {
    this.writeScratch(data);
    this.exports.sha256(this.scratch, data.length);
    return this.bytes.slice(this.digest, this.digest + 32);
  }

  /**
   * SHA-256d of `data` written to out[outOffset, outOffset + 32): one copy in, both hashes inside the module,
   * 32 bytes out, no allocation. `out` may be `data` itself (the merkle fold hashes pairs in place).
   */
  sha256dInto(data: Uint8Array, out: Uint8Array, outOffset = 0): void {
    if (outOffset < 0 || outOffset + 32 > out.length) {
      throw new Error(`sha256d output needs 32 bytes at offset ${outOffset} of a ${out.length}-byte buffer`);
    }
    this.writeScratch(data);
    this.exports.sha256d(this.scratch, data.length);
    const bytes = this.bytes;
    const d = this.digest;
    for (let i = 0; i < 32; i++) out[outOffset + i] = bytes[d + i]!;
  }

  /**
   * Merkle root of `coinbase` through `branch` (the branch hashes concatenated, 32 bytes each, as sent by the
   * pool) written to out[outOffset, outOffset + 32): sha256d(coinbase), then sha256d(root || b) per level, all
   * inside the module in one call.
   */
  merkleRootInto(coinbase: Uint8Array, branch: Uint8Array, out: Uint8Array, outOffset = 0): void {
    if (branch.length % 32 !== 0) throw new Error(`merkle branch must be 32-byte hashes, got ${branch.length} bytes`);
    if (outOffset < 0 || outOffset + 32 > out.length) {
      throw new Error(`merkle root output needs 32 bytes at offset ${outOffset} of a ${out.length}-byte buffer`);
    }
    this.writeScratch(coinbase, branch);
    this.exports.merkleRoot(this.scratch, coinbase.length, branch.length / 32);
    const bytes = this.bytes;
    const d = this.digest;
    for (let i = 0; i < 32; i++) out[outOffset + i] = bytes[d + i]!;
  }

  /** Copies the input (and what follows it) to the free memory past the static data, growing the memory as needed. */
  private writeScratch(data: Uint8Array, then?: Uint8Array): void {
    const needed = this.scratch + data.length + (then?.length ?? 0);
    const memory = this.exports.memory;
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    if (this.bytes.buffer !== memory.buffer) this.bytes = new Uint8Array(memory.buffer);
    this.bytes.set(data, this.scratch);
    if (then) this.bytes.set(then, this.scratch + data.length);
  }
}
