/**
 * Object identifiers as dotted strings ("1.3.6.1.2.1.1.1.0", no leading dot), compared arc by arc
 * without allocating: "1.3.6.1.2.1.2.2.1.10" sorts after "...1.9" and is not under "...1.1".
 */
import { PanoptesError } from '../errors.js';

const MAX_ARC = 0xffffffff;

/** Normalises user input: accepts a leading dot, rejects anything that is not dotted arcs. */
export function parseOid(text: string): string {
  const s = text.startsWith('.') ? text.slice(1) : text;
  const arcs = s.split('.');
  if (arcs.length < 2 || arcs.some((a) => !/^\d+$/.test(a) || Number(a) > MAX_ARC)) {
    throw new PanoptesError(
      'USAGE',
      `invalid OID "${text}": expected dotted numbers such as 1.3.6.1.2.1.1.1.0`,
    );
  }
  const first = Number(arcs[0]);
  const second = Number(arcs[1]);
  if (first > 2 || (first < 2 && second > 39)) {
    throw new PanoptesError(
      'USAGE',
      `invalid OID "${text}": the first two arcs must be 0-2 and 0-39 (or 2.x)`,
    );
  }
  return arcs.map((a) => String(Number(a))).join('.');
}

export function oidToArcs(oid: string): number[] {
  return oid.split('.').map(Number);
}

/** Reads the arc starting at `i`; returns [value, index after the arc and its dot]. */
function arcAt(s: string, i: number): number {
  let v = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

function nextArc(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) !== 46) i++;
  return i + 1;
}

/**
 * Negative, zero or positive as `a` sorts before, equal to or after `b`, by arcs.
 *
 * Characters before the arc holding the first difference are the same in both strings, so those
 * arcs are equal: the comparison skips them at the cost of one character comparison each and
 * parses only from that arc on. A walk compares OIDs that mostly share all but their last arcs.
 */
export function compareOids(a: string, b: string): number {
  if (a === b) return 0;
  const common = Math.min(a.length, b.length);
  let k = 0;
  while (k < common && a.charCodeAt(k) === b.charCodeAt(k)) k++;
  while (k > 0 && a.charCodeAt(k - 1) !== 46) k--;
  let i = k;
  let j = k;
  for (;;) {
    const aDone = i > a.length;
    const bDone = j > b.length;
    if (aDone || bDone) return aDone === bDone ? 0 : aDone ? -1 : 1;
    const x = arcAt(a, i);
    const y = arcAt(b, j);
    if (x !== y) return x < y ? -1 : 1;
    i = nextArc(a, i);
    j = nextArc(b, j);
  }
}

/** True when `oid` lies strictly inside the subtree rooted at `root` (arc by arc). */
export function isUnder(root: string, oid: string): boolean {
  if (oid.length <= root.length || oid.charCodeAt(root.length) !== 46) return false;
  // Same characters up to the root's length and a dot right after it: the same leading arcs.
  return oid.startsWith(root);
}
