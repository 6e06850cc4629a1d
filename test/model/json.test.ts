import { describe, it, expect } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import fc from 'fast-check';
import { lineColumn, parseJson, parseJsonLosslessly, stringifyJson } from '../../src/model/json.js';

/** The PanoptesError that parseJson throws for `text`. */
function parseError(text: string, source?: string): PanoptesError {
  try {
    parseJson(text, source);
  } catch (e) {
    if (e instanceof PanoptesError) return e;
    throw e;
  }
  throw new Error(`expected parseJson to reject ${JSON.stringify(text)}`);
}

describe('parseJson / stringifyJson: integers', () => {
  it('keeps 18446744073709551615 (Counter64 max) exact as a bigint and writes the same digits back', () => {
    const value = parseJson('18446744073709551615');
    expect(typeof value).toBe('bigint');
    expect(value).toBe(18446744073709551615n);
    expect(stringifyJson(value)).toBe('18446744073709551615');
  });

  it('keeps 9007199254740993 (2^53 + 1, not representable as a double) exact', () => {
    const value = parseJson('9007199254740993');
    expect(value).toBe(9007199254740993n);
    expect(stringifyJson(value)).toBe('9007199254740993');
  });

  it('turns 2^53 itself into a bigint (it is not a safe integer)', () => {
    expect(parseJson('9007199254740992')).toBe(9007199254740992n);
  });

  it('keeps large negative integers exact', () => {
    const value = parseJson('-18446744073709551615');
    expect(value).toBe(-18446744073709551615n);
    expect(stringifyJson(value)).toBe('-18446744073709551615');
  });

  it('round-trips big integers nested in objects and arrays with exact digits', () => {
    const text = '{"a":18446744073709551615,"b":[9007199254740993,1.5,2],"c":{"d":-9007199254740993}}';
    const value = parseJson(text) as { a: unknown; b: unknown[]; c: { d: unknown } };
    expect(value.a).toBe(18446744073709551615n);
    expect(value.b).toEqual([9007199254740993n, 1.5, 2]);
    expect(value.c.d).toBe(-9007199254740993n);
    expect(stringifyJson(value)).toBe(text);
  });

  it('keeps safe integers as plain numbers', () => {
    const value = parseJson('[0, 42, -7, 9007199254740991, -9007199254740991]');
    expect(value).toEqual([0, 42, -7, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
    for (const v of value as unknown[]) expect(typeof v).toBe('number');
  });

  it('keeps floats and exponent forms as numbers', () => {
    const value = parseJson('[1.5, -0.25, 1700000000.123, 1e3, 2.5E-3, 1e20]');
    expect(value).toEqual([1.5, -0.25, 1700000000.123, 1000, 0.0025, 1e20]);
    for (const v of value as unknown[]) expect(typeof v).toBe('number');
  });

  it('maps strings, booleans and null as JSON.parse does', () => {
    const text = '{"s":"a\\"b\\u00e9","t":true,"f":false,"n":null,"e":[],"o":{}}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it('writes bigint beside ordinary values, with indentation when asked', () => {
    expect(stringifyJson({ big: 18446744073709551615n, small: 1, f: 0.5 })).toBe(
      '{"big":18446744073709551615,"small":1,"f":0.5}',
    );
    expect(stringifyJson({ a: [1n] }, 2)).toBe('{\n  "a": [\n    1\n  ]\n}');
  });

  it('refuses to serialise undefined', () => {
    expect(() => stringifyJson(undefined)).toThrow(TypeError);
  });

  it('keeps a "__proto__" key as an own property without changing the prototype', () => {
    const value = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseJson: errors', () => {
  it('throws PanoptesError JSON_PARSE, not retryable, with the underlying error as cause', () => {
    const e = parseError('{"a": }', 'f.json');
    expect(e.code).toBe('JSON_PARSE');
    expect(e.retryable).toBe(false);
    expect(e.cause).toBeInstanceOf(SyntaxError);
  });

  it('names source:line:column of the problem in a multi-line input', () => {
    // Line 3 is `  "b": tru`; the bad literal starts at column 8.
    const e = parseError('{\n  "a": 1,\n  "b": tru\n}', 'devices.json');
    expect(e.message).toMatch(/^devices\.json:3:8: invalid JSON: /);
    expect(e.details).toEqual({ source: 'devices.json', line: 3, column: 8 });
  });

  it('points at a missing colon on a later line', () => {
    // Line 3 is `  "b" 2`: the colon is expected where the 2 is, column 7.
    const e = parseError('{\n  "a": 1,\n  "b" 2\n}', 'x.json');
    expect(e.message).toContain('x.json:3:7: ');
    expect(e.message).toContain("Colon ':' expected");
  });

  it('counts columns from the line start when lines end in CRLF', () => {
    const e = parseError('{\r\n "a": x}', 'crlf.json');
    expect(e.message).toContain('crlf.json:2:7: ');
  });

  it('uses <input> when no source is given', () => {
    const e = parseError('[1,2,]');
    expect(e.message).toMatch(/^<input>:1:6: invalid JSON: /);
  });

  it('reports truncated and empty input', () => {
    expect(parseError('{"a":', 't.json').message).toMatch(/^t\.json:1:6: invalid JSON: /);
    expect(parseError('', 'e.json').message).toMatch(/^e\.json:1:1: invalid JSON: .*end of input/);
  });

  it('does not leave the raw "at position N" of the parser in the message', () => {
    const e = parseError('[1 2]', 'p.json');
    expect(e.message).toMatch(/^p\.json:1:4: /);
    expect(e.message).not.toMatch(/position \d+/);
  });

  it('rejects a duplicate key with a different value and locates the second occurrence', () => {
    const e = parseError('{"a": 1,\n "a": 2}', 'dup.json');
    expect(e.code).toBe('JSON_PARSE');
    expect(e.message).toContain("Duplicate key 'a'");
    expect(e.message).toMatch(/^dup\.json:2:3: /);
  });

  it('rejects duplicate keys in nested objects', () => {
    const e = parseError('[{"ok": 1}, {"x": {"k": "a", "k": "b"}}]', 'n.json');
    expect(e.message).toContain("Duplicate key 'k'");
  });

  it('accepts the same key in different objects', () => {
    expect(parseJson('[{"a": 1}, {"a": 2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('rejects trailing text after the value', () => {
    expect(parseError('{} {}', 'tail.json').message).toMatch(/^tail\.json:1:4: /);
  });
});

describe('lineColumn', () => {
  const text = 'ab\ncd\n\nef';

  it('is 1:1 at the start', () => {
    expect(lineColumn(text, 0)).toEqual({ line: 1, column: 1 });
  });

  it('counts columns within the first line', () => {
    expect(lineColumn(text, 1)).toEqual({ line: 1, column: 2 });
    // The newline itself belongs to the line it ends.
    expect(lineColumn(text, 2)).toEqual({ line: 1, column: 3 });
  });

  it('starts a new line after each newline', () => {
    expect(lineColumn(text, 3)).toEqual({ line: 2, column: 1 });
    expect(lineColumn(text, 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn(text, 6)).toEqual({ line: 3, column: 1 });
    expect(lineColumn(text, 7)).toEqual({ line: 4, column: 1 });
    expect(lineColumn(text, 8)).toEqual({ line: 4, column: 2 });
  });

  it('clamps offsets beyond the end to just after the last character', () => {
    expect(lineColumn(text, 9)).toEqual({ line: 4, column: 3 });
    expect(lineColumn(text, 1000)).toEqual({ line: 4, column: 3 });
  });

  it('handles empty text', () => {
    expect(lineColumn('', 0)).toEqual({ line: 1, column: 1 });
  });
});

describe('parseJson: the JSON.parse shortcut', () => {
  function outcome(read: () => unknown): unknown {
    try {
      return { value: read() };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  it('reads any JSON text, and any small edit of one, as lossless-json does', () => {
    const edit = fc.record({
      text: fc.oneof(
        fc.json(),
        fc.json().map((t) => JSON.stringify(JSON.parse(t), null, 2)),
        fc.constantFrom(
          '{"a":18446744073709551615}',
          '{"a":1,"a":1}',
          '{"a":1,"a":2}',
          '{"a\\":":1}',
          '[0.1234567890123456789]',
        ),
      ),
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 2 }),
      insert: fc.constantFrom(
        '',
        '"',
        ':',
        ',',
        ' ',
        '1',
        '9999999999999999',
        '-',
        '{',
        '}',
        '[',
        ']',
        '"a":1,',
        '\\',
      ),
    });
    fc.assert(
      fc.property(edit, ({ text, at, remove, insert }) => {
        const i = text.length === 0 ? 0 : at % text.length;
        const t = text.slice(0, i) + insert + text.slice(i + remove);
        expect(outcome(() => parseJson(t, 'f'))).toEqual(outcome(() => parseJsonLosslessly(t, 'f')));
      }),
      { numRuns: 3000, seed: 20261204 },
    );
  });

  it('refuses a repeated key with another value, whichever way the text is read', () => {
    expect(() => parseJson('{"a":1,"b":{"c":2,"c":3}}')).toThrow(/Duplicate key 'c'/);
    expect(parseJson('{"a":1,"a":1}')).toEqual({ a: 1 });
  });
});
