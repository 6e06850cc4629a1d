/**
 * `compare`: the whole polling system beside what users would run instead, on the same simulated
 * devices (COMPARE_DEVICES, default 1000, x 24 interfaces, every COMPARE_INTERVAL s, default 60),
 * one system at a time, each for a warm-up interval and then COMPARE_INTERVALS (default 3)
 * measured intervals. The simulator runs as its own process and is not counted.
 *
 * - panoptes: discovery, enrichment, polling (interface-polling and device-status) and the
 *   InfluxDB consumer in one process, through the Kafka test broker, into VictoriaMetrics.
 *   Counted: this process and VictoriaMetrics (the broker is shown apart: a Kafka cluster
 *   costs what it costs for any producer).
 * - snmp_exporter + Prometheus: the Debian packages; Prometheus scrapes every device through
 *   the exporter (`/snmp?module=compare&target=...`) at the same interval into its local TSDB.
 *   Counted: both processes.
 * - collectd: its snmp plugin (Debian collectd-core) polls every device at the same interval
 *   and writes CSV files. Counted: the collectd process.
 *
 * Fair tuning, the same for all: the same IF-MIB columns (the 13 of ifTable/ifXTable the
 * interface profile reads and the synthetic devices answer: octets and unicast packets in and
 * out, errors, discards, admin and oper status, MTU, speed, high speed) and the interface name
 * as the label; snmp_exporter walks exactly those columns with GETBULK (max-repetitions 25) and looks
 * up ifName; collectd reads them as one table (a types.db entry of 13 values, so one request
 * per row) with ifName as instance, 8 read threads; Prometheus
 * and collectd run with their defaults otherwise. Each system is checked to have collected
 * the counters (series per device and interface: VictoriaMetrics and Prometheus are queried,
 * collectd's files are counted) before its figures count.
 *
 * Figures: CPU per device poll (CPU-ms of the counted processes over the measured intervals /
 * device polls in them) of each system, and the ratios the goal reads: panoptes at most half of
 * snmp_exporter + Prometheus and at most collectd.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../src/config/site-config.js';
import { silentLogger } from '../src/log.js';
import { PanoptesNode } from '../src/node/node.js';
import { startKafka } from '../test/services/kafka.js';
import { findBinary } from '../test/services/managed-process.js';
import { freeTcpPort } from '../test/services/ports.js';
import { startVictoriaMetrics } from '../test/services/victoria-metrics.js';
import { simulatedResources, writeLabPlugins } from '../test/support/lab.js';
import { syntheticCommunity } from '../src/sim/synthetic.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';
import { processCpu, startSimulator, stopSimulator } from './lib/simulator.js';
import type { SimulatorProcess } from './lib/simulator.js';

const INTERFACES = 24;

/**
 * The IF-MIB columns every system collects: name and numeric OID (those of the interface
 * profile the synthetic devices answer; they have no multicast or broadcast counters).
 */
export const COMPARE_COLUMNS: readonly (readonly [string, string])[] = [
  ['ifMtu', '1.3.6.1.2.1.2.2.1.4'],
  ['ifSpeed', '1.3.6.1.2.1.2.2.1.5'],
  ['ifAdminStatus', '1.3.6.1.2.1.2.2.1.7'],
  ['ifOperStatus', '1.3.6.1.2.1.2.2.1.8'],
  ['ifInDiscards', '1.3.6.1.2.1.2.2.1.13'],
  ['ifInErrors', '1.3.6.1.2.1.2.2.1.14'],
  ['ifOutDiscards', '1.3.6.1.2.1.2.2.1.19'],
  ['ifOutErrors', '1.3.6.1.2.1.2.2.1.20'],
  ['ifHCInOctets', '1.3.6.1.2.1.31.1.1.1.6'],
  ['ifHCInUcastPkts', '1.3.6.1.2.1.31.1.1.1.7'],
  ['ifHCOutOctets', '1.3.6.1.2.1.31.1.1.1.10'],
  ['ifHCOutUcastPkts', '1.3.6.1.2.1.31.1.1.1.11'],
  ['ifHighSpeed', '1.3.6.1.2.1.31.1.1.1.15'],
];
const IF_NAME_OID = '1.3.6.1.2.1.31.1.1.1.1';
const isCounter = (name: string): boolean => /(?:Octets|Pkts|Errors|Discards)$/.test(name);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Settings {
  readonly devices: number;
  readonly intervalSeconds: number;
  readonly intervals: number;
  readonly progress: (text: string) => void;
}

/** CPU seconds of processes (by pid) and of this process. */
function cpuOf(pids: readonly number[], self: boolean): number {
  let total = 0;
  for (const pid of pids) {
    const c = processCpu(pid);
    total += c.user + c.system;
  }
  if (self) {
    const c = process.cpuUsage();
    total += (c.user + c.system) / 1e6;
  }
  return total;
}

/** Waits out the warm-up interval, then measures `intervals` intervals; CPU seconds counted. */
async function measure(
  s: Settings,
  what: string,
  cpu: () => number,
  polls: () => number,
): Promise<{ cpu: number; polls: number }> {
  s.progress(`${what}: warm-up, one interval of ${s.intervalSeconds} s`);
  await sleep(s.intervalSeconds * 1000 + 2000);
  const cpu0 = cpu();
  const polls0 = polls();
  for (let i = 0; i < s.intervals; i++) {
    s.progress(`${what}: measuring interval ${i + 1} of ${s.intervals}`);
    await sleep(s.intervalSeconds * 1000);
  }
  return { cpu: cpu() - cpu0, polls: polls() - polls0 };
}

async function promQuery(base: string, query: string): Promise<number> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
  return Number(body.data?.result?.[0]?.value?.[1] ?? 0);
}

/**
 * Distinct label sets of a metric's series in the index (the series API: a query would not see
 * points younger than VictoriaMetrics' 30 s latency offset).
 */
async function seriesCount(base: string, metric: string, labels: readonly string[]): Promise<number> {
  const res = await fetch(`${base}/api/v1/series?match[]=${encodeURIComponent(metric)}`);
  const body = (await res.json()) as { data?: Record<string, string>[] };
  return new Set((body.data ?? []).map((s) => labels.map((l) => s[l] ?? '').join('\u0000'))).size;
}

/** The project: one node of every stage, through the test broker, into VictoriaMetrics. */
async function runPanoptes(s: Settings, sim: SimulatorProcess): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-compare-'));
  const [kafka, vm] = await Promise.all([startKafka(3), startVictoriaMetrics()]);
  let node: PanoptesNode | undefined;
  try {
    await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(s.devices, 'bench')));
    await writeLabPlugins(dir, {
      devicesFile: join(dir, 'devices.json'),
      intervalSeconds: s.intervalSeconds,
    });
    const yaml = [
      'site: bench',
      'plugins: {directories: [plugins], rescan_seconds: 0, builtin: false}',
      `bus: {type: kafka, brokers: [${kafka.brokers.join(', ')}]}`,
      `snmp: {port: ${sim.port}, timeout_ms: 5000, retries: 1, max_in_flight: 4000}`,
      'polling: {heartbeat: false, enrichment_wait_seconds: 900}',
      `consumers: {influx: {url: '${vm.url}', org: bench, bucket: bench}}`,
      '',
    ].join('\n');
    const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
    s.progress(`panoptes: starting ${s.devices} devices`);
    node = await PanoptesNode.start({ config, logger: silentLogger });
    const n = node;
    const pids = [vm.process.pid ?? 0];
    const polled = (): number => {
      const p = n.polling.polling.stats;
      return p.success + p.error + p.timeout;
    };
    const brokerPid = kafka.process.pid ?? 0;
    const broker0 = cpuOf([brokerPid], false);
    const { cpu, polls } = await measure(s, 'panoptes', () => cpuOf(pids, true), polled);
    const broker = cpuOf([brokerPid], false) - broker0;
    // Two plugins run per device and interval (interfaces and device status): one device poll is both.
    const devicePolls = polls / 2;
    const series = await seriesCount(vm.url, 'interface_bits_in__counter', ['resource_id', 'interface_name']);
    return [
      row('panoptes', 'CPU per device poll', (cpu / devicePolls) * 1000, 'CPU-ms'),
      row('panoptes', 'device polls measured', devicePolls, 'polls'),
      row(
        'panoptes',
        'Kafka test broker CPU per device poll (not counted)',
        (broker / devicePolls) * 1000,
        'CPU-ms',
      ),
      row('panoptes', 'interfaces stored', series, 'series'),
    ];
  } finally {
    await node?.stop();
    await Promise.all([kafka.stop(), vm.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

function row(subject: string, metric: string, value: number, unit: string): BenchRow {
  return { bench: 'compare', subject, metric, value, unit };
}

/** An snmp_exporter module walking exactly the compared columns, ifName looked up. */
function exporterConfig(): string {
  const lines = [
    'compare:',
    '  walk:',
    ...COMPARE_COLUMNS.map(([, oid]) => `    - ${oid}`),
    `    - ${IF_NAME_OID}`,
    '  version: 2',
    '  max_repetitions: 25',
    '  retries: 1',
    '  timeout: 5s',
    '  auth:',
    '    community: public',
    '  metrics:',
  ];
  for (const [name, oid] of COMPARE_COLUMNS) {
    lines.push(
      `    - name: ${name}`,
      `      oid: ${oid}`,
      `      type: ${isCounter(name) ? 'counter' : 'gauge'}`,
      '      indexes:',
      '        - labelname: ifIndex',
      '          type: gauge',
      '      lookups:',
      '        - labels: [ifIndex]',
      '          labelname: ifName',
      `          oid: ${IF_NAME_OID}`,
      '          type: DisplayString',
    );
  }
  return `${lines.join('\n')}\n`;
}

function spawnLogged(command: string, args: readonly string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (c: Buffer): void => {
    log = (log + c.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => log };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitHttp(url: string, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${what} did not answer ${url} within 30 s: ${log()}`);
}

/** snmp_exporter scraped by Prometheus into its local TSDB. */
async function runPrometheus(s: Settings, prometheus: string, exporter: string): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-compare-prom-'));
  const sim = await startSimulator(['--synthetic', `${s.devices}:${INTERFACES}`, '--port-per-device']);
  const children: ChildProcess[] = [];
  try {
    const [exporterPort, promPort] = [await freeTcpPort(), await freeTcpPort()];
    await writeFile(join(dir, 'snmp.yml'), exporterConfig());
    const targets = Array.from({ length: s.devices }, (_, i) => `'${sim.host}:${sim.port + i}'`);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${s.intervalSeconds}s`,
        `  scrape_timeout: ${Math.min(50, s.intervalSeconds - 1)}s`,
        'scrape_configs:',
        '  - job_name: snmp',
        '    metrics_path: /snmp',
        '    params: {module: [compare]}',
        `    static_configs: [{targets: [${targets.join(', ')}]}]`,
        '    relabel_configs:',
        '      - {source_labels: [__address__], target_label: __param_target}',
        '      - {source_labels: [__param_target], target_label: instance}',
        `      - {target_label: __address__, replacement: '127.0.0.1:${exporterPort}'}`,
        '',
      ].join('\n'),
    );
    const ex = spawnLogged(exporter, [
      `--config.file=${join(dir, 'snmp.yml')}`,
      `--web.listen-address=127.0.0.1:${exporterPort}`,
      '--log.level=warn',
    ]);
    children.push(ex.child);
    await waitHttp(`http://127.0.0.1:${exporterPort}/`, 'snmp_exporter', ex.log);
    const prom = spawnLogged(prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
    children.push(prom.child);
    const base = `http://127.0.0.1:${promPort}`;
    await waitHttp(`${base}/-/ready`, 'prometheus', prom.log);
    const pids = children.map((c) => c.pid ?? 0);
    let scrapes = 0;
    const polled = (): number => scrapes;
    // Scrapes are counted from Prometheus' own scrape_samples_scraped samples over the window.
    const { cpu } = await measure(s, 'snmp_exporter + Prometheus', () => cpuOf(pids, false), polled);
    scrapes = await promQuery(base, `count(count_over_time(up[${s.intervals * s.intervalSeconds}s]))`);
    const total = await promQuery(base, `sum(count_over_time(up[${s.intervals * s.intervalSeconds}s]))`);
    const series = await promQuery(base, 'count(ifHCInOctets)');
    return [
      row('snmp_exporter + Prometheus', 'CPU per device poll', (cpu / total) * 1000, 'CPU-ms'),
      row('snmp_exporter + Prometheus', 'device polls measured', total, 'polls'),
      row('snmp_exporter + Prometheus', 'targets scraped', scrapes, 'devices'),
      row('snmp_exporter + Prometheus', 'interfaces stored', series, 'series'),
    ];
  } finally {
    for (const c of children.reverse()) await stopChild(c);
    await stopSimulator(sim);
    await rm(dir, { recursive: true, force: true });
  }
}

/** collectd's snmp plugin writing CSV files. */
async function runCollectd(s: Settings, collectd: string, sim: SimulatorProcess): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-compare-collectd-'));
  let child: ChildProcess | undefined;
  try {
    const csv = join(dir, 'csv');
    await mkdir(csv);
    // One Data block reads every column of a row in one request (a types.db entry of 13 values),
    // the cheapest way to have collectd read a table; the row's instance is its ifName.
    const dsNames = COMPARE_COLUMNS.map(([name]) => name.replace(/^if/, '').toLowerCase());
    await writeFile(
      join(dir, 'types.db'),
      `ifmib_row ${COMPARE_COLUMNS.map(([name], i) => `${dsNames[i]}:${isCounter(name) ? 'DERIVE' : 'GAUGE'}:0:U`).join(', ')}\n`,
    );
    const values = COMPARE_COLUMNS.map(([, oid]) => `"${oid}"`).join(' ');
    const hosts = Array.from(
      { length: s.devices },
      (_, i) =>
        `  <Host "${syntheticCommunity(i + 1)}">\n    Address "${sim.host}:${sim.port}"\n    Version 2\n` +
        `    Community "${syntheticCommunity(i + 1)}"\n    Collect "ifmib"\n    Interval ${s.intervalSeconds}\n  </Host>`,
    );
    await writeFile(
      join(dir, 'collectd.conf'),
      [
        'Hostname "bench"',
        'FQDNLookup false',
        `Interval ${s.intervalSeconds}`,
        'ReadThreads 8',
        `BaseDir "${dir}"`,
        `PIDFile "${join(dir, 'collectd.pid')}"`,
        `TypesDB "/usr/share/collectd/types.db" "${join(dir, 'types.db')}"`,
        'LoadPlugin logfile',
        '<Plugin logfile>\n  LogLevel warning\n  File STDERR\n</Plugin>',
        'LoadPlugin snmp',
        'LoadPlugin csv',
        `<Plugin csv>\n  DataDir "${csv}"\n  StoreRates false\n</Plugin>`,
        '<Plugin snmp>',
        `  <Data "ifmib">\n    Type "ifmib_row"\n    Table true\n    TypeInstanceOID "${IF_NAME_OID}"\n    Values ${values}\n  </Data>`,
        ...hosts,
        '</Plugin>',
        '',
      ].join('\n'),
    );
    const c = spawnLogged(collectd, ['-f', '-C', join(dir, 'collectd.conf')]);
    child = c.child;
    await sleep(2000);
    if (child.exitCode !== null) throw new Error(`collectd exited: ${c.log()}`);
    const pid = child.pid ?? 0;
    // collectd counts nothing we can read: one poll per device and interval, checked by the files.
    const { cpu } = await measure(
      s,
      'collectd',
      () => cpuOf([pid], false),
      () => 0,
    );
    const hostDirs = await readdir(csv);
    let files = 0;
    for (const h of hostDirs) {
      for (const p of await readdir(join(csv, h))) {
        if ((await readdir(join(csv, h, p))).some((f) => f.startsWith('ifmib_row-'))) files++;
      }
    }
    if (files === 0) throw new Error(`collectd wrote no interface files: ${c.log()}`);
    const devicePolls = s.devices * s.intervals;
    return [
      row('collectd', 'CPU per device poll', (cpu / devicePolls) * 1000, 'CPU-ms'),
      row('collectd', 'device polls measured', devicePolls, 'polls'),
      row('collectd', 'devices with interface files', files, 'devices'),
    ];
  } finally {
    if (child !== undefined) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(
  options: { quick?: boolean; progress?: (text: string) => void } = {},
): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const settings: Settings = {
    devices: Number(process.env['COMPARE_DEVICES'] ?? 1000),
    intervalSeconds: Number(process.env['COMPARE_INTERVAL'] ?? 60),
    intervals: Number(process.env['COMPARE_INTERVALS'] ?? 3),
    progress,
  };
  const prometheus = findBinary('prometheus');
  const exporter = findBinary('prometheus-snmp-exporter');
  const collectd = findBinary('collectd');
  const missing = [
    prometheus === undefined ? 'prometheus' : '',
    exporter === undefined ? 'prometheus-snmp-exporter' : '',
    collectd === undefined ? 'collectd-core' : '',
  ].filter((p) => p !== '');
  if (missing.length > 0)
    throw new Error(
      `compare needs the Debian packages ${missing.join(', ')}: apt-get install ${missing.join(' ')}`,
    );
  const rows: BenchRow[] = [];
  const sim = await startSimulator(['--synthetic', `${settings.devices}:${INTERFACES}`]);
  try {
    rows.push(...(await runPanoptes(settings, sim)));
    rows.push(...(await runCollectd(settings, collectd as string, sim)));
  } finally {
    await stopSimulator(sim);
  }
  rows.push(...(await runPrometheus(settings, prometheus as string, exporter as string)));
  const per = (subject: string): number =>
    rows.find((r) => r.subject === subject && r.metric === 'CPU per device poll')?.value ?? NaN;
  rows.push(
    row(
      'panoptes',
      'CPU ratio to snmp_exporter + Prometheus (goal <= 0.5)',
      per('panoptes') / per('snmp_exporter + Prometheus'),
      'x',
    ),
    row('panoptes', 'CPU ratio to collectd (goal <= 1)', per('panoptes') / per('collectd'), 'x'),
  );
  printTable(rows, 'panoptes');
  const file = writeResults('compare', rows, { ...settings, progress: undefined, interfaces: INTERFACES });
  console.log(`\nwrote ${file}`);
}
