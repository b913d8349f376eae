// The first thing a task started from a fetched bundle does: check that it is the bundle the scheduler meant. The
// scheduler puts `<version>` or `<version>+<digest prefix>` in the task's MESOS_MINER_EXPECT_BUNDLE; a bundle
// from a stale --bundle-uri (or any other copy) fails at once with both names instead of running with command
// lines it may not understand.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIGEST_PREFIX, installRoot, MANIFEST_PATH, type BundleManifest } from './bundle.js';

export const ENV_EXPECT_BUNDLE = 'MESOS_MINER_EXPECT_BUNDLE';

/** The value of MESOS_MINER_EXPECT_BUNDLE for a version, and a digest when the scheduler knows the bundle. */
export function expectedBundle(version: string, digest?: string): string {
  return digest ? `${version}+${digest.slice(0, DIGEST_PREFIX)}` : version;
}

/** bundle.json of the bundle this installation was extracted from; undefined for a checkout or an npm install. */
export function runningManifest(root = installRoot()): BundleManifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, path.basename(MANIFEST_PATH)), 'utf8')) as BundleManifest;
  } catch {
    return undefined;
  }
}

/** Why the running CLI is not the expected bundle, or undefined when it is. */
export function bundleMismatch(expected: string, version: string, manifest: BundleManifest | undefined): string | undefined {
  const [wantVersion, wantDigest] = expected.split('+');
  const running = manifest ? `mesos-miner ${version} (bundle ${manifest.digest.slice(0, DIGEST_PREFIX)})` : `mesos-miner ${version} (not from a bundle)`;
  const wanted = `mesos-miner ${wantVersion}${wantDigest ? ` (bundle ${wantDigest})` : ''}`;
  const same = wantVersion === version && (!wantDigest || manifest?.digest.startsWith(wantDigest) === true);
  return same ? undefined : `this is ${running}, the scheduler expects ${wanted}`;
}
