/**
 * Checks a parsed profile expression against what its profile declares (tables, columns,
 * scalars, maps, the group's row table) and turns it into a closure. Every name is resolved
 * here, once, so evaluation does no lookups by text and a typo is a load-time error with the
 * column where it is.
 */
import { RESOURCE_FIELDS } from '../dsl/index.js';
import type { Resource } from '../model/index.js';
import type { Expr } from './expression.js';
import { FUNCTIONS } from './functions.js';
import { asFloat, asNumber, asText, compare, equal, narrow, truthy } from './values.js';
import type { Value } from './values.js';

/** One walked table: its row indexes in OID order and its columns' values by index. */
export interface TableData {
  readonly indexes: readonly string[];
  readonly columns: ReadonlyMap<string, ReadonlyMap<string, Value>>;
  /**
   * The columns whose values came from counter varbinds (Counter32, Counter64). In them a
   * bigint is a Counter64 and a number a Counter32 (values.ts keeps every Counter64 a bigint).
   */
  readonly counters?: ReadonlySet<string>;
}

/**
 * Records the width of the device counters an evaluation read (the narrowest one), so a counter
 * metric knows whether it wraps at 2^32 or 2^64 whatever arithmetic was done on it. Only values
 * actually read count: `coalesce(hc, c32)` reads c32 only where hc has no value.
 */
export interface CounterTrace {
  /** 0 before any counter was read. */
  width: 0 | 32 | 64;
}

/** What an expression is evaluated against. */
export interface EvalContext {
  readonly tables: ReadonlyMap<string, TableData>;
  readonly scalars: ReadonlyMap<string, Value>;
  readonly resource: Resource;
  readonly interval: number;
  /** The row being evaluated (its index), when there is one. */
  readonly index: string | undefined;
  /** Scalars whose values came from counter varbinds. */
  readonly counterScalars?: ReadonlySet<string>;
  /** Set while a counter metric is evaluated: the widths of the counters it reads. */
  readonly trace?: CounterTrace;
}

export type Compiled = (c: EvalContext) => Value;

/** What names an expression may use. */
export interface Scope {
  readonly tables: ReadonlyMap<string, ReadonlySet<string>>;
  readonly scalars: ReadonlySet<string>;
  readonly maps: ReadonlyMap<string, ReadonlyMap<string, Value>>;
  /** The table whose rows the expression is evaluated for. */
  readonly row: string | undefined;
  /** False where nothing has been fetched yet (a table's `when`): only resource, meta and interval. */
  readonly data: boolean;
}

export class ExpressionCheckError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExpressionCheckError';
  }
}

const RESOURCE_FIELD_SET: ReadonlySet<string> = new Set<string>(RESOURCE_FIELDS);
const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);
const SPECIAL = ['count', 'sum', 'min', 'max', 'avg', 'find', 'find_suffix', 'map', 'if', 'coalesce'];

function fail(at: number, message: string): never {
  throw new ExpressionCheckError(at, message);
}

function noteCounter(trace: CounterTrace, v: Value): void {
  const width = typeof v === 'bigint' ? 64 : 32;
  if (trace.width === 0 || width < trace.width) trace.width = width;
}

/** Reads one column of a table at an index; remembers the column of the last table data seen. */
type ColumnReader = (c: EvalContext, index: string | undefined) => Value;

function columnReader(table: string, col: string): ColumnReader {
  // Every row of a run reads the same TableData: one map lookup instead of three per read.
  let seen: TableData | undefined;
  let values: ReadonlyMap<string, Value> | undefined;
  let counter = false;
  return (c, index) => {
    if (index === undefined) return undefined;
    const data = c.tables.get(table);
    if (data !== seen) {
      seen = data;
      values = data?.columns.get(col);
      counter = data?.counters?.has(col) === true;
    }
    const v = values?.get(index);
    if (counter && v !== undefined && c.trace !== undefined) noteCounter(c.trace, v);
    return v;
  };
}

function tableName(scope: Scope, e: Expr, fn: string): string {
  if (e.kind !== 'ref' || e.path.length !== 1 || !scope.tables.has(e.path[0] ?? '')) {
    fail(
      e.at,
      `${fn}() takes a table name first (${[...scope.tables.keys()].join(', ') || 'none declared'})`,
    );
  }
  if (!scope.data) fail(e.at, 'tables are not fetched yet here');
  return e.path[0] as string;
}

/** Resolves TABLE.COL (or COL of the row table) to [table, column]. */
function columnRef(scope: Scope, e: Expr): [string, string] | undefined {
  if (e.kind !== 'ref') return undefined;
  const [a, b] = e.path;
  if (e.path.length === 2 && a !== undefined && b !== undefined && scope.tables.get(a)?.has(b)) return [a, b];
  if (
    e.path.length === 1 &&
    a !== undefined &&
    scope.row !== undefined &&
    scope.tables.get(scope.row)?.has(a)
  ) {
    return [scope.row, a];
  }
  return undefined;
}

function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: Value, b: Value): Value {
  if (
    op === '+' &&
    (typeof a === 'string' || typeof b === 'string' || a instanceof Uint8Array || b instanceof Uint8Array)
  ) {
    const x = asNumber(a);
    const y = asNumber(b);
    // Text joins unless both sides are numbers written as text from a column (then they add).
    if (typeof a !== 'string' && typeof b !== 'string' && x !== undefined && y !== undefined)
      return arithmetic(op, x, y);
    const s = asText(a);
    const t = asText(b);
    return s === undefined || t === undefined ? undefined : s + t;
  }
  const x = asNumber(a);
  const y = asNumber(b);
  if (x === undefined || y === undefined) return undefined;
  if (typeof x === 'bigint' || typeof y === 'bigint') {
    const bothIntegral = Number.isInteger(Number(x)) && Number.isInteger(Number(y));
    if (bothIntegral && op !== '/') {
      const p = BigInt(x);
      const q = BigInt(y);
      if (op === '%') return q === 0n ? undefined : narrow(p % q);
      return narrow(op === '+' ? p + q : op === '-' ? p - q : p * q);
    }
  }
  const p = Number(x);
  const q = Number(y);
  let r: number;
  switch (op) {
    case '+':
      r = p + q;
      break;
    case '-':
      r = p - q;
      break;
    case '*':
      r = p * q;
      break;
    case '/':
      if (q === 0) return undefined;
      r = p / q;
      break;
    case '%':
      if (q === 0) return undefined;
      r = p % q;
      break;
  }
  if (!Number.isFinite(r)) return undefined;
  // Integer results beyond 2^53 lose digits as floats: redo them exactly.
  if (Number.isInteger(p) && Number.isInteger(q) && Math.abs(r) > Number.MAX_SAFE_INTEGER && op !== '/') {
    return arithmetic(op, BigInt(p), BigInt(q));
  }
  return r;
}

/** Compiles an expression for a scope; throws ExpressionCheckError at the offending node. */
export function compileExpression(e: Expr, scope: Scope): Compiled {
  switch (e.kind) {
    case 'number': {
      const v = e.value;
      return () => v;
    }
    case 'string': {
      const v = e.value;
      return () => v;
    }
    case 'list': {
      const items = e.items.map((i) => compileExpression(i, scope));
      return (c) => items.map((f) => f(c));
    }
    case 'not': {
      const arg = compileExpression(e.arg, scope);
      return (c) => !truthy(arg(c));
    }
    case 'negate': {
      const arg = compileExpression(e.arg, scope);
      return (c) => arithmetic('-', 0, arg(c));
    }
    case 'ref':
      return compileRef(e, scope);
    case 'lookup': {
      const ref = columnRef(scope, e.target);
      // An unknown name or column is reported as such (with what is known), before the general rule.
      if (ref === undefined && e.target.kind === 'ref') compileRef(e.target, scope);
      if (ref === undefined) fail(e.target.at, 'only a column (TABLE.COLUMN) can be looked up with [...]');
      if (!scope.data) fail(e.at, 'tables are not fetched yet here');
      const [table, col] = ref;
      const key = compileExpression(e.key, scope);
      const read = columnReader(table, col);
      return (c) => read(c, asText(key(c)));
    }
    case 'binary':
      return compileBinary(e, scope);
    case 'call':
      return compileCall(e, scope);
  }
}

function compileRef(e: Extract<Expr, { kind: 'ref' }>, scope: Scope): Compiled {
  const [a, b] = e.path;
  if (e.path.length === 1 && a !== undefined) {
    if (a === 'index') {
      if (scope.row === undefined) fail(e.at, '"index" is only known in a group with a table');
      return (c) => c.index;
    }
    if (a === 'interval') return (c) => c.interval;
    if (scope.row !== undefined && scope.tables.get(scope.row)?.has(a)) {
      const table = scope.row;
      const read = columnReader(table, a);
      return (c) => read(c, c.index);
    }
    if (scope.scalars.has(a)) {
      if (!scope.data) fail(e.at, 'scalars are not fetched yet here');
      return (c) => {
        const v = c.scalars.get(a);
        const trace = c.trace;
        if (trace !== undefined && v !== undefined && c.counterScalars?.has(a) === true)
          noteCounter(trace, v);
        return v;
      };
    }
    const known = [
      ...(scope.row === undefined ? [] : [...(scope.tables.get(scope.row) ?? [])]),
      ...scope.scalars,
      'interval',
      ...(scope.row === undefined ? [] : ['index']),
    ];
    fail(e.at, `unknown name "${a}" (known here: ${known.join(', ')}; other tables as TABLE.COLUMN)`);
  }
  if (e.path.length === 2 && a !== undefined && b !== undefined) {
    if (a === 'resource') {
      if (!RESOURCE_FIELD_SET.has(b))
        fail(e.at, `unknown resource field "${b}" (${RESOURCE_FIELDS.join(', ')})`);
      return (c) => c.resource[b as (typeof RESOURCE_FIELDS)[number]];
    }
    if (a === 'meta') return (c) => c.resource.resource_metadata[b];
    const cols = scope.tables.get(a);
    if (cols !== undefined) {
      if (!cols.has(b)) fail(e.at, `table "${a}" has no column "${b}" (${[...cols].join(', ')})`);
      if (scope.row === undefined)
        fail(e.at, `${a}.${b} needs a row: use ${a}.${b}[INDEX] or a group with a table`);
      const read = columnReader(a, b);
      return (c) => read(c, c.index);
    }
    fail(
      e.at,
      `unknown name "${a}" (tables: ${[...scope.tables.keys()].join(', ') || 'none'}; or resource, meta)`,
    );
  }
  fail(e.at, `unknown name "${e.path.join('.')}"`);
}

function compileBinary(e: Extract<Expr, { kind: 'binary' }>, scope: Scope): Compiled {
  const l = compileExpression(e.left, scope);
  const r = compileExpression(e.right, scope);
  switch (e.op) {
    case 'and':
      return (c) => truthy(l(c)) && truthy(r(c));
    case 'or':
      return (c) => truthy(l(c)) || truthy(r(c));
    case '==':
      return (c) => equal(l(c), r(c));
    case '!=':
      return (c) => {
        const x = l(c);
        const y = r(c);
        return x !== undefined && y !== undefined && !equal(x, y);
      };
    case '<':
      return (c) => (compare(l(c), r(c)) ?? 0) < 0;
    case '<=': {
      return (c) => {
        const k = compare(l(c), r(c));
        return k !== undefined && k <= 0;
      };
    }
    case '>':
      return (c) => (compare(l(c), r(c)) ?? 0) > 0;
    case '>=':
      return (c) => {
        const k = compare(l(c), r(c));
        return k !== undefined && k >= 0;
      };
    case 'in':
    case 'not in': {
      if (e.right.kind !== 'list') fail(e.right.at, `"${e.op}" takes a list: [a, b, ...]`);
      const negate = e.op === 'not in';
      return (c) => {
        const x = l(c);
        if (x === undefined) return false;
        const list = r(c) as readonly Value[];
        return list.some((y) => equal(x, y)) !== negate;
      };
    }
    case '=~': {
      if (e.right.kind !== 'string') fail(e.right.at, '"=~" takes a regular expression in quotes');
      let re: RegExp;
      try {
        re = new RegExp(e.right.value);
      } catch (err) {
        fail(e.right.at, `invalid regular expression: ${(err as Error).message}`);
      }
      return (c) => {
        const t = asText(l(c));
        return t !== undefined && re.test(t);
      };
    }
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': {
      const op = e.op;
      return (c) => arithmetic(op, l(c), r(c));
    }
  }
}

function arity(e: Extract<Expr, { kind: 'call' }>, min: number, max: number): void {
  const n = e.args.length;
  if (n < min || n > max) {
    fail(
      e.at,
      `${e.name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, not ${n}`,
    );
  }
}

function compileCall(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Compiled {
  if (AGGREGATES.has(e.name)) {
    const isCount = e.name === 'count';
    arity(e, isCount ? 1 : 2, 2);
    const table = tableName(scope, e.args[0] as Expr, e.name);
    const inner: Scope = { ...scope, row: table };
    const arg = e.args[1] === undefined ? undefined : compileExpression(e.args[1], inner);
    const rows = (c: EvalContext): readonly string[] => c.tables.get(table)?.indexes ?? [];
    if (isCount) {
      return (c) => {
        let n = 0;
        for (const index of rows(c)) if (arg === undefined || truthy(arg({ ...c, index }))) n++;
        return n;
      };
    }
    const values = (c: EvalContext): number[] => {
      const out: number[] = [];
      for (const index of rows(c)) {
        const v = asFloat((arg as Compiled)({ ...c, index }));
        if (v !== undefined) out.push(v);
      }
      return out;
    };
    switch (e.name) {
      case 'sum':
        // As repeated "+": Counter64 values keep every digit.
        return (c) => {
          let s: Value = 0;
          for (const index of rows(c)) {
            const v = asNumber((arg as Compiled)({ ...c, index }));
            if (v !== undefined) s = arithmetic('+', s, v);
          }
          return s;
        };
      case 'min':
        return (c) => {
          const v = values(c);
          return v.length === 0 ? undefined : Math.min(...v);
        };
      case 'max':
        return (c) => {
          const v = values(c);
          return v.length === 0 ? undefined : Math.max(...v);
        };
      default:
        return (c) => {
          const v = values(c);
          return v.length === 0 ? undefined : v.reduce((s, x) => s + x, 0) / v.length;
        };
    }
  }
  switch (e.name) {
    case 'find_suffix': {
      // The first index (OID order) of TABLE that is x or ends with "." + x: a join by the arcs an
      // index ends with (ipNetToPhysicalTable's ifIndex.type.length.address, by the address).
      arity(e, 2, 2);
      const table = tableName(scope, e.args[0] as Expr, e.name);
      const wanted = compileExpression(e.args[1] as Expr, scope);
      return (c) => {
        const x = asText(wanted(c));
        if (x === undefined || x === '') return undefined;
        return c.tables.get(table)?.indexes.find((i) => i === x || i.endsWith(`.${x}`));
      };
    }
    case 'find': {
      arity(e, 2, 2);
      const ref = columnRef({ ...scope, row: undefined }, e.args[0] as Expr);
      if (ref === undefined) fail((e.args[0] as Expr).at, 'find() takes a column first, as TABLE.COLUMN');
      if (!scope.data) fail(e.at, 'tables are not fetched yet here');
      const [table, col] = ref;
      const wanted = compileExpression(e.args[1] as Expr, scope);
      return (c) => {
        const x = wanted(c);
        if (x === undefined) return undefined;
        const data = c.tables.get(table);
        const values = data?.columns.get(col);
        if (data === undefined || values === undefined) return undefined;
        for (const index of data.indexes) if (equal(values.get(index), x)) return index;
        return undefined;
      };
    }
    case 'map': {
      arity(e, 2, 3);
      const first = e.args[0] as Expr;
      const map =
        first.kind === 'ref' && first.path.length === 1 ? scope.maps.get(first.path[0] ?? '') : undefined;
      if (map === undefined)
        fail(
          first.at,
          `map() takes a map name first (${[...scope.maps.keys()].join(', ') || 'none declared'})`,
        );
      const key = compileExpression(e.args[1] as Expr, scope);
      const dflt = e.args[2] === undefined ? undefined : compileExpression(e.args[2], scope);
      return (c) => {
        const k = asText(key(c));
        const v = k === undefined ? undefined : map.get(k);
        return v !== undefined ? v : dflt?.(c);
      };
    }
    case 'if': {
      arity(e, 2, 3);
      const [cond, yes, no] = e.args.map((a) => compileExpression(a, scope));
      return (c) => (truthy((cond as Compiled)(c)) ? (yes as Compiled)(c) : no?.(c));
    }
    case 'coalesce': {
      if (e.args.length < 1) arity(e, 1, 99);
      const args = e.args.map((a) => compileExpression(a, scope));
      return (c) => {
        for (const f of args) {
          const v = f(c);
          if (v !== undefined && asText(v) !== '') return v;
        }
        return undefined;
      };
    }
  }
  const f = FUNCTIONS[e.name];
  if (f === undefined) {
    const names = [...SPECIAL, ...Object.keys(FUNCTIONS)].sort();
    fail(e.at, `unknown function "${e.name}" (${names.join(', ')})`);
  }
  arity(e, f.minArgs, f.maxArgs);
  const args = e.args.map((a) => compileExpression(a, scope));
  const fn = f.fn;
  return (c) => fn(args.map((a) => a(c)));
}
