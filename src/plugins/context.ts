/**
 * Builds the context a plugin run receives: its configuration, a child logger, an abort signal,
 * SNMP sessions to the resource with the plugin's [snmp] settings, cached enrichment lookups
 * (through the TTL-respecting EnrichmentCache), secrets and the key-value store.
 *
 * The v1/v2c community of a resource, first found wins: its metadata `snmp_community`; the
 * secret named by the plugin's community_key for the resource's site; that secret's default;
 * the configured default community.
 */
import { PanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseEnrichmentGroup, parseJson } from '../model/index.js';
import type { EnrichmentGroup, Resource } from '../model/index.js';
import { ProfileCatalog } from '../profiles/catalog.js';
import type { SnmpEngine } from '../snmp/engine.js';
import type { SnmpSession } from '../snmp/session.js';
import { EnrichmentCache } from '../streams/enrichment-cache.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';
import type { Keeper, Kept } from '../actors/keeper.js';
import type { PluginContext } from './api.js';
import type { PluginDefinition } from './plugin-file.js';

export interface ContextDependencies {
  readonly logger: Logger;
  readonly store: KeyValueStore;
  readonly keys: StoreKeys;
  /** Absent: plugins that ask for SNMP get a clear NOT_IMPLEMENTED error. */
  readonly snmp?: SnmpEngine;
  /** Community used when no secret is stored. Default: none (an error names the missing secret). */
  readonly defaultCommunity?: string;
  /** Session settings for every plugin that does not set its own in [snmp] (site configuration). */
  readonly sessionDefaults?: Readonly<{ port?: number; timeoutMs?: number; retries?: number }>;
  /** The enrichment cache lookups go through. Default: one of this factory's own. */
  readonly enrichmentCache?: EnrichmentCache;
  /** The SNMP profiles plugins may use. Default: none. */
  readonly profiles?: ProfileCatalog;
  /** The gNMI port plugins use when neither they nor the resource name one (the simulator's). */
  readonly gnmiPort?: number;
}

/**
 * Resource metadata key holding a per-device SNMP community (labs, simulators, inventories that
 * carry one per device). It travels with the resource, so it is no place for a real secret.
 */
export const COMMUNITY_METADATA_KEY = 'snmp_community';

/** How long a plugin's enrichment lookup waits for the store, ms. */
export const ENRICHMENT_LOAD_TIMEOUT_MS = 2000;

/** Reads the enrichment of a resource in a namespace from the store; invalid data is logged and ignored. */
export function storeEnrichmentLoader(
  store: KeyValueStore,
  keys: StoreKeys,
  logger: Logger,
): (resourceId: string, namespace: string) => Promise<EnrichmentGroup | undefined> {
  return async (resourceId, namespace) => {
    const key = keys.enrichment(resourceId, namespace);
    // Bounded: while the store does not answer, a poll goes on without its enrichment (the
    // plugin reads what it needs itself) instead of waiting for the store to come back.
    let timer: NodeJS.Timeout | undefined;
    const text = await Promise.race([
      store.get(key),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the store did not answer within ${ENRICHMENT_LOAD_TIMEOUT_MS} ms`)),
          ENRICHMENT_LOAD_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (text === undefined) return undefined;
    const parsed = parseEnrichmentGroup(parseJson(text, key));
    if (!parsed.ok) {
      logger.warn({ resourceId, namespace, issues: parsed.issues }, 'stored enrichment is invalid; ignored');
      return undefined;
    }
    return parsed.value;
  };
}

/** `keeper`: the resource actor's, for plugins that keep something open between runs. */
export type ContextFactory = (
  plugin: PluginDefinition,
  signal: AbortSignal,
  keeper?: Keeper,
) => PluginContext;

export function createContextFactory(deps: ContextDependencies): ContextFactory {
  const secret = async (name: string, site: string): Promise<string | undefined> =>
    (await deps.store.get(deps.keys.secret(name, site))) ??
    (await deps.store.get(deps.keys.secretDefault(name)));

  const cache =
    deps.enrichmentCache ??
    new EnrichmentCache({ load: storeEnrichmentLoader(deps.store, deps.keys, deps.logger) });
  const enrichment = (resourceId: string, namespace: string): Promise<EnrichmentGroup | undefined> =>
    cache.get(resourceId, namespace);

  const profiles = deps.profiles ?? new ProfileCatalog([]);

  // One child logger per plugin definition: creating one per run is measurable at 3k runs/s.
  const loggers = new WeakMap<PluginDefinition, Logger>();
  return (plugin, signal, keeper) => {
    let logger = loggers.get(plugin);
    if (logger === undefined) {
      logger = deps.logger.child({ plugin: plugin.name });
      loggers.set(plugin, logger);
    }
    const snmp = async (resource: Resource): Promise<SnmpSession> => {
      if (deps.snmp === undefined) {
        throw new PanoptesError('NOT_IMPLEMENTED', `plugin ${plugin.name}: no SNMP engine in this process`);
      }
      const version = plugin.snmp.version ?? '2c';
      let community: string | undefined;
      if (version !== '3') {
        community =
          resource.resource_metadata[COMMUNITY_METADATA_KEY] ??
          (await secret(plugin.snmp.communityKey, resource.resource_site)) ??
          deps.defaultCommunity;
        if (community === undefined) {
          throw new PanoptesError(
            'CONFIG_INVALID',
            `plugin ${plugin.name}: no SNMP community for site ${resource.resource_site}: store secret ` +
              `"${plugin.snmp.communityKey}" (${deps.keys.secret(plugin.snmp.communityKey, resource.resource_site)} ` +
              `or ${deps.keys.secretDefault(plugin.snmp.communityKey)}) or give the resource metadata ` +
              `"${COMMUNITY_METADATA_KEY}"`,
          );
        }
      }
      const port = plugin.snmp.port ?? deps.sessionDefaults?.port;
      const timeoutMs = plugin.snmp.timeoutMs ?? deps.sessionDefaults?.timeoutMs;
      const retries = plugin.snmp.retries ?? deps.sessionDefaults?.retries;
      return deps.snmp.session({
        host: resource.resource_endpoint,
        version,
        ...(community === undefined ? {} : { community }),
        ...(port === undefined ? {} : { port }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(retries === undefined ? {} : { retries }),
        ...(plugin.snmp.maxRepetitions === undefined ? {} : { maxRepetitions: plugin.snmp.maxRepetitions }),
      });
    };
    const keep = <T extends Kept>(open: () => T): T => {
      if (keeper === undefined)
        throw new PanoptesError(
          'NOT_IMPLEMENTED',
          `plugin ${plugin.name} keeps a connection between runs, which only a resource's actor holds ` +
            '(panoptes run, the polling stage); it cannot run one-off',
        );
      return keeper.keep(open);
    };
    return {
      config: plugin,
      logger,
      signal,
      snmp,
      enrichment,
      secret,
      store: deps.store,
      profiles,
      keep,
      ...(deps.gnmiPort === undefined ? {} : { gnmiPort: deps.gnmiPort }),
    };
  };
}
