/**
 * The built-in Cisco profiles (plugins/profiles/cisco-ios.yaml and cisco-nxos.yaml) against
 * Panoptes' recordings of Cisco IOS and NX-OS devices and the metrics Panoptes made of them.
 *
 * Each device is polled as Panoptes' tests described it: resource_type 'cisco', its `model`
 * metadata, an os_name like the one its enrichment test filtered on, and a 300 s interval (the
 * `polling_frequency` of Panoptes' Cisco enrichment tests, which picks cpmCPUTotal5minRev).
 * Panoptes' NX-OS results come from polling an empty recording, so they hold only the values
 * its enrichment had stored (memory totals, fan and power supply counts).
 */
import { describe, expect, it } from 'vitest';
import type { MetricValue, MetricsGroup, Resource } from '../../src/model/index.js';
import { loadProfileFile, pollRecording, scoreAgainstPanoptes } from '../support/profile-harness.js';

const PANOPTES_INTERVAL = 300;
const IOS = 'CISCO IOS Software';
const NXOS = 'CISCO NX-OS(tm)';

interface Device {
  readonly recording: string;
  readonly profile: 'cisco-ios' | 'cisco-nxos';
  readonly model: string;
  readonly osName: string;
}

const DEVICES: readonly Device[] = [
  { recording: 'cisco-ios-3560G-48TS-S', profile: 'cisco-ios', model: '3560G-48TS-S', osName: IOS },
  { recording: 'cisco-ios-4900M', profile: 'cisco-ios', model: '4900M', osName: IOS },
  { recording: 'cisco-ios-4948E', profile: 'cisco-ios', model: '4948E', osName: IOS },
  { recording: 'cisco-ios-6509-E', profile: 'cisco-ios', model: '6509-E', osName: IOS },
  { recording: 'cisco-nxos-3048', profile: 'cisco-nxos', model: '3048', osName: NXOS },
  { recording: 'cisco-nxos-n3k_3048T', profile: 'cisco-nxos', model: '3048T', osName: NXOS },
];

function resourceOf(model: string, osName: string | undefined): Partial<Resource> {
  return {
    resource_class: 'network',
    resource_type: 'cisco',
    resource_metadata: osName === undefined ? { model } : { model, os_name: osName },
  };
}

function device(recording: string): Device {
  const d = DEVICES.find((x) => x.recording === recording);
  if (d === undefined) throw new Error(`no device ${recording}`);
  return d;
}

async function poll(
  recording: string,
  options: { interval?: number; model?: string } = {},
): Promise<MetricsGroup[]> {
  const d = device(recording);
  return pollRecording(`${recording}.snmprec`, {
    profiles: [d.profile],
    resource: resourceOf(options.model ?? d.model, d.osName),
    interval: options.interval ?? PANOPTES_INTERVAL,
  });
}

/** The groups of a type whose dimensions are exactly `dimensions`. */
function groupsWith(
  groups: readonly MetricsGroup[],
  type: string,
  dimensions: Readonly<Record<string, string>>,
): MetricsGroup[] {
  const wanted = Object.entries(dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(', ');
  return groups.filter(
    (g) =>
      g.metrics_group_type === type &&
      g.dimensions
        .map((d) => `${d.dimension_name}=${d.dimension_value}`)
        .sort()
        .join(', ') === wanted,
  );
}

/** The value of `metric` in the one group of `type` with exactly `dimensions` that has it. */
function valueOf(
  groups: readonly MetricsGroup[],
  type: string,
  dimensions: Readonly<Record<string, string>>,
  metric: string,
): MetricValue | undefined {
  const values = groupsWith(groups, type, dimensions).flatMap((g) =>
    g.metrics.filter((m) => m.metric_name === metric).map((m) => m.metric_value),
  );
  if (values.length > 1)
    throw new Error(`${values.length} values of ${type} ${JSON.stringify(dimensions)} ${metric}`);
  return values[0];
}

describe('built-in Cisco profiles reproduce Panoptes', () => {
  it.each(DEVICES)('$recording: at least 75% of Panoptes metric values', async (d) => {
    const groups = await poll(d.recording);
    const score = scoreAgainstPanoptes(groups, `${d.recording}.results.json`);
    expect(score.total, 'Panoptes results have metrics').toBeGreaterThan(0);
    expect(
      score.matched / score.total,
      `${d.recording} misses:\n${score.misses.join('\n')}`,
    ).toBeGreaterThanOrEqual(0.75);
  });

  it('reproduces at least 90% over all Cisco devices', async () => {
    let matched = 0;
    let total = 0;
    for (const d of DEVICES) {
      const score = scoreAgainstPanoptes(await poll(d.recording), `${d.recording}.results.json`);
      matched += score.matched;
      total += score.total;
    }
    expect(matched / total).toBeGreaterThanOrEqual(0.9);
  });
});

/** [recording, group type, dimensions, metric, value, what the row checks] */
const EXACT: readonly (readonly [string, string, Record<string, string>, string, number, string])[] = [
  [
    'cisco-ios-3560G-48TS-S',
    'cpu',
    { cpu_name: 'WS-C3560-48PS', cpu_no: 'Module 1', cpu_type: 'ctrl' },
    'cpu_utilization',
    6,
    '3560: CPU named by entPhysicalDescr of the entity named "1"',
  ],
  [
    'cisco-ios-3560G-48TS-S',
    'environment',
    {},
    'power_units_on',
    1,
    '3560: supplies from ciscoEnvMonSupplyState',
  ],
  ['cisco-ios-3560G-48TS-S', 'memory', { memory_type: 'I/O' }, 'memory_total', 12574720, 'used + free'],
  ['cisco-ios-4900M', 'environment', {}, 'fans_ok', 2, 'cefcFanTrayOperStatus on'],
  ['cisco-ios-4900M', 'environment', {}, 'power_units_total', 2, 'entities of class powerSupply'],
  [
    'cisco-ios-4948E',
    'environment',
    { sensor: 'Te1/49 Module Temperature Sensor' },
    'temperature_fahrenheit',
    108.32,
    '49xx: entSensorValue 424 at units scale read as 42.4 C',
  ],
  [
    'cisco-ios-6509-E',
    'cpu',
    { cpu_name: 'Physical Slot 1', cpu_no: 'Module 2', cpu_type: 'ctrl' },
    'cpu_utilization',
    16,
    'the CPU index taken as an entPhysicalIndex, as Panoptes did',
  ],
  ['cisco-ios-6509-E', 'environment', {}, 'fans_ok', 3, '6509-E: fans from ciscoEnvMonFanState'],
  [
    'cisco-ios-6509-E',
    'environment',
    { sensor: 'module 5 EARL device-1 temperature Sensor' },
    'temperature_fahrenheit',
    136.4,
    'celsius sensor at units scale',
  ],
  [
    'cisco-nxos-3048',
    'cpu',
    { cpu_name: 'Supervisor Module-1X', cpu_no: 'Module 9', cpu_type: 'ctrl' },
    'cpu_utilization',
    30,
    'cpmCPUTotal5minRev at 300 s',
  ],
  [
    'cisco-nxos-3048',
    'memory',
    { memory_type: 'Module 9' },
    'memory_total',
    8254396,
    'cpmCPUMemoryUsed + Free',
  ],
  ['cisco-nxos-3048', 'environment', {}, 'power_units_total', 4, 'entities of class powerSupply'],
  [
    'cisco-nxos-n3k_3048T',
    'cpu',
    { cpu_name: '48X1GE, 4X10G Supervior in Fixed Module-1', cpu_no: 'Module 1', cpu_type: 'ctrl' },
    'cpu_utilization',
    5,
    'n3k: CPU index 1 is module 1, the entity 22',
  ],
  ['cisco-nxos-n3k_3048T', 'memory', { memory_type: 'Module 1' }, 'memory_used', 2207236, 'n3k memory'],
  [
    'cisco-nxos-n3k_3048T',
    'environment',
    { sensor: 'Ethernet1/49(fahrenheit)' },
    'temperature_fahrenheit',
    85.61,
    'milli scale, celsius renamed in the sensor name',
  ],
];

describe('built-in Cisco profiles: exact groups', () => {
  it.each(EXACT)('%s %s %j %s = %d (%s)', async (recording, type, dimensions, metric, value) => {
    const groups = await poll(recording);
    expect(valueOf(groups, type, dimensions, metric)).toBe(value);
  });

  it('picks the CPU utilization column by interval', async () => {
    const module1 = { cpu_name: 'WS-C6509-E', cpu_no: 'Module 1', cpu_type: 'ctrl' };
    const at = async (interval: number): Promise<MetricValue | undefined> =>
      valueOf(await poll('cisco-ios-6509-E', { interval }), 'cpu', module1, 'cpu_utilization');
    expect(await at(30)).toBe(12); // cpmCPUTotalMonIntervalValue
    expect(await at(60)).toBe(9); // cpmCPUTotal1minRev
    const sup = { cpu_name: 'Supervisor Module-1X', cpu_no: 'Module 9', cpu_type: 'ctrl' };
    const nexus = async (interval: number): Promise<MetricValue | undefined> =>
      valueOf(await poll('cisco-nxos-3048', { interval }), 'cpu', sup, 'cpu_utilization');
    expect(await nexus(60)).toBe(33); // cpmCPUTotal1minRev
    expect(await nexus(300)).toBe(30); // cpmCPUTotal5minRev
  });

  it('applies the 49xx temperature scale only to 49xx models', async () => {
    const sensor = { sensor: 'Te1/49 Module Temperature Sensor' };
    const other = await poll('cisco-ios-4948E', { model: 'WS-C4948' });
    expect(valueOf(other, 'environment', sensor, 'temperature_fahrenheit')).toBe(795.2); // 424 C
  });

  it('uses the 3560 rules only for the 3560 models', async () => {
    // As another model, the CPU index 1 is read as entPhysicalIndex 1, which this switch lacks.
    const groups = await poll('cisco-ios-3560G-48TS-S', { model: 'unknown' });
    expect(groups.filter((g) => g.metrics_group_type === 'cpu')).toEqual([]);
  });

  it('selects IOS for a Cisco resource without os_name, and NX-OS only by os_name', async () => {
    const ios = await loadProfileFile('plugins/profiles/cisco-ios.yaml');
    const nxos = await loadProfileFile('plugins/profiles/cisco-nxos.yaml');
    const full = (model: string, osName: string | undefined): Resource => ({
      resource_id: 'sw1',
      resource_site: 'dc1',
      resource_endpoint: '192.0.2.1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'cisco',
      resource_creation_timestamp: 0,
      resource_creation_plugin: 'test',
      resource_metadata: resourceOf(model, osName).resource_metadata ?? {},
    });
    const cases: readonly (readonly [Resource, boolean, boolean])[] = [
      [full('4948E', undefined), true, false],
      [full('4948E', IOS), true, false],
      [full('3048', NXOS), false, true],
      [full('ASA5520', 'Cisco Adaptive Security Appliance'), false, false],
      [{ ...full('MX960', undefined), resource_type: 'juniper' }, false, false],
    ];
    for (const [resource, isIos, isNxos] of cases) {
      expect(ios.filter?.(resource), `IOS ${JSON.stringify(resource.resource_metadata)}`).toBe(isIos);
      expect(nxos.filter?.(resource), `NX-OS ${JSON.stringify(resource.resource_metadata)}`).toBe(isNxos);
    }
    expect(ios.sysObjectIds).toEqual(['1.3.6.1.4.1.9.1']);
    expect(nxos.sysObjectIds).toEqual(['1.3.6.1.4.1.9.12.3.1.3']);
  });
});
