/**
 * `soak` (run only by name: `npm run bench -- soak`): the whole pipeline in this process for a
 * long time, to see whether memory or handles grow. Discovery, enrichment and polling of
 * SOAK_DEVICES synthetic devices (24 interfaces each, every SOAK_INTERVAL seconds) publish to
 * the Kafka test broker, and a JSONL consumer in the same process reads every group back (to
 * /dev/null), so the consumer's lag is part of the picture. The simulator runs as its own process.
 *
 * Every SOAK_SAMPLE_SECONDS: RSS and V8 heap used (after a GC), active handles and requests
 * (process.getActiveResourcesInfo), the bus consumer's lag (the node's
 * panoptes_bus_consumer_lag), the groups published so far, and the CPU (cores) this process used
 * since the previous sample. After the run: the least-squares slope of RSS, heap and handles per
 * hour over the samples after the warm-up, the mean, the residuals' standard deviation (the
 * noise), and the verdict: flat within noise when the drift the fitted line makes over the
 * measured span (|slope x span|) is at most twice the noise.
 *
 * The warm-up is the longer of a tenth of the run and two polling intervals (the first cycles
 * fill the enrichment cache, the rate baselines and the bus buffers), and leaves at least three
 * samples to fit.
 *
 * Environment: SOAK_MINUTES (default 60), SOAK_DEVICES (default 5000), SOAK_INTERVAL (seconds,
 * default 60: 5,000 devices per minute, which the pipeline benchmark measures at about half a
 * core for the poller, so the two shared cores keep the poller, the consumer, the simulator and
 * the broker without saturating), SOAK_SAMPLE_SECONDS (default 60). Writes
 * bench/results/soak.json; the charts are bench/charts/soak.svg and bench/charts/soak-handles.svg.
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
  /** Minutes since the node started. */
  readonly minute: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly handles: number;
  readonly lag: number;
  readonly groups: number;
  /** Cores this process used since the previous sample. */
  readonly cpu?: number;
}

export interface Trend {
  /** Per hour. */
  readonly slope: number;
  readonly mean: number;
  /** Standard deviation of the residuals around the fitted line. */
  readonly noise: number;
  /** Minutes between the first and the last point fitted. */
  readonly span: number;
  /** Drift over the measured span (|slope x span|) within twice the noise. */
  readonly flat: boolean;
}

/** Least-squares line through (minute, value); slope per hour, noise, and whether it is flat. */
export function trend(points: readonly { minute: number; value: number }[]): Trend {
  const n = points.length;
  if (n < 2) return { slope: 0, mean: points[0]?.value ?? 0, noise: 0, span: 0, flat: true };
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
  // n - 2 degrees of freedom: the line took two.
  const noise = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  const span = (points[n - 1]?.minute ?? 0) - (points[0]?.minute ?? 0);
  return {
    slope: perMinute * 60,
    mean: my,
    noise,
    span,
    flat: Math.abs(perMinute * span) <= 2 * noise,
  };
}

/** Messages the node's bus subscriptions have not handled yet (the JSONL consumer's). */
function lagOf(node: PanoptesNode): number {
  return node
    .metrics()
    .filter((m) => m.name === 'panoptes_bus_consumer_lag')
    .reduce((a, m) => a + m.value, 0);
}

interface Clock {
  readonly startedAt: number;
  cpu: number;
  wall: number;
}

function sample(node: PanoptesNode, clock: Clock): SoakSample {
  const now = Date.now();
  const c = process.cpuUsage();
  const cpu = (c.user + c.system) / 1e6;
  const cores = now > clock.wall ? (cpu - clock.cpu) / ((now - clock.wall) / 1000) : 0;
  clock.cpu = cpu;
  clock.wall = now;
  // After the CPU reading: the GC's own time is not the pipeline's.
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return {
    minute: Math.round(((now - clock.startedAt) / 60_000) * 100) / 100,
    rssMiB: m.rss / MiB,
    heapMiB: m.heapUsed / MiB,
    handles: process.getActiveResourcesInfo().length,
    lag: lagOf(node),
    groups: node.polling.stats.groupsPublished,
    cpu: cores,
  };
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = Number(raw ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

export interface SoakRun {
  readonly devices: number;
  readonly interval: number;
  readonly minutes: number;
  readonly every: number;
  /** Plugin runs skipped because the previous run of the same plugin was still in flight. */
  readonly skipped?: number;
}

export async function main(options: { progress?: (text: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const minutes = positive('SOAK_MINUTES', 60);
  const devices = Math.round(positive('SOAK_DEVICES', 5000));
  const interval = Math.round(positive('SOAK_INTERVAL', 60));
  const every = positive('SOAK_SAMPLE_SECONDS', 60);
  const kafka = await startKafka(3);
  const sim = await startSimulator(['--synthetic', `${devices}:${INTERFACES}`]);
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-soak-'));
  const samples: SoakSample[] = [];
  let skipped = 0;
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
    const cpu0 = process.cpuUsage();
    const clock: Clock = { startedAt, cpu: (cpu0.user + cpu0.system) / 1e6, wall: startedAt };
    const skipped0 = node.polling.polling.stats.skipped_in_flight;
    const end = startedAt + minutes * 60_000;
    // Bounded twice: by the number of samples the run holds and by its end time.
    const maxSamples = Math.ceil((minutes * 60) / every) + 1;
    samples.push(sample(node, clock));
    for (let i = 0; i < maxSamples && Date.now() < end; i++) {
      const wait = Math.min(every * 1000, Math.max(0, end - Date.now()));
      await new Promise((r) => setTimeout(r, wait));
      const s = sample(node, clock);
      samples.push(s);
      const line =
        `soak: minute ${s.minute.toFixed(1)} of ${minutes}: RSS ${s.rssMiB.toFixed(0)} MiB, heap ` +
        `${s.heapMiB.toFixed(0)} MiB, ${s.handles} handles, lag ${s.lag}, ${s.groups} groups, ` +
        `${(s.cpu ?? 0).toFixed(2)} cores`;
      progress(line);
      console.log(line);
    }
    skipped = node.polling.polling.stats.skipped_in_flight - skipped0;
  } finally {
    await node?.stop();
    await stopSimulator(sim);
    await kafka.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = soakRows(samples, { devices, interval, minutes, every, skipped });
  const file = writeResults('soak', rows, {
    devices,
    interfaces: INTERFACES,
    intervalSeconds: interval,
    minutes,
    sampleSeconds: every,
  });
  console.log('');
  for (const r of rows.filter((x) => x.subject === 'trend' || x.subject === 'run'))
    console.log(`${r.subject} ${r.metric}: ${Number(r.value.toFixed(3))} ${r.unit}`);
  console.log(`\nwrote ${file}`);
}

/** Samples left out of the trends: a tenth of the run or two intervals, leaving three to fit. */
export function warmupSamples(samples: readonly SoakSample[], run: SoakRun): number {
  const minutes = Math.max(run.minutes / 10, (2 * run.interval) / 60);
  const before = samples.filter((s) => s.minute < minutes).length;
  return Math.max(0, Math.min(before, samples.length - 3));
}

/** The results rows: one subject per sample (`minute N`), the trends (`trend`), the run (`run`). */
export function soakRows(samples: readonly SoakSample[], run: SoakRun): BenchRow[] {
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
    if (s.cpu !== undefined) row(subject, 'cpu', s.cpu, 'cores');
  }
  const warmup = warmupSamples(samples, run);
  const measured = samples.slice(warmup);
  for (const [metric, pick, unit] of [
    ['rss', (s: SoakSample) => s.rssMiB, 'MiB'],
    ['heap', (s: SoakSample) => s.heapMiB, 'MiB'],
    ['handles', (s: SoakSample) => s.handles, 'handles'],
  ] as const) {
    const t = trend(measured.map((s) => ({ minute: s.minute, value: pick(s) })));
    row('trend', `${metric} slope`, t.slope, `${unit}/h`);
    row('trend', `${metric} mean`, t.mean, unit);
    row('trend', `${metric} noise`, t.noise, unit);
    row('trend', `${metric} drift over span`, (t.slope / 60) * t.span, unit);
    row('trend', `${metric} flat`, t.flat ? 1 : 0, 'bool');
  }
  const first = measured[0];
  const last = measured.at(-1);
  const cpus = measured.slice(1).flatMap((s) => (s.cpu === undefined ? [] : [s.cpu]));
  row('run', 'devices', run.devices, 'devices');
  row('run', 'interval', run.interval, 's');
  row('run', 'minutes', run.minutes, 'min');
  row('run', 'sample every', run.every, 's');
  row('run', 'samples', samples.length, 'samples');
  row('run', 'warm-up samples left out', warmup, 'samples');
  row('run', 'fitted from minute', first?.minute ?? 0, 'min');
  row('run', 'fitted span', (last?.minute ?? 0) - (first?.minute ?? 0), 'min');
  if (run.skipped !== undefined) row('run', 'ticks skipped (run still in flight)', run.skipped, 'ticks');
  row('run', 'mean CPU after warm-up', cpus.reduce((a, c) => a + c, 0) / Math.max(1, cpus.length), 'cores');
  row(
    'run',
    'groups per interval after warm-up',
    first === undefined || last === undefined || last.minute <= first.minute
      ? 0
      : ((last.groups - first.groups) / (last.minute - first.minute)) * (run.interval / 60),
    'groups',
  );
  return rows;
}
