/**
 * `pipeline`: the whole polling path end to end in this process (discovery, enrichment, polling
 * with the SNMP engine, counter -> rate transforms, the enrichment join, serialisation, and
 * producing to the Kafka-protocol test broker), against the simulator running as its own
 * process (`panoptes simulate`), so only this process's CPU time is measured.
 *
 * For each fleet size (synthetic devices x 24 interfaces) the interface-polling and
 * device-status plugins run every INTERVAL seconds. After a warm-up of one interval (every
 * series has its baseline, so rates are computed), CPU time, varbinds received, metrics and
 * groups published and device polls are counted per interval, over as many intervals as fit in
 * 120 s (at least one); the figures are those of the median interval, with the best and worst
 * CPU per run beside them (CPU time on this shared machine varies between windows):
 *
 *   varbinds per CPU-second, metrics per CPU-second, CPU ms per plugin run,
 *   the load (devices per 60 s: devices x 60 / interval) and the CPU (cores) it took, hence the
 *   devices one core keeps on a 60 s interval at that load (load / cores), valid only when every
 *   run completed on time (no skipped ticks, two runs per device per interval),
 *   heap and RSS per device (growth over the empty process, after a GC).
 *
 * CPU per run depends on the load: at a light load every request and publish pays its own
 * wake-ups, at a heavy one they share them. So capacity is read at the load in question, not
 * extrapolated from a light one.
 *
 * Environment: PIPELINE_DEVICES (comma list, default 1000,5000,20000), PIPELINE_INTERVAL (the
 * shortest interval, seconds, default 60), PIPELINE_LOAD (devices per 60 s at most, default
 * 10000). A fleet's interval is the longer of PIPELINE_INTERVAL and devices x 60 / PIPELINE_LOAD:
 * 1000 and 5000 devices at 60 s, 20000 at 120 s (the load of 10000 at 60 s, the goal; 20000 at
 * 60 s would need more than this 2-core machine has beside the simulator and the broker).
 * The quick run uses 1000 devices at 20 s. PIPELINE_TRACE=1 prints each window's CPU ms per run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../src/config/site-config.js';
import type { SiteConfig } from '../src/config/site-config.js';
import { silentLogger } from '../src/log.js';
import { PanoptesNode } from '../src/node/node.js';
import { startKafka } from '../test/services/kafka.js';
import type { KafkaService } from '../test/services/kafka.js';
import { simulatedResources, writeLabPlugins } from '../test/support/lab.js';
import type { BenchRow } from './lib/report.js';
import { startHealthSimulator, startSimulator, stopSimulator } from './lib/simulator.js';
import { printTable, writeResults } from './lib/report.js';

const INTERFACES = 24;
/** Seconds measured per fleet: as many whole intervals as fit, at least one (quick: 40). */
const MEASURED_SECONDS = 120;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

interface Counts {
  cpu: number;
  /** The kernel's share of cpu. */
  system: number;
  varbinds: number;
  metrics: number;
  groups: number;
  polls: number;
  late: number;
}

function counts(node: PanoptesNode): Counts {
  const cpu = process.cpuUsage();
  const p = node.polling.polling.stats;
  return {
    cpu: (cpu.user + cpu.system) / 1e6,
    system: cpu.system / 1e6,
    varbinds: node.engine.stats.varbinds,
    metrics: node.polling.stats.metricsPublished,
    groups: node.polling.stats.groupsPublished,
    polls: p.success + p.error + p.timeout,
    late: p.skipped_in_flight,
  };
}

/** A variant of the fleet run (the device-metrics benchmark runs the same fleet with one more plugin). */
export interface FleetVariant {
  /** The results' bench name (default `pipeline`). */
  readonly bench?: string;
  /** The rows' subject (default `N devices`). */
  readonly subject?: string;
  /** More plugin files beside the lab's, by file name. */
  readonly extraPlugins?: Readonly<Record<string, string>>;
  /** Devices that also answer the device-health set (CPU, memory, storage, load, temperatures). */
  readonly health?: boolean;
}

/**
 * The site configuration of a fleet run. Only the lab's plugin files run: the package's own are
 * off (plugins.builtin), so that a built-in plugin such as device-metrics does not join in unasked.
 */
function siteConfig(dir: string, kafka: KafkaService, port: number): SiteConfig {
  const yaml = [
    'site: bench',
    'plugins: {directories: [plugins], rescan_seconds: 0, builtin: false}',
    `bus: {type: kafka, brokers: [${kafka.brokers.join(', ')}]}`,
    `snmp: {port: ${port}, timeout_ms: 5000, retries: 1, max_in_flight: 4000}`,
    'polling: {heartbeat: false, enrichment_wait_seconds: 900}',
    '',
  ].join('\n');
  return parseSiteConfig(yaml, join(dir, 'site.yaml'));
}

export async function runFleet(
  kafka: KafkaService,
  devices: number,
  intervalSeconds: number,
  measuredSeconds: number,
  progress: (text: string) => void,
  variant: FleetVariant = {},
): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-pipeline-'));
  const sim =
    variant.health === true
      ? await startHealthSimulator(devices, INTERFACES)
      : await startSimulator(['--synthetic', `${devices}:${INTERFACES}`]);
  const base = memory();
  let node: PanoptesNode | undefined;
  try {
    await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(devices, 'bench')));
    await writeLabPlugins(dir, {
      devicesFile: join(dir, 'devices.json'),
      intervalSeconds,
      ...(variant.extraPlugins === undefined ? {} : { extra: variant.extraPlugins }),
    });
    const config = siteConfig(dir, kafka, sim.port);
    progress(`${devices} devices: starting (discovery, enrichment of every device)`);
    node = await PanoptesNode.start({
      config,
      logger: silentLogger,
      roles: ['discovery', 'enrichment', 'polling'],
    });
    progress(`${devices} devices: warm-up, one interval of ${intervalSeconds} s`);
    await sleep(intervalSeconds * 1000 + 2000);
    // Several windows where an interval is short (this shared machine's CPU times vary from one
    // window to the next): the figures are the median window's, with the spread alongside.
    const windows = Math.max(1, Math.floor(measuredSeconds / intervalSeconds));
    const perWindow: Omit<Counts, 'late'>[] = [];
    let before = counts(node);
    const first = before;
    for (let w = 0; w < windows; w++) {
      progress(`${devices} devices: measuring interval ${w + 1} of ${windows} (${intervalSeconds} s each)`);
      await sleep(intervalSeconds * 1000);
      const after = counts(node);
      perWindow.push({
        cpu: after.cpu - before.cpu,
        system: after.system - before.system,
        varbinds: after.varbinds - before.varbinds,
        metrics: after.metrics - before.metrics,
        groups: after.groups - before.groups,
        polls: after.polls - before.polls,
      });
      before = after;
    }
    const last = before;
    if (process.env['PIPELINE_TRACE'] !== undefined)
      console.error(
        perWindow
          .map(
            (w) =>
              `${((w.cpu / w.polls) * 1000).toFixed(2)} ms/run (${((100 * w.system) / w.cpu).toFixed(0)}% system)`,
          )
          .join(', '),
      );
    const mem = memory();
    const subject = variant.subject ?? `${devices} devices`;
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      bench: variant.bench ?? 'pipeline',
      subject,
      metric,
      value,
      unit,
    });
    const cpuPerRun = (w: Omit<Counts, 'late'>): number => (w.polls > 0 ? w.cpu / w.polls : Infinity);
    // `|| 0`: two windows without runs compare equal (Infinity - Infinity is NaN).
    const sorted = [...perWindow].sort((a, b) => cpuPerRun(a) - cpuPerRun(b) || 0);
    const median = sorted[Math.floor(windows / 2)];
    if (median === undefined) throw new Error('no measurement window');
    const perDevicePoll = cpuPerRun(median);
    const load = (devices * 60) / intervalSeconds;
    const cores = median.cpu / intervalSeconds;
    const devicesPerCore = cores > 0 ? load / cores : 0;
    return [
      row('varbinds per CPU-second', median.varbinds / median.cpu, 'varbinds/CPU-s'),
      row('metrics per CPU-second', median.metrics / median.cpu, 'metrics/CPU-s'),
      row('groups per CPU-second', median.groups / median.cpu, 'groups/CPU-s'),
      row('CPU per plugin run', perDevicePoll * 1000, 'CPU-ms'),
      row('CPU per plugin run, best window', cpuPerRun(sorted[0] ?? median) * 1000, 'CPU-ms'),
      row('CPU per plugin run, worst window', cpuPerRun(sorted.at(-1) ?? median) * 1000, 'CPU-ms'),
      row('load', load, 'devices per 60 s'),
      row('devices one core keeps at 60 s', devicesPerCore, 'devices'),
      row('measured windows', windows, 'intervals'),
      row('plugin runs per window', median.polls, 'runs'),
      row('ticks skipped (run still in flight)', last.late - first.late, 'ticks'),
      row('CPU use in the median window', median.cpu / intervalSeconds, 'cores'),
      row('heap per device', (mem.heap - base.heap) / devices, 'bytes'),
      row('RSS per device', (mem.rss - base.rss) / devices, 'bytes'),
    ];
  } finally {
    await node?.stop();
    await stopSimulator(sim);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(
  options: { quick?: boolean; progress?: (text: string) => void } = {},
): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const fleets = options.quick
    ? [1000]
    : (process.env['PIPELINE_DEVICES'] ?? '1000,5000,20000').split(',').map((n) => Number(n));
  const shortest = options.quick ? 20 : Number(process.env['PIPELINE_INTERVAL'] ?? 60);
  const perMinute = Number(process.env['PIPELINE_LOAD'] ?? 10_000);
  for (const [name, v] of [
    ['PIPELINE_DEVICES', Math.min(...fleets)],
    ['PIPELINE_INTERVAL', shortest],
    ['PIPELINE_LOAD', perMinute],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must hold positive integers, got ${v}`);
  }
  const intervals = fleets.map((devices) => Math.max(shortest, Math.ceil((devices * 60) / perMinute)));
  const kafka = await startKafka(3);
  const rows: BenchRow[] = [];
  try {
    for (const [k, devices] of fleets.entries()) {
      const interval = intervals[k] ?? shortest;
      rows.push(
        ...(await runFleet(kafka, devices, interval, options.quick ? 40 : MEASURED_SECONDS, progress)),
      );
      rows.push({
        bench: 'pipeline',
        subject: `${devices} devices`,
        metric: 'interval',
        value: interval,
        unit: 's',
      });
    }
  } finally {
    await kafka.stop();
  }
  printTable(rows, `${fleets[0]} devices`);
  const file = writeResults('pipeline', rows, {
    interfaces: INTERFACES,
    fleets,
    intervalSeconds: intervals,
    quick: options.quick === true,
  });
  console.log(`\nwrote ${file}`);
}
