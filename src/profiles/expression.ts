/**
 * The expression language of SNMP profiles (docs/profiles.md), parsed with parsimmon. Nothing is
 * evaluated here: the parser gives an AST whose every node carries its offset in the text, so
 * a profile's errors can point at the column of the fault.
 *
 *   expr    := or ;  or := and ("or" and)* ;  and := not ("and" not)*
 *   not     := "not" not | compare
 *   compare := sum (("==" | "!=" | "<=" | ">=" | "<" | ">" | "=~" | "in" | "not in") sum)?
 *   sum     := product (("+" | "-") product)* ;  product := unary (("*" | "/" | "%") unary)*
 *   unary   := "-" unary | postfix ;  postfix := primary ("[" expr "]")*
 *   primary := NUMBER | STRING | "[" expr ("," expr)* "]" | NAME "(" [expr ("," expr)*] ")"
 *            | NAME ("." NAME)* | "(" expr ")"
 *   STRING  := '...' | "..."  (\' \" and \\ are escapes; any other backslash is kept)
 */
import P from 'parsimmon';
import type { Parser } from 'parsimmon';

export type BinaryOp =
  'or' | 'and' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | 'in' | 'not in' | '+' | '-' | '*' | '/' | '%';

export type Expr =
  | { readonly kind: 'number'; readonly value: number | bigint; readonly at: number }
  | { readonly kind: 'string'; readonly value: string; readonly at: number }
  | { readonly kind: 'list'; readonly items: readonly Expr[]; readonly at: number }
  | { readonly kind: 'ref'; readonly path: readonly string[]; readonly at: number }
  | { readonly kind: 'lookup'; readonly target: Expr; readonly key: Expr; readonly at: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly at: number }
  | { readonly kind: 'not'; readonly arg: Expr; readonly at: number }
  | { readonly kind: 'negate'; readonly arg: Expr; readonly at: number }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly at: number;
    };

/** A parse error: `offset` is 0-based in the expression text. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExpressionSyntaxError';
  }
}

const ws = P.regexp(/\s*/);
const lexeme = <T>(p: Parser<T>): Parser<T> => p.skip(ws);
const symbol = (s: string): Parser<string> => lexeme(P.string(s)).desc(`"${s}"`);
const word = (w: string): Parser<string> => lexeme(P.regexp(new RegExp(`${w}(?![A-Za-z0-9_])`))).desc(w);

const RESERVED = new Set(['and', 'or', 'not', 'in']);

const name: Parser<string> = lexeme(
  // A reserved word is refused where it starts (a lookahead), so the error points at it.
  P.regexp(new RegExp(`(?!(?:${[...RESERVED].join('|')})(?![A-Za-z0-9_]))[A-Za-z_][A-Za-z0-9_]*`)),
).desc('a name');

const numberLit: Parser<Expr> = lexeme(
  P.seqMap(P.index, P.regexp(/(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/), (i, t) => ({
    kind: 'number' as const,
    // Whole numbers beyond 2^53 keep every digit (bigint), as Counter64 values do.
    value: /^\d+$/.test(t) && !Number.isSafeInteger(Number(t)) ? BigInt(t) : Number(t),
    at: i.offset,
  })),
).desc('a number');

function quoted(q: string): Parser<string> {
  return (
    P.string(q)
      .desc('text in quotes')
      .then(P.regexp(new RegExp(`(?:[^${q}\\\\]|\\\\.)*`)))
      .skip(P.string(q).desc(`a closing ${q} (unterminated text)`))
      // Only \' \" and \\ are escapes (in either quotes); other backslashes stay (regular expressions keep \d).
      .map((body) => body.replace(/\\(['"\\])/g, '$1'))
  );
}

const stringLit: Parser<Expr> = lexeme(
  P.seqMap(P.index, P.alt(quoted("'"), quoted('"')), (i, value) => ({
    kind: 'string' as const,
    value,
    at: i.offset,
  })),
);

const expr: Parser<Expr> = P.lazy(() => orExpr);

const listLit: Parser<Expr> = P.seqMap(
  P.index,
  symbol('[')
    .then(P.sepBy1(expr, symbol(',')))
    .skip(symbol(']')),
  (i, items) => ({
    kind: 'list' as const,
    items,
    at: i.offset,
  }),
);

const callOrRef: Parser<Expr> = P.seqMap(P.index, name, (i, first) => ({ i, first })).chain(({ i, first }) =>
  P.alt(
    symbol('(')
      .then(P.sepBy(expr, symbol(',')))
      .skip(symbol(')'))
      .map((args): Expr => ({ kind: 'call', name: first, args, at: i.offset })),
    P.string('.')
      .then(P.regexp(/[A-Za-z_][A-Za-z0-9_]*/).desc('a name after "."'))
      .many()
      .skip(ws)
      .map((rest): Expr => ({ kind: 'ref', path: [first, ...rest], at: i.offset })),
  ),
);

const primary: Parser<Expr> = P.alt(
  numberLit,
  stringLit,
  listLit,
  callOrRef,
  symbol('(').then(expr).skip(symbol(')')),
);

const postfix: Parser<Expr> = P.seqMap(
  primary,
  P.seqMap(P.index, symbol('[').then(expr).skip(symbol(']')), (i, key) => ({ i, key })).many(),
  (base, keys) =>
    keys.reduce<Expr>((target, k) => ({ kind: 'lookup', target, key: k.key, at: k.i.offset }), base),
);

const unary: Parser<Expr> = P.lazy(() =>
  P.alt(
    P.seqMap(P.index, symbol('-').then(unary), (i, arg): Expr => ({ kind: 'negate', arg, at: i.offset })),
    postfix,
  ),
);

function leftAssoc(operand: Parser<Expr>, ops: Parser<BinaryOp>): Parser<Expr> {
  return P.seqMap(
    operand,
    P.seqMap(P.index, ops, operand, (i, op, right) => ({ i, op, right })).many(),
    (first, rest) =>
      rest.reduce<Expr>(
        (left, r) => ({ kind: 'binary', op: r.op, left, right: r.right, at: r.i.offset }),
        first,
      ),
  );
}

const op = <T extends BinaryOp>(s: T): Parser<T> => symbol(s).map(() => s);
const product = leftAssoc(unary, P.alt(op('*'), op('/'), op('%')));
const sum = leftAssoc(product, P.alt(op('+'), op('-')));
const compareOp: Parser<BinaryOp> = P.alt(
  op('=='),
  op('!='),
  op('<='),
  op('>='),
  op('=~'),
  op('<'),
  op('>'),
  word('not')
    .then(word('in'))
    .map((): BinaryOp => 'not in'),
  word('in').map((): BinaryOp => 'in'),
);
const compare: Parser<Expr> = P.seqMap(
  sum,
  P.seqMap(P.index, compareOp, sum, (i, o, right) => ({ i, o, right })).atMost(1),
  (left, rest) => {
    const r = rest[0];
    return r === undefined ? left : { kind: 'binary', op: r.o, left, right: r.right, at: r.i.offset };
  },
);
const notExpr: Parser<Expr> = P.lazy(() =>
  P.alt(
    P.seqMap(P.index, word('not').then(notExpr), (i, arg): Expr => ({ kind: 'not', arg, at: i.offset })),
    compare,
  ),
);
const andExpr = leftAssoc(
  notExpr,
  word('and').map((): BinaryOp => 'and'),
);
const orExpr = leftAssoc(
  andExpr,
  word('or').map((): BinaryOp => 'or'),
);

const whole: Parser<Expr> = ws.then(expr);

/** Parses an expression; throws ExpressionSyntaxError with the offset and what was expected there. */
export function parseExpression(text: string): Expr {
  const result = whole.parse(text);
  if (result.status) return result.value;
  const expected = [...new Set(result.expected)].sort().join(', ');
  const offset = result.index.offset;
  const found = offset >= text.length ? 'the end' : `"${text.slice(offset, offset + 12)}"`;
  throw new ExpressionSyntaxError(offset, `expected ${expected || 'the end'} at ${found}`);
}
