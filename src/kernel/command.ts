// `mesos-miner bench`: the hashrate benchmark, a thin wrapper over runBench.
import type { Command } from 'commander';
import { parseDuration, parseKernelSelection, parseThreadsList, runBench } from './bench.js';

interface BenchFlags {
  threads: string;
  kernel: string;
  duration: string;
  json?: boolean;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('prove the kernel on a real block, then measure the hashrate per kernel and thread count')
    .option('-t, --threads <list>', 'thread counts to measure: a list like 1,2,4 or "auto" (all cores)', 'auto')
    .option('--kernel <name>', 'simd8, simd, scalar, auto (the build mine would pick) or all', 'all')
    .option('--duration <seconds>', 'seconds of measurement per configuration', '5')
    .option('--json', 'print one JSON document (for scripts) instead of the table')
    .action(async (flags: BenchFlags, command: Command) => {
      let opts;
      try {
        opts = {
          threads: parseThreadsList(flags.threads),
          kernel: parseKernelSelection(flags.kernel),
          duration: parseDuration(flags.duration),
          json: Boolean(flags.json),
        };
      } catch (err) {
        command.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      try {
        await runBench(opts);
      } catch (err) {
        process.stderr.write(`bench failed: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
