/**
 * The `[transforms]` of a polling plugin applied to its groups: for every counter a `rate`
 * transform names, in groups of the transform's type, the group gains a gauge of the same name
 * holding the per-second rate (Panoptes' convention); the counter stays. Rates follow the rules of
 * CounterHistory (first sample, reboot, wrap or reset, gap). A group is never changed in place:
 * groups that gain a rate are copied.
 */
import type { Metric, MetricsGroup } from '../model/index.js';
import { seriesKeyPrefix } from './counter-rate.js';
import type { CounterHint, CounterHistory } from './counter-rate.js';

/** A `[transforms]` rate rule: the counters of groups of one type that get a rate. */
export interface RateRule {
  readonly metricsGroupType: string;
  readonly counters: readonly string[];
}

export interface RateTransformInput {
  readonly resourceId: string;
  readonly groups: readonly MetricsGroup[];
  readonly transforms: readonly RateRule[];
  readonly history: CounterHistory;
  /** Device sysUpTime (hundredths of a second) at the poll, when the plugin read it. */
  readonly sysUpTime?: number;
  readonly counters?: ReadonlyMap<MetricsGroup, Readonly<Record<string, CounterHint>>>;
}

export interface RateTransformOutput {
  readonly groups: readonly MetricsGroup[];
  /** Rate gauges added. */
  readonly rates: number;
  /** Counters that gave no rate this time, by reason (first, reboot, gap, reset, time). */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Counter names to turn into rates, by metrics group type (per transforms list, built once). */
const byTypeCache = new WeakMap<readonly RateRule[], Map<string, Set<string>>>();

function countersByType(transforms: readonly RateRule[]): Map<string, Set<string>> {
  const cached = byTypeCache.get(transforms);
  if (cached !== undefined) return cached;
  const byType = new Map<string, Set<string>>();
  for (const t of transforms) {
    let set = byType.get(t.metricsGroupType);
    if (set === undefined) byType.set(t.metricsGroupType, (set = new Set()));
    for (const c of t.counters) set.add(c);
  }
  byTypeCache.set(transforms, byType);
  return byType;
}

/** The metric part of series keys, `JSON.stringify("<type>.<metric>")`, made once per pair. */
const metricKeys = new Map<string, Map<string, string>>();

function metricKey(type: string, metric: string): string {
  let byMetric = metricKeys.get(type);
  if (byMetric === undefined) {
    byMetric = new Map();
    metricKeys.set(type, byMetric);
  }
  let key = byMetric.get(metric);
  if (key === undefined) {
    key = JSON.stringify(`${type}.${metric}`);
    // Names come from plugins' transforms, a small fixed set; the bound only guards against misuse.
    if (byMetric.size < 10_000) byMetric.set(metric, key);
  }
  return key;
}

function hasGauge(metrics: readonly Metric[], name: string): boolean {
  for (const m of metrics) if (m.metric_type === 'gauge' && m.metric_name === name) return true;
  return false;
}

export function applyRateTransforms(input: RateTransformInput): RateTransformOutput {
  const skipped: Record<string, number> = {};
  if (input.transforms.length === 0) return { groups: input.groups, rates: 0, skipped };
  const byType = countersByType(input.transforms);
  const history = input.history;
  const sysUpTime = input.sysUpTime;
  let rates = 0;
  const groups = input.groups.map((group) => {
    const type = group.metrics_group_type;
    const names = byType.get(type);
    if (names === undefined) return group;
    const hints = input.counters?.get(group);
    const series = history.groupSeries(
      seriesKeyPrefix(
        input.resourceId,
        group.dimensions.map((d) => ({ name: d.dimension_name, value: d.dimension_value })),
      ),
    );
    let added: Metric[] | undefined;
    for (const m of group.metrics) {
      const name = m.metric_name;
      if (m.metric_type !== 'counter' || !names.has(name) || hasGauge(group.metrics, name)) continue;
      const hint = hints?.[name];
      const result = history.rateIn(
        series,
        metricKey(type, name),
        m.metric_value,
        hint?.width ?? 64,
        hint?.scale,
        hint?.maxPerSecond,
        m.metric_creation_timestamp,
        group.metrics_group_interval,
        sysUpTime,
      );
      if (typeof result === 'number') {
        (added ??= []).push({
          metric_name: name,
          metric_value: result,
          metric_type: 'gauge',
          metric_creation_timestamp: m.metric_creation_timestamp,
        });
      } else {
        skipped[result] = (skipped[result] ?? 0) + 1;
      }
    }
    if (added === undefined) return group;
    rates += added.length;
    return { ...group, metrics: [...group.metrics, ...added] };
  });
  return { groups, rates, skipped };
}
