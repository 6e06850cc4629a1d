/**
 * OIDs as dotted strings: parsing user input, ordering arc by arc (never as text), and subtree
 * membership (a walk of ...2.2.1.1 must not wander into ...2.2.1.10).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { compareOids, isUnder, oidToArcs, parseOid } from '../../src/snmp/oid.js';

const IF_INDEX = '1.3.6.1.2.1.2.2.1.1';

function usageError(text: string): PanoptesError {
  try {
    parseOid(text);
  } catch (e) {
    if (e instanceof PanoptesError) return e;
    throw new Error(`parseOid(${JSON.stringify(text)}) threw a non-PanoptesError: ${String(e)}`);
  }
  throw new Error(`parseOid(${JSON.stringify(text)}) did not throw`);
}

describe('parseOid', () => {
  it('accepts dotted arcs with or without a leading dot', () => {
    expect(parseOid('1.3.6.1.2.1.1.1.0')).toBe('1.3.6.1.2.1.1.1.0');
    expect(parseOid('.1.3.6.1.2.1.1.1.0')).toBe('1.3.6.1.2.1.1.1.0');
    expect(parseOid('1.3')).toBe('1.3');
    expect(parseOid('0.0')).toBe('0.0');
  });

  it('normalises leading zeros of arcs', () => {
    expect(parseOid('01.03.006.0001')).toBe('1.3.6.1');
  });

  it('accepts the largest arc, 4294967295, and 2.x arcs above 39', () => {
    expect(parseOid('1.3.6.4294967295')).toBe('1.3.6.4294967295');
    expect(parseOid('2.999.1')).toBe('2.999.1');
    expect(parseOid('.2.4294967295')).toBe('2.4294967295');
  });

  it.each([
    '',
    '.',
    '1',
    '.1',
    '1.',
    '1.3.',
    '1..3',
    '1.3..6',
    '..1.3',
    'a.b',
    '1.3.6.x',
    ' 1.3.6',
    '1.3.6 ',
    '+1.3',
    '-1.3',
    '1.3.-6',
    '1.3.1e3',
    '1.3.0x10',
    '1.3.6.4294967296',
    '1.3.99999999999999999999',
    '3.1',
    '1.40',
    '0.40',
    'iso.3.6',
  ])('rejects %j with a USAGE error naming the input', (text) => {
    const e = usageError(text);
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain(`"${text}"`);
  });
});

describe('compareOids', () => {
  it('compares numerically arc by arc, not as text', () => {
    expect(compareOids('1.3.6.1.2.1.2.2.1.10', '1.3.6.1.2.1.2.2.1.9')).toBeGreaterThan(0);
    expect(compareOids('1.3.6.1.2.1.2.2.1.9', '1.3.6.1.2.1.2.2.1.10')).toBeLessThan(0);
    expect(compareOids('1.3.6.1.2.1.2.2.1.2.10', '1.3.6.1.2.1.2.2.1.10.1')).toBeLessThan(0);
    expect(compareOids('1.3.6.1.4294967295', '1.3.6.1.4294967294')).toBeGreaterThan(0);
    expect(compareOids('1.3.6.100', '1.3.6.99.99')).toBeGreaterThan(0);
    expect(compareOids('2.1', '1.3.6.1')).toBeGreaterThan(0);
  });

  it('sorts a prefix before everything under it', () => {
    expect(compareOids('1.3.6.1', '1.3.6.1.0')).toBeLessThan(0);
    expect(compareOids('1.3.6.1.0', '1.3.6.1')).toBeGreaterThan(0);
    expect(compareOids('1.3.6.1.2.1.1', '1.3.6.1.2.1.1.1.0')).toBeLessThan(0);
  });

  it('returns 0 for equal OIDs only', () => {
    expect(compareOids('1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.1.0')).toBe(0);
    expect(compareOids('1.3', '1.3')).toBe(0);
    expect(compareOids('1.3.6.1.1', '1.3.6.1.10')).not.toBe(0);
    expect(compareOids('1.3.6.11', '1.3.6.1.1')).not.toBe(0);
  });

  it('sorts a list of interface column OIDs into MIB order', () => {
    const oids = [
      '1.3.6.1.2.1.2.2.1.10.2',
      '1.3.6.1.2.1.2.2.1.2.10',
      '1.3.6.1.2.1.2.2.1.1.1',
      '1.3.6.1.2.1.2.2.1.2.9',
      '1.3.6.1.2.1.2.2.1.10.10',
      '1.3.6.1.2.1.2.2.1.1',
      '1.3.6.1.2.1.2.2.1.10.9',
    ];
    expect([...oids].sort(compareOids)).toEqual([
      '1.3.6.1.2.1.2.2.1.1',
      '1.3.6.1.2.1.2.2.1.1.1',
      '1.3.6.1.2.1.2.2.1.2.9',
      '1.3.6.1.2.1.2.2.1.2.10',
      '1.3.6.1.2.1.2.2.1.10.2',
      '1.3.6.1.2.1.2.2.1.10.9',
      '1.3.6.1.2.1.2.2.1.10.10',
    ]);
  });

  /** The reference order: arrays of arcs compared lexicographically, a prefix first. */
  function compareArcs(a: readonly number[], b: readonly number[]): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a[i] ?? 0;
      const y = b[i] ?? 0;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  // Small arcs make shared prefixes and equal OIDs common; large ones test the full range.
  const arc = fc.oneof(
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 200 }),
    fc.integer({ min: 0, max: 0xffffffff }),
  );
  const arcs = fc.array(arc, { minLength: 2, maxLength: 12 });

  it('agrees with lexicographic comparison of the arc arrays (property)', () => {
    fc.assert(
      fc.property(arcs, arcs, (a, b) => {
        const x = a.join('.');
        const y = b.join('.');
        expect(Math.sign(compareOids(x, y))).toBe(compareArcs(a, b));
        expect(Math.sign(compareOids(y, x))).toBe(-compareArcs(a, b));
        expect(compareOids(x, x)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees for OIDs that share a prefix and differ in one arc (property)', () => {
    fc.assert(
      fc.property(arcs, arc, arc, fc.array(arc, { maxLength: 3 }), (prefix, p, q, tail) => {
        const a = [...prefix, p, ...tail];
        const b = [...prefix, q];
        expect(Math.sign(compareOids(a.join('.'), b.join('.')))).toBe(compareArcs(a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips through parseOid and oidToArcs (property)', () => {
    fc.assert(
      fc.property(arcs, (a) => {
        fc.pre((a[0] ?? 0) <= 2 && ((a[0] ?? 0) === 2 || (a[1] ?? 0) <= 39));
        const text = a.join('.');
        expect(parseOid(text)).toBe(text);
        expect(parseOid(`.${text}`)).toBe(text);
        expect(oidToArcs(text)).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });
});

describe('isUnder', () => {
  it('does not put ifInOctets (.10) .. .19 under ifIndex (.1)', () => {
    for (let column = 10; column <= 19; column++) {
      expect(isUnder(IF_INDEX, `1.3.6.1.2.1.2.2.1.${column}`)).toBe(false);
      expect(isUnder(IF_INDEX, `1.3.6.1.2.1.2.2.1.${column}.1`)).toBe(false);
    }
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.100.1')).toBe(false);
  });

  it('contains the instances of the column', () => {
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.1.5')).toBe(true);
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.1.0')).toBe(true);
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.1.10.3')).toBe(true);
    expect(isUnder('1.3', '1.3.6.1.2.1.1.1.0')).toBe(true);
  });

  it('does not contain the root itself, its parents or its siblings', () => {
    expect(isUnder(IF_INDEX, IF_INDEX)).toBe(false);
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1')).toBe(false);
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.2.1')).toBe(false);
    expect(isUnder(IF_INDEX, '1.3.6.1.2.1.2.2.1.0')).toBe(false);
    expect(isUnder('1.3.6.1.2.1.1', '1.3.6.1.2.1.11.1.0')).toBe(false);
  });

  it('agrees with an arc-array prefix test (property)', () => {
    const arc = fc.integer({ min: 0, max: 25 });
    // The candidate keeps a random part of the root (often all of it), then random arcs, so
    // inside, outside, equal and sibling-with-common-digits cases all occur.
    const caseArb = fc
      .tuple(
        fc.array(arc, { minLength: 2, maxLength: 6 }),
        fc.nat(),
        fc.array(arc, { maxLength: 3 }),
        fc.boolean(),
      )
      .map(([root, cut, tail, keepAll]) => {
        const keep = keepAll ? root.length : cut % (root.length + 1);
        return { root, oid: [...root.slice(0, keep), ...tail] };
      })
      .filter(({ oid }) => oid.length >= 2);
    fc.assert(
      fc.property(caseArb, ({ root, oid }) => {
        const expected = oid.length > root.length && root.every((value, i) => oid[i] === value);
        expect(isUnder(root.join('.'), oid.join('.'))).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
