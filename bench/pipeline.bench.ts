/**
 * `pipeline`: the whole polling path end to end in this process (discovery, enrichment, polling
 * with the SNMP engine, counter -> rate transforms, the enrichment join, serialisation, and
 * producing to the Kafka-protocol test broker), against the simulator running as its own
 * process (`panoptes simulate`), so only this process's CPU time is measured.
 *
 * For each fleet size (synthetic devices x 24 interfaces) the interface-polling and
 * device-status plugins run every INTERVAL seconds. After a warm-up of one interval (every
 * series has its baseline, so rates are computed), CPU time, varbinds received, metrics and
 * groups published and device polls are counted over a window of one interval:
 *
 *   varbinds per CPU-second, metrics per CPU-second, CPU ms per device poll,
 *   devices one core keeps on a 60 s interval (60 s / CPU per device poll of both plugins),
 *   heap and RSS per device (growth over the empty process, after a GC).
 *
 * Environment: PIPELINE_DEVICES (comma list, default 1000,5000,20000), PIPELINE_INTERVAL (the
 * shortest interval, seconds, default 30), PIPELINE_DEVICES_PER_SECOND (default 60). A fleet's
 * interval is the longer of PIPELINE_INTERVAL and devices / PIPELINE_DEVICES_PER_SECOND, so that
 * every fleet offers the same load per second (well within what this process and the simulator
 * can take on 2 cores): the figures are costs per device at that size, not a saturation test.
 * The quick run uses 1000 devices at 20 s.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../src/config/site-config.js';
import { silentLogger } from '../src/log.js';
import { PanoptesNode } from '../src/stages/node.js';
import { startKafka } from '../test/services/kafka.js';
import type { KafkaService } from '../test/services/kafka.js';
import { CLI } from '../test/support/cluster.js';
import { simulatedResources, writeLabPlugins } from '../test/support/lab.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';

const INTERFACES = 24;

interface Simulator {
  readonly port: number;
  readonly child: ChildProcess;
}

async function startSimulator(devices: number): Promise<Simulator> {
  const child = spawn(
    process.execPath,
    [CLI, 'simulate', '--port', '0', '--synthetic', `${devices}:${INTERFACES}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${String(code)}: ${out}`)));
  });
  return { port, child };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

interface Counts {
  cpu: number;
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
    varbinds: node.engine.stats.varbinds,
    metrics: node.polling.stats.metricsPublished,
    groups: node.polling.stats.groupsPublished,
    polls: p.success + p.error + p.timeout,
    late: p.skipped_in_flight,
  };
}

async function runFleet(
  kafka: KafkaService,
  devices: number,
  intervalSeconds: number,
  progress: (text: string) => void,
): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-pipeline-'));
  const sim = await startSimulator(devices);
  const base = memory();
  let node: PanoptesNode | undefined;
  try {
    await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(devices, 'bench')));
    await writeLabPlugins(dir, { devicesFile: join(dir, 'devices.json'), intervalSeconds });
    const yaml = [
      'site: bench',
      'plugins: {directories: [plugins], rescan_seconds: 0}',
      `bus: {type: kafka, brokers: [${kafka.brokers.join(', ')}]}`,
      `snmp: {port: ${sim.port}, timeout_ms: 5000, retries: 1, max_in_flight: 4000}`,
      'polling: {heartbeat: false, enrichment_wait_seconds: 900}',
      '',
    ].join('\n');
    const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
    progress(`${devices} devices: starting (discovery, enrichment of every device)`);
    node = await PanoptesNode.start({
      config,
      logger: silentLogger,
      roles: ['discovery', 'enrichment', 'polling'],
    });
    progress(`${devices} devices: warm-up, one interval of ${intervalSeconds} s`);
    await sleep(intervalSeconds * 1000 + 2000);
    const before = counts(node);
    progress(`${devices} devices: measuring one interval of ${intervalSeconds} s`);
    await sleep(intervalSeconds * 1000);
    const after = counts(node);
    const mem = memory();
    const cpu = after.cpu - before.cpu;
    const polls = after.polls - before.polls;
    const subject = `${devices} devices`;
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      bench: 'pipeline',
      subject,
      metric,
      value,
      unit,
    });
    const perDevicePoll = polls > 0 ? cpu / polls : Infinity;
    // Each device runs two plugins per interval (interface polling and device status).
    const devicesPerCore = Number.isFinite(perDevicePoll) ? 60 / (2 * perDevicePoll) : 0;
    return [
      row('varbinds per CPU-second', (after.varbinds - before.varbinds) / cpu, 'varbinds/CPU-s'),
      row('metrics per CPU-second', (after.metrics - before.metrics) / cpu, 'metrics/CPU-s'),
      row('groups per CPU-second', (after.groups - before.groups) / cpu, 'groups/CPU-s'),
      row('CPU per plugin run', perDevicePoll * 1000, 'CPU-ms'),
      row('devices one core keeps at 60 s', devicesPerCore, 'devices'),
      row('plugin runs in the window', polls, 'runs'),
      row('ticks skipped (run still in flight)', after.late - before.late, 'ticks'),
      row('CPU use in the window', cpu / intervalSeconds, 'cores'),
      row('heap per device', (mem.heap - base.heap) / devices, 'bytes'),
      row('RSS per device', (mem.rss - base.rss) / devices, 'bytes'),
    ];
  } finally {
    await node?.stop();
    await stopProcess(sim.child);
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
  const shortest = options.quick ? 20 : Number(process.env['PIPELINE_INTERVAL'] ?? 30);
  const perSecond = Number(process.env['PIPELINE_DEVICES_PER_SECOND'] ?? 60);
  for (const [name, v] of [
    ['PIPELINE_DEVICES', Math.min(...fleets)],
    ['PIPELINE_INTERVAL', shortest],
    ['PIPELINE_DEVICES_PER_SECOND', perSecond],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must hold positive integers, got ${v}`);
  }
  const intervals = fleets.map((devices) => Math.max(shortest, Math.ceil(devices / perSecond)));
  const kafka = await startKafka(3);
  const rows: BenchRow[] = [];
  try {
    for (const [k, devices] of fleets.entries()) {
      const interval = intervals[k] ?? shortest;
      rows.push(...(await runFleet(kafka, devices, interval, progress)));
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
