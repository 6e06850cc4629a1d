/**
 * The embedded pipeline end to end against snmpsimd: discovery-json reads a devices.json, the
 * interface enrichment walks the names of a recorded 3-port switch, interface polling and device
 * status poll it every 2 s, and the JSONL consumer writes every published group. The test reads
 * the JSONL back (losslessly) and checks it against the recording
 * (fixtures/snmpsim/lab-switch.snmprec; its file name is the community).
 *
 * The recording is static, so what it can prove is values and plumbing: dimensions from the
 * enrichment, 64-bit counters exact beyond 2^53, the 32-bit fallback of interface 3 (it has no
 * ifHC* columns), gauges, polling status groups, uptime, and rates of 0 once a series has two
 * samples. A second resource whose community has no recording gets no answer from snmpsimd and
 * must come out as polling_status 3 (timeout) without disturbing the good device.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IF_MIB } from '../../plugins/lib/if-mib.js';
import type { RunStatus, RunStatusKind } from '../../src/actors/run-status.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { silentLogger } from '../../src/log.js';
import { parseJson, parseMetricsGroup } from '../../src/model/index.js';
import type { MetricType, MetricValue, MetricsGroup } from '../../src/model/index.js';
import { PanoptesNode } from '../../src/node/node.js';
import type { PipelineSnapshot } from '../../src/node/node.js';
import { startSnmpsim } from '../services/snmpsim.js';
import type { SnmpsimService } from '../services/snmpsim.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RECORDING_FILE = fileURLToPath(new URL('./fixtures/snmpsim/lab-switch.snmprec', import.meta.url));
const COMMUNITY = basename(RECORDING_FILE, '.snmprec');

const SITE = 'lab';
const GOOD = 'lab-switch-1';
const SILENT = 'lab-switch-silent';
/** No recording has this name, so snmpsimd does not answer it. */
const SILENT_COMMUNITY = 'no-such-recording';
const FREQUENCY = 2;

const COL = IF_MIB;

const RATE_COUNTERS = [
  'bits_in',
  'bits_out',
  'unicast_packets_in',
  'unicast_packets_out',
  'errors_in',
  'errors_out',
  'discards_in',
  'discards_out',
] as const;

interface Device {
  readonly id: string;
  readonly community: string;
}

interface RunResult {
  readonly groups: readonly MetricsGroup[];
  readonly runs: readonly RunStatus[];
  readonly snapshot: PipelineSnapshot;
  readonly lines: number;
}

let sim: SnmpsimService | undefined;
/** The recording: OID -> value as written. */
const recorded = new Map<string, string>();
const tempDirs: string[] = [];

function value(column: string, index: number): string {
  const v = recorded.get(`${column}.${index}`);
  if (v === undefined) throw new Error(`the recording has no ${column}.${index}`);
  return v;
}

const num = (column: string, index: number): number => Number(value(column, index));
const big = (column: string, index: number): bigint => BigInt(value(column, index));

function pluginFile(name: string, sections: string): string {
  const module = join(ROOT, 'plugins', `${name}.js`);
  return `[Core]\nName = ${name}\nModule = ${module}\n\n${sections.trim()}\n`;
}

/**
 * Writes a site (config, devices.json, plugin files) into a fresh temp dir, runs the embedded
 * pipeline until `done` holds for the run statuses seen (at most `maxMs`), stops it and reads
 * the JSONL it wrote.
 */
async function runPipeline(
  devices: readonly Device[],
  done: (runs: readonly RunStatus[]) => boolean,
  maxMs = 9000,
): Promise<RunResult> {
  if (sim === undefined) throw new Error('snmpsimd is not running');
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-test-embedded-'));
  tempDirs.push(dir);
  const pluginDir = join(dir, 'plugins');
  await mkdir(pluginDir);
  const devicesFile = join(dir, 'devices.json');
  await writeFile(
    devicesFile,
    JSON.stringify(
      {
        resources: devices.map((d) => ({
          resource_id: d.id,
          resource_site: SITE,
          resource_endpoint: '127.0.0.1',
          resource_class: 'network',
          resource_subclass: 'switch',
          resource_type: 'snmpsim',
          resource_creation_plugin: 'discovery-json',
          resource_metadata: { snmp_community: d.community },
        })),
      },
      null,
      2,
    ),
  );
  const plugins: Record<string, string> = {
    'discovery-json': `
[main]
execute_frequency = 300

[options]
file = ${devicesFile}`,
    'interface-enrichment': `
[main]
execute_frequency = 300
resource_filter = resource_class = 'network'
namespace = interface

[snmp]
max_repetitions = 4`,
    'interface-polling': `
[main]
execute_frequency = ${FREQUENCY}
resource_filter = resource_class = 'network'
timeout = 2

[snmp]
max_repetitions = 4

[enrichment]
preload = interface-enrichment:interface

[transforms]
interface_rates = rate:interface:${RATE_COUNTERS.join(',')}`,
    'device-status': `
[main]
execute_frequency = ${FREQUENCY}
resource_filter = resource_class = 'network'`,
  };
  for (const [name, sections] of Object.entries(plugins)) {
    await writeFile(join(pluginDir, `${name}.panoptes-plugin`), pluginFile(name, sections));
  }
  const configFile = join(dir, 'site.yaml');
  const yaml = [
    `site: ${SITE}`,
    'plugins:',
    '  directories: [plugins]',
    '  rescan_seconds: 0',
    'snmp:',
    `  port: ${sim.port}`,
    '  timeout_ms: 1000',
    '  retries: 0',
    'polling:',
    '  heartbeat: false',
    '',
  ].join('\n');
  await writeFile(configFile, yaml);
  const out = join(dir, 'm.jsonl');

  const pipeline = await PanoptesNode.start({
    config: parseSiteConfig(yaml, configFile),
    logger: silentLogger,
    out,
  });
  const runs: RunStatus[] = [];
  const subscription = pipeline.polling.polling.status$.subscribe((s) => runs.push(s));
  let snapshot: PipelineSnapshot;
  try {
    const deadline = Date.now() + maxMs;
    while (!done(runs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await pipeline.stop();
    subscription.unsubscribe();
    snapshot = pipeline.snapshot();
  }

  const text = await readFile(out, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const groups = lines.map((line, i) => {
    const parsed = parseMetricsGroup(parseJson(line, `${out}:${i + 1}`), `${out}:${i + 1}`);
    if (!parsed.ok) throw new Error(`${out}:${i + 1}: ${JSON.stringify(parsed.issues)}`);
    return parsed.value;
  });
  return { groups, runs, snapshot, lines: lines.length };
}

function count(runs: readonly RunStatus[], resource: string, plugin: string, status: RunStatusKind): number {
  return runs.filter((r) => r.resourceId === resource && r.plugin === plugin && r.status === status).length;
}

function ofResource(groups: readonly MetricsGroup[], resource: string, type: string): MetricsGroup[] {
  return groups.filter((g) => g.resource.resource_id === resource && g.metrics_group_type === type);
}

function dimension(group: MetricsGroup, name: string): string | undefined {
  return group.dimensions.find((d) => d.dimension_name === name)?.dimension_value;
}

function metric(group: MetricsGroup, name: string, type: MetricType): MetricValue | undefined {
  return group.metrics.find((m) => m.metric_name === name && m.metric_type === type)?.metric_value;
}

/** polling_status of every status group of one plugin for one resource, in order. */
function statuses(groups: readonly MetricsGroup[], resource: string, plugin: string): MetricValue[] {
  return ofResource(groups, resource, 'status')
    .filter((g) => dimension(g, 'plugin') === plugin)
    .map((g) => {
      expect(g.dimensions).toEqual([{ dimension_name: 'plugin', dimension_value: plugin }]);
      expect(g.metrics).toHaveLength(1);
      return metric(g, 'polling_status', 'gauge') ?? Number.NaN;
    });
}

beforeAll(async () => {
  const text = await readFile(RECORDING_FILE, 'utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [oid, , ...rest] = line.split('|');
    if (oid !== undefined) recorded.set(oid, rest.join('|'));
  }
  sim = await startSnmpsim({ recordings: { [COMMUNITY]: text } });
});

afterAll(async () => {
  await sim?.stop();
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

describe('embedded pipeline against snmpsimd (built-in plugins)', () => {
  it('publishes interface, device and status groups that match the recording', async () => {
    const { groups, runs, snapshot, lines } = await runPipeline(
      [{ id: GOOD, community: COMMUNITY }],
      (r) =>
        count(r, GOOD, 'interface-polling', 'success') >= 2 &&
        count(r, GOOD, 'device-status', 'success') >= 2,
    );
    expect(count(runs, GOOD, 'interface-polling', 'success')).toBeGreaterThanOrEqual(2);
    expect(count(runs, GOOD, 'device-status', 'success')).toBeGreaterThanOrEqual(2);
    expect(runs.filter((r) => r.status === 'error' || r.status === 'timeout')).toEqual([]);
    expect(snapshot.errors).toBe(0);
    expect(snapshot.written).toBe(lines);
    expect(lines).toBe(snapshot.groups);

    // Only what these plugins make, only for the one device (no heartbeat: polling.heartbeat false).
    expect(new Set(groups.map((g) => g.metrics_group_type))).toEqual(
      new Set(['interface', 'device', 'status']),
    );
    for (const g of groups) {
      expect(g.resource.resource_id).toBe(GOOD);
      expect(g.resource.resource_site).toBe(SITE);
      expect(g.resource.resource_metadata['snmp_community']).toBe(COMMUNITY);
      expect(g.resource.resource_creation_plugin).toBe('discovery-json');
    }

    // Status: the enrichment ran once (and was stored: polling found it, else status 8), every
    // polling run succeeded with every value (not 4 partial, not 8 enrichment failure).
    expect(statuses(groups, GOOD, 'interface-enrichment')).toEqual([0]);
    const pollingStatuses = statuses(groups, GOOD, 'interface-polling');
    expect(pollingStatuses.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pollingStatuses)).toEqual(new Set([0]));
    const deviceStatuses = statuses(groups, GOOD, 'device-status');
    expect(deviceStatuses.length).toBeGreaterThanOrEqual(2);
    expect(new Set(deviceStatuses)).toEqual(new Set([0]));

    // Device: uptime from sysUpTime (TimeTicks, hundredths of a second).
    const device = ofResource(groups, GOOD, 'device');
    expect(device).toHaveLength(deviceStatuses.length);
    for (const g of device) {
      expect(g.metrics_group_interval).toBe(FREQUENCY);
      expect(g.dimensions).toEqual([]);
      expect(g.metrics.map((m) => [m.metric_name, m.metric_type, m.metric_value])).toEqual([
        ['uptime_seconds', 'gauge', Number(recorded.get('1.3.6.1.2.1.1.3.0')) / 100],
      ]);
    }
    expect(metric(device[0] as MetricsGroup, 'uptime_seconds', 'gauge')).toBe(123456.78);

    // Interfaces: one group per ifIndex per run, dimensions from the enrichment.
    const interfaces = ofResource(groups, GOOD, 'interface');
    expect(interfaces).toHaveLength(3 * pollingStatuses.length);
    // Panoptes' speed: ifHighSpeed x 10^6 above 1 Mbit/s, else ifSpeed.
    const speedOf = (i: number): number =>
      num(COL.ifHighSpeed, i) > 1 ? num(COL.ifHighSpeed, i) * 1e6 : num(COL.ifSpeed, i);
    const NOT_SET = '<not set>';
    const expectedDimensions = (i: number): { dimension_name: string; dimension_value: string }[] => {
      const speed = speedOf(i);
      const alias = value(COL.ifAlias, i);
      return [
        { dimension_name: 'interface_name', dimension_value: value(COL.ifName, i) },
        { dimension_name: 'alias', dimension_value: alias === '' ? NOT_SET : alias },
        { dimension_name: 'description', dimension_value: value(COL.ifDescr, i) },
        { dimension_name: 'media_type', dimension_value: num(COL.ifType, i) === 6 ? 'ethernetCsmacd' : '?' },
        { dimension_name: 'port_speed', dimension_value: String(speed) },
        { dimension_name: 'configured_speed', dimension_value: String(speed) },
        { dimension_name: 'parent_interface_name', dimension_value: NOT_SET },
        { dimension_name: 'parent_interface_media_type', dimension_value: NOT_SET },
        { dimension_name: 'parent_interface_port_speed', dimension_value: NOT_SET },
        { dimension_name: 'parent_interface_configured_speed', dimension_value: NOT_SET },
      ];
    };
    const noParent = [
      { dimension_name: 'parent_interface_name', dimension_value: NOT_SET },
      { dimension_name: 'parent_interface_media_type', dimension_value: NOT_SET },
      { dimension_name: 'parent_interface_port_speed', dimension_value: NOT_SET },
      { dimension_name: 'parent_interface_configured_speed', dimension_value: NOT_SET },
    ];
    // Spelled out once, so a wrong fixture cannot make the derivation above agree with itself.
    expect(expectedDimensions(1)).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Gi1/0/1' },
      { dimension_name: 'alias', dimension_value: 'uplink to core-1' },
      { dimension_name: 'description', dimension_value: 'GigabitEthernet1/0/1' },
      { dimension_name: 'media_type', dimension_value: 'ethernetCsmacd' },
      { dimension_name: 'port_speed', dimension_value: '10000000000' },
      { dimension_name: 'configured_speed', dimension_value: '10000000000' },
      ...noParent,
    ]);
    expect(expectedDimensions(3)).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Fa0/3' },
      { dimension_name: 'alias', dimension_value: NOT_SET },
      { dimension_name: 'description', dimension_value: 'FastEthernet0/3' },
      { dimension_name: 'media_type', dimension_value: 'ethernetCsmacd' },
      { dimension_name: 'port_speed', dimension_value: '100000000' },
      { dimension_name: 'configured_speed', dimension_value: '100000000' },
      ...noParent,
    ]);

    for (const i of [1, 2, 3]) {
      const name = value(COL.ifName, i);
      const series = interfaces.filter((g) => dimension(g, 'interface_name') === name);
      expect(series, `interface ${i} (${name})`).toHaveLength(pollingStatuses.length);
      const hc = recorded.has(`${COL.ifHCInOctets}.${i}`);
      expect(hc, 'interfaces 1 and 2 have HC counters, interface 3 has not').toBe(i !== 3);
      const counters: Record<(typeof RATE_COUNTERS)[number], bigint> = {
        bits_in: (hc ? big(COL.ifHCInOctets, i) : big(COL.ifInOctets, i)) * 8n,
        bits_out: (hc ? big(COL.ifHCOutOctets, i) : big(COL.ifOutOctets, i)) * 8n,
        unicast_packets_in: hc ? big(COL.ifHCInUcastPkts, i) : big(COL.ifInUcastPkts, i),
        unicast_packets_out: hc ? big(COL.ifHCOutUcastPkts, i) : big(COL.ifOutUcastPkts, i),
        errors_in: big(COL.ifInErrors, i),
        errors_out: big(COL.ifOutErrors, i),
        discards_in: big(COL.ifInDiscards, i),
        discards_out: big(COL.ifOutDiscards, i),
      };
      const speed = speedOf(i);
      series.forEach((g, run) => {
        const where = `interface ${i}, run ${run + 1}`;
        expect(g.metrics_group_interval, where).toBe(FREQUENCY);
        expect(g.dimensions, where).toEqual(expectedDimensions(i));
        for (const [name, expected] of Object.entries(counters)) {
          const v = metric(g, name, 'counter');
          // Within 2^53 a number, beyond it a bigint with every digit.
          expect(typeof v, `${where}: ${name}`).toBe(
            expected > BigInt(Number.MAX_SAFE_INTEGER) ? 'bigint' : 'number',
          );
          expect(BigInt(v ?? -1), `${where}: ${name}`).toBe(expected);
        }
        expect(metric(g, 'admin_state', 'gauge'), where).toBe(num(COL.ifAdminStatus, i));
        expect(metric(g, 'oper_state', 'gauge'), where).toBe(num(COL.ifOperStatus, i));
        expect(metric(g, 'configured_speed', 'gauge'), where).toBe(speed);
        // Static recording: the first run is the baseline (no rate), later runs rate 0.
        const rates = RATE_COUNTERS.map((c) => metric(g, c, 'gauge'));
        expect(rates, where).toEqual(RATE_COUNTERS.map(() => (run === 0 ? undefined : 0)));
        // The recording has no ifMtu, multicast/broadcast or EtherLike columns: those optional
        // metrics are left out; oper_admin_state_mismatch comes from the two states.
        expect(metric(g, 'oper_admin_state_mismatch', 'gauge'), where).toBe(
          num(COL.ifAdminStatus, i) === num(COL.ifOperStatus, i) ? 0 : 1,
        );
        expect(g.metrics, where).toHaveLength(8 + 4 + (run === 0 ? 0 : 8));
      });
    }

    // The values that prove exactness and the fallback, spelled out.
    const first = (name: string): MetricsGroup =>
      interfaces.find((g) => dimension(g, 'interface_name') === name) as MetricsGroup;
    expect(metric(first('Gi1/0/1'), 'bits_in', 'counter')).toBe(98765431209876536n);
    expect(metric(first('Gi1/0/1'), 'unicast_packets_in', 'counter')).toBe(9007199254740993n);
    expect(metric(first('Gi1/0/1'), 'bits_out', 'counter')).toBe(9876543120987654312n);
    expect(metric(first('Gi1/0/2'), 'bits_in', 'counter')).toBe(187798691840);
    expect(metric(first('Fa0/3'), 'bits_in', 'counter')).toBe(32000000000);
    expect(metric(first('Fa0/3'), 'bits_out', 'counter')).toBe(31999999992);
    expect(metric(first('Fa0/3'), 'configured_speed', 'gauge')).toBe(100_000_000);
    expect(metric(first('Gi1/0/1'), 'configured_speed', 'gauge')).toBe(10_000_000_000);
  });

  it('reports a device that does not answer as polling_status 3 while the good one still reports', async () => {
    const { groups, runs, snapshot } = await runPipeline(
      [
        { id: GOOD, community: COMMUNITY },
        { id: SILENT, community: SILENT_COMMUNITY },
      ],
      (r) =>
        count(r, GOOD, 'interface-polling', 'success') >= 1 &&
        count(r, GOOD, 'device-status', 'success') >= 1 &&
        count(r, SILENT, 'interface-polling', 'timeout') >= 1 &&
        count(r, SILENT, 'device-status', 'timeout') >= 1,
    );
    expect(count(runs, SILENT, 'interface-polling', 'timeout')).toBeGreaterThanOrEqual(1);
    expect(count(runs, SILENT, 'device-status', 'timeout')).toBeGreaterThanOrEqual(1);
    expect(runs.filter((r) => r.resourceId === SILENT && r.status === 'success')).toEqual([]);
    expect(
      runs.filter((r) => r.resourceId === GOOD && (r.status === 'error' || r.status === 'timeout')),
    ).toEqual([]);
    expect(snapshot.timeouts).toBeGreaterThanOrEqual(3); // enrichment, interface polling, device status

    // The silent device: status groups only, every one a timeout.
    expect(statuses(groups, SILENT, 'interface-enrichment')).toEqual([3]);
    const silentPolling = statuses(groups, SILENT, 'interface-polling');
    expect(silentPolling.length).toBeGreaterThanOrEqual(1);
    expect(new Set(silentPolling)).toEqual(new Set([3]));
    const silentDevice = statuses(groups, SILENT, 'device-status');
    expect(silentDevice.length).toBeGreaterThanOrEqual(1);
    expect(new Set(silentDevice)).toEqual(new Set([3]));
    expect(
      new Set(groups.filter((g) => g.resource.resource_id === SILENT).map((g) => g.metrics_group_type)),
    ).toEqual(new Set(['status']));

    // The good device is unaffected.
    expect(statuses(groups, GOOD, 'interface-enrichment')).toEqual([0]);
    const goodPolling = statuses(groups, GOOD, 'interface-polling');
    expect(goodPolling.length).toBeGreaterThanOrEqual(1);
    expect(new Set(goodPolling)).toEqual(new Set([0]));
    const goodDevice = statuses(groups, GOOD, 'device-status');
    expect(goodDevice.length).toBeGreaterThanOrEqual(1);
    expect(new Set(goodDevice)).toEqual(new Set([0]));
    const interfaces = ofResource(groups, GOOD, 'interface');
    expect(interfaces).toHaveLength(3 * goodPolling.length);
    expect(new Set(interfaces.map((g) => dimension(g, 'interface_name')))).toEqual(
      new Set(['Gi1/0/1', 'Gi1/0/2', 'Fa0/3']),
    );
    expect(metric(interfaces[0] as MetricsGroup, 'bits_in', 'counter')).toBe(98765431209876536n);
    const device = ofResource(groups, GOOD, 'device');
    expect(device).toHaveLength(goodDevice.length);
    expect(metric(device[0] as MetricsGroup, 'uptime_seconds', 'gauge')).toBe(123456.78);
  });
});
