// `serve` flags and the real process: validation before start, secrets never echoed, SIGTERM exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { describeServeConfig, parseHostPort, parsePositive, resolveServeConfig } from '../src/server/config.js';
import { ScriptedPool } from './support/scripted-pool.js';
import { TestMiner } from './support/server-miner.js';
import { waitUntil } from './support/wait-until.js';

const POOL = 'stratum+tcp://127.0.0.1:3333';
const noFile = (p: string): string => {
  throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
};

describe('serve configuration', () => {
  it('has defaults that work', () => {
    const c = resolveServeConfig({ pool: [POOL], user: 'wallet.w1' }, {}, noFile);
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 3333 });
    expect(c.http).toBeNull();
    expect(c.pools).toEqual([{ url: POOL, user: 'wallet.w1', password: 'x' }]);
    expect(c.minerPassword).toBeUndefined();
    expect(c.vardiffTargetSeconds).toBe(10);
    expect(c.initialDifficulty).toBeGreaterThanOrEqual(c.minDifficulty);
    expect(c.fallbackTimeMs).toBe(120_000);
    expect(resolveServeConfig({ pool: [POOL], user: 'u', fallbackTime: '2.5' }, {}, noFile).fallbackTimeMs).toBe(2500);
    expect(resolveServeConfig({ pool: [POOL], user: 'u', fallbackTime: '0' }, {}, noFile).fallbackTimeMs).toBe(0);
  });

  it('takes secrets from the environment or files and masks them when described', () => {
    const files: Record<string, string> = { '/run/pool': 'p00l-secret\n', '/run/miners': 'm1ner\n' };
    const read = (p: string) => files[p] ?? noFile(p);
    const fromEnv = resolveServeConfig(
      { pool: [POOL, 'stratum+tcp://backup.example.com:3334'], user: 'u' },
      { MESOS_MINER_POOL_PASS: 'envpass', MESOS_MINER_MINER_PASSWORD: 'envminer' },
      read,
    );
    expect(fromEnv.pools.map((p) => p.password)).toEqual(['envpass', 'envpass']);
    expect(fromEnv.minerPassword).toBe('envminer');
    const fromFile = resolveServeConfig({ pool: [POOL], user: 'u', passFile: '/run/pool', minerPasswordFile: '/run/miners' }, {}, read);
    expect(fromFile.pools[0]!.password).toBe('p00l-secret');
    expect(fromFile.minerPassword).toBe('m1ner');
    const shown = JSON.stringify(describeServeConfig(fromFile));
    expect(shown).not.toContain('p00l-secret');
    expect(shown).not.toContain('m1ner');
  });

  it('rejects bad flags with a message naming the flag', () => {
    const bad = (flags: object, re: RegExp) =>
      expect(() => resolveServeConfig({ pool: [POOL], user: 'u', ...flags }, {}, noFile)).toThrow(re);
    expect(() => resolveServeConfig({ user: 'u' }, {}, noFile)).toThrow(/--pool/);
    expect(() => resolveServeConfig({ pool: [POOL] }, {}, noFile)).toThrow(/--user is required/);
    bad({ pool: ['http://x:1'] }, /unsupported scheme/);
    bad({ listen: 'nope' }, /--listen must be host:port/);
    bad({ listen: '0.0.0.0:70000' }, /out of range/);
    bad({ http: 'x' }, /--http must be host:port/);
    bad({ maxConnections: '0' }, /--max-connections must be a positive number/);
    bad({ maxConnections: '1.5' }, /whole number/);
    bad({ minDiff: 'abc' }, /--min-diff/);
    bad({ minDiff: '8', maxDiff: '4' }, /--max-diff \(4\) must be >= --min-diff \(8\)/);
    bad({ vardiffTarget: '-3' }, /--vardiff-target/);
    bad({ fallbackTime: '-1' }, /--fallback-time must be seconds in 0\.\.86400 \(0 = never\), got '-1'/);
    bad({ fallbackTime: 'soon' }, /--fallback-time must be seconds/);
    bad({ passFile: '/nope' }, /--pass-file: cannot read \/nope: ENOENT/);
    bad({ logFormat: 'xml' }, /--log-format must be one of/);
    expect(parsePositive('--min-diff', '1/65536')).toBe(2 ** -16);
    expect(parseHostPort('--listen', ':4000')).toEqual({ host: '0.0.0.0', port: 4000 });
    expect(parseHostPort('--listen', '[::1]:4000')).toEqual({ host: '::1', port: 4000 });
  });

  it('--server-index (0..65535, none by default) and --unhealthy-after (60 s by default, 0 = never)', () => {
    const c = (flags: object) => resolveServeConfig({ pool: [POOL], user: 'u', ...flags }, {}, noFile);
    expect(c({}).serverIndex).toBeUndefined();
    expect(c({}).unhealthyAfterMs).toBe(60_000);
    expect(c({ serverIndex: '0' }).serverIndex).toBe(0);
    expect(c({ serverIndex: '65535', unhealthyAfter: '0' })).toMatchObject({ serverIndex: 65535, unhealthyAfterMs: 0 });
    for (const bad of ['-1', '65536', '1.5', 'x', '']) expect(() => c({ serverIndex: bad })).toThrow(/--server-index must be a whole number in 0..65535/);
    expect(() => c({ unhealthyAfter: '-5' })).toThrow(/--unhealthy-after/);
    expect(() => c({ unhealthyAfter: 'soon' })).toThrow(/--unhealthy-after/);
  });
});

describe('serve process', () => {
  let child: ChildProcess | undefined;
  let pool: ScriptedPool | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await pool?.stop();
  });

  /** `serve` from the sources as user proxy.w on free ports, JSON logs collected. */
  function startServe(args: string[], env: Record<string, string> = {}) {
    const c = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'serve', '--user', 'proxy.w', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-format', 'json', ...args],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    let logs = '';
    c.stderr!.on('data', (d) => (logs += d));
    c.stdout!.on('data', (d) => (logs += d));
    return {
      exited: new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code))),
      logs: () => logs,
      lines: () => logs.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } }),
    };
  }

  it('proxies a miner to the pool, serves /status, keeps secrets out of logs, exits 0 on SIGTERM', async () => {
    pool = new ScriptedPool({ extranonce2Size: 8 });
    await pool.start();
    const { exited, lines, logs } = startServe(
      ['--pool', pool.url, '--min-diff', '1/67108864', '--start-diff', '1/67108864'],
      { MESOS_MINER_POOL_PASS: 'sup3r-secret', MESOS_MINER_MINER_PASSWORD: 'let-me-in' },
    );
    const listenLine = await waitUntil(() => lines().find((l) => l.msg === 'miner server listening'), 'server listening', 20_000);
    const httpLine = await waitUntil(() => lines().find((l) => l.msg === 'status and metrics over HTTP'), 'http listening', 5000);
    const port = Number(String(listenLine.address).split(':').pop());
    const httpPort = Number(String(httpLine.address).split(':').pop());
    await waitUntil(() => pool!.received('mining.authorize').length > 0, 'upstream authorize', 5000);
    expect(pool.received('mining.authorize')[0]!.msg.params).toEqual(['proxy.w', 'sup3r-secret']);

    const m = await TestMiner.connect(port);
    await m.handshake('rig1', 'let-me-in');
    const reply = await m.submit(m.find().params);
    expect(reply.error).toBeNull();
    expect(reply.result).toBe(true);
    const status = await (await fetch(`http://127.0.0.1:${httpPort}/status`)).text();
    expect(JSON.parse(status).stats.shares.accepted).toBe(1);
    expect(status).not.toContain('sup3r-secret');
    expect(status).not.toContain('let-me-in');

    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(m.closed || (await m.waitFor(() => m.closed, 'miner closed on shutdown').then(() => true))).toBe(true);
    expect(logs()).not.toContain('sup3r-secret');
    expect(logs()).not.toContain('let-me-in');
    expect(lines().some((l) => l.msg === 'miner server stopped')).toBe(true);
  });

  it('GET /health: 200 while the pool is up, 503 once it has been down longer than --unhealthy-after, 200 again when it is back', async () => {
    pool = new ScriptedPool({ extranonce2Size: 8 });
    await pool.start();
    const { lines } = startServe(['--pool', pool.url, '--unhealthy-after', '1', '--server-index', '3']);
    const httpLine = await waitUntil(() => lines().find((l) => l.msg === 'status and metrics over HTTP'), 'http listening', 20_000);
    const base = `http://127.0.0.1:${String(httpLine.address).split(':').pop()}`;
    const health = async () => { const r = await fetch(`${base}/health`); return { status: r.status, body: await r.json() as { healthy: boolean; reason?: string } }; };
    const status = async () => (await (await fetch(`${base}/status`)).json()) as { serverIndex?: number; upstream: { state: string }; health: { healthy: boolean } };
    await waitUntil(async () => (await status()).upstream.state === 'connected', 'upstream connected', 10_000, 50);
    expect(await health()).toMatchObject({ status: 200, body: { healthy: true, upstream: 'connected' } });
    expect((await status()).serverIndex).toBe(3);

    const port = pool.port;
    await pool.stop();
    const down = await waitUntil(async () => { const h = await health(); return h.status === 503 ? h : undefined; }, '/health 503', 15_000, 100);
    expect(down.body.healthy).toBe(false);
    expect(down.body.reason).toMatch(/^upstream (disconnected|connecting) for \d+ s \(limit 1 s\)$/);
    expect((await status()).health.healthy).toBe(false);

    await pool.start(port);
    await waitUntil(async () => (await health()).status === 200, '/health 200 again', 30_000, 100);
  }, 60_000);

  it('exits non-zero with a clear message on bad flags, before connecting anywhere', async () => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--pool', 'stratum+tcp://127.0.0.1:1', '--user', 'u', '--listen', 'bogus'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => c.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain("--listen must be host:port (e.g. 0.0.0.0:3333), got 'bogus'");
  });
});
