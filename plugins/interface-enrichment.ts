/**
 * Interface enrichment: the slow-changing facts of every interface of a device, keyed by ifIndex
 * in the namespace of the plugin file (default `interface`), for polling to join as dimensions:
 *
 *   interface_name  ifName (ifDescr when the device has no ifName)
 *   alias           ifAlias
 *   description     ifDescr
 *   media_type      ifType as its IANAifType name (`ethernetCsmacd`, ...)
 *   port_speed      bits/s: ifHighSpeed x 10^6 when set, else ifSpeed
 */
import type { EnrichmentValue, EnrichmentGroup, Resource } from '../src/model/index.js';
import type { EnrichmentPlugin, PluginContext } from '../src/plugins/api.js';
import type { Varbind } from '../src/snmp/types.js';
import { IF_MIB, byIndex, compareIndex, ifTypeName, integer, speedBits, text } from './lib/if-mib.js';

export const DEFAULT_INTERFACE_NAMESPACE = 'interface';

/** The IF-MIB columns enrichment reads (interface polling reads them too when enrichment is missing). */
export const ENRICHMENT_COLUMNS: readonly string[] = [
  IF_MIB.ifDescr,
  IF_MIB.ifType,
  IF_MIB.ifSpeed,
  IF_MIB.ifName,
  IF_MIB.ifAlias,
  IF_MIB.ifHighSpeed,
];

export class InterfaceEnrichmentPlugin implements EnrichmentPlugin {
  async enrich(ctx: PluginContext, resource: Resource): Promise<readonly EnrichmentGroup[]> {
    const session = await ctx.snmp(resource);
    let columns: Map<string, Varbind[]>;
    try {
      columns = await session.walkColumns(ENRICHMENT_COLUMNS);
    } finally {
      await session.close();
    }
    const data = interfaceData(columns);
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

/** The enrichment records by ifIndex from walked IF-MIB columns (also used by polling as a fallback). */
export function interfaceData(
  columns: ReadonlyMap<string, readonly Varbind[]>,
): Record<string, Record<string, EnrichmentValue>> {
  const descr = byIndex(IF_MIB.ifDescr, columns.get(IF_MIB.ifDescr));
  const type = byIndex(IF_MIB.ifType, columns.get(IF_MIB.ifType));
  const speed = byIndex(IF_MIB.ifSpeed, columns.get(IF_MIB.ifSpeed));
  const name = byIndex(IF_MIB.ifName, columns.get(IF_MIB.ifName));
  const alias = byIndex(IF_MIB.ifAlias, columns.get(IF_MIB.ifAlias));
  const high = byIndex(IF_MIB.ifHighSpeed, columns.get(IF_MIB.ifHighSpeed));
  const indexes = new Set([...descr.keys(), ...name.keys(), ...type.keys()]);
  const data: Record<string, Record<string, EnrichmentValue>> = {};
  for (const index of [...indexes].sort(compareIndex)) {
    const record: Record<string, EnrichmentValue> = {};
    const description = text(descr.get(index));
    const interfaceName = text(name.get(index)) || description;
    if (interfaceName !== undefined && interfaceName !== '') record['interface_name'] = interfaceName;
    const a = text(alias.get(index));
    if (a !== undefined) record['alias'] = a;
    if (description !== undefined) record['description'] = description;
    const t = integer(type.get(index));
    if (t !== undefined) record['media_type'] = ifTypeName(t);
    const s = speedBits(integer(speed.get(index)), integer(high.get(index)));
    if (s !== undefined) record['port_speed'] = s;
    data[index] = record;
  }
  return data;
}

export default InterfaceEnrichmentPlugin;
