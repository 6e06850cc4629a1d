/**
 * Parser of the resource filter DSL (parsimmon).
 *
 *   query     := or_expr
 *   or_expr   := and_expr ( OR and_expr )*
 *   and_expr  := not_expr ( AND not_expr )*
 *   not_expr  := NOT not_expr | "(" or_expr ")" | condition
 *   condition := field ( "=" | "!=" | EQ | NE ) string
 *              | field [NOT] LIKE string
 *              | field [NOT] IN "(" string ( "," string )* ")"
 *   field     := resource_site | resource_class | resource_subclass | resource_type | resource_id
 *              | resource_endpoint | resource_creation_plugin | resource_plugin (alias)
 *              | resource_metadata "." KEY          KEY := [A-Za-z_][A-Za-z0-9_]*
 *   string    := "..." | '...'     (\" \' \\ are escapes; any other backslash is kept)
 *
 * Keywords and resource_* names are case-insensitive; metadata keys and values are not.
 * Whitespace (spaces, tabs, newlines) separates tokens. Errors are DSL_PARSE PanoptesErrors
 * with 1-based line and column and what was expected there.
 */
import P from 'parsimmon';
import type { Parser } from 'parsimmon';
import { PanoptesError } from '../errors.js';
import { RESOURCE_FIELDS } from './ast.js';
import type { FieldRef, FilterNode, ResourceField } from './ast.js';

const KEYWORDS = ['AND', 'OR', 'NOT', 'LIKE', 'IN', 'EQ', 'NE'] as const;
const WORD = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]*)?/y;
const METADATA_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPECT_FIELD =
  'a field (resource_site, resource_class, resource_subclass, resource_type, resource_id, resource_endpoint, resource_creation_plugin, resource_metadata.KEY)';
const EXPECT_STRING = 'a quoted string';
const UNTERMINATED = 'a closing quote (unterminated string)';

const ws = P.regexp(/\s*/);

function lexeme<T>(parser: Parser<T>): Parser<T> {
  return parser.skip(ws);
}

function keyword(word: (typeof KEYWORDS)[number]): Parser<string> {
  return lexeme(P.regexp(new RegExp(`${word}(?![A-Za-z0-9_])`, 'i')).desc(word));
}

function symbol(text: string): Parser<string> {
  return lexeme(P.string(text).desc(`"${text}"`));
}

const fieldNames = new Map<string, ResourceField>(RESOURCE_FIELDS.map((f) => [f, f]));
fieldNames.set('resource_plugin', 'resource_creation_plugin');

/** A field reference; an unknown name fails at its first character. */
const field: Parser<FieldRef> = lexeme(
  P<FieldRef>((input, i) => {
    WORD.lastIndex = i;
    const m = WORD.exec(input);
    if (m === null) return P.makeFailure(i, EXPECT_FIELD);
    const word = m[0];
    const dot = word.indexOf('.');
    if (dot < 0) {
      const name = fieldNames.get(word.toLowerCase());
      return name === undefined
        ? P.makeFailure(i, EXPECT_FIELD)
        : P.makeSuccess(i + word.length, { kind: 'resource', name });
    }
    const key = word.slice(dot + 1);
    if (word.slice(0, dot).toLowerCase() !== 'resource_metadata' || !METADATA_KEY.test(key)) {
      return P.makeFailure(i, EXPECT_FIELD);
    }
    return P.makeSuccess(i + word.length, { kind: 'metadata', key });
  }),
);

/** A quoted string; an unclosed one fails at its opening quote. */
const quoted: Parser<string> = lexeme(
  P<string>((input, i) => {
    const quote = input[i];
    if (quote !== '"' && quote !== "'") return P.makeFailure(i, EXPECT_STRING);
    let value = '';
    for (let j = i + 1; j < input.length; j++) {
      const c = input[j];
      if (c === quote) return P.makeSuccess(j + 1, value);
      if (c === '\\' && j + 1 < input.length) {
        const next = input[j + 1] ?? '';
        if (next === '"' || next === "'" || next === '\\') {
          value += next;
        } else {
          value += c + next;
        }
        j++;
        continue;
      }
      value += c;
    }
    return P.makeFailure(i, UNTERMINATED);
  }),
);

const compareOp: Parser<'eq' | 'ne'> = P.alt(
  symbol('!=').result('ne' as const),
  symbol('=').result('eq' as const),
  keyword('EQ').result('eq' as const),
  keyword('NE').result('ne' as const),
);

const condition: Parser<FilterNode> = field.chain((f) =>
  P.alt<FilterNode>(
    P.seq(compareOp, quoted).map(([op, value]) => ({ type: 'compare', field: f, op, value })),
    P.seq(keyword('NOT').atMost(1), keyword('LIKE'), quoted).map(([not, , pattern]) => ({
      type: 'like',
      field: f,
      negated: not.length > 0,
      pattern,
    })),
    P.seq(
      keyword('NOT').atMost(1),
      keyword('IN'),
      symbol('('),
      P.sepBy1(quoted, symbol(',')),
      symbol(')'),
    ).map(([not, , , values]) => ({ type: 'in', field: f, negated: not.length > 0, values })),
  ),
);

const orExpr: Parser<FilterNode> = P.lazy(() =>
  P.sepBy1(andExpr, keyword('OR')).map((ops) => (ops.length === 1 ? ops[0] : { type: 'or', operands: ops })),
);

const notExpr: Parser<FilterNode> = P.lazy(() =>
  P.alt<FilterNode>(
    keyword('NOT')
      .then(notExpr)
      .map((operand) => ({ type: 'not', operand })),
    symbol('(').then(orExpr).skip(symbol(')')),
    condition,
  ),
);

const andExpr: Parser<FilterNode> = P.sepBy1(notExpr, keyword('AND')).map((ops) =>
  ops.length === 1 ? ops[0] : { type: 'and', operands: ops },
);

const query: Parser<FilterNode> = ws.then(orExpr).skip(P.eof.desc('end of query'));

/** The token at an offset, for error messages: a word, a quoted string's start, or one character. */
function tokenAt(text: string, offset: number): string {
  WORD.lastIndex = offset;
  const word = WORD.exec(text);
  if (word !== null) return word[0];
  return text.slice(offset, offset + 1);
}

function listExpected(expected: readonly string[]): string {
  const unique = [...new Set(expected)].sort(
    (a, b) => Number(a.startsWith('a ')) - Number(b.startsWith('a ')),
  );
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return `${unique.slice(0, -1).join(', ')} or ${unique.at(-1) ?? ''}`;
}

/** Deepest nesting of parentheses and NOTs accepted; deeper queries are rejected, not recursed into. */
export const MAX_NESTING = 100;

/** Where nesting (open parentheses plus NOTs in a row) first exceeds MAX_NESTING, outside strings. */
function tooDeepAt(text: string): number | undefined {
  let depth = 0;
  const stack: number[] = [];
  let nots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      nots = 0;
    } else if (c === '(') {
      stack.push(nots);
      depth += 1;
      if (depth + nots > MAX_NESTING) return i;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
      nots = stack.pop() ?? 0;
    } else if (
      /[Nn]/.test(c ?? '') &&
      /^not(?![A-Za-z0-9_])/i.test(text.slice(i, i + 4)) &&
      !/[A-Za-z0-9_.]/.test(text[i - 1] ?? '')
    ) {
      nots++;
      if (depth + nots > MAX_NESTING) return i;
      i += 2;
    } else if (!/\s/.test(c ?? '')) {
      if (/[A-Za-z_]/.test(c ?? '')) {
        // any other word (a field) ends a run of NOTs
        while (i + 1 < text.length && /[A-Za-z0-9_.]/.test(text[i + 1] ?? '')) i++;
        nots = 0;
      }
    }
  }
  return undefined;
}

/** Parses a filter into its syntax tree; throws PanoptesError DSL_PARSE with line and column. */
export function parseFilter(text: string): FilterNode {
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const before = text.slice(0, deep);
    const line = before.split('\n').length;
    const column = deep - before.lastIndexOf('\n');
    throw new PanoptesError(
      'DSL_PARSE',
      `line ${line}, column ${column}: query nested more than ${MAX_NESTING} levels deep (parentheses and NOTs)`,
      { details: { line, column, offset: deep, expected: [] } },
    );
  }
  const result = query.parse(text);
  if (result.status) return result.value;

  const { offset, line, column } = result.index;
  const expected = result.expected;
  let reason: string;
  if (text.trim() === '') {
    reason = 'empty query: expected a condition such as resource_class = "network"';
  } else if (expected.includes(UNTERMINATED)) {
    reason = `unterminated string starting with ${text[offset] ?? ''}`;
  } else if (offset >= text.length) {
    reason = `unexpected end of query, expected ${listExpected(expected)}`;
  } else {
    const token = tokenAt(text, offset);
    const isKeyword = (KEYWORDS as readonly string[]).includes(token.toUpperCase());
    if (expected.includes(EXPECT_FIELD) && /^[A-Za-z_]/.test(token) && !isKeyword) {
      reason = `unknown field "${token}", expected ${listExpected(expected)}`;
    } else {
      reason = `unexpected ${JSON.stringify(token)}, expected ${listExpected(expected)}`;
    }
  }
  throw new PanoptesError('DSL_PARSE', `line ${line}, column ${column}: ${reason}`, {
    details: { line, column, offset, expected: [...new Set(expected)] },
  });
}
