// `serve` as a child process on free ports (--listen and --http 127.0.0.1:0), ready once it has logged both
// addresses; status() reads its /status. For tests that put real miners or real pools around the built CLI.
import type { MinerServerStatus } from '../../src/server/miner-server.js';
import { jsonLines, spawnCli, type CliRun, type CliRunOptions } from './processes.js';
import { waitUntil } from './wait-until.js';

export interface ServeRun extends CliRun {
  /** stratum+tcp://127.0.0.1:PORT for miners. */
  url: string;
  httpPort: number;
  status(): Promise<MinerServerStatus>;
}

export async function startServe(args: string[], options: CliRunOptions = {}, readyMs = 30_000): Promise<ServeRun> {
  const run = spawnCli(['serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-format', 'json', ...args], options);
  const portOf = (msg: string) => {
    const line = jsonLines(run.output()).find((l) => l.msg === msg);
    return line ? Number(String(line.address).split(':').pop()) : undefined;
  };
  let port: number, httpPort: number;
  try {
    [port, httpPort] = await waitUntil(() => {
      if (run.child.exitCode !== null) throw new Error(`serve exited (${run.child.exitCode}) before listening:\n${run.output()}`);
      const ports = [portOf('miner server listening'), portOf('status and metrics over HTTP')];
      return ports.every((p) => p !== undefined) ? (ports as number[]) : undefined;
    }, 'serve listening for miners and HTTP', readyMs, 50);
  } catch (err) {
    run.child.kill('SIGKILL'); // the caller never gets it to clean up
    throw err;
  }
  return {
    ...run,
    url: `stratum+tcp://127.0.0.1:${port}`,
    httpPort,
    async status() {
      const res = await fetch(`http://127.0.0.1:${httpPort}/status?miners=all`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`serve /status answered ${res.status}`);
      return (await res.json()) as MinerServerStatus;
    },
  };
}

