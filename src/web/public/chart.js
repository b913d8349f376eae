// Time-series charts for the live pages, on uPlot (loaded before this module as the global `uPlot`). One chart per
// container; it follows the container's width, keeps its series when data arrives, and takes series added later
// (a reject reason that appears after an hour).

import { formatTime } from './common.js';

const MIN_SPAN_SECONDS = 300;
const PALETTE = ['#2f9e44', '#e8590c', '#1c7ed6', '#c2255c', '#7048e8', '#f08c00', '#0c8599', '#5c940d', '#862e9c', '#d6336c'];

const minutes = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', hour12: false });

/** Time ticks on one line: 16:30, or 16:30:15 when the ticks are closer than a minute. */
function clockTicks(ticks) {
  const whole = ticks.every((t) => t % 60 === 0);
  return ticks.map((t) => (whole ? minutes.format(t * 1000) : formatTime(t * 1000)));
}

export function seriesColor(i) {
  return PALETTE[i % PALETTE.length];
}

/** Tick spacings of a whole-number axis (counts): 1, 2, 5, 10, 20, 50... */
const WHOLE_STEPS = Array.from({ length: 12 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/**
 * `series`: [{ label, color, width?, dash? }]; `format(value)` labels the y axis and the legend; `whole`: the values
 * are counts, so the y axis ticks only whole numbers.
 * Returns { setData(t, columns), addSeries(s), uplot }: t in seconds since the epoch, one array per series.
 */
export function timeChart(container, { series, format, height = 220, whole = false }) {
  const toSeries = (s) => ({
    label: s.label,
    stroke: s.color,
    width: s.width ?? 1.5,
    ...(s.dash ? { dash: s.dash } : {}),
    ...(s.fill ? { fill: s.fill } : {}),
    points: { show: false },
    value: (_u, v) => (v === null || v === undefined ? '' : format(v)),
  });
  // Canvas colours cannot be CSS variables: read the page's current ones.
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const axis = { stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
  const opts = {
    width: Math.max(200, container.clientWidth),
    height,
    series: [{ label: 'time', value: (_u, t) => (t === null || t === undefined ? '' : formatTime(t * 1000)) }, ...series.map(toSeries)],
    axes: [
      { ...axis, space: 70, values: (_u, ticks) => clockTicks(ticks) },
      { ...axis, size: 80, values: (_u, ticks) => ticks.map(format), ...(whole ? { incrs: WHOLE_STEPS } : {}) },
    ],
    scales: {
      // At least MIN_SPAN_SECONDS wide, data at the right: a page opened on a fresh server shows a growing line,
      // not millisecond ticks.
      x: { time: true, range: (_u, min, max) => [Math.min(min, max - MIN_SPAN_SECONDS), max] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
  };
  const empty = [[], ...series.map(() => [])];
  const uplot = new uPlot(opts, empty, container);
  new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth);
    if (width !== uplot.width) uplot.setSize({ width, height });
  }).observe(container);
  return {
    uplot,
    setData(t, columns) {
      uplot.setData([t, ...columns]);
    },
    addSeries(s) {
      uplot.addSeries(toSeries(s));
    },
  };
}

/**
 * Appends one sample ({ t, values }) to a history as the server's `init` gives it ({ capacity, t, columns }), a
 * column first seen now reading 0 before, and drops the oldest beyond the server's capacity.
 */
export function appendSample(history, { t, values }) {
  const before = history.t.length;
  history.t.push(t);
  for (const [name, column] of Object.entries(history.columns)) column.push(values[name] ?? 0);
  for (const [name, value] of Object.entries(values)) {
    if (!(name in history.columns)) history.columns[name] = [...new Array(before).fill(0), value];
  }
  const extra = history.t.length - history.capacity;
  if (history.capacity > 0 && extra > 0) {
    history.t.splice(0, extra);
    for (const column of Object.values(history.columns)) column.splice(0, extra);
  }
}
