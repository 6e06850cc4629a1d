/**
 * YAML files validated with positions: the parsed document keeps its nodes, so each problem
 * found in the data (by a schema, or by a later check such as a profile's expressions) is
 * reported as `FILE:LINE:COLUMN: key.path: message`. Used by the site configuration and by
 * SNMP profiles.
 */
import { LineCounter, isScalar, parseDocument } from 'yaml';
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
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
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
    if (pos !== undefined && offset !== undefined && isScalar(node) && typeof node.value === 'string') {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (!node.value.includes('\n')) pos = { line: pos.line, col: pos.col + offset + (quoted ? 1 : 0) };
    }
    return {
      path: formatPath(path, '').replace(/^\./, '') || '(top)',
      ...(pos === undefined ? {} : { line: pos.line, column: pos.col }),
      message,
    };
  }

  /** Validates the data with a schema; throws a ConfigError with one issue per problem (one per unknown key). */
  validate<T>(schema: z.ZodType<T>): T {
    const result = schema.safeParse(this.data());
    if (result.success) return result.data;
    const issues: ConfigIssue[] = [];
    for (const i of result.error.issues) {
      if (i.code === 'unrecognized_keys') {
        for (const key of i.keys) issues.push(this.issue([...i.path, key], 'unknown key'));
      } else issues.push(this.issue(i.path, i.message));
    }
    throw this.error(issues);
  }

  error(issues: readonly ConfigIssue[]): ConfigError {
    return new ConfigError(this.file, issues, this.code);
  }
}
