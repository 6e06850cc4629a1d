/**
 * Metrics groups from their wire text: the one decode path of every consumer.
 *
 * `parseJson` + `parseMetricsGroup` is the authority (lossless JSON, the zod schema and its
 * messages) but costs about ten times what the consumers can spend per record. This file reads
 * the common case, a record as the pollers write it, with the engine's JSON.parse and a direct
 * check of the schema's rules, and hands everything else to the authority, so the result (value
 * or issues) is always the one `parseMetricsGroup(parseJson(text))` gives:
 *
 * - JSON.parse and the authority read a number alike except an integer literal beyond 2^53,
 *   which the authority keeps exact (bigint) and JSON.parse rounds. Such a value can only be
 *   valid as a metric value; there its digits are read again from the text (the n-th
 *   `"metric_value":` of a text whose keys all passed the checks is the n-th metric's). An
 *   integer beyond 2^53 anywhere else goes to the authority.
 * - JSON.parse keeps the last of repeated keys silently, where the authority refuses a key
 *   repeated with a different value. The check below counts the keys it read; when that differs
 *   from the text's keyMarkers (a repeated key, or a string with `\":` in it), the authority
 *   decides.
 * - Every rule of the schema is checked directly (strict keys, names, non-empty texts without
 *   control characters, the site pattern, positive integer interval, timestamps, duplicates,
 *   non-negative counters, metadata keys and the `_resource_ttl` form); anything the direct check
 *   does not accept outright (a resource without a creation timestamp, the `resource_plugin`
 *   alias, a TTL written as a number) is left to the authority, which also gives every message.
 */
import { keyMarkers, parseJson } from './json.js';
import { isName, METRICS_GROUP_SCHEMA_VERSION, parseMetricsGroup } from './metrics-group.js';
import type { Dimension, Metric, MetricsGroup } from './metrics-group.js';
import { readResourceDirectly } from './resource.js';
import type { Resource } from './resource.js';
import { isPlainObject, isPlainText } from './validation.js';
import type { Parsed } from './validation.js';

const INTEGER_LITERAL = /^-?\d+$/;
const METRIC_VALUE_KEY = '"metric_value":';

/** Thrown inside the direct check: the authority decides. */
class NotCommon extends Error {}
const notCommon = new NotCommon();

function fail(): never {
  throw notCommon;
}

function name(v: unknown): string {
  if (!isName(v)) fail();
  return v as string;
}

function text(v: unknown): string {
  if (!isPlainText(v)) fail();
  return v;
}

/** A number as the authority reads it too: finite, and not an integer beyond 2^53 (that would be a bigint there). */
function plainNumber(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))
    fail();
  return v;
}

function timestamp(v: unknown): number {
  const n = plainNumber(v);
  if (n < 0) fail();
  return n;
}

function object(v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) fail();
  return v;
}

/** The state of one read: the text, the keys read so far, where the last metric value was found. */
interface Reading {
  readonly json: string;
  keys: number;
  valueAt: number;
  metricIndex: number;
}

/** An object with exactly `required` keys (and optionally `optional`); the required ones are all read after. */
function exactKeys(
  r: Reading,
  o: Record<string, unknown>,
  required: number,
  optional: string | undefined = undefined,
): void {
  const n = Object.keys(o).length;
  if (n !== required + (optional !== undefined && Object.hasOwn(o, optional) ? 1 : 0)) fail();
  r.keys += n;
}

function resource(r: Reading, v: unknown): Resource {
  const value = readResourceDirectly(v);
  // A missing creation timestamp would be the time of parsing: left to the authority, whose time that is.
  if (value === undefined || !Object.hasOwn(v as object, 'resource_creation_timestamp')) fail();
  r.keys += Object.keys(v as Record<string, unknown>).length + Object.keys(value.resource_metadata).length;
  return value;
}

function dimensions(r: Reading, v: unknown): Dimension[] {
  if (!Array.isArray(v)) fail();
  const list = v as unknown[];
  for (let i = 0; i < list.length; i++) {
    const d = object(list[i]);
    exactKeys(r, d, 2);
    const dn = name(d['dimension_name']);
    text(d['dimension_value']);
    for (let j = 0; j < i; j++) if ((list[j] as Dimension).dimension_name === dn) fail();
  }
  return list as Dimension[];
}

/** JSON whitespace: space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * The exact value of the metric at `index` whose JSON.parse value is an integer beyond 2^53:
 * its literal read again from the text (a bigint, as the authority gives), or the number when
 * the literal is not an integer (`1e20`).
 */
function exactValue(r: Reading, index: number, parsed: number): number | bigint {
  let at = r.valueAt;
  for (; r.metricIndex <= index; r.metricIndex++) {
    at = r.json.indexOf(METRIC_VALUE_KEY, at + 1);
    if (at === -1) fail();
  }
  r.valueAt = at;
  const json = r.json;
  let start = at + METRIC_VALUE_KEY.length;
  while (isSpace(json.charCodeAt(start))) start++;
  let end = start;
  for (let c = json.charCodeAt(end); end < json.length && !isSpace(c) && c !== 44 && c !== 125 && c !== 93;)
    c = json.charCodeAt(++end); // up to , } ] or whitespace
  const literal = json.slice(start, end);
  if (Number(literal) !== parsed) fail(); // not the literal this value came from
  return INTEGER_LITERAL.test(literal) ? BigInt(literal) : parsed;
}

function metrics(r: Reading, v: unknown): Metric[] {
  if (!Array.isArray(v) || v.length === 0) fail();
  const list = v as unknown[];
  const out: Metric[] = [];
  const counters = new Set<string>();
  const gauges = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const m = object(list[i]);
    exactKeys(r, m, 4);
    const mn = name(m['metric_name']);
    const mt = m['metric_type'];
    if (mt !== 'counter' && mt !== 'gauge') fail();
    const seen = mt === 'counter' ? counters : gauges;
    if (seen.has(mn)) fail();
    seen.add(mn);
    const mv = m['metric_value'];
    if (typeof mv !== 'number' || !Number.isFinite(mv) || (mt === 'counter' && mv < 0)) fail();
    // New objects of one shape: a bigint written into JSON.parse's objects would change theirs.
    out.push({
      metric_name: mn,
      metric_value: Number.isInteger(mv) && !Number.isSafeInteger(mv) ? exactValue(r, i, mv) : mv,
      metric_type: mt,
      metric_creation_timestamp: timestamp(m['metric_creation_timestamp']),
    });
  }
  return out;
}

function group(r: Reading, v: unknown): MetricsGroup {
  const g = object(v);
  exactKeys(r, g, 6, 'metrics_group_schema_version');
  const version = g['metrics_group_schema_version'];
  if (version !== undefined && version !== METRICS_GROUP_SCHEMA_VERSION) fail();
  const interval = g['metrics_group_interval'];
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval <= 0) fail();
  return {
    metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
    metrics_group_type: name(g['metrics_group_type']),
    metrics_group_interval: interval,
    metrics_group_creation_timestamp: timestamp(g['metrics_group_creation_timestamp']),
    resource: resource(r, g['resource']),
    dimensions: dimensions(r, g['dimensions']),
    metrics: metrics(r, g['metrics']),
  };
}

/**
 * The common case read directly, or undefined when the authority must decide (exported for
 * tests and benchmarks, which check that the records the pollers write take this way).
 */
export function readMetricsGroupDirectly(json: string): MetricsGroup | undefined {
  const markers = keyMarkers(json);
  if (markers === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined; // the authority writes the message, with line and column
  }
  const reading: Reading = { json, keys: 0, valueAt: -1, metricIndex: 0 };
  try {
    const g = group(reading, value);
    return reading.keys === markers ? g : undefined;
  } catch (e) {
    if (e === notCommon) return undefined;
    throw e;
  }
}

/**
 * Reads a record's text as a metrics group: the same value or issues as
 * `parseMetricsGroup(parseJson(json, source), root)`. Throws, as parseJson does, a
 * PanoptesError JSON_PARSE naming `source`, line and column when the text is not JSON.
 */
export function parseMetricsGroupText(json: string, source = '<input>', root = '$'): Parsed<MetricsGroup> {
  const value = readMetricsGroupDirectly(json);
  if (value !== undefined) return { ok: true, value };
  return parseMetricsGroup(parseJson(json, source), root);
}
