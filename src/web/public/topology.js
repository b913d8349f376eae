// The topology page of `mesos-miner schedule` / `local`: the framework, the tier of servers (with links to their own
// pages), the agents and every miner, the farm's hashrate and connections over time, and the recent failures, kept
// current by the event stream (/events: `init` with the history, then an `update` every few seconds; an update
// leaves the miners out when they have not changed). With 10,000 miners the tables sort and filter all of them and
// render the first 200.
import { appendSample, seriesColor, timeChart } from './chart.js';
import {
  SortableTable, connectEvents, escapeHtml, fillFields, formatAgo, formatCount, formatDuration, formatHashrate, formatTime, showAllButton, timed,
} from './common.js';

const history = { intervalSeconds: 10, capacity: 0, t: [], columns: {} };
let view = null;
/** Every miner as last sent, with the keys the table sorts and filters by. */
let miners = [];

const hashrateChart = timeChart(document.getElementById('chart-hashrate'), {
  series: [
    { label: '1 min', color: seriesColor(2), width: 1 },
    { label: '5 min', color: seriesColor(0), width: 2 },
  ],
  format: formatHashrate,
});
const connectionsChart = timeChart(document.getElementById('chart-connections'), {
  series: [{ label: 'connected', color: seriesColor(0), width: 2 }],
  format: formatCount,
  whole: true,
});

/** Rows rendered unless "show all" is on (sorting and filtering always cover every row). */
const TABLE_ROWS = 200;
const isRunning = (state) => state === 'RUNNING' || state === 'running';
/** "miner-10" after "miner-9": digits compared as numbers. */
const natural = (text) => text.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'));

/** host:port as this browser reaches it: a server bound to every interface is on this page's own host. */
function reachable(hostPort) {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at);
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
  return `${wildcard ? location.hostname : host}:${hostPort.slice(at + 1)}`;
}

const badge = (state) => `<span class="badge" data-state="${escapeHtml(state)}">${escapeHtml(state)}</span>`;
const health = (healthy) => (healthy === undefined ? '–' : badge(healthy ? 'healthy' : 'unhealthy'));
const link = (hostPort, path) => (hostPort ? `<a href="${escapeHtml(`http://${reachable(hostPort)}${path}`)}">${escapeHtml(hostPort)}</a>` : '–');
/** "3 min ago: FAILED (…): …", cut to the column's width; the whole text on hover. */
function failure(row, at) {
  if (!row.failure) return '–';
  const text = `${formatAgo(row.failedAt, at)}: ${row.failure}`;
  return `<span class="clip" title="${escapeHtml(text)}">${escapeHtml(text)}</span>`;
}
const count = (key) => ({ key, numeric: true, format: (r) => formatCount(r[key] ?? 0) });

const servers = new SortableTable(document.getElementById('servers'), {
  sort: { key: 'index', dir: 1 },
  columns: [
    { key: 'index', numeric: true, format: (r) => r.index ?? '–' },
    { key: 'host' },
    { key: 'stratum' },
    { key: 'state', html: (r) => badge(r.state) },
    { key: 'healthy', sortValue: (r) => r.healthy, html: (r) => health(r.healthy) },
    { key: 'upstream', html: (r) => (r.stats ? badge(r.stats.upstream) + (r.stats.error ? ` <span class="error">${escapeHtml(r.stats.error)}</span>` : '') : '–') },
    { key: 'connections', numeric: true, sortValue: (r) => r.stats?.connections, format: (r) => formatCount(r.stats?.connections) },
    { key: 'hashrate', numeric: true, sortValue: (r) => r.stats?.hashrate['1m'], format: (r) => formatHashrate(r.stats?.hashrate['1m']) },
    count('primaryFor'),
    count('restarts'),
    { key: 'failedAt', html: failure },
    { key: 'http', html: (r) => link(r.http, '/') },
  ],
});

const agentsAll = document.getElementById('agents-all');
const agents = new SortableTable(document.getElementById('agents'), {
  limit: TABLE_ROWS,
  sort: { key: 'host', dir: 1 },
  columns: [
    // A click shows the agent's miners.
    { key: 'host', sortValue: (r) => r.key, html: (r) => `<button type="button" class="link" data-host="${escapeHtml(r.host)}">${escapeHtml(r.host)}</button>` },
    count('servers'),
    count('miners'),
    count('running'),
    count('notRunning'),
    count('unhealthy'),
    count('restarts'),
  ],
});
const updateAgentsAll = showAllButton(agentsAll, agents, TABLE_ROWS, () => showAgents());

const filterInput = document.getElementById('miner-filter');
// An agent clicked in the agents table: its miners only (a host name, not a substring: 10.0.0.1 is not 10.0.0.10).
let agentShown;
const minerTable = new SortableTable(document.getElementById('miners'), {
  limit: TABLE_ROWS,
  // By agent, then worker: the miners of an agent together.
  sort: { key: 'host', dir: 1 },
  filter: (row) => {
    if (agentShown !== undefined) return row.host === agentShown;
    const q = filterInput.value.trim().toLowerCase();
    return !q || row.text.includes(q);
  },
  columns: [
    { key: 'worker', sortValue: (r) => r.workerKey },
    { key: 'host', sortValue: (r) => r.hostKey },
    { key: 'state', html: (r) => badge(r.state) },
    { key: 'healthy', sortValue: (r) => r.healthy, html: (r) => health(r.healthy) },
    { key: 'primary', numeric: true, format: (r) => (r.primary === undefined ? '–' : `server-${r.primary}`) },
    count('restarts'),
    { key: 'failedAt', html: failure },
    { key: 'api', format: (r) => r.api ?? '–' },
    { key: 'http', html: (r) => link(r.http, '/status') },
    // Longest running first when sorted descending: the earliest start.
    { key: 'since', numeric: true, sortValue: (r) => (r.since === undefined ? undefined : -r.since), format: (r, at) => (r.since === undefined ? '–' : formatDuration((at - r.since) / 1000)) },
  ],
});
filterInput.addEventListener('input', () => {
  agentShown = undefined;
  timed('table:filter', () => showMiners());
});
const updateMinersAll = showAllButton(document.getElementById('miners-all'), minerTable, TABLE_ROWS, () => showMiners());
document.getElementById('agents').addEventListener('click', (e) => {
  const host = e.target.closest('button[data-host]')?.dataset.host;
  if (host === undefined) return;
  filterInput.value = host;
  agentShown = host;
  timed('table:filter', () => showMiners());
  document.getElementById('miners').scrollIntoView({ block: 'nearest' });
});

function setMiners(rows) {
  for (const r of rows) {
    r.workerKey = natural(r.worker);
    r.hostKey = `${natural(r.host)}\u0000${r.workerKey}`;
    r.text = `${r.worker} ${r.host} ${r.state}`.toLowerCase();
  }
  miners = rows;
}

function agentRows() {
  const byHost = new Map();
  const row = (host) => {
    let r = byHost.get(host);
    if (!r) byHost.set(host, (r = { host, key: natural(host), servers: 0, miners: 0, running: 0, notRunning: 0, unhealthy: 0, restarts: 0 }));
    return r;
  };
  for (const s of view.servers) row(s.host).servers += 1;
  for (const m of miners) {
    const r = row(m.host);
    r.miners += 1;
    if (isRunning(m.state)) r.running += 1;
    else r.notRunning += 1;
    if (m.healthy === false) r.unhealthy += 1;
    r.restarts += m.restarts ?? 0;
  }
  return [...byHost.values()];
}

function showAgents() {
  agents.setRows(agentRows());
  document.getElementById('agents-shown').textContent = agents.shownText();
  updateAgentsAll();
}

function showMiners() {
  minerTable.setRows(miners, view.at);
  document.getElementById('miners-shown').textContent = minerTable.shownText();
  updateMinersAll();
}

function showFailures() {
  document.querySelector('#failures tbody').innerHTML = view.failures.length === 0
    ? '<tr><td colspan="4" class="muted">none</td></tr>'
    : view.failures
        .map((f) => `<tr><td>${escapeHtml(formatTime(f.at))}</td><td>${escapeHtml(f.name)}</td><td>${escapeHtml(f.host)}</td><td>${escapeHtml(f.failure)}</td></tr>`)
        .join('');
}

/** Figures the cards show that /status does not hold as such. */
function summary() {
  const withStats = view.servers.filter((s) => s.stats).length;
  return {
    servers: `${formatCount(view.running.servers)} of ${formatCount(view.desired.servers)}`,
    miners: `${formatCount(view.running.miners)} of ${formatCount(view.desired.miners)}`,
    reporting: view.farm ? `${formatCount(view.farm.reporting)} of ${formatCount(withStats)}` : '–',
    unhealthyServers: view.servers.filter((s) => s.healthy === false).length,
    unhealthyMiners: miners.filter((m) => m.healthy === false).length,
    restarts: miners.reduce((n, m) => n + (m.restarts ?? 0), 0),
    agents: new Set([...view.servers.map((s) => s.host), ...miners.map((m) => m.host)]).size,
  };
}

function showHeader() {
  const mesos = view.mode === 'mesos';
  document.getElementById('mode').textContent = mesos ? 'schedule' : 'local';
  document.getElementById('framework').hidden = !mesos;
  document.getElementById('rolling').hidden = !mesos;
  const subscription = document.getElementById('subscription');
  subscription.hidden = !mesos;
  if (mesos) {
    const state = view.framework.subscribed ? 'subscribed' : 'disconnected';
    subscription.dataset.state = state;
    subscription.textContent = state;
    document.getElementById('offers').textContent = view.framework.suppressed ? 'suppressed (nothing missing)' : 'wanted';
  }
}

function showCharts() {
  const c = history.columns;
  const zeros = () => history.t.map(() => 0);
  hashrateChart.setData(history.t, [c.hashrate1m ?? zeros(), c.hashrate5m ?? zeros()]);
  connectionsChart.setData(history.t, [c.connections ?? zeros()]);
}

function show() {
  showHeader();
  fillFields(document.body, { ...view, summary: summary() });
  servers.setRows(view.servers, view.at);
  showFailures();
  if (!document.hidden) {
    showAgents();
    showMiners();
  }
}

connectEvents(
  '/events',
  {
    init: (data) => timed('topology:init', () => {
      Object.assign(history, data.history);
      view = data.view;
      setMiners(view.miners ?? []);
      show();
      showCharts();
    }),
    update: (data) => timed('topology:update', () => {
      if (data.sample) appendSample(history, data.sample);
      view = data.view;
      if (view.miners) setMiners(view.miners);
      show();
      showCharts();
    }),
  },
  document.getElementById('live'),
  () => history.intervalSeconds * 3000,
);

// A hidden tab skips the big tables; they are brought up to date when shown again.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && view) {
    showAgents();
    showMiners();
  }
});
