// Shared by the live pages (serve's, and the topology page of schedule/local): number formats, filling
// [data-field] elements from a JSON view, a sortable table, and the Server-Sent Events connection with its indicator.
// Plain ES module, no build step.

const HASH_UNITS = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s'];

/** 12345678 -> "12.35 MH/s" (the miner's status line uses the same units). */
export function formatHashrate(h) {
  if (typeof h !== 'number' || !Number.isFinite(h)) return '–';
  let value = h;
  let unit = 0;
  while (value >= 1000 && unit < HASH_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2)} ${HASH_UNITS[unit]}`;
}

/** Tiny test-pool difficulties read better as fractions: 1/65536 rather than 0.0000152587890625. */
export function formatDifficulty(d) {
  if (typeof d !== 'number' || !Number.isFinite(d)) return '–';
  if (d >= 1 || d === 0) return String(Number(d.toPrecision(6)));
  const inverse = 1 / d;
  if (Math.abs(inverse - Math.round(inverse)) < 1e-9 * inverse) return `1/${Math.round(inverse)}`;
  return d.toPrecision(4);
}

const counts = new Intl.NumberFormat('en-US');
export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? counts.format(n) : '–';
}

/** 3725 -> "1 h 2 min"; 42 -> "42 s". */
export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** How long before `now` (both ms since the epoch, from the server's clock): "12 s ago". */
export function formatAgo(at, now) {
  if (typeof at !== 'number') return 'never';
  return `${formatDuration(Math.max(0, (now - at) / 1000))} ago`;
}

// One formatter for every cell: toLocaleTimeString builds a new one per call (150 ms for 1,000 rows).
const clock = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
export function formatTime(at) {
  return typeof at === 'number' && Number.isFinite(at) ? clock.format(at) : '–';
}

export const FORMATS = {
  count: formatCount,
  hashrate: formatHashrate,
  difficulty: formatDifficulty,
  duration: formatDuration,
  text: (v) => (v === null || v === undefined || v === '' ? '–' : String(v)),
};

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** `view.a.b` for the path "a.b" (undefined when a step is missing). */
export function pick(view, path) {
  return path.split('.').reduce((v, key) => (v === null || v === undefined ? undefined : v[key]), view);
}

/**
 * Every element with data-field="path.in.view" shows that value, formatted by its data-format (FORMATS, default
 * text). data-state elements get the raw value as an attribute too, for styling (e.g. upstream state colours).
 */
export function fillFields(root, view) {
  for (const el of root.querySelectorAll('[data-field]')) {
    const value = pick(view, el.dataset.field);
    const text = (FORMATS[el.dataset.format] ?? FORMATS.text)(value);
    if (el.textContent !== text) el.textContent = text;
    if ('state' in el.dataset) el.dataset.state = String(value ?? '');
  }
}

/** Runs fn and records how long it took as a User Timing measure (only the latest is kept). */
export function timed(name, fn) {
  const start = performance.now();
  try {
    return fn();
  } finally {
    performance.clearMeasures(name);
    performance.measure(name, { start, end: performance.now() });
  }
}

/**
 * A table sorted by clicking its headers (<th data-key="...">). Rows are plain objects; `columns` says how each
 * cell is shown (`format` gives text, `html` markup it has escaped itself, e.g. a link) and sorted. Sorting and filtering cover every row, but only the first `limit` are rendered: the
 * browser's table layout, not the script, is what grows with the rows (about 25 ms for 200 rows, 120-300 ms for
 * 1,000 on a busy 2-core machine), so a big farm's page stays responsive. The body is rebuilt in one assignment.
 */
export class SortableTable {
  constructor(table, { columns, sort, filter, limit = Infinity }) {
    this.table = table;
    this.body = table.tBodies[0];
    this.columns = new Map(columns.map((c) => [c.key, c]));
    this.sort = sort;
    this.filter = filter ?? (() => true);
    this.limit = limit;
    this.rows = [];
    this.matched = 0;
    this.shown = 0;
    for (const th of table.tHead.querySelectorAll('th[data-key]')) {
      th.tabIndex = 0;
      const activate = () => timed('table:sort', () => this.sortBy(th.dataset.key));
      th.addEventListener('click', activate);
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          activate();
        }
      });
    }
    this.showSort();
  }

  setRows(rows, context) {
    this.rows = rows;
    this.context = context;
    this.render();
  }

  /** A second click on the same column reverses the order. */
  sortBy(key) {
    const column = this.columns.get(key);
    if (!column) return;
    this.sort = this.sort.key === key ? { key, dir: -this.sort.dir } : { key, dir: column.numeric ? -1 : 1 };
    this.showSort();
    this.render();
  }

  render() {
    const column = this.columns.get(this.sort.key);
    const value = column.sortValue ?? ((row) => row[column.key]);
    const dir = this.sort.dir;
    const rows = this.rows.filter(this.filter);
    rows.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    const cells = [...this.columns.values()];
    const visible = rows.length > this.limit ? rows.slice(0, this.limit) : rows;
    let html = '';
    for (const row of visible) {
      html += '<tr>';
      for (const c of cells) {
        const cell = c.html ? c.html(row, this.context) : escapeHtml(c.format ? c.format(row, this.context) : row[c.key] ?? '–');
        html += `<td${c.numeric ? ' class="num"' : ''}>${cell}</td>`;
      }
      html += '</tr>';
    }
    this.body.innerHTML = html;
    this.matched = rows.length;
    this.shown = visible.length;
  }

  /** "200 of 1,000 shown" or "12 shown". */
  shownText() {
    return this.shown < this.matched ? `${formatCount(this.shown)} of ${formatCount(this.matched)} shown` : `${formatCount(this.shown)} shown`;
  }

  showSort() {
    for (const th of this.table.tHead.querySelectorAll('th[data-key]')) {
      th.setAttribute('aria-sort', th.dataset.key !== this.sort.key ? 'none' : this.sort.dir > 0 ? 'ascending' : 'descending');
    }
  }
}

/**
 * A button that switches a table between its first `limit` rows and all of them (`refresh` redraws the table).
 * Returns the function that brings the button up to date after each redraw: hidden when all rows fit.
 */
export function showAllButton(button, table, limit, refresh) {
  button.addEventListener('click', () => {
    table.limit = table.limit === Infinity ? limit : Infinity;
    timed('table:all', refresh);
  });
  return () => {
    button.hidden = table.matched <= limit;
    button.textContent = table.limit === Infinity ? `show the first ${limit}` : `show all ${formatCount(table.matched)}`;
  };
}

/**
 * Listens to a Server-Sent Events URL; handlers by event name get the parsed JSON. The indicator element shows
 * live / reconnecting / stale (no message for three update intervals). EventSource reconnects by itself.
 */
export function connectEvents(url, handlers, indicator, staleAfterMs) {
  const source = new EventSource(url);
  let lastMessage = 0;
  const show = (state, text) => {
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  source.addEventListener('open', () => show('live', 'live'));
  source.addEventListener('error', () => show('down', 'reconnecting…'));
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (e) => {
      lastMessage = Date.now();
      show('live', 'live');
      handle(JSON.parse(e.data));
    });
  }
  setInterval(() => {
    if (lastMessage && source.readyState === EventSource.OPEN && Date.now() - lastMessage > staleAfterMs()) show('stale', 'no updates');
  }, 1000);
  return source;
}
