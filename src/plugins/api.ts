/**
 * The plugin API. A plugin module exports a class with one of three shapes:
 *   DiscoveryPlugin   discover(ctx)            -> resources to add or refresh
 *   EnrichmentPlugin  enrich(ctx, resource)    -> enrichment groups for the resource
 *   PollingPlugin     poll(ctx, resource)      -> metrics groups for the resource
 * The class is constructed with no arguments once per plugin file; everything a run needs comes
 * in its context.
 */
import type { Kept } from '../actors/keeper.js';
import type { Logger } from '../log.js';
import type { EnrichmentGroup, MetricsGroup, PollingStatusName, Resource } from '../model/index.js';
import type { ProfileCatalog } from '../profiles/catalog.js';
import type { SnmpSession } from '../snmp/session.js';
import type { CounterHint } from '../streams/counter-rate.js';
import type { KeyValueStore } from '../store/store.js';
import type { PluginDefinition } from './plugin-file.js';

export type { CounterHint, Kept };

export type PluginKind = 'discovery' | 'enrichment' | 'polling';

export interface PluginContext {
  /** The plugin's validated, frozen configuration (its .panoptes-plugin file). */
  readonly config: PluginDefinition;
  readonly logger: Logger;
  /** Aborted when the run times out or the poller stops. */
  readonly signal: AbortSignal;
  /** An SNMP session to the resource's endpoint with the plugin's [snmp] settings and secrets. */
  snmp(resource: Resource): Promise<SnmpSession>;
  /** The enrichment cached for a resource in a namespace, if any and not expired. */
  enrichment(resourceId: string, namespace: string): Promise<EnrichmentGroup | undefined>;
  /** A secret for a site (falls back to the default); never log it. */
  secret(name: string, site: string): Promise<string | undefined>;
  readonly store: KeyValueStore;
  /** The SNMP profiles of this process (built-in and profiles.directories). */
  readonly profiles: ProfileCatalog;
  /**
   * What this plugin keeps open between runs for the resource (a gNMI subscription): the value
   * `open` made on the first run, until the resource's actor closes it (the plugin no longer
   * applies, the resource changed, the node stops). Outside a resource actor (a one-off run)
   * it throws a NOT_IMPLEMENTED error saying so.
   */
  keep<T extends Kept>(open: () => T): T;
  /** The site's default gNMI port (the simulator's, when it serves gNMI), if any. */
  readonly gnmiPort?: number;
}

export interface DiscoveryPlugin {
  discover(ctx: PluginContext): Promise<readonly Resource[]>;
}

export interface EnrichmentPlugin {
  enrich(ctx: PluginContext, resource: Resource): Promise<readonly EnrichmentGroup[]>;
}

/** What a polling run returns when it has more to say than its groups. */
export interface PollResult {
  readonly groups: readonly MetricsGroup[];
  /**
   * The run's polling status (published in the `status` group). Default success; failures
   * that make the run throw (timeouts, network, auth) are classified by the poller.
   */
  readonly status?: PollingStatusName;
  /** Device sysUpTime (hundredths of a second) at the poll: when it goes down, rates re-baseline. */
  readonly sysUpTime?: number;
  /** Counter hints per group (by identity) and metric name, for the rate transform. */
  readonly counters?: ReadonlyMap<MetricsGroup, Readonly<Record<string, CounterHint>>>;
}

export interface PollingPlugin {
  poll(ctx: PluginContext, resource: Resource): Promise<readonly MetricsGroup[] | PollResult>;
}

/** A plugin's return value as a PollResult. */
export function asPollResult(value: readonly MetricsGroup[] | PollResult): PollResult {
  return Array.isArray(value) ? { groups: value as readonly MetricsGroup[] } : (value as PollResult);
}

export type PluginInstance = DiscoveryPlugin | EnrichmentPlugin | PollingPlugin;

/** Which kind an instance is, by the method it has. */
export function pluginKindOf(instance: unknown): PluginKind | undefined {
  if (typeof instance !== 'object' || instance === null) return undefined;
  const o = instance as Record<string, unknown>;
  if (typeof o['poll'] === 'function') return 'polling';
  if (typeof o['enrich'] === 'function') return 'enrichment';
  if (typeof o['discover'] === 'function') return 'discovery';
  return undefined;
}
