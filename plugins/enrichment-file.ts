/**
 * enrichment-file: enrichment written by hand, for facts no device answers (circuit ids, sites,
 * the names an operator gives interfaces) or to pin what a polling plugin joins while a device
 * or profile is tried out.
 *
 *   [main]    namespace   the enrichment namespace (default: the plugin's Name, which must then
 *                         be one: letters, digits and _)
 *   [options] file        a JSON file, relative to the plugin file's directory or absolute:
 *                         {"<resource_id>": {"<key>": {"<field>": value, ...}, ...}, ...}
 *
 * For a resource the file lists, one enrichment group in the namespace with that resource's
 * records (keyed as the polling plugin joins them: ifIndex for interfaces); a resource it does not
 * list gets none. Values are text, numbers or booleans. The file is read anew on every run. A
 * file that cannot be read or is not JSON fails the run (FILE_READ, JSON_PARSE with
 * file:line:column); a record that is not an object of such values fails it too, naming the
 * resource, the key and the field (MODEL_INVALID).
 */
import { PanoptesError, parseEnrichmentGroup, parseJson, pluginOptions } from '../src/index.js';
import type { EnrichmentGroup, EnrichmentPlugin, PluginContext, Resource } from '../src/index.js';
import { FILE_OPTION, inventoryFile, readInventory } from './lib/discovery-file.js';

/** The plugin file's [options]. */
export const options = { file: FILE_OPTION };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FileEnrichmentPlugin implements EnrichmentPlugin {
  async enrich(ctx: PluginContext, resource: Resource): Promise<readonly EnrichmentGroup[]> {
    const file = inventoryFile(ctx, pluginOptions(ctx, options).file);
    const text = (await readInventory(ctx, file)).toString('utf8').replace(/^\uFEFF/, '');
    const all = parseJson(text, file.path);
    if (!isObject(all)) {
      throw new PanoptesError('MODEL_INVALID', `${file.path}: must be an object of resource ids`);
    }
    const records = all[resource.resource_id];
    if (records === undefined) return [];
    const def = ctx.config;
    const namespace = def.namespace ?? def.name;
    const parsed = parseEnrichmentGroup(
      {
        namespace,
        data: records,
        metadata: {
          _enrichment_group_creation_timestamp: Date.now() / 1000,
          _enrichment_ttl: def.enrichmentTtlSeconds,
          _execute_frequency: def.executeFrequencySeconds,
        },
      },
      resource.resource_id,
    );
    if (!parsed.ok) {
      // Paths as the file has them: the resource id, then the record's key and field.
      const where = (path: string): string =>
        path.startsWith(`${resource.resource_id}.namespace`)
          ? `${def.file}: [main] namespace`
          : `${file.path}: ${path.replace(`${resource.resource_id}.data`, resource.resource_id)}`;
      throw new PanoptesError(
        'MODEL_INVALID',
        parsed.issues.map((i) => `${where(i.path)}: ${i.message}`).join('\n'),
      );
    }
    return [parsed.value];
  }
}

export default FileEnrichmentPlugin;
