import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { compileLike, matchLike } from '../../src/dsl/index.js';

const BS = '\\';

/** [pattern, value, matches]: patterns are LIKE patterns as they reach the matcher (after string escapes). */
const CASES: readonly (readonly [string, string, boolean])[] = [
  // plain literals: the whole value must match, case-sensitively
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  ['abc', 'abc', true],
  ['abc', 'abcd', false],
  ['abc', 'xabc', false],
  ['abc', 'ABC', false],
  ['ABC', 'abc', false],
  // %
  ['%', '', true],
  ['%', 'anything at all', true],
  ['%%', '', true],
  ['%%', 'ab', true],
  ['a%', 'a', true],
  ['a%', 'abc', true],
  ['a%', 'ba', false],
  ['a%', 'Abc', false],
  ['%a', 'ba', true],
  ['%a', 'ab', false],
  ['%b%', 'abc', true],
  ['%b%', 'b', true],
  ['%b%', 'ac', false],
  ['a%c%e', 'abcde', true],
  ['a%c%e', 'ace', true],
  ['a%c%e', 'aec', false],
  ['%a%a%', 'a', false],
  ['%a%a%', 'aa', true],
  ['%a%a%', 'bab', false],
  ['a%a', 'a', false],
  ['a%a', 'aa', true],
  ['a%a', 'aba', true],
  ['ab%ba', 'aba', false],
  ['ab%ba', 'abba', true],
  ['%ab%ab', 'abab', true],
  ['%ab%ab', 'aab', false],
  // _
  ['_', '', false],
  ['_', 'a', true],
  ['_', 'ab', false],
  ['__', 'ab', true],
  ['__', 'a', false],
  ['a_c', 'abc', true],
  ['a_c', 'ac', false],
  ['a_c', 'abbc', false],
  ['a_c', 'ABC', false],
  // % and _ together
  ['_%', '', false],
  ['_%', 'a', true],
  ['_%', 'abc', true],
  ['%_', '', false],
  ['%_', 'xyz', true],
  ['%_%', 'x', true],
  ['a_%_z', 'abz', false],
  ['a_%_z', 'abcz', true],
  ['a_%_z', 'ab123z', true],
  ['%a_', 'xab', true],
  ['%a_', 'xa', false],
  // \% and \_ are literals
  [`${BS}%`, '%', true],
  [`${BS}%`, 'a', false],
  [`${BS}%`, '', false],
  [`${BS}%`, `${BS}%`, false],
  [`${BS}_`, '_', true],
  [`${BS}_`, 'a', false],
  [`a${BS}%%`, 'a%', true],
  [`a${BS}%%`, 'a%bc', true],
  [`a${BS}%%`, 'ab', false],
  [`%${BS}_`, 'x_', true],
  [`%${BS}_`, 'xy', false],
  [`100${BS}%`, '100%', true],
  [`100${BS}%`, '1000', false],
  [`_${BS}_`, 'a_', true],
  [`_${BS}_`, 'ab', false],
  [`${BS}%_${BS}%`, '%a%', true],
  [`${BS}%_${BS}%`, 'xax', false],
  // a backslash before any other character is itself literal
  [`a${BS}b`, `a${BS}b`, true],
  [`a${BS}b`, 'ab', false],
  [BS, BS, true],
  [BS, '', false],
  [`a${BS}`, `a${BS}`, true],
  [`${BS}n`, `${BS}n`, true],
  [`${BS}n`, '\n', false],
  [`%${BS}`, `xyz${BS}`, true],
  [`%${BS}`, 'xyz', false],
  [`_${BS}`, `x${BS}`, true],
  [`a${BS}b_`, `a${BS}bc`, true],
  [`a${BS}b_`, 'abc', false],
  // regular-expression special characters are literal
  ['.', '.', true],
  ['.', 'a', false],
  ['.*', '.*', true],
  ['.*', 'abc', false],
  ['a+', 'a+', true],
  ['a+', 'aa', false],
  ['a?', 'a?', true],
  ['a?', 'a', false],
  ['(a)', '(a)', true],
  ['(a)', 'a', false],
  ['[ab]', '[ab]', true],
  ['[ab]', 'a', false],
  ['a{2}', 'a{2}', true],
  ['a{2}', 'aa', false],
  ['^a$', '^a$', true],
  ['^a$', 'a', false],
  ['a|b', 'a|b', true],
  ['a|b', 'a', false],
  ['/x/', '/x/', true],
  ['/x/', 'x', false],
  ['._', '.x', true],
  ['._', 'ax', false],
  ['[_]', '[a]', true],
  ['[_]', 'a', false],
  ['_*', 'a*', true],
  ['_*', 'aa', false],
  ['_+', 'a+', true],
  ['_?', 'a?', true],
  ['_?', 'a', false],
  ['(_|_)', '(a|b)', true],
  ['(_|_)', 'a', false],
  ['^_$', '^a$', true],
  ['^_$', 'a', false],
  ['{_}', '{1}', true],
  ['_{1}', 'x{1}', true],
  ['_{2}', 'xx', false],
  ['$_', '$x', true],
  ['/_/', '/a/', true],
  ['%.%', 'a.b', true],
  ['%.%', 'ab', false],
  ['_-_', 'a-b', true],
  ['%[a-z]%', 'x[a-z]y', true],
  ['%[a-z]%', 'xby', false],
  // unicode: _ is exactly one code point
  ['_', '😀', true],
  ['__', '😀', false],
  ['_', 'é', true],
  ['a_b', 'a😀b', true],
  ['a__b', 'a😀b', false],
  ['%😀%', 'x😀y', true],
  ['%😀%', 'xy', false],
  ['😀%', '😀', true],
  ['_😀', 'a😀', true],
  ['😀_', '😀😀', true],
  ['%_😀', '😀', false],
  // newlines are ordinary characters
  ['%', 'a\nb', true],
  ['%', '\n', true],
  ['a%b', 'a\n\nb', true],
  ['_', '\n', true],
  ['a_b', 'a\nb', true],
  ['a%_', 'a\n', true],
  ['%x', 'x\ny', false],
  ['x%', '\nx', false],
  ['a\nb', 'a\nb', true],
  ['a\nb', 'ab', false],
];

describe('LIKE matching', () => {
  it.each(CASES)('compileLike(%j)(%j) is %s', (pattern, value, expected) => {
    expect(compileLike(pattern)(value)).toBe(expected);
  });

  it.each(CASES)('matchLike(%j, %j) is %s', (pattern, value, expected) => {
    expect(matchLike(pattern, value)).toBe(expected);
  });

  it('a compiled matcher can be reused for many values', () => {
    const m = compileLike('a_%');
    expect(['ab', 'a', 'abc', 'ba', 'a😀'].map(m)).toEqual([true, false, true, false, true]);
    const p = compileLike('%x%');
    expect(['x', 'y', 'axb', ''].map(p)).toEqual([true, false, true, false]);
  });

  // '😀' is the one code point U+1F600 (UTF-16 \uD83D\uDE00); a pattern holding only one of its halves
  // names a different character, so neither matcher may match, and the two must agree.
  it.each([
    ['\uD83D%', '😀'],
    ['%\uDE00', '😀'],
    ['%\uDE00%', 'a😀b'],
  ])('a lone surrogate in %j does not match half of a surrogate pair in %j', (pattern, value) => {
    expect(matchLike(pattern, value)).toBe(false);
    expect(compileLike(pattern)(value)).toBe(false);
  });
});

const ALPHABET = ['a', 'b', '%', '_', BS, '😀', '\n', '.'] as const;
const likeText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength });

describe('LIKE matching: properties', () => {
  it('compileLike(p)(v) === matchLike(p, v)', () => {
    fc.assert(
      fc.property(likeText(8), fc.array(likeText(8), { minLength: 1, maxLength: 10 }), (pattern, values) => {
        const compiled = compileLike(pattern);
        for (const value of values) {
          expect(compiled(value), `pattern ${JSON.stringify(pattern)}, value ${JSON.stringify(value)}`).toBe(
            matchLike(pattern, value),
          );
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees on values built to match: pattern with each wildcard replaced', () => {
    // Turning each % into a run of characters and each _ into one character gives a matching value.
    const piece = fc.oneof(
      fc.constantFrom('a', 'b', '.', '\n', '😀').map((c) => ({ pattern: c, value: c })),
      fc.constant({ pattern: `${BS}%`, value: '%' }),
      fc.constant({ pattern: `${BS}_`, value: '_' }),
      fc.constantFrom('a', '😀', '%', '\n').map((c) => ({ pattern: '_', value: c })),
      fc.constantFrom('', 'a', 'ab%', '😀_\n').map((run) => ({ pattern: '%', value: run })),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const pattern = pieces.map((p) => p.pattern).join('');
        const value = pieces.map((p) => p.value).join('');
        expect(matchLike(pattern, value)).toBe(true);
        expect(compileLike(pattern)(value)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a string with % and _ escaped matches exactly itself', () => {
    fc.assert(
      fc.property(likeText(6), likeText(6), (s, v) => {
        const pattern = s.replace(/[%_]/g, (c) => `${BS}${c}`);
        expect(compileLike(pattern)(v)).toBe(v === s);
        expect(matchLike(pattern, v)).toBe(v === s);
        expect(compileLike(pattern)(s)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
