import { describe, expect, it } from 'vitest';
import { parseMetricsGroup } from '../../src/model/index.js';
import type { Metric, MetricValue, MetricsGroup } from '../../src/model/index.js';
import { CounterHistory } from '../../src/streams/counter-rate.js';
import type { CounterHint } from '../../src/streams/counter-rate.js';
import { applyRateTransforms } from '../../src/streams/rate-transform.js';
import type { RateRule, RateTransformInput, RateTransformOutput } from '../../src/streams/rate-transform.js';
import { resource } from '../support/polling-fixtures.js';

const R1 = resource('r1');
const INTERFACE_RATES: RateRule = { metricsGroupType: 'interface', counters: ['bits_in', 'packets_in'] };

const counter = (name: string, value: MetricValue, ts: number): Metric => ({
  metric_name: name,
  metric_value: value,
  metric_type: 'counter',
  metric_creation_timestamp: ts,
});

const gauge = (name: string, value: number, ts: number): Metric => ({
  metric_name: name,
  metric_value: value,
  metric_type: 'gauge',
  metric_creation_timestamp: ts,
});

function group(
  type: string,
  ts: number,
  metrics: readonly Metric[],
  options: { interface?: string; interval?: number } = {},
): MetricsGroup {
  return {
    metrics_group_schema_version: '0.2',
    metrics_group_type: type,
    metrics_group_interval: options.interval ?? 60,
    metrics_group_creation_timestamp: ts,
    resource: R1,
    dimensions:
      type === 'interface'
        ? [{ dimension_name: 'interface_name', dimension_value: options.interface ?? 'Gi0/1' }]
        : [],
    metrics,
  };
}

/** Freezes a group and everything in it, so a change in place throws. */
function frozen(g: MetricsGroup): MetricsGroup {
  for (const m of g.metrics) Object.freeze(m);
  for (const d of g.dimensions) Object.freeze(d);
  Object.freeze(g.metrics);
  Object.freeze(g.dimensions);
  return Object.freeze(g);
}

function apply(
  history: CounterHistory,
  groups: readonly MetricsGroup[],
  extra: Partial<Omit<RateTransformInput, 'groups' | 'history'>> = {},
): RateTransformOutput {
  return applyRateTransforms({
    resourceId: 'r1',
    transforms: [INTERFACE_RATES],
    history,
    groups,
    ...extra,
  });
}

/** The rate gauges of a group, by name. */
function rates(g: MetricsGroup | undefined): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  for (const m of g?.metrics ?? []) if (m.metric_type === 'gauge') out[m.metric_name] = m.metric_value;
  return out;
}

describe('applyRateTransforms: which groups and counters', () => {
  it('adds gauges only to groups of a rule type, only for the counters the rules name', () => {
    const h = new CounterHistory();
    const poll = (ts: number, v: number): MetricsGroup[] => [
      group('interface', ts, [counter('bits_in', v, ts), counter('errors_in', v, ts)]),
      group('cpu', ts, [counter('bits_in', v, ts)]),
    ];
    apply(h, poll(0, 0));
    const input = poll(60, 600);
    const out = apply(h, input);
    expect(out.rates).toBe(1);
    expect(out.groups[0]?.metrics).toEqual([
      counter('bits_in', 600, 60),
      counter('errors_in', 600, 60),
      gauge('bits_in', 10, 60),
    ]);
    // The cpu group has a bits_in counter but no rule: left alone, same object.
    expect(out.groups[1]).toBe(input[1]);
  });

  it('merges the counters of several rules for one type', () => {
    const h = new CounterHistory();
    const transforms: RateRule[] = [
      { metricsGroupType: 'interface', counters: ['bits_in'] },
      { metricsGroupType: 'interface', counters: ['errors_in'] },
      { metricsGroupType: 'cpu', counters: ['ticks'] },
    ];
    const poll = (ts: number, v: number): MetricsGroup[] => [
      group('interface', ts, [counter('bits_in', v, ts), counter('errors_in', 2 * v, ts)]),
      group('cpu', ts, [counter('ticks', 3 * v, ts), counter('other', v, ts)]),
    ];
    apply(h, poll(0, 0), { transforms });
    const out = apply(h, poll(60, 60), { transforms });
    expect(out.rates).toBe(3);
    expect(rates(out.groups[0])).toEqual({ bits_in: 1, errors_in: 2 });
    expect(rates(out.groups[1])).toEqual({ ticks: 3 });
  });

  it('with no rules returns the very same groups and touches no history', () => {
    const h = new CounterHistory();
    const groups = [group('interface', 0, [counter('bits_in', 1, 0)])];
    const out = apply(h, groups, { transforms: [] });
    expect(out.groups).toBe(groups);
    expect(out).toMatchObject({ rates: 0, skipped: {} });
    expect(h.size).toBe(0);
  });
});

describe('applyRateTransforms: the rate gauge', () => {
  it('keeps the counter and appends a gauge of the same name: the float rate, the counter timestamp', () => {
    const h = new CounterHistory();
    apply(h, [frozen(group('interface', 1000.25, [counter('bits_in', 1000, 1000.25)]))]);
    const input = frozen(group('interface', 1060.5, [counter('bits_in', 1001, 1060.75)]));
    const before = structuredClone(input);
    const out = apply(h, [input]);
    const g = out.groups[0];
    expect(g).not.toBe(input);
    expect(g?.metrics).toEqual([counter('bits_in', 1001, 1060.75), gauge('bits_in', 1 / 60.5, 1060.75)]);
    // Everything else of the group is kept.
    expect({ ...g, metrics: [] }).toEqual({ ...input, metrics: [] });
    // The input is not changed (it is frozen, and still equal to its copy).
    expect(input).toEqual(before);
    expect(input.metrics).toHaveLength(1);
    // A counter and its rate gauge may share a name: the result is a valid group.
    expect(parseMetricsGroup(g)).toMatchObject({ ok: true });
  });

  it('first sample: no gauge, the group itself is returned, skipped.first is counted', () => {
    const h = new CounterHistory();
    const input = [
      group('interface', 0, [counter('bits_in', 1, 0), counter('packets_in', 1, 0)]),
      group('interface', 0, [counter('bits_in', 1, 0)], { interface: 'Gi0/2' }),
    ];
    const out = apply(h, input);
    expect(out.rates).toBe(0);
    expect(out.skipped).toEqual({ first: 3 });
    expect(out.groups[0]).toBe(input[0]);
    expect(out.groups[1]).toBe(input[1]);
    expect(h.size).toBe(3);
  });

  it('Counter64 values beyond 2^53 as bigint give exact rates', () => {
    const h = new CounterHistory();
    const k = 7n;
    apply(h, [group('interface', 0, [counter('bits_in', 2n ** 60n + k, 0)])]);
    const out = apply(h, [group('interface', 60, [counter('bits_in', 2n ** 60n + k + 101n, 60)])]);
    // As floats the two values are the same number: the rate would be 0.
    expect(Number(2n ** 60n + k)).toBe(Number(2n ** 60n + k + 101n));
    expect(rates(out.groups[0])).toEqual({ bits_in: 101 / 60 });
    expect(out.groups[0]?.metrics[0]?.metric_value).toBe(2n ** 60n + k + 101n);
  });

  it('a counter that already has a gauge of that name in the group gets no second gauge', () => {
    const h = new CounterHistory();
    const poll = (ts: number, v: number): MetricsGroup =>
      group('interface', ts, [
        counter('bits_in', v, ts),
        gauge('bits_in', 42, ts),
        counter('packets_in', v, ts),
      ]);
    apply(h, [poll(0, 0)]);
    const out = apply(h, [poll(60, 600)]);
    const g = out.groups[0];
    expect(g?.metrics.filter((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge')).toEqual([
      gauge('bits_in', 42, 60),
    ]);
    expect(rates(g)).toEqual({ bits_in: 42, packets_in: 10 });
    expect(out.rates).toBe(1);
    expect(parseMetricsGroup(g)).toMatchObject({ ok: true });
  });
});

describe('applyRateTransforms: series', () => {
  it('keeps one history per dimensions: two interfaces have their own rates', () => {
    const h = new CounterHistory();
    const poll = (ts: number, a: number, b: number): MetricsGroup[] => [
      group('interface', ts, [counter('bits_in', a, ts)], { interface: 'Gi0/1' }),
      group('interface', ts, [counter('bits_in', b, ts)], { interface: 'Gi0/2' }),
    ];
    expect(apply(h, poll(0, 1000, 5_000_000)).skipped).toEqual({ first: 2 });
    const out = apply(h, poll(60, 1600, 5_060_000));
    expect(out.groups.map(rates)).toEqual([{ bits_in: 10 }, { bits_in: 1000 }]);
    expect(h.size).toBe(2);
  });

  it('keeps one history per resource', () => {
    const h = new CounterHistory();
    apply(h, [group('interface', 0, [counter('bits_in', 0, 0)])], { resourceId: 'r1' });
    const other = apply(h, [group('interface', 60, [counter('bits_in', 600, 60)])], { resourceId: 'r2' });
    expect(other.skipped).toEqual({ first: 1 });
    expect(other.rates).toBe(0);
  });

  it('re-baselines after a gap of more than 3 x metrics_group_interval', () => {
    const h = new CounterHistory();
    apply(h, [group('interface', 0, [counter('bits_in', 0, 0)])]);
    const gap = apply(h, [group('interface', 181, [counter('bits_in', 1810, 181)])]);
    expect(gap).toMatchObject({ rates: 0, skipped: { gap: 1 } });
    expect(rates(gap.groups[0])).toEqual({});
    const next = apply(h, [group('interface', 241, [counter('bits_in', 2410, 241)])]);
    expect(rates(next.groups[0])).toEqual({ bits_in: 10 });
  });

  it('the gap rule uses the group interval: the same 181 s is no gap for a 300 s group', () => {
    const h = new CounterHistory();
    const opts = { interval: 300 };
    apply(h, [group('interface', 0, [counter('bits_in', 0, 0)], opts)]);
    const out = apply(h, [group('interface', 181, [counter('bits_in', 1810, 181)], opts)]);
    expect(rates(out.groups[0])).toEqual({ bits_in: 10 });
  });
});

describe('applyRateTransforms: counter widths and hints', () => {
  it('a counter without a hint is 64-bit: a decrease is a reset, even where a 32-bit wrap would fit', () => {
    const h = new CounterHistory();
    apply(h, [group('interface', 0, [counter('bits_in', 4_294_967_000, 0)])]);
    const out = apply(h, [group('interface', 60, [counter('bits_in', 2704, 60)])]);
    expect(out).toMatchObject({ rates: 0, skipped: { reset: 1 } });
    expect(rates(out.groups[0])).toEqual({});
  });

  it('the same values with a hint of width 32 are a wrap', () => {
    const h = new CounterHistory();
    const first = group('interface', 0, [counter('bits_in', 4_294_967_000, 0)]);
    const second = group('interface', 60, [counter('bits_in', 2704, 60)]);
    const hint: Record<string, CounterHint> = { bits_in: { width: 32 } };
    apply(h, [first], { counters: new Map([[first, hint]]) });
    const out = apply(h, [second], { counters: new Map([[second, hint]]) });
    expect(rates(out.groups[0])).toEqual({ bits_in: (296 + 2704) / 60 });
  });

  it('hints are looked up by group identity: a hint for another group object does not apply', () => {
    const h = new CounterHistory();
    const first = group('interface', 0, [counter('bits_in', 4_294_967_000, 0)]);
    const second = group('interface', 60, [counter('bits_in', 2704, 60)]);
    const lookalike = group('interface', 60, [counter('bits_in', 2704, 60)]);
    const hint: Record<string, CounterHint> = { bits_in: { width: 32 } };
    apply(h, [first], { counters: new Map([[first, hint]]) });
    const out = apply(h, [second], { counters: new Map([[lookalike, hint]]) });
    expect(out.skipped).toEqual({ reset: 1 });
  });

  it('a hint maxPerSecond turns an implausible 32-bit wrap into a reset', () => {
    const h = new CounterHistory();
    const hint: Record<string, CounterHint> = { bits_in: { width: 32, maxPerSecond: 1000 } };
    const first = group('interface', 0, [counter('bits_in', 100_000, 0)]);
    const second = group('interface', 60, [counter('bits_in', 50, 60)]);
    apply(h, [first], { counters: new Map([[first, hint]]) });
    expect(apply(h, [second], { counters: new Map([[second, hint]]) }).skipped).toEqual({ reset: 1 });
  });

  it('follows a recorded sequence: a scaled Counter32 wrap, a Counter64 reset, a reboot', () => {
    // An interface polled every 60 s: bits_in is ifInOctets (Counter32) x 8, packets_in is a Counter64
    // beyond 2^53. The device carries 10,000 octets/s (80,000 bits/s) and 100 packets/s.
    const TWO_32 = 2 ** 32;
    const P = 2n ** 60n;
    const recorded: { ts: number; upTime: number; octets: number; packets: bigint }[] = [
      { ts: 1000, upTime: 100_000, octets: 4_294_000_000, packets: P },
      { ts: 1060, upTime: 106_000, octets: 4_294_600_000, packets: P + 6000n },
      { ts: 1120, upTime: 112_000, octets: 4_294_600_000 + 600_000 - TWO_32, packets: P + 12_000n }, // wrapped
      { ts: 1180, upTime: 118_000, octets: 4_294_600_000 + 1_200_000 - TWO_32, packets: 500n }, // Counter64 reset
      { ts: 1240, upTime: 2_000, octets: 1_000, packets: 1_000n }, // rebooted
      { ts: 1300, upTime: 8_000, octets: 601_000, packets: 7_000n },
      { ts: 1360, upTime: 14_000, octets: 1_201_000, packets: 13_000n },
    ];
    const h = new CounterHistory();
    const results = recorded.map(({ ts, upTime, octets, packets }) => {
      const g = frozen(
        group('interface', ts, [counter('bits_in', octets * 8, ts), counter('packets_in', packets, ts)]),
      );
      const out = apply(h, [g], {
        sysUpTime: upTime,
        counters: new Map([[g, { bits_in: { width: 32, scale: 8 }, packets_in: { width: 64 } }]]),
      });
      return { gauges: rates(out.groups[0]), skipped: out.skipped, rates: out.rates };
    });
    expect(results).toEqual([
      { gauges: {}, skipped: { first: 2 }, rates: 0 },
      { gauges: { bits_in: 80_000, packets_in: 100 }, skipped: {}, rates: 2 },
      { gauges: { bits_in: 80_000, packets_in: 100 }, skipped: {}, rates: 2 },
      { gauges: { bits_in: 80_000 }, skipped: { reset: 1 }, rates: 1 },
      { gauges: {}, skipped: { reboot: 2 }, rates: 0 },
      { gauges: { bits_in: 80_000, packets_in: 100 }, skipped: {}, rates: 2 },
      { gauges: { bits_in: 80_000, packets_in: 100 }, skipped: {}, rates: 2 },
    ]);
  });
});
