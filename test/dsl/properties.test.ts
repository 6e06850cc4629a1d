/**
 * Property tests of the filter DSL: random query trees over small alphabets (so conditions match
 * often), printed as query text with random keyword case, whitespace, quotes and escapes, and
 * evaluated against random resources, some of which lack the metadata keys queried.
 */
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { compileFilter, compileNode, evaluateFilter, parseFilter } from '../../src/dsl/index.js';
import type { FieldRef, FilterNode, FilterableResource, ResourceField } from '../../src/dsl/index.js';
import { resource } from './helpers.js';

const NUM_RUNS = 200;

// ---- arbitraries -------------------------------------------------------------------------------

const QUERIED_FIELDS = [
  'resource_site',
  'resource_class',
  'resource_id',
  'resource_creation_plugin',
] as const satisfies readonly ResourceField[];
const METADATA_KEYS = ['k', 'K', 'm'] as const;
const VALUES = ['a', 'b', 'A', '', 'ab', "'", '"', '\\', 'a\\b', '%', '_', 'a b'] as const;
const PATTERN_UNITS = ['a', 'b', 'A', '%', '_', '\\', "'", '"'] as const;

const valueArb = fc.constantFrom(...VALUES);
const patternArb = fc.string({ unit: fc.constantFrom(...PATTERN_UNITS), maxLength: 4 });

const fieldArb: fc.Arbitrary<FieldRef> = fc.oneof(
  fc.constantFrom(...QUERIED_FIELDS).map((name): FieldRef => ({ kind: 'resource', name })),
  fc.constantFrom(...METADATA_KEYS).map((key): FieldRef => ({ kind: 'metadata', key })),
);

const conditionArb: fc.Arbitrary<FilterNode> = fc.oneof(
  fc
    .tuple(fieldArb, fc.constantFrom('eq' as const, 'ne' as const), valueArb)
    .map(([field, op, value]): FilterNode => ({ type: 'compare', field, op, value })),
  fc
    .tuple(fieldArb, fc.boolean(), patternArb)
    .map(([field, negated, pattern]): FilterNode => ({ type: 'like', field, negated, pattern })),
  fc
    .tuple(fieldArb, fc.boolean(), fc.array(valueArb, { minLength: 1, maxLength: 3 }))
    .map(([field, negated, values]): FilterNode => ({ type: 'in', field, negated, values })),
);

const { node: queryArb } = fc.letrec<{ node: FilterNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    conditionArb,
    fc
      .array(tie('node'), { minLength: 2, maxLength: 3 })
      .map((operands): FilterNode => ({ type: 'and', operands })),
    fc
      .array(tie('node'), { minLength: 2, maxLength: 3 })
      .map((operands): FilterNode => ({ type: 'or', operands })),
    tie('node').map((operand): FilterNode => ({ type: 'not', operand })),
  ),
}));

const optionalValue = fc.option(valueArb, { nil: undefined });

const resourceArb: fc.Arbitrary<FilterableResource> = fc
  .record({
    resource_site: valueArb,
    resource_class: valueArb,
    resource_id: valueArb,
    resource_creation_plugin: valueArb,
    metadata: fc.tuple(optionalValue, optionalValue, optionalValue),
  })
  .map(({ metadata, ...fields }) => {
    const meta: Record<string, string> = {};
    METADATA_KEYS.forEach((key, i) => {
      const v = metadata[i];
      if (v !== undefined) meta[key] = v;
    });
    return resource(fields, meta);
  });

const resourcesArb = fc.array(resourceArb, { maxLength: 8 });

// ---- printer -----------------------------------------------------------------------------------

/** A small deterministic PRNG (mulberry32), so one seed gives one printing. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Printer {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private pick<T>(items: readonly [T, ...T[]]): T {
    return items[Math.floor(this.random() * items.length)] ?? items[0];
  }

  /** Whitespace between tokens: at least one character, sometimes newlines and tabs. */
  ws(): string {
    return this.pick([' ', ' ', ' ', '  ', '\t', '\n', ' \n\t ', '\r\n']);
  }

  /** Optional whitespace (around parentheses and commas). */
  optWs(): string {
    return this.chance(0.5) ? '' : this.ws();
  }

  anyCase(word: string): string {
    return Array.from(word, (c) => (this.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  }

  string(value: string): string {
    const quote = this.chance(0.5) ? "'" : '"';
    const chars = Array.from(value);
    let out = quote;
    chars.forEach((c, i) => {
      const next = chars[i + 1];
      if (c === '\\') {
        // A backslash before an ordinary character may be written bare; otherwise it is escaped.
        const bareOk = next !== undefined && next !== '\\' && next !== "'" && next !== '"';
        out += bareOk && this.chance(0.5) ? '\\' : '\\\\';
      } else if (c === quote) {
        out += `\\${c}`;
      } else if (c === "'" || c === '"') {
        out += this.chance(0.5) ? `\\${c}` : c;
      } else {
        out += c;
      }
    });
    return out + quote;
  }

  field(field: FieldRef): string {
    if (field.kind === 'metadata') return `${this.anyCase('resource_metadata')}.${field.key}`;
    const name =
      field.name === 'resource_creation_plugin' && this.chance(0.5) ? 'resource_plugin' : field.name;
    return this.anyCase(name);
  }

  kw(word: string): string {
    return this.anyCase(word);
  }

  group(text: string): string {
    return `(${this.optWs()}${text}${this.optWs()})`;
  }

  /** Prints a node; parentheses only where the structure needs them, and sometimes where it does not. */
  print(node: FilterNode): string {
    const text = this.printBare(node);
    return this.chance(0.1) ? this.group(text) : text;
  }

  private printBare(node: FilterNode): string {
    switch (node.type) {
      case 'compare': {
        const op =
          node.op === 'eq'
            ? this.chance(0.5)
              ? '='
              : this.kw('eq')
            : this.chance(0.5)
              ? '!='
              : this.kw('ne');
        const opText = /^[a-z]/i.test(op)
          ? `${this.ws()}${op}${this.ws()}`
          : `${this.optWs()}${op}${this.optWs()}`;
        return `${this.field(node.field)}${opText}${this.string(node.value)}`;
      }
      case 'like': {
        const not = node.negated ? `${this.kw('not')}${this.ws()}` : '';
        return `${this.field(node.field)}${this.ws()}${not}${this.kw('like')}${this.ws()}${this.string(node.pattern)}`;
      }
      case 'in': {
        const not = node.negated ? `${this.kw('not')}${this.ws()}` : '';
        const list = node.values.map((v) => this.string(v)).join(`${this.optWs()},${this.optWs()}`);
        return `${this.field(node.field)}${this.ws()}${not}${this.kw('in')}${this.optWs()}${this.group(list)}`;
      }
      case 'not': {
        const operand = this.print(node.operand);
        const needsGroup = node.operand.type === 'and' || node.operand.type === 'or';
        return needsGroup
          ? `${this.kw('not')}${this.optWs()}${this.group(operand)}`
          : `${this.kw('not')}${this.ws()}${operand}`;
      }
      case 'and':
        return node.operands
          .map((o) => (o.type === 'and' || o.type === 'or' ? this.group(this.print(o)) : this.print(o)))
          .join(`${this.ws()}${this.kw('and')}${this.ws()}`);
      case 'or':
        // AND binds tighter than OR, so an AND operand needs no parentheses.
        return node.operands
          .map((o) => (o.type === 'or' ? this.group(this.print(o)) : this.print(o)))
          .join(`${this.ws()}${this.kw('or')}${this.ws()}`);
    }
  }

  /** A whole query, with optional surrounding whitespace. */
  query(node: FilterNode): string {
    return `${this.optWs()}${this.print(node)}${this.optWs()}`;
  }
}

// ---- a reference model of the specification, independent of src/ -------------------------------

function modelLike(pattern: string, value: string): boolean {
  type Tok = { kind: 'char'; c: string } | { kind: 'any' } | { kind: 'one' };
  const p = Array.from(pattern);
  const toks: Tok[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i] ?? '';
    const next = p[i + 1];
    if (c === '\\' && (next === '%' || next === '_')) {
      toks.push({ kind: 'char', c: next });
      i++;
    } else if (c === '%') toks.push({ kind: 'any' });
    else if (c === '_') toks.push({ kind: 'one' });
    else toks.push({ kind: 'char', c });
  }
  const v = Array.from(value);
  const memo = new Map<string, boolean>();
  const go = (t: number, j: number): boolean => {
    const key = `${t},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const tok = toks[t];
    let result: boolean;
    if (tok === undefined) result = j === v.length;
    else if (tok.kind === 'any') result = go(t + 1, j) || (j < v.length && go(t, j + 1));
    else if (j >= v.length) result = false;
    else if (tok.kind === 'one') result = go(t + 1, j + 1);
    else result = v[j] === tok.c && go(t + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

function modelRead(r: FilterableResource, field: FieldRef): string | undefined {
  if (field.kind === 'resource') return r[field.name];
  return Object.keys(r.resource_metadata).includes(field.key) ? r.resource_metadata[field.key] : undefined;
}

function model(node: FilterNode, r: FilterableResource): boolean {
  switch (node.type) {
    case 'compare': {
      const v = modelRead(r, node.field);
      return node.op === 'eq' ? v === node.value : v !== node.value;
    }
    case 'like': {
      const v = modelRead(r, node.field);
      const m = v !== undefined && modelLike(node.pattern, v);
      return node.negated ? !m : m;
    }
    case 'in': {
      const v = modelRead(r, node.field);
      const m = v !== undefined && node.values.includes(v);
      return node.negated ? !m : m;
    }
    case 'not':
      return !model(node.operand, r);
    case 'and':
      return node.operands.every((o) => model(o, r));
    case 'or':
      return node.operands.some((o) => model(o, r));
  }
}

// ---- properties --------------------------------------------------------------------------------

/** The indices of the resources a query selects. */
function selection(query: string, resources: readonly FilterableResource[]): number[] {
  const predicate = compileFilter(query);
  return resources.flatMap((r, i) => (predicate(r) ? [i] : []));
}

const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

describe('filter DSL properties', () => {
  it('printing a query with random case, whitespace and quoting parses back to the same tree', () => {
    fc.assert(
      fc.property(queryArb, seedArb, (ast, seed) => {
        const text = new Printer(seed).query(ast);
        expect(parseFilter(text), JSON.stringify(text)).toEqual(ast);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('NOT (q) selects exactly the resources q does not', () => {
    fc.assert(
      fc.property(queryArb, resourcesArb, seedArb, (ast, resources, seed) => {
        const printer = new Printer(seed);
        const q = printer.print(ast);
        const selected = selection(q, resources);
        const negated = `${printer.kw('not')}${printer.optWs()}${printer.group(q)}`;
        const expected = resources.flatMap((_r, i) => (selected.includes(i) ? [] : [i]));
        expect(selection(negated, resources), negated).toEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(a) AND (b) selects exactly the intersection', () => {
    fc.assert(
      fc.property(queryArb, queryArb, resourcesArb, seedArb, (a, b, resources, seed) => {
        const printer = new Printer(seed);
        const qa = printer.print(a);
        const qb = printer.print(b);
        const sa = selection(qa, resources);
        const sb = selection(qb, resources);
        const both = `${printer.group(qa)}${printer.ws()}${printer.kw('and')}${printer.ws()}${printer.group(qb)}`;
        expect(selection(both, resources), both).toEqual(sa.filter((i) => sb.includes(i)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(a) OR (b) selects exactly the union', () => {
    fc.assert(
      fc.property(queryArb, queryArb, resourcesArb, seedArb, (a, b, resources, seed) => {
        const printer = new Printer(seed);
        const qa = printer.print(a);
        const qb = printer.print(b);
        const sa = selection(qa, resources);
        const sb = selection(qb, resources);
        const either = `${printer.group(qa)}${printer.ws()}${printer.kw('or')}${printer.ws()}${printer.group(qb)}`;
        const union = resources.flatMap((_r, i) => (sa.includes(i) || sb.includes(i) ? [i] : []));
        expect(selection(either, resources), either).toEqual(union);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the compiled predicate agrees with evaluateFilter for every resource', () => {
    fc.assert(
      fc.property(queryArb, resourcesArb, seedArb, (ast, resources, seed) => {
        const text = new Printer(seed).query(ast);
        const compiled = compileFilter(text);
        const parsed = parseFilter(text);
        const fromTree = compileNode(ast);
        for (const r of resources) {
          const reference = evaluateFilter(parsed, r);
          expect(compiled(r), text).toBe(reference);
          expect(fromTree(r), text).toBe(evaluateFilter(ast, r));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('both evaluators agree with a model written from the specification', () => {
    fc.assert(
      fc.property(queryArb, resourcesArb, (ast, resources) => {
        const compiled = compileNode(ast);
        for (const r of resources) {
          const expected = model(ast, r);
          expect(compiled(r)).toBe(expected);
          expect(evaluateFilter(ast, r)).toBe(expected);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('random queries select something often enough for the properties to mean something', () => {
    // A guard on the generators: if they drift so that nothing (or everything) matches, the
    // set properties above would pass vacuously.
    const samples = fc.sample(fc.tuple(queryArb, resourcesArb), { numRuns: 300, seed: 42 });
    let some = 0;
    let none = 0;
    let missingKey = 0;
    for (const [ast, resources] of samples) {
      const predicate = compileNode(ast);
      const n = resources.filter((r) => predicate(r)).length;
      if (n > 0) some++;
      if (n < resources.length) none++;
      missingKey += resources.filter((r) => Object.keys(r.resource_metadata).length < 3).length;
    }
    expect(some).toBeGreaterThan(60);
    expect(none).toBeGreaterThan(60);
    expect(missingKey).toBeGreaterThan(60);
  });
});
