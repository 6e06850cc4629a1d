import { describe, it, expect } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { RESOURCE_FIELDS, parseFilter } from '../../src/dsl/index.js';
import type { FilterNode } from '../../src/dsl/index.js';
import { and, eq, inList, like, meta, ne, not, or, parseError, res } from './helpers.js';

const A = eq(res('resource_site'), 'a');
const B = eq(res('resource_class'), 'b');
const C = eq(res('resource_type'), 'c');
const a = "resource_site = 'a'";
const b = "resource_class = 'b'";
const c = "resource_type = 'c'";

describe('parseFilter: conditions', () => {
  it.each<[string, FilterNode]>([
    ["resource_site = 'dc1'", eq(res('resource_site'), 'dc1')],
    ["resource_class != 'network'", ne(res('resource_class'), 'network')],
    ["resource_subclass EQ 'switch'", eq(res('resource_subclass'), 'switch')],
    ["resource_type NE 'cisco'", ne(res('resource_type'), 'cisco')],
    ["resource_id LIKE 'sw%'", like(res('resource_id'), 'sw%')],
    ["resource_endpoint NOT LIKE '10.%'", like(res('resource_endpoint'), '10.%', true)],
    ["resource_creation_plugin IN ('a')", inList(res('resource_creation_plugin'), ['a'])],
    ["resource_id IN ('a', 'b', 'c')", inList(res('resource_id'), ['a', 'b', 'c'])],
    ["resource_id NOT IN ('a','b')", inList(res('resource_id'), ['a', 'b'], true)],
    ["resource_metadata.os = 'ios'", eq(meta('os'), 'ios')],
    ["resource_metadata._x9 != ''", ne(meta('_x9'), '')],
    ['resource_id = "double"', eq(res('resource_id'), 'double')],
    ["resource_id = ''", eq(res('resource_id'), '')],
    ["resource_id='a'", eq(res('resource_id'), 'a')],
    ["resource_id IN('a','b')", inList(res('resource_id'), ['a', 'b'])],
  ])('%s', (query, expected) => {
    expect(parseFilter(query)).toEqual(expected);
  });

  it('parses every resource field name to itself', () => {
    for (const field of RESOURCE_FIELDS) {
      expect(parseFilter(`${field} = 'v'`), field).toEqual(eq(res(field), 'v'));
    }
  });

  it('folds resource_plugin into resource_creation_plugin', () => {
    expect(parseFilter("resource_plugin = 'p'")).toEqual(eq(res('resource_creation_plugin'), 'p'));
    expect(parseFilter("RESOURCE_Plugin NOT IN ('p')")).toEqual(
      inList(res('resource_creation_plugin'), ['p'], true),
    );
  });
});

describe('parseFilter: precedence and grouping', () => {
  it.each<[string, string, FilterNode]>([
    ['a OR b AND c is or(a, and(b, c))', `${a} OR ${b} AND ${c}`, or(A, and(B, C))],
    ['a AND b OR c is or(and(a, b), c)', `${a} AND ${b} OR ${c}`, or(and(A, B), C)],
    ['NOT a AND b is and(not a, b)', `NOT ${a} AND ${b}`, and(not(A), B)],
    ['NOT a OR b is or(not a, b)', `NOT ${a} OR ${b}`, or(not(A), B)],
    ['a AND NOT b', `${a} AND NOT ${b}`, and(A, not(B))],
    ['NOT NOT a', `NOT NOT ${a}`, not(not(A))],
    ['NOT NOT NOT a', `NOT NOT NOT ${a}`, not(not(not(A)))],
    ['(a OR b) AND c', `(${a} OR ${b}) AND ${c}`, and(or(A, B), C)],
    ['a AND (b OR c)', `${a} AND (${b} OR ${c})`, and(A, or(B, C))],
    ['NOT (a AND b)', `NOT (${a} AND ${b})`, not(and(A, B))],
    ['NOT (a) AND b', `NOT (${a}) AND ${b}`, and(not(A), B)],
    ['redundant parentheses', `((${a}))`, A],
    ['a AND b AND c is one and', `${a} AND ${b} AND ${c}`, and(A, B, C)],
    ['a OR b OR c is one or', `${a} OR ${b} OR ${c}`, or(A, B, C)],
    ['(a AND b) AND c keeps the group', `(${a} AND ${b}) AND ${c}`, and(and(A, B), C)],
    ['NOT a OR NOT b AND c', `NOT ${a} OR NOT ${b} AND ${c}`, or(not(A), and(not(B), C))],
    ['NOT(a) without a space', `NOT(${a})`, not(A)],
  ])('%s', (_name, query, expected) => {
    expect(parseFilter(query)).toEqual(expected);
  });
});

describe('parseFilter: case and whitespace', () => {
  it('reads keywords in any case', () => {
    expect(
      parseFilter(
        "resource_id eq 'a' aNd resource_site Ne 'b' oR nOt resource_class not like 'c%' AND resource_type NoT iN ('d') and resource_endpoint In ('e') AND resource_subclass Like 'f'",
      ),
    ).toEqual(
      or(
        and(eq(res('resource_id'), 'a'), ne(res('resource_site'), 'b')),
        and(
          not(like(res('resource_class'), 'c%', true)),
          inList(res('resource_type'), ['d'], true),
          inList(res('resource_endpoint'), ['e']),
          like(res('resource_subclass'), 'f'),
        ),
      ),
    );
  });

  it('reads resource_* field names in any case', () => {
    expect(parseFilter("Resource_ID = 'x'")).toEqual(eq(res('resource_id'), 'x'));
    expect(parseFilter("RESOURCE_SITE = 'x'")).toEqual(eq(res('resource_site'), 'x'));
    expect(parseFilter("resource_Creation_Plugin = 'x'")).toEqual(eq(res('resource_creation_plugin'), 'x'));
    for (const field of RESOURCE_FIELDS) {
      expect(parseFilter(`${field.toUpperCase()} = 'v'`), field).toEqual(eq(res(field), 'v'));
    }
  });

  it('reads resource_metadata in any case but keeps the key as written', () => {
    expect(parseFilter("resource_METADATA.Key = 'V'")).toEqual(eq(meta('Key'), 'V'));
    expect(parseFilter("RESOURCE_METADATA.kEY = 'v'")).toEqual(eq(meta('kEY'), 'v'));
  });

  it('keeps the case of values', () => {
    expect(parseFilter("resource_id = 'MiXeD'")).toEqual(eq(res('resource_id'), 'MiXeD'));
    expect(parseFilter("resource_id IN ('A', 'a')")).toEqual(inList(res('resource_id'), ['A', 'a']));
  });

  it('accepts newlines, tabs and carriage returns between tokens', () => {
    const query = "\n\t resource_id\n=\t'a'\r\n\tAND\n\nNOT\t(\nresource_site\tIN\n(\n'b'\n,\t'c'\n)\n)\n\t";
    expect(parseFilter(query)).toEqual(
      and(eq(res('resource_id'), 'a'), not(inList(res('resource_site'), ['b', 'c']))),
    );
  });

  it('keeps whitespace inside strings', () => {
    expect(parseFilter("resource_id = ' a\tb\nc '")).toEqual(eq(res('resource_id'), ' a\tb\nc '));
  });

  it('does not take a keyword prefix of a longer word as the keyword', () => {
    expect(parseFilter("resource_metadata.ANDROID = 'x'")).toEqual(eq(meta('ANDROID'), 'x'));
    expect(parseFilter("resource_metadata.NOTE IN ('x')")).toEqual(inList(meta('NOTE'), ['x']));
  });
});

describe('parseFilter: strings and escapes', () => {
  it.each<[string, string, string]>([
    ["\\' in single quotes", String.raw`resource_id = 'it\'s'`, "it's"],
    ['\\" in double quotes', String.raw`resource_id = "say \"hi\""`, 'say "hi"'],
    ["\\' in double quotes", String.raw`resource_id = "it\'s"`, "it's"],
    ['\\" in single quotes', String.raw`resource_id = 'x\"y'`, 'x"y'],
    ['\\\\ is one backslash', String.raw`resource_id = 'a\\b'`, 'a\\b'],
    ['\\\\\\\\ is two backslashes', String.raw`resource_id = 'a\\\\b'`, 'a\\\\b'],
    ['a string that is only \\\\', String.raw`resource_id = '\\'`, '\\'],
    ['backslash before b is kept: a\\b is 3 chars', String.raw`resource_id = 'a\b'`, 'a\\b'],
    ['backslash before n is kept', String.raw`resource_id = '\n'`, '\\n'],
    ['backslash before a space is kept', String.raw`resource_id = 'a\ b'`, 'a\\ b'],
    ['the other quote needs no escape (single)', `resource_id = '"'`, '"'],
    ['the other quote needs no escape (double)', `resource_id = "'"`, "'"],
    ['an escaped backslash then the closing quote', String.raw`resource_id = 'a\\'`, 'a\\'],
    ['a raw newline inside a string', "resource_id = 'a\nb'", 'a\nb'],
    ['non-ASCII text', "resource_id = 'é😀'", 'é😀'],
  ])('%s', (_name, query, value) => {
    expect(parseFilter(query)).toEqual(eq(res('resource_id'), value));
  });

  it('unescapes a\\b as the three characters a, \\, b', () => {
    const node = parseFilter(String.raw`resource_id = 'a\b'`);
    expect(node.type === 'compare' ? Array.from(node.value) : []).toEqual(['a', '\\', 'b']);
  });

  it('applies the string escapes inside LIKE patterns and keeps \\% and \\_ for LIKE', () => {
    expect(parseFilter(String.raw`resource_id LIKE 'a\%b\_c'`)).toEqual(
      like(res('resource_id'), String.raw`a\%b\_c`),
    );
    expect(parseFilter(String.raw`resource_id LIKE 'a\\%'`)).toEqual(
      like(res('resource_id'), String.raw`a\%`),
    );
    expect(parseFilter(String.raw`resource_id NOT LIKE 'it\'s%'`)).toEqual(
      like(res('resource_id'), "it's%", true),
    );
    expect(parseFilter(String.raw`resource_id LIKE "\"%\""`)).toEqual(like(res('resource_id'), '"%"'));
  });

  it('applies the escapes in IN lists', () => {
    expect(parseFilter(String.raw`resource_id IN ('a\'', "\"b", 'c\\', 'd\e')`)).toEqual(
      inList(res('resource_id'), ["a'", '"b', 'c\\', 'd\\e']),
    );
  });

  it('does not treat keywords, operators or parentheses inside strings as syntax', () => {
    expect(parseFilter("resource_id = 'a AND b) OR (NOT c = '")).toEqual(
      eq(res('resource_id'), 'a AND b) OR (NOT c = '),
    );
  });
});

interface ErrorCase {
  readonly name: string;
  readonly query: string;
  readonly line: number;
  readonly column: number;
}

const ERROR_CASES: Record<string, readonly ErrorCase[]> = {
  'unknown field': [
    { name: 'misspelt name', query: "resource_idx = 'a'", line: 1, column: 1 },
    { name: 'misspelt name, upper case', query: "RESOURCE_PLUGINS = 'a'", line: 1, column: 1 },
    { name: 'bare word', query: "site = 'a'", line: 1, column: 1 },
    { name: 'after AND', query: "resource_id = 'a' AND bogus = 'b'", line: 1, column: 23 },
    { name: 'after NOT', query: "NOT  bogus = 'b'", line: 1, column: 6 },
    {
      name: 'on the third line',
      query: "resource_id = 'a' AND\n  (resource_site = 'b'\n   OR bogus = 'c')",
      line: 3,
      column: 7,
    },
    { name: 'after CRLF', query: "resource_id = 'a'\r\nAND x = 'b'", line: 2, column: 5 },
    { name: 'after tabs', query: "resource_id\t=\t'a'\tAND\tq = 'b'", line: 1, column: 23 },
    { name: 'resource_metadata without a key', query: "resource_metadata = 'x'", line: 1, column: 1 },
    { name: 'resource_metadata with an empty key', query: "resource_metadata. = 'x'", line: 1, column: 1 },
    { name: 'a key starting with a digit', query: "resource_metadata.1a = 'x'", line: 1, column: 1 },
    { name: 'a key on a resource field', query: "resource_id.x = 'x'", line: 1, column: 1 },
    { name: 'a keyword as field', query: "AND = 'x'", line: 1, column: 1 },
  ],
  '== operator': [
    { name: '==', query: "resource_id == 'a'", line: 1, column: 14 },
    { name: '== on line 2', query: "resource_id = 'a' OR\nresource_site == 'b'", line: 2, column: 16 },
  ],
  'unquoted value': [
    { name: 'after =', query: 'resource_id = a', line: 1, column: 15 },
    { name: 'after LIKE', query: 'resource_id LIKE a%', line: 1, column: 18 },
    { name: 'in IN', query: 'resource_id IN (a)', line: 1, column: 17 },
    { name: 'a number', query: 'resource_metadata.n = 5', line: 1, column: 23 },
    {
      name: 'on line 2',
      query: "resource_site = 'dc1'\nAND resource_class = network",
      line: 2,
      column: 22,
    },
  ],
  'empty IN ()': [
    { name: 'IN ()', query: 'resource_id IN ()', line: 1, column: 17 },
    { name: 'NOT IN across lines', query: 'resource_id NOT IN (\n)', line: 2, column: 1 },
  ],
  'missing operator': [
    { name: 'field then value', query: "resource_id 'a'", line: 1, column: 13 },
    { name: 'field alone', query: 'resource_id', line: 1, column: 12 },
    { name: 'NOT without LIKE or IN', query: "resource_id NOT = 'a'", line: 1, column: 17 },
    { name: '! =', query: "resource_id ! = 'a'", line: 1, column: 13 },
    { name: 'IN without a list', query: "resource_id IN 'a'", line: 1, column: 16 },
    { name: 'missing comma in IN', query: "resource_id IN ('a' 'b')", line: 1, column: 21 },
  ],
  'missing operand': [
    { name: 'nothing after AND', query: "resource_id = 'a' AND", line: 1, column: 22 },
    { name: 'nothing after OR, on line 2', query: "\tresource_id = 'a' OR\n\t", line: 2, column: 2 },
    { name: 'nothing after =', query: 'resource_id =', line: 1, column: 14 },
    { name: 'nothing after LIKE', query: 'resource_id LIKE', line: 1, column: 17 },
    { name: 'nothing after NOT', query: 'NOT', line: 1, column: 4 },
    { name: 'NOT NOT', query: 'NOT NOT', line: 1, column: 8 },
    { name: 'OR OR', query: "resource_id = 'a' OR OR resource_id = 'b'", line: 1, column: 22 },
    { name: 'AND AND', query: "resource_id = 'a' AND AND resource_id = 'b'", line: 1, column: 23 },
    { name: 'no field', query: "= 'a'", line: 1, column: 1 },
    { name: 'trailing comma in IN', query: "resource_id IN ('a',)", line: 1, column: 21 },
    { name: 'empty parentheses', query: '()', line: 1, column: 2 },
    { name: 'AND first', query: "AND resource_id = 'a'", line: 1, column: 1 },
  ],
  'unbalanced parenthesis': [
    { name: 'unclosed', query: "(resource_id = 'a'", line: 1, column: 19 },
    { name: 'unclosed, nested', query: "((resource_id = 'a')", line: 1, column: 21 },
    { name: 'unclosed across lines', query: "(\n  resource_id = 'a'\n", line: 3, column: 1 },
    { name: 'extra closing', query: "resource_id = 'a')", line: 1, column: 18 },
    { name: 'extra closing on line 2', query: "resource_id = 'a'\n)", line: 2, column: 1 },
    { name: 'only (', query: '(', line: 1, column: 2 },
    { name: 'only )', query: ')', line: 1, column: 1 },
  ],
  'unterminated string': [
    { name: 'single quote', query: "resource_id = 'abc", line: 1, column: 15 },
    { name: 'double quote', query: 'resource_id = "abc', line: 1, column: 15 },
    { name: 'closing quote escaped', query: String.raw`resource_id = 'a\'`, line: 1, column: 15 },
    { name: 'mismatched quotes', query: `resource_id = 'abc"`, line: 1, column: 15 },
    { name: 'in an IN list', query: "resource_id IN ('a', 'b", line: 1, column: 22 },
    {
      name: 'on line 2, running to the end',
      query: "resource_site = 'dc1' AND\n  resource_id = 'abc\n  OR x",
      line: 2,
      column: 17,
    },
  ],
  'trailing tokens': [
    { name: 'a second condition', query: "resource_id = 'a' resource_id = 'b'", line: 1, column: 19 },
    { name: 'a second value', query: "resource_id = 'a' 'b'", line: 1, column: 19 },
    { name: 'NOT at the end', query: "resource_id LIKE 'a' NOT", line: 1, column: 22 },
    { name: 'a word on line 3', query: "\n\n   resource_id = 'x' zz", line: 3, column: 22 },
    { name: 'key with two dots', query: "resource_metadata.a.b = 'x'", line: 1, column: 20 },
  ],
  'empty query': [{ name: 'empty string', query: '', line: 1, column: 1 }],
};

describe('parseFilter: parse errors', () => {
  for (const [errorClass, cases] of Object.entries(ERROR_CASES)) {
    describe(errorClass, () => {
      it.each(cases)('$name: $query -> line $line, column $column', ({ query, line, column }) => {
        const error = parseError(query);
        expect(error).toBeInstanceOf(PanoptesError);
        expect(error.code).toBe('DSL_PARSE');
        expect(error.message.startsWith(`line ${line}, column ${column}:`), error.message).toBe(true);
        expect(error.details['line']).toBe(line);
        expect(error.details['column']).toBe(column);
        const expected = error.details['expected'];
        expect(expected).toBeDefined();
        expect(Array.isArray(expected) || typeof expected === 'string').toBe(true);
        expect((expected as readonly unknown[] | string).length).toBeGreaterThan(0);
      });
    });
  }

  it.each(['   ', '\n', '\t\r\n  '])(
    'rejects a whitespace-only query %j with a located DSL_PARSE',
    (query) => {
      const error = parseError(query);
      expect(error.code).toBe('DSL_PARSE');
      expect(error.message).toMatch(/^line \d+, column \d+:/);
      expect(typeof error.details['line']).toBe('number');
      expect(typeof error.details['column']).toBe('number');
      expect(error.details['expected']).toBeDefined();
    },
  );

  it('says what was expected in the message', () => {
    expect(parseError("resource_id = 'a' resource_id = 'b'").message).toMatch(/expected/);
    expect(parseError("resource_idx = 'a'").message).toContain('resource_idx');
  });

  it('reports a keyword where a field belongs at the keyword', () => {
    const error = parseError("resource_id = 'a' and or resource_id = 'b'");
    expect(error.details['column']).toBe(23);
  });

  it('never throws anything but DSL_PARSE for deeply nested unbalanced parentheses', () => {
    // An unbalanced parenthesis is a parse error however deep the nesting.
    const error = parseError('('.repeat(2000));
    expect(error.code).toBe('DSL_PARSE');
    expect(error.details['line']).toBe(1);
  });

  it('parses deeply nested valid queries or rejects them with DSL_PARSE, never another error', () => {
    for (const query of [
      `${'('.repeat(2000)}resource_id = 'a'${')'.repeat(2000)}`,
      `${'NOT '.repeat(4000)}resource_id = 'a'`,
    ]) {
      let thrown: unknown;
      let parsed: FilterNode | undefined;
      try {
        parsed = parseFilter(query);
      } catch (e) {
        thrown = e;
      }
      if (thrown === undefined) {
        expect(parsed?.type).toMatch(/^(not|compare)$/);
      } else {
        expect(thrown).toBeInstanceOf(PanoptesError);
        expect((thrown as PanoptesError).code).toBe('DSL_PARSE');
      }
    }
  });
});
