/**
 * The plain functions of profile expressions: each takes values and gives a value, missing in,
 * missing out. Functions over tables (count, sum, min, max, avg, find) and map() are special
 * forms in compile.ts, since their first argument names a table, column or map.
 */
import { asFloat, asNumber, asText, narrow } from './values.js';
import type { Value } from './values.js';

export interface ProfileFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** `if` and `coalesce` see their arguments unevaluated-lazy in compile.ts; the rest get values. */
  readonly fn: (args: readonly Value[]) => Value;
}

function numeric1(f: (x: number) => number): ProfileFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      const n = asFloat(x);
      if (n === undefined) return undefined;
      const r = f(n);
      return Number.isFinite(r) ? r : undefined;
    },
  };
}

function text1(f: (x: string) => Value): ProfileFunction {
  return {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      const t = asText(x);
      return t === undefined ? undefined : f(t);
    },
  };
}

/** Round half away from zero to `digits` decimals, as people round readings. */
export function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  const r = Math.round(Math.abs(x) * f + Number.EPSILON * Math.abs(x) * f) / f;
  return x < 0 ? -r : r;
}

/** The arcs of a dotted index (or OID); undefined when it is not one. */
function arcsOf(v: Value): string[] | undefined {
  const t = asText(v);
  if (t === undefined || !/^\d+(?:\.\d+)*$/.test(t)) return undefined;
  return t.split('.');
}

export const FUNCTIONS: Readonly<Record<string, ProfileFunction>> = {
  exists: { minArgs: 1, maxArgs: 1, fn: ([x]) => x !== undefined },
  round: {
    minArgs: 1,
    maxArgs: 2,
    fn: ([x, d]) => {
      const n = asFloat(x);
      const digits = d === undefined ? 0 : asFloat(d);
      if (n === undefined || digits === undefined) return undefined;
      return roundTo(n, Math.max(0, Math.min(10, Math.trunc(digits))));
    },
  },
  floor: numeric1(Math.floor),
  ceil: numeric1(Math.ceil),
  abs: {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      const n = asNumber(x);
      if (n === undefined) return undefined;
      return typeof n === 'bigint' ? (n < 0n ? -n : n) : Math.abs(n);
    },
  },
  pow: {
    minArgs: 2,
    maxArgs: 2,
    fn: ([x, y]) => {
      const a = asFloat(x);
      const b = asFloat(y);
      if (a === undefined || b === undefined) return undefined;
      const r = a ** b;
      return Number.isFinite(r) ? r : undefined;
    },
  },
  fahrenheit: numeric1((c) => roundTo((c * 9) / 5 + 32, 2)),
  text: { minArgs: 1, maxArgs: 1, fn: ([x]) => asText(x) },
  number: {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      const n = asNumber(x);
      return typeof n === 'bigint' ? narrow(n) : n;
    },
  },
  lower: text1((t) => t.toLowerCase()),
  upper: text1((t) => t.toUpperCase()),
  trim: text1((t) => t.trim()),
  replace: {
    minArgs: 3,
    maxArgs: 3,
    fn: ([x, from, to]) => {
      const t = asText(x);
      const f = asText(from);
      const r = asText(to);
      if (t === undefined || f === undefined || r === undefined) return undefined;
      return f === '' ? t : t.split(f).join(r);
    },
  },
  split: {
    minArgs: 3,
    maxArgs: 3,
    fn: ([x, sep, i]) => {
      const t = asText(x);
      const s = asText(sep);
      const n = asFloat(i);
      if (t === undefined || s === undefined || s === '' || n === undefined) return undefined;
      const parts = t.split(s);
      return parts.at(Math.trunc(n));
    },
  },
  arc: {
    minArgs: 2,
    maxArgs: 2,
    fn: ([x, i]) => {
      const arcs = arcsOf(x);
      const n = asFloat(i);
      if (arcs === undefined || n === undefined) return undefined;
      const a = arcs.at(Math.trunc(n));
      return a === undefined ? undefined : Number(a);
    },
  },
  arcs: {
    minArgs: 2,
    maxArgs: 3,
    fn: ([x, start, count]) => {
      const arcs = arcsOf(x);
      const s = asFloat(start);
      const c = count === undefined ? undefined : asFloat(count);
      if (arcs === undefined || s === undefined || (count !== undefined && c === undefined)) return undefined;
      const from = s < 0 ? arcs.length + Math.trunc(s) : Math.trunc(s);
      const to = c === undefined ? arcs.length : from + Math.trunc(c);
      if (from < 0 || to > arcs.length || from >= to) return undefined;
      return arcs.slice(from, to).join('.');
    },
  },
  hex: {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : undefined),
  },
  ipv4: {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      if (x instanceof Uint8Array) return x.length === 4 ? Array.from(x).join('.') : undefined;
      const arcs = arcsOf(x);
      return arcs !== undefined && arcs.length === 4 && arcs.every((a) => Number(a) <= 255)
        ? arcs.join('.')
        : undefined;
    },
  },
  ipv6: {
    minArgs: 1,
    maxArgs: 1,
    fn: ([x]) => {
      // Sixteen octets (an OCTET STRING or sixteen arcs of an index) as RFC 5952 text: lower-case
      // groups without leading zeros, the first longest run of two or more zero groups as "::".
      const arcs = x instanceof Uint8Array ? Array.from(x) : arcsOf(x)?.map(Number);
      if (arcs === undefined || arcs.length !== 16 || arcs.some((a) => a > 255)) return undefined;
      const groups = Array.from(
        { length: 8 },
        (_, i) => ((arcs[2 * i] as number) << 8) | (arcs[2 * i + 1] as number),
      );
      let best = -1;
      let bestLen = 1;
      for (let i = 0; i < 8;) {
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > bestLen) [best, bestLen] = [i, j - i];
        i = j === i ? i + 1 : j;
      }
      const hex = (g: readonly number[]): string => g.map((n) => n.toString(16)).join(':');
      return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
    },
  },
};
