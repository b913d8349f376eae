// The deployment bundle: one reproducible .tar.gz holding everything `node mesos-miner/dist/cli.js` needs (the
// package's files, package.json and its production node_modules), for agents that get programs through the Mesos
// fetcher instead of an image registry. The same installation always gives the same bytes: entries sorted, every
// header field fixed (see tar.ts), gzip without a timestamp.
//
// Layout: `mesos-miner/bundle.json` first (name, version, digest), then `mesos-miner/` and everything below it in
// byte order. The digest is the sha256 of the archive bytes after bundle.json, i.e. of every other entry with its
// path, mode and contents: it names the contents, and a task compares it with what the scheduler expects.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { productionPackages } from './dependencies.js';
import { readTar, TAR_END, tarEntry, type TarEntry } from './tar.js';

export const BUNDLE_DIR = 'mesos-miner';
export const MANIFEST_PATH = `${BUNDLE_DIR}/bundle.json`;
/** Where the CLI is once the fetcher has extracted the bundle into a sandbox (the task's working directory). */
export const BUNDLE_CLI = `${BUNDLE_DIR}/dist/cli.js`;
/** Hex digits of the digest used in file names and in the version check. */
export const DIGEST_PREFIX = 16;

export interface BundleManifest {
  name: 'mesos-miner';
  version: string;
  /** sha256 (hex) of every entry after bundle.json. */
  digest: string;
}

export interface Bundle {
  manifest: BundleManifest;
  /** The .tar.gz. */
  bytes: Buffer;
  /** sha256 (hex) of `bytes`, for checksums where the operator hosts it. */
  sha256: string;
  /** Content-addressed file name: `mesos-miner-<version>-<digest prefix>.tar.gz`. */
  fileName: string;
}

/** The root of the running installation (dist/bundle/ and src/bundle/ are both two levels below it). */
export function installRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

export function bundleFileName(manifest: BundleManifest): string {
  return `${manifest.name}-${manifest.version}-${manifest.digest.slice(0, DIGEST_PREFIX)}.tar.gz`;
}

/**
 * Files Node never loads at run time: type declarations and source maps (dist/'s point at src/, which is not
 * shipped). Leaving them out makes the bundle a third smaller and each sandbox's extraction faster.
 */
const NOT_LOADED = /\.d\.[cm]?ts$|\.map$/;

const sha256 = (chunks: Buffer[]) => chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex');

/** A directory's files and subdirectories (`node_modules` excluded: dependencies are placed on their own). */
function walk(abs: string, to: string, out: TarEntry[]): void {
  const stat = lstatSync(abs);
  if (stat.isSymbolicLink()) throw new Error(`${abs} is a symbolic link: a bundle holds plain files only`);
  if (stat.isFile()) {
    if (NOT_LOADED.test(abs)) return;
    // Modes are normalised: only whether the owner may execute the file is kept.
    out.push({ path: to, type: 'file', mode: stat.mode & 0o100 ? 0o755 : 0o644, data: readFileSync(abs) });
    return;
  }
  if (!stat.isDirectory()) throw new Error(`${abs} is neither a file nor a directory`);
  out.push({ path: `${to}/`, type: 'dir', mode: 0o755 });
  for (const name of readdirSync(abs)) {
    if (name !== 'node_modules') walk(path.join(abs, name), `${to}/${name}`, out);
  }
}

/** What goes into the bundle: package.json, the package's `files` and its production dependencies. */
function collect(root: string): { version: string; entries: TarEntry[] } {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: string; version?: string; files?: string[] };
  if (pkg.name !== 'mesos-miner' || typeof pkg.version !== 'string') throw new Error(`${root} is not a mesos-miner installation`);
  const entries: TarEntry[] = [
    { path: `${BUNDLE_DIR}/`, type: 'dir', mode: 0o755 },
    { path: `${BUNDLE_DIR}/package.json`, type: 'file', mode: 0o644, data: readFileSync(path.join(root, 'package.json')) },
  ];
  for (const name of pkg.files ?? []) {
    if (/[*?[\]!]/.test(name)) throw new Error(`package.json files entry '${name}' is a pattern; the bundle takes plain paths only`);
    if (!existsSync(path.join(root, name))) throw new Error(`${path.join(root, name)} is missing (build first: npm run build)`);
    walk(path.join(root, name), `${BUNDLE_DIR}/${name.replace(/\/+$/, '')}`, entries);
  }
  for (const dep of productionPackages(root)) {
    // The directories above it (node_modules/, a @scope/, a nested node_modules/) are entries of their own.
    const parts = dep.to.split('/');
    for (let i = 1; i < parts.length; i++) entries.push({ path: `${BUNDLE_DIR}/${parts.slice(0, i).join('/')}/`, type: 'dir', mode: 0o755 });
    walk(dep.from, `${BUNDLE_DIR}/${dep.to}`, entries);
  }
  const unique = new Map(entries.map((e) => [e.path, e]));
  return { version: pkg.version, entries: [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/** Builds the bundle of the installation at `root` (the running one by default). */
export function buildBundle(root = installRoot()): Bundle {
  const { version, entries } = collect(root);
  const content = entries.flatMap(tarEntry);
  const manifest: BundleManifest = { name: 'mesos-miner', version, digest: sha256(content) };
  const manifestEntry = tarEntry({ path: MANIFEST_PATH, type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') });
  // Node's gzip header carries no file name and mtime 0, so the same tar gives the same bytes.
  const bytes = gzipSync(Buffer.concat([...manifestEntry, ...content, TAR_END]), { level: 6 });
  return { manifest, bytes, sha256: sha256([bytes]), fileName: bundleFileName(manifest) };
}

/** A bundle read back from its bytes, checked: bundle.json first and the contents matching its digest. */
export function readBundle(bytes: Buffer): Bundle {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes);
  } catch (err) {
    throw new Error(`not a gzip file (${(err as Error).message})`);
  }
  const { entries, endOfEntries } = readTar(tar);
  const first = entries[0];
  if (first?.path !== MANIFEST_PATH || !first.data) throw new Error(`not a mesos-miner bundle (it does not start with ${MANIFEST_PATH})`);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(first.data.toString('utf8')) as BundleManifest;
  } catch {
    throw new Error(`${MANIFEST_PATH} is not valid JSON`);
  }
  if (manifest.name !== 'mesos-miner' || typeof manifest.version !== 'string' || !/^[0-9a-f]{64}$/.test(manifest.digest)) {
    throw new Error(`${MANIFEST_PATH} does not describe a mesos-miner bundle`);
  }
  if (sha256([tar.subarray(first.end, endOfEntries)]) !== manifest.digest) throw new Error('the bundle is damaged: its contents do not match its digest');
  return { manifest, bytes, sha256: sha256([bytes]), fileName: bundleFileName(manifest) };
}
