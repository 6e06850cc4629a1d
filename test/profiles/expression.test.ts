/**
 * The profile expression grammar (src/profiles/expression.ts): precedence and associativity,
 * `not in`, `=~`, lists, lookups, string escapes, and syntax errors with the offset of the fault
 * and what was expected there.
 */
import { describe, expect, it } from 'vitest';
import { ExpressionSyntaxError, parseExpression } from '../../src/profiles/expression.js';
import type { Expr } from '../../src/profiles/expression.js';

/** The tree as compact text: binary operators in parentheses, calls, lists, lookups. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'ref':
      return e.path.join('.');
    case 'lookup':
      return `${show(e.target)}[${show(e.key)}]`;
    case 'call':
      return `${e.name}(${e.args.map(show).join(', ')})`;
    case 'not':
      return `(not ${show(e.arg)})`;
    case 'negate':
      return `(-${show(e.arg)})`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
  }
}

const parsed = (text: string): string => show(parseExpression(text));

function syntaxError(text: string): ExpressionSyntaxError {
  try {
    parseExpression(text);
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) return e;
    throw e;
  }
  throw new Error(`"${text}" parsed`);
}

describe('expression grammar: precedence', () => {
  it.each([
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 * 2 + 3', '((1 * 2) + 3)'],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
    // Left-associative at one level.
    ['10 - 4 - 3', '((10 - 4) - 3)'],
    ['8 / 4 / 2', '((8 / 4) / 2)'],
    ['1 + 2 * 3 - 4 / 2 % 3', '((1 + (2 * 3)) - ((4 / 2) % 3))'],
    // Unary minus binds tighter than any binary operator, and nests.
    ['-2 * -x', '((-2) * (-x))'],
    ['- -x', '(-(-x))'],
    ['-a[1]', '(-a[1])'],
    // Comparisons bind looser than arithmetic, tighter than not/and/or.
    ['a + 1 > b * 2', '((a + 1) > (b * 2))'],
    ['not a == 1', '(not (a == 1))'],
    ['not not a', '(not (not a))'],
    ['a or b and c', '(a or (b and c))'],
    ['a and b or c and d', '((a and b) or (c and d))'],
    ['not a == 1 and b or c', '(((not (a == 1)) and b) or c)'],
    ['a or b or c', '((a or b) or c)'],
    ['(a or b) and c', '((a or b) and c)'],
  ])('%s', (text, tree) => {
    expect(parsed(text)).toBe(tree);
  });

  it('takes every comparison operator, longest first', () => {
    for (const op of ['==', '!=', '<', '<=', '>', '>=', '=~']) {
      expect(parsed(`a ${op} 'b'`)).toBe(`(a ${op} "b")`);
    }
    expect(parsed('a<=b')).toBe('(a <= b)');
    expect(parsed('a>=b')).toBe('(a >= b)');
  });

  it('has no chained comparison: a second operator is a syntax error', () => {
    expect(syntaxError('1 < 2 < 3').offset).toBe(6);
  });

  it('keeps the offset of every node', () => {
    const e = parseExpression('  x + f(y, 2)');
    expect(e).toMatchObject({
      kind: 'binary',
      op: '+',
      at: 4,
      left: { kind: 'ref', at: 2 },
      right: { kind: 'call', at: 6, args: [{ at: 8 }, { at: 11 }] },
    });
  });
});

describe('expression grammar: in, not in, =~, lists, lookups, names', () => {
  it('parses "in" and "not in" with a list, also across blanks', () => {
    expect(parsed('a in [1, 2]')).toBe('(a in [1, 2])');
    expect(parsed('a not in [1, 2]')).toBe('(a not in [1, 2])');
    expect(parsed('a  not   in [1]')).toBe('(a not in [1])');
    expect(parsed("a + 1 not in ['x', b]")).toBe('((a + 1) not in ["x", b])');
    expect(parseExpression('a not in [1]')).toMatchObject({ op: 'not in', at: 2 });
  });

  it('parses "not" before "in" as a negation of the comparison', () => {
    expect(parsed('not a in [1]')).toBe('(not (a in [1]))');
  });

  it('parses regular-expression matches', () => {
    expect(parsed("name =~ '^Gi\\d+/\\d+$' and up")).toBe('((name =~ "^Gi\\\\d+/\\\\d+$") and up)');
  });

  it('parses lists of any expressions, and lists in lists', () => {
    expect(parsed("[1, 'a', b + 1, f(x)]")).toBe('[1, "a", (b + 1), f(x)]');
    expect(parsed('[[1], [2, 3]]')).toBe('[[1], [2, 3]]');
  });

  it('parses lookups t.c[x], chained lookups and expressions as keys', () => {
    expect(parsed('t.c[x]')).toBe('t.c[x]');
    expect(parsed("t.c[index + '.1'][2]")).toBe('t.c[(index + ".1")][2]');
    const e = parseExpression('t.c[x]');
    expect(e).toMatchObject({ kind: 'lookup', at: 3, target: { kind: 'ref', path: ['t', 'c'] } });
  });

  it('parses dotted names, calls with no or several arguments', () => {
    expect(parseExpression('resource.resource_type')).toMatchObject({
      kind: 'ref',
      path: ['resource', 'resource_type'],
    });
    expect(parsed('a.b.c')).toBe('a.b.c');
    expect(parsed('f()')).toBe('f()');
    expect(parsed('round(x / 3, 2)')).toBe('round((x / 3), 2)');
  });

  it('takes names that start with a reserved word (android, notes, inx, order)', () => {
    expect(parsed('android and notes or inx + order')).toBe('((android and notes) or (inx + order))');
    expect(parsed('meta.in')).toBe('meta.in');
  });

  it('parses numbers: integers, decimals, exponents', () => {
    expect(parseExpression('1.5e3')).toMatchObject({ kind: 'number', value: 1500 });
    expect(parseExpression('0.25')).toMatchObject({ kind: 'number', value: 0.25 });
    expect(parseExpression('0')).toMatchObject({ kind: 'number', value: 0 });
  });

  it('allows blanks around everything, and none', () => {
    expect(parsed('  ( a+1 )*2  ')).toBe('((a + 1) * 2)');
    expect(parsed('a==1 and(b)')).toBe('((a == 1) and b)');
  });
});

describe('expression grammar: text', () => {
  it.each([
    ["'plain'", 'plain'],
    ['"double"', 'double'],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    // \" and \' are escapes in either kind of quotes.
    ['\'say \\"hi\\"\'', 'say "hi"'],
    ['"it\\\'s"', "it's"],
    ["'a\\\\b'", 'a\\b'],
    ["'ends with a backslash\\\\'", 'ends with a backslash\\'],
    // Any other backslash is kept, so regular expressions keep theirs.
    ["'\\d+\\.\\d+'", '\\d+\\.\\d+'],
    ["'\\n'", '\\n'],
    ['"a \'quoted\' word"', "a 'quoted' word"],
    ["''", ''],
  ])('%s is %j', (text, value) => {
    expect(parseExpression(text)).toEqual({ kind: 'string', value, at: 0 });
  });

  it('says where unterminated text starts to be missing its quote', () => {
    const e = syntaxError("name == 'abc");
    expect(e.offset).toBe(12);
    expect(e.message).toBe("expected a closing ' (unterminated text) at the end");
    expect(syntaxError('"a\\"').message).toContain('a closing " (unterminated text)');
  });
});

describe('expression grammar: syntax errors', () => {
  it.each([
    // text, offset, what the message says
    ['1 +', 3, 'expected "(", "-", "[", a name, a number, text in quotes at the end'],
    ['a +* b', 3, 'at "* b"'],
    ['  1 +', 5, 'at the end'],
    ['f(1,', 4, 'a name'],
    ['a b', 2, 'at "b"'],
    ['x not y', 6, 'expected in at "y"'],
    ['(1', 2, '")"'],
    ['a.', 2, 'expected a name after "." at the end'],
    ['a.1', 2, 'expected a name after "."'],
    ['[1,', 3, 'at the end'],
    ['[]', 1, 'at "]"'],
    ['x in [1,]', 8, 'at "]"'],
    ['a[1', 3, '"]"'],
    ['1 == == 2', 5, 'at "== 2"'],
    ['a or', 4, 'at the end'],
    ['not', 3, 'at the end'],
    // A reserved word where a name belongs: the error is where the word starts.
    ['and', 0, 'a name'],
    ['a + and', 4, 'at "and"'],
    ['x and or', 6, 'at "or"'],
    ['01', 1, 'at "1"'],
    ['', 0, 'at the end'],
    ['a.b.c d', 6, 'at "d"'],
    ['name == "x" extra_words_that_are_long', 12, 'at "extra_words_"'],
  ])('%j fails at %i: %s', (text, offset, message) => {
    const e = syntaxError(text);
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(message);
    expect(e.message.startsWith('expected ')).toBe(true);
    expect(e.name).toBe('ExpressionSyntaxError');
  });

  it('lists each expected token once, sorted', () => {
    const m = syntaxError('1 +').message;
    const list = m.slice('expected '.length, m.lastIndexOf(' at '));
    const items = list.split(', ');
    expect(new Set(items).size).toBe(items.length);
    expect([...items].sort()).toEqual(items);
  });
});
