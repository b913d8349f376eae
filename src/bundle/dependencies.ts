// The production dependency tree of an installation, as Node resolves it: every package reachable from the root's
// `dependencies` (optional and peer dependencies when installed), each with the place it takes in the bundle's
// node_modules. Read from the running installation itself, so making a bundle needs neither npm nor the network,
// and the bundle runs exactly the package versions the scheduler runs.
import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface PackageCopy {
  /** The package's directory on this machine. */
  from: string;
  /** Its directory in the bundle, relative to the bundle's root: `node_modules/<name>[/node_modules/<name>...]`. */
  to: string;
  name: string;
}

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Node's lookup: `<dir>/node_modules/<name>` from the package's own directory up to the filesystem root. */
function locate(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) {
        if (lstatSync(candidate).isSymbolicLink()) {
          throw new Error(`${candidate} is a symbolic link (npm link, pnpm?): a bundle is made from a plain npm install or a checkout after npm ci`);
        }
        return candidate;
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Where a package found at `dir` goes in the bundle: the same place below the root when it is inside the root;
 * when npm hoisted it above the root (a project that installed mesos-miner as a dependency), the node_modules
 * level it was found at becomes the bundle's own.
 */
function placeInBundle(root: string, dir: string): string {
  const inside = path.relative(root, dir);
  if (!inside.startsWith('..') && !path.isAbsolute(inside)) return inside.split(path.sep).join('/');
  const parts = dir.split(path.sep);
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== 'node_modules') continue;
    const above = parts.slice(0, i).join(path.sep) || path.sep;
    const rel = path.relative(above, root);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return ['node_modules', ...parts.slice(i + 1)].join('/');
  }
  throw new Error(`dependency ${dir} lies outside the installation at ${root}`);
}

/** Every production package of the installation at `root`, sorted by its place in the bundle. */
export function productionPackages(root: string): PackageCopy[] {
  const realRoot = realpathSync(root);
  const byPlace = new Map<string, PackageCopy>();
  const seen = new Set<string>([realRoot]);
  const queue: Array<{ dir: string; label: string }> = [{ dir: realRoot, label: readManifest(realRoot).name ?? 'the root' }];
  while (queue.length > 0) {
    const { dir, label } = queue.shift()!;
    const manifest = readManifest(dir);
    const optional = new Set([...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const names = [...new Set([...Object.keys(manifest.dependencies ?? {}), ...optional])].sort();
    for (const name of names) {
      const found = locate(name, dir);
      if (!found) {
        if (optional.has(name)) continue;
        throw new Error(`${name}, a dependency of ${label}, is not installed (run npm ci --omit=dev, or npm ci, first)`);
      }
      const real = realpathSync(found);
      if (seen.has(real)) continue;
      seen.add(real);
      const to = placeInBundle(realRoot, real);
      const clash = byPlace.get(to);
      if (clash) throw new Error(`two copies of ${name} would both go to ${to} (${clash.from} and ${real}): bundle from a checkout or a global install`);
      byPlace.set(to, { from: real, to, name });
      queue.push({ dir: real, label: name });
    }
  }
  return [...byPlace.values()].sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
}
