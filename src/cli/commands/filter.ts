/**
 * `panoptes filter --resources FILE QUERY`
 *
 * Prints the resource_id of every resource in FILE (a resource set object, an array of
 * resources, or one resource) that QUERY selects, one per line, sorted ascending; nothing else on
 * stdout. Exit 0 also when nothing matches. A query that does not parse: nothing on stdout, the
 * error with line and column on stderr, exit 2.
 *
 * Records that fail full resource validation are still filtered as given when they have a
 * resource_id (the filter only reads resource_* fields and metadata), with a warning per problem
 * on stderr; a record without a usable resource_id is reported and makes the exit status 1.
 */
import { isPanoptesError } from '../../errors.js';
import { compileFilter } from '../../dsl/index.js';
import type { FilterableResource, ResourcePredicate } from '../../dsl/index.js';
import { formatPath, isPlainObject, parseResource } from '../../model/index.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';
import { readJsonInput } from '../read-input.js';

const FIELDS = [
  'resource_site',
  'resource_class',
  'resource_subclass',
  'resource_type',
  'resource_endpoint',
  'resource_creation_plugin',
] as const;

/** The records of a resources document with the JSON path of each. */
function records(input: unknown): { path: string; raw: unknown }[] {
  if (Array.isArray(input)) return (input as unknown[]).map((raw, i) => ({ path: formatPath([i]), raw }));
  const list = isPlainObject(input) && Object.hasOwn(input, 'resources') ? input['resources'] : undefined;
  if (Array.isArray(list)) {
    return (list as unknown[]).map((raw, i) => ({ path: formatPath(['resources', i]), raw }));
  }
  return [{ path: '$', raw: input }];
}

/** Reads what the filter needs from a record that is not a fully valid resource. */
function lenient(raw: unknown): FilterableResource | undefined {
  if (!isPlainObject(raw)) return undefined;
  const id = raw['resource_id'];
  if (typeof id !== 'string' || id === '') return undefined;
  const str = (key: string): string => {
    const v = raw[key];
    return typeof v === 'string' ? v : '';
  };
  const metadata: Record<string, string> = {};
  const meta = raw['resource_metadata'];
  if (isPlainObject(meta)) {
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v === 'string') metadata[k] = v;
      else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
        metadata[k] = String(v);
    }
  }
  const plugin =
    typeof raw['resource_creation_plugin'] === 'string'
      ? str('resource_creation_plugin')
      : str('resource_plugin');
  const out: Record<string, unknown> = { resource_id: id, resource_metadata: metadata };
  for (const f of FIELDS) out[f] = str(f);
  out['resource_creation_plugin'] = plugin;
  return out as unknown as FilterableResource;
}

/** Runs the command; returns the exit status. */
export async function runFilter(file: string, query: string, io: CliIo = processIo): Promise<number> {
  let predicate: ResourcePredicate;
  try {
    predicate = compileFilter(query);
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes filter: invalid query: ${e.message}\n`);
    return EXIT.USAGE;
  }

  const read = await readJsonInput(file, io);
  if (!read.ok) return read.exit;
  const input = read.value;

  let status: number = EXIT.OK;
  const matches: string[] = [];
  for (const { path, raw } of records(input)) {
    const parsed = parseResource(raw, path);
    let resource: FilterableResource | undefined;
    if (parsed.ok) {
      resource = parsed.value;
    } else {
      resource = lenient(raw);
      for (const issue of parsed.issues) {
        const note = resource === undefined ? 'record skipped' : 'filtered as given';
        io.err(`${file}: ${issue.path}: ${issue.message} (${note})\n`);
      }
      if (resource === undefined) status = EXIT.FAILED;
    }
    if (resource !== undefined && predicate(resource)) matches.push(resource.resource_id);
  }
  matches.sort();
  if (matches.length > 0) io.out(`${matches.join('\n')}\n`);
  return status;
}
