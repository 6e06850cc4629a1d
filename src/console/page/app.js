// The Panoptes live console page: plain browser JavaScript, no build step, no other origin.
//
// Two views, chosen by the URL's hash: "#/" the devices table (search box, sortable columns),
// "#/device/<id>" one device with uPlot charts of its CPU, memory, temperatures and interface
// traffic. Both ask the node's JSON API again every refresh_seconds (the API says how often),
// so the page stays live without server push. Everything from the API is put into the page as
// text (textContent), never as markup: device names and errors come from the network.
'use strict';

const state = {
  devices: [],
  now: 0,
  refreshSeconds: 5,
  historySeconds: 3600,
  sortKey: 'id',
  sortDir: 1,
  search: '',
  ifFilter: '',
  /** The device shown, or undefined on the table view. */
  deviceId: undefined,
  /** Chart key -> { plot, signature } */
  plots: new Map(),
  timer: undefined,
  /** The traffic chart data last fetched, for the interface filter. */
  traffic: undefined,
  /** Increases on every route change: a response for an older view is dropped. */
  generation: 0,
};

/** Rows drawn at most: the search narrows a larger fleet. */
const MAX_ROWS = 2000;
/** Interface charts drawn at most: the filter reaches the others. */
const MAX_INTERFACE_CHARTS = 24;
const PALETTE = ['#1f77b4', '#e8710a', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const IN_COLOR = '#1f77b4';
const OUT_COLOR = '#e8710a';
/** Status order when sorting by status: problems first. */
const STATUS_RANK = { error: 0, stale: 1, unknown: 2, ok: 3 };

const $ = (id) => document.getElementById(id);
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function formatAge(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** 1234567 -> "1.23 M": bits per second on the traffic axes. */
function formatSi(value) {
  if (value === null || value === undefined) return '';
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const text = v >= 100 || i === 0 ? v.toFixed(0) : v.toPrecision(3);
  return `${value < 0 ? '-' : ''}${text} ${units[i]}`.trim();
}

const formatNumber = (digits) => (value) =>
  value === null || value === undefined ? '' : Number(value).toFixed(digits);

function ageOf(device) {
  const at = device.last_poll ?? device.last_seen;
  return at ? state.now - at : null;
}

function kindOf(device) {
  return [device.class, device.subclass, device.type].filter(Boolean).join(' / ');
}

function showProblem(text) {
  const p = $('problem');
  p.textContent = text ?? '';
  p.hidden = text === undefined;
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const error = new Error(body.error ?? `${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// ---- the devices table ----------------------------------------------------------------------

function sortValue(device, key) {
  switch (key) {
    case 'kind':
      return kindOf(device);
    case 'status':
      return STATUS_RANK[device.status] ?? 9;
    case 'age':
      return ageOf(device) ?? Infinity;
    default:
      return device[key] ?? '';
  }
}

function compareDevices(a, b) {
  const x = sortValue(a, state.sortKey);
  const y = sortValue(b, state.sortKey);
  const c = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
  return state.sortDir * (c || collator.compare(a.id, b.id));
}

function matches(device, words) {
  if (words.length === 0) return true;
  const text = [device.id, kindOf(device), device.endpoint, device.status, device.error]
    .join(' ')
    .toLowerCase();
  return words.every((w) => text.includes(w));
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function renderTable() {
  const words = state.search.toLowerCase().split(/\s+/).filter(Boolean);
  const rows = state.devices.filter((d) => matches(d, words)).sort(compareDevices);
  const body = document.createElement('tbody');
  for (const device of rows.slice(0, MAX_ROWS)) {
    const row = document.createElement('tr');
    row.dataset.id = device.id;
    const link = document.createElement('a');
    link.href = `#/device/${encodeURIComponent(device.id)}`;
    link.textContent = device.id;
    cell(row, '').appendChild(link);
    cell(row, kindOf(device));
    cell(row, device.endpoint);
    cell(row, device.status, `status status-${device.status}`);
    cell(row, device.error, 'error');
    cell(row, formatAge(ageOf(device)), 'num');
    body.appendChild(row);
  }
  $('devices').replaceChild(body, $('devices').tBodies[0]);
  $('count').textContent =
    rows.length === state.devices.length
      ? `${rows.length} devices`
      : `${rows.length} of ${state.devices.length} devices`;
  const more = $('more');
  more.hidden = rows.length <= MAX_ROWS;
  more.textContent = `Showing the first ${MAX_ROWS} of ${rows.length}: search to narrow them.`;
  for (const th of document.querySelectorAll('#devices th')) {
    if (th.dataset.key === state.sortKey)
      th.setAttribute('aria-sort', state.sortDir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function renderSummary(stats) {
  const counts = { ok: 0, error: 0, stale: 0, unknown: 0 };
  for (const d of state.devices) counts[d.status] = (counts[d.status] ?? 0) + 1;
  $('summary').textContent =
    `${state.devices.length} devices: ${counts.ok} ok, ${counts.error} failing, ${counts.stale} stale` +
    (stats ? ` \u00b7 ${stats.series} series, ${(stats.bytes / 1048576).toFixed(1)} MiB` : '');
}

async function refreshDevices(generation) {
  const data = await getJson('/api/devices');
  if (generation !== state.generation) return;
  state.devices = data.devices;
  state.now = data.now;
  state.refreshSeconds = data.refresh_seconds;
  $('site').textContent = `site ${data.site}`;
  renderSummary(data.stats);
  renderTable();
}

// ---- the device view ------------------------------------------------------------------------

function destroyPlots(keep) {
  for (const [key, entry] of state.plots) {
    if (keep && keep.has(key)) continue;
    entry.plot.destroy();
    state.plots.delete(key);
  }
}

/**
 * Draws (or updates) one uPlot chart in `target`: same series as before -> setData, else a new
 * chart. `data` is uPlot's aligned data [times, ...values].
 */
function drawPlot(key, target, labels, colors, data, format, axisFormat, options) {
  const signature = labels.join('\u0000');
  const width = Math.max(200, target.clientWidth);
  target.dataset.points = String(data[0].length);
  target.dataset.series = String(labels.length);
  const existing = state.plots.get(key);
  if (existing && existing.signature === signature && existing.plot.root.parentNode === target) {
    existing.plot.setData(data);
    return;
  }
  if (existing) {
    existing.plot.destroy();
    state.plots.delete(key);
  }
  target.replaceChildren();
  const opts = {
    width,
    height: options.height,
    scales: {
      // From the first point to now, at least 2 minutes, at most the history: the axis ends at
      // the server's clock (a device that stopped answering shows a gap at the right, not a
      // stretched line) and grows to the hour as points arrive.
      x: {
        time: true,
        range: (u, min, max) => {
          const end = Math.max(state.now, max ?? 0);
          const span = Math.min(state.historySeconds, Math.max(120, end - (min ?? end)));
          return [end - span, end];
        },
      },
    },
    series: [
      {},
      ...labels.map((label, i) => ({
        label,
        stroke: colors[i % colors.length],
        width: 1.5,
        spanGaps: true,
        value: (u, v) => format(v),
      })),
    ],
    axes: [{}, { size: 70, values: (u, splits) => splits.map(axisFormat) }],
    legend: { show: options.legend && labels.length <= 12 },
  };
  state.plots.set(key, { plot: new uPlot(opts, data, target), signature });
}

function noData(target, key) {
  const existing = state.plots.get(key);
  if (existing) {
    existing.plot.destroy();
    state.plots.delete(key);
  }
  target.dataset.points = '0';
  target.dataset.series = '0';
  const p = document.createElement('p');
  p.className = 'nodata';
  p.textContent = 'no data';
  target.replaceChildren(p);
}

const FORMATS = {
  cpu: (v) => (v === null || v === undefined ? '' : `${formatNumber(0)(v)} %`),
  memory: (v) => (v === null || v === undefined ? '' : `${formatNumber(1)(v)} %`),
  temperature: (v) => (v === null || v === undefined ? '' : `${formatNumber(1)(v)} \u00b0F`),
};
/** The axes' ticks are round numbers already: only the unit is added. */
const AXIS_UNITS = { cpu: '%', memory: '%', temperature: '\u00b0F' };

function renderHealthCharts(charts) {
  for (const section of document.querySelectorAll('#device-view .chart')) {
    const kind = section.dataset.chart;
    const chart = charts[kind];
    const target = section.querySelector('.plot');
    if (!chart || chart.series.length === 0) {
      noData(target, kind);
      continue;
    }
    // One time axis for all the lines: uPlot.join aligns series polled at different instants.
    const data = uPlot.join(chart.series.map((s) => [s.times, s.values[0]]));
    drawPlot(
      kind,
      target,
      chart.series.map((s) => s.label),
      PALETTE,
      data,
      FORMATS[kind],
      (v) => `${Number(v.toFixed(6))} ${AXIS_UNITS[kind]}`,
      { height: 200, legend: true },
    );
  }
}

function renderTraffic(chart) {
  const grid = $('if-grid');
  const filter = state.ifFilter.toLowerCase();
  const all = chart ? chart.series : [];
  const shown = all.filter((s) => s.label.toLowerCase().includes(filter)).slice(0, MAX_INTERFACE_CHARTS);
  const count = all.filter((s) => s.label.toLowerCase().includes(filter)).length;
  $('if-count').textContent =
    all.length === 0
      ? ''
      : count > shown.length
        ? `showing ${shown.length} of ${count} interfaces: filter to see others`
        : `${count} of ${all.length} interfaces`;
  if (all.length === 0) {
    destroyPlots(new Set(['cpu', 'memory', 'temperature']));
    const p = document.createElement('p');
    p.className = 'nodata';
    p.textContent = 'no data';
    grid.replaceChildren(p);
    return;
  }
  const keys = new Set(['cpu', 'memory', 'temperature']);
  const boxes = [];
  for (const s of shown) {
    const key = `if:${s.label}`;
    keys.add(key);
    let box = grid.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!box) {
      box = document.createElement('section');
      box.className = 'if-chart';
      box.dataset.key = key;
      const title = document.createElement('h3');
      title.textContent = s.label;
      const plot = document.createElement('div');
      plot.className = 'plot';
      box.append(title, plot);
    }
    boxes.push(box);
  }
  destroyPlots(keys);
  grid.replaceChildren(...boxes);
  shown.forEach((s, i) => {
    const target = boxes[i].querySelector('.plot');
    drawPlot(
      `if:${s.label}`,
      target,
      ['in', 'out'],
      [IN_COLOR, OUT_COLOR],
      [s.times, s.values[0], s.values[1]],
      (v) => (v === null || v === undefined ? '' : formatSi(v)),
      formatSi,
      // The section's heading shows which colour is in and which out.
      { height: 150, legend: false },
    );
  });
}

async function refreshDevice(generation) {
  const id = state.deviceId;
  let data;
  try {
    data = await getJson(`/api/devices/${encodeURIComponent(id)}`);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e.status === 404) {
      $('device-title').textContent = id;
      $('device-info').textContent = 'This device is not in the console (not polled yet, or evicted).';
      destroyPlots();
      for (const target of document.querySelectorAll('#device-view .plot')) noData(target, '');
      $('if-grid').replaceChildren();
      return;
    }
    throw e;
  }
  if (generation !== state.generation) return;
  state.now = data.now;
  state.refreshSeconds = data.refresh_seconds;
  state.historySeconds = data.history_seconds;
  $('site').textContent = `site ${data.site}`;
  const d = data.device;
  $('device-title').textContent = d.id;
  const info = $('device-info');
  const status = document.createElement('span');
  status.className = `status status-${d.status}`;
  status.textContent = d.status;
  info.replaceChildren(
    `${kindOf(d)} \u00b7 ${d.endpoint} \u00b7 `,
    status,
    d.error ? ` \u00b7 ${d.error}` : '',
    ` \u00b7 last poll ${formatAge(ageOf(d))} ago \u00b7 last ${Math.round(data.history_seconds / 60)} min`,
  );
  renderHealthCharts(data.charts);
  state.traffic = data.charts.traffic;
  renderTraffic(state.traffic);
}

// ---- routing and the refresh loop -----------------------------------------------------------

async function refresh() {
  clearTimeout(state.timer);
  const generation = state.generation;
  try {
    if (state.deviceId === undefined) await refreshDevices(generation);
    else await refreshDevice(generation);
    showProblem(undefined);
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    showProblem(`Cannot reach the node: ${e.message}. Retrying every ${state.refreshSeconds} s.`);
  }
  if (generation === state.generation) state.timer = setTimeout(refresh, state.refreshSeconds * 1000);
}

function route() {
  const match = /^#\/device\/(.+)$/.exec(location.hash);
  state.generation++;
  destroyPlots();
  $('if-grid').replaceChildren();
  if (match) {
    state.deviceId = decodeURIComponent(match[1]);
    state.traffic = undefined;
    state.ifFilter = '';
    $('if-filter').value = '';
    $('device-title').textContent = state.deviceId;
    $('device-info').textContent = 'loading...';
    document.title = `${state.deviceId} - Panoptes console`;
  } else {
    state.deviceId = undefined;
    document.title = 'Panoptes console';
  }
  $('list-view').hidden = match !== null;
  $('device-view').hidden = match === null;
  void refresh();
}

function start() {
  for (const th of document.querySelectorAll('#devices th')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      state.sortDir = state.sortKey === key ? -state.sortDir : 1;
      state.sortKey = key;
      renderTable();
    });
  }
  $('search').addEventListener('input', (e) => {
    state.search = e.target.value;
    renderTable();
  });
  $('if-filter').addEventListener('input', (e) => {
    state.ifFilter = e.target.value;
    if (state.traffic !== undefined) renderTraffic(state.traffic);
  });
  $('devices').addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-id]');
    if (row && !e.target.closest('a')) location.hash = `#/device/${encodeURIComponent(row.dataset.id)}`;
  });
  window.addEventListener('hashchange', route);
  let resizing;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const { plot } of state.plots.values()) {
        const width = Math.max(200, plot.root.parentNode.clientWidth);
        plot.setSize({ width, height: plot.height });
      }
    }, 150);
  });
  route();
}

start();
