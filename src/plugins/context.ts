/**
 * Builds the context a plugin run receives: its configuration, a child logger, an abort signal,
 * SNMP sessions to the resource with the plugin's [snmp] settings and the site's community
 * secret, cached enrichment lookups, secrets and the key-value store.
 */
import { PanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseEnrichmentGroup, parseJson } from '../model/index.js';
import type { EnrichmentGroup, Resource } from '../model/index.js';
import type { SnmpEngine } from '../snmp/engine.js';
import type { SnmpSession } from '../snmp/session.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';
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
}

export type ContextFactory = (plugin: PluginDefinition, signal: AbortSignal) => PluginContext;

export function createContextFactory(deps: ContextDependencies): ContextFactory {
  const secret = async (name: string, site: string): Promise<string | undefined> =>
    (await deps.store.get(deps.keys.secret(name, site))) ??
    (await deps.store.get(deps.keys.secretDefault(name)));

  const enrichment = async (resourceId: string, namespace: string): Promise<EnrichmentGroup | undefined> => {
    const text = await deps.store.get(deps.keys.enrichment(resourceId, namespace));
    if (text === undefined) return undefined;
    const parsed = parseEnrichmentGroup(parseJson(text, deps.keys.enrichment(resourceId, namespace)));
    if (!parsed.ok) {
      deps.logger.warn(
        { resourceId, namespace, issues: parsed.issues },
        'stored enrichment is invalid; ignored',
      );
      return undefined;
    }
    return parsed.value;
  };

  // One child logger per plugin definition: creating one per run is measurable at 3k runs/s.
  const loggers = new WeakMap<PluginDefinition, Logger>();
  return (plugin, signal) => {
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
        community = (await secret(plugin.snmp.communityKey, resource.resource_site)) ?? deps.defaultCommunity;
        if (community === undefined) {
          throw new PanoptesError(
            'CONFIG_INVALID',
            `plugin ${plugin.name}: no SNMP community for site ${resource.resource_site}: store secret ` +
              `"${plugin.snmp.communityKey}" (${deps.keys.secret(plugin.snmp.communityKey, resource.resource_site)} ` +
              `or ${deps.keys.secretDefault(plugin.snmp.communityKey)})`,
          );
        }
      }
      return deps.snmp.session({
        host: resource.resource_endpoint,
        version,
        ...(community === undefined ? {} : { community }),
        ...(plugin.snmp.port === undefined ? {} : { port: plugin.snmp.port }),
        ...(plugin.snmp.timeoutMs === undefined ? {} : { timeoutMs: plugin.snmp.timeoutMs }),
        ...(plugin.snmp.retries === undefined ? {} : { retries: plugin.snmp.retries }),
        ...(plugin.snmp.maxRepetitions === undefined ? {} : { maxRepetitions: plugin.snmp.maxRepetitions }),
      });
    };
    return { config: plugin, logger, signal, snmp, enrichment, secret, store: deps.store };
  };
}
