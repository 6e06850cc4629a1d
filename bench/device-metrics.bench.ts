/**
 * `device-metrics`: what device metrics add to a device's polling. The pipeline benchmark's
 * fleet (synthetic devices x 24 interfaces, discovery, enrichment, interface polling and device
 * status every INTERVAL seconds, counters to rates, produced to the Kafka-protocol test broker,
 * the simulator in a process of its own) runs twice on the same kind of fleet, one run after the
 * other:
 *
 *   interface only        the pipeline benchmark's plugins;
 *   with device metrics   the same plus the device-metrics plugin as it ships
 *                         (plugins/device-metrics.panoptes-plugin at the same interval), polling
 *                         the built-in profiles (plugins/profiles) that select each device: the
 *                         synthetic devices answer a net-snmp sysObjectID, so host-resources and
 *                         ucd-snmp (CPU, memory, storage, load, temperatures).
 *
 * In both runs the simulator's devices answer the device-health set (SyntheticFleet.health, a
 * simulator of the built module in its own process: `panoptes simulate` has no option for it).
 *
 * Each run has a warm-up interval, then its intervals are measured as in the pipeline benchmark
 * (median window, best and worst beside it). The figure is the CPU time of the polling process
 * per device run: everything polled from one device in one interval (2 plugin runs, or 3 with
 * device metrics), i.e. CPU per plugin run x plugins per device. Varbinds and groups per device
 * run show what the device-metrics plugin fetched and made.
 *
 * Environment: DEVICE_METRICS_DEVICES (default 1500), DEVICE_METRICS_INTERVAL (seconds, default
 * 10: a load of 9000 devices per 60 s, where the pipeline's CPU per run is near its floor rather
 * than paying a light load's wake-ups), DEVICE_METRICS_SECONDS (measured per run, default 30:
 * three intervals, the median one reported). The quick run: 1000 devices every 10 s, one interval
 * measured. Under 2 minutes in all (about 1 quick).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka } from '../test/services/kafka.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';
import { runFleet } from './pipeline.bench.js';

export const INTERFACE_ONLY = 'interface only';
export const WITH_DEVICE_METRICS = 'with device metrics';

const PLUGINS = fileURLToPath(new URL('../plugins/', import.meta.url));

/**
 * The shipped device-metrics plugin file at another interval (and timeout), its module by its
 * absolute path since the file is written elsewhere.
 */
export function deviceMetricsPluginFile(intervalSeconds: number): string {
  const text = readFileSync(join(PLUGINS, 'device-metrics.panoptes-plugin'), 'utf8');
  const replaced = text
    .replace(/^Module = (.+)$/m, (_, m: string) => `Module = ${join(PLUGINS, m.trim())}`)
    .replace(/^execute_frequency = .+$/m, `execute_frequency = ${intervalSeconds}`)
    .replace(/^timeout = .+$/m, `timeout = ${intervalSeconds}`);
  for (const key of ['Module', 'execute_frequency', 'timeout']) {
    if (!new RegExp(`^${key} = `, 'm').test(replaced))
      throw new Error(`plugins/device-metrics.panoptes-plugin has no "${key} = " line`);
  }
  return replaced;
}

function positive(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

const value = (rows: readonly BenchRow[], subject: string, metric: string): number =>
  rows.find((r) => r.subject === subject && r.metric === metric)?.value ?? NaN;

/** The per-device-run rows of one run, from the fleet's rows (which are per plugin run). */
export function perDeviceRun(rows: readonly BenchRow[], subject: string, plugins: number): BenchRow[] {
  const row = (metric: string, v: number, unit: string): BenchRow => ({
    bench: 'device-metrics',
    subject,
    metric,
    value: v,
    unit,
  });
  const perRun = value(rows, subject, 'CPU per plugin run'); // ms
  // varbinds (groups) per CPU-second x CPU-seconds per plugin run = varbinds (groups) per plugin run.
  const per = (metric: string): number => value(rows, subject, metric) * (perRun / 1000) * plugins;
  return [
    row('CPU per device run', perRun * plugins, 'CPU-ms'),
    row(
      'CPU per device run, best window',
      value(rows, subject, 'CPU per plugin run, best window') * plugins,
      'CPU-ms',
    ),
    row(
      'CPU per device run, worst window',
      value(rows, subject, 'CPU per plugin run, worst window') * plugins,
      'CPU-ms',
    ),
    row('plugins per device', plugins, 'plugins'),
    row('device runs per window', value(rows, subject, 'plugin runs per window') / plugins, 'runs'),
    row('varbinds per device run', per('varbinds per CPU-second'), 'varbinds'),
    row('groups per device run', per('groups per CPU-second'), 'groups'),
  ];
}

export async function main(
  options: { quick?: boolean; progress?: (text: string) => void } = {},
): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const devices = options.quick ? 1000 : positive('DEVICE_METRICS_DEVICES', 1500);
  const interval = options.quick ? 10 : positive('DEVICE_METRICS_INTERVAL', 10);
  const measured = options.quick ? 10 : positive('DEVICE_METRICS_SECONDS', 30);
  const kafka = await startKafka(3);
  const rows: BenchRow[] = [];
  try {
    for (const [subject, extra] of [
      [INTERFACE_ONLY, undefined],
      [WITH_DEVICE_METRICS, { 'device-metrics.panoptes-plugin': deviceMetricsPluginFile(interval) }],
    ] as const) {
      const fleet = await runFleet(kafka, devices, interval, measured, (t) => progress(`${subject}: ${t}`), {
        bench: 'device-metrics',
        subject,
        ...(extra === undefined ? {} : { extraPlugins: extra }),
        health: true,
      });
      rows.push(...perDeviceRun(fleet, subject, extra === undefined ? 2 : 3), ...fleet, {
        bench: 'device-metrics',
        subject,
        metric: 'interval',
        value: interval,
        unit: 's',
      });
    }
  } finally {
    await kafka.stop();
  }
  printTable(
    rows.filter((r) => !r.metric.startsWith('CPU per plugin run')),
    INTERFACE_ONLY,
  );
  const file = writeResults('device-metrics', rows, {
    devices,
    interfaces: 24,
    intervalSeconds: interval,
    measuredSeconds: measured,
    quick: options.quick === true,
  });
  console.log(`\nwrote ${file}`);
}
