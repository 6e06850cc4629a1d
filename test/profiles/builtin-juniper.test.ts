/**
 * The built-in Juniper profiles (plugins/profiles/juniper.yaml and juniper-bgp.yaml) against
 * Panoptes' recordings of Juniper MX, EX, QFX and SRX devices and the metrics Panoptes made of
 * them.
 *
 * The devices are polled as Panoptes' tests did: resource_type 'juniper', the model of the
 * recorded chassis (none is an EX4300, the one model Panoptes treated apart), and for the device
 * metrics a 300 s interval: the `polling_frequency` of Panoptes' Juniper enrichment tests, which
 * picks the 5-minute CPU average. The BGP recording was polled every 60 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsGroup, Resource } from '../../src/model/index.js';
import { compileExpression } from '../../src/profiles/compile.js';
import type { EvalContext, TableData } from '../../src/profiles/compile.js';
import { parseExpression } from '../../src/profiles/expression.js';
import { FUNCTIONS } from '../../src/profiles/functions.js';
import type { Value } from '../../src/profiles/values.js';
import { loadProfileFile, pollRecording, scoreAgainstPanoptes } from '../support/profile-harness.js';

const PANOPTES_INTERVAL = 300;

interface Device {
  readonly recording: string;
  readonly profile: 'juniper' | 'juniper-bgp';
  readonly model: string;
  readonly interval: number;
}

const DEVICES: readonly Device[] = [
  { recording: 'juniper-ex', profile: 'juniper', model: 'EX4600-40F', interval: PANOPTES_INTERVAL },
  { recording: 'juniper-mx2020', profile: 'juniper', model: 'MX2020', interval: PANOPTES_INTERVAL },
  { recording: 'juniper-mx960', profile: 'juniper', model: 'MX960', interval: PANOPTES_INTERVAL },
  { recording: 'juniper-qfx', profile: 'juniper', model: 'QFX10002-36Q', interval: PANOPTES_INTERVAL },
  { recording: 'juniper-srx1400', profile: 'juniper', model: 'SRX1400', interval: PANOPTES_INTERVAL },
  { recording: 'juniper-bgp', profile: 'juniper-bgp', model: 'MX960', interval: 60 },
];

function resourceOf(model: string): Partial<Resource> {
  return { resource_class: 'network', resource_type: 'juniper', resource_metadata: { model } };
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
    resource: resourceOf(options.model ?? d.model),
    interval: options.interval ?? d.interval,
  });
}

function dimensionsKey(dimensions: Readonly<Record<string, string>>): string {
  return Object.entries(dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(', ');
}

/** The value of `metric` in the one group of `type` with exactly `dimensions`. */
function valueOf(
  groups: readonly MetricsGroup[],
  type: string,
  dimensions: Readonly<Record<string, string>>,
  metric: string,
): unknown {
  const wanted = dimensionsKey(dimensions);
  const found = groups.filter(
    (g) =>
      g.metrics_group_type === type &&
      g.metrics.some((m) => m.metric_name === metric) &&
      dimensionsKey(Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]))) ===
        wanted,
  );
  if (found.length !== 1) return `${found.length} ${type} groups with {${wanted}} and ${metric}`;
  return found[0]?.metrics.find((m) => m.metric_name === metric)?.metric_value;
}

describe('built-in Juniper profiles', () => {
  it.each(['juniper', 'juniper-bgp'])('%s.yaml loads', async (name) => {
    const p = await loadProfileFile(`plugins/profiles/${name}.yaml`);
    expect(p.name).toBe(name);
    expect(p.sysObjectIds).toEqual(['1.3.6.1.4.1.2636.1']);
  });

  it.each(DEVICES.map((d) => d.recording))(
    '%s: reproduces at least 75% of Panoptes metrics',
    async (recording) => {
      const score = scoreAgainstPanoptes(await poll(recording), `${recording}.results.json`);
      expect(score.total).toBeGreaterThan(0);
      expect(score.matched / score.total, score.misses.join('\n')).toBeGreaterThanOrEqual(0.75);
    },
  );

  const RE0 = { cpu_name: 'Routing Engine 0', cpu_no: 'Module 9.1.0.0', cpu_type: 'data' };
  const FPC11 = 'FPC: MPC7E 3D MRATE-12xQSFPP-XGE-XLGE-CGE @ 11/*/*';
  it.each<[string, string, Record<string, string>, string, number]>([
    ['juniper-mx960', 'cpu', RE0, 'cpu_utilization', 5],
    [
      'juniper-mx960',
      'cpu',
      { cpu_name: FPC11, cpu_no: 'Module 7.12.0.0', cpu_type: 'ctrl' },
      'cpu_utilization',
      17,
    ],
    ['juniper-mx960', 'cpu', {}, 'cpu_utilization', 0],
    ['juniper-mx960', 'memory', { memory_type: 'Routing Engine 0' }, 'memory_total', 34306260992],
    ['juniper-mx960', 'memory', { memory_type: 'Routing Engine 0' }, 'memory_used', 3087563489],
    ['juniper-mx960', 'environment', { sensor: FPC11 }, 'temperature_fahrenheit', 113],
    ['juniper-mx960', 'environment', {}, 'temperature_fahrenheit', 0],
    ['juniper-mx960', 'environment', { power_module_type: 'PEM' }, 'power_units_total', 4],
    ['juniper-mx2020', 'environment', { power_module_type: 'PSM' }, 'power_units_on', 18],
    ['juniper-mx2020', 'environment', { power_module_type: 'PDM' }, 'power_units_total', 4],
    ['juniper-mx2020', 'environment', {}, 'fans_ok', 24],
    ['juniper-mx2020', 'memory', {}, 'memory_total', 2952790016],
    ['juniper-mx2020', 'memory', {}, 'memory_used', 767725404],
    [
      'juniper-mx2020',
      'disk',
      { storage_description: 'tmpfs, mounted on: /.mount/tmp', storage_type: 'hrStorageFixedDisk' },
      'storage_total_bytes',
      35436019712,
    ],
    ['juniper-ex', 'environment', {}, 'fans_total', 5],
    ['juniper-ex', 'memory', { memory_type: 'FPC: EX4600-40F @ 0/*/*' }, 'memory_used', 1248224870],
    ['juniper-qfx', 'cpu', RE0, 'cpu_utilization', 4],
    ['juniper-srx1400', 'environment', {}, 'fans_ok', 4],
  ])('%s: %s %j %s = %d', async (recording, type, dimensions, metric, value) => {
    expect(valueOf(await poll(recording), type, dimensions, metric)).toBe(value);
  });

  it('takes the disk counter as a counter and leaves devices without storage without disk groups', async () => {
    const mx2020 = await poll('juniper-mx2020');
    const disks = mx2020.filter((g) => g.metrics_group_type === 'disk');
    expect(disks).toHaveLength(31);
    for (const g of disks) {
      expect(g.metrics.find((m) => m.metric_name === 'storage_allocation_failures')?.metric_type).toBe(
        'counter',
      );
    }
    expect((await poll('juniper-ex')).filter((g) => g.metrics_group_type === 'disk')).toEqual([]);
  });

  it.each<[string, number, number]>([
    ['juniper-qfx', 60, 3], // jnxOperating1MinAvgCPU
    ['juniper-qfx', 300, 4], // jnxOperating5MinAvgCPU
    ['juniper-mx2020', 60, 15],
    ['juniper-mx2020', 900, 13], // jnxOperating15MinAvgCPU
  ])('%s polled every %d s: routing engine CPU %d', async (recording, interval, value) => {
    const cpu = valueOf(
      await poll(recording, { interval }),
      'cpu',
      { cpu_name: 'Routing Engine 0', cpu_no: 'Module 9.1.0.0', cpu_type: 'data' },
      'cpu_utilization',
    );
    expect(cpu).toBe(value);
  });

  describe('EX4300 (jnxOperatingCPU)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'juniper-profile-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const hex = (t: string): string => Buffer.from(t).toString('hex');
    const op = '1.3.6.1.4.1.2636.3.1.13.1';
    const recording = join(dir, 'ex4300.snmprec');
    writeFileSync(
      recording,
      [
        `${op}.5.9.1.0.0|4x|${hex('Routing Engine 0')}`,
        `${op}.5.9.2.0.0|4x|${hex('Routing Engine 1')}`,
        `${op}.8.9.1.0.0|66|37`,
        `${op}.8.9.2.0.0|66|2`,
        `${op}.23.9.1.0.0|66|11`,
        `${op}.23.9.2.0.0|66|12`,
        '',
      ].join('\n'),
    );

    it.each<[string, number, number]>([
      ['EX4300-48P', 37, 2],
      ['EX4600-40F', 11, 12],
    ])('model %s: routing engines at %d and %d', async (model, re0, re1) => {
      const groups = await pollRecording(recording, {
        profiles: ['juniper'],
        resource: resourceOf(model),
        interval: 60,
      });
      const cpu = (n: number): unknown =>
        valueOf(
          groups,
          'cpu',
          { cpu_name: `Routing Engine ${n}`, cpu_no: `Module 9.${n + 1}.0.0`, cpu_type: 'data' },
          'cpu_utilization',
        );
      expect([cpu(0), cpu(1)]).toEqual([re0, re1]);
    });
  });

  describe('juniper-bgp', () => {
    const V4 = {
      peer_local_as: '17457',
      peer_remote_as: '63956',
      interface_name: 'xe-1/0/10.0',
      bgp_adjacency_type: 'unknown-bgp_adjacency_type',
      bgp_adjacency_subtype: 'unknown-bgp_adjacency_subtype',
      peer_external_connection: 'unknown-peer_external_connection',
      local_address: '44.144.154.142',
      peer_address: '42.7.240.144',
    };
    const V6 = {
      ...V4,
      peer_remote_as: '42',
      interface_name: 'xe-11/0/10.0',
      local_address: '2303:792:11:504:2:372c:0:6',
      peer_address: '2131:7fa:4011:4:5000:2a:400:5001',
    };
    it.each<[string, Record<string, string>, string, number]>([
      ['IPv4', V4, 'prefix_in_prefixes_rejected', 403],
      ['IPv4', V4, 'peer_in_updates', 126349],
      ['IPv4', V4, 'interface_speed', 10_000_000_000],
      ['IPv6', V6, 'prefix_in_prefixes_active', 152],
      ['IPv6', V6, 'peer_session_established_time', 556929],
    ])('%s session: %s', async (_family, dimensions, metric, value) => {
      expect(valueOf(await poll('juniper-bgp'), 'bgp_session', dimensions, metric)).toBe(value);
    });
  });

  describe('functions added for the BGP profile', () => {
    it.each<[Value, Value]>([
      ['35.3.7.146.0.17.5.4.0.2.55.44.0.0.0.6', '2303:792:11:504:2:372c:0:6'],
      ['32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1', '2001:db8::1'],
      ['0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0', '::'],
      ['0.1.0.0.0.0.0.1.0.0.0.0.0.0.0.1', '1:0:0:1::1'],
      [
        Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x0e, 0x86, 0x10, 0xff, 0xfe, 0xf3, 0x87, 0x1e]),
        'fe80::e86:10ff:fef3:871e',
      ],
      ['1.2.3.4', undefined],
      ['1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.256', undefined],
    ])('ipv6(%s) = %s', (input, output) => {
      expect(FUNCTIONS.ipv6?.fn([input])).toBe(output);
    });

    it('find_suffix() finds the first index ending with the arcs', () => {
      const table: TableData = {
        indexes: ['670.1.4.42.7.240.144', '683.1.4.10.42.7.240.144', '700.1.4.2.7.240.144'],
        columns: new Map([['state', new Map<string, Value>()]]),
      };
      const scope = {
        tables: new Map([['arp', new Set(['state'])]]),
        scalars: new Set<string>(),
        maps: new Map(),
        row: undefined,
        data: true,
      };
      const ctx: EvalContext = {
        tables: new Map([['arp', table]]),
        scalars: new Map(),
        resource: resourceOf('x') as Resource,
        interval: 60,
        index: undefined,
      };
      const run = (text: string): Value => compileExpression(parseExpression(text), scope)(ctx);
      expect(run("find_suffix(arp, '1.4.42.7.240.144')")).toBe('670.1.4.42.7.240.144');
      expect(run("arc(find_suffix(arp, '2.7.240.144'), 0)")).toBe(700);
      expect(run("find_suffix(arp, '7.240.14')")).toBeUndefined();
      expect(run("find_suffix(arp, '700.1.4.2.7.240.144')")).toBe('700.1.4.2.7.240.144');
    });
  });
});
