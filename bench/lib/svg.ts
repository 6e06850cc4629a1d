/**
 * Benchmark charts as hand-written SVG: pure functions from data to an SVG document string (no
 * DOM, no dependency).
 *
 * - Deterministic: the same input gives the same bytes (coordinates rounded to two decimals,
 *   numbers formatted without the locale, no dates or randomness).
 * - Text is XML-escaped; characters XML 1.0 cannot hold (most control characters) are dropped.
 * - Values that are not finite never reach a coordinate: see each chart for whether they are
 *   skipped or clamped; `coord` is the last guard and writes 0 rather than `NaN`.
 * - There are no font metrics here: text widths are estimated from a generous average glyph
 *   width, so layouts leave room rather than cut labels off.
 */

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly highlight?: boolean;
}

export interface BarChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  /** Shown as the value axis's label. */
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** The label of the bar every other bar's ratio is computed against (no ratios if none matches). */
  readonly referenceLabel?: string;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** log10 x axis; points with x <= 0 are skipped. */
  readonly logX?: boolean;
  readonly series: readonly Series[];
}

const FONT = "system-ui, 'Segoe UI', Helvetica, Arial, sans-serif";
const PAD = 16;
const TITLE_SIZE = 18;
const SUBTITLE_SIZE = 12.5;
const LABEL_SIZE = 13;
const TICK_SIZE = 11.5;
const TEXT_COLOR = '#222';
const MUTED_COLOR = '#555';
const GRID_COLOR = '#e2e2e2';
const AXIS_COLOR = '#888';
const BAR_COLOR = '#4e79a7';
const HIGHLIGHT_COLOR = '#f28e2b';
const SERIES_COLORS = ['#4e79a7', '#e15759', '#59a14f', '#b07aa1', '#f28e2b', '#76b7b2'];
/** Finite values beyond this are clamped, so spans and scales stay finite. */
const VALUE_LIMIT = 1e15;
/** Finite values closer to zero than this count as zero, so tick steps stay normal numbers. */
const VALUE_EPSILON = 1e-100;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML content and attributes; drops characters XML 1.0 does not allow. */
export function escapeXml(text: string): string {
  let clean = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code !== 0xfffe && code !== 0xffff);
    if (allowed) clean += ch;
  }
  return clean.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A coordinate or length: two decimals at most, never `NaN` (non-finite input writes 0). */
function coord(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Fixed-point text with the integer part grouped by thousands: `fixed(12345.6, 1)` is `12,345.6`. */
function fixed(v: number, decimals: number): string {
  const text = v.toFixed(Math.min(20, Math.max(0, decimals)));
  const negative = text.startsWith('-');
  const [int = '0', frac] = (negative ? text.slice(1) : text).split('.');
  const body = groupThousands(int) + (frac === undefined ? '' : `.${frac}`);
  // toFixed can round a tiny negative number to "-0.0".
  return negative && Number(text) !== 0 ? `-${body}` : body;
}

/** A value for a label: integers as they are, otherwise about three significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 100) return fixed(v, 0);
  if (a >= 10) return fixed(v, 1);
  if (a >= 0.001) return v.toPrecision(3);
  return v.toExponential(2);
}

/** A ratio for a label: `0.15x`, `7.71x`, `12.3x`, `150x`. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  if (r >= 1e6) return `${r.toExponential(1)}x`;
  const decimals = r < 10 ? 2 : r < 100 ? 1 : 0;
  return `${fixed(r, decimals)}x`;
}

/** A finite value within [-1e15, 1e15], with magnitudes below 1e-100 as zero. */
function clampValue(v: number): number {
  if (Math.abs(v) < VALUE_EPSILON) return 0;
  return Math.min(VALUE_LIMIT, Math.max(-VALUE_LIMIT, v));
}

/** Round-off from `i * step` (0.30000000000000004) removed. */
function clean(v: number): number {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? 0 : r;
}

export interface Ticks {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly values: readonly number[];
}

/**
 * About `target` ticks of 1, 2 or 5 times a power of ten covering [lo, hi]; the returned lo/hi
 * are the outer ticks. An empty or inverted range becomes [lo, lo + 1] (or [lo, 2 lo]).
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  let a = Number.isFinite(lo) ? clampValue(lo) : 0;
  let b = Number.isFinite(hi) ? clampValue(hi) : 1;
  if (b < a) [a, b] = [b, a];
  if (b === a) b = a + (a === 0 ? 1 : Math.abs(a));
  const raw = (b - a) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // Cannot happen for clamped finite input (raw >= 2e-101); kept so no caller can loop forever.
  if (!(magnitude > 0) || !Number.isFinite(magnitude)) return { lo: a, hi: b, step: b - a, values: [a, b] };
  const f = raw / magnitude;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  const first = Math.floor(a / step + 1e-9);
  const last = Math.ceil(b / step - 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(clean(i * step));
  return { lo: clean(first * step), hi: clean(last * step), step, values };
}

/** Tick labels sharing one scale: `0`, `10k`, `20k` or `0`, `0.5`, `1.0`. */
function tickFormatter(ticks: Ticks): (v: number) => string {
  const maxAbs = Math.max(Math.abs(ticks.lo), Math.abs(ticks.hi));
  const [scale, suffix] = maxAbs >= 1e6 ? [1e6, 'M'] : maxAbs >= 1e4 ? [1e3, 'k'] : [1, ''];
  const decimals = Math.max(0, -Math.floor(Math.log10(ticks.step / scale) + 1e-9));
  if (decimals > 6) return (v) => (v === 0 ? '0' : v.toExponential(1));
  return (v) => (v === 0 ? '0' : `${fixed(v / scale, decimals)}${suffix}`);
}

/** Estimated width of `text` in pixels (generous: wider than most sans-serif fonts render it). */
function textWidth(text: string, size: number, bold = false): number {
  return [...text].length * size * (bold ? 0.64 : 0.6);
}

type Attrs = Readonly<Record<string, string | number | undefined>>;

/** One element; numbers go through `coord`, strings are escaped, undefined attributes are left out. */
function el(name: string, attrs: Attrs, content?: string): string {
  let out = `<${name}`;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    out += ` ${key}="${typeof value === 'number' ? coord(value) : escapeXml(value)}"`;
  }
  return content === undefined ? `${out}/>` : `${out}>${content}</${name}>`;
}

function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, escapeXml(content));
}

interface Header {
  readonly lines: string[];
  /** y below the title and subtitle. */
  readonly bottom: number;
  readonly minWidth: number;
}

function header(title: string, subtitle: string | undefined): Header {
  const lines = [
    text(PAD, PAD + TITLE_SIZE, title, { 'font-size': TITLE_SIZE, 'font-weight': 'bold', fill: TEXT_COLOR }),
  ];
  let bottom = PAD + TITLE_SIZE + 6;
  let minWidth = 2 * PAD + textWidth(title, TITLE_SIZE, true);
  if (subtitle !== undefined && subtitle !== '') {
    bottom += SUBTITLE_SIZE + 6;
    lines.push(text(PAD, bottom - 6, subtitle, { 'font-size': SUBTITLE_SIZE, fill: MUTED_COLOR }));
    minWidth = Math.max(minWidth, 2 * PAD + textWidth(subtitle, SUBTITLE_SIZE));
  }
  return { lines, bottom, minWidth };
}

function svgDocument(
  width: number,
  height: number,
  title: string,
  subtitle: string | undefined,
  body: readonly string[],
): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ` +
      `font-family="${escapeXml(FONT)}" font-size="${LABEL_SIZE}" role="img">`,
    el('title', {}, escapeXml(title)),
    ...(subtitle === undefined || subtitle === '' ? [] : [el('desc', {}, escapeXml(subtitle))]),
    el('rect', { x: 0, y: 0, width: w, height: h, fill: '#ffffff' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Horizontal bars from zero, one row per bar in the given order, each labelled with its value
 * and, when `referenceLabel` names a bar with a positive value, its ratio to that bar.
 *
 * Values that are not finite are labelled `n/a` and get no bar and no ratio; negative values
 * are clamped to a zero-length bar (their label still shows the value, without a ratio).
 * Finite values are first clamped to [-1e15, 1e15], and magnitudes below 1e-100 read as zero.
 */
export function barChart(options: BarChartOptions): string {
  const { title, subtitle, unit, bars, referenceLabel } = options;
  const head = header(title, subtitle);
  const values = bars.map((b) => (Number.isFinite(b.value) ? clampValue(b.value) : Number.NaN));
  const ref = referenceLabel === undefined ? undefined : bars.findIndex((b) => b.label === referenceLabel);
  const refValue = ref === undefined || ref < 0 ? Number.NaN : (values[ref] ?? Number.NaN);
  const hasRatios = Number.isFinite(refValue) && refValue > 0;
  const valueLabels = values.map((v) => {
    const ratio = hasRatios && Number.isFinite(v) && v >= 0 ? ` (${formatRatio(v / refValue)})` : '';
    return `${formatValue(v)}${ratio}`;
  });

  const rowHeight = 32;
  const barHeight = 20;
  const labelWidth = Math.max(40, ...bars.map((b) => textWidth(b.label, LABEL_SIZE, b.highlight === true)));
  const valueWidth = Math.max(40, ...valueLabels.map((l) => textWidth(l, LABEL_SIZE)));
  const footnote = hasRatios && referenceLabel !== undefined ? `in brackets: ratio to ${referenceLabel}` : '';
  const left = PAD + labelWidth + 12;
  const minPlot = 360;
  const width = Math.max(
    720,
    left + minPlot + 8 + valueWidth + PAD,
    head.minWidth,
    2 * PAD + textWidth(footnote, TICK_SIZE),
    2 * PAD + textWidth(unit, LABEL_SIZE),
  );
  const plotWidth = width - left - 8 - valueWidth - PAD;
  const plotTop = head.bottom + 18;
  const plotHeight = Math.max(1, bars.length) * rowHeight;
  const plotBottom = plotTop + plotHeight;

  const finite = values.filter((v) => Number.isFinite(v));
  const ticks = niceTicks(0, Math.max(0, ...finite));
  const format = tickFormatter(ticks);
  const xOf = (v: number): number => left + ((Math.max(0, v) - ticks.lo) / (ticks.hi - ticks.lo)) * plotWidth;

  const body = [...head.lines];
  for (const t of ticks.values) {
    const x = xOf(t);
    body.push(
      el('line', { x1: x, y1: plotTop, x2: x, y2: plotBottom, stroke: GRID_COLOR, 'stroke-width': 1 }),
    );
    body.push(
      text(x, plotBottom + 16, format(t), {
        'font-size': TICK_SIZE,
        fill: MUTED_COLOR,
        'text-anchor': 'middle',
      }),
    );
  }
  body.push(
    el('line', { x1: left, y1: plotBottom, x2: left + plotWidth, y2: plotBottom, stroke: AXIS_COLOR }),
  );

  bars.forEach((b, i) => {
    const v = values[i] ?? Number.NaN;
    const rowTop = plotTop + i * rowHeight;
    const middle = rowTop + rowHeight / 2;
    const bold = b.highlight === true ? 'bold' : undefined;
    body.push(
      text(left - 10, middle + 4.5, b.label, { 'text-anchor': 'end', fill: TEXT_COLOR, 'font-weight': bold }),
    );
    const barWidth = Number.isFinite(v) ? xOf(v) - left : 0;
    if (Number.isFinite(v)) {
      body.push(
        el('rect', {
          class: 'bar',
          x: left,
          y: middle - barHeight / 2,
          width: barWidth,
          height: barHeight,
          fill: b.highlight === true ? HIGHLIGHT_COLOR : BAR_COLOR,
        }),
      );
    }
    body.push(
      text(left + barWidth + 6, middle + 4.5, valueLabels[i] ?? '', {
        fill: TEXT_COLOR,
        'font-weight': bold,
      }),
    );
  });
  if (bars.length === 0) {
    body.push(
      text(left + plotWidth / 2, plotTop + rowHeight / 2 + 4.5, 'no data', {
        'text-anchor': 'middle',
        fill: MUTED_COLOR,
      }),
    );
  }
  body.push(el('line', { x1: left, y1: plotTop, x2: left, y2: plotBottom, stroke: AXIS_COLOR }));

  let bottom = plotBottom + 38;
  body.push(text(left + plotWidth / 2, bottom, unit, { 'text-anchor': 'middle', fill: TEXT_COLOR }));
  if (footnote !== '') {
    bottom += 18;
    body.push(
      text(left + plotWidth / 2, bottom, footnote, {
        'font-size': TICK_SIZE,
        fill: MUTED_COLOR,
        'text-anchor': 'middle',
      }),
    );
  }
  return svgDocument(width, bottom + PAD, title, subtitle, body);
}

/** A point marker: circle, square or diamond by `shape`; `cls` tells data points from legend keys. */
function marker(shape: number, x: number, y: number, color: string, cls: string): string {
  const common = { class: cls, fill: color, stroke: '#ffffff', 'stroke-width': 1.5 };
  switch (shape % 3) {
    case 1:
      return el('rect', { x: x - 4.5, y: y - 4.5, width: 9, height: 9, ...common });
    case 2:
      return el('polygon', {
        points: `${coord(x)},${coord(y - 6)} ${coord(x + 6)},${coord(y)} ${coord(x)},${coord(y + 6)} ${coord(x - 6)},${coord(y)}`,
        ...common,
      });
    default:
      return el('circle', { cx: x, cy: y, r: 5, ...common });
  }
}

/**
 * One polyline with point markers and value labels per series, a legend, y ticks of 1, 2 or 5
 * times a power of ten (from zero, or below zero if a value is), and x ticks at the data's x
 * values (a label that would overlap its left neighbour is left out; its gridline stays).
 *
 * Points whose x or y is not finite are skipped, and so are points with x <= 0 on a log x axis.
 * A series left with no points is listed in the legend as "(no data)". Coordinates are clamped
 * like bar values: to [-1e15, 1e15], with magnitudes below 1e-100 as zero.
 */
export function lineChart(options: LineChartOptions): string {
  const { title, subtitle, xLabel, yLabel } = options;
  const logX = options.logX === true;
  const head = header(title, subtitle);
  const series = options.series.map((s) => ({
    name: s.name,
    points: s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0))
      .map((p) => ({ x: clampValue(p.x), y: clampValue(p.y) }))
      .sort((a, b) => a.x - b.x || a.y - b.y),
  }));
  const all = series.flatMap((s) => s.points);
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const ys = all.map((p) => p.y);

  const width = Math.max(760, head.minWidth);
  const legendItems = series.map((s, i) => ({
    name: s.points.length === 0 ? `${s.name} (no data)` : s.name,
    color: SERIES_COLORS[i % SERIES_COLORS.length] ?? BAR_COLOR,
    shape: i,
  }));
  const body = [...head.lines];
  let legendX = PAD;
  let legendY = head.bottom + 14;
  for (const item of legendItems) {
    const itemWidth = 30 + textWidth(item.name, LABEL_SIZE) + 20;
    if (legendX > PAD && legendX + itemWidth > width - PAD) {
      legendX = PAD;
      legendY += 20;
    }
    body.push(
      el('line', {
        x1: legendX,
        y1: legendY,
        x2: legendX + 24,
        y2: legendY,
        stroke: item.color,
        'stroke-width': 2.5,
      }),
    );
    body.push(marker(item.shape, legendX + 12, legendY, item.color, 'legend-key'));
    body.push(text(legendX + 30, legendY + 4.5, item.name, { fill: TEXT_COLOR }));
    legendX += itemWidth;
  }

  const ticks = niceTicks(Math.min(0, ...ys), Math.max(0, ...ys));
  const formatY = tickFormatter(ticks);
  const yTickWidth = Math.max(...ticks.values.map((t) => textWidth(formatY(t), TICK_SIZE)));
  const plotTop = (legendItems.length > 0 ? legendY + 10 : head.bottom) + 22;
  const plotHeight = Math.max(280, textWidth(yLabel, LABEL_SIZE) + 20);
  const plotBottom = plotTop + plotHeight;
  const left = PAD + LABEL_SIZE + 10 + yTickWidth + 8;
  const right = width - PAD - 24;
  const plotWidth = right - left;
  const inset = 28; // keeps the outermost points and their labels off the axes
  const yOf = (y: number): number => plotBottom - ((y - ticks.lo) / (ticks.hi - ticks.lo)) * plotHeight;
  const tx = (x: number): number => (logX ? Math.log10(x) : x);
  const xLo = tx(xs[0] ?? 1);
  const xHi = tx(xs[xs.length - 1] ?? 1);
  const xOf = (x: number): number =>
    xHi === xLo
      ? left + plotWidth / 2
      : left + inset + ((tx(x) - xLo) / (xHi - xLo)) * (plotWidth - 2 * inset);

  for (const t of ticks.values) {
    const y = yOf(t);
    body.push(el('line', { x1: left, y1: y, x2: right, y2: y, stroke: GRID_COLOR, 'stroke-width': 1 }));
    body.push(
      text(left - 8, y + 4, formatY(t), { 'font-size': TICK_SIZE, fill: MUTED_COLOR, 'text-anchor': 'end' }),
    );
  }
  let lastLabelRight = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    const px = xOf(x);
    body.push(
      el('line', { x1: px, y1: plotTop, x2: px, y2: plotBottom, stroke: GRID_COLOR, 'stroke-width': 1 }),
    );
    body.push(el('line', { x1: px, y1: plotBottom, x2: px, y2: plotBottom + 5, stroke: AXIS_COLOR }));
    const label = formatValue(x);
    const half = textWidth(label, TICK_SIZE) / 2;
    if (px - half >= lastLabelRight + 6) {
      body.push(
        text(px, plotBottom + 18, label, {
          'font-size': TICK_SIZE,
          fill: MUTED_COLOR,
          'text-anchor': 'middle',
        }),
      );
      lastLabelRight = px + half;
    }
  }
  body.push(el('line', { x1: left, y1: plotTop, x2: left, y2: plotBottom, stroke: AXIS_COLOR }));
  body.push(el('line', { x1: left, y1: yOf(0), x2: right, y2: yOf(0), stroke: AXIS_COLOR }));
  if (all.length === 0) {
    body.push(
      text(left + plotWidth / 2, plotTop + plotHeight / 2, 'no data', {
        'text-anchor': 'middle',
        fill: MUTED_COLOR,
      }),
    );
  }

  // Value labels sit above their point. Where points share an x, going down from the top one, a
  // label that would touch the one above it goes below its point instead (or further down).
  const labels: { x: number; py: number; y: number; text: string; color: string }[] = [];
  series.forEach((s, i) => {
    const color = legendItems[i]?.color ?? BAR_COLOR;
    const pts = s.points.map((p) => ({ px: xOf(p.x), py: yOf(p.y), y: p.y }));
    if (pts.length > 1) {
      body.push(
        el('polyline', {
          class: 'series',
          points: pts.map((p) => `${coord(p.px)},${coord(p.py)}`).join(' '),
          fill: 'none',
          stroke: color,
          'stroke-width': 2.5,
          'stroke-linejoin': 'round',
        }),
      );
    }
    for (const p of pts) {
      body.push(marker(i, p.px, p.py, color, 'point'));
      labels.push({ x: p.px, py: p.py, y: p.py - 10, text: formatValue(p.y), color });
    }
  });
  const byX = new Map<string, typeof labels>();
  for (const l of labels) {
    const key = coord(l.x);
    byX.set(key, [...(byX.get(key) ?? []), l]);
  }
  const gap = 14;
  for (const group of byX.values()) {
    group.sort((a, b) => a.py - b.py);
    let previous = Number.NEGATIVE_INFINITY;
    for (const l of group) {
      const above = l.py - 10;
      const below = l.py + 20;
      l.y = above >= previous + gap ? above : below >= previous + gap ? below : previous + gap;
      previous = l.y;
    }
  }
  for (const l of labels) {
    const half = textWidth(l.text, TICK_SIZE) / 2;
    const anchor = l.x + half > width - 4 ? 'end' : l.x - half < 4 ? 'start' : 'middle';
    body.push(text(l.x, l.y, l.text, { 'font-size': TICK_SIZE, fill: l.color, 'text-anchor': anchor }));
  }

  const xTitle = logX ? `${xLabel} (log scale)` : xLabel;
  const bottom = plotBottom + 42;
  body.push(text(left + plotWidth / 2, bottom, xTitle, { 'text-anchor': 'middle', fill: TEXT_COLOR }));
  const yMid = plotTop + plotHeight / 2;
  body.push(
    text(PAD + LABEL_SIZE, yMid, yLabel, {
      'text-anchor': 'middle',
      fill: TEXT_COLOR,
      transform: `rotate(-90 ${coord(PAD + LABEL_SIZE)} ${coord(yMid)})`,
    }),
  );
  return svgDocument(width, bottom + PAD, title, subtitle, body);
}
