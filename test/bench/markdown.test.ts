/** bench/markdown.ts: BENCHMARKS.md's figures written from results files, between markers. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesText, main, num } from '../../bench/markdown.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'panoptes-markdown-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const MACHINE = { cpuModel: 'Test CPU', cores: 2, node: 'v20.0.0', date: '2026-01-02T03:04:05.000Z' };

function results(bench: string, rows: [string, string, number][]): void {
  writeFileSync(
    join(dir, `${bench}.json`),
    JSON.stringify({
      bench,
      machine: MACHINE,
      notes: {},
      rows: rows.map(([subject, metric, value]) => ({ bench, subject, metric, value, unit: 'x' })),
    }),
  );
}

const SECTIONS = [
  'dsl',
  'actors',
  'snmp',
  'pipeline',
  'device-metrics',
  'consumer',
  'startup',
  'compare',
  'walk',
  'checkpoint',
  'federation',
  'gnmi',
  'soak',
];

function page(body = 'old figures'): string {
  const file = join(dir, 'BENCHMARKS.md');
  writeFileSync(
    file,
    `# Benchmarks\n\n${SECTIONS.map((s) => `## ${s}\n\n<!-- results:${s} -->\n${body}\n<!-- /results:${s} -->\n`).join('\n')}`,
  );
  return file;
}

function snmp(engine: number, exporter: number): void {
  const subject = (name: string, cpu: number): [string, string, number][] => [
    [name, 'cpu_us_per_varbind', cpu],
    [name, 'varbinds', 1000],
    [name, 'errors', 0],
  ];
  results('snmp', [
    ...subject('snmpbulkwalk', 10),
    ...subject('engine-inline', engine),
    ...subject('snmp_exporter', exporter),
  ]);
}

function pipeline(devices: number, perCore: number, runs: number, skipped = 0): void {
  const s = `${devices} devices`;
  results('pipeline', [
    [s, 'interval', 120],
    [s, 'load', devices / 2],
    [s, 'devices one core keeps at 60 s', perCore],
    [s, 'plugin runs per window', runs],
    [s, 'ticks skipped (run still in flight)', skipped],
    [s, 'CPU per plugin run', 2],
    [s, 'RSS per device', 104_857.6],
    ['1000 devices', 'CPU per plugin run', 2.9],
    ['1000 devices', 'load', 1000],
    ['1000 devices', 'devices one core keeps at 60 s', 99_999],
  ]);
}

describe('BENCHMARKS.md figures', () => {
  it('writes each section from its results, with ratios and verdicts, and leaves the rest of the page', async () => {
    const file = page();
    snmp(2, 20);
    pipeline(20_000, 12_000, 40_000);
    const lines: string[] = [];
    const written = await main({ resultsDir: dir, file, log: (l) => lines.push(l) });
    expect(written).toEqual(['snmp', 'pipeline']);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# Benchmarks\n')).toBe(true);
    expect(text).toContain(
      'From `bench/results/snmp.json` (Test CPU, 2 cores, Node v20.0.0, 2026-01-02 03:04 UTC',
    );
    expect(text).toMatch(/\| Panoptes-TS engine \(inline decode\) +\| +2 \|.*\| +0\.20x \|/);
    expect(text).toContain('2 against 10 us, 0.20x, **met**');
    expect(text).toContain('2 against 20 us, 0.10x, **met**');
    // The verdict is read at the heaviest load, not at the best figure (99,999 at 1000 devices).
    expect(text).toContain(
      '(20000 devices every 120 s, 10,000 devices per 60 s) the poller completed every run',
    );
    expect(text).toContain('at 12,000 devices per core: **met**');
    expect(text).toContain('25,000 devices per core at 60 s: 12,000, **not met**');
    expect(text).toContain(
      'lightest load (1000 devices) within 1.5x of the heaviest: 2.9 against 2 ms, 1.45x, **met**',
    );
    expect(text).toContain('1,000 MiB RSS per 10,000 devices');
    // Sections without results keep what they held, and say so.
    expect(text.match(/old figures/g)).toHaveLength(SECTIONS.length - 2);
    expect(lines.join('\n')).toContain('no bench/results/dsl.json');
    // Running again gives the same page.
    await main({ resultsDir: dir, file, log: () => {} });
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('says "not met" when a goal is missed or the poller fell behind', async () => {
    const file = page();
    snmp(16, 20);
    pipeline(20_000, 15_000, 30_000);
    await main({ resultsDir: dir, file, log: () => {} });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('16 against 10 us, 1.60x, **not met**');
    expect(text).toContain('16 against 20 us, 0.80x, **not met**');
    expect(text).toContain(
      'completed 30,000 of 40,000 runs per interval at 15,000 devices per core: **not met**',
    );
    pipeline(20_000, 15_000, 40_000, 3);
    await main({ resultsDir: dir, file, log: () => {} });
    expect(readFileSync(file, 'utf8')).toContain('**not met**');
  });

  it('writes the device-metrics section: per device run, with and without, and the ratio', async () => {
    const file = page();
    const rows: [string, string, number][] = [];
    for (const [s, cpu, varbinds, groups] of [
      ['interface only', 2, 291, 25],
      ['with device metrics', 3, 330, 31],
    ] as const) {
      rows.push(
        [s, 'CPU per device run', cpu],
        [s, 'varbinds per device run', varbinds],
        [s, 'groups per device run', groups],
        [s, 'interval', 15],
      );
    }
    results('device-metrics', rows);
    const written = await main({ resultsDir: dir, file, log: () => {} });
    expect(written).toEqual(['device-metrics']);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('From `bench/results/device-metrics.json` (Test CPU');
    expect(text).toMatch(/\| CPU ms per device run \(median window\) +\| +2 \| +3 \| +1\.50x \|/);
    expect(text).toMatch(/\| varbinds per device run +\| +291 \| +330 \| +1\.13x \|/);
    expect(text).toMatch(/\| interval \(s\) +\| +15 \| +15 \| +1\.00x \|/);
    expect(text).toContain('- Device metrics add 1 CPU ms per device run to 2 for interfaces alone (+50%).');
    expect(text).not.toContain('best window');
  });

  it('writes the startup section: wall and CPU per command, the ratio to node, and the 150 ms goal', async () => {
    const file = page();
    results('startup', [
      ['node -e 0', 'wall', 50],
      ['node -e 0', 'cpu', 40],
      ['panoptes --help', 'wall', 100],
      ['panoptes --help', 'cpu', 90],
      ['panoptes validate resources', 'wall', 200],
      ['panoptes validate resources', 'cpu', 180],
    ]);
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['startup']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\| `panoptes --help` +\| +100 \| +90 \| +2\.00x \|/);
    expect(text).toContain('`panoptes --help` within 150 ms wall: 100 ms, **met**');
    expect(text).toContain('`panoptes validate resources` within 150 ms wall: 200 ms, **not met**');
    // A subject not measured gets no verdict.
    expect(text).not.toContain('`panoptes validate profiles` within');
  });

  it('writes the compare section: every system, and the two goals from the ratios', async () => {
    const file = page();
    results('compare', [
      ['panoptes', 'CPU per device poll', 4],
      ['collectd', 'CPU per device poll', 2],
      ['snmp_exporter + Prometheus', 'CPU per device poll', 10],
      ['panoptes', 'CPU ratio to snmp_exporter + Prometheus (goal <= 0.5)', 0.4],
      ['panoptes', 'CPU ratio to collectd (goal <= 1)', 2],
    ]);
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['compare']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\| CPU per device poll \(x\) +\| +4 \| +2 \| +10 \|/);
    expect(text).toContain('half the CPU per device poll of snmp_exporter + Prometheus: 0.4x, **met**');
    expect(text).toContain("at most collectd's CPU per device poll: 2x, **not met**");
    expect(text).not.toMatch(/\| CPU ratio/);
  });

  it('writes the walk section: every command, and the two goals from the ratios', async () => {
    const file = page();
    results('walk', [
      ['snmpbulkwalk', 'CPU per run', 120],
      ['panoptes snmp walk', 'CPU per run', 600],
      ['engine serial walk', 'CPU per varbind', 2],
      ['panoptes snmp walk', 'CPU ratio to snmpbulkwalk (goal <= 1.5)', 5],
      ['engine serial walk', 'CPU per varbind ratio to snmpbulkwalk (goal <= 1)', 0.9],
    ]);
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['walk']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\| CPU per run \(x\) +\| +120 \| +600 \| +n\/a \|/);
    expect(text).toContain("`panoptes snmp walk` within 1.5x of snmpbulkwalk's CPU: 5x, **not met**");
    expect(text).toContain("serial walk at or below snmpbulkwalk's CPU per varbind: 0.9x, **met**");
    expect(text).not.toMatch(/\| CPU per varbind ratio/);
  });

  it('writes the consumer section with its goal', async () => {
    const file = page();
    results('consumer', [['influx consumer', 'groups per CPU-second', 3500]]);
    await main({ resultsDir: dir, file, log: () => {} });
    expect(readFileSync(file, 'utf8')).toContain(
      '20,000 metrics groups per CPU-second from Kafka records to line protocol: 3,500, **not met**',
    );
  });

  it('writes the checkpoint section: every figure, and the cores saving takes', async () => {
    const file = page();
    results('checkpoint', [
      ['encode', 'CPU per device (this process)', 85],
      ['save', 'CPU per device (this process)', 150],
      ['save', 'cores at 20,000 devices every 60 s', 0.0579],
    ]);
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['checkpoint']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\| CPU per device \(this process\) \(x\) +\| +85 \| +150 \|/);
    expect(text).toContain(
      "Saving every device's counter history at 20,000 devices every 60 s: 0.0579 of a core",
    );
  });

  it('writes the federation section: what was measured, then the fleet, bytes in binary units', async () => {
    const file = page();
    const rows = [
      ['measured', 'edges', 4, 'processes'],
      ['measured', 'payload upstream per device-interval', 9216, 'bytes'],
      ['100 sites x 10,000 devices at 60 s', 'gzip upstream per site', 3 * 1024 * 1024, 'bytes/s'],
      ['100 sites x 10,000 devices at 60 s', 'spool per site for a 4-hour outage', 40.5 * 1024 ** 3, 'bytes'],
    ].map(([subject, metric, value, unit]) => ({ bench: 'federation', subject, metric, value, unit }));
    writeFileSync(
      join(dir, 'federation.json'),
      JSON.stringify({ bench: 'federation', machine: MACHINE, notes: {}, rows }),
    );
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['federation']);
    const text = readFileSync(file, 'utf8');
    const cell = (metric: string, shown: string): RegExp =>
      new RegExp(`\\| ${metric} +\\| +${shown.replace('.', '\\.')} \\|`);
    expect(text).toMatch(cell('edges', '4 processes'));
    expect(text).toMatch(cell('payload upstream per device-interval', '9 KiB'));
    expect(text).toMatch(cell('gzip upstream per site', '3 MiB/s'));
    expect(text).toMatch(cell('spool per site for a 4-hour outage', '40.5 GiB'));
    expect(text.indexOf('**measured**')).toBeLessThan(text.indexOf('**100 sites x 10,000 devices at 60 s**'));
  });

  it('writes the gnmi section: gNMI and SNMP side by side with the ratio', async () => {
    const file = page();
    const gnmi = 'gNMI, 1000 devices x 24 interfaces, 10 s';
    const snmpSubject = 'SNMP, 1000 devices x 24 interfaces, 10 s';
    const rows = [
      [gnmi, 'CPU per device and interval', 6, 'ms'],
      [snmpSubject, 'CPU per device and interval', 4, 'ms'],
      [gnmi, 'interface groups per CPU-second', 3000, 'per CPU-second'],
      [snmpSubject, 'interface groups per CPU-second', 6000, 'per CPU-second'],
    ].map(([subject, metric, value, unit]) => ({ bench: 'gnmi', subject, metric, value, unit }));
    writeFileSync(
      join(dir, 'gnmi.json'),
      JSON.stringify({ bench: 'gnmi', machine: MACHINE, notes: {}, rows }),
    );
    expect(await main({ resultsDir: dir, file, log: () => {} })).toEqual(['gnmi']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\| CPU per device and interval \(ms\) +\| +6 \| +4 \| +1\.50x \|/);
    expect(text).toMatch(
      /\| interface groups per CPU-second \(per CPU-second\) +\| +3,000 \| +6,000 \| +0\.50x \|/,
    );
  });

  it('bytesText: binary units from B to TiB', () => {
    expect(bytesText(512)).toBe('512 B');
    expect(bytesText(1536)).toBe('1.5 KiB');
    expect(bytesText(5 * 1024 ** 4)).toBe('5 TiB');
    expect(bytesText(2048, true)).toBe('2 KiB/s');
    expect(bytesText(1023 * 1024 ** 5)).toBe('1,047,552 TiB');
  });

  it('names the page when a marker is missing or unclosed', async () => {
    const file = join(dir, 'BENCHMARKS.md');
    writeFileSync(file, '# Benchmarks\n\n<!-- results:dsl -->\n');
    await expect(main({ resultsDir: dir, file, log: () => {} })).rejects.toThrow(
      `${file}: missing or unclosed "<!-- results:dsl -->"`,
    );
  });

  it('formats numbers: thousands whole, smaller ones to three significant digits', () => {
    expect(num(999.7)).toBe('1,000');
    expect([num(12345.6), num(123.4), num(12.345), num(0.01234), num(0), num(NaN), num(undefined)]).toEqual([
      '12,346',
      '123',
      '12.3',
      '0.0123',
      '0',
      'n/a',
      'n/a',
    ]);
  });
});
