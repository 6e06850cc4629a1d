/**
 * The interface-enrichment plugin against in-memory devices: devices with only the 32-bit
 * ifTable, devices with ifXTable (ifName, ifAlias, ifHighSpeed), the vendor option (auto by
 * resource_type, or forced), media type names, an empty device and one that does not answer.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENRICHMENT_COLUMNS, InterfaceEnrichmentPlugin } from '../../../plugins/interface-enrichment.js';
import { pollingStatusOf } from '../../../src/actors/run-status.js';
import type { EnrichmentValue, Resource } from '../../../src/model/index.js';
import type { PluginContext } from '../../../src/plugins/api.js';
import type { PluginDefinition } from '../../../src/plugins/plugin-file.js';
import { MIB_OBJECTS, scalar } from '../../../src/snmp/mibs.js';
import { SnmpTag } from '../../../src/snmp/types.js';
import type { Varbind } from '../../../src/snmp/types.js';
import type { LogRecord } from '../../support/capture-logger.js';
import { MemorySnmpSession } from '../../support/memory-snmp-session.js';
import { testPluginContext } from '../../support/plugin-context.js';
import { testResource } from '../../support/profile-harness.js';
import { failureOf } from './plugin-run.js';

const PLUGIN_FILE = fileURLToPath(
  new URL('../../../plugins/interface-enrichment.panoptes-plugin', import.meta.url),
);
const NOW = Date.UTC(2024, 2, 1, 6, 30, 0);

type Data = Record<string, Record<string, EnrichmentValue>>;

/** A session that remembers the columns walked. */
class RecordingSession extends MemorySnmpSession {
  readonly walked: string[] = [];
  override walkColumns(columns: readonly string[]): Promise<Map<string, Varbind[]>> {
    this.walked.push(...columns);
    return super.walkColumns(columns);
  }
}

/** The plugin's own file, with `options` set in its [options] and `main` over its settings. */
function contextFor(
  session: MemorySnmpSession,
  options: Readonly<Record<string, string>> = {},
  main: Partial<PluginDefinition> = {},
): { ctx: PluginContext; records: LogRecord[] } {
  return testPluginContext(PLUGIN_FILE, { session, options, main });
}

interface Iface {
  readonly descr?: string;
  readonly type?: number;
  readonly speed?: number;
  readonly mac?: readonly number[];
  /** ifXTable */
  readonly name?: string;
  readonly alias?: string;
  readonly high?: number;
}

const octets = (oid: string, s: string): Varbind => ({
  oid,
  type: SnmpTag.OctetString,
  value: Buffer.from(s, 'utf8'),
});
const int = (oid: string, type: Varbind['type'], value: number): Varbind => ({ oid, type, value });

/** A device's IF-MIB rows (what an interface leaves out, the device does not answer). */
function device(ifaces: Readonly<Record<number, Iface>>): Varbind[] {
  const M = MIB_OBJECTS;
  const out: Varbind[] = [int(scalar('sysUpTime'), SnmpTag.TimeTicks, 100)];
  for (const [index, i] of Object.entries(ifaces)) {
    if (i.descr !== undefined) out.push(octets(`${M.ifDescr}.${index}`, i.descr));
    if (i.type !== undefined) out.push(int(`${M.ifType}.${index}`, SnmpTag.Integer32, i.type));
    if (i.speed !== undefined) out.push(int(`${M.ifSpeed}.${index}`, SnmpTag.Gauge32, i.speed));
    if (i.mac !== undefined) {
      out.push({
        oid: `${M.ifPhysAddress}.${index}`,
        type: SnmpTag.OctetString,
        value: Uint8Array.from(i.mac),
      });
    }
    if (i.name !== undefined) out.push(octets(`${M.ifName}.${index}`, i.name));
    if (i.alias !== undefined) out.push(octets(`${M.ifAlias}.${index}`, i.alias));
    if (i.high !== undefined) out.push(int(`${M.ifHighSpeed}.${index}`, SnmpTag.Gauge32, i.high));
  }
  return out;
}

async function enrich(
  session: MemorySnmpSession,
  resource: Resource = testResource(),
  options: Readonly<Record<string, string>> = {},
): Promise<Data> {
  const { ctx } = contextFor(session, options);
  const groups = await new InterfaceEnrichmentPlugin().enrich(ctx, resource);
  expect(groups).toHaveLength(1);
  return groups[0]?.data ?? {};
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('interface-enrichment: what a device gives', () => {
  it.each([
    {
      name: '32-bit only (no ifXTable): names from ifDescr, port_speed from ifSpeed',
      ifaces: {
        1: { descr: 'eth0', type: 6, speed: 100_000_000, mac: [0x00, 0x1c, 0x73, 0x53, 0xad, 0xeb] },
        2: { descr: 'lo', type: 24, speed: 10_000_000, mac: [] },
        3: { descr: 'Serial0', type: 22, speed: 1_544_000 },
        10: { descr: 'eth1', type: 6, speed: 4_294_967_295, mac: [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01] },
      },
      data: {
        '1': {
          interface_name: 'eth0',
          description: 'eth0',
          media_type: 'ethernetCsmacd',
          configured_speed: 100_000_000,
          port_speed: 100_000_000,
          physical_address: '00:1C:73:53:AD:EB',
        },
        '2': {
          interface_name: 'lo',
          description: 'lo',
          media_type: 'softwareLoopback',
          configured_speed: 10_000_000,
          port_speed: 10_000_000,
        },
        '3': {
          interface_name: 'Serial0',
          description: 'Serial0',
          media_type: 'propPointToPointSerial',
          configured_speed: 1_544_000,
          port_speed: 1_544_000,
        },
        // Without ifHighSpeed a saturated ifSpeed is all there is.
        '10': {
          interface_name: 'eth1',
          description: 'eth1',
          media_type: 'ethernetCsmacd',
          configured_speed: 4_294_967_295,
          port_speed: 4_294_967_295,
          physical_address: 'DE:AD:BE:EF:00:01',
        },
      },
    },
    {
      name: 'ifXTable with ifHighSpeed: names from ifName, speeds from ifHighSpeed above 1 Mbit/s',
      ifaces: {
        1: {
          descr: 'Ethernet1',
          name: 'Et1',
          alias: 'uplink to core',
          type: 6,
          speed: 4_294_967_295,
          high: 10_000,
        },
        2: { descr: 'Ethernet2', name: 'Et2', alias: '', type: 6, speed: 1_000_000_000, high: 1000 },
        3: { descr: 'Management1', name: 'Ma1', alias: '  oob  ', type: 6, speed: 1_544_000, high: 1 },
        4: { descr: 'Null0', name: '', type: 1, speed: 0, high: 0 },
        5: { descr: 'Tunnel0', type: 131 },
      },
      data: {
        '1': {
          interface_name: 'Et1',
          alias: 'uplink to core',
          description: 'Ethernet1',
          media_type: 'ethernetCsmacd',
          configured_speed: 10_000_000_000,
          port_speed: 10_000_000_000,
        },
        '2': {
          interface_name: 'Et2',
          description: 'Ethernet2',
          media_type: 'ethernetCsmacd',
          configured_speed: 1_000_000_000,
          port_speed: 1_000_000_000,
        },
        // ifHighSpeed 1 is rounded: the exact ifSpeed wins.
        '3': {
          interface_name: 'Ma1',
          alias: 'oob',
          description: 'Management1',
          media_type: 'ethernetCsmacd',
          configured_speed: 1_544_000,
          port_speed: 1_544_000,
        },
        // An empty ifName: the name is ifDescr.
        '4': {
          interface_name: 'Null0',
          description: 'Null0',
          media_type: 'other',
          configured_speed: 0,
          port_speed: 0,
        },
        // Neither speed: none given.
        '5': { interface_name: 'Tunnel0', description: 'Tunnel0', media_type: 'tunnel' },
      },
    },
    {
      name: 'ifXTable only (no ifDescr): names from ifName, no description',
      ifaces: { 7: { name: 'ge-0/0/7', high: 1000 }, 8: { name: 'ge-0/0/8' } },
      data: {
        '7': { interface_name: 'ge-0/0/7', configured_speed: 1_000_000_000, port_speed: 1_000_000_000 },
        '8': { interface_name: 'ge-0/0/8' },
      },
    },
    {
      name: 'media types by IANAifType number (and a number beyond the list)',
      ifaces: {
        1: { type: 53 },
        2: { type: 75 },
        3: { type: 76 },
        4: { type: 77 },
        5: { type: 117 },
        6: { type: 161 },
        7: { type: 251 },
        8: { type: 252 },
      },
      data: {
        '1': { media_type: 'propVirtual' },
        '2': { media_type: 'isdns' },
        '3': { media_type: 'isdnu' },
        '4': { media_type: 'lapd' },
        '5': { media_type: 'gigabitEthernet' },
        '6': { media_type: 'ieee8023adLag' },
        '7': { media_type: 'vdsl2' },
        '8': { media_type: 'ifType252' },
      },
    },
    { name: 'an empty device', ifaces: {}, data: {} },
  ])('$name', async ({ ifaces, data }) => {
    const session = new RecordingSession(device(ifaces));
    const { ctx, records } = contextFor(session);
    const resource = testResource();
    const groups = await new InterfaceEnrichmentPlugin().enrich(ctx, resource);
    expect(groups).toEqual([
      {
        namespace: 'interface',
        enrichment_ttl: 10_800,
        execute_frequency: 3600,
        creation_timestamp: NOW / 1000,
        data,
      },
    ]);
    expect(Object.keys(groups[0]?.data ?? {})).toEqual(Object.keys(data));
    expect(session.walked).toEqual([...ENRICHMENT_COLUMNS]);
    expect(session.closed).toBe(1);
    expect(records).toEqual([]);
  });

  it.each([
    { name: 'the plugin file: interface', main: {}, namespace: 'interface', ttl: 10_800 },
    { name: 'another namespace', main: { namespace: 'ifaces' }, namespace: 'ifaces', ttl: 10_800 },
    { name: 'no namespace: interface', main: { namespace: undefined }, namespace: 'interface', ttl: 10_800 },
    {
      name: 'another TTL and frequency',
      main: { enrichmentTtlSeconds: 900, executeFrequencySeconds: 300 },
      namespace: 'interface',
      ttl: 900,
    },
  ])('namespace and TTL: $name', async ({ main, namespace, ttl }) => {
    const session = new MemorySnmpSession(device({ 1: { descr: 'eth0' } }));
    const { ctx } = contextFor(session, {}, main);
    const [group] = await new InterfaceEnrichmentPlugin().enrich(ctx, testResource());
    expect(group).toMatchObject({
      namespace,
      enrichment_ttl: ttl,
      execute_frequency: ctx.config.executeFrequencySeconds,
      data: { '1': { interface_name: 'eth0', description: 'eth0' } },
    });
  });
});

describe('interface-enrichment: vendor rules, auto (by resource_type) or forced', () => {
  // A Juniper-named device: a 100G port, a logical unit on it, a 1G port.
  const JUNIPER_NAMED = device({
    10: { descr: 'et-0/0/0', name: 'et-0/0/0', type: 6, speed: 4_294_967_295, high: 100_000 },
    11: { descr: 'et-0/0/0.0', name: 'et-0/0/0.0', type: 53, speed: 4_294_967_295, high: 100_000 },
    12: { descr: 'ge-0/0/1', name: 'ge-0/0/1', type: 6, speed: 1_000_000_000, high: 1000 },
  });
  const ET = {
    interface_name: 'et-0/0/0',
    description: 'et-0/0/0',
    media_type: 'ethernetCsmacd',
    configured_speed: 1e11,
  };
  const ET0 = {
    interface_name: 'et-0/0/0.0',
    description: 'et-0/0/0.0',
    media_type: 'propVirtual',
    configured_speed: 1e11,
  };
  const GE = {
    interface_name: 'ge-0/0/1',
    description: 'ge-0/0/1',
    media_type: 'ethernetCsmacd',
    configured_speed: 1e9,
  };
  const parent = (
    name: string,
    media: string,
    configured: number,
    port: number,
  ): Record<string, EnrichmentValue> => ({
    parent_interface_name: name,
    parent_interface_media_type: media,
    parent_interface_configured_speed: configured,
    parent_interface_port_speed: port,
  });

  const GENERIC: Data = {
    '10': { ...ET, port_speed: 1e11 },
    '11': { ...ET0, port_speed: 1e11 },
    '12': { ...GE, port_speed: 1e9 },
  };
  // Juniper: `et` ports are 40G by name, `ge` 1G; the unit's parent is the port before the '.'.
  const JUNIPER: Data = {
    '10': { ...ET, port_speed: 4e10 },
    '11': { ...ET0, port_speed: 4e10, ...parent('et-0/0/0', 'ethernetCsmacd', 1e11, 4e10) },
    '12': { ...GE, port_speed: 1e9 },
  };
  // On a QFX5200 `et` ports are 100G.
  const JUNIPER_QFX5200: Data = {
    '10': { ...ET, port_speed: 1e11 },
    '11': { ...ET0, port_speed: 1e11, ...parent('et-0/0/0', 'ethernetCsmacd', 1e11, 1e11) },
    '12': { ...GE, port_speed: 1e9 },
  };
  // Cisco: no Gi/Te name here, so port_speed is the configured speed; parents before the '.'.
  const CISCO: Data = {
    '10': { ...ET, port_speed: 1e11 },
    '11': { ...ET0, port_speed: 1e11, ...parent('et-0/0/0', 'ethernetCsmacd', 1e11, 1e11) },
    '12': { ...GE, port_speed: 1e9 },
  };
  // Arista: the parent is the name before the first '/', with the interface's own media type and
  // four times its configured speed.
  const ARISTA: Data = {
    '10': { ...ET, port_speed: 1e11, ...parent('et-0', 'ethernetCsmacd', 4e11, 4e11) },
    '11': { ...ET0, port_speed: 1e11, ...parent('et-0', 'propVirtual', 4e11, 4e11) },
    '12': { ...GE, port_speed: 1e9, ...parent('ge-0', 'ethernetCsmacd', 4e9, 4e9) },
  };

  it.each([
    { type: 'juniper', model: undefined, vendor: undefined, rules: 'juniper', data: JUNIPER },
    { type: 'juniper', model: undefined, vendor: 'auto', rules: 'juniper', data: JUNIPER },
    { type: 'Juniper', model: undefined, vendor: 'auto', rules: 'juniper', data: JUNIPER },
    { type: 'juniper', model: 'QFX5200', vendor: 'auto', rules: 'juniper', data: JUNIPER_QFX5200 },
    { type: 'juniper', model: 'QFX10000', vendor: 'auto', rules: 'juniper', data: JUNIPER_QFX5200 },
    { type: 'juniper', model: 'MX960', vendor: 'auto', rules: 'juniper', data: JUNIPER },
    { type: 'test_type', model: undefined, vendor: 'auto', rules: 'generic', data: GENERIC },
    { type: 'juniper_qfx', model: undefined, vendor: 'auto', rules: 'generic', data: GENERIC },
    { type: 'cisco', model: undefined, vendor: 'auto', rules: 'cisco', data: CISCO },
    { type: 'arista', model: undefined, vendor: 'auto', rules: 'arista', data: ARISTA },
    { type: 'test_type', model: undefined, vendor: 'juniper', rules: 'juniper', data: JUNIPER },
    { type: 'test_type', model: 'QFX5200', vendor: 'juniper', rules: 'juniper', data: JUNIPER_QFX5200 },
    { type: 'juniper', model: undefined, vendor: 'generic', rules: 'generic', data: GENERIC },
    { type: 'juniper', model: undefined, vendor: 'cisco', rules: 'cisco', data: CISCO },
    { type: 'cisco', model: undefined, vendor: 'arista', rules: 'arista', data: ARISTA },
  ] as const)(
    'resource_type $type, model $model, vendor $vendor: $rules rules',
    async ({ type, model, vendor, data }) => {
      const resource = testResource({
        resource_type: type,
        resource_metadata: model === undefined ? {} : { model },
      });
      const options: Record<string, string> = vendor === undefined ? {} : { vendor };
      expect(await enrich(new MemorySnmpSession(JUNIPER_NAMED), resource, options)).toEqual(data);
    },
  );

  it.each([
    // Cisco names: Gi 1G and Te 10G by name, whatever the device says.
    { vendor: 'cisco', name: 'Gi0/1', high: 100, port: 1e9 },
    { vendor: 'cisco', name: 'Te1/0/1', high: 1000, port: 1e10 },
    { vendor: 'cisco', name: 'Fa0/1', high: 100, port: 1e8 },
    { vendor: 'generic', name: 'Gi0/1', high: 100, port: 1e8 },
    // Juniper names: xe 10G, xle and fte 40G.
    { vendor: 'juniper', name: 'xe-0/0/1', high: 1000, port: 1e10 },
    { vendor: 'juniper', name: 'xle-0/0/1', high: 1000, port: 4e10 },
    { vendor: 'juniper', name: 'fte-0/0/1', high: 1000, port: 4e10 },
    { vendor: 'juniper', name: 'ae0', high: 20_000, port: 2e10 },
  ] as const)(
    '$vendor: $name at ifHighSpeed $high -> port_speed $port',
    async ({ vendor, name, high, port }) => {
      const session = new MemorySnmpSession(device({ 1: { name, type: 6, speed: high * 1e6, high } }));
      const data = await enrich(session, testResource(), { vendor });
      expect(data['1']?.['port_speed']).toBe(port);
      expect(data['1']?.['configured_speed']).toBe(high * 1e6);
    },
  );
});

describe('interface-enrichment: failures', () => {
  it.each([
    { name: 'ifName', fail: [MIB_OBJECTS.ifName] },
    { name: 'ifDescr', fail: [MIB_OBJECTS.ifDescr] },
    { name: 'all of IF-MIB', fail: ['1.3.6.1.2.1.2', '1.3.6.1.2.1.31'] },
  ])('a device that does not answer $name: the timeout propagates', async ({ fail }) => {
    const session = new RecordingSession(device({ 1: { descr: 'eth0', name: 'eth0' } }), { fail });
    const { ctx } = contextFor(session);
    const error = await failureOf(new InterfaceEnrichmentPlugin().enrich(ctx, testResource()));
    expect(error.code).toBe('SNMP_TIMEOUT');
    expect(pollingStatusOf(error)).toBe('timeout');
    expect(session.closed).toBe(1);
  });

  it('refuses an unknown vendor, naming [options] vendor', async () => {
    const { ctx } = contextFor(new MemorySnmpSession([]), { vendor: 'hp' });
    const error = await failureOf(new InterfaceEnrichmentPlugin().enrich(ctx, testResource()));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toBe(
      `${PLUGIN_FILE}: [options] vendor: must be one of auto, generic, cisco, juniper, arista, got "hp"`,
    );
  });
});
