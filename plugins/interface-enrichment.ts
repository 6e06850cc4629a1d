/**
 * Interface enrichment: the slow-changing facts of every interface of a device, keyed by ifIndex
 * in the namespace of the plugin file (default `interface`), for polling to join as dimensions.
 * The fields and rules are those of Panoptes' interface enrichment plugins (generic, Cisco,
 * Juniper, Arista):
 *
 *   interface_name     ifName (ifDescr when the device has no ifName)
 *   alias              ifAlias (left out when empty)
 *   description        ifDescr
 *   media_type         ifType as its IANAifType name (`ethernetCsmacd`, ...)
 *   configured_speed   bits/s: ifHighSpeed x 10^6 above 1 Mbit/s, else ifSpeed (speedBits)
 *   port_speed         configured_speed, or by name on Cisco (`Gi` 10^9, `Te` 10^10) and Juniper
 *                      (`ge` 10^9, `xe` 10^10, `xle`/`fte` 4 x 10^10, `et` 4 x 10^10, or 10^11 when
 *                      resource_metadata.model is QFX5200 or QFX10000)
 *   physical_address   ifPhysAddress as `00:1C:73:53:AD:EB`
 *   parent_interface_name  Cisco: the name before the first `.` (`Gi0/1.100` -> `Gi0/1`);
 *                      Juniper: before the first `.` (`et-0/0/0.0` -> `et-0/0/0`), else before
 *                      the first `:`; Arista: before the first `/` (`Ethernet1/1` -> `Ethernet1`);
 *                      other devices: none
 *   parent_interface_media_type, parent_interface_configured_speed, parent_interface_port_speed
 *                      those of the interface of that name; on Arista the interface's own media
 *                      type and 4 x its configured speed
 *
 * A value the device does not give is left out (polling writes `<not set>`). The vendor comes
 * from `[options] vendor` (generic, cisco, juniper, arista), or, with `auto` (the default), from
 * the resource_type (`cisco`, `juniper`, `arista`; anything else is generic).
 */
import { option, pluginOptions } from '../src/index.js';
import type {
  EnrichmentGroup,
  EnrichmentPlugin,
  EnrichmentValue,
  PluginContext,
  Resource,
  Varbind,
} from '../src/index.js';
import {
  IF_MIB,
  byIndex,
  compareIndex,
  ifTypeName,
  integer,
  macAddress,
  speedBits,
  text,
} from './lib/if-mib.js';

export const DEFAULT_INTERFACE_NAMESPACE = 'interface';

/** The IF-MIB columns enrichment reads (interface polling reads them too when enrichment is missing). */
export const ENRICHMENT_COLUMNS: readonly string[] = [
  IF_MIB.ifDescr,
  IF_MIB.ifType,
  IF_MIB.ifSpeed,
  IF_MIB.ifPhysAddress,
  IF_MIB.ifName,
  IF_MIB.ifAlias,
  IF_MIB.ifHighSpeed,
];

export const INTERFACE_VENDORS = ['generic', 'cisco', 'juniper', 'arista'] as const;
export type InterfaceVendor = (typeof INTERFACE_VENDORS)[number];

/** The vendor option of the interface plugins: whose naming rules apply (auto: by resource_type). */
export const VENDOR_OPTION = option.choice(
  'whose interface naming rules apply: auto (by resource_type), generic, cisco, juniper or arista',
  ['auto', ...INTERFACE_VENDORS] as const,
  'auto',
);

/** The plugin file's [options]. */
export const options = { vendor: VENDOR_OPTION };

/** The vendor rules for a resource: `option` (the plugin's `vendor`), or by resource_type. */
export function interfaceVendor(resource: Resource, chosen: InterfaceVendor | 'auto'): InterfaceVendor {
  if (chosen !== 'auto') return chosen;
  const type = resource.resource_type.toLowerCase();
  return INTERFACE_VENDORS.find((v) => v !== 'generic' && type === v) ?? 'generic';
}

export class InterfaceEnrichmentPlugin implements EnrichmentPlugin {
  async enrich(ctx: PluginContext, resource: Resource): Promise<readonly EnrichmentGroup[]> {
    const { vendor } = pluginOptions(ctx, options);
    const session = await ctx.snmp(resource);
    let columns: Map<string, Varbind[]>;
    try {
      columns = await session.walkColumns(ENRICHMENT_COLUMNS);
    } finally {
      await session.close();
    }
    const data = interfaceData(columns, resource, interfaceVendor(resource, vendor));
    const def = ctx.config;
    return [
      {
        namespace: def.namespace ?? DEFAULT_INTERFACE_NAMESPACE,
        enrichment_ttl: def.enrichmentTtlSeconds,
        execute_frequency: def.executeFrequencySeconds,
        creation_timestamp: Date.now() / 1000,
        data,
      },
    ];
  }
}

const CISCO_PORT_SPEEDS: readonly (readonly [string, number])[] = [
  ['Gi', 1e9],
  ['Te', 1e10],
];
const JUNIPER_PORT_SPEEDS: readonly (readonly [string, number])[] = [
  ['ge', 1e9],
  ['xe', 1e10],
  ['xle', 4e10],
  ['et', 4e10],
  ['fte', 4e10],
];
/** Juniper models whose `et` ports run at 100 Gbit/s. */
const JUNIPER_100G_MODELS = ['QFX5200', 'QFX10000'];

/** The port speed a vendor's interface name implies, if any. */
function portSpeedByName(vendor: InterfaceVendor, name: string, resource: Resource): number | undefined {
  const table = vendor === 'cisco' ? CISCO_PORT_SPEEDS : vendor === 'juniper' ? JUNIPER_PORT_SPEEDS : [];
  const hit = table.find(([prefix]) => name.startsWith(prefix));
  if (hit === undefined) return undefined;
  if (hit[0] === 'et' && JUNIPER_100G_MODELS.includes(resource.resource_metadata['model'] ?? '')) return 1e11;
  return hit[1];
}

/** The parent interface's name by the vendor's naming rule; undefined when it has none. */
export function parentInterfaceName(vendor: InterfaceVendor, name: string): string | undefined {
  let parent: string | undefined;
  switch (vendor) {
    case 'cisco':
      parent = name.includes('.') ? name.split('.')[0] : undefined;
      break;
    case 'juniper':
      if (name.includes('.')) parent = name.split('.')[0];
      else if (name.includes(':')) parent = name.split(':')[0];
      break;
    case 'arista':
      parent = name.includes('/') ? name.split('/')[0] : undefined;
      break;
    case 'generic':
      break;
  }
  return parent === '' ? undefined : parent;
}

/** The enrichment records by ifIndex from walked IF-MIB columns (also used by polling as a fallback). */
export function interfaceData(
  columns: ReadonlyMap<string, readonly Varbind[]>,
  resource: Resource,
  vendor: InterfaceVendor = 'generic',
): Record<string, Record<string, EnrichmentValue>> {
  const descr = byIndex(IF_MIB.ifDescr, columns.get(IF_MIB.ifDescr));
  const type = byIndex(IF_MIB.ifType, columns.get(IF_MIB.ifType));
  const speed = byIndex(IF_MIB.ifSpeed, columns.get(IF_MIB.ifSpeed));
  const phys = byIndex(IF_MIB.ifPhysAddress, columns.get(IF_MIB.ifPhysAddress));
  const name = byIndex(IF_MIB.ifName, columns.get(IF_MIB.ifName));
  const alias = byIndex(IF_MIB.ifAlias, columns.get(IF_MIB.ifAlias));
  const high = byIndex(IF_MIB.ifHighSpeed, columns.get(IF_MIB.ifHighSpeed));
  const indexes = [...new Set([...descr.keys(), ...name.keys(), ...type.keys()])].sort(compareIndex);
  const data: Record<string, Record<string, EnrichmentValue>> = {};
  const byName = new Map<string, Record<string, EnrichmentValue>>();
  for (const index of indexes) {
    const record: Record<string, EnrichmentValue> = {};
    const description = text(descr.get(index));
    const interfaceName = text(name.get(index)) || description;
    if (interfaceName !== undefined && interfaceName !== '') {
      record['interface_name'] = interfaceName;
      if (!byName.has(interfaceName)) byName.set(interfaceName, record);
    }
    const a = text(alias.get(index));
    if (a !== undefined && a !== '') record['alias'] = a;
    if (description !== undefined) record['description'] = description;
    const t = integer(type.get(index));
    if (t !== undefined) record['media_type'] = ifTypeName(t);
    const configured = speedBits(integer(speed.get(index)), integer(high.get(index)));
    if (configured !== undefined) record['configured_speed'] = configured;
    const port =
      (interfaceName === undefined ? undefined : portSpeedByName(vendor, interfaceName, resource)) ??
      configured;
    if (port !== undefined) record['port_speed'] = port;
    const mac = macAddress(phys.get(index));
    if (mac !== undefined) record['physical_address'] = mac;
    data[index] = record;
  }
  // Parents, once every interface is known (a parent may come after its children).
  for (const record of Object.values(data)) {
    const own = record['interface_name'];
    const parentName = typeof own === 'string' ? parentInterfaceName(vendor, own) : undefined;
    if (parentName === undefined) continue;
    record['parent_interface_name'] = parentName;
    if (vendor === 'arista') {
      // Arista's rule: the interface's own media type, four times its configured speed.
      const media = record['media_type'];
      const configured = record['configured_speed'];
      if (media !== undefined) record['parent_interface_media_type'] = media;
      if (typeof configured === 'number') {
        record['parent_interface_configured_speed'] = 4 * configured;
        record['parent_interface_port_speed'] = 4 * configured;
      }
      continue;
    }
    const parent = byName.get(parentName);
    if (parent === undefined) continue;
    for (const field of ['media_type', 'configured_speed', 'port_speed'] as const) {
      const v = parent[field];
      if (v !== undefined) record[`parent_interface_${field}`] = v;
    }
  }
  return data;
}

export default InterfaceEnrichmentPlugin;
