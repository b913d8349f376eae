// `mesos-miner bundle`: writes the deployment bundle of this installation, for `schedule --container fetch
// --bundle FILE` or for hosting it where the agents' fetchers reach it (--bundle-uri).
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle, DIGEST_PREFIX, type Bundle } from './bundle.js';

/** Where -o points: a file, or a directory that gets the content-addressed name. Checked before building. */
function outputPath(output: string | undefined, name: (b: Bundle) => string): (b: Bundle) => string {
  if (output === undefined) return name;
  if (existsSync(output) && statSync(output).isDirectory()) return (b) => path.join(output, name(b));
  const dir = path.dirname(output);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--output: directory ${dir} does not exist`);
  return () => output;
}

export function registerBundleCommand(program: Command): void {
  program.command('bundle')
    .description('write the bundle that schedule --container fetch hands to the Mesos fetcher: dist/, build/, proto/, package.json and production node_modules in one reproducible .tar.gz')
    .option('-o, --output <file>', 'file (or existing directory) to write (default: ./mesos-miner-<version>-<contents digest>.tar.gz)')
    .action((flags: { output?: string }, command: Command) => {
      let target: (b: Bundle) => string;
      try {
        target = outputPath(flags.output, (b) => b.fileName);
      } catch (err) {
        command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      const started = Date.now();
      let bundle: Bundle;
      try {
        bundle = buildBundle();
      } catch (err) {
        command.error(`error: cannot make the bundle: ${(err as Error).message}`, { exitCode: 1 });
      }
      const file = target(bundle);
      // Written beside its final name, then renamed: a reader never sees half a bundle.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, bundle.bytes);
      renameSync(partial, file);
      process.stderr.write(`mesos-miner ${bundle.manifest.version} bundle (contents ${bundle.manifest.digest.slice(0, DIGEST_PREFIX)}): `
        + `${bundle.bytes.length} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      // sha256sum's format: `sha256sum -c` checks a copy.
      process.stdout.write(`${bundle.sha256}  ${file}\n`);
    });
}
