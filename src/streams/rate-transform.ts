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

/** Counter names to turn into rates, by metrics group type. */
function countersByType(transforms: readonly RateRule[]): Map<string, Set<string>> {
  const byType = new Map<string, Set<string>>();
  for (const t of transforms) {
    let set = byType.get(t.metricsGroupType);
    if (set === undefined) byType.set(t.metricsGroupType, (set = new Set()));
    for (const c of t.counters) set.add(c);
  }
  return byType;
}

export function applyRateTransforms(input: RateTransformInput): RateTransformOutput {
  const skipped: Record<string, number> = {};
  if (input.transforms.length === 0) return { groups: input.groups, rates: 0, skipped };
  const byType = countersByType(input.transforms);
  let rates = 0;
  const groups = input.groups.map((group) => {
    const names = byType.get(group.metrics_group_type);
    if (names === undefined) return group;
    const hints = input.counters?.get(group);
    const prefix = seriesKeyPrefix(
      input.resourceId,
      group.dimensions.map((d) => ({ name: d.dimension_name, value: d.dimension_value })),
    );
    const gauges = new Set(group.metrics.filter((m) => m.metric_type === 'gauge').map((m) => m.metric_name));
    const added: Metric[] = [];
    for (const m of group.metrics) {
      if (m.metric_type !== 'counter' || !names.has(m.metric_name) || gauges.has(m.metric_name)) continue;
      const hint = hints?.[m.metric_name];
      const result = input.history.update({
        series: prefix + JSON.stringify(`${group.metrics_group_type}.${m.metric_name}`),
        value: m.metric_value,
        width: hint?.width ?? 64,
        ...(hint?.scale === undefined ? {} : { scale: hint.scale }),
        ...(hint?.maxPerSecond === undefined ? {} : { maxRatePerSecond: hint.maxPerSecond }),
        timestamp: m.metric_creation_timestamp,
        intervalSeconds: group.metrics_group_interval,
        ...(input.sysUpTime === undefined ? {} : { sysUpTime: input.sysUpTime }),
      });
      if (result.kind === 'rate') {
        added.push({
          metric_name: m.metric_name,
          metric_value: result.perSecond,
          metric_type: 'gauge',
          metric_creation_timestamp: m.metric_creation_timestamp,
        });
      } else {
        skipped[result.reason] = (skipped[result.reason] ?? 0) + 1;
      }
    }
    if (added.length === 0) return group;
    rates += added.length;
    return { ...group, metrics: [...group.metrics, ...added] };
  });
  return { groups, rates, skipped };
}
