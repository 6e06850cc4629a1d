/**
 * Builders for the polling tests: resources, plugin definitions parsed from `.panoptes-plugin`
 * text, loaded polling plugins whose poll() the test controls, and metrics groups.
 */
import type { MetricsGroup, Resource } from '../../src/model/index.js';
import type { PollingPlugin } from '../../src/plugins/api.js';
import type { LoadedPlugin, PluginSet } from '../../src/plugins/loader.js';
import { parsePluginFile } from '../../src/plugins/plugin-file.js';
import type { PluginDefinition } from '../../src/plugins/plugin-file.js';

export function resource(id: string, overrides: Partial<Omit<Resource, 'resource_id'>> = {}): Resource {
  return {
    resource_id: id,
    resource_site: 'dc1',
    resource_endpoint: '192.0.2.10',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'discovery_from_file',
    resource_metadata: {},
    ...overrides,
  };
}

/** A definition from `[Core]` + `[main]` with the given keys (execute_frequency defaults to 60). */
export function pollingDefinition(
  name: string,
  main: Readonly<Record<string, string | number>> = {},
): PluginDefinition {
  const keys = { execute_frequency: 60, ...main };
  const text = [
    '[Core]',
    `Name = ${name}`,
    `Module = ./${name}.mjs`,
    '[main]',
    ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`),
  ].join('\n');
  return parsePluginFile(text, `/plugins/${name}.panoptes-plugin`);
}

export function pollingPlugin(
  definition: PluginDefinition,
  poll: PollingPlugin['poll'],
  version = 'v1',
): LoadedPlugin {
  return { definition, kind: 'polling', instance: { poll }, version };
}

export function pluginSet(...plugins: LoadedPlugin[]): PluginSet {
  return new Map(plugins.map((p) => [p.definition.name, p]));
}

export function metricsGroup(r: Resource, value = 1): MetricsGroup {
  return {
    metrics_group_schema_version: '0.2',
    metrics_group_type: 'interface',
    metrics_group_interval: 60,
    metrics_group_creation_timestamp: 1_700_000_060,
    resource: r,
    dimensions: [{ dimension_name: 'interface_name', dimension_value: 'Gi1/0/1' }],
    metrics: [
      {
        metric_name: 'bits_in',
        metric_value: value,
        metric_type: 'counter',
        metric_creation_timestamp: 1_700_000_060,
      },
    ],
  };
}
