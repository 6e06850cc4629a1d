/**
 * Interface polling and enrichment against Panoptes: the if-mib profile run by the interface
 * polling plugin reproduces Panoptes' interface metrics for its own test recording (with the
 * enrichment Panoptes' test used), the interface enrichment reproduces Panoptes' generic, Cisco,
 * Juniper and Arista enrichment results (parent interfaces included), and the plugin's counter
 * widths, fallbacks and polling statuses hold on in-memory devices.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ENRICHMENT_COLUMNS,
  interfaceData,
  interfaceVendor,
  parentInterfaceName,
} from '../../plugins/interface-enrichment.js';
import {
  IF_MIB_PROFILE,
  INTERFACE_COUNTERS,
  INTERFACE_DIMENSIONS,
  InterfacePollingPlugin,
} from '../../plugins/interface-polling.js';
import { speedBits } from '../../plugins/lib/if-mib.js';
import type { EnrichmentGroup, EnrichmentValue, MetricsGroup, Resource } from '../../src/model/index.js';
import type { CounterHint, PluginContext, PollResult } from '../../src/plugins/api.js';
import { parsePluginFile } from '../../src/plugins/plugin-file.js';
import { ProfileCatalog } from '../../src/profiles/catalog.js';
import { runProfiles } from '../../src/profiles/engine.js';
import { parseProfile } from '../../src/profiles/profile.js';
import type { SnmpSession } from '../../src/snmp/session.js';
import { SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { captureLogger } from '../support/capture-logger.js';
import { MemorySnmpSession } from '../support/memory-snmp-session.js';
import {
  BUILTIN_PROFILES,
  FIXTURES,
  scoreAgainstPanoptes,
  testResource,
} from '../support/profile-harness.js';

const PLUGIN_FILE = fileURLToPath(
  new URL('../../plugins/interface-polling.panoptes-plugin', import.meta.url),
);

/** A session that remembers which columns were walked. */
class RecordingSession extends MemorySnmpSession {
  readonly walked: string[] = [];
  override walkColumns(columns: readonly string[]): Promise<Map<string, Varbind[]>> {
    this.walked.push(...columns);
    return super.walkColumns(columns);
  }
}

interface Run {
  readonly result: PollResult;
  readonly warnings: string[];
}

/** Runs the interface polling plugin (its own plugin file, plus `options`) against a session. */
async function pollWith(
  session: SnmpSession,
  enrichment: EnrichmentGroup | undefined,
  resource: Resource = testResource(),
  options: Readonly<Record<string, string>> = {},
): Promise<Run> {
  const optionLines = Object.entries(options).map(([k, v]) => `${k} = ${v}`);
  const text =
    readFileSync(PLUGIN_FILE, 'utf8') +
    (optionLines.length > 0 ? `\n[options]\n${optionLines.join('\n')}\n` : '');
  const config = parsePluginFile(text, PLUGIN_FILE);
  const { logger, records } = captureLogger();
  const ctx: PluginContext = {
    config,
    logger,
    signal: new AbortController().signal,
    snmp: () => Promise.resolve(session),
    enrichment: (id, namespace) => {
      expect(id).toBe(resource.resource_id);
      expect(namespace).toBe('interface');
      return Promise.resolve(enrichment);
    },
    secret: () => Promise.resolve(undefined),
    store: {} as KeyValueStore,
    profiles: new ProfileCatalog([]),
    keep: () => {
      throw new Error('the interface plugin keeps nothing between runs');
    },
  };
  const result = await new InterfacePollingPlugin().poll(ctx, resource);
  return { result, warnings: records.filter((r) => r.level >= 40).map((r) => r.msg) };
}

function enrichmentGroup(data: Record<string, Record<string, EnrichmentValue>>): EnrichmentGroup {
  return { namespace: 'interface', enrichment_ttl: 900, execute_frequency: 300, creation_timestamp: 1, data };
}

const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));
const metrics = (g: MetricsGroup): Record<string, number | bigint> =>
  Object.fromEntries(g.metrics.map((m) => [m.metric_name, m.metric_value]));
const hintsOf = (r: PollResult, g: MetricsGroup): Readonly<Record<string, CounterHint>> | undefined =>
  r.counters?.get(g);

describe('interface polling against Panoptes (tests/plugins/polling/interface)', () => {
  // tests/plugins/polling/interface/data/enrichment_data of Panoptes: one interface, ifIndex 5.
  const PANOPTES_ENRICHMENT = enrichmentGroup(
    JSON.parse(readFileSync(join(FIXTURES, 'interface-polling.enrichment.json'), 'utf8')) as Record<
      string,
      Record<string, EnrichmentValue>
    >,
  );

  it('reproduces at least 90% of Panoptes values for its recording and enrichment', async () => {
    const session = MemorySnmpSession.fromSnmprec(join(FIXTURES, 'interface-polling.snmprec'));
    const { result } = await pollWith(
      session,
      PANOPTES_ENRICHMENT,
      testResource({ resource_metadata: { model: 'model' } }),
    );
    expect(result.status).toBe('success');
    // ifIndex 4 has only ifSpeed (no ifTable row): no group, as in Panoptes.
    expect(result.groups).toHaveLength(1);
    const score = scoreAgainstPanoptes(result.groups, 'interface-polling.results.json');
    expect(score.total).toBe(22);
    expect(score.matched / score.total).toBeGreaterThanOrEqual(0.9);
    // The one difference: Panoptes copies configured_speed from the enrichment (10, made up by its
    // test); the profile reads it from the device (ifHighSpeed 1000 Mbit/s).
    expect(score.misses).toEqual([
      expect.stringMatching(/^interface\{.*\}\.configured_speed = 10 \(ours: 1000000000\)$/),
    ]);
    expect(score.matched).toBe(21);
    expect(score.extra).toEqual([]);
  });

  it("emits Panoptes' 22 metrics with Panoptes' types and dimensions", async () => {
    const session = MemorySnmpSession.fromSnmprec(join(FIXTURES, 'interface-polling.snmprec'));
    const { result } = await pollWith(session, PANOPTES_ENRICHMENT);
    const g = result.groups[0] as MetricsGroup;
    const theirs = (
      JSON.parse(readFileSync(join(FIXTURES, 'interface-polling.results.json'), 'utf8')) as MetricsGroup[]
    )[0] as MetricsGroup;
    const types = (x: MetricsGroup): string[] =>
      x.metrics.map((m) => `${m.metric_name}:${m.metric_type}`).sort();
    expect(types(g)).toEqual(types(theirs));
    expect(dims(g)).toEqual(dims(theirs));
    expect(g.dimensions.map((d) => d.dimension_name)).toEqual(INTERFACE_DIMENSIONS);
  });

  it('has the enrichment-derived names Panoptes joined when our enrichment reads the recording', async () => {
    const session = MemorySnmpSession.fromSnmprec(join(FIXTURES, 'interface-polling.snmprec'));
    const data = interfaceData(await session.walkColumns(ENRICHMENT_COLUMNS), testResource());
    // Panoptes' test enrichment was written by hand (its interface_name is ifDescr, its alias
    // the recording's ifName); ours reads the recording as Panoptes' enrichment plugin would.
    expect(data['5']).toMatchObject({
      interface_name: 'Gi0',
      description: 'GigabitEthernet0',
      media_type: 'ethernetCsmacd',
      configured_speed: 1_000_000_000,
      port_speed: 1_000_000_000,
      physical_address: '18:E7:28:18:E7:80',
    });
    expect(data['5']).not.toHaveProperty('alias'); // ifAlias is empty
  });
});

interface PanoptesEnrichmentResults {
  readonly resource: Resource;
  readonly enrichment: readonly { data: readonly Record<string, Record<string, EnrichmentValue>>[] }[];
}

describe('interface enrichment against Panoptes (tests/plugins/enrichment/interface)', () => {
  const cases = [
    { fixture: 'interface-enrichment', vendor: 'generic' },
    { fixture: 'interface-enrichment-cisco', vendor: 'cisco' },
    { fixture: 'interface-enrichment-juniper-mx', vendor: 'juniper' },
    { fixture: 'interface-enrichment-juniper-qfx', vendor: 'juniper' },
    { fixture: 'interface-enrichment-arista', vendor: 'arista' },
  ] as const;

  it.each(cases)('$fixture: every value of Panoptes ($vendor rules)', async ({ fixture, vendor }) => {
    const expected = JSON.parse(
      readFileSync(join(FIXTURES, `${fixture}.results.json`), 'utf8'),
    ) as PanoptesEnrichmentResults;
    const resource = testResource({
      resource_type: expected.resource.resource_type,
      resource_metadata: expected.resource.resource_metadata,
    });
    expect(interfaceVendor(resource, 'auto')).toBe(vendor);
    const session = MemorySnmpSession.fromSnmprec(join(FIXTURES, `${fixture}.snmprec`));
    const data = interfaceData(await session.walkColumns(ENRICHMENT_COLUMNS), resource, vendor);
    const misses: string[] = [];
    let total = 0;
    for (const entry of expected.enrichment[0]?.data ?? []) {
      for (const [index, fields] of Object.entries(entry)) {
        for (const [field, value] of Object.entries(fields)) {
          total++;
          // Panoptes writes `<not set>` and -1 for what is missing; we leave the field out.
          const theirs = value === '<not set>' || value === -1 ? undefined : value;
          const ours = data[index]?.[field];
          if (ours !== theirs) misses.push(`${index}.${field}: ${String(value)} (ours: ${String(ours)})`);
        }
      }
    }
    expect(total).toBeGreaterThan(0);
    if (vendor === 'arista') {
      // Panoptes' Arista rule gives every interface its own media type as its parent's, even one
      // without a parent; we give a parent media type only to an interface with a parent.
      expect(misses.sort()).toEqual([
        '25.parent_interface_media_type: ethernetCsmacd (ours: undefined)',
        '5000000.parent_interface_media_type: softwareLoopback (ours: undefined)',
        '999001.parent_interface_media_type: ethernetCsmacd (ours: undefined)',
      ]);
    } else {
      expect(misses).toEqual([]);
    }
  });

  it.each([
    // Cisco: before the first '.'; the parent's facts when it exists.
    { vendor: 'cisco', name: 'Gi0/1.100', parent: 'Gi0/1' },
    { vendor: 'cisco', name: 'Te 1/52/3.0', parent: 'Te 1/52/3' },
    { vendor: 'cisco', name: 'Ethernet1/52/4', parent: undefined },
    // Juniper: before the first '.', else before the first ':'.
    { vendor: 'juniper', name: 'et-0/0/0.0', parent: 'et-0/0/0' },
    { vendor: 'juniper', name: 'ge-0/0/1:2', parent: 'ge-0/0/1' },
    { vendor: 'juniper', name: 'xe-0/0/1:2.0', parent: 'xe-0/0/1:2' },
    { vendor: 'juniper', name: 'fxp0', parent: undefined },
    // Arista: before the first '/'.
    { vendor: 'arista', name: 'Ethernet1/1', parent: 'Ethernet1' },
    { vendor: 'arista', name: 'Ethernet25', parent: undefined },
    // Other devices: none.
    { vendor: 'generic', name: 'Gi0/1.100', parent: undefined },
  ] as const)('$vendor: $name -> $parent', ({ vendor, name, parent }) => {
    expect(parentInterfaceName(vendor, name)).toBe(parent);
  });

  it('takes the parent facts from the named parent (Juniper QFX et-0/0/0.0, 100G by model)', async () => {
    const session = MemorySnmpSession.fromSnmprec(join(FIXTURES, 'interface-enrichment-juniper-qfx.snmprec'));
    const columns = await session.walkColumns(ENRICHMENT_COLUMNS);
    const qfx = interfaceData(columns, testResource({ resource_metadata: { model: 'QFX5200' } }), 'juniper');
    expect(qfx['983']).toMatchObject({
      interface_name: 'et-0/0/0.0',
      parent_interface_name: 'et-0/0/0',
      parent_interface_media_type: 'ethernetCsmacd',
      parent_interface_port_speed: 100_000_000_000,
    });
    // Another model: `et` ports are 40G by name.
    const other = interfaceData(columns, testResource({ resource_metadata: { model: 'MX960' } }), 'juniper');
    expect(other['598']?.['port_speed']).toBe(40_000_000_000);
    expect(other['983']?.['parent_interface_port_speed']).toBe(40_000_000_000);
  });

  it.each([
    // [ifSpeed, ifHighSpeed, bit/s] as Panoptes' get_configured_speed
    [1_000_000_000, 1000, 1_000_000_000],
    [4_294_967_295, 10_000, 10_000_000_000],
    [1_544_000, 1, 1_544_000], // ifHighSpeed 1 (rounded): ifSpeed is exact
    [0, 1, 1_000_000],
    [0, 0, 0],
    [54_321, 0, 54_321],
    [54_321, undefined, 54_321],
    [undefined, 0, undefined],
    [0, undefined, undefined],
    [undefined, undefined, undefined],
  ] as const)('speed: ifSpeed %s, ifHighSpeed %s -> %s', (speed, high, bits) => {
    expect(speedBits(speed, high)).toBe(bits);
  });
});

// In-memory devices for the plugin's own rules.
const IF = '1.3.6.1.2.1.2.2.1';
const IFX = '1.3.6.1.2.1.31.1.1.1';
const DOT3 = '1.3.6.1.2.1.10.7.2.1';
const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const vb = (oid: string, type: Varbind['type'], value: Varbind['value']): Varbind => ({ oid, type, value });

interface IfaceSpec {
  /** 64-bit counters (ifXTable HC columns). Default true. */
  readonly hc?: boolean;
  /** 32-bit counters (ifTable octets/ucast, ifXTable mcast/bcast). Default true. */
  readonly c32?: boolean;
  /** EtherLike dot3StatsTable row. Default true. */
  readonly dot3?: boolean;
  /** Column OIDs to leave out. */
  readonly omit?: readonly string[];
  /** Value of ifHCInOctets (default 2^40 + i). */
  readonly hcInOctets?: bigint;
  /** Value of ifInOctets (default 1000 * i). */
  readonly inOctets?: number;
}

function device(specs: Readonly<Record<number, IfaceSpec>>): Varbind[] {
  const out: Varbind[] = [vb('1.3.6.1.2.1.1.3.0', SnmpTag.TimeTicks, 123_456)];
  for (const [n, spec] of Object.entries(specs)) {
    const i = Number(n);
    const add = (oid: string, type: Varbind['type'], value: Varbind['value']): void => {
      if (!(spec.omit ?? []).includes(oid)) out.push(vb(`${oid}.${i}`, type, value));
    };
    add(`${IF}.2`, SnmpTag.OctetString, text(`GigabitEthernet0/${i}`));
    add(`${IF}.3`, SnmpTag.Integer32, 6);
    add(`${IF}.4`, SnmpTag.Integer32, 1500);
    add(`${IF}.5`, SnmpTag.Gauge32, 1_000_000_000);
    add(`${IF}.7`, SnmpTag.Integer32, 1);
    add(`${IF}.8`, SnmpTag.Integer32, i % 2 === 0 ? 2 : 1);
    add(`${IF}.13`, SnmpTag.Counter32, 13 * i);
    add(`${IF}.14`, SnmpTag.Counter32, 14 * i);
    add(`${IF}.19`, SnmpTag.Counter32, 19 * i);
    add(`${IF}.20`, SnmpTag.Counter32, 20 * i);
    add(`${IFX}.1`, SnmpTag.OctetString, text(`Gi0/${i}`));
    add(`${IFX}.15`, SnmpTag.Gauge32, 1000);
    add(`${IFX}.18`, SnmpTag.OctetString, text(i === 1 ? 'uplink' : ''));
    if (spec.c32 ?? true) {
      add(`${IF}.10`, SnmpTag.Counter32, spec.inOctets ?? 1000 * i);
      add(`${IF}.11`, SnmpTag.Counter32, 11 * i);
      add(`${IF}.16`, SnmpTag.Counter32, 1600 * i);
      add(`${IF}.17`, SnmpTag.Counter32, 17 * i);
      for (const c of [2, 3, 4, 5]) add(`${IFX}.${c}`, SnmpTag.Counter32, c * i);
    }
    if (spec.hc ?? true) {
      add(`${IFX}.6`, SnmpTag.Counter64, spec.hcInOctets ?? 2n ** 40n + BigInt(i));
      for (const c of [7, 8, 9, 10, 11, 12, 13]) add(`${IFX}.${c}`, SnmpTag.Counter64, BigInt(100 * c + i));
    }
    if (spec.dot3 ?? true) {
      for (const c of [2, 3, 13]) add(`${DOT3}.${c}`, SnmpTag.Counter32, 1000 + c * i);
    }
  }
  return out;
}

const NAMES = enrichmentGroup({
  '1': { interface_name: 'Gi0/1', alias: 'uplink', description: 'GigabitEthernet0/1', port_speed: 1e9 },
  '2': { interface_name: 'Gi0/2', description: 'GigabitEthernet0/2', media_type: 'ethernetCsmacd' },
});

describe('interface polling plugin on in-memory devices', () => {
  it('prefers 64-bit counters, with width 64 from the Counter64 varbinds, and walks no 32-bit column', async () => {
    const session = new RecordingSession(device({ 1: {}, 2: {} }));
    const { result } = await pollWith(session, NAMES);
    expect(result.status).toBe('success');
    expect(result.sysUpTime).toBe(123_456);
    const [g1, g2] = result.groups as [MetricsGroup, MetricsGroup];
    expect(metrics(g1)).toMatchObject({
      bits_in: (2 ** 40 + 1) * 8,
      bits_out: 8 * (1000 + 1),
      unicast_packets_in: 701,
      multicast_packets_in: 801,
      broadcast_packets_in: 901,
      total_packets_in: 701 + 801 + 901,
      total_packets_out: 1101 + 1201 + 1301,
      errors_in: 14,
      errors_crc: 1003,
      errors_frame: 1002,
      errors_giants: 1013,
      mtu: 1500,
      admin_state: 1,
      oper_state: 1,
      oper_admin_state_mismatch: 0,
      configured_speed: 1_000_000_000,
    });
    expect(metrics(g2)['oper_admin_state_mismatch']).toBe(1);
    expect(g1.metrics).toHaveLength(22);
    const hints = hintsOf(result, g1);
    expect(hints?.['bits_in']).toEqual({ width: 64, scale: 8, maxPerSecond: 1_000_000_000 });
    expect(hints?.['unicast_packets_in']).toEqual({ width: 64, scale: 1 });
    // Only values actually read count: bits_out is 8 x 1001, small, and still a Counter64.
    expect(hints?.['bits_out']?.width).toBe(64);
    expect(hints?.['total_packets_in']?.width).toBe(64);
    expect(hints?.['errors_in']).toEqual({ width: 32, scale: 1 });
    expect(hints?.['errors_crc']).toEqual({ width: 32, scale: 1 });
    expect(Object.keys(hints ?? {}).sort()).toEqual([...INTERFACE_COUNTERS].sort());
    expect(session.walked).not.toContain(`${IF}.10`);
    expect(dims(g1)).toEqual({
      interface_name: 'Gi0/1',
      alias: 'uplink',
      description: 'GigabitEthernet0/1',
      media_type: '<not set>',
      port_speed: '1000000000',
      configured_speed: '<not set>',
      parent_interface_name: '<not set>',
      parent_interface_media_type: '<not set>',
      parent_interface_port_speed: '<not set>',
      parent_interface_configured_speed: '<not set>',
    });
  });

  it.each([
    {
      name: 'a device without 64-bit counters',
      specs: { 1: { hc: false }, 2: { hc: false } },
      widths: { 1: 32, 2: 32 },
      bitsIn: { 1: 8000, 2: 16000 },
      // Multicast and broadcast packets are 64-bit only (as in Panoptes): no total either.
      total: { 1: undefined, 2: undefined },
    },
    {
      name: 'one interface without 64-bit counters',
      specs: { 1: {}, 2: { hc: false } },
      widths: { 1: 64, 2: 32 },
      bitsIn: { 1: (2 ** 40 + 1) * 8, 2: 16000 },
      total: { 1: { value: 701 + 801 + 901, width: 64 }, 2: undefined },
    },
    {
      name: 'a Counter32 near 2^32 and a Counter64 of 5 (widths by type, not by magnitude)',
      specs: { 1: { hc: false, inOctets: 4_294_967_000 }, 2: { hcInOctets: 5n } },
      widths: { 1: 32, 2: 64 },
      bitsIn: { 1: 4_294_967_000 * 8, 2: 40 },
      total: { 1: undefined, 2: { value: 702 + 802 + 902, width: 64 } },
    },
    {
      // A sum with a Counter32 in it wraps like one: the total of a 32-bit unicast count.
      name: 'an interface without ifHCInUcastPkts',
      specs: { 1: { omit: [`${IFX}.7`] }, 2: {} },
      widths: { 1: 64, 2: 64 },
      bitsIn: { 1: (2 ** 40 + 1) * 8, 2: (2 ** 40 + 2) * 8 },
      total: { 1: { value: 11 + 801 + 901, width: 32 }, 2: { value: 702 + 802 + 902, width: 64 } },
    },
  ] as const)('falls back to 32-bit counters: $name', async ({ specs, widths, bitsIn, total }) => {
    const session = new RecordingSession(device(specs));
    const { result } = await pollWith(session, NAMES);
    expect(result.status).toBe('success');
    expect(session.walked).toContain(`${IF}.10`);
    expect(session.walked).not.toContain(`${IFX}.2`); // no 32-bit multicast
    for (const g of result.groups) {
      const i = Number(dims(g)['interface_name']?.slice(4)) as 1 | 2;
      const h = hintsOf(result, g);
      expect(metrics(g)['bits_in'], `bits_in of ${i}`).toBe(bitsIn[i]);
      expect(h?.['bits_in'], `bits_in of ${i}`).toEqual({ width: widths[i], scale: 8, maxPerSecond: 1e9 });
      expect(h?.['unicast_packets_out']?.width, `unicast_packets_out of ${i}`).toBe(widths[i]);
      const t = total[i];
      expect(metrics(g)['total_packets_in'], `total_packets_in of ${i}`).toBe(t?.value);
      expect(h?.['total_packets_in']?.width, `total_packets_in of ${i}`).toBe(t?.width);
    }
  });

  it.each([
    {
      name: 'a required column missing -> partial (4), the metric left out',
      device: device({ 1: {}, 2: { omit: [`${IF}.14`] } }),
      enrichment: NAMES,
      status: 'partial',
      groups: 2,
      absent: { 2: ['errors_in'] },
    },
    {
      name: 'a required column missing everywhere -> partial (4)',
      device: device({ 1: { omit: [`${IF}.8`] }, 2: { omit: [`${IF}.8`] } }),
      enrichment: NAMES,
      status: 'partial',
      groups: 2,
      absent: {
        1: ['oper_state', 'oper_admin_state_mismatch'],
        2: ['oper_state', 'oper_admin_state_mismatch'],
      },
    },
    {
      name: 'optional metrics missing (no EtherLike, no multicast/broadcast, no MTU) -> success',
      device: device({
        1: { dot3: false, c32: false, omit: [`${IFX}.8`, `${IFX}.9`, `${IFX}.12`, `${IFX}.13`, `${IF}.4`] },
        2: { dot3: false },
      }),
      enrichment: NAMES,
      status: 'success',
      groups: 2,
      absent: {
        1: [
          'multicast_packets_in',
          'multicast_packets_out',
          'broadcast_packets_in',
          'broadcast_packets_out',
          'total_packets_in',
          'total_packets_out',
          'errors_crc',
          'errors_frame',
          'errors_giants',
          'mtu',
        ],
        2: ['errors_crc', 'errors_frame', 'errors_giants'],
      },
    },
    {
      name: 'no interfaces -> missing data (6)',
      device: [vb('1.3.6.1.2.1.1.3.0', SnmpTag.TimeTicks, 5)],
      enrichment: NAMES,
      status: 'missingData',
      groups: 0,
      absent: {},
    },
    {
      name: 'no enrichment -> enrichment failure (8), names read from the device',
      device: device({ 1: {}, 2: {} }),
      enrichment: undefined,
      status: 'enrichmentFailure',
      groups: 2,
      absent: {},
    },
    {
      name: 'an interface the enrichment lacks -> enrichment failure (8)',
      device: device({ 1: {}, 2: {}, 3: {} }),
      enrichment: NAMES,
      status: 'enrichmentFailure',
      groups: 3,
      absent: {},
    },
  ] as const)('$name', async ({ device: varbinds, enrichment, status, groups, absent }) => {
    const { result } = await pollWith(new MemorySnmpSession(varbinds), enrichment);
    expect(result.status).toBe(status);
    expect(result.groups).toHaveLength(groups);
    for (const g of result.groups) {
      const i = Number(dims(g)['interface_name']?.slice(4));
      const missing = (absent as Readonly<Record<number, readonly string[]>>)[i] ?? [];
      expect(g.metrics.map((m) => m.metric_name).sort(), `interface ${i}`).toEqual(
        [
          ...INTERFACE_COUNTERS,
          'mtu',
          'admin_state',
          'oper_state',
          'oper_admin_state_mismatch',
          'configured_speed',
        ]
          .filter((m) => !missing.includes(m))
          .sort(),
      );
    }
  });

  it('reads the names from the device when the enrichment is missing, and keeps those it has', async () => {
    const missing = await pollWith(new MemorySnmpSession(device({ 1: {}, 2: {} })), undefined);
    expect(missing.result.groups.map((g) => dims(g))).toEqual([
      expect.objectContaining({
        interface_name: 'Gi0/1',
        alias: 'uplink',
        media_type: 'ethernetCsmacd',
        configured_speed: '1000000000',
      }),
      expect.objectContaining({ interface_name: 'Gi0/2', alias: '<not set>', port_speed: '1000000000' }),
    ]);
    const partial = await pollWith(
      new MemorySnmpSession(device({ 1: {}, 3: {} })),
      enrichmentGroup({ '1': { interface_name: 'core-uplink' } }),
    );
    expect(partial.result.groups.map((g) => dims(g)['interface_name'])).toEqual(['core-uplink', 'Gi0/3']);
  });

  it('adds interface_index on request (Panoptes include_interface_index)', async () => {
    const { result } = await pollWith(
      new MemorySnmpSession(device({ 7: {} })),
      enrichmentGroup({ '7': {} }),
      testResource(),
      {
        include_interface_index: 'true',
      },
    );
    expect(dims(result.groups[0] as MetricsGroup)).toMatchObject({
      interface_name: 'ifIndex 7',
      interface_index: '7',
    });
    const plain = await pollWith(new MemorySnmpSession(device({ 7: {} })), enrichmentGroup({ '7': {} }));
    expect(dims(plain.result.groups[0] as MetricsGroup)).not.toHaveProperty('interface_index');
  });
});

describe('the if-mib profile', () => {
  it("gives INTERFACE_COUNTERS, and the plugin file's rate line names exactly them", () => {
    expect(INTERFACE_COUNTERS).toEqual([
      'bits_in',
      'bits_out',
      'unicast_packets_in',
      'unicast_packets_out',
      'multicast_packets_in',
      'multicast_packets_out',
      'broadcast_packets_in',
      'broadcast_packets_out',
      'total_packets_in',
      'total_packets_out',
      'errors_in',
      'errors_out',
      'discards_in',
      'discards_out',
      'errors_crc',
      'errors_frame',
      'errors_giants',
    ]);
    const def = parsePluginFile(readFileSync(PLUGIN_FILE, 'utf8'), PLUGIN_FILE);
    expect(def.transforms.map((t) => [t.metricsGroupType, [...t.counters]])).toEqual([
      ['interface', [...INTERFACE_COUNTERS]],
    ]);
    const enrichmentFile = PLUGIN_FILE.replace('interface-polling', 'interface-enrichment');
    expect(parsePluginFile(readFileSync(enrichmentFile, 'utf8'), enrichmentFile).options).toEqual({
      vendor: 'auto',
    });
  });

  it('selects no device by itself (device-metrics only polls it when named)', async () => {
    expect(IF_MIB_PROFILE.filter).toBeUndefined();
    expect(IF_MIB_PROFILE.sysObjectIds).toEqual([]);
    const { catalog, problems } = await ProfileCatalog.load([BUILTIN_PROFILES]);
    expect(problems).toEqual([]);
    expect(catalog.get('if-mib')).toBeDefined();
    for (const r of [
      testResource(),
      testResource({ resource_type: 'cisco' }),
      testResource({ resource_class: 'system', resource_subclass: 'host' }),
    ]) {
      expect(catalog.byFilter(r).map((p) => p.name)).not.toContain('if-mib');
    }
    for (const id of [
      '1.3.6.1.4.1.9.1.1',
      '1.3.6.1.4.1.2636.1.1.1.2.29',
      '1.3.6.1.4.1.8072.3.2.10',
      '1.3.6',
    ]) {
      expect(catalog.bySysObjectId(id).map((p) => p.name)).not.toContain('if-mib');
    }
  });
});

describe('profile engine: counter hints and tables that wait for others', () => {
  const profile = (body: string): ReturnType<typeof parseProfile> =>
    parseProfile(`profile: t\n${body}`, 'inline.yaml');
  const run = (p: ReturnType<typeof parseProfile>, varbinds: Varbind[]): ReturnType<typeof runProfiles> =>
    runProfiles([p], new MemorySnmpSession(varbinds), {
      resource: testResource(),
      interval: 60,
      now: () => 0,
    });

  it('takes widths from scalars too, and a counter read from no counter is 64-bit', async () => {
    const p = profile(
      [
        'scalars: { c32: 1.3.6.1.9.1.0, c64: 1.3.6.1.9.2.0, g: 1.3.6.1.9.3.0 }',
        'groups:',
        '  - type: x',
        '    metrics:',
        '      a: { value: c32, type: counter, scale: 8 }',
        '      b: { value: c64 + c32, type: counter }',
        '      c: { value: c64, type: counter, max_per_second: g * 2 }',
        '      d: { value: g, type: counter }',
      ].join('\n'),
    );
    const r = await run(p, [
      vb('1.3.6.1.9.1.0', SnmpTag.Counter32, 4_294_967_295),
      vb('1.3.6.1.9.2.0', SnmpTag.Counter64, 3n),
      vb('1.3.6.1.9.3.0', SnmpTag.Gauge32, 50),
    ]);
    const g = r.groups[0] as MetricsGroup;
    expect(metrics(g)).toEqual({ a: 4_294_967_295 * 8, b: 4_294_967_298, c: 3, d: 50 });
    expect(r.counters.get(g)).toEqual({
      a: { width: 32, scale: 8 },
      b: { width: 32, scale: 1 },
      c: { width: 64, scale: 1, maxPerSecond: 100 },
      d: { width: 64, scale: 1 },
    });
  });

  it('walks a table whose when names an earlier table after it, and only when true', async () => {
    const p = profile(
      [
        'tables:',
        '  first: { columns: { v: 1.3.6.1.9.1 } }',
        '  second: { columns: { w: 1.3.6.1.9.2 }, when: "count(first, v > 10) > 0" }',
        'groups:',
        '  - type: x',
        '    table: first',
        '    metrics: { w: "coalesce(second.w, -1)" }',
      ].join('\n'),
    );
    expect(p.tables.get('second')?.after).toEqual(['first']);
    const small = [vb('1.3.6.1.9.1.1', SnmpTag.Integer32, 5), vb('1.3.6.1.9.2.1', SnmpTag.Integer32, 7)];
    expect((await run(p, small)).groups.map((g) => metrics(g)['w'])).toEqual([-1]);
    const big = [vb('1.3.6.1.9.1.1', SnmpTag.Integer32, 50), vb('1.3.6.1.9.2.1', SnmpTag.Integer32, 7)];
    expect((await run(p, big)).groups.map((g) => metrics(g)['w'])).toEqual([7]);
  });

  it('refuses a when that names a later table, and scale or max_per_second on a gauge', () => {
    expect(() =>
      profile(
        [
          'tables:',
          '  first: { columns: { v: 1.3.6.1.9.1 }, when: "count(second) > 0" }',
          '  second: { columns: { w: 1.3.6.1.9.2 } }',
          'groups: [{ type: x, table: first, metrics: { v: v } }]',
        ].join('\n'),
      ),
    ).toThrow(/tables\.first\.when: .*not fetched yet/);
    expect(() =>
      profile(
        [
          'tables:',
          '  first: { columns: { v: 1.3.6.1.9.1 } }',
          '  second: { columns: { w: 1.3.6.1.9.2 }, when: "count(third) > 0" }',
          '  third: { columns: { z: 1.3.6.1.9.3 } }',
          'groups: [{ type: x, table: first, metrics: { v: v } }]',
        ].join('\n'),
      ),
    ).toThrow(/tables\.second\.when: count\(\) takes a table name first \(first\)/);
    expect(() =>
      profile(
        [
          'tables: { first: { columns: { v: 1.3.6.1.9.1 } } }',
          'groups: [{ type: x, table: first, metrics: { v: { value: v, scale: 8, max_per_second: 1 } } }]',
        ].join('\n'),
      ),
    ).toThrow(/metrics\.v\.scale: "scale" is for counters only[\s\S]*max_per_second/);
  });
});
