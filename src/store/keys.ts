/**
 * Every key the project stores, built in one place, all under a configurable prefix
 * (default `panoptes`). The Redis store and the in-memory store use the same keys.
 */

export const DEFAULT_KEY_PREFIX = 'panoptes';

export interface StoreKeys {
  readonly prefix: string;
  /** `<prefix>:resources:<site>:<resource_id>`: resource JSON, TTL `_resource_ttl`. */
  resource(site: string, resourceId: string): string;
  /** Prefix of every resource key of a site (for scans). */
  resourcesOfSite(site: string): string;
  /** `<prefix>:enrichment:<resource_id>:<namespace>`: enrichment group JSON, TTL enrichment_ttl. */
  enrichment(resourceId: string, namespace: string): string;
  /** `<prefix>:secrets:<name>:<site>`: e.g. an SNMP community for a site; never logged. */
  secret(name: string, site: string): string;
  /** `<prefix>:secrets:<name>:default`: used when a site has none of its own. */
  secretDefault(name: string): string;
  /** `<prefix>:lock:<plugin>:<resource_id>`: lease lock, value = owner token. */
  lock(plugin: string, resourceId: string): string;
  /** `<prefix>:last:<plugin>:<resource_id>`: last execution time (ms), the min-interval guard. */
  last(plugin: string, resourceId: string): string;
  /** `<prefix>:counters:<resource_id>:<plugin>`: counter history checkpoint. */
  counters(resourceId: string, plugin: string): string;
}

export function storeKeys(prefix: string = DEFAULT_KEY_PREFIX): StoreKeys {
  return {
    prefix,
    resource: (site, resourceId) => `${prefix}:resources:${site}:${resourceId}`,
    resourcesOfSite: (site) => `${prefix}:resources:${site}:`,
    enrichment: (resourceId, namespace) => `${prefix}:enrichment:${resourceId}:${namespace}`,
    secret: (name, site) => `${prefix}:secrets:${name}:${site}`,
    secretDefault: (name) => `${prefix}:secrets:${name}:default`,
    lock: (plugin, resourceId) => `${prefix}:lock:${plugin}:${resourceId}`,
    last: (plugin, resourceId) => `${prefix}:last:${plugin}:${resourceId}`,
    counters: (resourceId, plugin) => `${prefix}:counters:${resourceId}:${plugin}`,
  };
}
