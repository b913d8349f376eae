#!/usr/bin/env node
// mesos-miner command line: each command registers itself from the module that owns it.
import { Command, CommanderError } from 'commander';
import { registerBundleCommand } from './bundle/command.js';
import { bundleMismatch, ENV_EXPECT_BUNDLE, runningManifest } from './bundle/expect.js';
import { registerBenchCommand } from './kernel/command.js';
import { registerMineCommand } from './miner/command.js';
import { registerServeCommand } from './server/command.js';
import { registerSchedulerCommands } from './scheduler/command.js';
import { packageVersion } from './stratum/version.js';

/** Exit code of a bad command line (an unknown flag, a bad value): nothing was started. */
const USAGE_EXIT_CODE = 2;
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

// A task started from a fetched bundle must be the bundle its scheduler meant (see bundle/expect.ts).
const expected = process.env[ENV_EXPECT_BUNDLE];
const mismatch = expected ? bundleMismatch(expected, packageVersion(), runningManifest()) : undefined;
if (mismatch) {
  process.stderr.write(`error: ${ENV_EXPECT_BUNDLE}: ${mismatch}; the fetched bundle is not the scheduler's (check --bundle-uri)\n`);
  process.exit(1);
}

const program = new Command();
program
  .name('mesos-miner')
  .description('Distributed Bitcoin (SHA-256d) miner: WebAssembly kernel, Stratum v1 miner and server, Mesos framework')
  .version(packageVersion())
  // Errors are thrown to the handler below instead of exiting inside commander (inherited by the commands).
  .exitOverride();

// Commands (one line each):
registerMineCommand(program);
registerBenchCommand(program);
registerServeCommand(program);
registerSchedulerCommands(program);
registerBundleCommand(program);

// Started by a supervisor (`local`) with an IPC channel: when it goes away, shut down as on SIGTERM. unref: the
// channel alone must not keep this process alive.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  if (INFORMATIONAL.has(err.code)) process.exit(err.exitCode);
  // Commander's own parse errors (unknown option, missing value) exit 1 by default; the commands' flag
  // checks use 2. Both are usage errors: exit 2 with a pointer to --help. Runtime failures keep their code.
  const usage = err.exitCode === USAGE_EXIT_CODE || err.code !== 'commander.error';
  if (usage) process.stderr.write('(add --help for usage)\n');
  process.exit(usage ? USAGE_EXIT_CODE : err.exitCode);
}
