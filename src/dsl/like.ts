/**
 * LIKE patterns: the whole value must match; `%` is any run of characters (also none), `_`
 * exactly one character (a Unicode code point), `\%` and `\_` a literal `%` and `_`; a backslash
 * before anything else is itself literal. Case-sensitive.
 *
 * Two implementations on purpose: compileLike builds a fast matcher once (plain string tests
 * when the pattern has no `_`, else an anchored RegExp); matchLike is a direct dynamic
 * programme over the pattern, used by the reference interpreter. Tests check they agree.
 */

export type LikeToken =
  { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'any' } | { readonly kind: 'one' };

/** Splits a pattern into literal runs and wildcards. */
export function tokenizeLike(pattern: string): LikeToken[] {
  const tokens: LikeToken[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    if (c === '\\' && (chars[i + 1] === '%' || chars[i + 1] === '_')) {
      literal += chars[i + 1] ?? '';
      i++;
    } else if (c === '%') {
      flush();
      if (tokens.at(-1)?.kind !== 'any') tokens.push({ kind: 'any' });
    } else if (c === '_') {
      flush();
      tokens.push({ kind: 'one' });
    } else {
      literal += c;
    }
  }
  flush();
  return tokens;
}

const REGEXP_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/** Builds a matcher for a pattern; call once, use for many values. */
export function compileLike(pattern: string): (value: string) => boolean {
  const tokens = tokenizeLike(pattern);
  // String tests compare UTF-16 units; a lone surrogate in the pattern must not match half of a
  // pair, so such patterns (and any with `_`) use the code-point RegExp.
  if (tokens.some((t) => t.kind === 'one') || /[\uD800-\uDFFF]/.test(pattern)) {
    const source = tokens
      .map((t) =>
        t.kind === 'literal' ? t.text.replace(REGEXP_SPECIAL, '\\$&') : t.kind === 'any' ? '.*' : '.',
      )
      .join('');
    const re = new RegExp(`^${source}$`, 'su');
    return (value) => re.test(value);
  }

  // Only literals and `%`: literal parts between the `%`s, matched with plain string tests.
  const parts: string[] = [''];
  for (const t of tokens) {
    if (t.kind === 'any') parts.push('');
    else if (t.kind === 'literal') parts[parts.length - 1] += t.text;
  }
  if (parts.length === 1) {
    const exact = parts[0] ?? '';
    return (value) => value === exact;
  }
  const head = parts[0] ?? '';
  const tail = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const minLength = head.length + tail.length;
  if (middle.length === 0) {
    return (value) => value.length >= minLength && value.startsWith(head) && value.endsWith(tail);
  }
  return (value) => {
    if (value.length < minLength || !value.startsWith(head) || !value.endsWith(tail)) return false;
    let from = head.length;
    const end = value.length - tail.length;
    for (const part of middle) {
      const at = value.indexOf(part, from);
      if (at < 0 || at + part.length > end) return false;
      from = at + part.length;
    }
    return true;
  };
}

/** Matches without compiling: a dynamic programme over pattern tokens and value code points. */
export function matchLike(pattern: string, value: string): boolean {
  const tokens = tokenizeLike(pattern).flatMap(
    (t): ({ kind: 'char'; c: string } | { kind: 'any' } | { kind: 'one' })[] =>
      t.kind === 'literal' ? Array.from(t.text, (c) => ({ kind: 'char' as const, c })) : [t],
  );
  const chars = Array.from(value);
  // reachable[j]: the tokens consumed so far can match chars[0..j)
  let reachable = new Array<boolean>(chars.length + 1).fill(false);
  reachable[0] = true;
  for (const token of tokens) {
    const next = new Array<boolean>(chars.length + 1).fill(false);
    for (let j = 0; j <= chars.length; j++) {
      if (token.kind === 'any') {
        next[j] = (reachable[j] ?? false) || (j > 0 && (next[j - 1] ?? false));
      } else if (j > 0 && reachable[j - 1] === true) {
        next[j] = token.kind === 'one' || chars[j - 1] === token.c;
      }
    }
    reachable = next;
  }
  return reachable[chars.length] ?? false;
}
