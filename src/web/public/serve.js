// The live page of `mesos-miner serve`: totals, upstream, blocks, the miners table and two charts, kept current by
// the server's event stream (/events: `init` with the sample history, then an `update` per sample).
import { appendSample, timeChart, seriesColor } from './chart.js';
import {
  SortableTable, connectEvents, escapeHtml, fillFields, formatAgo, formatCount, formatDifficulty, formatHashrate, formatTime, showAllButton, timed,
} from './common.js';

const history = { intervalSeconds: 5, capacity: 0, t: [], columns: {} };
let view = null;

const hashrateChart = timeChart(document.getElementById('chart-hashrate'), {
  series: [
    { label: '1 min', color: seriesColor(2), width: 1 },
    { label: '5 min', color: seriesColor(0), width: 2 },
  ],
  format: formatHashrate,
});

// Accepted first, then one series per reject reason in the order they appear.
const shareSeries = ['accepted'];
const sharesChart = timeChart(document.getElementById('chart-shares'), {
  series: [{ label: 'accepted', color: seriesColor(0), width: 2 }],
  format: (v) => formatCount(Math.round(v * 10) / 10),
});

/** Rows rendered unless "show all" is on (sorting and filtering always cover every miner). */
const TABLE_ROWS = 200;
const filterInput = document.getElementById('miner-filter');
const showAll = document.getElementById('miners-all');
const miners = new SortableTable(document.getElementById('miners'), {
  limit: TABLE_ROWS,
  sort: { key: 'hashrate', dir: -1 },
  filter: (row) => {
    const q = filterInput.value.trim().toLowerCase();
    return !q || row.worker.toLowerCase().includes(q) || row.remote.includes(q);
  },
  columns: [
    { key: 'worker', sortValue: (r) => r.worker.toLowerCase() },
    { key: 'remote' },
    { key: 'hashrate', numeric: true, format: (r) => formatHashrate(r.hashrate) },
    { key: 'accepted', numeric: true, format: (r) => formatCount(r.accepted) },
    { key: 'rejected', numeric: true, format: (r) => formatCount(r.rejected) },
    { key: 'difficulty', numeric: true, format: (r) => formatDifficulty(r.difficulty) },
    { key: 'lastShareAt', numeric: true, format: (r, at) => formatAgo(r.lastShareAt, at) },
    { key: 'connectedAt', numeric: true, format: (r) => formatTime(r.connectedAt) },
  ],
});
filterInput.addEventListener('input', () => timed('table:filter', () => showMiners()));
const updateShowAll = showAllButton(showAll, miners, TABLE_ROWS, () => showMiners());

function showMiners() {
  miners.setRows(view.miners, view.at);
  const listed = view.miners.length;
  document.getElementById('miners-shown').textContent =
    miners.shownText() + (listed < view.connections ? ` (the ${formatCount(listed)} busiest of ${formatCount(view.connections)} connected)` : '');
  updateShowAll();
}

function showRejectReasons() {
  const reasons = Object.entries(view.stats.shares.rejectedByReason).sort((a, b) => b[1] - a[1]);
  document.getElementById('reject-reasons').innerHTML = reasons
    .map(([reason, n]) => `<dt>${escapeHtml(reason)}</dt><dd>${formatCount(n)}</dd>`)
    .join('');
}

function showBlocks() {
  const blocks = view.stats.recentBlocks;
  const section = document.getElementById('blocks');
  section.hidden = blocks.length === 0 && view.upstream.kind !== 'solo';
  section.querySelector('tbody').innerHTML = blocks.length === 0
    ? '<tr><td colspan="5" class="muted">none yet</td></tr>'
    : blocks
        .map((b) => `<tr><td>${escapeHtml(formatTime(Date.parse(b.at)))}</td><td class="num">${b.height === null ? '–' : formatCount(b.height)}</td>` +
          `<td class="hash">${escapeHtml(b.hash)}</td><td>${escapeHtml(b.worker)}</td><td><span class="badge" data-state="${escapeHtml(b.status)}">${escapeHtml(b.status)}</span></td></tr>`)
        .join('');
}

function showCharts() {
  const c = history.columns;
  const zeros = () => history.t.map(() => 0);
  hashrateChart.setData(history.t, [c.hashrate1m ?? zeros(), c.hashrate5m ?? zeros()]);
  for (const name of Object.keys(c)) {
    if (name.startsWith('rejected:') && !shareSeries.includes(name)) {
      shareSeries.push(name);
      sharesChart.addSeries({ label: name.slice('rejected:'.length), color: seriesColor(shareSeries.length - 1), width: 1.5 });
    }
  }
  sharesChart.setData(history.t, shareSeries.map((name) => perMinute(c[name] ?? zeros())));
}

/** Shares a minute over the minute before each sample: a share every few minutes would otherwise be a lone spike. */
function perMinute(counts) {
  const window = Math.max(1, Math.round(60 / history.intervalSeconds));
  const rates = new Array(counts.length);
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    sum += counts[i];
    if (i >= window) sum -= counts[i - window];
    rates[i] = (sum * 60) / (Math.min(i + 1, window) * history.intervalSeconds);
  }
  return rates;
}

function show() {
  document.getElementById('endpoint-label').textContent = view.upstream.kind === 'solo' ? 'node' : 'pool';
  fillFields(document.body, view);
  showRejectReasons();
  showBlocks();
  if (!document.hidden) showMiners();
}

connectEvents(
  '/events',
  {
    init: (data) => timed('dashboard:init', () => {
      Object.assign(history, data.history);
      view = data.view;
      show();
      showCharts();
    }),
    update: (data) => timed('dashboard:update', () => {
      appendSample(history, data.sample);
      view = data.view;
      show();
      showCharts();
    }),
  },
  document.getElementById('live'),
  () => history.intervalSeconds * 3000,
);

// A hidden tab skips the table; it is brought up to date when shown again.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && view) showMiners();
});
