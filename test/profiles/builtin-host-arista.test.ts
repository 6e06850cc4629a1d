/**
 * The built-in host-resources, ucd-snmp and arista profiles.
 *
 * There is no Panoptes result for these devices (Panoptes had no host plugin, and its Arista
 * plugin has no test data), so the values are checked against what the MIBs and Panoptes' Arista
 * formulas give by hand: the Linux host on the real walk in test/fixtures/panoptes, the Arista
 * rules on a small recording laid out as EOS numbers its entities (written below). The net-snmp
 * tools check the host's disks independently in host-resources.int.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsGroup } from '../../src/model/index.js';
import { parseSnmprecLine } from '../../src/snmp/snmprec.js';
import {
  BUILTIN_PROFILES,
  builtinProfile,
  loadProfileFile,
  pollRecording,
  pollRecordingResult,
  testResource,
} from '../support/profile-harness.js';

/** `type{name=value,...}` (dimensions sorted) -> metric name -> value. */
function series(groups: readonly MetricsGroup[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const g of groups) {
    const dims = g.dimensions
      .map((d) => `${d.dimension_name}=${d.dimension_value}`)
      .sort()
      .join(',');
    const key = `${g.metrics_group_type}{${dims}}`;
    const metrics = out.get(key) ?? {};
    for (const m of g.metrics) metrics[m.metric_name] = Number(m.metric_value);
    out.set(key, metrics);
  }
  return out;
}

function metricType(groups: readonly MetricsGroup[], type: string, metric: string): string | undefined {
  for (const g of groups) {
    if (g.metrics_group_type !== type) continue;
    const m = g.metrics.find((x) => x.metric_name === metric);
    if (m !== undefined) return m.metric_type;
  }
  return undefined;
}

const HOST = { resource_class: 'system', resource_subclass: 'host', resource_type: 'linux' } as const;

describe('built-in profiles: files', () => {
  it.each(['host-resources', 'ucd-snmp', 'arista'])('%s.yaml loads', async (name) => {
    const p = await loadProfileFile(join(BUILTIN_PROFILES, `${name}.yaml`));
    expect(p.name).toBe(name);
  });

  it.each([
    ['host-resources', HOST, true],
    ['ucd-snmp', HOST, true],
    ['host-resources', { resource_class: 'network', resource_subclass: 'switch' }, false],
    ['arista', { resource_type: 'arista' }, true],
    ['arista', { resource_type: 'cisco' }, false],
  ] as const)('%s: the filter selects %j: %s', async (name, fields, selected) => {
    const p = await builtinProfile(name);
    expect(p.filter?.(testResource(fields))).toBe(selected);
  });

  it.each([
    ['host-resources', '1.3.6.1.4.1.8072.3.2'],
    ['ucd-snmp', '1.3.6.1.4.1.8072.3.2'],
    ['arista', '1.3.6.1.4.1.30065.1'],
  ])('%s: sysObjectID prefix %s', async (name, prefix) => {
    expect((await builtinProfile(name)).sysObjectIds).toEqual([prefix]);
  });
});

describe('Linux host (linux-full-walk.snmprec, net-snmp 5.x on Linux 2.6)', () => {
  it('reads the recording: an IpAddress written as four raw characters is four octets, as snmpsim serves it', () => {
    expect(parseSnmprecLine('1.3.6.1.2.1.6.13.1.4.1|64|J}M}').value).toBe('74.125.77.125');
  });

  let groups: MetricsGroup[];
  let got: Map<string, Record<string, number>>;

  beforeAll(async () => {
    groups = await pollRecording('linux-full-walk.snmprec', {
      profiles: ['host-resources', 'ucd-snmp'],
      resource: HOST,
    });
    got = series(groups);
  });

  // hrStorageSize / hrStorageUsed x hrStorageAllocationUnits of the recording.
  it.each([
    ['hrStorageRam', 'Physical memory', 1021976 * 1024, 958176 * 1024],
    ['hrStorageVirtualMemory', 'Virtual memory', 2009964 * 1024, 985608 * 1024],
    ['hrStorageOther', 'Memory buffers', 1021976 * 1024, 23900 * 1024],
    ['hrStorageOther', 'Cached memory', 207040 * 1024, 207040 * 1024],
    ['hrStorageVirtualMemory', 'Swap space', 987988 * 1024, 27432 * 1024],
    ['hrStorageFixedDisk', '/', 2164327 * 4096, 1667935 * 4096],
    ['hrStorageFixedDisk', '/usr/local', 16822765 * 4096, 13299705 * 4096],
    ['hrStorageFixedDisk', '/export', 96144541 * 4096, 90601816 * 4096],
  ])('disk %s "%s": %d bytes, %d used', (type, descr, total, used) => {
    expect(got.get(`disk{storage_description=${descr},storage_type=${type}}`)).toEqual({
      storage_total_bytes: total,
      storage_used_bytes: used,
    });
  });

  it('makes one disk group per hrStorage row and nothing for the missing failures column', () => {
    expect(groups.filter((g) => g.metrics_group_type === 'disk')).toHaveLength(8);
    expect(metricType(groups, 'disk', 'storage_allocation_failures')).toBeUndefined();
  });

  it.each([
    ['768', 13],
    ['769', 9],
  ])('cpu %s: hrProcessorLoad %d', (cpuNo, load) => {
    const name = 'GenuineIntel: Intel(R) Pentium(R) 4 CPU 3.00GHz';
    expect(got.get(`cpu{cpu_name=${name},cpu_no=${cpuNo},cpu_type=ctrl}`)).toEqual({ cpu_utilization: load });
  });

  it.each([
    // total, and used = total - avail - buffers - cached (kB x 1024)
    ['real', 1021976 * 1024, (1021976 - 63676 - 23936 - 207212) * 1024],
    ['swap', 987988 * 1024, (987988 - 960556) * 1024],
  ])('memory %s: %d bytes, %d used', (type, total, used) => {
    expect(got.get(`memory{memory_type=${type}}`)).toEqual({ memory_total: total, memory_used: used });
  });

  it('load averages come from laLoad (the 15-minute laLoadInt, 2, is truncated; laLoad says 0.03)', () => {
    expect(got.get('load{}')).toEqual({
      load_average_1m: 0.46,
      load_average_5m: 0.13,
      load_average_15m: 0.03,
    });
  });
});

describe('net-snmp agents with only some objects', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panoptes-host-profile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the 64-bit memory objects when there are, and counts missing buffers and cache as 0', async () => {
    const file = join(dir, 'big.snmprec');
    await writeFile(
      file,
      [
        '1.3.6.1.4.1.2021.4.3.0|2|0',
        '1.3.6.1.4.1.2021.4.4.0|2|0',
        '1.3.6.1.4.1.2021.4.5.0|2|2147483647', // memTotalReal, capped
        '1.3.6.1.4.1.2021.4.6.0|2|1000000',
        '1.3.6.1.4.1.2021.4.20.0|70|4294967296', // memTotalRealX: 4 TiB
        '1.3.6.1.4.1.2021.4.21.0|70|1000000',
        '1.3.6.1.4.1.2021.10.1.5.1|2|150', // laLoadInt only
      ].join('\n'),
    );
    const got = series(await pollRecording(file, { profiles: ['ucd-snmp'], resource: HOST }));
    expect(got.get('memory{memory_type=real}')).toEqual({
      memory_total: 4294967296 * 1024,
      memory_used: (4294967296 - 1000000) * 1024,
    });
    expect(got.get('memory{memory_type=swap}')).toEqual({ memory_total: 0, memory_used: 0 });
    expect(got.get('load{}')).toEqual({ load_average_1m: 1.5 });
  });

  it('reports hrStorageAllocationFailures as a counter, and an unknown storage type as unknown', async () => {
    const file = join(dir, 'failures.snmprec');
    await writeFile(
      file,
      [
        '1.3.6.1.2.1.25.2.3.1.2.1|6|1.3.6.1.4.1.99.1', // a vendor's own storage type
        '1.3.6.1.2.1.25.2.3.1.3.1|4|/data',
        '1.3.6.1.2.1.25.2.3.1.4.1|2|512',
        '1.3.6.1.2.1.25.2.3.1.5.1|2|1000',
        '1.3.6.1.2.1.25.2.3.1.6.1|2|10',
        '1.3.6.1.2.1.25.2.3.1.7.1|65|3',
      ].join('\n'),
    );
    const groups = await pollRecording(file, { profiles: ['host-resources'], resource: HOST });
    expect(series(groups).get('disk{storage_description=/data,storage_type=unknown}')).toEqual({
      storage_total_bytes: 512000,
      storage_used_bytes: 5120,
      storage_allocation_failures: 3,
    });
    expect(metricType(groups, 'disk', 'storage_allocation_failures')).toBe('counter');
  });
});

/**
 * An Arista EOS switch as its agent numbers things: entity indexes 1000xxyyy (sensors 100006nnn,
 * transceivers 1003ppnnn, fan trays 10060tnnn, power supplies 1007s1nnn), hrDeviceIndex 1 the
 * CPU package and 2.. its cores, hrStorage 1 the RAM and 3 its cache.
 */
function aristaRecording(cpuTempScale = 9): string {
  const entity = (index: number, descr: string, cls: number): string[] => [
    `1.3.6.1.2.1.47.1.1.1.1.2.${index}|4|${descr}`,
    `1.3.6.1.2.1.47.1.1.1.1.5.${index}|2|${cls}`,
  ];
  const sensor = (index: number, scale: number, value: number): string[] => [
    `1.3.6.1.2.1.99.1.1.1.2.${index}|2|${scale}`,
    `1.3.6.1.2.1.99.1.1.1.4.${index}|2|${value}`,
  ];
  const storage = (
    index: number,
    type: number,
    descr: string,
    units: number,
    size: number,
    used: number,
  ): string[] => [
    `1.3.6.1.2.1.25.2.3.1.2.${index}|6|1.3.6.1.2.1.25.2.1.${type}`,
    `1.3.6.1.2.1.25.2.3.1.3.${index}|4|${descr}`,
    `1.3.6.1.2.1.25.2.3.1.4.${index}|2|${units}`,
    `1.3.6.1.2.1.25.2.3.1.5.${index}|2|${size}`,
    `1.3.6.1.2.1.25.2.3.1.6.${index}|2|${used}`,
  ];
  return [
    '1.3.6.1.2.1.1.1.0|4|Arista Networks EOS version 4.20.1F running on an Arista Networks DCS-7050TX-64',
    '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.30065.1.3011.7050.1958.64',
    ...storage(1, 2, 'RAM', 1024, 8029736, 6511052),
    ...storage(2, 1, 'RAM (Buffers)', 1024, 8029736, 402060),
    ...storage(3, 1, 'RAM (Cache)', 1024, 8029736, 2745588),
    ...storage(5, 9, '/mnt/flash', 4096, 974359, 330118),
    ...storage(6, 3, 'Virtual memory', 1024, 8029736, 3765464),
    ...storage(7, 4, '/var/tmp', 4096, 1000, 10),
    '1.3.6.1.2.1.25.3.2.1.3.1|4|AMD GX-424CC SOC',
    '1.3.6.1.2.1.25.3.2.1.3.2|4|cpu0',
    '1.3.6.1.2.1.25.3.2.1.3.3|4|cpu1',
    '1.3.6.1.2.1.25.3.3.1.2.1|2|12',
    '1.3.6.1.2.1.25.3.3.1.2.2|2|9',
    '1.3.6.1.2.1.25.3.3.1.2.3|2|15',
    ...entity(1, 'DCS-7050TX-64 48x10GbE (RJ45) & 4x40GbE (QSFP+) switch', 3),
    ...entity(100006001, 'Cpu temp sensor', 8),
    ...entity(100006002, 'CpucardPwrCon Rail1 12V standby', 8),
    ...entity(100301201, 'DOM Temperature Sensor for Ethernet1', 8),
    ...entity(100601100, 'Fan Tray 1', 7),
    ...entity(100601111, 'Fan Tray 1 Fan 1 Sensor 1', 8),
    ...entity(100602100, 'Fan Tray 2', 7),
    ...entity(100602111, 'Fan Tray 2 Fan 1 Sensor 1', 8),
    ...entity(100710000, 'Power Supply Slot 1', 5),
    ...entity(100711000, 'PowerSupply1', 6),
    ...entity(100711101, 'Hotspot temperature sensor', 8),
    ...entity(100711211, 'PowerSupply1 Fan 1 Sensor 1', 8),
    ...entity(100721000, 'PowerSupply2', 6),
    ...sensor(100006001, cpuTempScale, 523),
    ...sensor(100006002, 9, 12050),
    ...sensor(100301201, 9, 312),
    ...sensor(100601111, 9, 6120),
    ...sensor(100602111, 9, 0),
    ...sensor(100711101, 9, 401),
    ...sensor(100711102, 9, 15), // PowerSupply1 + 102: drawing current
    ...sensor(100711211, 9, 4800),
    ...sensor(100721101, 9, 385), // PowerSupply2's hotspot sensor (+ 101): not what says it is on
    ...sensor(100721102, 9, 0), // PowerSupply2 + 102: off
  ].join('\n');
}

describe('Arista EOS (Panoptes plugin_polling_arista_device_metrics formulas)', () => {
  let dir: string;
  let groups: MetricsGroup[];
  let got: Map<string, Record<string, number>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panoptes-arista-profile-'));
    await writeFile(join(dir, 'arista.snmprec'), aristaRecording());
    groups = await pollRecording(join(dir, 'arista.snmprec'), {
      profiles: ['arista'],
      resource: { resource_type: 'arista' },
    });
    got = series(groups);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('polls every group without a failure', async () => {
    const r = await pollRecordingResult(join(dir, 'arista.snmprec'), {
      profiles: ['arista'],
      resource: { resource_type: 'arista' },
    });
    expect(r.failures).toEqual([]);
    expect(r.status).toBe('success');
  });

  it.each([
    ['1.2', 'AMD GX-424CC SOC/cpu0', 9],
    ['1.3', 'AMD GX-424CC SOC/cpu1', 15],
  ])('cpu core %s (%s): %d', (no, name, load) => {
    expect(got.get(`cpu{cpu_name=${name},cpu_no=${no},cpu_type=ctrl}`)).toEqual({ cpu_utilization: load });
  });

  it('leaves out hrDeviceIndex 1, the package', () => {
    expect(groups.filter((g) => g.metrics_group_type === 'cpu')).toHaveLength(2);
  });

  it('memory dram: (used RAM - cache) and size of hrStorage row 1, in bytes', () => {
    expect(got.get('memory{memory_type=dram}')).toEqual({
      memory_used: (6511052 - 2745588) * 1024,
      memory_total: 8029736 * 1024,
    });
  });

  it.each([
    ['Cpu temp sensor', 126.14], // 52.3 C
    ['DOM Temperature Sensor for Ethernet1', 88.16], // 31.2 C
    ['Hotspot temperature sensor', 104.18], // 40.1 C
  ])('temperature of "%s": %d F', (sensor, f) => {
    expect(got.get(`environment{sensor=${sensor}}`)).toEqual({ temperature_fahrenheit: f });
  });

  it('has no temperature for a voltage sensor', () => {
    expect(got.has('environment{sensor=CpucardPwrCon Rail1 12V standby}')).toBe(false);
  });

  it('counts the power supplies (on: the sensor at index + 102 reads more than 0) and the fans', () => {
    expect(got.get('environment{}')).toEqual({
      power_units_total: 2,
      power_units_on: 1,
      fans_total: 3,
      fans_ok: 2,
    });
  });

  it.each([
    ['flash', '/mnt/flash', 330118 * 4096, 974359 * 4096],
    ['virtual', 'Virtual memory', 3765464 * 1024, 8029736 * 1024],
  ])('storage %s "%s": %d used of %d', (type, entity, used, total) => {
    expect(got.get(`storage{storage_entity=${entity},storage_type=${type}}`)).toEqual({
      storage_used: used,
      storage_total: total,
    });
  });

  it('reports only flash and virtual memory rows as storage', () => {
    expect(groups.filter((g) => g.metrics_group_type === 'storage')).toHaveLength(2);
  });

  it.each([
    [14, 52.3e6 * 1.8 + 32], // exa read as peta (10^6), as Panoptes did
    [15, 52.3e5 * 1.8 + 32], // peta read as exa (10^5)
  ])('entPhySensorScale %d: Panoptes swapped the peta and exa codes', async (scale, f) => {
    const file = join(dir, `scale-${scale}.snmprec`);
    await writeFile(file, aristaRecording(scale));
    const g = series(
      await pollRecording(file, { profiles: ['arista'], resource: { resource_type: 'arista' } }),
    );
    expect(g.get('environment{sensor=Cpu temp sensor}')?.['temperature_fahrenheit']).toBeCloseTo(f, 2);
  });
});
