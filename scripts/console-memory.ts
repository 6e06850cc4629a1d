/**
 * Measures the live console's memory: fills a ConsoleStore the way the quickstart does (per
 * device 24 interfaces with traffic in/out, 2 CPUs, 2 memory types, 2 temperature sensors,
 * every 10 s) until every ring is full (an hour of history), and reports the heap and
 * ArrayBuffer growth per series and per point beside the store's own estimate (stats.bytes,
 * what /metrics reports as panoptes_console_bytes).
 *
 *   node --expose-gc --import tsx scripts/console-memory.ts [DEVICES ...]
 *
 * The README's "Live console" figures come from `... console-memory.ts 50 500`.
 */
import { ConsoleStore, SERIES_OVERHEAD_BYTES } from '../src/console/store.js';
import type { Metric, MetricsGroup } from '../src/model/metrics-group.js';
import type { Resource } from '../src/model/resource.js';

const INTERVAL = 10;
const HISTORY = 3600;
const INTERFACES = 24;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('console-memory: run with node --expose-gc\n');
  process.exit(2);
}

function used(): number {
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  // Typed arrays over a few dozen bytes live outside the V8 heap, in ArrayBuffers.
  return m.heapUsed + m.arrayBuffers;
}

function group(
  resource: Resource,
  type: string,
  at: number,
  dims: Record<string, string>,
  metrics: Record<string, number>,
): MetricsGroup {
  return {
    metrics_group_schema_version: '0.2',
    metrics_group_type: type,
    metrics_group_interval: INTERVAL,
    metrics_group_creation_timestamp: at,
    resource,
    dimensions: Object.entries(dims).map(([dimension_name, dimension_value]) => ({
      dimension_name,
      dimension_value,
    })),
    metrics: Object.entries(metrics).map(([metric_name, metric_value]): Metric => ({
      metric_name,
      metric_value,
      metric_type: 'gauge',
      metric_creation_timestamp: at,
    })),
  };
}

function measure(devices: number): void {
  const before = used();
  const store = new ConsoleStore({ historySeconds: HISTORY, maxSeries: 10_000_000, maxDevices: 1_000_000 });
  const start = 1_800_000_000;
  const polls = store.capacityFor(INTERVAL) + 5;
  const resources: Resource[] = Array.from({ length: devices }, (_, d) => ({
    resource_id: `sim-${String(d + 1).padStart(5, '0')}`,
    resource_site: 'quickstart',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'simulated',
    resource_creation_timestamp: start,
    resource_creation_plugin: 'discovery-json',
    resource_metadata: {},
  }));
  for (let p = 0; p < polls; p++) {
    const at = start + p * INTERVAL;
    for (const r of resources) {
      for (let i = 1; i <= INTERFACES; i++)
        store.ingest(
          group(
            r,
            'interface',
            at,
            { interface_name: `Gi0/${i}` },
            { bits_in: 8000 * i + p, bits_out: 4000 * i },
          ),
        );
      for (const cpu of ['Simulated CPU 0', 'Simulated CPU 1'])
        store.ingest(group(r, 'cpu', at, { cpu_name: cpu }, { cpu_utilization: p % 100 }));
      for (const type of ['real', 'swap'])
        store.ingest(group(r, 'memory', at, { memory_type: type }, { memory_used: p, memory_total: 1000 }));
      for (const sensor of ['Board', 'CPU Package'])
        store.ingest(group(r, 'environment', at, { sensor }, { temperature_fahrenheit: 96 + (p % 10) }));
    }
  }
  const after = used();
  const s = store.stats;
  const measured = after - before;
  const traffic = devices * INTERFACES;
  const single = devices * 6;
  const capacity = store.capacityFor(INTERVAL);
  const ringBytes = traffic * capacity * 12 + single * capacity * 8;
  const overhead = (measured - ringBytes) / s.series;
  const mib = (b: number): string => (b / 1048576).toFixed(2);
  process.stdout.write(
    `${devices} devices: ${s.series} series (${traffic} traffic, ${single} cpu/memory/temperature), ` +
      `${s.points} points (${capacity} per series)\n` +
      `  measured ${mib(measured)} MiB = ${(measured / s.series).toFixed(0)} B per series, ` +
      `${(measured / s.points).toFixed(1)} B per point\n` +
      `  rings ${mib(ringBytes)} MiB (12 B per traffic point, 8 B per other point); ` +
      `overhead ${overhead.toFixed(0)} B per series (SERIES_OVERHEAD_BYTES = ${SERIES_OVERHEAD_BYTES})\n` +
      `  store estimate (stats.bytes) ${mib(s.bytes)} MiB\n`,
  );
  // Keep the store alive until it was measured.
  if (s.series === 0) process.stdout.write(String(store.stats.series));
}

const counts = process.argv.slice(2).map(Number);
for (const devices of counts.length === 0 ? [50, 500] : counts) measure(devices);
