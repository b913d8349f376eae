// serve's live page without a browser: the sample ring, the event stream's bounds, the asset server, and the
// page's data (samples of the totals, the view of /status) against a real MinerServer with test miners.
import { afterEach, describe, expect, it } from 'vitest';
import { WebAssets } from '../src/web/assets.js';
import { SampleRing } from '../src/web/sample-ring.js';
import { MINER_PASSWORD, POOL_PASSWORD, RPC_PASSWORD, startDashboardRig, type DashboardRig } from './support/dashboard-rig.js';
import { get, readEvents, type Reply } from './support/page-client.js';
import { waitUntil } from './support/wait-until.js';

describe('SampleRing', () => {
  it('keeps the last `capacity` samples in order; a column first seen later reads 0 before', () => {
    const ring = new SampleRing(3);
    ring.push(1, { a: 1 });
    ring.push(2, { a: 2, b: 20 });
    expect(ring.toJSON()).toEqual({ t: [1, 2], columns: { a: [1, 2], b: [0, 20] } });
    ring.push(3, { b: 30 });
    ring.push(4, { a: 4 });
    expect(ring.toJSON()).toEqual({ t: [2, 3, 4], columns: { a: [2, 0, 4], b: [20, 30, 0] } });
    expect(ring.length).toBe(3);
    expect(() => new SampleRing(0)).toThrow(/capacity/);
  });
});

describe('serve live page (no browser)', () => {
  let rig: DashboardRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  async function start(options: { maxMiners?: number; maxPages?: number; solo?: boolean } = {}) {
    rig = await startDashboardRig({ sampleMs: 60_000, ...options });
    return rig;
  }

  it('serves the page and its files from memory: types, ETag revalidation, HEAD, nothing outside the asset list', async () => {
    const { port } = await start();
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('<script type="module" src="/assets/serve.js">');
    for (const [path, type] of [
      ['/assets/common.js', 'text/javascript; charset=utf-8'],
      ['/assets/chart.js', 'text/javascript; charset=utf-8'],
      ['/assets/common.css', 'text/css; charset=utf-8'],
      ['/assets/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['/assets/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
    ]) {
      const r = await get(port, path!);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      const again = await get(port, path!, { 'if-none-match': r.headers.etag! });
      expect(again.status, path).toBe(304);
      expect(again.body).toBe('');
    }
    // The page as a file under /assets/ keeps its policy (no framing, no foreign scripts).
    const asFile = await get(port, '/assets/serve.html');
    expect([asFile.status, asFile.headers['content-security-policy']]).toEqual([200, page.headers['content-security-policy']]);
    const events = await get(port, '/events', {}, 'HEAD');
    expect([events.status, events.headers['content-type'], events.body]).toEqual([200, 'text/event-stream; charset=utf-8', '']);
    const head = await get(port, '/assets/common.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
    expect(head.body).toBe('');
    for (const path of ['/assets/', '/assets/nope.js', '/assets/..%2F..%2Fpackage.json', '/assets/../assets.js', '/serve.html']) {
      expect((await get(port, path)).status, path).toBe(404);
    }
    expect((await get(port, '/status')).status).toBe(200); // the existing endpoints are unchanged
    expect(() => new WebAssets('/nonexistent/dir')).toThrow(/web pages not found in \/nonexistent\/dir/);
  });

  it('samples shares and rejects per interval, pushes them with the view of /status; no secret anywhere', async () => {
    const { port, dashboard, server, miner } = await start();
    const a = await miner('rig.a');
    const b = await miner('rig.b');
    const s1 = a.find();
    expect((await a.submit(s1.params)).result).toBe(true);
    expect((await a.submit(s1.params)).error).toBeTruthy(); // duplicate
    expect((await b.submit(b.find().params)).result).toBe(true);
    expect((await b.submit(b.find({ startNonce: 1e6 }).params)).result).toBe(true);

    const first = Date.now();
    dashboard.tick(first);
    const events = readEvents(port, (e) => e.length >= 2);
    await waitUntil(() => dashboard['stream'].size === 1, 'page connected');
    expect((await a.submit(a.find({ startNonce: 2e6 }).params)).result).toBe(true);
    dashboard.tick(first + 60_000);
    const [init, update] = await events;

    expect(init!.event).toBe('init');
    expect(init!.data.history).toMatchObject({ intervalSeconds: 60, capacity: 240, t: [first / 1000] });
    expect(init!.data.history.columns).toMatchObject({ accepted: [3], 'rejected:duplicate': [1], miners: [2], blocks: [0] });
    expect(update!.event).toBe('update');
    expect(update!.data.sample).toEqual({
      t: (first + 60_000) / 1000,
      values: { hashrate1m: expect.any(Number), hashrate5m: expect.any(Number), accepted: 1, blocks: 0, miners: 2 },
    });

    // The view is /status with the miners cut down to the table's columns.
    const view = update!.data.view;
    const status = server.status(view.at);
    expect(view.stats).toEqual(status.stats);
    expect(view.connections).toBe(2);
    expect(view.upstream).toMatchObject({ kind: 'stratum', state: 'connected', endpoint: rig!.upstreamEndpoint, failovers: 0 });
    expect(view.upstream.spaces).toBeUndefined();
    const rows = Object.fromEntries(view.miners.map((m: any) => [m.worker, m]));
    for (const m of status.miners) {
      const row = rows[m.worker];
      expect([row.id, row.remote, row.difficulty, row.connectedAt, row.lastShareAt]).toEqual([m.id, m.remote, 2 ** -30, Date.parse(m.connectedAt), Date.parse(m.lastShareAt!)]);
      expect(row.hashrate).toBe(Math.round(m.hashrate['5m'])); // whole hashes a second
    }
    expect(rows['rig.a']).toMatchObject({ accepted: 2, rejected: 1 });
    expect(rows['rig.b']).toMatchObject({ accepted: 2, rejected: 0 });

    const everything = [JSON.stringify(init), JSON.stringify(update), (await get(port, '/')).body, (await get(port, '/status?miners=all')).body, (await get(port, '/metrics')).body];
    for (const text of everything) {
      expect(text).not.toContain(POOL_PASSWORD);
      expect(text).not.toContain(MINER_PASSWORD);
    }
  });

  it('solo: the blocks the node took, with height and hash, reach the page; the RPC credentials never do', async () => {
    const { port, miner } = await start({ solo: true });
    const m = await miner('solo.rig');
    expect((await m.submit(m.find().params)).result).toBe(true);
    await waitUntil(() => rig!.server.status().stats.blocksFound === 1, 'the block found');
    const [init] = await readEvents(port, (e) => e.length >= 1);
    const view = init!.data.view;
    expect(view.upstream).toMatchObject({ kind: 'solo', state: 'connected', blocks: 1 });
    expect(view.stats.recentBlocks).toEqual([{ at: expect.any(String), height: 200, hash: expect.stringMatching(/^[0-9a-f]{64}$/), worker: 'solo.rig', status: 'found' }]);
    for (const text of [JSON.stringify(init), (await get(port, '/status')).body, (await get(port, '/metrics')).body, (await get(port, '/')).body]) {
      expect(text).not.toContain(RPC_PASSWORD);
      expect(text).not.toContain(MINER_PASSWORD);
    }
  });

  it('lists at most maxMiners rows, the busiest first; a full house of pages is refused with 503', async () => {
    const { port, dashboard, miner } = await start({ maxMiners: 2, maxPages: 1 });
    // A session's hashrate is its share work over the time it has been connected: the busiest connects last (it has
    // the most work in the least time), whatever the timing of this busy machine.
    await miner('idle');
    const middling = await miner('middling');
    expect((await middling.submit(middling.find().params)).result).toBe(true);
    const busy = await miner('busy');
    for (let i = 0; i < 3; i++) expect((await busy.submit(busy.find({ startNonce: i * 1e6 }).params)).result).toBe(true);
    // A second page while the first is open: refused; then one more update ends the first.
    let full: Reply | undefined;
    const [init] = await readEvents(port, (e) => {
      if (e.length === 1) {
        void get(port, '/events').then((r) => {
          full = r;
          dashboard.tick(Date.now());
        });
      }
      return full !== undefined;
    });
    expect(full!.status).toBe(503);
    expect(init!.data.view.connections).toBe(3);
    expect(init!.data.view.miners.map((m: any) => m.worker)).toEqual(['busy', 'middling']);
  });
});
