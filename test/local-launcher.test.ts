// `local` supervision with tiny stand-in children (node -e): the server stand-in listens on the stratum port,
// miner stand-ins record their argv/env and exit or wait as told.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { LocalLauncher, cliCommandFactory, type CommandFactory } from '../src/scheduler/local-launcher.js';
import { alive, freePort } from './support/processes.js';
import { waitUntil } from './support/wait-until.js';

const launchers: LocalLauncher[] = [];
afterEach(async () => {
  for (const l of launchers.splice(0)) await l.stop();
});

// Server: listens on the --listen port until SIGTERM, then prints its index and exits 0.
const SERVER = `const [h,p]=process.argv[process.argv.indexOf('--listen')+1].split(':');`
  + `const i=process.argv[process.argv.indexOf('--server-index')+1];`
  + `const s=require('net').createServer(c=>c.end()).listen(+p,h,()=>console.log('listening as index '+i));`
  + `process.on('SIGTERM',()=>{console.log('got SIGTERM');s.close();process.exit(0)});`;
// Miner: prints its argv and password env; 'crash' mode exits 3 after 30 ms, otherwise waits for SIGTERM. The
// handler is installed before the first line: a SIGTERM sent as soon as that line is seen must find it in place.
const MINER = (mode: string) => (mode === 'crash' ? `setTimeout(()=>process.exit(3),30);` : `setInterval(()=>{},1000);process.on('SIGTERM',()=>{console.log('got SIGTERM');process.exit(0)});`)
  + `console.log(JSON.stringify({argv:process.argv.slice(1),pass:process.env.MESOS_MINER_PASS}));`;

function factory(minerMode: string): CommandFactory {
  return (task) => ({
    command: process.execPath,
    args: ['-e', task.role === 'server' ? SERVER : MINER(minerMode), '--', ...task.args],
    env: task.env,
  });
}

async function launch(minerMode: string, output: PassThrough, miners = 2, servers = 1) {
  const port = await freePort(12); // servers on port + i, their HTTP on port + 10 + i
  const launcher = new LocalLauncher({
    miners,
    servers,
    threadsPerMiner: 3,
    upstream: { pools: ['stratum+tcp://pool.example:3333'], user: 'acct' },
    secrets: { minerPassword: 'hunter2', poolPass: 'pp' },
    stratum: { host: '127.0.0.1', port },
    serverHttp: { host: '127.0.0.1', port: port + 10 },
    workerPrefix: 'local',
    logLevel: 'warn',
    restart: { baseMs: 50, maxMs: 400, stableMs: 10_000 },
    stopGraceMs: 2000,
    serverReadyTimeoutMs: 20_000, // a wait for the port, not a delay: a Node start on a busy machine can take seconds
    factory: factory(minerMode),
    output,
    log: silentLogger,
  });
  launchers.push(launcher);
  await launcher.start();
  return { launcher, port };
}

function lines(output: PassThrough): string[] {
  const text = (output.read() as Buffer | null)?.toString() ?? '';
  const all = ((output as unknown as { seen?: string }).seen ?? '') + text;
  (output as unknown as { seen?: string }).seen = all;
  return all.split('\n').filter(Boolean);
}

describe('LocalLauncher', () => {
  it('starts the server first, then miners pointed at it; prefixes output; secrets only in env', async () => {
    const output = new PassThrough();
    const { launcher, port } = await launch('wait', output);
    await waitUntil(() => lines(output).filter((l) => l.startsWith('[local-')).length === 2 ? true : undefined, 'both miners print', 20_000);
    const all = lines(output);
    expect(all).toContain('[server-0] listening as index 0');
    const miner1 = JSON.parse(all.find((l) => l.startsWith('[local-1] '))!.slice('[local-1] '.length));
    expect(miner1.argv).toEqual(['mine', '-o', `stratum+tcp://127.0.0.1:${port}`, '-u', 'local-1', '-t', '3', '--log-format', 'json', '--log-level', 'warn']);
    expect(miner1.pass).toBe('hunter2');
    const status = launcher.status();
    expect(status.children.map((c) => [c.name, c.state])).toEqual([['server-0', 'running'], ['local-1', 'running'], ['local-2', 'running']]);
  });

  it('--servers 2: server i on the ports + i with --server-index i; each miner gets both, the primaries alternating', async () => {
    const output = new PassThrough();
    const { launcher, port } = await launch('wait', output, 2, 2);
    await waitUntil(() => lines(output).filter((l) => l.startsWith('[local-')).length === 2 ? true : undefined, 'both miners print', 20_000);
    const all = lines(output);
    expect(all).toEqual(expect.arrayContaining(['[server-0] listening as index 0', '[server-1] listening as index 1']));
    const argv = (worker: string) => JSON.parse(all.find((l) => l.startsWith(`[${worker}] `))!.slice(worker.length + 3)).argv as string[];
    const urls = (a: string[]) => a.flatMap((v, i) => (v === '-o' ? [a[i + 1]] : []));
    const [s0, s1] = [`stratum+tcp://127.0.0.1:${port}`, `stratum+tcp://127.0.0.1:${port + 1}`];
    expect(urls(argv('local-1'))).toEqual([s0, s1]);
    expect(urls(argv('local-2'))).toEqual([s1, s0]);
    expect(launcher.status().servers).toEqual([
      { index: 0, stratum: `127.0.0.1:${port}`, http: `127.0.0.1:${port + 10}` },
      { index: 1, stratum: `127.0.0.1:${port + 1}`, http: `127.0.0.1:${port + 11}` },
    ]);
  });

  it('restarts a child that exits, with growing backoff', async () => {
    const output = new PassThrough();
    const started = Date.now();
    const { launcher } = await launch('crash', output, 1);
    await waitUntil(() => (launcher.status().children[1]!.restarts >= 3 ? true : undefined), 'three restarts', 20_000);
    const miner = launcher.status().children[1]!;
    expect(miner.lastExit!.code).toBe(3);
    // 50 + 100 + 200 ms of backoff (plus 3 x 30 ms of run time) at least passed before the third restart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    const starts = lines(output).filter((l) => l.startsWith('[local-1] {')).length;
    expect(starts).toBeGreaterThanOrEqual(3);
    // The server was not disturbed.
    expect(launcher.status().children[0]!.restarts).toBe(0);
  });

  it('forwards SIGTERM on stop and leaves nothing running', async () => {
    const output = new PassThrough();
    const { launcher } = await launch('wait', output);
    await waitUntil(() => launcher.status().children.length === 3 && launcher.status().children.every((c) => c.state === 'running' && c.pid) ? true : undefined, 'all running', 20_000);
    const pids = launcher.status().children.map((c) => c.pid!);
    await waitUntil(() => lines(output).filter((l) => l.startsWith('[local-')).length === 2 ? true : undefined, 'miners printed', 20_000);
    await launcher.stop();
    expect(pids.every((pid) => !alive(pid))).toBe(true);
    expect(lines(output).filter((l) => l.endsWith('got SIGTERM')).length, lines(output).join(' | ')).toBe(3);
    expect(launcher.status().children.every((c) => c.state === 'stopped')).toBe(true);
  });

  it('the default factory runs this Node binary on dist/cli.js and fails clearly when it is not built', () => {
    const spec = cliCommandFactory('/nonexistent/dist/cli.js');
    expect(() => spec({ role: 'server', name: 'server-0', args: ['serve'], env: {} })).toThrow(/\/nonexistent\/dist\/cli.js does not exist \(run npm run build\)/);
  });
});
