/**
 * Metrics groups as Prometheus samples: the naming shared by the remote-write consumer and the
 * scrape endpoint.
 *
 * - Name: `panoptes_<metrics_group_type>_<metric_name>`, with `_total` appended to a counter
 *   (unless its name already ends so): the raw counter `bits_in` of the `interface` group is
 *   `panoptes_interface_bits_in_total`, its rate (a gauge) `panoptes_interface_bits_in`.
 * - Labels: resource_id, resource_site, resource_class, resource_subclass, resource_type, then
 *   the group's dimensions. A dimension named like a resource label is left out (the resource
 *   identifies the series), as the line protocol does. Empty values are left out (Prometheus
 *   treats an empty label as an absent one).
 * - Names are sanitised to Prometheus' rules (metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
 *   names `[a-zA-Z_][a-zA-Z0-9_]*`, `__` reserved): any other character becomes `_`, a name
 *   starting with a digit gets a leading `_`, a label name starting with `__` gets a leading
 *   `dimension`. The model's names already follow the first two rules, so only `__` changes
 *   what a user sees. Should two dimensions end up with the same label name, the first is kept.
 * - Value: a float64, as Prometheus stores every value. A Counter64 beyond 2^53 is the nearest
 *   float64 (the remote-write protocol has nothing wider); the scrape endpoint writes its exact
 *   digits, which a scraper parses to the same float64.
 * - Timestamp: metrics_group_creation_timestamp in milliseconds: every sample of a group has
 *   the group's time.
 */
import type { MetricsGroup, MetricType, MetricValue } from '../model/metrics-group.js';
import { byCodeUnit } from './line-protocol.js';

/** The resource fields that become labels, in this order. */
export const RESOURCE_LABELS = [
  'resource_id',
  'resource_site',
  'resource_class',
  'resource_subclass',
  'resource_type',
] as const;

const RESOURCE_LABEL_SET: ReadonlySet<string> = new Set<string>(RESOURCE_LABELS);

export type Label = readonly [name: string, value: string];

export interface PromSample {
  /** The metric (family) name, e.g. `panoptes_interface_bits_in_total`. */
  readonly name: string;
  /** Sorted by name; `__name__` is not among them. */
  readonly labels: readonly Label[];
  readonly value: MetricValue;
  readonly type: MetricType;
  readonly timestampMs: number;
  /** The group and metric, for HELP. */
  readonly group: string;
  readonly metric: string;
}

/** A metric name under Prometheus' rules. */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) || s === '' ? `_${s}` : s;
}

/** A label name under Prometheus' rules (`__` is reserved for Prometheus' own labels). */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s) || s === '') s = `_${s}`;
  return s.startsWith('__') ? `dimension${s}` : s;
}

/** Names are few and repeat; sanitised ones are kept, bounded since they come from records. */
const nameCache = new Map<string, string>();
const NAME_CACHE_MAX = 10_000;

/** The sample name of a group's metric. */
export function sampleName(group: string, metric: string, type: MetricType): string {
  const id = `${type === 'counter' ? 'c' : 'g'}${group}\u0000${metric}`;
  let name = nameCache.get(id);
  if (name === undefined) {
    name = sanitizeMetricName(`panoptes_${group}_${metric}`);
    if (type === 'counter' && !name.endsWith('_total')) name += '_total';
    if (nameCache.size < NAME_CACHE_MAX) nameCache.set(id, name);
  }
  return name;
}

/** The labels of a group's samples, sorted by name. */
export function groupLabels(group: MetricsGroup): Label[] {
  const labels: Label[] = [];
  const seen = new Set<string>();
  for (const k of RESOURCE_LABELS) {
    seen.add(k);
    const value = group.resource[k];
    if (value !== '') labels.push([k, value]);
  }
  for (const d of group.dimensions) {
    if (RESOURCE_LABEL_SET.has(d.dimension_name) || d.dimension_value === '') continue;
    const name = sanitizeLabelName(d.dimension_name);
    if (seen.has(name)) continue;
    seen.add(name);
    labels.push([name, d.dimension_value]);
  }
  labels.sort((a, b) => byCodeUnit(a[0], b[0]));
  return labels;
}

/** Every metric of a group as a sample (none for a group without metrics). */
export function metricsGroupToSamples(group: MetricsGroup): PromSample[] {
  if (group.metrics.length === 0) return [];
  const labels = groupLabels(group);
  const timestampMs = Math.round(group.metrics_group_creation_timestamp * 1000);
  const type = group.metrics_group_type;
  return group.metrics.map((m) => ({
    name: sampleName(type, m.metric_name, m.metric_type),
    labels,
    value: m.metric_value,
    type: m.metric_type,
    timestampMs,
    group: type,
    metric: m.metric_name,
  }));
}

/** The HELP text of a sample's family. */
export function helpText(sample: PromSample): string {
  return sample.type === 'counter'
    ? `Panoptes ${sample.group} metric ${sample.metric}: the raw counter.`
    : `Panoptes ${sample.group} metric ${sample.metric}.`;
}
