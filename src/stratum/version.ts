// The product name/version a pool sees in mining.subscribe and client.get_version.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** "mesos-miner/<package.json version>" (src/stratum and dist/stratum both sit two levels below the root). */
export function userAgent(): string {
  if (cached) return cached;
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // Packaged without package.json: still identify ourselves.
  }
  cached = `mesos-miner/${version}`;
  return cached;
}
