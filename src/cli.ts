#!/usr/bin/env node
// mesos-miner command line: each command registers itself from the module that owns it.
import { Command } from 'commander';
import { registerMineCommand } from './miner/command.js';
import { registerBenchCommand } from './kernel/command.js';
import { registerServeCommand } from './server/command.js';
import { registerSchedulerCommands } from './scheduler/command.js';

const program = new Command();
program
  .name('mesos-miner')
  .description('Distributed Bitcoin (SHA-256d) miner: WebAssembly kernel, Stratum v1 miner and server, Mesos framework')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)');

// Commands (one line each):
registerMineCommand(program);
registerBenchCommand(program);
registerServeCommand(program);
registerSchedulerCommands(program);

await program.parseAsync(process.argv);
