/**
 * Interface polling: one `interface` metrics group per interface, Panoptes' interface metrics,
 * with the interface's enrichment (namespace `interface` by default, or the first
 * `[enrichment] preload` entry) joined as Panoptes' dimensions.
 *
 * What is read and how it becomes metrics is data: the if-mib profile
 * (plugins/profiles/if-mib.yaml, docs/profiles.md), run by the profile engine. Its counters
 * (bits_in/out, unicast/multicast/broadcast/total_packets_in/out, errors_in/out,
 * discards_in/out, errors_crc/frame/giants) carry the width of the varbind they came from
 * (Counter32 or Counter64), their scale (8 for bits) and the interface speed as the highest
 * plausible rate, and the run carries sysUpTime, so the `[transforms]` of the plugin file add
 * correct rate gauges. INTERFACE_COUNTERS, the counters a `[transforms]` rate may name, is read
 * from the profile. `[options] profile = NAME` polls with another loaded profile instead (its
 * `interface` groups must have the dimension interface_index, the ifIndex, to join the names).
 *
 * Dimensions, from the enrichment (a missing value is `<not set>`): interface_name, alias,
 * description, media_type, port_speed, configured_speed, parent_interface_name,
 * parent_interface_media_type, parent_interface_port_speed, parent_interface_configured_speed;
 * an interface without a name is `ifIndex N`. `[options] include_interface_index = true` adds
 * interface_index (Panoptes' include_interface_index).
 *
 * Polling status: partial (4) when some interface lacks a value the profile requires, missing
 * data (6) when the device has no interfaces, enrichment failure (8) when the enrichment was
 * missing and the names were read from the device instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILTIN_PROFILES_DIR,
  NOT_SET,
  dimensionValue,
  option,
  parseProfile,
  pluginOptions,
  runProfiles,
} from '../src/index.js';
import type {
  CounterHint,
  Dimension,
  EnrichmentValue,
  MetricsGroup,
  PluginContext,
  PollResult,
  PollingPlugin,
  PollingStatusName,
  Profile,
  Resource,
  SnmpSession,
} from '../src/index.js';
import {
  DEFAULT_INTERFACE_NAMESPACE,
  ENRICHMENT_COLUMNS,
  VENDOR_OPTION,
  interfaceData,
  interfaceVendor,
} from './interface-enrichment.js';
import { IF_MIB, integer } from './lib/if-mib.js';

export const INTERFACE_GROUP_TYPE = 'interface';

/** The built-in interface profile, read when this module loads. */
export const IF_MIB_PROFILE_FILE = join(BUILTIN_PROFILES_DIR, 'if-mib.yaml');
export const IF_MIB_PROFILE: Profile = parseProfile(
  readFileSync(IF_MIB_PROFILE_FILE, 'utf8'),
  IF_MIB_PROFILE_FILE,
);

/** The counter metrics of a profile's groups of one type, in the profile's order. */
export function profileCounters(profile: Profile, type: string = INTERFACE_GROUP_TYPE): string[] {
  const out: string[] = [];
  for (const g of profile.groups) {
    if (g.type !== type) continue;
    for (const m of g.metrics) if (m.type === 'counter' && !out.includes(m.name)) out.push(m.name);
  }
  return out;
}

/** The counters of an `interface` group, each of which a `[transforms]` rate may name. */
export const INTERFACE_COUNTERS: readonly string[] = Object.freeze(profileCounters(IF_MIB_PROFILE));

/** Enrichment field -> dimension, in the order the dimensions are written. */
export const INTERFACE_DIMENSIONS: readonly string[] = [
  'interface_name',
  'alias',
  'description',
  'media_type',
  'port_speed',
  'configured_speed',
  'parent_interface_name',
  'parent_interface_media_type',
  'parent_interface_port_speed',
  'parent_interface_configured_speed',
];

/** The plugin file's [options]. */
export const options = {
  include_interface_index: option.boolean('also write the ifIndex as dimension interface_index', false),
  profile: option.optionalText('poll with this loaded profile instead of the built-in if-mib'),
  vendor: VENDOR_OPTION,
};

/** The dimension the profile gives every group: the row's ifIndex (the enrichment's key). */
const INDEX_DIMENSION = 'interface_index';

type Names = Readonly<Record<string, Readonly<Record<string, EnrichmentValue>>>>;

export class InterfacePollingPlugin implements PollingPlugin {
  /** Failed enrichment lookups: logged at most once a minute (a store outage fails them all). */
  private lookupFailures = { loggedAt: Number.NEGATIVE_INFINITY, since: 0 };

  private lookupFailed(ctx: PluginContext, resource: Resource, e: unknown): void {
    const now = Date.now();
    if (now - this.lookupFailures.loggedAt < 60_000) {
      this.lookupFailures.since++;
      return;
    }
    ctx.logger.warn(
      { resource: resource.resource_id, err: String(e), failedSinceLast: this.lookupFailures.since },
      'enrichment lookup failed; the device is read for its names instead',
    );
    this.lookupFailures = { loggedAt: now, since: 0 };
  }

  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const profile = profileOf(ctx);
    const namespace = ctx.config.preload[0]?.namespace ?? DEFAULT_INTERFACE_NAMESPACE;
    // Looked up while the device is polled; a failed lookup is logged and polling reads the names itself.
    const enrichment = ctx.enrichment(resource.resource_id, namespace).catch((e: unknown) => {
      this.lookupFailed(ctx, resource, e);
      return undefined;
    });
    const session = await ctx.snmp(resource);
    try {
      return await this.pollWith(ctx, resource, session, profile, enrichment);
    } finally {
      await session.close();
    }
  }

  private async pollWith(
    ctx: PluginContext,
    resource: Resource,
    session: SnmpSession,
    profile: Profile,
    enrichmentLookup: Promise<{ readonly data: Names } | undefined>,
  ): Promise<PollResult> {
    const [sysUpTime, result] = await Promise.all([
      session.get([IF_MIB.sysUpTime]).then(
        ([vb]) => integer(vb),
        () => undefined,
      ),
      runProfiles([profile], session, { resource, interval: ctx.config.executeFrequencySeconds }),
    ]);
    const upTime = sysUpTime === undefined ? {} : { sysUpTime };
    if (result.failures.length > 0) {
      ctx.logger.debug(
        { resource: resource.resource_id, failures: result.failures },
        'interface polling incomplete',
      );
    }
    if (result.groups.length === 0) return { groups: [], status: 'missingData', ...upTime };

    const indexOf = (g: MetricsGroup): string =>
      g.dimensions.find((d) => d.dimension_name === INDEX_DIMENSION)?.dimension_value ?? NOT_SET;

    // Dimensions from the enrichment; what it lacks is read from the device.
    let status: PollingStatusName = result.status;
    let names: Names | undefined = (await enrichmentLookup)?.data;
    if (names === undefined || result.groups.some((g) => names?.[indexOf(g)] === undefined)) {
      status = 'enrichmentFailure';
      const vendor = interfaceVendor(resource, pluginOptions(ctx, options).vendor);
      names = {
        ...interfaceData(await session.walkColumns(ENRICHMENT_COLUMNS), resource, vendor),
        ...(names ?? {}),
      };
    }

    const withIndex = pluginOptions(ctx, options).include_interface_index;
    const groups: MetricsGroup[] = [];
    const counters = new Map<MetricsGroup, Readonly<Record<string, CounterHint>>>();
    for (const g of result.groups) {
      const index = indexOf(g);
      const group: MetricsGroup = { ...g, dimensions: dimensions(names[index], index, withIndex) };
      groups.push(group);
      const hints = result.counters.get(g);
      if (hints !== undefined) counters.set(group, hints);
    }
    return { groups, status, counters, ...upTime };
  }
}

/** Panoptes' interface dimensions from an enrichment record, `<not set>` for what it lacks. */
export function dimensions(
  record: Readonly<Record<string, EnrichmentValue>> | undefined,
  index: string,
  withIndex = false,
): Dimension[] {
  const out: Dimension[] = [];
  for (const field of INTERFACE_DIMENSIONS) {
    const v =
      record === undefined || !Object.hasOwn(record, field) ? undefined : dimensionValue(record[field]);
    // The name identifies the series: an interface without one is told apart by its ifIndex.
    const fallback = field === 'interface_name' ? `ifIndex ${index}` : NOT_SET;
    out.push({ dimension_name: field, dimension_value: v ?? fallback });
  }
  if (withIndex) out.push({ dimension_name: INDEX_DIMENSION, dimension_value: index });
  return out;
}

/** The profile the plugin polls with: `[options] profile`, else the built-in if-mib. */
function profileOf(ctx: PluginContext): Profile {
  const name = pluginOptions(ctx, options).profile;
  if (name === '') return IF_MIB_PROFILE;
  const [p] = ctx.profiles.named([name], ctx.config, 'profile');
  return p ?? IF_MIB_PROFILE;
}

export default InterfacePollingPlugin;
