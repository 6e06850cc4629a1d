/**
 * Charts of the benchmark results: reads `bench/results/<name>.json` and writes SVG files to
 * `bench/charts/`.
 *
 *   node --import tsx bench/charts.ts
 *
 * A results file or metric that is missing skips its chart with one line saying so; a results
 * file that is not valid JSON (or not shaped like one `writeResults` writes) is an error naming
 * the file. Importing this module has no side effects.
 */
import { realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DECODE_WORKERS } from '../src/snmp/engine.js';
import { GNMI_REFERENCE, GNMI_SUBJECTS } from './gnmi.bench.js';
import { RESULTS_DIR } from './lib/report.js';
import type { BenchRow, MachineInfo } from './lib/report.js';
import { barChart, lineChart } from './lib/svg.js';
import type { Bar, Series } from './lib/svg.js';

export const CHARTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'charts');

export interface ChartsOptions {
  /** Where the `<bench>.json` files are; `bench/results` by default. */
  readonly resultsDir?: string;
  /** Where the SVG files go (created if missing); `bench/charts` by default. */
  readonly chartsDir?: string;
  /** Receives the one-line notes about skipped charts; `console.log` by default. */
  readonly log?: (line: string) => void;
}

export interface ResultsFile {
  readonly file: string;
  readonly machine: Partial<MachineInfo>;
  readonly rows: readonly BenchRow[];
}

/** The samples of a results file, in time order. */
export function soakSamples(r: ResultsFile): { minute: number; values: Map<string, number> }[] {
  const bySubject = new Map<string, Map<string, number>>();
  for (const x of r.rows) {
    if (!x.subject.startsWith('minute ')) continue;
    let m = bySubject.get(x.subject);
    if (m === undefined) bySubject.set(x.subject, (m = new Map<string, number>()));
    m.set(x.metric, x.value);
  }
  return [...bySubject]
    .map(([subject, values]) => ({ minute: Number(subject.slice(7)), values }))
    .sort((a, b) => a.minute - b.minute);
}

/** At most this many points per soak series: every point is labelled, so more would not read. */
const SOAK_CHART_POINTS = 25;

type SoakSampleRow = ReturnType<typeof soakSamples>[number];

/** Every k-th sample (and the last), so that at most SOAK_CHART_POINTS are drawn. */
export function thinSamples<T>(samples: readonly T[], most: number): T[] {
  const step = Math.max(1, Math.ceil(samples.length / most));
  return samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
}

function soakLine(samples: readonly SoakSampleRow[], name: string, metric: string): Series {
  return {
    name,
    points: thinSamples(samples, SOAK_CHART_POINTS).map((s) => ({
      x: s.minute,
      y: s.values.get(metric) ?? Number.NaN,
    })),
  };
}

function soakXLabel(samples: readonly SoakSampleRow[]): string {
  const step = Math.ceil(samples.length / SOAK_CHART_POINTS);
  return step > 1
    ? `minutes since the node started (one sample in ${step})`
    : 'minutes since the node started';
}

/** Display names of the snmp benchmark's subjects; other subjects show as they are named. */
export const SNMP_SUBJECTS: Readonly<Record<string, string>> = {
  snmpbulkwalk: 'snmpbulkwalk (net-snmp C)',
  'engine-inline': 'Panoptes-TS engine (inline decode)',
  'engine-pool': 'Panoptes-TS engine (Piscina decode pool)',
  'net-snmp': 'net-snmp npm session API',
  snmp_exporter: 'Prometheus snmp_exporter',
};

/** The subject that runs the engine the way it runs by default (`decodeWorkers`). */
const DEFAULT_ENGINE_SUBJECT = DEFAULT_DECODE_WORKERS === 0 ? 'engine-inline' : 'engine-pool';

const DSL_SUBJECTS: Readonly<Record<string, string>> = {
  interpreted: 'interpreted (AST walk)',
  compiled: 'compiled predicate',
};

const CONSUMER_SUBJECTS: Readonly<Record<string, string>> = {
  'influx consumer': 'InfluxDB consumer → VictoriaMetrics',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks the shape `writeResults` writes; a value of `null` (how JSON writes NaN) reads as NaN. */
export function parseResults(file: string, data: unknown): ResultsFile {
  if (!isRecord(data) || !Array.isArray(data['rows'])) {
    throw new Error(`${file}: malformed results file: expected an object with a "rows" array`);
  }
  const rows = data['rows'].map((row: unknown, i): BenchRow => {
    if (
      !isRecord(row) ||
      typeof row['subject'] !== 'string' ||
      typeof row['metric'] !== 'string' ||
      !(typeof row['value'] === 'number' || row['value'] === null)
    ) {
      throw new Error(
        `${file}: malformed results file: row ${i} needs a string subject and metric and a number value`,
      );
    }
    return {
      bench: typeof row['bench'] === 'string' ? row['bench'] : '',
      subject: row['subject'],
      metric: row['metric'],
      value: typeof row['value'] === 'number' ? row['value'] : Number.NaN,
      unit: typeof row['unit'] === 'string' ? row['unit'] : '',
    };
  });
  const m = isRecord(data['machine']) ? data['machine'] : {};
  const machine: { -readonly [K in keyof MachineInfo]?: MachineInfo[K] } = {};
  if (typeof m['cpuModel'] === 'string') machine.cpuModel = m['cpuModel'];
  if (typeof m['cores'] === 'number') machine.cores = m['cores'];
  if (typeof m['node'] === 'string') machine.node = m['node'];
  if (typeof m['date'] === 'string') machine.date = m['date'];
  return { file, machine, rows };
}

/** The results of one benchmark, or undefined if its file does not exist. */
export async function readResults(resultsDir: string, bench: string): Promise<ResultsFile | undefined> {
  const file = join(resultsDir, `${bench}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isRecord(err) && err['code'] === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot read: ${errorMessage(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: malformed JSON: ${errorMessage(err)}`);
  }
  return parseResults(file, data);
}

/** `AMD EPYC, 2 cores, Node v20.20.2, 2026-11-21 07:18 UTC; one run; compare ratios`. */
export function subtitle(machine: Partial<MachineInfo>): string {
  const parts: string[] = [];
  if (machine.cpuModel !== undefined) parts.push(machine.cpuModel);
  if (machine.cores !== undefined) parts.push(`${machine.cores} cores`);
  if (machine.node !== undefined) parts.push(`Node ${machine.node}`);
  if (machine.date !== undefined) {
    const iso = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})[\d:.]*Z$/.exec(machine.date);
    parts.push(iso === null ? machine.date : `${iso[1]} ${iso[2]} UTC`);
  }
  return [parts.join(', '), 'one run; compare ratios'].filter((p) => p !== '').join('; ');
}

function displayUnit(unit: string): string {
  return unit === 'us' ? 'µs' : unit;
}

/** The rows of `metric`, first row per subject (as `printTable` reads them), in file order. */
function metricRows(results: ResultsFile, metric: string): BenchRow[] {
  const seen = new Set<string>();
  return results.rows.filter((r) => {
    if (r.metric !== metric || seen.has(r.subject)) return false;
    seen.add(r.subject);
    return true;
  });
}

type Log = (line: string) => void;

interface ChartSpec {
  readonly file: string;
  readonly bench: string;
  /** The SVG text, or undefined (after logging why) when the results lack what it needs. */
  readonly render: (results: ResultsFile, log: Log) => string | undefined;
}

function missingMetric(log: Log, chart: string, results: ResultsFile, metric: string): undefined {
  log(`charts: skipping ${chart}: no rows of metric "${metric}" in ${results.file}`);
  return undefined;
}

const CHARTS: readonly ChartSpec[] = [
  {
    file: 'snmp-cpu-per-varbind.svg',
    bench: 'snmp',
    render: (results, log) => {
      const metric = 'cpu_us_per_varbind';
      const rows = metricRows(results, metric).filter((r) => r.subject !== 'simulator');
      if (rows.length === 0) return missingMetric(log, 'snmp-cpu-per-varbind.svg', results, metric);
      const bars: Bar[] = rows.map((r) => ({
        label: SNMP_SUBJECTS[r.subject] ?? r.subject,
        value: r.value,
        highlight: r.subject === DEFAULT_ENGINE_SUBJECT,
      }));
      return barChart({
        title: 'SNMP bulk walk: CPU per varbind (lower is better)',
        subtitle: subtitle(results.machine),
        unit: `CPU ${displayUnit(rows[0]?.unit ?? '')} per varbind, polling process only`,
        bars,
        referenceLabel: SNMP_SUBJECTS['snmpbulkwalk'] ?? 'snmpbulkwalk',
      });
    },
  },
  {
    file: 'pipeline-throughput.svg',
    bench: 'pipeline',
    render: (results, log) => {
      const series: Series[] = [];
      for (const metric of ['varbinds per CPU-second', 'metrics per CPU-second']) {
        const rows = metricRows(results, metric);
        if (rows.length === 0) {
          missingMetric(log, 'pipeline-throughput.svg', results, metric);
          continue;
        }
        const points = [];
        for (const r of rows) {
          const count = /^\s*(\d[\d,_]*)/.exec(r.subject)?.[1];
          if (count === undefined) {
            log(
              `charts: pipeline-throughput.svg: no device count in subject "${r.subject}" of ${results.file}`,
            );
            continue;
          }
          points.push({ x: Number(count.replace(/[,_]/g, '')), y: r.value });
        }
        points.sort((a, b) => a.x - b.x);
        series.push({ name: metric, points });
      }
      if (series.length === 0) return undefined;
      const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
      const logX = xs.length > 0 && Math.max(...xs) > 10 * Math.min(...xs);
      return lineChart({
        title: 'Pipeline: throughput per CPU-second of the poller (higher is better)',
        subtitle: subtitle(results.machine),
        xLabel: 'devices polled',
        yLabel: 'per CPU-second',
        logX,
        series,
      });
    },
  },
  {
    file: 'dsl.svg',
    bench: 'dsl',
    render: (results, log) => {
      const metric = 'resources_per_cpu_second';
      const rows = metricRows(results, metric);
      if (rows.length === 0) return missingMetric(log, 'dsl.svg', results, metric);
      return barChart({
        title: 'Resource filter DSL: resources filtered per CPU-second (higher is better)',
        subtitle: subtitle(results.machine),
        unit: 'resources per CPU-second',
        bars: rows.map((r) => ({
          label: DSL_SUBJECTS[r.subject] ?? r.subject,
          value: r.value,
          highlight: r.subject === 'compiled',
        })),
        referenceLabel: DSL_SUBJECTS['interpreted'] ?? 'interpreted',
      });
    },
  },
  {
    file: 'consumer.svg',
    bench: 'consumer',
    render: (results, log) => {
      const metric = 'metrics per CPU-second';
      const rows = metricRows(results, metric);
      if (rows.length === 0) return missingMetric(log, 'consumer.svg', results, metric);
      return barChart({
        title: 'Consumer: metrics written per CPU-second of the consumer (higher is better)',
        subtitle: subtitle(results.machine),
        unit: 'metrics per CPU-second (Kafka → parse, validate, line protocol → write)',
        bars: rows.map((r) => ({ label: CONSUMER_SUBJECTS[r.subject] ?? r.subject, value: r.value })),
      });
    },
  },
  {
    file: 'gnmi-cpu-per-interface-sample.svg',
    bench: 'gnmi',
    render: (results, log) => {
      const metric = 'CPU per interface sample';
      const rows = metricRows(results, metric);
      if (rows.length === 0) return missingMetric(log, 'gnmi-cpu-per-interface-sample.svg', results, metric);
      return barChart({
        title: 'gNMI beside SNMP: CPU per interface sample (lower is better)',
        subtitle: subtitle(results.machine),
        unit: `CPU ${displayUnit(rows[0]?.unit ?? '')} per interface group with its rates, client process only`,
        bars: rows.map((r) => ({
          label: r.subject,
          value: r.value,
          highlight: r.subject === GNMI_SUBJECTS['gnmi-json']?.label,
        })),
        referenceLabel: GNMI_REFERENCE,
      });
    },
  },
  {
    file: 'soak.svg',
    bench: 'soak',
    render: (results, log) => {
      const samples = soakSamples(results);
      if (samples.length === 0) return missingMetric(log, 'soak.svg', results, 'rss');
      return lineChart({
        title: 'Soak: memory over time (flat is good)',
        subtitle: subtitle(results.machine),
        xLabel: soakXLabel(samples),
        yLabel: 'MiB',
        series: [soakLine(samples, 'RSS', 'rss'), soakLine(samples, 'V8 heap used (after GC)', 'heap')],
      });
    },
  },
  {
    file: 'soak-handles.svg',
    bench: 'soak',
    render: (results, log) => {
      const samples = soakSamples(results);
      if (samples.length === 0) return missingMetric(log, 'soak-handles.svg', results, 'handles');
      return lineChart({
        title: 'Soak: active handles and consumer lag over time (flat is good)',
        subtitle: subtitle(results.machine),
        xLabel: soakXLabel(samples),
        yLabel: 'count',
        series: [
          soakLine(samples, 'active handles and requests', 'handles'),
          soakLine(samples, 'bus consumer lag (messages)', 'lag'),
        ],
      });
    },
  },
];

/** Writes every chart whose results are there; returns the paths written. */
export async function main(options: ChartsOptions = {}): Promise<string[]> {
  const resultsDir = options.resultsDir ?? RESULTS_DIR;
  const chartsDir = options.chartsDir ?? CHARTS_DIR;
  const log = options.log ?? ((line: string) => console.log(line));
  const written: string[] = [];
  // One line per missing results file, naming every chart it would have drawn.
  const missing = new Set<string>();
  for (const chart of CHARTS) {
    if (missing.has(chart.bench)) continue;
    const results = await readResults(resultsDir, chart.bench);
    if (results === undefined) {
      missing.add(chart.bench);
      const files = CHARTS.filter((c) => c.bench === chart.bench).map((c) => c.file);
      log(`charts: skipping ${files.join(', ')}: ${join(resultsDir, `${chart.bench}.json`)} not found`);
      continue;
    }
    const svg = chart.render(results, log);
    if (svg === undefined) continue;
    await mkdir(chartsDir, { recursive: true });
    const path = join(chartsDir, chart.file);
    await writeFile(path, svg);
    written.push(path);
  }
  return written;
}

function runDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(resolve(script)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (runDirectly()) {
  try {
    for (const path of await main()) console.log(path);
  } catch (err) {
    console.error(errorMessage(err));
    process.exitCode = 1;
  }
}
