// What the kernel runs on: the JavaScript runtime (Node and V8 versions) and the CPU (vendor, model, AVX2).
// The kernel's speed depends on both (V8 13 packs the simd8 build into 256-bit AVX2 operations; AMD and
// Intel differ in vector shift throughput), so the bench reports them and the loader picks a build by them.
import { readFileSync } from 'node:fs';
import { arch, cpus } from 'node:os';

export interface RuntimeInfo {
  node: string;
  v8: string;
  arch: string;
  /** 'AuthenticAMD', 'GenuineIntel', ... from /proc/cpuinfo; 'unknown' where it cannot be read. */
  cpuVendor: string;
  cpuModel: string;
  /** The CPU has AVX2 (from /proc/cpuinfo's flags; false where it cannot be read). */
  avx2: boolean;
}

let cached: RuntimeInfo | undefined;

function cpuinfoField(text: string, name: string): string | undefined {
  const match = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text);
  return match?.[1]?.trim();
}

export function runtimeInfo(): RuntimeInfo {
  if (cached) return cached;
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux, or no /proc: vendor unknown, AVX2 not assumed
  }
  cached = {
    node: process.version,
    v8: process.versions.v8,
    arch: arch(),
    cpuVendor: cpuinfoField(cpuinfo, 'vendor_id') ?? 'unknown',
    cpuModel: cpus()[0]?.model ?? cpuinfoField(cpuinfo, 'model name') ?? 'unknown',
    avx2: /\bavx2\b/.test(cpuinfoField(cpuinfo, 'flags') ?? ''),
  };
  return cached;
}

/** V8's version as [major, minor] ("13.6.233.17-node.63" -> [13, 6]). */
export function v8Version(version = process.versions.v8): [number, number] {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return [major, minor];
}

/**
 * True where V8 can pack pairs of 128-bit SIMD operations into 256-bit ones (--experimental-wasm-revectorize):
 * the flag exists from V8 12.4 (Node 22), it only targets x64 with AVX2. Node 20 (V8 11.3) does not know the
 * flag (setting it prints "unrecognized flag"), so it is never set there.
 */
export function revectorizeSupported(info: RuntimeInfo = runtimeInfo()): boolean {
  const [major, minor] = v8Version(info.v8);
  return info.arch === 'x64' && info.avx2 && (major > 12 || (major === 12 && minor >= 4));
}
