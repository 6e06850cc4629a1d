/**
 * The device-metrics plugin against in-memory devices and the built-in profiles: which profiles
 * it polls (filter, sysObjectID, the `profiles` option), what a device no profile fits and a table
 * that times out come to, the rate-limited warning, and the counter hints for the rate transform.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceMetricsPlugin } from '../../../plugins/device-metrics.js';
import { pollingStatusOf } from '../../../src/actors/run-status.js';
import type { MetricsGroup, Resource } from '../../../src/model/index.js';
import type { PluginContext, PollResult } from '../../../src/plugins/api.js';
import { ProfileCatalog } from '../../../src/profiles/catalog.js';
import { MIB_OBJECTS, scalar } from '../../../src/snmp/mibs.js';
import { SnmpTag } from '../../../src/snmp/types.js';
import type { Varbind } from '../../../src/snmp/types.js';
import type { LogRecord } from '../../support/capture-logger.js';
import { MemorySnmpSession } from '../../support/memory-snmp-session.js';
import { testPluginContext } from '../../support/plugin-context.js';
import { BUILTIN_PROFILES, FIXTURES, testResource } from '../../support/profile-harness.js';
import { failureOf } from './plugin-run.js';

const PLUGIN_FILE = fileURLToPath(
  new URL('../../../plugins/device-metrics.panoptes-plugin', import.meta.url),
);
const QFX = join(FIXTURES, 'juniper-qfx.snmprec');
const NET_SNMP_LINUX = '1.3.6.1.4.1.8072.3.2.10';

let catalog: ProfileCatalog;

beforeAll(async () => {
  const loaded = await ProfileCatalog.load([BUILTIN_PROFILES]);
  expect(loaded.problems).toEqual([]);
  catalog = loaded.catalog;
});

afterEach(() => {
  vi.useRealTimers();
});

interface Run {
  readonly ctx: PluginContext;
  readonly records: LogRecord[];
  readonly warnings: () => LogRecord[];
}

/** The plugin's own file, with `options` set in its [options], around `session`. */
function contextFor(
  session: MemorySnmpSession,
  options: Readonly<Record<string, string>> = {},
  profiles: ProfileCatalog = catalog,
): Run {
  return testPluginContext(PLUGIN_FILE, { session, options, profiles });
}

function poll(plugin: DeviceMetricsPlugin, run: Run, resource: Resource): Promise<PollResult> {
  return plugin.poll(run.ctx, resource);
}

const vb = (oid: string, type: Varbind['type'], value: Varbind['value']): Varbind => ({ oid, type, value });
const octets = (oid: string, s: string): Varbind => vb(oid, SnmpTag.OctetString, Buffer.from(s, 'utf8'));

/** A Linux host running net-snmp (null: no sysObjectID): sysObjectID, one file system, one processor, memory, load. */
function linuxHost(sysObjectId: string | null = NET_SNMP_LINUX): Varbind[] {
  const M = MIB_OBJECTS;
  return [
    ...(sysObjectId === null ? [] : [vb(scalar('sysObjectID'), SnmpTag.ObjectIdentifier, sysObjectId)]),
    vb(scalar('sysUpTime'), SnmpTag.TimeTicks, 4242),
    vb(`${M.hrStorageType}.31`, SnmpTag.ObjectIdentifier, `${M.hrStorageTypes}.4`),
    octets(`${M.hrStorageDescr}.31`, '/'),
    vb(`${M.hrStorageAllocationUnits}.31`, SnmpTag.Integer32, 4096),
    vb(`${M.hrStorageSize}.31`, SnmpTag.Integer32, 1000),
    vb(`${M.hrStorageUsed}.31`, SnmpTag.Integer32, 250),
    vb(`${M.hrStorageAllocationFailures}.31`, SnmpTag.Counter32, 3),
    octets(`${M.hrDeviceDescr}.196608`, 'GenuineIntel: Intel(R) Xeon(R) CPU'),
    vb(`${M.hrProcessorLoad}.196608`, SnmpTag.Integer32, 7),
    vb(scalar('memTotalSwap'), SnmpTag.Integer32, 1000),
    vb(scalar('memAvailSwap'), SnmpTag.Integer32, 600),
    vb(scalar('memTotalReal'), SnmpTag.Integer32, 8_000_000),
    vb(scalar('memAvailReal'), SnmpTag.Integer32, 2_000_000),
    vb(scalar('memBuffer'), SnmpTag.Integer32, 100_000),
    vb(scalar('memCached'), SnmpTag.Integer32, 900_000),
    octets(`${M.laLoad}.1`, '0.50'),
    octets(`${M.laLoad}.2`, '0.40'),
    octets(`${M.laLoad}.3`, '0.30'),
  ];
}

/** A group as `type{dim=value,...} metric=value ...`, for exact comparisons of whole runs. */
function summary(g: MetricsGroup): string {
  const dims = g.dimensions.map((d) => `${d.dimension_name}=${d.dimension_value}`).join(',');
  const metrics = g.metrics.map((m) => `${m.metric_name}=${String(m.metric_value)}:${m.metric_type}`);
  return `${g.metrics_group_type}{${dims}} ${metrics.join(' ')}`;
}

const DISK =
  'disk{storage_type=hrStorageFixedDisk,storage_description=/} storage_total_bytes=4096000:gauge ' +
  'storage_used_bytes=1024000:gauge storage_allocation_failures=3:counter';
const CPU =
  'cpu{cpu_type=ctrl,cpu_no=196608,cpu_name=GenuineIntel: Intel(R) Xeon(R) CPU} cpu_utilization=7:gauge';
const MEMORY_REAL = 'memory{memory_type=real} memory_total=8192000000:gauge memory_used=5120000000:gauge';
const MEMORY_SWAP = 'memory{memory_type=swap} memory_total=1024000:gauge memory_used=409600:gauge';
const LOAD = 'load{} load_average_1m=0.5:gauge load_average_5m=0.4:gauge load_average_15m=0.3:gauge';

// The Juniper QFX recording polled every 60 s (the plugin file's interval): 1-minute CPU averages.
const RE0 = 'cpu_name=Routing Engine 0,cpu_no=Module 9.1.0.0,cpu_type=data';
const FPC0 = 'cpu_name=FPC: QFX10002-36Q @ 0/*/*,cpu_no=Module 7.1.0.0,cpu_type=ctrl';
const PIC0 = 'cpu_name=PIC: 36X40G @ 0/0/*,cpu_no=Module 8.1.1.0,cpu_type=ctrl';
const QFX_CPUS = [
  `cpu{${FPC0}} cpu_utilization=8:gauge`,
  `cpu{${PIC0}} cpu_utilization=0:gauge`,
  `cpu{${RE0}} cpu_utilization=3:gauge`,
];
const QFX_OTHERS = [
  'cpu{} cpu_utilization=0:gauge',
  'memory{memory_type=FPC: QFX10002-36Q @ 0/*/*} memory_total=2047868928:gauge memory_used=655318056:gauge',
  'memory{memory_type=Routing Engine 0} memory_total=8154775552:gauge memory_used=1630955110:gauge',
  'environment{sensor=FPC: QFX10002-36Q @ 0/*/*} temperature_fahrenheit=105.8:gauge',
  'environment{sensor=Routing Engine 0} temperature_fahrenheit=89.6:gauge',
  'environment{} temperature_fahrenheit=0:gauge',
  'environment{} fans_ok=3:gauge fans_total=3:gauge',
  'environment{power_module_type=PEM} power_units_on=2:gauge power_units_total=2:gauge',
];

describe('device-metrics: which profiles poll a device', () => {
  it.each([
    {
      name: 'resource_type juniper: the Juniper profiles by their filter',
      device: (): MemorySnmpSession => MemorySnmpSession.fromSnmprec(QFX),
      resource: testResource({ resource_type: 'juniper', resource_metadata: { model: 'QFX10002-36Q' } }),
      options: {},
      groups: [...QFX_CPUS, ...QFX_OTHERS],
      gets: 0,
      sysUpTime: undefined,
    },
    {
      name: 'a host by filter (class system, subclass host): host-resources and ucd-snmp',
      device: (): MemorySnmpSession => new MemorySnmpSession(linuxHost()),
      resource: testResource({ resource_class: 'system', resource_subclass: 'host' }),
      options: {},
      groups: [DISK, CPU, MEMORY_REAL, MEMORY_SWAP, LOAD],
      gets: 1, // ucd-snmp's scalars only: no sysObjectID asked
      sysUpTime: undefined,
    },
    {
      name: `no filter matches, sysObjectID ${NET_SNMP_LINUX}: host-resources and ucd-snmp`,
      device: (): MemorySnmpSession => new MemorySnmpSession(linuxHost()),
      resource: testResource(),
      options: {},
      groups: [DISK, CPU, MEMORY_REAL, MEMORY_SWAP, LOAD],
      gets: 2, // sysObjectID and sysUpTime, then ucd-snmp's scalars
      sysUpTime: 4242,
    },
    {
      name: 'profiles = host-resources: that profile only, whatever selects the device',
      device: (): MemorySnmpSession => new MemorySnmpSession(linuxHost()),
      resource: testResource(),
      options: { profiles: 'host-resources' },
      groups: [DISK, CPU],
      gets: 0,
      sysUpTime: undefined,
    },
    {
      name: 'profiles = host-resources on a Juniper resource: the filter is not asked',
      device: (): MemorySnmpSession => new MemorySnmpSession(linuxHost()),
      resource: testResource({ resource_type: 'juniper' }),
      options: { profiles: 'host-resources' },
      groups: [DISK, CPU],
      gets: 0,
      sysUpTime: undefined,
    },
    {
      name: 'profiles = " ucd-snmp , host-resources ": both, in that order',
      device: (): MemorySnmpSession => new MemorySnmpSession(linuxHost()),
      resource: testResource(),
      options: { profiles: ' ucd-snmp , host-resources ' },
      groups: [MEMORY_REAL, MEMORY_SWAP, LOAD, DISK, CPU],
      gets: 1,
      sysUpTime: undefined,
    },
  ])('$name', async ({ device, resource, options, groups, gets, sysUpTime }) => {
    const session = device();
    const run = contextFor(session, options);
    const result = await poll(new DeviceMetricsPlugin(), run, resource);
    expect(result.groups.map(summary)).toEqual(groups);
    expect(result.status).toBe('success');
    expect(result.sysUpTime).toBe(sysUpTime);
    expect('sysUpTime' in result).toBe(sysUpTime !== undefined);
    expect(session.requests.get).toBe(gets);
    for (const g of result.groups) {
      expect(g.resource).toBe(resource);
      expect(g.metrics_group_interval).toBe(60);
    }
    expect(run.warnings()).toEqual([]);
  });

  it('names the unknown profile and the known ones in a PLUGIN_INVALID error, before any SNMP', async () => {
    const run = contextFor(new MemorySnmpSession(linuxHost()), { profiles: 'host-resources, nope' });
    let asked = 0;
    const ctx: PluginContext = {
      ...run.ctx,
      snmp: () => {
        asked++;
        return Promise.reject(new Error('no SNMP expected'));
      },
    };
    const error = await failureOf(new DeviceMetricsPlugin().poll(ctx, testResource()));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toBe(
      `${PLUGIN_FILE}: [options] profiles: unknown profile "nope" (known: ` +
        'arista, cisco-ios, cisco-nxos, device-status, host-resources, if-mib, juniper, juniper-bgp, ucd-snmp)',
    );
    expect(asked).toBe(0);
  });

  it.each([
    { name: 'log_interval_seconds = 0', options: { log_interval_seconds: '0' }, key: 'log_interval_seconds' },
    {
      name: 'log_interval_seconds = soon',
      options: { log_interval_seconds: 'soon' },
      key: 'log_interval_seconds',
    },
    { name: 'an unknown option', options: { profile: 'juniper' }, key: 'profile' },
  ])('refuses $name as PLUGIN_INVALID naming [options] $key', async ({ options, key }) => {
    const run = contextFor(new MemorySnmpSession(linuxHost()), options);
    const error = await failureOf(new DeviceMetricsPlugin().poll(run.ctx, testResource()));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message.startsWith(`${PLUGIN_FILE}: [options] ${key}: `)).toBe(true);
  });
});

describe('device-metrics: devices no profile fits', () => {
  it.each([
    {
      name: 'an unknown sysObjectID',
      varbinds: linuxHost('1.3.6.1.4.1.99999.1.2'),
      profiles: (): ProfileCatalog => catalog,
      sysUpTime: 4242,
      gets: 1,
    },
    {
      name: 'no sysObjectID',
      varbinds: linuxHost(null),
      profiles: (): ProfileCatalog => catalog,
      sysUpTime: 4242,
      gets: 1,
    },
    {
      name: 'an empty device',
      varbinds: [],
      profiles: (): ProfileCatalog => catalog,
      sysUpTime: undefined,
      gets: 1,
    },
    {
      name: 'a catalog without sysObjectID selection (the device is not asked)',
      varbinds: linuxHost(),
      profiles: (): ProfileCatalog => new ProfileCatalog([]),
      sysUpTime: undefined,
      gets: 0,
    },
  ])('$name -> missing data and one warning', async ({ varbinds, profiles, sysUpTime, gets }) => {
    const session = new MemorySnmpSession(varbinds);
    const run = contextFor(session, {}, profiles());
    const result = await poll(new DeviceMetricsPlugin(), run, testResource());
    expect(result).toEqual({
      groups: [],
      status: 'missingData',
      ...(sysUpTime === undefined ? {} : { sysUpTime }),
    });
    expect(session.requests.get).toBe(gets);
    expect(run.warnings().map((w) => [w.msg, w['resource']])).toEqual([
      ['no SNMP profile selects this device', 'test_id'],
    ]);
  });
});

describe('device-metrics: what a device does not answer', () => {
  it.each([
    {
      name: 'the processor table of a host',
      device: (fail: string[]): MemorySnmpSession => new MemorySnmpSession(linuxHost(), { fail }),
      resource: testResource(),
      fail: [MIB_OBJECTS.hrProcessorLoad],
      groups: [DISK, MEMORY_REAL, MEMORY_SWAP, LOAD],
      profiles: ['host-resources', 'ucd-snmp'],
      failures: [`host-resources: table processor: memory:161: no answer for ${MIB_OBJECTS.hrProcessorLoad}`],
    },
    {
      name: 'the UCD memory scalars of a host',
      device: (fail: string[]): MemorySnmpSession => new MemorySnmpSession(linuxHost(), { fail }),
      resource: testResource({ resource_class: 'system', resource_subclass: 'host' }),
      fail: [scalar('memTotalSwap')],
      groups: [DISK, CPU],
      profiles: ['host-resources', 'ucd-snmp'],
      failures: [`scalars: memory:161: no answer for ${scalar('memTotalSwap')}`],
    },
    {
      name: 'the 1-minute CPU column of the Juniper QFX',
      device: (fail: string[]): MemorySnmpSession => MemorySnmpSession.fromSnmprec(QFX, { fail }),
      resource: testResource({ resource_type: 'juniper' }),
      fail: ['1.3.6.1.4.1.2636.3.1.13.1.23'],
      // No CPU column: no CPU groups, and no component counts as a CPU, so the memory of the
      // FPC and the routing engine goes to the dimensionless group (1953 + 7777 MiB, 32% and 20%).
      groups: [
        'memory{} memory_total=10202644480:gauge memory_used=2286273166:gauge',
        'environment{sensor=FPC: QFX10002-36Q @ 0/*/*} temperature_fahrenheit=105.8:gauge',
        'environment{sensor=Routing Engine 0} temperature_fahrenheit=89.6:gauge',
        'environment{} temperature_fahrenheit=0:gauge',
        'environment{} fans_ok=3:gauge fans_total=3:gauge',
        'environment{power_module_type=PEM} power_units_on=2:gauge power_units_total=2:gauge',
      ],
      profiles: ['juniper-bgp', 'juniper'], // catalog order: juniper-bgp.yaml sorts before juniper.yaml
      failures: ['juniper: table cpu_1min: memory:161: no answer for 1.3.6.1.4.1.2636.3.1.13.1.23'],
    },
  ])('$name times out -> partial, the other groups, one warning naming it', async (c) => {
    const session = c.device(c.fail);
    const run = contextFor(session);
    const result = await poll(new DeviceMetricsPlugin(), run, c.resource);
    expect(result.status).toBe('partial');
    expect(result.groups.map(summary)).toEqual(c.groups);
    const warnings = run.warnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: 'device metrics incomplete',
      resource: 'test_id',
      target: 'memory:161',
      profiles: c.profiles,
      failures: c.failures,
    });
  });

  it.each([
    { name: 'sysObjectID', fail: [MIB_OBJECTS.sysObjectID], options: {} },
    {
      name: 'everything the named profile reads',
      fail: ['1.3.6.1.2.1.25'],
      options: { profiles: 'host-resources' },
    },
  ])('a device that does not answer $name: the timeout propagates', async ({ fail, options }) => {
    const run = contextFor(new MemorySnmpSession(linuxHost(), { fail }), options);
    const error = await failureOf(new DeviceMetricsPlugin().poll(run.ctx, testResource()));
    expect(error.code).toBe('SNMP_TIMEOUT');
    expect(pollingStatusOf(error)).toBe('timeout');
    expect(run.warnings()).toEqual([]);
  });
});

describe('device-metrics: the failure warning is rate-limited per resource', () => {
  const T0 = Date.UTC(2024, 0, 1);

  it.each([
    // `at`: the runs of sw1, in seconds after T0 (sw2 runs once, at the second); `warned`: those that warn.
    { options: {}, every: 600, at: [0, 1, 599.999, 600, 601, 1200], warned: [0, 600, 1200] },
    {
      options: { log_interval_seconds: '60' },
      every: 60,
      at: [0, 30, 59.999, 60, 90, 121],
      warned: [0, 60, 121],
    },
    { options: { log_interval_seconds: '1' }, every: 1, at: [0, 0.5, 1, 1.5, 2.5], warned: [0, 1, 2.5] },
  ])('log_interval_seconds $every', async ({ options, at, warned }) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const plugin = new DeviceMetricsPlugin();
    const fail = [MIB_OBJECTS.hrProcessorLoad];
    const run = contextFor(new MemorySnmpSession(linuxHost(), { fail }), options);
    const sw1 = testResource({ resource_id: 'sw1' });
    const sw2 = testResource({ resource_id: 'sw2' });
    const logged: [string, number][] = [];
    for (const s of at) {
      vi.setSystemTime(T0 + s * 1000);
      const before = run.warnings().length;
      expect((await poll(plugin, run, sw1)).status).toBe('partial');
      if (run.warnings().length > before) logged.push(['sw1', s]);
      if (s === at[1]) {
        // Another resource has its own interval: it warns while sw1 is quiet.
        const beforeSw2 = run.warnings().length;
        expect((await poll(plugin, run, sw2)).status).toBe('partial');
        if (run.warnings().length > beforeSw2) logged.push(['sw2', s]);
      }
    }
    expect(logged).toEqual(
      [...warned.map((s) => ['sw1', s]), ['sw2', at[1]]].sort((a, b) => Number(a[1]) - Number(b[1])),
    );
    expect(run.warnings().map((w) => w['resource'])).toEqual(logged.map(([r]) => r));
    // Another plugin instance (another plugin file) keeps its own times.
    expect(run.warnings().length).toBe(warned.length + 1);
    await poll(new DeviceMetricsPlugin(), run, sw1);
    expect(run.warnings().length).toBe(warned.length + 2);
  });

  it('rate-limits "no SNMP profile selects this device" the same way', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const plugin = new DeviceMetricsPlugin();
    const run = contextFor(new MemorySnmpSession([]));
    for (let i = 0; i < 3; i++) expect((await poll(plugin, run, testResource())).status).toBe('missingData');
    expect(run.warnings()).toHaveLength(1);
    vi.setSystemTime(T0 + 600_000);
    await poll(plugin, run, testResource());
    expect(run.warnings()).toHaveLength(2);
  });
});

describe('device-metrics: counter hints', () => {
  it.each([
    {
      name: 'hrStorageAllocationFailures, a Counter32',
      type: SnmpTag.Counter32,
      value: 3,
      metric: 3,
      width: 32,
    },
    {
      name: 'hrStorageAllocationFailures read as a Counter64',
      type: SnmpTag.Counter64,
      value: 5n,
      metric: 5,
      width: 64,
    },
    {
      name: 'hrStorageAllocationFailures read as an Integer32 (not a device counter)',
      type: SnmpTag.Integer32,
      value: 4,
      metric: 4,
      width: 64,
    },
  ] as const)('$name: a hint for the counter metric only', async ({ type, value, metric, width }) => {
    const varbinds = linuxHost().map((v) =>
      v.oid === `${MIB_OBJECTS.hrStorageAllocationFailures}.31` ? vb(v.oid, type, value) : v,
    );
    const run = contextFor(new MemorySnmpSession(varbinds));
    const result = await poll(new DeviceMetricsPlugin(), run, testResource());
    const disk = result.groups.find((g) => g.metrics_group_type === 'disk');
    expect(disk).toBeDefined();
    expect(disk?.metrics.find((m) => m.metric_name === 'storage_allocation_failures')).toMatchObject({
      metric_value: metric,
      metric_type: 'counter',
    });
    expect(result.counters?.get(disk as MetricsGroup)).toEqual({
      storage_allocation_failures: { width, scale: 1 },
    });
    // The gauges' groups have none.
    expect(result.counters?.size).toBe(1);
    for (const g of result.groups) if (g !== disk) expect(result.counters?.get(g)).toBeUndefined();
  });

  it('gives none for the Juniper QFX (no counter metric)', async () => {
    const run = contextFor(MemorySnmpSession.fromSnmprec(QFX));
    const result = await poll(new DeviceMetricsPlugin(), run, testResource({ resource_type: 'juniper' }));
    expect(result.groups.length).toBeGreaterThan(0);
    expect(result.counters?.size).toBe(0);
  });
});
