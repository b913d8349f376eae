// `mine --http` (/status, /metrics) and `mine --api-listen` (the cgminer API), on the real process against the
// scripted pool: the figures are the ones the miner logs, the API answers as cgminer's API-README describes (checked
// with a client written from it), nothing is writable, --api-allow shuts other addresses out, no secret shows.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedBy, LOOPBACK_ONLY, parseApiAllow } from '../src/miner/api-allow.js';
import { resolveMineConfig } from '../src/miner/config.js';
import { parseListenAddress } from '../src/listen-address.js';
import { apiJson, apiRequest, parseText, stripNul } from './support/cgminer-client.js';
import { freePort, killStillRunning, spawnCli, type CliRun } from './support/processes.js';
import { ScriptedPool } from './support/scripted-pool.js';
import { waitUntil } from './support/wait-until.js';

const PASSWORD = 'p00l-pa55-s3cret';
const DIFFICULTY = 1 / 4096;

/** The miner's JSON log lines so far. */
function logLines(run: CliRun): any[] {
  return run
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Prometheus text -> { 'name{labels}': value }. */
function samples(text: string): Record<string, number> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const at = l.lastIndexOf(' ');
        return [l.slice(0, at), Number(l.slice(at + 1))];
      }),
  );
}

describe('mine --http and --api-listen (child process)', () => {
  let pool: ScriptedPool;
  let miner: CliRun;
  let http: number;
  let api: number;
  const runs: CliRun[] = [];

  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${http}${path}`);
    expect(r.status).toBe(200);
    return r;
  };
  const status = async () => (await (await get('/status')).json()) as any;

  beforeAll(async () => {
    pool = new ScriptedPool({ extranonce2Size: 8, difficulty: DIFFICULTY });
    await pool.start();
    [http, api] = [await freePort(), await freePort()];
    miner = spawnCli(
      ['mine', '-o', pool.url, '-u', 'farm.rig7', '-t', '2', '--http', String(http), '--api-listen', String(api), '--status-interval', '1', '--log-format', 'json'],
      { env: { MESOS_MINER_PASS: PASSWORD } },
    );
    runs.push(miner);
    await waitUntil(() => logLines(miner).some((l) => l.msg === 'cgminer API listening'), 'the endpoints', 15_000);
    await waitUntil(() => logLines(miner).some((l) => l.accepted >= 4), 'accepted shares', 30_000, 50);
    // The pool forgets its jobs: the next shares are refused (21 Job not found) until a new job comes.
    for (const s of pool.sessions.values()) s.jobs.clear();
    await waitUntil(() => logLines(miner).some((l) => l.rejected >= 2), 'rejected shares', 30_000, 50);
    // Then a job no hash will meet: from here on the counts stay as they are.
    pool.setDifficulty(1e9);
    pool.sendJob({ clean: true });
    await waitUntil(async () => (await status()).difficulty === 1e9, 'the new job', 10_000, 50);
    const settled = (await status()).shares;
    await waitUntil(async () => (await status()).shares.pending === 0, 'answers to every share', 10_000, 50);
    expect(settled.invalid).toBe(0);
  }, 90_000);

  afterAll(async () => {
    killStillRunning(runs.map((r) => r.child));
    await pool?.stop();
  });

  it('listens on 127.0.0.1 when given a port only', () => {
    const listening = logLines(miner).filter((l) => /^(status and metrics over HTTP|cgminer API listening)$/.test(l.msg));
    expect(listening.map((l) => l.address)).toEqual([`127.0.0.1:${http}`, `127.0.0.1:${api}`]);
  });

  it('/status shows what the status line logs; /metrics the same figures', async () => {
    const s = await status();
    // A status line logged after the counts settled carries the same figures.
    const since = Date.now();
    await waitUntil(() => logLines(miner).some((l) => l.hashrate && l.time > since), 'a status line', 5000, 50);
    const line = logLines(miner).filter((l) => l.hashrate && l.time > since).at(-1)!;
    for (const key of ['accepted', 'rejected', 'stale', 'unanswered', 'invalid', 'dropped', 'pending'] as const) expect(s.shares[key], key).toBe(line[key]);
    expect(s.shares.rejectedByReason).toEqual(line.rejectedByReason);
    expect(Object.keys(s.shares.rejectedByReason)).toEqual(['21 Job not found']);
    expect([s.pool.url, s.connected, s.difficulty]).toEqual([line.pool, line.connected, line.difficulty]);
    expect(s).toMatchObject({ user: 'farm.rig7', pools: [pool.url], threads: 2 });
    expect(s.perThread).toHaveLength(2);
    // Hashrates move (fast in the first seconds, on a busy machine); the totals only grow, and /status came first.
    expect(s.hashrate.avg15m / line.hashrate.avg15m).toBeGreaterThan(0.75);
    expect(s.hashrate.avg15m / line.hashrate.avg15m).toBeLessThan(1.33);
    expect(s.hashrate.total).toBeLessThanOrEqual(line.hashed);
    expect(s.hashrate.total).toBeGreaterThan(0);

    const m = samples(await (await get('/metrics')).text());
    const after = await status();
    expect(m['mesos_miner_miner_shares_total{result="accepted",reason=""}']).toBe(s.shares.accepted);
    expect(m['mesos_miner_miner_shares_total{result="rejected",reason="21 Job not found"}']).toBe(s.shares.rejected);
    for (const [reason, n] of Object.entries(s.shares.staleByReason)) expect(m[`mesos_miner_miner_shares_total{result="stale",reason="${reason}"}`]).toBe(n);
    for (const result of ['unanswered', 'invalid', 'dropped']) expect(m[`mesos_miner_miner_shares_total{result="${result}",reason=""}`]).toBe(s.shares[result]);
    expect(m[`mesos_miner_miner_pool_connected{url="${pool.url}",index="0"}`]).toBe(1);
    expect(m['mesos_miner_miner_difficulty']).toBe(1e9);
    expect(m['mesos_miner_miner_threads']).toBe(2);
    expect(m['mesos_miner_miner_shares_pending']).toBe(0);
    for (const t of [0, 1]) {
      // Read between two /status calls: the totals lie between theirs.
      const hashes = m[`mesos_miner_miner_hashes_total{thread="${t}"}`]!;
      expect(hashes).toBeGreaterThanOrEqual(s.perThread[t].total);
      expect(hashes).toBeLessThanOrEqual(after.perThread[t].total);
      expect(m[`mesos_miner_miner_hashrate_hps{thread="${t}"}`]).toBeGreaterThan(0);
    }
    expect(m['mesos_miner_process_cpu_seconds_total']).toBeGreaterThan(0);
  });

  it('cgminer API, JSON: summary, devs, pools, stats, config, version as cgminer replies', async () => {
    const s = await status();
    const summary = await apiJson(api, 'summary');
    expect(summary.id).toBe(1);
    expect(summary.STATUS).toEqual([{ STATUS: 'S', When: expect.any(Number), Code: 11, Msg: 'Summary', Description: expect.stringMatching(/^mesos-miner \d+\.\d+\.\d+/) }]);
    expect(Math.abs(summary.STATUS[0].When - Date.now() / 1000)).toBeLessThan(30);
    const sum = summary.SUMMARY[0];
    expect(sum).toMatchObject({ Accepted: s.shares.accepted, Rejected: s.shares.rejected, Stale: s.shares.stale, 'Hardware Errors': 0, 'Found Blocks': 0 });
    for (const key of ['MHS av', 'MHS 5s', 'MHS 1m', 'MHS 5m', 'MHS 15m', 'Total MH', 'Utility', 'Difficulty Accepted', 'Difficulty Rejected', 'Best Share', 'Pool Rejected%', 'Elapsed', 'Getworks', 'Network Blocks', 'Last getwork']) {
      expect(typeof sum[key], key).toBe('number');
    }
    expect(sum['MHS 15m']).toBeGreaterThan(0);
    expect(sum['Difficulty Accepted']).toBeCloseTo(s.shares.accepted * DIFFICULTY, 6);
    expect(sum['Difficulty Rejected']).toBeCloseTo(s.shares.rejected * DIFFICULTY, 6);
    expect(sum['Best Share']).toBeGreaterThanOrEqual(DIFFICULTY);
    expect(sum.Getworks).toBeGreaterThanOrEqual(2);

    const devs = await apiJson(api, 'devs');
    expect(devs.STATUS[0]).toMatchObject({ STATUS: 'S', Code: 9, Msg: '2 CPU(s)' });
    expect(devs.DEVS.map((d: any) => [d.CPU, d.ID, d.Enabled, d.Status])).toEqual([[0, 0, 'Y', 'Alive'], [1, 1, 'Y', 'Alive']]);
    expect(devs.DEVS.reduce((n: number, d: any) => n + d.Accepted, 0)).toBe(s.shares.accepted);
    expect(devs.DEVS.reduce((n: number, d: any) => n + d.Rejected, 0)).toBe(s.shares.rejected);
    for (const d of devs.DEVS) expect(d['MHS 1m']).toBeGreaterThan(0);

    const pools = await apiJson(api, 'pools');
    expect(pools.STATUS[0]).toMatchObject({ STATUS: 'S', Code: 7, Msg: '1 Pool(s)' });
    expect(pools.POOLS[0]).toMatchObject({
      POOL: 0, URL: pool.url, Status: 'Alive', Priority: 0, User: 'farm.rig7', Accepted: s.shares.accepted, Rejected: s.shares.rejected,
      'Stratum Active': true, 'Has Stratum': true, 'Stratum Difficulty': 1e9,
    });

    const stats = await apiJson(api, 'stats');
    expect(stats.STATUS[0]).toMatchObject({ STATUS: 'S', Code: 70, Msg: 'CGMiner stats' });
    expect(stats.STATS.map((r: any) => r.ID)).toEqual(['CPU0', 'CPU1', 'POOL0']);
    const config = await apiJson(api, 'config');
    expect(config.STATUS[0]).toMatchObject({ Code: 33, Msg: 'CGMiner config' });
    expect(config.CONFIG[0]).toMatchObject({ 'Pool Count': 1, Strategy: 'Failover', 'Log Interval': 1, OS: 'Linux' });
    const version = await apiJson(api, 'version');
    expect(version.STATUS[0]).toMatchObject({ Code: 22, Msg: 'CGMiner versions' });
    expect(version.VERSION[0]).toEqual({ CGMiner: expect.stringMatching(/^mesos-miner /), API: '3.7' });
  });

  it('cgminer API, text form and joined commands', async () => {
    const raw = stripNul(await apiRequest(api, 'summary'));
    expect(raw).toMatch(/^STATUS=S,When=\d+,Code=11,Msg=Summary,Description=mesos-miner [^|]+\|SUMMARY,Elapsed=\d+,MHS av=\d+\.\d\d,/);
    expect(raw.endsWith('|')).toBe(true);
    const [st, sum] = parseText(raw);
    expect(st!.fields).toMatchObject({ STATUS: 'S', Code: '11', Msg: 'Summary' });
    expect(sum!.name).toBe('SUMMARY');
    expect(Number(sum!.fields.Accepted)).toBe((await status()).shares.accepted);
    const pools = parseText(stripNul(await apiRequest(api, 'pools')));
    expect(pools[1]!.fields).toMatchObject({ POOL: '0', URL: pool.url, User: 'farm.rig7', 'Stratum Active': 'true' });
    const devs = parseText(stripNul(await apiRequest(api, 'devs|')));
    expect(devs.slice(1).map((d) => d.fields.CPU)).toEqual(['0', '1']);
    const check = parseText(stripNul(await apiRequest(api, 'check|summary')));
    expect(check[1]!.fields).toEqual({ Exists: 'Y', Access: 'Y' });

    // summary+devs (cgminer wraps each command's reply in an array in JSON).
    const joined = JSON.parse(stripNul(await apiRequest(api, { command: 'summary+devs+summary' })));
    expect(Object.keys(joined)).toEqual(['summary', 'devs', 'id']);
    expect(joined.summary[0].SUMMARY[0].Accepted).toBe((await status()).shares.accepted);
    expect(joined.devs[0].DEVS).toHaveLength(2);
    // A JSON request split across packets.
    const split = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: api }, () => {
        socket.write('{"comm');
        setTimeout(() => socket.write('and":"version"}'), 50);
      });
      let reply = '';
      socket.on('data', (d) => (reply += d.toString()));
      socket.on('close', () => resolve(reply));
    });
    expect(JSON.parse(stripNul(split)).STATUS[0].Code).toBe(22);
    const text = stripNul(await apiRequest(api, 'version+config'));
    expect(text).toMatch(/^CMD=version\|STATUS=S,[^|]*Code=22,[^|]*\|VERSION,CGMiner=mesos-miner [^|]*,API=3\.7\|CMD=config\|STATUS=S,[^|]*Code=33/);
  });

  it('cgminer API is read-only: privileged commands get "Access denied", unknown ones "Invalid command"', async () => {
    for (const command of ['quit', 'restart', 'switchpool', 'addpool', 'privileged', 'save', 'zero']) {
      const reply = await apiJson(api, command, command === 'addpool' ? 'stratum+tcp://evil:1,u,p' : '0');
      expect(reply.STATUS[0], command).toMatchObject({ STATUS: 'E', Code: 45, Msg: `Access denied to '${command}' command` });
    }
    expect(parseText(stripNul(await apiRequest(api, 'quit')))[0]!.fields).toMatchObject({ STATUS: 'E', Code: '45' });
    expect((await apiJson(api, 'nosuchcommand')).STATUS[0]).toMatchObject({ STATUS: 'E', Code: 14, Msg: 'Invalid command' });
    expect(JSON.parse(stripNul(await apiRequest(api, '{"command": '))).STATUS[0]).toMatchObject({ STATUS: 'E', Code: 23, Msg: 'Invalid JSON' });
    expect(JSON.parse(stripNul(await apiRequest(api, '{"parameter":"0"}'))).STATUS[0]).toMatchObject({ STATUS: 'E', Code: 24 });
    const check = await apiJson(api, 'check', 'quit');
    expect(check.CHECK[0]).toEqual({ Exists: 'Y', Access: 'N' });
    const joined = JSON.parse(stripNul(await apiRequest(api, { command: 'summary+quit' })));
    expect(joined.quit[0].STATUS[0]).toMatchObject({ Code: 45 });
    // Names every JavaScript object has are not commands (they once crashed the miner).
    for (const command of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect((await apiJson(api, command)).STATUS[0], command).toMatchObject({ STATUS: 'E', Code: 14, Msg: 'Invalid command' });
      expect(parseText(stripNul(await apiRequest(api, command)))[0]!.fields, command).toMatchObject({ STATUS: 'E', Code: '14' });
    }
    expect(JSON.parse(stripNul(await apiRequest(api, { command: 'summary+valueOf' }))).valueOf[0].STATUS[0]).toMatchObject({ Code: 14 });
    expect((await apiJson(api, 'check', 'toString')).CHECK[0]).toEqual({ Exists: 'N', Access: 'N' });
    // The miner is still mining for the same pool.
    expect((await status()).connected).toBe(true);
    expect(pool.openConnections).toHaveLength(1);
  });

  it('cgminer API: one request per connection; a client that keeps sending after the reply is closed by the idle timeout', async () => {
    // allowHalfOpen: the client's side stays open after the API's reply and end, as a careless or hostile one may.
    const socket = connect({ port: api, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    let open = true;
    void closed.then(() => (open = false));
    socket.write('version');
    // 64 KiB every 50 ms: before, every chunk was kept and restarted the idle timeout, so the connection never ended.
    const flood = setInterval(() => open && socket.write(Buffer.alloc(65_536, 0x78)), 50);
    try {
      await waitUntil(() => !open, 'the API to close the connection', 20_000, 50);
    } finally {
      clearInterval(flood);
      socket.destroy();
    }
    expect(stripNul(reply)).toMatch(/^STATUS=S,[^|]*Code=22/);
    expect((await status()).connected).toBe(true);
    expect((await apiJson(api, 'version')).STATUS[0]).toMatchObject({ Code: 22 });
  });

  it('shows no secret: the pool password is nowhere in /status, /metrics, the API or the logs', async () => {
    const texts = [
      await (await get('/status')).text(),
      await (await get('/metrics')).text(),
      ...(await Promise.all(['summary', 'pools', 'devs', 'stats', 'config', 'version', 'pools+summary'].map((c) => apiRequest(api, c)))),
      miner.output(),
    ];
    for (const t of texts) expect(t).not.toContain(PASSWORD);
    // It did reach the pool.
    expect(pool.received('mining.authorize').some((m) => m.msg.params[1] === PASSWORD)).toBe(true);
  });

  it('--api-allow: an address it does not list gets no reply, the first match decides; loopback only by default', async () => {
    // The default (loopback) lets 127.0.0.2 in.
    expect(stripNul(await apiRequest(api, 'version', { localAddress: '127.0.0.2' }))).toContain('Code=22');
    const apiPort = await freePort();
    const user = 'rig|7,a=b\\c';
    const strict = spawnCli(['mine', '-o', pool.url, '-u', user, '-t', '1', '--api-listen', `127.0.0.1:${apiPort}`, '--api-allow', 'W:127.0.0.1,R:127.0.0.3', '--log-format', 'json']);
    runs.push(strict);
    await waitUntil(() => strict.stderr().includes('cgminer API listening'), 'second miner', 15_000);
    expect(await apiRequest(apiPort, 'version', { localAddress: '127.0.0.2' })).toBe('');
    expect(stripNul(await apiRequest(apiPort, 'version', { localAddress: '127.0.0.3' }))).toContain('Code=22');
    expect(stripNul(await apiRequest(apiPort, 'version'))).toContain('Code=22');
    // W: (privileged in cgminer) still cannot change anything here.
    expect((await apiJson(apiPort, 'quit')).STATUS[0]).toMatchObject({ Code: 45 });
    // A user name with the text form's separators comes back escaped, and whole.
    const raw = stripNul(await apiRequest(apiPort, 'pools'));
    expect(raw).toContain('User=rig\\|7\\,a\\=b\\\\c,');
    expect(parseText(raw)[1]!.fields.User).toBe(user);
    expect((await apiJson(apiPort, 'pools')).POOLS[0].User).toBe(user);
    strict.child.kill('SIGTERM');
    expect((await strict.exit).code).toBe(0);
  }, 30_000);
});

describe('mine endpoint flags', () => {
  it('take a port alone as 127.0.0.1, host:port as given; --api-listen alone is 127.0.0.1:4028', () => {
    expect(parseListenAddress('--http', '9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseListenAddress('--http', '0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseListenAddress('--http', '[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    const base = { url: ['stratum+tcp://127.0.0.1:3333'], user: 'u' };
    const c = resolveMineConfig({ ...base, apiListen: true }, {}, () => ({}));
    expect(c.apiListen).toEqual({ host: '127.0.0.1', port: 4028 });
    expect(c.http).toBeNull();
    expect(resolveMineConfig(base, {}, () => ({})).apiListen).toBeNull();
    expect(resolveMineConfig({ ...base, config: 'f' }, {}, () => ({ http: '9100', apiListen: '4029', apiAllow: '10.0.0/8' }))).toMatchObject({
      http: { host: '127.0.0.1', port: 9100 },
      apiListen: { host: '127.0.0.1', port: 4029 },
    });
  });

  it("parse --api-allow in cgminer's syntax", () => {
    const entries = parseApiAllow('W:127.0.0.1, 192.168.0/24,10/8,[fd00::]/8,R:172.16.0.0/12');
    expect(entries.map((e) => [e.text, e.group])).toEqual([['W:127.0.0.1', 'W'], ['192.168.0/24', 'R'], ['10/8', 'R'], ['[fd00::]/8', 'R'], ['R:172.16.0.0/12', 'R']]);
    const who = (addr: string) => allowedBy(entries, addr)?.text;
    expect(who('127.0.0.1')).toBe('W:127.0.0.1');
    expect(who('::ffff:127.0.0.1')).toBe('W:127.0.0.1');
    expect(who('127.0.0.2')).toBeUndefined(); // no prefix: that address only
    expect(who('192.168.0.77')).toBe('192.168.0/24');
    expect(who('192.168.1.1')).toBeUndefined();
    expect(who('10.200.3.4')).toBe('10/8');
    expect(who('fd12:3456::1')).toBe('[fd00::]/8');
    expect(who('fe80::1')).toBeUndefined();
    expect(who('172.31.255.255')).toBe('R:172.16.0.0/12');
    expect(who('172.32.0.0')).toBeUndefined();
    expect(allowedBy(parseApiAllow('0/0'), '8.8.8.8')).toBeDefined();
    const local = parseApiAllow(LOOPBACK_ONLY);
    expect(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'].every((a) => allowedBy(local, a))).toBe(true);
    expect(['10.0.0.1', '::2', '0.0.0.0'].some((a) => allowedBy(local, a))).toBe(false);
    for (const bad of ['300.1.1.1', '1.2.3.4/33', '1.2.3.4/0', '[zz::1]', 'host.example', '1.2.3.4.5', ',']) expect(() => parseApiAllow(bad), bad).toThrow(/--api-allow/);
  });

  it('are validated before anything starts: exit 2 and the flag named', async () => {
    const cases: [string[], RegExp][] = [
      [['--http', 'nope'], /--http must be a port/],
      [['--http', '70000'], /--http: port 70000 out of range/],
      [['--api-listen', 'x:y'], /--api-listen must be a port/],
      [['--api-allow', '127.0.0.1'], /--api-allow needs --api-listen/],
      [['--api-listen', '--api-allow', '300.0.0.1'], /--api-allow: '300\.0\.0\.1': not an IPv4 address/],
    ];
    for (const [flags, message] of cases) {
      const run = spawnCli(['mine', '-o', 'stratum+tcp://127.0.0.1:1', '-u', 'w', ...flags]);
      const { code } = await run.exit;
      expect(code, flags.join(' ')).toBe(2);
      expect(run.stderr()).toMatch(message);
    }
  }, 30_000);
});
