/**
 * YAML files validated with positions: the parsed document keeps its nodes, so each problem
 * found in the data (by a schema, or by a later check such as a profile's expressions) is
 * reported as `FILE:LINE:COLUMN: key.path: message`. Used by the site configuration and by
 * SNMP profiles.
 */
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { PanoptesError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { formatPath } from '../model/index.js';

/** A problem with where it is. */
export interface ConfigIssue {
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export class ConfigError extends PanoptesError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], code: ErrorCode = 'CONFIG_INVALID') {
    const lines = issues.map(
      (i) => `${file}${i.line === undefined ? '' : `:${i.line}:${i.column ?? 1}`}: ${i.path}: ${i.message}`,
    );
    super(code, lines.join('\n'), { details: { file } });
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/**
 * Where the character at `offset` of a quoted scalar's value is in its source (which starts with
 * the quote): YAML escapes take more room than what they stand for ('' in single quotes, \\, \"
 * and \xHH, \uHHHH, \UHHHHHHHH in double quotes).
 */
function quotedSourceOffset(source: string, offset: number, double: boolean): number {
  let i = 1;
  for (let v = 0; v < offset && i < source.length - 1; v++) {
    const next = source[i + 1];
    if (double && source[i] === '\\') i += next === 'x' ? 4 : next === 'u' ? 6 : next === 'U' ? 10 : 2;
    else if (!double && source[i] === "'" && next === "'") i += 2;
    else i++;
  }
  return i;
}

export class YamlFile {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly code: ErrorCode,
  ) {}

  /** Parses YAML text; syntax errors (and duplicate keys) throw a ConfigError with their positions. */
  static parse(text: string, file: string, code: ErrorCode = 'CONFIG_INVALID'): YamlFile {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
      keepSourceTokens: true, // a quoted scalar's source, for columns inside it (issue)
    });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        file,
        doc.errors.map((e) => {
          const pos = lines.linePos(e.pos[0]);
          return {
            path: '(syntax)',
            line: pos.line,
            column: pos.col,
            message: e.message.split('\n')[0] ?? e.message,
          };
        }),
        code,
      );
    }
    return new YamlFile(file, doc, lines, code);
  }

  /** The document as plain data. */
  data(): unknown {
    return this.doc.toJS() ?? {};
  }

  /**
   * An issue at a key path: the position of the deepest node of the path that exists. `offset`
   * points inside a one-line scalar (an expression's column).
   */
  issue(path: readonly PropertyKey[], message: string, offset?: number): ConfigIssue {
    const keys = path.map((k) => (typeof k === 'number' ? k : String(k)));
    let node: unknown;
    let n = keys.length;
    for (; n >= 0 && node === undefined; n--) node = this.doc.getIn(keys.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    let pos = range === undefined ? undefined : this.lines.linePos(range[0]);
    if (
      pos !== undefined &&
      offset !== undefined &&
      range !== undefined &&
      isScalar(node) &&
      typeof node.value === 'string' &&
      this.lines.linePos(range[1]).line === pos.line // one line of source (not folded, not a block)
    ) {
      const source = (node.srcToken as { source?: unknown } | undefined)?.source;
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      const at =
        quoted && typeof source === 'string'
          ? quotedSourceOffset(source, offset, node.type === 'QUOTE_DOUBLE')
          : offset + (quoted ? 1 : 0);
      pos = { line: pos.line, col: pos.col + at };
    }
    return {
      path: formatPath(path, '').replace(/^\./, '') || '(top)',
      ...(pos === undefined ? {} : { line: pos.line, column: pos.col }),
      message,
    };
  }

  /**
   * An issue about a key (unknown, or not a valid name): at its value, as every issue is, unless
   * the value starts on a later line (a block): then at the key, so the line is the key's own.
   */
  private keyIssue(path: readonly PropertyKey[], message: string): ConfigIssue {
    const at = this.issue(path, message);
    const parent = this.doc.getIn(
      path.slice(0, -1).map((k) => (typeof k === 'number' ? k : String(k))),
      true,
    );
    const last = String(path.at(-1));
    const key = isMap(parent)
      ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last)?.key
      : undefined;
    const range = isScalar(key) ? key.range : undefined;
    if (range === undefined || range === null) return at;
    const pos = this.lines.linePos(range[0]);
    return at.line === pos.line ? at : { ...at, line: pos.line, column: pos.col };
  }

  /** Validates the data with a schema; throws a ConfigError with one issue per problem (one per unknown key). */
  validate<T>(schema: z.ZodType<T>): T {
    const result = schema.safeParse(this.data());
    if (result.success) return result.data;
    const issues: ConfigIssue[] = [];
    for (const i of result.error.issues) {
      if (i.code === 'unrecognized_keys') {
        for (const key of i.keys) issues.push(this.keyIssue([...i.path, key], 'unknown key'));
      } else if (i.code === 'invalid_key') {
        // A name that is not allowed: the key schema's own words, not zod's "Invalid key in record".
        issues.push(this.keyIssue(i.path, [...new Set(i.issues.map((x) => x.message))].join('; ')));
      } else issues.push(this.issue(i.path, i.message));
    }
    throw this.error(issues);
  }

  error(issues: readonly ConfigIssue[]): ConfigError {
    return new ConfigError(this.file, issues, this.code);
  }
}
