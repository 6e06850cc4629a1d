/**
 * discovery-csv: the resources listed in a CSV file.
 *
 *   [options] file       the inventory (required), relative to the plugin file's directory or absolute
 *   [options] delimiter  the cell separator: one character, or `tab`; default `,`
 *
 * The first row names the columns:
 *   resource_id, resource_site, resource_endpoint, resource_class, resource_subclass,
 *   resource_type                        required
 *   resource_creation_timestamp          optional: seconds since the epoch; default the run's time
 *   resource_creation_plugin             optional (or its alias resource_plugin): default this
 *                                        plugin's Name
 *   metadata.<key>                       optional, any number: resource_metadata[<key>]
 * An empty cell leaves the field out (a metadata key is then absent; a required field is reported).
 * Cells may be quoted ("a, b"; "say ""hi"""; newlines inside quotes are part of the cell);
 * whitespace around cells is trimmed; blank lines and rows of empty cells are ignored; a UTF-8
 * byte order mark is skipped.
 *
 * The file is read anew on every run. A header with an unknown, unnamed or repeated column, or
 * without a required one, is an error for the whole file (MODEL_INVALID naming the column): a
 * misspelt column would otherwise drop its data silently. Each row is checked on its own: a row
 * with a different number of cells than the header, one that fails validation (each problem named
 * by its column) and a repeat of a resource already listed (same site and resource_id; the first
 * is kept) is logged as a warning with the file and the line the row starts on (the header is
 * line 1) and skipped; the others are returned.
 *
 * The run fails (throws) when the file cannot be read (FILE_READ), is not CSV (an unclosed quote,
 * ...: MODEL_INVALID with the line the broken row starts on), has a bad header (above), or when
 * [options] has no `file`, a bad `delimiter` or an unknown key (PLUGIN_INVALID).
 */
import { parse } from 'csv-parse/sync';
import type { InfoRecord } from 'csv-parse/sync';
import {
  NAME_PATTERN,
  RESERVED_KEYS,
  ValidationError,
  errorMessage,
  parseResource,
  pluginOptions,
} from '../src/index.js';
import type { DiscoveryPlugin, OptionSpec, PluginContext, Resource, ValidationIssue } from '../src/index.js';
import {
  FILE_OPTION,
  inventoryFile,
  readInventory,
  resourceKey,
  withDefaults,
} from './lib/discovery-file.js';

/** The plugin file's [options]. */
export const options = {
  file: FILE_OPTION,
  delimiter: {
    description: 'the column separator: one character other than a quote, or tab (default ",")',
    default: ',',
    parse: (value: string): string => {
      if (value === '') return ',';
      if (value.toLowerCase() === 'tab' || value === '\\t') return '\t';
      if ([...value].length !== 1 || /["\r\n]/.test(value)) {
        throw new Error(`must be one character other than a quote, or tab; got "${value}"`);
      }
      return value;
    },
  } satisfies OptionSpec<string>,
};

const REQUIRED_COLUMNS = [
  'resource_id',
  'resource_site',
  'resource_endpoint',
  'resource_class',
  'resource_subclass',
  'resource_type',
] as const;
const OPTIONAL_COLUMNS = [
  'resource_creation_timestamp',
  'resource_creation_plugin',
  'resource_plugin',
] as const;
const RESOURCE_COLUMNS: ReadonlySet<string> = new Set([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
const METADATA_PREFIX = 'metadata.';
const TIMESTAMP = 'resource_creation_timestamp';

/** What a column fills: a resource field, or a metadata key. */
type Column = { readonly field: string } | { readonly metadata: string };

interface Row {
  readonly cells: readonly string[];
  /** Line of the file the row starts on (1-based). */
  readonly line: number;
}

/**
 * Counts lines up to byte offsets, which must not decrease between calls. csv-parse's own
 * `info.lines` is the line a record ends on (and counts a CRLF inside quotes twice), so rows are
 * located by the byte offset where the previous record ended instead.
 */
class LineCounter {
  private offset = 0;
  private line = 1;

  constructor(private readonly data: Buffer) {}

  /** The line of the first byte at or after `from` that is not whitespace (where a record starts). */
  startLine(from: number): number {
    this.advance(from);
    while (this.offset < this.data.length && isWhitespace(this.data[this.offset])) this.step();
    return this.line;
  }

  private advance(to: number): void {
    while (this.offset < Math.min(to, this.data.length)) this.step();
  }

  private step(): void {
    const byte = this.data[this.offset];
    if (byte === 0x0a || (byte === 0x0d && this.data[this.offset + 1] !== 0x0a)) this.line++;
    this.offset++;
  }
}

function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** The rows of the file with the line each starts on; a CSV syntax error fails the whole file. */
function readRows(data: Buffer, delimiter: string, file: string): Row[] {
  const lines = new LineCounter(data);
  const rows: Row[] = [];
  let end = 0;
  try {
    parse(data, {
      delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      on_record: (record: string[], info: InfoRecord) => {
        rows.push({ cells: record, line: lines.startLine(end) });
        end = info.bytes;
        return null;
      },
    });
  } catch (e) {
    const line = lines.startLine(end);
    const reason = errorMessage(e).replace(/ at line \d+/g, '');
    throw new ValidationError(
      'MODEL_INVALID',
      file,
      [{ path: `line ${line}`, message: `not CSV: ${reason}` }],
      {
        cause: e,
        details: { file, line },
      },
    );
  }
  return rows;
}

/** The columns the header names; every problem with it fails the whole file. */
function headerColumns(header: Row | undefined, file: string): Column[] {
  if (header === undefined) {
    throw new ValidationError('MODEL_INVALID', file, [
      { path: 'line 1', message: 'no header row (the file is empty)' },
    ]);
  }
  const issues: ValidationIssue[] = [];
  const columns: Column[] = [];
  const seen = new Set<string>();
  header.cells.forEach((name, i) => {
    const path = `line ${header.line}, column ${i + 1}${name === '' ? '' : ` "${name}"`}`;
    if (name === '') {
      issues.push({ path, message: 'has no name' });
    } else if (seen.has(name)) {
      issues.push({ path, message: 'is repeated' });
    } else if (RESOURCE_COLUMNS.has(name)) {
      columns.push({ field: name });
    } else if (name.startsWith(METADATA_PREFIX)) {
      const key = name.slice(METADATA_PREFIX.length);
      if (!NAME_PATTERN.test(key) || RESERVED_KEYS.has(key)) {
        issues.push({ path, message: `metadata key must match ${NAME_PATTERN.source}` });
      } else columns.push({ metadata: key });
    } else {
      issues.push({
        path,
        message: `unknown column (expected ${[...RESOURCE_COLUMNS].join(', ')} or ${METADATA_PREFIX}<key>)`,
      });
    }
    seen.add(name);
  });
  for (const name of REQUIRED_COLUMNS) {
    if (!seen.has(name)) issues.push({ path: `line ${header.line}`, message: `column ${name} is missing` });
  }
  if (issues.length > 0) throw new ValidationError('MODEL_INVALID', file, issues, { details: { file } });
  return columns;
}

/** A validation issue path as the column it is about: `$.resource_metadata.x` -> `metadata.x`. */
function columnOf(path: string): string {
  const field = path.replace(/^\$\.?/, '');
  if (field.startsWith('resource_metadata.'))
    return METADATA_PREFIX + field.slice('resource_metadata.'.length);
  return field === '' ? 'row' : field;
}

interface RowResult {
  readonly resource?: Resource;
  readonly issues: readonly { readonly column: string; readonly message: string }[];
}

function rowToResource(
  cells: readonly string[],
  columns: readonly Column[],
  plugin: string,
  now: number,
): RowResult {
  const record: Record<string, unknown> = {};
  const metadata: Record<string, string> = {};
  const issues: { column: string; message: string }[] = [];
  columns.forEach((column, i) => {
    const cell = cells[i] ?? '';
    if (cell === '') return;
    if ('metadata' in column) metadata[column.metadata] = cell;
    else if (column.field !== TIMESTAMP) record[column.field] = cell;
    else if (/^\d+(\.\d+)?$/.test(cell)) record[TIMESTAMP] = Number(cell);
    else issues.push({ column: TIMESTAMP, message: `must be a number of seconds, got "${cell}"` });
  });
  record['resource_metadata'] = metadata;
  const parsed = parseResource(withDefaults(record, plugin, now));
  if (!parsed.ok)
    issues.push(...parsed.issues.map((i) => ({ column: columnOf(i.path), message: i.message })));
  return issues.length > 0 || !parsed.ok ? { issues } : { resource: parsed.value, issues };
}

export class CsvDiscoveryPlugin implements DiscoveryPlugin {
  async discover(ctx: PluginContext): Promise<readonly Resource[]> {
    const { file: fileOption, delimiter } = pluginOptions(ctx, options);
    const file = inventoryFile(ctx, fileOption);
    const data = await readInventory(ctx, file);
    const now = Date.now() / 1000;
    const [header, ...rows] = readRows(data, delimiter, file.path);
    const columns = headerColumns(header, file.path);

    const resources: Resource[] = [];
    const firstLine = new Map<string, number>();
    let skipped = 0;
    const warn = (line: number, message: string, fields: Record<string, unknown> = {}): void => {
      skipped++;
      ctx.logger.warn({ file: file.path, line, ...fields }, `${file.path}: line ${line}: ${message}`);
    };
    for (const { cells, line } of rows) {
      if (cells.every((c) => c === '')) continue;
      if (cells.length !== columns.length) {
        warn(line, `has ${cells.length} cells, the header has ${columns.length}`);
        continue;
      }
      const { resource, issues } = rowToResource(cells, columns, ctx.config.name, now);
      if (resource === undefined) {
        warn(line, issues.map((i) => `${i.column}: ${i.message}`).join('; '), { issues });
        continue;
      }
      const key = resourceKey(resource);
      const first = firstLine.get(key);
      if (first !== undefined) {
        warn(
          line,
          `resource_id: duplicate of line ${first} (same resource_id and resource_site), which is kept`,
        );
        continue;
      }
      firstLine.set(key, line);
      resources.push(resource);
    }
    ctx.logger.debug(
      { file: file.path, resources: resources.length, skipped },
      'resources read from CSV inventory',
    );
    return resources;
  }
}

export default CsvDiscoveryPlugin;
