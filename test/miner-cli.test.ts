// `mesos-miner mine` as a real child process (dist/cli.js, built by `npm run build`) against the scripted pool,
// plus the flag/config validation that must refuse bad settings before anything starts.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENV_MINER_PASS, readMineConfigFile, resolveMineConfig } from '../src/miner/config.js';
import { ScriptedPool } from './support/scripted-pool.js';
import { CLI_PATH, jsonLines, killStillRunning, spawnCli, type CliRun } from './support/processes.js';
import { waitUntil } from './support/wait-until.js';

const DIFF = 2 ** -16;

let dir: string;
const children: ChildProcess[] = [];
const pools: ScriptedPool[] = [];

beforeAll(() => {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run "npm run build" before the tests`);
  dir = mkdtempSync(join(tmpdir(), 'mine-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  killStillRunning(children);
  for (const p of pools.splice(0)) await p.stop();
});

async function startPool(): Promise<ScriptedPool> {
  const pool = new ScriptedPool({ difficulty: DIFF });
  pools.push(pool);
  await pool.start();
  return pool;
}

function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  // Always set the password variable, so one exported in the developer's shell cannot leak into a test.
  const run = spawnCli(args, { env: { ...env, [ENV_MINER_PASS]: env[ENV_MINER_PASS] ?? '' } });
  children.push(run.child);
  return run;
}

describe('mesos-miner mine (child process)', () => {
  it('mines against the pool, prints status lines, takes the password from the environment and exits 0 on SIGTERM', async () => {
    const pool = await startPool();
    const run = runCli(['mine', '-o', pool.url, '-u', 'wallet.cli', '-t', '1', '--status-interval', '0.5', '--log-format', 'json'], {
      [ENV_MINER_PASS]: 's3cret-pass',
    });
    await waitUntil(() => pool.shares.filter((s) => s.accepted).length >= 3, 'shares from the CLI miner', 20_000);
    await waitUntil(() => jsonLines(run.output()).some((l) => / 5s \| .* 15m \[t0 .*accepted \d+/.test(l.msg ?? '')), 'a status line', 10_000);
    expect(pool.received('mining.authorize')[0].msg.params).toEqual(['wallet.cli', 's3cret-pass']);

    run.child.kill('SIGTERM');
    const exit = await run.exit;
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = jsonLines(run.output());
    const final = lines.find((l) => l.msg?.startsWith('final: '));
    expect(final).toBeDefined();
    expect(final!.accepted).toBeGreaterThanOrEqual(3);
    expect(final!.pool).toBe(pool.url);
    expect(final!.accepted).toBe(pool.shares.filter((s) => s.accepted).length);
    expect(run.output()).not.toContain('s3cret-pass');
    expect(pool.shares.filter((s) => !s.accepted)).toEqual([]);
  });

  it('reads settings from --config, and command-line flags win over it', async () => {
    const pool = await startPool();
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ url: ['stratum+tcp://127.0.0.1:1'], user: 'from.file', threads: 1, kernel: 'scalar', 'status-interval': 0 }));
    const run = runCli(['mine', '--config', file, '-o', pool.url, '--log-format', 'json', '-q']);
    await waitUntil(() => pool.shares.some((s) => s.accepted), 'a share from the configured miner', 20_000);
    expect(pool.received('mining.authorize')[0].msg.params[0]).toBe('from.file');
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(0);
    const lines = jsonLines(run.output());
    // Quiet: no per-share lines and no periodic status, but the final status still prints.
    expect(lines.filter((l) => l.msg?.startsWith('share accepted'))).toEqual([]);
    expect(lines.filter((l) => l.msg?.startsWith('final: '))).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'starting miner')!.config).toMatchObject({ kernel: 'scalar', threads: 1 });
  });

  it.each([
    ['threads 0', ['-t', '0'], /--threads: threads must be an integer in 1\.\.256, got 0/],
    ['threads not a number', ['-t', 'many'], /--threads must be an integer/],
    ['unknown kernel', ['--kernel', 'turbo'], /--kernel must be auto, simd8, simd or scalar, got 'turbo'/],
    ['bad URL scheme', ['-o', 'http://127.0.0.1:3333'], /unsupported scheme "http"/],
    ['missing user', ['--no-user'], /no user given/],
    ['bad fallback time', ['--fallback-time', '-3'], /--fallback-time must be a number of seconds/],
    ['bad log format', ['--log-format', 'xml'], /--log-format must be one of json, pretty/],
    ['zero submit rate', ['--submit-rate', '0'], /--submit-rate must be a number of shares per second > 0, got '0'/],
  ])('refuses %s with a clear message, a non-zero exit and no connection', async (_name, extra, message) => {
    const pool = await startPool();
    const noUser = extra.includes('--no-user');
    const args = ['mine', '-o', pool.url, ...(noUser ? [] : ['-u', 'w.1']), '-t', '1', ...extra.filter((a) => a !== '--no-user')];
    const run = runCli(args);
    const exit = await run.exit;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(run.output()).toMatch(message);
    expect(pool.accepted).toBe(0);
  });

  it('refuses a config file with an unknown key, and one that is not JSON', async () => {
    const pool = await startPool();
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ url: pool.url, user: 'w', thread: 2 }));
    const run = runCli(['mine', '--config', unknown]);
    expect((await run.exit).code).toBe(2);
    expect(run.output()).toMatch(/unknown key "thread" \(known keys: url, user, pass, threads/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"url": ');
    const run2 = runCli(['mine', '--config', broken]);
    expect((await run2.exit).code).toBe(2);
    expect(run2.output()).toMatch(/not valid JSON/);
    const run3 = runCli(['mine', '--config', join(dir, 'missing.json')]);
    expect((await run3.exit).code).toBe(2);
    expect(run3.output()).toMatch(/cannot read it/);
    expect(pool.accepted).toBe(0);
  });
});

describe('mine settings (resolveMineConfig)', () => {
  const read = (doc: object) => () => readMineConfigFile('mem.json', () => JSON.stringify(doc));

  it('merges flags > environment > config file > defaults', () => {
    const file = read({ url: 'stratum+tcp://file.example:3333', user: 'file.user', pass: 'file-pass', 'no-version-rolling': true, 'fallback-time': 30 });
    const fromFile = resolveMineConfig({ config: 'mem.json' }, {}, file);
    expect(fromFile.pools).toEqual([{ url: 'stratum+tcp://file.example:3333', user: 'file.user', password: 'file-pass' }]);
    expect(fromFile.versionRolling).toBe(false);
    expect(fromFile.fallbackTimeMs).toBe(30_000);
    expect(fromFile.kernel).toBe('auto');
    expect(fromFile.statusIntervalMs).toBe(5000);
    expect(fromFile.submitRate).toBe(20);
    expect(resolveMineConfig({ config: 'mem.json' }, {}, read({ url: 'stratum+tcp://f:1', user: 'f', 'submit-rate': 2.5 })).submitRate).toBe(2.5);

    const envWins = resolveMineConfig({ config: 'mem.json' }, { [ENV_MINER_PASS]: 'env-pass' }, file);
    expect(envWins.pools[0].password).toBe('env-pass');

    const flagsWin = resolveMineConfig(
      { config: 'mem.json', url: ['stratum+tcp://a:1', 'stratum+tcp://b:2'], user: 'cli.user', pass: 'cli-pass', versionRolling: true },
      { [ENV_MINER_PASS]: 'env-pass' },
      file,
    );
    expect(flagsWin.pools).toEqual([
      { url: 'stratum+tcp://a:1', user: 'cli.user', password: 'cli-pass' },
      { url: 'stratum+tcp://b:2', user: 'cli.user', password: 'cli-pass' },
    ]);
    expect(flagsWin.versionRolling).toBe(true);
    expect(resolveMineConfig({ url: ['stratum+tcp://a:1'], user: 'u' }, {}).pools[0].password).toBe('x');
  });

  it('rejects wrong value types in the config file with the key named', () => {
    expect(() => read({ threads: true })()).toThrow(/"threads" must be a number/);
    expect(() => read({ quiet: 'yes' })()).toThrow(/"quiet" must be true or false/);
    expect(() => read({ url: [] })()).toThrow(/"url" must be a URL string or a list/);
    expect(() => read({ user: 5 })()).toThrow(/"user" must be a string/);
    expect(() => readMineConfigFile('mem.json', () => '[1,2]')).toThrow(/expected a JSON object/);
  });

  it('validates every value', () => {
    const base = { url: ['stratum+tcp://a:1'], user: 'u' };
    expect(() => resolveMineConfig({ ...base, url: [] }, {})).toThrow(/no pool given/);
    expect(() => resolveMineConfig({ ...base, url: ['stratum+tcp://a'] }, {})).toThrow(/--url: .*missing port/);
    expect(() => resolveMineConfig({ ...base, user: '  ' }, {})).toThrow(/no user given/);
    expect(() => resolveMineConfig({ ...base, threads: '257' }, {})).toThrow(/1\.\.256/);
    expect(() => resolveMineConfig({ ...base, statusInterval: 'soon' }, {})).toThrow(/--status-interval/);
    expect(() => resolveMineConfig({ ...base, logLevel: 'loud' }, {})).toThrow(/--log-level/);
    expect(() => resolveMineConfig({ ...base, submitRate: '-1' }, {})).toThrow(/--submit-rate must be a number of shares per second > 0, got '-1'/);
    expect(resolveMineConfig({ ...base, threads: '3', statusInterval: '0', fallbackTime: '0' }, {})).toMatchObject({
      threads: 3,
      statusIntervalMs: 0,
      fallbackTimeMs: 0,
    });
  });
});
