/**
 * Metrics groups as InfluxDB line protocol, written as text so Counter64 values keep every digit
 * (the client's Point goes through Number for integers).
 *
 * One point per group:
 *
 *   <metrics_group_type>,<tags> <metric_name>__<metric_type>=<value>,... <timestamp ms>
 *
 * - Tags: every dimension, plus resource_id, resource_site, resource_class, resource_subclass,
 *   resource_type and resource_endpoint. A dimension named like one of these resource tags is left
 *   out (the resource identifies the series). Empty values are skipped (line protocol has no empty
 *   tag value). Tags are sorted by key, as InfluxDB recommends.
 * - Fields: `bits_in__counter`, `bits_in__gauge`: a counter and its rate gauge may share a name.
 *   Gauges are floats. Counters are integers (`123i`) when their value is an integer: a safe
 *   integer number or a bigint below 2^63 (InfluxDB integers are signed 64-bit). A Counter64
 *   value from 2^63 to 2^64-1 is written as an unsigned integer (`18446744073709551615u`), which
 *   keeps every digit; InfluxDB 2 stores it as a uinteger field, VictoriaMetrics (float64
 *   storage, like every value it keeps) accepts it. An `i` value of 2^63 or more is not an
 *   option: VictoriaMetrics skips such a line (logging an error, still answering 204) and
 *   InfluxDB rejects it. A counter that is not an integer (or an integer number beyond 2^53,
 *   whose digits are already gone) is written as a float.
 *   Note for InfluxDB: a field keeps one type per shard, so a counter that crosses 2^63 (or
 *   alternates between integer and fractional values) gets its later points rejected with a
 *   field type conflict; the consumer dead-letters what InfluxDB rejects.
 * - Timestamp: metrics_group_creation_timestamp in milliseconds (write precision ms).
 *
 * Escaping (line protocol spec): measurement: comma, space; tag keys, tag values, field keys:
 * comma, equals sign, space. Backslashes are doubled everywhere, so a value ending in a backslash
 * cannot escape the separator after it. Newline, carriage return and tab (which the model
 * rejects anyway) are written as `\n`, `\r`, `\t`: a line protocol line cannot hold them.
 */
import type { MetricsGroup, MetricValue } from '../model/metrics-group.js';

const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The resource fields that become tags, in the order of the wire format. */
export const RESOURCE_TAGS = [
  'resource_id',
  'resource_site',
  'resource_class',
  'resource_subclass',
  'resource_type',
  'resource_endpoint',
] as const;

const CONTROL: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Measurement names: comma, space (and backslash) are escaped. */
export function escapeMeasurement(s: string): string {
  // The test first: most names need nothing, and replace would copy them.
  return /[\\, \n\r\t]/.test(s) ? s.replace(/[\\, \n\r\t]/g, (c) => CONTROL[c] ?? `\\${c}`) : s;
}

/** Tag keys, tag values and field keys: comma, equals sign, space (and backslash) are escaped. */
export function escapeKey(s: string): string {
  return /[\\,= \n\r\t]/.test(s) ? s.replace(/[\\,= \n\r\t]/g, (c) => CONTROL[c] ?? `\\${c}`) : s;
}

/**
 * A field value (line protocol text) for a metric. `unsigned: false` is for servers without
 * unsigned integers (InfluxDB 1.x OSS refuses the `u` suffix): a counter from 2^63 is written as
 * an integer literal without suffix, a float to the server (its nearest float64).
 */
export function fieldValue(value: MetricValue, type: 'counter' | 'gauge', unsigned = true): string {
  if (typeof value === 'bigint') {
    if (type === 'counter' && value >= 0n && value <= INT64_MAX) return `${value}i`;
    if (unsigned && type === 'counter' && value > INT64_MAX && value <= UINT64_MAX) return `${value}u`;
    // An integer literal without suffix is a float to the server; the digits are still exact.
    return value.toString();
  }
  if (type === 'counter' && Number.isSafeInteger(value)) return `${value}i`;
  return floatText(value);
}

/** A float as line protocol text: JavaScript's shortest round-trip form (`12.5`, `1e+21`). */
function floatText(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`line protocol has no float for ${n}`);
  return Object.is(n, -0) ? '0' : String(n);
}

/** Epoch seconds (millisecond resolution) to integer milliseconds. */
export function timestampMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

const RESOURCE_TAG_SET: ReadonlySet<string> = new Set<string>(RESOURCE_TAGS);

/** The tags of a group as [key, value]: dimensions then resource tags, empty values left out. */
function tagPairs(group: MetricsGroup): [string, string][] {
  const tags: [string, string][] = [];
  for (const d of group.dimensions) {
    if (RESOURCE_TAG_SET.has(d.dimension_name) || d.dimension_value === '') continue;
    tags.push([d.dimension_name, d.dimension_value]);
  }
  for (const k of RESOURCE_TAGS) {
    const value = group.resource[k];
    if (value !== '') tags.push([k, value]);
  }
  return tags;
}

/** The tag set of a group: key -> value, dimensions then resource tags, empty values left out. */
export function tagsOf(group: MetricsGroup): Map<string, string> {
  return new Map(tagPairs(group));
}

/** Orders strings by UTF-16 code units, the same on every machine (no locale). */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Escaped field keys by metric name and type; bounded, since names come from the records. */
const fieldKeys = new Map<string, string>();
const FIELD_KEYS_MAX = 10_000;

function fieldKey(name: string, type: 'counter' | 'gauge'): string {
  const id = type === 'counter' ? `c${name}` : `g${name}`;
  let k = fieldKeys.get(id);
  if (k === undefined) {
    k = escapeKey(`${name}__${type}`);
    if (fieldKeys.size < FIELD_KEYS_MAX) fieldKeys.set(id, k);
  }
  return k;
}

/**
 * The line protocol lines of one metrics group: one point (none for a group without metrics).
 * Pure: the same group always gives the same text.
 */
export function metricsGroupToPoints(group: MetricsGroup, unsigned = true): string[] {
  if (group.metrics.length === 0) return []; // a point needs a field; validation requires one
  const tags = tagPairs(group);
  tags.sort((a, b) => byCodeUnit(a[0], b[0]));
  const parts = [escapeMeasurement(group.metrics_group_type)];
  for (const [k, v] of tags) parts.push(`,${escapeKey(k)}=${escapeKey(v)}`);
  let sep = ' ';
  for (const m of group.metrics) {
    parts.push(
      `${sep}${fieldKey(m.metric_name, m.metric_type)}=${fieldValue(m.metric_value, m.metric_type, unsigned)}`,
    );
    sep = ',';
  }
  parts.push(` ${timestampMs(group.metrics_group_creation_timestamp)}`);
  // One flat string: the line waits for its write, and a concatenated one would keep every
  // piece alive (and copied by each young-generation collection) until then.
  return [parts.join('')];
}
