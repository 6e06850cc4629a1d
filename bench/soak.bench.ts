/**
 * `soak` (run only by name: `npm run bench -- soak`): the whole pipeline in this process for a
 * long time, to see whether memory or handles grow. Discovery, enrichment and polling of
 * SOAK_DEVICES synthetic devices (24 interfaces each, every SOAK_INTERVAL seconds) publish to
 * the Kafka test broker, and a JSONL consumer in the same process reads every group back (to
 * /dev/null), so the consumer's lag is part of the picture. The simulator runs as its own process.
 *
 * Every SOAK_SAMPLE_SECONDS: RSS and V8 heap used (after a GC), active handles and requests
 * (process.getActiveResourcesInfo), the consumer's lag and the groups published so far. After
 * the run: the least-squares slope of RSS and heap per hour over the samples after the warm-up
 * (the first tenth of the run, at least one sample), the residuals' standard deviation (the
 * noise), and the verdict: flat when the drift the slope makes over the measured span is within
 * twice the noise.
 *
 * Environment: SOAK_MINUTES (default 60), SOAK_DEVICES (default 5000), SOAK_INTERVAL (seconds,
 * default 60: a load of 5,000 devices per minute, half of what one core is measured to keep, so
 * two shared cores keep up with the simulator and the broker beside), SOAK_SAMPLE_SECONDS
 * (default 60). Writes bench/results/soak.json; the chart is bench/charts/soak.svg.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../src/config/site-config.js';
import { silentLogger } from '../src/log.js';
import { PanoptesNode } from '../src/node/node.js';
import { startKafka } from '../test/services/kafka.js';
import { simulatedResources, writeLabPlugins } from '../test/support/lab.js';
import type { BenchRow } from './lib/report.js';
import { writeResults } from './lib/report.js';
import { startSimulator, stopSimulator } from './lib/simulator.js';

const INTERFACES = 24;
const MiB = 1024 * 1024;

export interface SoakSample {
  readonly minute: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly handles: number;
  readonly lag: number;
  readonly groups: number;
}

export interface Trend {
  /** Per hour. */
  readonly slope: number;
  readonly mean: number;
  /** Standard deviation of the residuals around the fitted line. */
  readonly noise: number;
  /** Drift over the measured span (slope x span) within twice the noise. */
  readonly flat: boolean;
}

/** Least-squares line through (minute, value); slope per hour, noise, and whether it is flat. */
export function trend(points: readonly { minute: number; value: number }[]): Trend {
  const n = points.length;
  if (n < 2) return { slope: 0, mean: points[0]?.value ?? 0, noise: 0, flat: true };
  const mx = points.reduce((a, p) => a + p.minute, 0) / n;
  const my = points.reduce((a, p) => a + p.value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.minute - mx) * (p.value - my);
    sxx += (p.minute - mx) ** 2;
  }
  const perMinute = sxx === 0 ? 0 : sxy / sxx;
  const residuals = points.map((p) => p.value - (my + perMinute * (p.minute - mx)));
  const noise = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  const span = (points[n - 1]?.minute ?? 0) - (points[0]?.minute ?? 0);
  return { slope: perMinute * 60, mean: my, noise, flat: Math.abs(perMinute * span) <= 2 * noise };
}

/** Messages the node's subscriptions have not handled yet (the consumer's, mostly). */
function lagOf(node: PanoptesNode): number {
  return node
    .metrics()
    .filter((m) => m.name === 'panoptes_bus_consumer_lag')
    .reduce((a, m) => a + m.value, 0);
}

function sample(node: PanoptesNode, startedAt: number): SoakSample {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return {
    minute: Math.round(((Date.now() - startedAt) / 60_000) * 100) / 100,
    rssMiB: m.rss / MiB,
    heapMiB: m.heapUsed / MiB,
    handles: process.getActiveResourcesInfo().length,
    lag: lagOf(node),
    groups: node.polling?.stats.groupsPublished ?? 0,
  };
}

function positive(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return v;
}

export async function main(options: { progress?: (text: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const minutes = positive('SOAK_MINUTES', 60);
  const devices = Math.round(positive('SOAK_DEVICES', 5000));
  const interval = positive('SOAK_INTERVAL', 60);
  const every = positive('SOAK_SAMPLE_SECONDS', 60);
  const kafka = await startKafka(3);
  const sim = await startSimulator(['--synthetic', `${devices}:${INTERFACES}`]);
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-soak-'));
  const samples: SoakSample[] = [];
  let node: PanoptesNode | undefined;
  try {
    await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(devices, 'soak')));
    await writeLabPlugins(dir, { devicesFile: join(dir, 'devices.json'), intervalSeconds: interval });
    const yaml = [
      'site: soak',
      'plugins: {directories: [plugins], rescan_seconds: 0, builtin: false}',
      `bus: {type: kafka, brokers: [${kafka.brokers.join(', ')}]}`,
      `snmp: {port: ${sim.port}, timeout_ms: 5000, retries: 1, max_in_flight: 4000}`,
      'polling: {heartbeat: false, enrichment_wait_seconds: 900}',
      'output: {jsonl: /dev/null}',
      '',
    ].join('\n');
    const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
    progress(`soak: starting ${devices} devices every ${interval} s for ${minutes} minutes`);
    node = await PanoptesNode.start({
      config,
      logger: silentLogger,
      roles: ['discovery', 'enrichment', 'polling', 'consumer'],
    });
    const startedAt = Date.now();
    const end = startedAt + minutes * 60_000;
    const maxSamples = Math.ceil((minutes * 60) / every) + 1;
    samples.push(sample(node, startedAt));
    for (let i = 0; i < maxSamples && Date.now() < end; i++) {
      await new Promise((r) => setTimeout(r, Math.min(every * 1000, Math.max(0, end - Date.now()))));
      const s = sample(node, startedAt);
      samples.push(s);
      progress(
        `soak: minute ${s.minute.toFixed(1)} of ${minutes}: RSS ${s.rssMiB.toFixed(0)} MiB, heap ` +
          `${s.heapMiB.toFixed(0)} MiB, ${s.handles} handles, lag ${s.lag}, ${s.groups} groups`,
      );
    }
  } finally {
    await node?.stop();
    await stopSimulator(sim);
    await kafka.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = soakRows(samples, { devices, interval, minutes, every });
  const file = writeResults('soak', rows, {
    devices,
    interfaces: INTERFACES,
    intervalSeconds: interval,
    minutes,
  });
  for (const r of rows.filter((x) => x.subject === 'trend'))
    console.log(`${r.metric}: ${r.value.toFixed(3)} ${r.unit}`);
  console.log(`\nwrote ${file}`);
}

/** The results rows: one subject per sample (`minute N`), and the trends (`trend`). */
export function soakRows(
  samples: readonly SoakSample[],
  run: { devices: number; interval: number; minutes: number; every: number },
): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (subject: string, metric: string, value: number, unit: string): void => {
    rows.push({ bench: 'soak', subject, metric, value, unit });
  };
  for (const s of samples) {
    const subject = `minute ${s.minute}`;
    row(subject, 'rss', s.rssMiB, 'MiB');
    row(subject, 'heap', s.heapMiB, 'MiB');
    row(subject, 'handles', s.handles, 'handles');
    row(subject, 'lag', s.lag, 'messages');
    row(subject, 'groups', s.groups, 'groups');
  }
  const warmup = Math.max(1, Math.ceil(samples.length / 10));
  const measured = samples.slice(warmup);
  for (const [metric, pick] of [
    ['rss', (s: SoakSample) => s.rssMiB],
    ['heap', (s: SoakSample) => s.heapMiB],
    ['handles', (s: SoakSample) => s.handles],
  ] as const) {
    const t = trend(measured.map((s) => ({ minute: s.minute, value: pick(s) })));
    const unit = metric === 'handles' ? 'handles' : 'MiB';
    row('trend', `${metric} slope`, t.slope, `${unit}/h`);
    row('trend', `${metric} mean`, t.mean, unit);
    row('trend', `${metric} noise`, t.noise, unit);
    row('trend', `${metric} flat`, t.flat ? 1 : 0, 'bool');
  }
  row('run', 'devices', run.devices, 'devices');
  row('run', 'interval', run.interval, 's');
  row('run', 'minutes', run.minutes, 'min');
  row('run', 'sample every', run.every, 's');
  row('run', 'warm-up samples left out', warmup, 'samples');
  return rows;
}
