/**
 * Values of profile expressions and how SNMP answers become them. A missing value is undefined;
 * nothing here throws on odd input: it gives a missing value instead.
 */
import { SnmpTag } from '../snmp/types.js';
import type { Varbind } from '../snmp/types.js';

/** Text (OCTET STRING, IpAddress, OID), numbers, Counter64 as bigint, lists, booleans; undefined = missing. */
export type Value = string | number | bigint | boolean | Uint8Array | readonly Value[] | undefined;

const decoder = new TextDecoder('utf-8');

/** A varbind's value, exceptions (noSuchObject, ...) as missing. */
export function fromVarbind(vb: Varbind): Value {
  switch (vb.type) {
    case SnmpTag.NoSuchObject:
    case SnmpTag.NoSuchInstance:
    case SnmpTag.EndOfMibView:
    case SnmpTag.Null:
      return undefined;
    case SnmpTag.Counter64:
      // Always a bigint, so a value read from a Counter64 is known as one (counter widths).
      return typeof vb.value === 'number' ? BigInt(vb.value) : (vb.value ?? undefined);
    default:
      return vb.value === null ? undefined : vb.value;
  }
}

/** The width of a counter varbind (Counter32 32, Counter64 64); undefined for other types. */
export function counterWidth(vb: Varbind): 32 | 64 | undefined {
  return vb.type === SnmpTag.Counter64 ? 64 : vb.type === SnmpTag.Counter32 ? 32 : undefined;
}

/** DisplayString text: UTF-8, trailing NULs removed, control characters as blanks, trimmed. */
export function bytesText(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let out = '';
  for (const ch of decoder.decode(bytes.subarray(0, end))) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out.trim();
}

/** A value as text; lists and missing values have none. */
export function asText(v: Value): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Uint8Array) return bytesText(v);
  return undefined;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const NUMERIC = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/** A value as a number (bigint kept when it is one); numeric text counts, other text does not. */
export function asNumber(v: Value): number | bigint | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' || v instanceof Uint8Array) {
    const t = typeof v === 'string' ? v : bytesText(v);
    if (!NUMERIC.test(t)) return undefined;
    if (/^\s*-?\d+\s*$/.test(t)) {
      const b = BigInt(t.trim());
      return b >= MIN_SAFE && b <= MAX_SAFE ? Number(b) : b;
    }
    return Number(t);
  }
  return undefined;
}

/** A value as a JavaScript number (bigint rounded); for functions that work on floats. */
export function asFloat(v: Value): number | undefined {
  const n = asNumber(v);
  return n === undefined ? undefined : Number(n);
}

export function truthy(v: Value): boolean {
  if (v === undefined || v === false || v === 0 || v === 0n || v === '') return false;
  return true;
}

/** Equality as comparisons use it: numerically when both sides are numbers or numeric text, else as text. */
export function equal(a: Value, b: Value): boolean {
  return compare(a, b) === 0;
}

/** -1, 0 or 1; undefined when either side is missing or they cannot be compared. */
export function compare(a: Value, b: Value): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) {
    // Mixed bigint/number compare exactly in JavaScript.
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const s = asText(a);
  const t = asText(b);
  if (s === undefined || t === undefined) return undefined;
  return s < t ? -1 : s > t ? 1 : 0;
}

/** A number within 2^53 as number, beyond as bigint (metric values keep every digit). */
export function narrow(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}
