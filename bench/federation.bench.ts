/**
 * `federation`: N edge sites forwarding into one central cluster, on this machine, and the
 * per-device figures a fleet is sized from (docs/federation.md).
 *
 * FEDERATION_EDGES edge processes (default 4; `panoptes run` from the built CLI, each on the
 * in-process bus and store with federation.upstream) poll FEDERATION_DEVICES simulated devices
 * each (default 500; 24 interfaces; interface polling and device status every
 * FEDERATION_INTERVAL seconds, default 10) served by one simulator process, and forward to one
 * Kafka-protocol cluster (librdkafka's mock cluster). Then:
 *
 *   steady      FEDERATION_WINDOW seconds (default 60) after a warm-up of two intervals: CPU of
 *               each edge process and of the central broker (from /proc), plugin runs (checks),
 *               records and payload bytes acknowledged upstream (the edges' /metrics), and the
 *               bytes the broker's connections received (`ss -tin` bytes_received: the
 *               gzip-compressed produce requests as they cross the WAN); beside it, a sample of
 *               the records at the centre (taken before the window) gzipped in batches of 100
 *   outage      the central cluster frozen (SIGSTOP) for FEDERATION_OUTAGE seconds (default 30):
 *               the spool's payload bytes at its end, per device-interval
 *   drain       after SIGCONT, until every spool is empty: records per second sent from the
 *               spools (federation.drain_records_per_second is set high, so this is what the
 *               edges and the broker manage)
 *
 * Reported per device-interval (one device, every plugin, one interval) and, from those, a
 * fleet of 100 sites x 10,000 devices on a 60 s interval: checks per second, edge cores per
 * site, bytes per second upstream (payload and on the wire), the central broker's cores, and the spool
 * one site needs for a 4-hour outage.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { KafkaBus } from '../src/bus/kafka-bus.js';
import { silentLogger } from '../src/log.js';
import { startKafka } from '../test/services/kafka.js';
import { freeTcpPort } from '../test/services/ports.js';
import { CLI, ROOT, scrapePort } from '../test/support/cluster.js';
import { simulatedResources, writeLabPlugins } from '../test/support/lab.js';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';
import { processCpu, startSimulator, stopSimulator } from './lib/simulator.js';

const INTERFACES = 24;
const FLEET_SITES = 100;
const FLEET_DEVICES = 10_000;
const FLEET_INTERVAL_S = 60;
const OUTAGE_HOURS = 4;

interface Edge {
  readonly site: string;
  readonly child: ChildProcess;
  readonly metricsPort: number;
  output: string;
}

interface Snapshot {
  readonly cpu: number;
  readonly checks: number;
  readonly groups: number;
  readonly records: number;
  readonly bytes: number;
  readonly spoolBytes: number;
  readonly spoolRecords: number;
  readonly drained: number;
}

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 1)
    throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return Math.round(v);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuOf(pid: number | undefined): number {
  if (pid === undefined) throw new Error('process has no pid');
  const c = processCpu(pid);
  return c.user + c.system;
}

/**
 * Bytes the broker's open TCP connections have received so far (`ss -tin`: bytes_received of
 * every established connection whose local port is a broker's): the produce requests as they
 * cross the network, compressed.
 */
function brokerBytesReceived(brokers: readonly string[]): number {
  const ports = new Set(brokers.map((b) => b.slice(b.lastIndexOf(':') + 1)));
  const lines = execFileSync('ss', ['-tinH', 'state', 'established'], { encoding: 'utf8' }).split('\n');
  let total = 0;
  let counting = false;
  for (const line of lines) {
    if (/^\S/.test(line) || /^\s*\d+\s+\d+\s/.test(line)) {
      // A connection: Recv-Q Send-Q Local:Port Peer:Port
      const local = line.trim().split(/\s+/)[2] ?? '';
      counting = ports.has(local.slice(local.lastIndexOf(':') + 1));
    } else if (counting) {
      const m = /bytes_received:(\d+)/.exec(line);
      if (m?.[1] !== undefined) total += Number(m[1]);
    }
  }
  return total;
}

async function snapshot(edge: Edge): Promise<Snapshot> {
  const m = await scrapePort(edge.metricsPort);
  let checks = 0;
  for (const [k, v] of m) if (k.startsWith('panoptes_plugin_runs_total{kind="polling"')) checks += v;
  const get = (name: string): number => m.get(name) ?? 0;
  return {
    cpu: cpuOf(edge.child.pid),
    checks,
    groups: get('panoptes_polling_sent_total'),
    records: get('panoptes_forward_forwarded_total') + get('panoptes_forward_drained_total'),
    bytes: get('panoptes_forward_bytes_total'),
    spoolBytes: get('panoptes_forward_spool_bytes'),
    spoolRecords: get('panoptes_forward_spool_records'),
    drained: get('panoptes_forward_drained_total'),
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`federation bench: timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Gzipped size over plain size of the records, in batches of 100 (key, value, headers). */
function gzipRatio(
  records: readonly { key: string; value: Buffer; headers: Record<string, string> }[],
): number {
  let plain = 0;
  let packed = 0;
  for (let i = 0; i < records.length; i += 100) {
    const parts: Buffer[] = [];
    for (const r of records.slice(i, i + 100)) {
      parts.push(Buffer.from(r.key), r.value);
      for (const [k, v] of Object.entries(r.headers)) parts.push(Buffer.from(k), Buffer.from(v));
    }
    const batch = Buffer.concat(parts);
    plain += batch.length;
    packed += gzipSync(batch).length;
  }
  return plain > 0 ? packed / plain : 1;
}

export async function main(options: { progress?: (text: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? (() => undefined);
  const edges = envInt('FEDERATION_EDGES', 4);
  const devices = envInt('FEDERATION_DEVICES', 500);
  const interval = envInt('FEDERATION_INTERVAL', 10);
  const windowS = envInt('FEDERATION_WINDOW', 60);
  const outageS = envInt('FEDERATION_OUTAGE', 30);
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-federation-'));
  const sim = await startSimulator(['--synthetic', `${edges * devices}:${INTERFACES}`]);
  const central = await startKafka(1, { socketTimeoutMs: 300_000 });
  const centreBus = new KafkaBus({ brokers: central.brokers, logger: silentLogger, waitForCluster: true });
  const running: Edge[] = [];
  try {
    const all = simulatedResources(edges * devices, 'unset');
    for (let e = 0; e < edges; e++) {
      const site = `edge${e}`;
      const edgeDir = join(dir, site);
      const devicesFile = join(edgeDir, 'devices.json');
      await writeLabPlugins(edgeDir, { devicesFile, intervalSeconds: interval });
      await writeFile(
        devicesFile,
        JSON.stringify(all.slice(e * devices, (e + 1) * devices).map((r) => ({ ...r, resource_site: site }))),
      );
      await writeFile(
        join(edgeDir, 'edge.yaml'),
        [
          `site: ${site}`,
          'plugins: {directories: [plugins], rescan_seconds: 0, builtin: false}',
          `snmp: {port: ${sim.port}, timeout_ms: 5000, retries: 1}`,
          'polling: {heartbeat: false}',
          'federation:',
          `  upstream: {brokers: [${central.brokers.join(', ')}]}`,
          '  spool_dir: spool',
          `  spool_max_bytes: ${16 * 1024 ** 3}`,
          '  drain_records_per_second: 1000000',
          '',
        ].join('\n'),
      );
      const metricsPort = await freeTcpPort();
      const child = spawn(
        process.execPath,
        [CLI, 'run', '--config', join(edgeDir, 'edge.yaml'), '--metrics-port', String(metricsPort)],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PANOPTES_LOG_LEVEL: 'warn' } },
      );
      const edge: Edge = { site, child, metricsPort, output: '' };
      const take = (b: Buffer): void => {
        edge.output = (edge.output + b.toString()).slice(-20_000);
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      running.push(edge);
    }
    progress(`${edges} edges x ${devices} devices: starting`);
    for (const edge of running) {
      await until(
        `${edge.site} to be ready`,
        async () => (await fetch(`http://127.0.0.1:${edge.metricsPort}/readyz`)).ok,
        120_000,
      );
    }
    // A sample of what reaches the centre, for the compression ratio; stopped before the
    // steady window, so the broker serves only the edges then.
    const sample: { key: string; value: Buffer; headers: Record<string, string> }[] = [];
    const sampling = await centreBus.subscribe({
      groupId: 'bench-sample',
      topics: ['edge0-processed'],
      handler: (m) => {
        if (sample.length < 2000 && m.value !== null)
          sample.push({ key: m.key ?? '', value: m.value, headers: { ...m.headers } });
        return Promise.resolve();
      },
    });
    progress(`warm-up, two intervals of ${interval} s`);
    await sleep(2 * interval * 1000 + 2000);
    await sampling.stop();

    progress(`steady: ${windowS} s`);
    const c0 = cpuOf(central.process.pid);
    const r0 = brokerBytesReceived(central.brokers);
    const s0 = await Promise.all(running.map(snapshot));
    await sleep(windowS * 1000);
    const s1 = await Promise.all(running.map(snapshot));
    const centralCpu = cpuOf(central.process.pid) - c0;
    const wire = brokerBytesReceived(central.brokers) - r0;
    const sum = (f: (i: number) => number): number => running.reduce((n, _, i) => n + f(i), 0);
    const d = (f: (s: Snapshot) => number): number => sum((i) => f(s1[i] as Snapshot) - f(s0[i] as Snapshot));
    const edgeCpu = d((s) => s.cpu);
    const checks = d((s) => s.checks);
    const groups = d((s) => s.groups);
    const records = d((s) => s.records);
    const bytes = d((s) => s.bytes);
    const devicePolls = (edges * devices * windowS) / interval;
    const ratio = gzipRatio(sample);

    progress(`outage: the central cluster frozen for ${outageS} s`);
    const o0 = await Promise.all(running.map(snapshot));
    central.process.signal('SIGSTOP');
    let o1: Snapshot[];
    try {
      await sleep(outageS * 1000);
      o1 = await Promise.all(running.map(snapshot));
    } finally {
      central.process.signal('SIGCONT');
    }
    const spoolBytes = o1.reduce((n, s) => n + s.spoolBytes, 0);
    const spoolRecords = o1.reduce((n, s) => n + s.spoolRecords, 0);
    const outageCpu = o1.reduce((n, s, i) => n + s.cpu - (o0[i] as Snapshot).cpu, 0);

    progress(`drain: ${spoolRecords} spooled records`);
    const t0 = Date.now();
    let last: Snapshot[] = o1;
    await until(
      'the spools to drain',
      async () => {
        last = await Promise.all(running.map(snapshot));
        return last.every((s) => s.spoolRecords === 0);
      },
      600_000,
    );
    const drainS = (Date.now() - t0) / 1000;
    const drained = last.reduce((n, s, i) => n + s.drained - (o1[i] as Snapshot).drained, 0);

    const perPoll = (v: number): number => v / devicePolls;
    const outagePolls = (edges * devices * outageS) / interval;
    const fleetPollsPerSecond = (FLEET_SITES * FLEET_DEVICES) / FLEET_INTERVAL_S;
    const sitePollsPerSecond = FLEET_DEVICES / FLEET_INTERVAL_S;
    const rows: BenchRow[] = [];
    const row = (subject: string, metric: string, value: number, unit: string): void => {
      rows.push({ bench: 'federation', subject, metric, value, unit });
    };
    row('measured', 'edges', edges, 'processes');
    row('measured', 'devices per edge', devices, 'devices');
    row('measured', 'interval', interval, 's');
    row('measured', 'checks per device-interval', perPoll(checks), 'plugin runs');
    row('measured', 'metrics groups per device-interval', perPoll(groups), 'groups');
    row('measured', 'records upstream per device-interval', perPoll(records), 'records');
    row('measured', 'edge CPU per device-interval', perPoll(edgeCpu) * 1e6, 'us');
    row('measured', 'edge CPU share of the steady window', edgeCpu / windowS, 'cores');
    row('measured', 'payload upstream per device-interval', perPoll(bytes), 'bytes');
    row(
      'measured',
      'bytes the broker received per device-interval (on the wire, gzip)',
      perPoll(wire),
      'bytes',
    );
    row('measured', 'wire bytes over payload', bytes > 0 ? wire / bytes : 0, 'ratio');
    row('measured', 'gzip size over payload (sample, 100-record batches)', ratio, 'ratio');
    row('measured', 'central broker CPU per record', records > 0 ? (centralCpu / records) * 1e6 : 0, 'us');
    row('measured', 'spool per device-interval of outage', spoolBytes / outagePolls, 'bytes');
    row('measured', 'edge CPU per device-interval while spooling', (outageCpu / outagePolls) * 1e6, 'us');
    row('measured', 'records drained per second (all edges)', drainS > 0 ? drained / drainS : 0, 'records/s');
    row('measured', 'drain time for the outage', drainS, 's');
    const fleet = `${FLEET_SITES} sites x ${FLEET_DEVICES.toLocaleString('en-US')} devices at ${FLEET_INTERVAL_S} s`;
    row(fleet, 'checks per second (fleet)', perPoll(checks) * fleetPollsPerSecond, 'checks/s');
    row(fleet, 'edge cores per site', perPoll(edgeCpu) * sitePollsPerSecond, 'cores');
    row(fleet, 'payload upstream per site', perPoll(bytes) * sitePollsPerSecond, 'bytes/s');
    row(fleet, 'on the wire upstream per site (gzip)', perPoll(wire) * sitePollsPerSecond, 'bytes/s');
    row(fleet, 'on the wire upstream, whole fleet (gzip)', perPoll(wire) * fleetPollsPerSecond, 'bytes/s');
    row(
      fleet,
      'central broker cores (whole fleet)',
      records > 0 ? (centralCpu / records) * perPoll(records) * fleetPollsPerSecond : 0,
      'cores',
    );
    row(
      fleet,
      `spool per site for a ${OUTAGE_HOURS}-hour outage`,
      (spoolBytes / outagePolls) * sitePollsPerSecond * OUTAGE_HOURS * 3600,
      'bytes',
    );
    printTable(rows, 'measured');
    const file = writeResults('federation', rows, {
      edges,
      devicesPerEdge: devices,
      intervalSeconds: interval,
      windowSeconds: windowS,
      outageSeconds: outageS,
      interfaces: INTERFACES,
      sampleRecords: sample.length,
    });
    console.log(`\nwrote ${file}`);
  } catch (e) {
    for (const edge of running) console.error(`[${edge.site}] ${edge.output.slice(-2000)}`);
    throw e;
  } finally {
    central.process.signal('SIGCONT');
    await Promise.all(
      running.map(
        (edge) =>
          new Promise<void>((resolve) => {
            if (edge.child.exitCode !== null) return resolve();
            const kill = setTimeout(() => edge.child.kill('SIGKILL'), 30_000);
            edge.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            edge.child.kill('SIGTERM');
          }),
      ),
    );
    await centreBus.close();
    await central.stop();
    await stopSimulator(sim);
    await rm(dir, { recursive: true, force: true });
  }
}
