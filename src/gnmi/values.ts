/**
 * gNMI typed values (TypedValue, gNMI specification 2.2.3) as JavaScript values, keeping every
 * digit of 64-bit integers:
 *
 *   string_val, ascii_val       string
 *   int_val, uint_val           number when safe, else bigint
 *   bool_val                    boolean
 *   float_val, double_val       number
 *   decimal_val                 number (digits / 10^precision)
 *   leaflist_val                array of the above
 *   json_val, json_ietf_val     the parsed JSON (integers beyond 2^53 as bigint); RFC 7951 writes
 *                               64-bit integers as strings, which stay strings here
 *   bytes_val, proto_bytes      Buffer
 *   any_val                     { typeUrl, value: Buffer }
 *
 * A TypedValue with no value set, or JSON that does not parse, is malformed: decodeTypedValue
 * throws GnmiValueError, and the caller counts and logs it without stopping the stream.
 *
 * The wire messages arrive from @grpc/proto-loader with 64-bit integers as decimal strings
 * (`longs: String`), bytes as Buffer and the oneof's name in `value`.
 */
import { errorMessage } from '../errors.js';
import { parseJson, stringifyJson } from '../model/json.js';

export type GnmiScalar = string | number | bigint | boolean | Buffer;
export type GnmiValue = GnmiScalar | readonly GnmiValue[] | { readonly [k: string]: unknown };

/** A malformed value: what was wrong, for the count and the log. */
export class GnmiValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GnmiValueError';
  }
}

/** TypedValue as decoded by proto-loader (the fields this module reads). */
export interface WireTypedValue {
  readonly value?: string;
  readonly string_val?: string;
  readonly int_val?: string | number;
  readonly uint_val?: string | number;
  readonly bool_val?: boolean;
  readonly bytes_val?: Buffer;
  readonly float_val?: number;
  readonly double_val?: number;
  readonly decimal_val?: { readonly digits?: string | number; readonly precision?: number };
  readonly leaflist_val?: { readonly element?: readonly WireTypedValue[] };
  readonly any_val?: { readonly type_url?: string; readonly value?: Buffer };
  readonly json_val?: Buffer;
  readonly json_ietf_val?: Buffer;
  readonly ascii_val?: string;
  readonly proto_bytes?: Buffer;
}

/** A decimal integer string or number as number when safe, else bigint. */
export function integer(v: string | number): number | bigint {
  if (typeof v === 'number') return v;
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  try {
    return BigInt(v);
  } catch {
    throw new GnmiValueError(`not an integer: ${JSON.stringify(v)}`);
  }
}

function json(bytes: Buffer | undefined, what: string): GnmiValue {
  const text = (bytes ?? Buffer.alloc(0)).toString('utf8');
  try {
    return parseJson(text, what) as GnmiValue;
  } catch (e) {
    throw new GnmiValueError(`${what} is not JSON: ${errorMessage(e)}`);
  }
}

export function decodeTypedValue(tv: WireTypedValue | null | undefined): GnmiValue {
  switch (tv?.value) {
    case 'string_val':
      return tv.string_val ?? '';
    case 'ascii_val':
      return tv.ascii_val ?? '';
    case 'int_val':
      return integer(tv.int_val ?? 0);
    case 'uint_val':
      return integer(tv.uint_val ?? 0);
    case 'bool_val':
      return tv.bool_val ?? false;
    case 'float_val':
      return tv.float_val ?? 0;
    case 'double_val':
      return tv.double_val ?? 0;
    case 'decimal_val': {
      const digits = integer(tv.decimal_val?.digits ?? 0);
      return Number(digits) / 10 ** (tv.decimal_val?.precision ?? 0);
    }
    case 'leaflist_val':
      return (tv.leaflist_val?.element ?? []).map((e) => decodeTypedValue(e));
    case 'json_val':
      return json(tv.json_val, 'json_val');
    case 'json_ietf_val':
      return json(tv.json_ietf_val, 'json_ietf_val');
    case 'bytes_val':
      return tv.bytes_val ?? Buffer.alloc(0);
    case 'proto_bytes':
      return tv.proto_bytes ?? Buffer.alloc(0);
    case 'any_val':
      return { typeUrl: tv.any_val?.type_url ?? '', value: tv.any_val?.value ?? Buffer.alloc(0) };
    default:
      throw new GnmiValueError('update without a value');
  }
}

/** A value as one line of text, for `panoptes gnmi subscribe`. */
export function valueText(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return stringifyJson(v); // integers beyond 2^53 as their digits
}
