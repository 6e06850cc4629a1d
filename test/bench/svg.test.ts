import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, subtitle } from '../../bench/charts.js';
import { barChart, escapeXml, formatRatio, formatValue, lineChart, niceTicks } from '../../bench/lib/svg.js';

/**
 * Problems that would make `svg` not well-formed XML (as far as these charts go): every tag
 * matches the strict `<name attr="value">` form, opened tags close in order, one root element,
 * and text and attribute values hold no raw `<`, `>` or stray `&`.
 */
function wellFormedProblems(svg: string): string[] {
  const problems: string[] = [];
  const prolog = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!svg.startsWith(prolog)) problems.push('no XML declaration');
  const doc = svg.slice(prolog.length);
  const entities = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  const checkText = (t: string): void => {
    if (/[<>]/.test(t) || entities.test(t)) problems.push(`unescaped text: ${JSON.stringify(t)}`);
    if (stack.length === 0 && t.trim() !== '') problems.push(`text outside the root: ${JSON.stringify(t)}`);
  };
  for (const m of doc.matchAll(/<[^>]*>/g)) {
    checkText(doc.slice(last, m.index));
    last = m.index + m[0].length;
    const tag = /^<(\/)?([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/)?>$/.exec(m[0]);
    if (tag === null) {
      problems.push(`malformed tag: ${m[0]}`);
      continue;
    }
    const [, closing, name = '', attrs = '', selfClosing] = tag;
    if (entities.test(attrs)) problems.push(`unescaped & in ${m[0]}`);
    if (closing !== undefined) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else {
      if (stack.length === 0) roots++;
      if (selfClosing === undefined) stack.push(name);
    }
  }
  checkText(doc.slice(last));
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

function attr(tag: string, name: string): number {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  if (m?.[1] === undefined) throw new Error(`no ${name} in ${tag}`);
  return Number(m[1]);
}

function barWidths(svg: string): number[] {
  return [...svg.matchAll(/<rect class="bar"[^>]*>/g)].map((m) => attr(m[0], 'width'));
}

/** The contents of every `<text>` element, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    (m[1] ?? '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

function markerXs(svg: string): number[] {
  return [...svg.matchAll(/<circle[^>]*class="point"[^>]*>/g)].map((m) => attr(m[0], 'cx'));
}

const SNMP_BARS = [
  { label: 'snmpbulkwalk (net-snmp C)', value: 13.6 },
  { label: 'Panoptes-TS engine (inline decode)', value: 2.04, highlight: true },
  { label: 'Panoptes-TS engine (Piscina decode pool)', value: 6.8 },
  { label: 'net-snmp npm session API', value: 3.4 },
];

describe('barChart', () => {
  const svg = barChart({
    title: 'CPU per varbind',
    subtitle: 'test machine',
    unit: 'CPU µs per varbind',
    bars: SNMP_BARS,
    referenceLabel: 'snmpbulkwalk (net-snmp C)',
  });

  it('is a well-formed SVG document with a title and viewBox', () => {
    expect(wellFormedProblems(svg)).toEqual([]);
    expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(svg).toContain('<title>CPU per varbind</title>');
  });

  it('draws bar widths proportional to the values', () => {
    const widths = barWidths(svg);
    expect(widths).toHaveLength(4);
    const [first = 0] = widths;
    SNMP_BARS.forEach((b, i) => {
      expect(widths[i] ?? 0).toBeCloseTo((first * b.value) / 13.6, 1);
    });
    expect(first).toBeGreaterThan(100);
  });

  it('labels each bar with its value and its ratio to the reference', () => {
    const labels = texts(svg);
    expect(labels).toContain('13.6 (1.00x)');
    expect(labels).toContain('2.04 (0.15x)');
    expect(labels).toContain('6.80 (0.50x)');
    expect(labels).toContain('3.40 (0.25x)');
    expect(labels).toContain('in brackets: ratio to snmpbulkwalk (net-snmp C)');
  });

  it('shows no ratios when the reference names no bar or a zero bar', () => {
    for (const referenceLabel of ['nothing', 'zero']) {
      const out = barChart({
        title: 't',
        unit: 'u',
        bars: [
          { label: 'zero', value: 0 },
          { label: 'five', value: 5 },
        ],
        referenceLabel,
      });
      expect(texts(out)).toContain('5');
      expect(out).not.toMatch(/\dx\)/);
    }
  });

  it('highlights the highlighted bar only', () => {
    const fills = [...svg.matchAll(/<rect class="bar"[^>]*fill="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(fills).size).toBe(2);
    expect(fills.filter((f) => f === fills[1])).toHaveLength(1);
  });

  it('escapes text', () => {
    const out = barChart({
      title: 'a <b> & "c"',
      subtitle: "it's <&>",
      unit: 'x<y',
      bars: [{ label: '<script>&amp;', value: 1 }],
      referenceLabel: '<script>&amp;',
    });
    expect(wellFormedProblems(out)).toEqual([]);
    expect(out).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>');
    expect(out).toContain('&lt;script&gt;&amp;amp;');
    expect(out).not.toContain('<script>');
    expect(texts(out)).toContain("it's <&>");
  });

  it('writes no NaN for empty, zero, negative or non-finite values', () => {
    const cases = [
      [],
      [{ label: 'z', value: 0 }],
      [
        { label: 'nan', value: Number.NaN },
        { label: 'inf', value: Number.POSITIVE_INFINITY },
        { label: 'neg', value: -3 },
        { label: 'ok', value: 2 },
      ],
    ];
    for (const bars of cases) {
      const out = barChart({ title: 't', unit: 'u', bars, referenceLabel: 'nan' });
      expect(out).not.toMatch(/NaN|Infinity|undefined/);
      expect(wellFormedProblems(out)).toEqual([]);
    }
    const mixed = barChart({ title: 't', unit: 'u', bars: cases[2] ?? [] });
    // Non-finite values get no bar; the negative one a zero-length bar.
    expect(barWidths(mixed)).toHaveLength(2);
    expect(barWidths(mixed)[0]).toBe(0);
    expect(texts(mixed)).toEqual(expect.arrayContaining(['n/a', '-3', '2']));
  });

  it('stays well-formed and NaN-free for any labels and values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ label: fc.string(), value: fc.double(), highlight: fc.boolean() }), {
          maxLength: 6,
        }),
        fc.string(),
        (bars, title) => {
          const out = barChart({ title, unit: 'u', bars, referenceLabel: bars[0]?.label ?? '' });
          expect(out).not.toContain('NaN');
          expect(wellFormedProblems(out)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic', () => {
    const again = barChart({
      title: 'CPU per varbind',
      subtitle: 'test machine',
      unit: 'CPU µs per varbind',
      bars: SNMP_BARS.map((b) => ({ ...b })),
      referenceLabel: 'snmpbulkwalk (net-snmp C)',
    });
    expect(again).toBe(svg);
  });

  it('leaves room for long labels left of the plot', () => {
    const width = attr(/<svg[^>]*>/.exec(svg)?.[0] ?? '', 'width');
    const firstBar = /<rect class="bar"[^>]*>/.exec(svg)?.[0] ?? '';
    // 40 characters of the longest label at 13 px fit between the edge and the bars.
    expect(attr(firstBar, 'x')).toBeGreaterThanOrEqual(40 * 13 * 0.5);
    expect(width).toBeGreaterThan(attr(firstBar, 'x') + Math.max(...barWidths(svg)));
  });
});

describe('lineChart', () => {
  const series = [
    {
      name: 'varbinds per CPU-second',
      points: [
        { x: 20000, y: 21000 },
        { x: 1000, y: 33399 },
        { x: 5000, y: 30000 },
      ],
    },
    {
      name: 'metrics per CPU-second',
      points: [
        { x: 1000, y: 44546 },
        { x: 5000, y: 41000 },
        { x: 20000, y: 25000 },
      ],
    },
  ];

  it('draws one polyline per series, markers, a legend and ticks at the data x values', () => {
    const svg = lineChart({ title: 'Pipeline', xLabel: 'devices', yLabel: 'per CPU-second', series });
    expect(wellFormedProblems(svg)).toEqual([]);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    const labels = texts(svg);
    expect(labels).toEqual(expect.arrayContaining(['varbinds per CPU-second', 'metrics per CPU-second']));
    expect(labels).toEqual(expect.arrayContaining(['1,000', '5,000', '20,000']));
    expect(labels).toEqual(expect.arrayContaining(['0', '10k', '20k', '30k', '40k', '50k']));
    expect(labels).toEqual(expect.arrayContaining(['33,399', '44,546', 'devices', 'per CPU-second']));
  });

  it('sorts points by x before drawing the line', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: series.slice(0, 1) });
    const points = /<polyline[^>]* points="([^"]*)"/.exec(svg)?.[1] ?? '';
    const xs = points.split(' ').map((p) => Number(p.split(',')[0]));
    expect(xs).toHaveLength(3);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it('places x positions by log10 with logX', () => {
    const decades = [{ name: 's', points: [100000, 10, 1000, 100].map((x) => ({ x, y: 1 })) }];
    const log = markerXs(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: decades }));
    const sorted = [...log].sort((a, b) => a - b);
    const [x10 = 0, x100 = 0, x1000 = 0, x100000 = 0] = sorted;
    // One decade, one equal step: 10 -> 100 -> 1000, and 1000 -> 100000 is two of them.
    expect(x100 - x10).toBeCloseTo(x1000 - x100, 1);
    expect(x100000 - x1000).toBeCloseTo(2 * (x1000 - x100), 1);
    expect(x10).toBeLessThan(x100);
    const linear = markerXs(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: decades }));
    const [l10 = 0, l100 = 0, , l100000 = 0] = [...linear].sort((a, b) => a - b);
    expect(l100 - l10).toBeLessThan((l100000 - l10) / 1000);
    expect(texts(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: decades }))).toContain(
      'x (log scale)',
    );
  });

  it('skips non-finite points, and x <= 0 on a log axis, without writing NaN', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      logX: true,
      series: [
        {
          name: 's',
          points: [
            { x: 0, y: 1 },
            { x: -5, y: 1 },
            { x: 10, y: Number.NaN },
            { x: Number.POSITIVE_INFINITY, y: 1 },
            { x: 100, y: 2 },
            { x: 1000, y: 3 },
          ],
        },
        { name: 'empty', points: [] },
      ],
    });
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    expect(markerXs(svg)).toHaveLength(2);
    expect(texts(svg)).toContain('empty (no data)');
    expect(wellFormedProblems(svg)).toEqual([]);
  });

  it('writes no NaN with no series, one point, or all-zero values', () => {
    const cases = [
      [],
      [{ name: 'one', points: [{ x: 1000, y: 5 }] }],
      [{ name: 'zeros', points: [{ x: 0, y: 0 }] }],
    ];
    for (const s of cases) {
      for (const logX of [false, true]) {
        const out = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX, series: s });
        expect(out).not.toMatch(/NaN|Infinity|undefined/);
        expect(wellFormedProblems(out)).toEqual([]);
      }
    }
  });

  it('leaves out an x tick label that would overlap its neighbour', () => {
    const crowded = [{ name: 's', points: [1000, 1001, 50000].map((x) => ({ x, y: 1 })) }];
    const labels = texts(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: crowded }));
    expect(labels).toContain('1,000');
    expect(labels).not.toContain('1,001');
    expect(labels).toContain('50,000');
  });

  it('is deterministic and independent of point order', () => {
    const a = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series });
    const reversed = series.map((s) => ({ ...s, points: [...s.points].reverse() }));
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: reversed })).toBe(a);
  });
});

describe('helpers', () => {
  it('picks tick steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 13.59).values).toEqual([0, 5, 10, 15]);
    expect(niceTicks(0, 44546).values).toEqual([0, 10000, 20000, 30000, 40000, 50000]);
    expect(niceTicks(0, 0.7).values).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-5000, 44546).step).toBe(10000);
    expect(niceTicks(0, 0).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('formats values and ratios', () => {
    expect(formatValue(9575058.886)).toBe('9,575,059');
    expect(formatValue(13.5897)).toBe('13.6');
    expect(formatValue(2.0417)).toBe('2.04');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(Number.NaN)).toBe('n/a');
    expect(formatRatio(2.0417 / 13.5897)).toBe('0.15x');
    expect(formatRatio(9575058.9 / 1241323.2)).toBe('7.71x');
  });

  it('escapes the five XML specials and drops control characters', () => {
    expect(escapeXml(`<a href="x">&'\u0001`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});

describe('charts main', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'panoptes-charts-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const machine = {
    cpuModel: 'Test CPU',
    cores: 4,
    memoryGiB: 8,
    node: 'v20.0.0',
    platform: 'linux-x64',
    date: '2026-01-02T03:04:05.678Z',
  };
  const row = (bench: string, subject: string, metric: string, value: number | null) => ({
    bench,
    subject,
    metric,
    value,
    unit: 'us',
  });
  const write = (name: string, rows: unknown[]): void => {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ bench: name, machine, notes: {}, rows }));
  };

  it('writes the charts whose results exist and says which it skips', async () => {
    write('snmp', [
      row('snmp', 'snmpbulkwalk', 'cpu_us_per_varbind', 10),
      row('snmp', 'engine-inline', 'cpu_us_per_varbind', 2),
      row('snmp', 'snmp_exporter', 'cpu_us_per_varbind', 5),
      row('snmp', 'new-subject', 'cpu_us_per_varbind', 4),
      row('snmp', 'engine-inline', 'varbinds', 292000),
      row('snmp', 'simulator', 'cpu_us_per_varbind', 1),
    ]);
    write('pipeline', [
      row('pipeline', '20000 devices', 'varbinds per CPU-second', 20000),
      row('pipeline', '1000 devices', 'varbinds per CPU-second', 30000),
      row('pipeline', '1000 devices', 'metrics per CPU-second', 40000),
      row('pipeline', '5000 devices', 'varbinds per CPU-second', 25000),
    ]);
    write('dsl', [row('dsl', 'compiled', 'cpu_ms_per_100k', 10)]);
    const lines: string[] = [];
    const chartsDir = join(dir, 'charts');
    const written = await main({ resultsDir: dir, chartsDir, log: (l) => lines.push(l) });

    expect(written).toEqual([
      join(chartsDir, 'snmp-cpu-per-varbind.svg'),
      join(chartsDir, 'pipeline-throughput.svg'),
    ]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('dsl.svg');
    expect(lines[0]).toContain('resources_per_cpu_second');
    expect(lines[1]).toContain(join(dir, 'consumer.json'));
    expect(lines[2]).toContain(join(dir, 'gnmi.json'));
    expect(lines[3]).toContain(join(dir, 'soak.json'));

    const snmp = readFileSync(join(chartsDir, 'snmp-cpu-per-varbind.svg'), 'utf8');
    expect(wellFormedProblems(snmp)).toEqual([]);
    const labels = texts(snmp);
    expect(labels).toEqual(
      expect.arrayContaining([
        'snmpbulkwalk (net-snmp C)',
        'Panoptes-TS engine (inline decode)',
        'Prometheus snmp_exporter',
        'new-subject',
        '2 (0.20x)',
        '5 (0.50x)',
        'Test CPU, 4 cores, Node v20.0.0, 2026-01-02 03:04 UTC; one run; compare ratios',
      ]),
    );
    expect(barWidths(snmp)).toHaveLength(4);
    expect(snmp).toMatch(/font-weight="bold">Panoptes-TS engine \(inline decode\)</);

    const pipeline = readFileSync(join(chartsDir, 'pipeline-throughput.svg'), 'utf8');
    expect(wellFormedProblems(pipeline)).toEqual([]);
    expect(texts(pipeline)).toEqual(
      expect.arrayContaining(['1,000', '5,000', '20,000', 'devices polled (log scale)']),
    );
    expect(pipeline.match(/<polyline /g)).toHaveLength(1);
  });

  it('rejects a malformed results file with its name', async () => {
    writeFileSync(join(dir, 'snmp.json'), '{"rows": [');
    await expect(main({ resultsDir: dir, chartsDir: join(dir, 'charts'), log: () => {} })).rejects.toThrow(
      join(dir, 'snmp.json'),
    );
    writeFileSync(join(dir, 'snmp.json'), '{"rows": [{"subject": 1}]}');
    await expect(main({ resultsDir: dir, chartsDir: join(dir, 'charts'), log: () => {} })).rejects.toThrow(
      /snmp\.json: malformed results file/,
    );
  });

  it('reads a null value (JSON for NaN) as n/a', async () => {
    write('consumer', [row('consumer', 'influx consumer', 'metrics per CPU-second', null)]);
    const written = await main({ resultsDir: dir, chartsDir: join(dir, 'charts'), log: () => {} });
    expect(written).toHaveLength(1);
    const svg = readFileSync(written[0] ?? '', 'utf8');
    expect(svg).not.toContain('NaN');
    expect(texts(svg)).toContain('n/a');
  });

  it('writes the machine and the one-run caveat in the subtitle', () => {
    expect(subtitle(machine)).toBe(
      'Test CPU, 4 cores, Node v20.0.0, 2026-01-02 03:04 UTC; one run; compare ratios',
    );
    expect(subtitle({})).toBe('one run; compare ratios');
  });
});
