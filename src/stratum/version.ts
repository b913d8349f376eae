// The product version (from package.json) and the name/version a pool sees in mining.subscribe and
// client.get_version.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** package.json's version (src/stratum and dist/stratum both sit two levels below the root). */
export function packageVersion(): string {
  if (cached) return cached;
  cached = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') cached = pkg.version;
  } catch {
    // Packaged without package.json: still identify ourselves.
  }
  return cached;
}

/** "mesos-miner/<version>". */
export function userAgent(): string {
  return `mesos-miner/${packageVersion()}`;
}
