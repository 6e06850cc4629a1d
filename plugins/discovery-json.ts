/**
 * discovery-json: the resources listed in a JSON file.
 *
 *   [options] file   the inventory (required), relative to the plugin file's directory or absolute
 *
 * The file holds one resource, an array of resources or a resource set (`{"resources": [...]}`),
 * in the wire format of src/model/resource.ts. It is read anew on every run, so edits are picked
 * up at the next run, and parsed losslessly.
 *
 * Each record is validated on its own: one that fails is logged as a warning naming the file, the
 * record (its index, as in the JSON path) and the JSON path of every problem, e.g.
 * `/etc/panoptes/devices.json: record 3: $[3].resource_site: must match ^[A-Za-z0-9._-]+$`, and
 * skipped; the others are returned. A resource listed twice (same site and resource_id) is kept
 * the first time and the repeat is warned about, naming both records. A record without
 * resource_creation_plugin (or its alias resource_plugin) gets this plugin's Name, one without
 * resource_creation_timestamp the time of the run.
 *
 * The run fails (throws) when the file cannot be read (FILE_READ), is not JSON (JSON_PARSE, with
 * file:line:column), is not laid out as one of the three shapes (MODEL_INVALID), or when [options]
 * has no `file` or an unknown key (PLUGIN_INVALID naming the plugin file, section and key).
 */
import { ValidationError, parseJson, parseResourceDocument, pluginOptions } from '../src/index.js';
import type { DiscoveryPlugin, PluginContext, Resource, ValidationIssue } from '../src/index.js';
import { FILE_OPTION, inventoryFile, readInventory, withDefaults } from './lib/discovery-file.js';

/** The plugin file's [options]. */
export const options = { file: FILE_OPTION };

type Layout = 'single' | 'array' | 'set';

/** Index of the record an issue is about, from its path; undefined for set-level issues. */
const RECORD_PATH: Readonly<Record<Layout, RegExp | undefined>> = {
  single: undefined,
  array: /^\$\[(\d+)\]/,
  set: /^\$\.resources\[(\d+)\]/,
};

/** How parseResourceDocument words a repeated resource: `duplicate of <path of the first>`. */
const DUPLICATE = /^duplicate of (\$(?:\.resources)?\[(\d+)\])$/;

function layoutOf(input: unknown, file: string): Layout {
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'object' && input !== null) {
    if (!Object.hasOwn(input, 'resources')) return 'single';
    if (Array.isArray((input as Record<string, unknown>)['resources'])) return 'set';
    throw new ValidationError('MODEL_INVALID', file, [{ path: '$.resources', message: 'must be an array' }]);
  }
  const got = input === null ? 'null' : `a ${typeof input}`;
  throw new ValidationError('MODEL_INVALID', file, [
    {
      path: '$',
      message: `must be a resource, an array of resources or a resource set ({"resources": [...]}), got ${got}`,
    },
  ]);
}

function describeIssue(issue: ValidationIssue): string {
  const m = DUPLICATE.exec(issue.message);
  const message = m === null ? issue.message : `duplicate of record ${m[2]} (${m[1]}), which is kept`;
  return `${issue.path}: ${message}`;
}

export class JsonDiscoveryPlugin implements DiscoveryPlugin {
  async discover(ctx: PluginContext): Promise<readonly Resource[]> {
    const file = inventoryFile(ctx, pluginOptions(ctx, options).file);
    const bytes = await readInventory(ctx, file);
    const now = Date.now() / 1000;
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    const input = parseJson(text, file.path);
    const layout = layoutOf(input, file.path);

    const fill = (record: unknown): unknown => withDefaults(record, ctx.config.name, now);
    let filled: unknown;
    if (layout === 'array') filled = (input as unknown[]).map(fill);
    else if (layout === 'set') {
      const set = input as Record<string, unknown>;
      filled = { ...set, resources: (set['resources'] as unknown[]).map(fill) };
    } else filled = fill(input);

    const doc = parseResourceDocument(filled);

    const general: ValidationIssue[] = [];
    const byRecord = new Map<number, ValidationIssue[]>();
    const pattern = RECORD_PATH[layout];
    for (const issue of doc.issues) {
      const m = pattern?.exec(issue.path);
      const record = layout === 'single' ? 0 : m?.[1] === undefined ? undefined : Number(m[1]);
      if (record === undefined) general.push(issue);
      else byRecord.set(record, [...(byRecord.get(record) ?? []), issue]);
    }
    if (general.length > 0) {
      ctx.logger.warn(
        { file: file.path, issues: general },
        `${file.path}: ${general.map(describeIssue).join('; ')} (ignored)`,
      );
    }
    for (const [record, issues] of byRecord) {
      ctx.logger.warn(
        { file: file.path, record, issues },
        `${file.path}: record ${record}: ${issues.map(describeIssue).join('; ')}`,
      );
    }
    ctx.logger.debug(
      { file: file.path, resources: doc.items.length, skipped: byRecord.size },
      'resources read from JSON inventory',
    );
    return doc.items;
  }
}

export default JsonDiscoveryPlugin;
