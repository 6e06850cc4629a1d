/**
 * SNMP profiles: YAML files (docs/profiles.md) validated and compiled when loaded. The structure
 * is checked with a schema, then every expression is parsed and its names resolved against the
 * profile's tables, scalars and maps, so a loaded profile cannot fail on a typo at poll time.
 * Every problem is reported as FILE:LINE:COLUMN: key.path: message (PROFILE_INVALID).
 */
import { z } from 'zod';
import { YamlFile } from '../config/yaml-document.js';
import type { ConfigIssue } from '../config/yaml-document.js';
import { compileFilter } from '../dsl/index.js';
import type { ResourcePredicate } from '../dsl/index.js';
import { isPanoptesError } from '../errors.js';
import { resolveMibName } from '../snmp/mibs.js';
import { readTextFile } from '../text-file.js';
import { ExpressionCheckError, compileExpression } from './compile.js';
import type { Compiled, Scope } from './compile.js';
import { ExpressionSyntaxError, parseExpression } from './expression.js';
import type { Expr } from './expression.js';
import type { Value } from './values.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROFILE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
const NUMERIC_OID = /^\.?\d+(?:\.\d+)+$/;
/** Names with a meaning of their own in expressions. */
const RESERVED = new Set(['index', 'interval', 'resource', 'meta', 'and', 'or', 'not', 'in']);

const name = z.string().regex(NAME, 'must match ^[A-Za-z_][A-Za-z0-9_]*$');
/** A numeric OID, or the name of a standard MIB object (src/snmp/mibs.ts) with its instance arcs. */
const oid = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .transform((v) => resolveMibName(v) ?? v)
  .refine(
    (v) => NUMERIC_OID.test(v),
    'must be a numeric OID such as 1.3.6.1.2.1.1.3.0, or a known MIB object name such as sysUpTime.0',
  )
  .transform((v) => (v.startsWith('.') ? v.slice(1) : v));
const expression = z.union([z.string(), z.number()]).transform((v) => String(v));
const scalarValue = z.union([z.string(), z.number(), z.boolean()]);

const metricSchema = z.union([
  expression,
  z.strictObject({
    value: expression,
    type: z.enum(['gauge', 'counter']).default('gauge'),
    /** Counters: the value is the device counter times this (8 for bits from octets). */
    scale: z.number().int().min(1).optional(),
    /** Counters: the highest plausible rate of the (scaled) value per second, an expression. */
    max_per_second: expression.optional(),
    /** A missing value is left out without making the run partial. */
    optional: z.boolean().default(false),
  }),
]);

const groupSchema = z.strictObject({
  type: name,
  table: name.optional(),
  when: expression.optional(),
  where: expression.optional(),
  optional: z.boolean().default(false),
  empty_dimensions: z.enum(['not_set', 'omit']).default('not_set'),
  dimensions: z.record(name, expression).default({}),
  metrics: z.record(name, metricSchema).refine((m) => Object.keys(m).length > 0, 'needs at least one metric'),
});

const profileSchema = z.strictObject({
  profile: z.string().regex(PROFILE_NAME, 'must match ^[a-z0-9][a-z0-9_.-]*$'),
  description: z.string().optional(),
  select: z
    .strictObject({
      filter: z.string().optional(),
      sys_object_id: z.array(oid).default([]),
    })
    .default({ sys_object_id: [] }),
  maps: z.record(name, z.record(z.string(), scalarValue)).default({}),
  scalars: z.record(name, oid).default({}),
  tables: z
    .record(
      name,
      z.strictObject({
        columns: z.record(name, oid).refine((c) => Object.keys(c).length > 0, 'needs at least one column'),
        when: expression.optional(),
      }),
    )
    .default({}),
  groups: z.array(groupSchema).min(1, 'needs at least one group'),
});

export interface TableRule {
  readonly name: string;
  /** Column name -> column OID. */
  readonly columns: ReadonlyMap<string, string>;
  readonly when: Compiled | undefined;
  /** The (earlier) tables its `when` uses: it is walked once they are. */
  readonly after: readonly string[];
}

/** The tables of `names` an expression refers to (TABLE.COL, TABLE.COL[x], count(TABLE), ...). */
function tableRefs(e: Expr, names: ReadonlySet<string>, out: Set<string>): Set<string> {
  switch (e.kind) {
    case 'ref':
      if (names.has(e.path[0] ?? '')) out.add(e.path[0] as string);
      break;
    case 'list':
      for (const i of e.items) tableRefs(i, names, out);
      break;
    case 'lookup':
      tableRefs(e.target, names, out);
      tableRefs(e.key, names, out);
      break;
    case 'call':
      for (const a of e.args) tableRefs(a, names, out);
      break;
    case 'not':
    case 'negate':
      tableRefs(e.arg, names, out);
      break;
    case 'binary':
      tableRefs(e.left, names, out);
      tableRefs(e.right, names, out);
      break;
    default:
      break;
  }
  return out;
}

export interface GroupRule {
  readonly type: string;
  readonly table: string | undefined;
  readonly when: Compiled | undefined;
  readonly where: Compiled | undefined;
  /** An empty table is not a failure (the device may simply have none). */
  readonly optional: boolean;
  /** Leave a dimension without a value out (Panoptes' ignore_empty_dimensions) instead of `<not set>`. */
  readonly omitEmptyDimensions: boolean;
  readonly dimensions: readonly (readonly [string, Compiled])[];
  readonly metrics: readonly MetricRule[];
}

export interface MetricRule {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly value: Compiled;
  /** Counters: the metric is the value times this integer (default 1). */
  readonly scale: number;
  /** Counters: the highest plausible rate per second (of the scaled value), per row. */
  readonly maxPerSecond: Compiled | undefined;
  /** A missing value does not make the run partial. */
  readonly optional: boolean;
}

export interface Profile {
  readonly name: string;
  readonly description: string | undefined;
  /** Where it came from. */
  readonly file: string;
  readonly filter: ResourcePredicate | undefined;
  readonly sysObjectIds: readonly string[];
  readonly scalars: ReadonlyMap<string, string>;
  readonly tables: ReadonlyMap<string, TableRule>;
  readonly groups: readonly GroupRule[];
}

/** Parses, validates and compiles a profile; throws a PROFILE_INVALID ConfigError listing every problem. */
export function parseProfile(text: string, file: string): Profile {
  const yaml = YamlFile.parse(text, file, 'PROFILE_INVALID');
  const p = yaml.validate(profileSchema);
  const issues: ConfigIssue[] = [];

  let filter: ResourcePredicate | undefined;
  if (p.select.filter !== undefined) {
    try {
      filter = compileFilter(p.select.filter);
    } catch (e) {
      issues.push(yaml.issue(['select', 'filter'], isPanoptesError(e) ? e.message : String(e)));
    }
  }

  const maps = new Map<string, ReadonlyMap<string, Value>>();
  for (const [m, entries] of Object.entries(p.maps)) maps.set(m, new Map(Object.entries(entries)));

  const tableColumns = new Map<string, ReadonlySet<string>>();
  for (const [t, def] of Object.entries(p.tables)) {
    if (RESERVED.has(t)) issues.push(yaml.issue(['tables', t], `"${t}" is a reserved name`));
    for (const c of Object.keys(def.columns)) {
      if (RESERVED.has(c)) issues.push(yaml.issue(['tables', t, 'columns', c], `"${c}" is a reserved name`));
    }
    tableColumns.set(t, new Set(Object.keys(def.columns)));
  }
  for (const s of Object.keys(p.scalars)) {
    if (RESERVED.has(s)) issues.push(yaml.issue(['scalars', s], `"${s}" is a reserved name`));
    if (tableColumns.has(s)) issues.push(yaml.issue(['scalars', s], `"${s}" is also a table`));
  }
  const base: Scope = {
    tables: tableColumns,
    scalars: new Set(Object.keys(p.scalars)),
    maps,
    row: undefined,
    data: true,
  };

  const compile = (text: string, path: readonly PropertyKey[], scope: Scope): Compiled => {
    try {
      return compileExpression(parseExpression(text), scope);
    } catch (e) {
      if (e instanceof ExpressionSyntaxError || e instanceof ExpressionCheckError) {
        issues.push(yaml.issue(path, e.message, e.offset));
        return () => undefined;
      }
      throw e;
    }
  };

  // A table's `when` sees resource, meta, interval and the tables declared before it.
  const tables = new Map<string, TableRule>();
  const earlier = new Map<string, ReadonlySet<string>>();
  for (const [t, def] of Object.entries(p.tables)) {
    let when: Compiled | undefined;
    let after: string[] = [];
    if (def.when !== undefined) {
      const path = ['tables', t, 'when'];
      const scope: Scope =
        earlier.size === 0
          ? { ...base, data: false }
          : { ...base, tables: new Map(earlier), scalars: new Set() };
      when = compile(def.when, path, scope);
      try {
        after = [...tableRefs(parseExpression(def.when), new Set(earlier.keys()), new Set())];
      } catch {
        // The syntax error is already reported by compile().
      }
    }
    tables.set(t, { name: t, columns: new Map(Object.entries(def.columns)), when, after });
    earlier.set(t, tableColumns.get(t) ?? new Set());
  }

  const groups: GroupRule[] = p.groups.map((g, i) => {
    const at = ['groups', i];
    if (g.table !== undefined && !tableColumns.has(g.table)) {
      issues.push(
        yaml.issue(
          [...at, 'table'],
          `unknown table "${g.table}" (${[...tableColumns.keys()].join(', ') || 'none declared'})`,
        ),
      );
    }
    const row = g.table !== undefined && tableColumns.has(g.table) ? g.table : undefined;
    const rowScope: Scope = { ...base, row };
    if (g.where !== undefined && row === undefined && g.table === undefined) {
      issues.push(
        yaml.issue([...at, 'where'], '"where" filters the rows of a table: give the group a "table"'),
      );
    }
    return {
      type: g.type,
      table: row,
      when: g.when === undefined ? undefined : compile(g.when, [...at, 'when'], base),
      where: g.where === undefined ? undefined : compile(g.where, [...at, 'where'], rowScope),
      optional: g.optional,
      omitEmptyDimensions: g.empty_dimensions === 'omit',
      dimensions: Object.entries(g.dimensions).map(
        ([d, e]) => [d, compile(e, [...at, 'dimensions', d], rowScope)] as const,
      ),
      metrics: Object.entries(g.metrics).map(([m, def]): MetricRule => {
        if (typeof def === 'string') {
          return {
            name: m,
            type: 'gauge',
            value: compile(def, [...at, 'metrics', m], rowScope),
            scale: 1,
            maxPerSecond: undefined,
            optional: false,
          };
        }
        const path = [...at, 'metrics', m];
        if (def.type !== 'counter') {
          for (const key of ['scale', 'max_per_second'] as const) {
            if (def[key] !== undefined)
              issues.push(yaml.issue([...path, key], `"${key}" is for counters only`));
          }
        }
        return {
          name: m,
          type: def.type,
          value: compile(def.value, [...path, 'value'], rowScope),
          scale: def.scale ?? 1,
          maxPerSecond:
            def.max_per_second === undefined
              ? undefined
              : compile(def.max_per_second, [...path, 'max_per_second'], rowScope),
          optional: def.optional,
        };
      }),
    };
  });

  if (issues.length > 0) throw yaml.error(issues);
  return {
    name: p.profile,
    description: p.description,
    file,
    filter,
    sysObjectIds: p.select.sys_object_id,
    scalars: new Map(Object.entries(p.scalars)),
    tables,
    groups,
  };
}

export async function loadProfileFile(file: string): Promise<Profile> {
  return parseProfile(await readTextFile(file), file);
}
