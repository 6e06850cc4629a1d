/**
 * Interface polling: one `interface` metrics group per interface, with the interface's
 * enrichment (namespace `interface` by default, or the first `[enrichment] preload` entry) joined
 * as dimensions: interface_name, alias, description, media_type, port_speed.
 *
 *   counters  bits_in, bits_out           ifHCIn/OutOctets x 8 (ifIn/OutOctets x 8 where the
 *                                         device has no 64-bit counters)
 *             unicast_packets_in/out      ifHCIn/OutUcastPkts (ifIn/OutUcastPkts likewise)
 *             errors_in/out, discards_in/out  ifIn/OutErrors, ifIn/OutDiscards (Counter32)
 *   gauges    admin_state, oper_state     ifAdminStatus, ifOperStatus (1 up, 2 down, ...)
 *             configured_speed            bits/s, ifHighSpeed x 10^6 or ifSpeed
 *
 * Each counter carries a hint for the rate transform (width 32 or 64, scale 8 for bits, the
 * interface speed as the highest plausible rate), and the run carries sysUpTime, so the
 * `[transforms]` of the plugin file add correct rate gauges. Polling status: partial (4) when
 * some interface lacks a value, missing data (6) when the device has no interfaces, enrichment
 * failure (8) when the enrichment was missing and the names were read from the device instead.
 */
import { METRICS_GROUP_SCHEMA_VERSION } from '../src/model/index.js';
import type {
  Dimension,
  EnrichmentValue,
  Metric,
  MetricsGroup,
  PollingStatusName,
  Resource,
} from '../src/model/index.js';
import type { CounterHint, PluginContext, PollResult, PollingPlugin } from '../src/plugins/api.js';
import type { SnmpSession } from '../src/snmp/session.js';
import type { Varbind } from '../src/snmp/types.js';
import { dimensionsFrom } from '../src/streams/enrichment-join.js';
import { DEFAULT_INTERFACE_NAMESPACE, ENRICHMENT_COLUMNS, interfaceData } from './interface-enrichment.js';
import { IF_MIB, byIndex, compareIndex, counter, integer, speedBits } from './lib/if-mib.js';

export const INTERFACE_GROUP_TYPE = 'interface';

const DIMENSIONS = [
  { field: 'interface_name', dimension: 'interface_name' },
  { field: 'alias', dimension: 'alias' },
  { field: 'description', dimension: 'description' },
  { field: 'media_type', dimension: 'media_type' },
  { field: 'port_speed', dimension: 'port_speed' },
] as const;

interface CounterSource {
  readonly metric: string;
  readonly hc: string | undefined;
  readonly c32: string;
  readonly scale: 1 | 8;
}

const COUNTERS: readonly CounterSource[] = [
  { metric: 'bits_in', hc: IF_MIB.ifHCInOctets, c32: IF_MIB.ifInOctets, scale: 8 },
  { metric: 'bits_out', hc: IF_MIB.ifHCOutOctets, c32: IF_MIB.ifOutOctets, scale: 8 },
  { metric: 'unicast_packets_in', hc: IF_MIB.ifHCInUcastPkts, c32: IF_MIB.ifInUcastPkts, scale: 1 },
  { metric: 'unicast_packets_out', hc: IF_MIB.ifHCOutUcastPkts, c32: IF_MIB.ifOutUcastPkts, scale: 1 },
  { metric: 'errors_in', hc: undefined, c32: IF_MIB.ifInErrors, scale: 1 },
  { metric: 'errors_out', hc: undefined, c32: IF_MIB.ifOutErrors, scale: 1 },
  { metric: 'discards_in', hc: undefined, c32: IF_MIB.ifInDiscards, scale: 1 },
  { metric: 'discards_out', hc: undefined, c32: IF_MIB.ifOutDiscards, scale: 1 },
];

/** The counters of an `interface` group, each of which a `[transforms]` rate may name. */
export const INTERFACE_COUNTERS: readonly string[] = COUNTERS.map((c) => c.metric);

/** Columns of the first walk: 64-bit counters where they exist, the rest, and the gauges. */
const FIRST_WALK = [
  ...COUNTERS.map((c) => c.hc ?? c.c32),
  IF_MIB.ifAdminStatus,
  IF_MIB.ifOperStatus,
  IF_MIB.ifSpeed,
  IF_MIB.ifHighSpeed,
];

export class InterfacePollingPlugin implements PollingPlugin {
  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const namespace = ctx.config.preload[0]?.namespace ?? DEFAULT_INTERFACE_NAMESPACE;
    // Looked up while the device is polled; a failed lookup is logged and polling reads the names itself.
    const enrichment = ctx.enrichment(resource.resource_id, namespace).catch((e: unknown) => {
      ctx.logger.warn({ resource: resource.resource_id, err: String(e) }, 'enrichment lookup failed');
      return undefined;
    });
    const session = await ctx.snmp(resource);
    try {
      return await this.pollWith(ctx, resource, session, enrichment);
    } finally {
      await session.close();
    }
  }

  private async pollWith(
    ctx: PluginContext,
    resource: Resource,
    session: SnmpSession,
    enrichmentLookup: ReturnType<PluginContext['enrichment']>,
  ): Promise<PollResult> {
    const [upTime] = await session.get([IF_MIB.sysUpTime]);
    const sysUpTime = integer(upTime);
    const columns = await session.walkColumns(FIRST_WALK);
    const at = Date.now();
    const col = (oid: string): Map<string, Varbind> => byIndex(oid, columns.get(oid));
    const admin = col(IF_MIB.ifAdminStatus);
    const oper = col(IF_MIB.ifOperStatus);
    const indexes = [...new Set([...admin.keys(), ...oper.keys()])].sort(compareIndex);
    if (indexes.length === 0) {
      return { groups: [], status: 'missingData', ...(sysUpTime === undefined ? {} : { sysUpTime }) };
    }

    // 32-bit counters, only for the counters some interface lacks in 64 bits.
    const values = new Map<string, Map<string, Varbind>>();
    const fallback: string[] = [];
    for (const c of COUNTERS) {
      const hc = c.hc === undefined ? undefined : col(c.hc);
      values.set(c.metric, hc ?? col(c.c32));
      if (hc !== undefined && indexes.some((i) => !hc.has(i))) fallback.push(c.c32);
    }
    if (fallback.length > 0) {
      const more = await session.walkColumns(fallback);
      for (const c of COUNTERS) {
        if (c.hc === undefined || !fallback.includes(c.c32)) continue;
        const c32 = byIndex(c.c32, more.get(c.c32));
        const merged = values.get(c.metric) as Map<string, Varbind>;
        for (const i of indexes) {
          const v = c32.get(i);
          if (!merged.has(i) && v !== undefined) merged.set(i, v);
        }
      }
    }

    // Dimensions from the enrichment; what it lacks is read from the device.
    let status: PollingStatusName = 'success';
    let names: Readonly<Record<string, Readonly<Record<string, EnrichmentValue>>>> | undefined;
    names = (await enrichmentLookup)?.data;
    if (names === undefined || indexes.some((i) => names?.[i] === undefined)) {
      status = 'enrichmentFailure';
      names = { ...interfaceData(await session.walkColumns(ENRICHMENT_COLUMNS)), ...(names ?? {}) };
    }

    const speed = col(IF_MIB.ifSpeed);
    const high = col(IF_MIB.ifHighSpeed);
    const timestamp = at / 1000;
    const interval = ctx.config.executeFrequencySeconds;
    const groups: MetricsGroup[] = [];
    const hints = new Map<MetricsGroup, Record<string, CounterHint>>();
    let partial = false;
    for (const index of indexes) {
      const configured = speedBits(integer(speed.get(index)), integer(high.get(index)));
      const metrics: Metric[] = [];
      const hint: Record<string, CounterHint> = {};
      for (const c of COUNTERS) {
        const vb = values.get(c.metric)?.get(index);
        const value = counter(vb);
        if (vb === undefined || value === undefined) {
          partial = true;
          continue;
        }
        metrics.push({
          metric_name: c.metric,
          metric_value: narrow(value * BigInt(c.scale)),
          metric_type: 'counter',
          metric_creation_timestamp: timestamp,
        });
        hint[c.metric] = {
          width: typeof vb.value === 'bigint' ? 64 : 32,
          scale: c.scale,
          ...(configured !== undefined && configured > 0 && c.scale === 8
            ? { maxPerSecond: configured }
            : {}),
        };
      }
      const gauge = (name: string, value: number | undefined): void => {
        if (value === undefined) {
          partial = true;
          return;
        }
        metrics.push({
          metric_name: name,
          metric_value: value,
          metric_type: 'gauge',
          metric_creation_timestamp: timestamp,
        });
      };
      gauge('admin_state', integer(admin.get(index)));
      gauge('oper_state', integer(oper.get(index)));
      gauge('configured_speed', configured);
      const dimensions: Dimension[] = dimensionsFrom(names[index] ?? {}, DIMENSIONS);
      if (!dimensions.some((d) => d.dimension_name === 'interface_name')) {
        dimensions.unshift({ dimension_name: 'interface_name', dimension_value: `ifIndex ${index}` });
      }
      const group: MetricsGroup = {
        metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
        metrics_group_type: INTERFACE_GROUP_TYPE,
        metrics_group_interval: interval,
        metrics_group_creation_timestamp: timestamp,
        resource,
        dimensions,
        metrics,
      };
      groups.push(group);
      hints.set(group, hint);
    }
    if (status === 'success' && partial) status = 'partial';
    return { groups, status, counters: hints, ...(sysUpTime === undefined ? {} : { sysUpTime }) };
  }
}

/** Counters within 2^53 as numbers (what most consumers expect), above as bigint (exact). */
function narrow(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export default InterfacePollingPlugin;
