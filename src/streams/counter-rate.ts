/**
 * Counter -> rate, per series (metric name + dimensions + resource id), from the last sample
 * (value, timestamp, device sysUpTime). Rules:
 *   - first sample of a series: no rate (baseline);
 *   - the device rebooted (sysUpTime went down): re-baseline, no rate;
 *   - more than 3 intervals since the last sample: re-baseline, no rate;
 *   - a Counter32 that went down wrapped once if the implied rate is plausible (at most the
 *     series' maximum rate, e.g. the interface speed, when known), else it was reset: no rate;
 *   - a Counter64 that went down was reset (a 64-bit counter does not wrap in practice): no rate;
 *   - otherwise rate = (value - last) / (timestamp - last timestamp), a float per second.
 * Values are bigint or number; differences are taken in bigint so 64-bit counters keep their
 * precision, and only the difference (small) becomes a float.
 *
 * The history is plain data so it can be checkpointed (a resource moving to another node keeps
 * its rates) with toJSON()/fromJSON(), as text with checkpointText()/historyFromCheckpointText().
 */

export type CounterWidth = 32 | 64;

/**
 * How the rate transform treats one counter of a metrics group (a plugin gives it). Without a
 * hint a counter is taken as a 64-bit counter: a decrease is a reset, never a wrap.
 */
export interface CounterHint {
  /** Width of the device counter the value comes from. */
  readonly width: CounterWidth;
  /** The value is the device counter times this integer (8 for bits from octets). Default 1. */
  readonly scale?: number;
  /** Highest plausible rate of the value per second (e.g. the interface speed in bits/s). */
  readonly maxPerSecond?: number;
}

export interface CounterSample {
  /** Identifies the series: metric name, dimensions and resource id. */
  readonly series: string;
  readonly value: bigint | number;
  readonly width: CounterWidth;
  /**
   * The value is the device counter times this integer (8 for bits counted from octets), so a
   * Counter32 wraps at 2^32 * scale. Default 1.
   */
  readonly scale?: number;
  /** Seconds since the epoch (float). */
  readonly timestamp: number;
  /** Seconds between polls of this series. */
  readonly intervalSeconds: number;
  /** Device sysUpTime in hundredths of a second, when known. */
  readonly sysUpTime?: number;
  /** Highest plausible rate in counter units per second (e.g. octets/s of the interface speed). */
  readonly maxRatePerSecond?: number;
}

export type RateSkipReason = 'first' | 'reboot' | 'gap' | 'reset' | 'time';

export type RateResult =
  | { readonly kind: 'rate'; readonly perSecond: number; readonly wrapped: boolean }
  | { readonly kind: 'none'; readonly reason: RateSkipReason };

interface Last {
  value: bigint;
  timestamp: number;
  sysUpTime: number | undefined;
}

/** The series of one group: the metric part of the series key -> last sample. */
export type GroupSeries = Map<string, Last>;

const TWO_32 = 2n ** 32n;

/**
 * One series of a checkpoint group: `[metric, value]` when it was sampled at the same timestamp
 * and sysUpTime as the entry before it in the group (the common case: a group's counters come
 * from one poll), else `[metric, value, timestamp, sysUpTime or null]`. The metric is the metric
 * part of the series key; the value is the counter's decimal digits (exact for 64 bits).
 */
export type CheckpointEntry =
  | readonly [metric: string, value: string]
  | readonly [metric: string, value: string, timestamp: number, sysUpTime: number | null];

/**
 * A counter history as plain data (version 2): the series by group, so the part of the keys a
 * group's metrics share (resource and dimensions) is written once per group, not once per
 * series as version 1 did (about 8x larger for interface groups).
 */
export interface CounterCheckpoint {
  readonly version: 2;
  readonly groups: readonly (readonly [prefix: string, entries: readonly CheckpointEntry[]])[];
}

/** Version 1: every series under its whole key. Still read (checkpoints of older nodes). */
export interface CounterCheckpointV1 {
  readonly version: 1;
  readonly series: Readonly<Record<string, { value: string; timestamp: number; sysUpTime?: number }>>;
}

function parsesAs(text: string, kind: 'array' | 'string'): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return kind === 'array' ? Array.isArray(v) : typeof v === 'string';
  } catch {
    return false;
  }
}

/**
 * Splits a series key into the group part (`seriesKeyPrefix`: a JSON array and ':') and the
 * metric part (a JSON string). Keys that `seriesKey` did not make have no group part. Not on the
 * hot path: polls reach their series by group and metric directly.
 */
function splitSeriesKey(series: string): [string, string] {
  // `]:"` may also occur inside the array (a value ending in "]:"); only one split leaves a whole
  // JSON array before it and a JSON string after it.
  for (let at = series.indexOf(']:"'); at >= 0; at = series.indexOf(']:"', at + 1)) {
    const prefix = series.slice(0, at + 2);
    const metric = series.slice(at + 2);
    if (parsesAs(prefix.slice(0, -1), 'array') && parsesAs(metric, 'string')) return [prefix, metric];
  }
  return ['', series];
}

export class CounterHistory {
  /** Series by group (the part of the key shared by a group's metrics), then by metric. */
  private readonly groups = new Map<string, GroupSeries>();
  private count = 0;
  /** Whether the last rate rateIn() returned came from a Counter32 wrap. */
  lastWrapped = false;

  get size(): number {
    return this.count;
  }

  /** The series of one group, by `seriesKeyPrefix(resource, dimensions)`, for rateIn(). */
  groupSeries(prefix: string): GroupSeries {
    let group = this.groups.get(prefix);
    if (group === undefined) {
      group = new Map();
      this.groups.set(prefix, group);
    }
    return group;
  }

  /** Records the sample and returns the rate since the previous one, or why there is none. */
  update(sample: CounterSample): RateResult {
    const [prefix, metric] = splitSeriesKey(sample.series);
    const r = this.rateIn(
      this.groupSeries(prefix),
      metric,
      sample.value,
      sample.width,
      sample.scale,
      sample.maxRatePerSecond,
      sample.timestamp,
      sample.intervalSeconds,
      sample.sysUpTime,
    );
    return typeof r === 'number'
      ? { kind: 'rate', perSecond: r, wrapped: this.lastWrapped }
      : { kind: 'none', reason: r };
  }

  /**
   * update() without building a sample or a result (the per-counter hot path of every poll):
   * the rate per second, or the reason there is none. `metric` is the metric part of the series
   * key within `group` (from groupSeries).
   */
  rateIn(
    group: GroupSeries,
    metric: string,
    sampleValue: bigint | number,
    width: CounterWidth,
    scale: number | undefined,
    maxRatePerSecond: number | undefined,
    timestamp: number,
    intervalSeconds: number,
    sysUpTime: number | undefined,
  ): number | RateSkipReason {
    const value = typeof sampleValue === 'bigint' ? sampleValue : BigInt(Math.trunc(sampleValue));
    const prev = group.get(metric);
    if (prev === undefined) {
      group.set(metric, { value, timestamp, sysUpTime });
      this.count++;
      return 'first';
    }
    const prevValue = prev.value;
    const prevTimestamp = prev.timestamp;
    const prevUpTime = prev.sysUpTime;
    prev.value = value;
    prev.timestamp = timestamp;
    prev.sysUpTime = sysUpTime;
    if (sysUpTime !== undefined && prevUpTime !== undefined && sysUpTime < prevUpTime) return 'reboot';
    const elapsed = timestamp - prevTimestamp;
    if (!(elapsed > 0)) return 'time';
    if (elapsed > 3 * intervalSeconds) return 'gap';
    let delta = value - prevValue;
    this.lastWrapped = false;
    if (delta < 0n) {
      if (width === 64) return 'reset';
      const s = scale ?? 1;
      const wrappedDelta = delta + (Number.isSafeInteger(s) && s > 1 ? TWO_32 * BigInt(s) : TWO_32);
      const perSecond = Number(wrappedDelta) / elapsed;
      if (wrappedDelta < 0n || (maxRatePerSecond !== undefined && perSecond > maxRatePerSecond)) {
        return 'reset';
      }
      delta = wrappedDelta;
      this.lastWrapped = true;
    }
    return Number(delta) / elapsed;
  }

  /** Forgets a series (e.g. an interface that disappeared). */
  forget(series: string): void {
    const [prefix, metric] = splitSeriesKey(series);
    const group = this.groups.get(prefix);
    if (group?.delete(metric) === true) {
      this.count--;
      if (group.size === 0) this.groups.delete(prefix);
    }
  }

  /**
   * Forgets every series last sampled before `timestamp` (seconds): past the gap rule they
   * would only re-baseline, so keeping them is memory for nothing. Returns how many went.
   */
  prune(timestamp: number): number {
    let n = 0;
    for (const [prefix, group] of this.groups) {
      for (const [metric, l] of group) {
        if (l.timestamp < timestamp) {
          group.delete(metric);
          n++;
        }
      }
      if (group.size === 0) this.groups.delete(prefix);
    }
    this.count -= n;
    return n;
  }

  toJSON(): CounterCheckpoint {
    const groups: [string, CheckpointEntry[]][] = [];
    for (const [prefix, group] of this.groups) {
      const entries: CheckpointEntry[] = [];
      let timestamp = NaN;
      let upTime: number | null = null;
      for (const [metric, l] of group) {
        const up = l.sysUpTime ?? null;
        if (entries.length > 0 && l.timestamp === timestamp && up === upTime) {
          entries.push([metric, l.value.toString()]);
        } else {
          entries.push([metric, l.value.toString(), l.timestamp, up]);
          timestamp = l.timestamp;
          upTime = up;
        }
      }
      groups.push([prefix, entries]);
    }
    return { version: 2, groups };
  }

  /**
   * The history a checkpoint (version 2, or 1 from an older node) holds. Entries that are not
   * well formed (a value that is not decimal digits, a timestamp that is not a number) are left
   * out: their series re-baseline, as new ones do.
   */
  static fromJSON(checkpoint: CounterCheckpoint | CounterCheckpointV1): CounterHistory {
    const history = new CounterHistory();
    if (checkpoint.version === 1) {
      for (const [key, l] of Object.entries(checkpoint.series)) {
        const [prefix, metric] = splitSeriesKey(key);
        history.restore(prefix, metric, l.value, l.timestamp, l.sysUpTime);
      }
      return history;
    }
    for (const g of checkpoint.groups) {
      if (!Array.isArray(g) || typeof g[0] !== 'string' || !Array.isArray(g[1])) continue;
      let timestamp: unknown;
      let upTime: unknown;
      for (const e of g[1]) {
        if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
        if (e.length >= 3) {
          timestamp = e[2];
          upTime = e[3];
        }
        history.restore(g[0], e[0], e[1], timestamp, upTime);
      }
    }
    return history;
  }

  /** Adds one restored series if its parts are well formed. */
  private restore(prefix: string, metric: string, value: unknown, timestamp: unknown, upTime: unknown): void {
    if (typeof value !== 'string' || !/^\d+$/.test(value)) return;
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return;
    const group = this.groupSeries(prefix);
    if (!group.has(metric)) this.count++;
    const sysUpTime = typeof upTime === 'number' && Number.isFinite(upTime) ? upTime : undefined;
    group.set(metric, { value: BigInt(value), timestamp, sysUpTime });
  }
}

/** The text a counter history is checkpointed as (in the store, under `keys.counters`). */
export function checkpointText(history: CounterHistory): string {
  return JSON.stringify(history.toJSON());
}

/**
 * The history a checkpoint's text holds, or undefined when it is not a version 1 checkpoint.
 * Throws a SyntaxError when the text is not JSON.
 */
export function historyFromCheckpointText(text: string): CounterHistory | undefined {
  const c = JSON.parse(text) as Partial<CounterCheckpoint> | Partial<CounterCheckpointV1> | null;
  if (c?.version === 2 && Array.isArray(c.groups)) return CounterHistory.fromJSON(c as CounterCheckpoint);
  if (c?.version === 1 && typeof c.series === 'object' && c.series !== null) {
    return CounterHistory.fromJSON(c as CounterCheckpointV1);
  }
  return undefined;
}

/** A series key: resource, metric and dimensions (sorted), unambiguous for any names. */
export function seriesKey(
  resourceId: string,
  metric: string,
  dimensions: readonly { name: string; value: string }[],
): string {
  return seriesKeyPrefix(resourceId, dimensions) + JSON.stringify(metric);
}

/**
 * The part of series keys shared by every metric of one group (resource and dimensions):
 * `seriesKeyPrefix(r, d) + JSON.stringify(metric)` equals `seriesKey(r, metric, d)`.
 */
export function seriesKeyPrefix(
  resourceId: string,
  dimensions: readonly { name: string; value: string }[],
): string {
  const dims = [...dimensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${JSON.stringify([resourceId, ...dims.map((d) => [d.name, d.value])])}:`;
}
