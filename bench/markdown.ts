/**
 * The figures of BENCHMARKS.md, written from `bench/results/<name>.json`: each benchmark's table
 * and its verdict against the goals go between `<!-- results:NAME -->` and
 * `<!-- /results:NAME -->` in BENCHMARKS.md, so every figure there comes from the last run of
 * `npm run bench` and nothing is copied by hand. The prose around the markers says what each
 * benchmark measures and carries no figures.
 *
 * A benchmark without a results file keeps what its section holds and is named in the log; a
 * marker that is missing or unclosed is an error naming BENCHMARKS.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { readResults, SNMP_SUBJECTS, soakSamples, subtitle, thinSamples } from './charts.js';
import type { ResultsFile } from './charts.js';
import { GNMI_REFERENCE } from './gnmi.bench.js';
import { RESULTS_DIR } from './lib/report.js';
import { STARTUP_GOAL_MS } from './startup.bench.js';
import { WALK_CLI_GOAL } from './walk.bench.js';

export const BENCHMARKS_MD = join(dirname(fileURLToPath(import.meta.url)), '..', 'BENCHMARKS.md');

/** Goals from the project's brief. */
export const GOALS = {
  /** CPU per varbind of the engine at most this many times snmpbulkwalk's. */
  snmpVsBulkwalk: 1.5,
  /** ... and at most this share of snmp_exporter's. */
  snmpVsExporter: 0.5,
  /** Devices of 24 interfaces one core keeps on a 60 s interval. */
  devicesPerCore: 10_000,
  /** ... the second round's goal. */
  devicesPerCoreRoundTwo: 25_000,
  /** CPU per plugin run at the lightest load at most this many times the heaviest load's. */
  lightToHeavyRun: 1.5,
  /** Metrics groups from Kafka records to line protocol per CPU-second of the consumer. */
  consumerGroupsPerCpuSecond: 20_000,
} as const;

type Row = readonly string[];

function table(header: Row, rows: readonly Row[], align: readonly ('l' | 'r')[]): string {
  const line = (cells: Row): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** 12,345 / 123.4 / 1.23 / 0.0123: whole numbers from 1000, else three significant digits. */
export function num(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  // From 999.5 up, as it rounds to 1,000 or more.
  if (Math.abs(v) >= 999.5) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (v === 0) return '0';
  return Number(v.toPrecision(3)).toString();
}

function value(r: ResultsFile, subject: string, metric: string): number | undefined {
  return r.rows.find((x) => x.subject === subject && x.metric === metric)?.value;
}

function subjects(r: ResultsFile): string[] {
  return [...new Set(r.rows.map((x) => x.subject))];
}

const verdict = (met: boolean): string => (met ? '**met**' : '**not met**');

function source(r: ResultsFile, name: string): string {
  return `From \`bench/results/${name}.json\` (${subtitle(r.machine)}).`;
}

function snmpSection(r: ResultsFile): string {
  const ref = value(r, 'snmpbulkwalk', 'cpu_us_per_varbind');
  const rows = subjects(r)
    .filter((s) => s !== 'simulator')
    .map((s) => {
      const cpu = value(r, s, 'cpu_us_per_varbind');
      return [
        SNMP_SUBJECTS[s] ?? s,
        num(cpu),
        num(value(r, s, 'user_us_per_varbind')),
        num(value(r, s, 'system_us_per_varbind')),
        num(value(r, s, 'varbinds')),
        num(value(r, s, 'errors')),
        cpu === undefined || ref === undefined || ref === 0 ? 'n/a' : `${(cpu / ref).toFixed(2)}x`,
      ];
    });
  const out = [
    source(r, 'snmp'),
    '',
    table(
      ['subject', 'CPU us per varbind', 'user', 'system', 'varbinds', 'errors', 'ratio to snmpbulkwalk'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  ];
  const engine = value(r, 'engine-inline', 'cpu_us_per_varbind');
  const exporter = value(r, 'snmp_exporter', 'cpu_us_per_varbind');
  if (engine !== undefined && ref !== undefined && exporter !== undefined) {
    out.push(
      '',
      `- Goal: CPU per varbind within ${GOALS.snmpVsBulkwalk}x of \`snmpbulkwalk\`: ` +
        `${num(engine)} against ${num(ref)} us, ${(engine / ref).toFixed(2)}x, ` +
        `${verdict(engine <= GOALS.snmpVsBulkwalk * ref)}.`,
      `- Goal: at most half of \`snmp_exporter\`'s: ${num(engine)} against ${num(exporter)} us, ` +
        `${(engine / exporter).toFixed(2)}x, ${verdict(engine <= GOALS.snmpVsExporter * exporter)}.`,
    );
  }
  const sim = value(r, 'simulator', 'simulator_varbinds_per_cpu_second');
  if (sim !== undefined) {
    out.push(`- The simulator answered ${num(sim)} varbinds per CPU-second of its own over the whole run.`);
  }
  return out.join('\n');
}

const PIPELINE_ROWS: readonly (readonly [string, string])[] = [
  ['interval', 'interval (s)'],
  ['load', 'load (devices per 60 s)'],
  ['CPU use in the median window', 'CPU used (cores)'],
  ['varbinds per CPU-second', 'varbinds per CPU-second'],
  ['metrics per CPU-second', 'metrics per CPU-second'],
  ['groups per CPU-second', 'metrics groups per CPU-second'],
  ['CPU per plugin run', 'CPU ms per plugin run (median window)'],
  ['CPU per plugin run, best window', 'CPU ms per plugin run, best window'],
  ['CPU per plugin run, worst window', 'CPU ms per plugin run, worst window'],
  ['devices one core keeps at 60 s', 'devices one core keeps at 60 s'],
  ['measured windows', 'intervals measured'],
  ['plugin runs per window', 'plugin runs per interval (median window)'],
  ['ticks skipped (run still in flight)', 'ticks skipped (run still in flight)'],
  ['heap per device', 'heap per device (bytes, after GC)'],
  ['RSS per device', 'RSS per device (bytes)'],
];

function fleetSize(subject: string): number {
  return Number(/^(\d+)/.exec(subject)?.[1] ?? NaN);
}

function pipelineSection(r: ResultsFile): string {
  const fleets = subjects(r).sort((a, b) => fleetSize(a) - fleetSize(b));
  const rows = PIPELINE_ROWS.filter(([metric]) => fleets.some((f) => value(r, f, metric) !== undefined)).map(
    ([metric, label]) => [label, ...fleets.map((f) => num(value(r, f, metric)))],
  );
  const out = [
    source(r, 'pipeline'),
    '',
    table(['', ...fleets], rows, ['l', ...fleets.map(() => 'r' as const)]),
  ];
  // The verdict comes from the heaviest load measured, and only if it was kept up with.
  const heaviest = [...fleets].sort((a, b) => (value(r, a, 'load') ?? 0) - (value(r, b, 'load') ?? 0)).at(-1);
  if (heaviest !== undefined) {
    const perCore = value(r, heaviest, 'devices one core keeps at 60 s') ?? 0;
    const load = value(r, heaviest, 'load') ?? 0;
    const runs = value(r, heaviest, 'plugin runs per window') ?? 0;
    const skipped = value(r, heaviest, 'ticks skipped (run still in flight)') ?? 0;
    const interval = value(r, heaviest, 'interval') ?? 0;
    const expected = fleetSize(heaviest) * 2;
    const keptUp = skipped === 0 && runs >= 0.99 * expected;
    out.push(
      '',
      `- Goal: one core sustains ${GOALS.devicesPerCore.toLocaleString('en-US')} devices x 24 interfaces ` +
        `on a 60 s interval. At the heaviest load measured (${heaviest} every ${num(interval)} s, ` +
        `${num(load)} devices per 60 s) the poller ${keptUp ? 'completed every run' : `completed ${num(runs)} of ${num(expected)} runs per interval`} ` +
        `at ${num(perCore)} devices per core: ${verdict(keptUp && perCore >= GOALS.devicesPerCore)}.`,
      `- Goal (second round): ${GOALS.devicesPerCoreRoundTwo.toLocaleString('en-US')} devices per core at ` +
        `60 s: ${num(perCore)}, ${verdict(keptUp && perCore >= GOALS.devicesPerCoreRoundTwo)}.`,
    );
    const lightest = [...fleets].sort((a, b) => (value(r, a, 'load') ?? 0) - (value(r, b, 'load') ?? 0))[0];
    const light = lightest === undefined ? undefined : value(r, lightest, 'CPU per plugin run');
    const heavy = value(r, heaviest, 'CPU per plugin run');
    if (lightest !== undefined && lightest !== heaviest && light !== undefined && heavy !== undefined) {
      const ratio = light / heavy;
      out.push(
        `- Goal: CPU per plugin run at the lightest load (${lightest}) within ${GOALS.lightToHeavyRun}x of ` +
          `the heaviest: ${num(light)} against ${num(heavy)} ms, ${ratio.toFixed(2)}x, ` +
          `${verdict(ratio <= GOALS.lightToHeavyRun)}.`,
      );
    }
    const rss = value(r, heaviest, 'RSS per device');
    if (rss !== undefined) {
      out.push(`- Memory at the heaviest load: ${num((rss * 10_000) / 2 ** 20)} MiB RSS per 10,000 devices.`);
    }
  }
  return out.join('\n');
}

/** The consumer run: its figures, and the goal in metrics groups per CPU-second. */
function consumerSection(r: ResultsFile): string {
  const perCpu = value(r, 'influx consumer', 'groups per CPU-second');
  const goal = GOALS.consumerGroupsPerCpuSecond;
  return [
    plainSection(r, 'consumer'),
    '',
    `- Goal: ${goal.toLocaleString('en-US')} metrics groups per CPU-second from Kafka records to line ` +
      `protocol: ${num(perCpu)}, ${verdict(perCpu !== undefined && perCpu >= goal)}.`,
  ].join('\n');
}

const DEVICE_METRICS_ROWS: readonly (readonly [string, string])[] = [
  ['CPU per device run', 'CPU ms per device run (median window)'],
  ['CPU per device run, best window', 'CPU ms per device run, best window'],
  ['CPU per device run, worst window', 'CPU ms per device run, worst window'],
  ['plugins per device', 'plugins per device'],
  ['varbinds per device run', 'varbinds per device run'],
  ['groups per device run', 'metrics groups per device run'],
  ['interval', 'interval (s)'],
  ['load', 'load (devices per 60 s)'],
  ['CPU use in the median window', 'CPU used (cores)'],
  ['device runs per window', 'device runs per interval (median window)'],
  ['ticks skipped (run still in flight)', 'ticks skipped (run still in flight)'],
  ['heap per device', 'heap per device (bytes, after GC)'],
];

/** Interface polling alone against interface polling with device metrics, per device run. */
function deviceMetricsSection(r: ResultsFile): string {
  const only = 'interface only';
  const both = 'with device metrics';
  const ratio = (metric: string): string => {
    const a = value(r, only, metric);
    const b = value(r, both, metric);
    return a === undefined || b === undefined || a === 0 ? 'n/a' : `${(b / a).toFixed(2)}x`;
  };
  const rows = DEVICE_METRICS_ROWS.filter(([metric]) =>
    [only, both].some((s) => value(r, s, metric) !== undefined),
  ).map(([metric, label]) => [
    label,
    num(value(r, only, metric)),
    num(value(r, both, metric)),
    ratio(metric),
  ]);
  const out = [source(r, 'device-metrics'), '', table(['', only, both, 'ratio'], rows, ['l', 'r', 'r', 'r'])];
  const a = value(r, only, 'CPU per device run');
  const b = value(r, both, 'CPU per device run');
  if (a !== undefined && b !== undefined && a > 0) {
    out.push(
      '',
      `- Device metrics add ${num(b - a)} CPU ms per device run to ${num(a)} for interfaces alone ` +
        `(${b >= a ? '+' : ''}${Math.round((100 * (b - a)) / a)}%).`,
    );
  }
  return out.join('\n');
}

/** A table of every metric of every subject, for the benchmarks with one or two subjects. */
function plainSection(r: ResultsFile, name: string): string {
  const list = subjects(r);
  const metrics = [...new Set(r.rows.map((x) => x.metric))];
  const unit = (m: string): string => r.rows.find((x) => x.metric === m)?.unit ?? '';
  const rows = metrics.map((m) => [`${m} (${unit(m)})`, ...list.map((s) => num(value(r, s, m)))]);
  return [source(r, name), '', table(['', ...list], rows, ['l', ...list.map(() => 'r' as const)])].join('\n');
}

function dslSection(r: ResultsFile): string {
  const compiled = value(r, 'compiled', 'cpu_ms_per_100k');
  const interpreted = value(r, 'interpreted', 'cpu_ms_per_100k');
  const out = [plainSection(r, 'dsl')];
  if (compiled !== undefined && interpreted !== undefined) {
    out.push(
      '',
      `- The compiled predicate is ${(interpreted / compiled).toFixed(1)}x as fast as the interpreter.`,
      `- Goal: 100,000 resources well under 100 ms: ${num(compiled)} CPU ms, ${verdict(compiled < 100)}.`,
    );
  }
  return out.join('\n');
}

function actorsSection(r: ResultsFile): string {
  const bytes = value(r, 'resource-actors', 'bytes_per_actor');
  const p99 = value(r, 'resource-actors', 'lateness_p99');
  const out = [plainSection(r, 'actors')];
  if (bytes !== undefined && p99 !== undefined) {
    out.push(
      '',
      `- Goal: under 2 KB of heap per resource actor: ${num(bytes)} bytes, ${verdict(bytes < 2048)}.`,
      `- Goal: scheduling lateness p99 under 50 ms: ${num(p99)} ms, ${verdict(p99 < 50)}.`,
    );
  }
  return out.join('\n');
}

/** The soak run's default length: a shorter run says so. */
const SOAK_DEFAULT_MINUTES = 60;

function soakSection(r: ResultsFile): string {
  const run = (metric: string): number | undefined => value(r, 'run', metric);
  const samples = soakSamples(r);
  const minutes = run('minutes') ?? 0;
  const out = [
    source(r, 'soak'),
    '',
    `Run: ${num(run('devices'))} devices x 24 interfaces every ${num(run('interval'))} s for ` +
      `${num(minutes)} minutes, sampled every ${num(run('sample every'))} s (${num(run('samples'))} samples; ` +
      `the first ${num(run('warm-up samples left out'))} are the warm-up, left out of the trends, which ` +
      `fit the ${num(run('fitted span'))} minutes from minute ${num(run('fitted from minute'))}).`,
  ];
  if (minutes < SOAK_DEFAULT_MINUTES) {
    out.push(
      '',
      `**These figures are from a short run of ${num(minutes)} minutes**, not the default hour ` +
        `(\`npm run bench -- soak\` runs ${SOAK_DEFAULT_MINUTES} minutes); a slope over a few minutes ` +
        'says little about an hour.',
    );
  }
  out.push(
    '',
    table(
      ['minute', 'RSS MiB', 'heap MiB', 'handles', 'consumer lag', 'groups published', 'CPU (cores)'],
      thinSamples(samples, 13).map((s) => [
        num(s.minute),
        num(s.values.get('rss')),
        num(s.values.get('heap')),
        num(s.values.get('handles')),
        num(s.values.get('lag')),
        num(s.values.get('groups')),
        num(s.values.get('cpu')),
      ]),
      ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    table(
      [
        'after the warm-up',
        'slope per hour',
        'mean',
        'noise (residual stddev)',
        'drift over the span',
        'verdict',
      ],
      (
        [
          ['RSS', 'rss', 'MiB'],
          ['V8 heap used', 'heap', 'MiB'],
          ['active handles', 'handles', ''],
        ] as const
      ).map(([label, metric, unit]) => {
        const u = unit === '' ? '' : ` ${unit}`;
        const flat = value(r, 'trend', `${metric} flat`);
        return [
          label,
          `${num(value(r, 'trend', `${metric} slope`))}${u}/h`,
          `${num(value(r, 'trend', `${metric} mean`))}${u}`,
          `${num(value(r, 'trend', `${metric} noise`))}${u}`,
          `${num(value(r, 'trend', `${metric} drift over span`))}${u}`,
          flat === undefined ? 'n/a' : flat === 1 ? '**flat within noise**' : '**grows**',
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
    '- Verdict: flat within noise when |slope x fitted span| is at most twice the noise (the ' +
      'standard deviation of the residuals around the least-squares line); otherwise it grows (or shrinks).',
    `- The poller skipped ${num(run('ticks skipped (run still in flight)'))} ticks (a run still in flight) ` +
      `and published ${num(run('groups per interval after warm-up'))} groups per interval after the warm-up ` +
      `(${num((run('groups per interval after warm-up') ?? 0) / Math.max(1, run('devices') ?? 1))} per device: ` +
      'its interfaces and its device-level groups); this process used ' +
      `${num(run('mean CPU after warm-up'))} cores on average.`,
  );
  return out.join('\n');
}

/** Start-up: one row per command, wall and CPU, and the verdict for --help and validate. */
function startupSection(r: ResultsFile): string {
  const floor = value(r, 'node -e 0', 'wall');
  const rows = subjects(r).map((s) => {
    const wall = value(r, s, 'wall');
    return [
      `\`${s}\``,
      num(wall),
      num(value(r, s, 'cpu')),
      floor === undefined || wall === undefined ? 'n/a' : `${(wall / floor).toFixed(2)}x`,
    ];
  });
  const out = [
    source(r, 'startup'),
    '',
    table(['command', 'wall ms (median)', 'CPU ms (mean)', 'wall x node -e 0'], rows, ['l', 'r', 'r', 'r']),
    '',
  ];
  for (const s of ['panoptes --help', 'panoptes validate resources', 'panoptes validate profiles']) {
    const wall = value(r, s, 'wall');
    if (wall !== undefined) {
      out.push(
        `- Goal: \`${s}\` within ${STARTUP_GOAL_MS} ms wall: ${num(wall)} ms, ${verdict(wall <= STARTUP_GOAL_MS)}.`,
      );
    }
  }
  return out.join('\n');
}

/** The compare run: every metric of every system, and the two goals. */
function compareSection(r: ResultsFile): string {
  const ratio = (metric: string): number | undefined => value(r, 'panoptes', metric);
  const toExporter = ratio('CPU ratio to snmp_exporter + Prometheus (goal <= 0.5)');
  const toCollectd = ratio('CPU ratio to collectd (goal <= 1)');
  const rows = r.rows.filter((x) => !x.metric.startsWith('CPU ratio'));
  return [
    plainSection({ ...r, rows }, 'compare'),
    '',
    `- Goal: at most half the CPU per device poll of snmp_exporter + Prometheus: ${num(toExporter)}x, ` +
      `${verdict(toExporter !== undefined && toExporter <= 0.5)}.`,
    `- Goal: at most collectd's CPU per device poll: ${num(toCollectd)}x, ` +
      `${verdict(toCollectd !== undefined && toCollectd <= 1)}.`,
  ].join('\n');
}

/** The walk run: every command's figures, and the two goals from the ratios. */
function walkSection(r: ResultsFile): string {
  const cli = value(r, 'panoptes snmp walk', `CPU ratio to snmpbulkwalk (goal <= ${WALK_CLI_GOAL})`);
  const serial = value(r, 'engine serial walk', 'CPU per varbind ratio to snmpbulkwalk (goal <= 1)');
  const rows = r.rows.filter((x) => !x.metric.includes('ratio to snmpbulkwalk'));
  return [
    plainSection({ ...r, rows }, 'walk'),
    '',
    `- Goal: \`panoptes snmp walk\` within ${WALK_CLI_GOAL}x of snmpbulkwalk's CPU: ${num(cli)}x, ` +
      `${verdict(cli !== undefined && cli <= WALK_CLI_GOAL)}.`,
    `- Goal: the engine's serial walk at or below snmpbulkwalk's CPU per varbind: ${num(serial)}x, ` +
      `${verdict(serial !== undefined && serial <= 1)}.`,
  ].join('\n');
}

/** The checkpoint run: every figure, and what saving costs a node at 20,000 devices. */
function checkpointSection(r: ResultsFile): string {
  const metric = r.rows.find((x) => x.subject === 'save' && x.metric.startsWith('cores at '))?.metric;
  const cores = metric === undefined ? undefined : value(r, 'save', metric);
  const out = [plainSection(r, 'checkpoint')];
  if (metric !== undefined && cores !== undefined) {
    out.push(
      '',
      `- Saving every device's counter history ${metric.slice('cores '.length)}: ${num(cores)} of a core ` +
        '(the poller and redis-server together).',
    );
  }
  return out.join('\n');
}

/** Bytes in the binary unit that keeps the figure readable (B, KiB, MiB, GiB, TiB). */
export function bytesText(v: number, perSecond = false): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let u = 0;
  while (Math.abs(x) >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${num(x)} ${units[u] as string}${perSecond ? '/s' : ''}`;
}

/** The federation run: what was measured, then the fleet it sizes. */
function federationSection(r: ResultsFile): string {
  const show = (row: ResultsFile['rows'][number]): string =>
    row.unit === 'bytes'
      ? bytesText(row.value)
      : row.unit === 'bytes/s'
        ? bytesText(row.value, true)
        : `${num(row.value)} ${row.unit}`;
  const out = [source(r, 'federation')];
  for (const subject of subjects(r)) {
    out.push('', `**${subject}**`, '');
    out.push(
      table(
        ['', 'value'],
        r.rows.filter((x) => x.subject === subject).map((x) => [x.metric, show(x)]),
        ['l', 'r'],
      ),
    );
  }
  return out.join('\n');
}

/**
 * The gnmi run: every figure of every subject, the gNMI subjects' ratios to SNMP's beside them,
 * then the figure that compares (CPU per interface sample).
 */
function gnmiSection(r: ResultsFile): string {
  const all = subjects(r);
  const snmp = all.find((s) => s.startsWith(GNMI_REFERENCE));
  const others = all.filter((s) => s !== snmp);
  const shown = snmp === undefined ? others : [...others, snmp];
  const metrics = [...new Set(r.rows.map((x) => x.metric))];
  const unit = (m: string): string => r.rows.find((x) => x.metric === m)?.unit ?? '';
  const ratio = (s: string, m: string): string => {
    const a = value(r, s, m);
    const b = snmp === undefined ? undefined : value(r, snmp, m);
    return a === undefined || b === undefined || b === 0 ? '' : `${(a / b).toFixed(2)}x`;
  };
  const ratios = snmp === undefined ? [] : others;
  const rows = metrics.map((m) => [
    `${m} (${unit(m)})`,
    ...shown.map((s) => num(value(r, s, m))),
    ...ratios.map((s) => ratio(s, m)),
  ]);
  const out = [
    source(r, 'gnmi'),
    '',
    table(['', ...shown, ...ratios.map((s) => `${s} / ${GNMI_REFERENCE}`)], rows, [
      'l',
      ...shown.map(() => 'r' as const),
      ...ratios.map(() => 'r' as const),
    ]),
  ];
  const ref = snmp === undefined ? undefined : value(r, snmp, 'CPU per interface sample');
  const lines: string[] = [];
  for (const s of others) {
    const cpu = value(r, s, 'CPU per interface sample');
    if (cpu === undefined || ref === undefined || ref === 0) continue;
    lines.push(
      `- ${s}: ${num(cpu)} CPU µs per interface sample against SNMP's ${num(ref)}, ` +
        `${(cpu / ref).toFixed(2)}x; ${num(value(r, s, 'updates per CPU-second'))} updates ` +
        `(${num(value(r, s, 'leaf values per CPU-second'))} leaf values) per CPU-second.`,
    );
  }
  if (lines.length > 0 && snmp !== undefined) {
    out.push(
      '',
      ...lines,
      `- SNMP: ${num(value(r, snmp, 'updates per CPU-second'))} varbinds per CPU-second. An ` +
        'interface sample is one `interface` group with its eight rates, for one device and ' +
        'interval: the figure that compares.',
    );
  }
  return out.join('\n');
}

const SECTIONS: Readonly<Record<string, (r: ResultsFile) => string>> = {
  dsl: dslSection,
  actors: actorsSection,
  snmp: snmpSection,
  pipeline: pipelineSection,
  'device-metrics': deviceMetricsSection,
  consumer: consumerSection,
  soak: soakSection,
  startup: startupSection,
  compare: compareSection,
  walk: walkSection,
  checkpoint: checkpointSection,
  federation: federationSection,
  gnmi: gnmiSection,
};

export interface MarkdownOptions {
  readonly resultsDir?: string;
  readonly file?: string;
  readonly log?: (line: string) => void;
}

/** Rewrites the results sections of BENCHMARKS.md; returns the names of the sections written. */
export async function main(options: MarkdownOptions = {}): Promise<string[]> {
  const resultsDir = options.resultsDir ?? RESULTS_DIR;
  const file = options.file ?? BENCHMARKS_MD;
  const log = options.log ?? ((line: string) => console.log(line));
  let text = await readFile(file, 'utf8');
  const written: string[] = [];
  for (const [name, render] of Object.entries(SECTIONS)) {
    const open = `<!-- results:${name} -->`;
    const close = `<!-- /results:${name} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) {
      throw new Error(`${file}: missing or unclosed "${open}" ... "${close}"`);
    }
    const results = await readResults(resultsDir, name);
    if (results === undefined) {
      log(`BENCHMARKS.md: no bench/results/${name}.json; its section is left as it is`);
      continue;
    }
    text = `${text.slice(0, start + open.length)}\n\n${render(results)}\n\n${text.slice(end)}`;
    written.push(name);
  }
  const config = (await resolveConfig(file)) ?? {};
  await writeFile(file, await format(text, { ...config, filepath: file }));
  return written;
}
