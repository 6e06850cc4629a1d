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
 * its rates) with toJSON()/fromJSON().
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

export type RateResult =
  | { readonly kind: 'rate'; readonly perSecond: number; readonly wrapped: boolean }
  | { readonly kind: 'none'; readonly reason: 'first' | 'reboot' | 'gap' | 'reset' | 'time' };

interface Last {
  value: bigint;
  timestamp: number;
  sysUpTime: number | undefined;
}

const TWO_32 = 2n ** 32n;

export interface CounterCheckpoint {
  readonly version: 1;
  readonly series: Readonly<Record<string, { value: string; timestamp: number; sysUpTime?: number }>>;
}

export class CounterHistory {
  private readonly last = new Map<string, Last>();

  get size(): number {
    return this.last.size;
  }

  /** Records the sample and returns the rate since the previous one, or why there is none. */
  update(sample: CounterSample): RateResult {
    const value = typeof sample.value === 'bigint' ? sample.value : BigInt(Math.trunc(sample.value));
    const prev = this.last.get(sample.series);
    this.last.set(sample.series, { value, timestamp: sample.timestamp, sysUpTime: sample.sysUpTime });
    if (prev === undefined) return { kind: 'none', reason: 'first' };
    if (sample.sysUpTime !== undefined && prev.sysUpTime !== undefined && sample.sysUpTime < prev.sysUpTime) {
      return { kind: 'none', reason: 'reboot' };
    }
    const elapsed = sample.timestamp - prev.timestamp;
    if (!(elapsed > 0)) return { kind: 'none', reason: 'time' };
    if (elapsed > 3 * sample.intervalSeconds) return { kind: 'none', reason: 'gap' };
    let delta = value - prev.value;
    let wrapped = false;
    if (delta < 0n) {
      if (sample.width === 64) return { kind: 'none', reason: 'reset' };
      const scale = sample.scale ?? 1;
      const wrappedDelta =
        delta + (Number.isSafeInteger(scale) && scale > 1 ? TWO_32 * BigInt(scale) : TWO_32);
      const perSecond = Number(wrappedDelta) / elapsed;
      if (
        wrappedDelta < 0n ||
        (sample.maxRatePerSecond !== undefined && perSecond > sample.maxRatePerSecond)
      ) {
        return { kind: 'none', reason: 'reset' };
      }
      delta = wrappedDelta;
      wrapped = true;
    }
    return { kind: 'rate', perSecond: Number(delta) / elapsed, wrapped };
  }

  /** Forgets a series (e.g. an interface that disappeared). */
  forget(series: string): void {
    this.last.delete(series);
  }

  /**
   * Forgets every series last sampled before `timestamp` (seconds): past the gap rule they
   * would only re-baseline, so keeping them is memory for nothing. Returns how many went.
   */
  prune(timestamp: number): number {
    let n = 0;
    for (const [key, l] of this.last) {
      if (l.timestamp < timestamp) {
        this.last.delete(key);
        n++;
      }
    }
    return n;
  }

  toJSON(): CounterCheckpoint {
    const series: Record<string, { value: string; timestamp: number; sysUpTime?: number }> = {};
    for (const [key, l] of this.last) {
      series[key] = {
        value: l.value.toString(),
        timestamp: l.timestamp,
        ...(l.sysUpTime === undefined ? {} : { sysUpTime: l.sysUpTime }),
      };
    }
    return { version: 1, series };
  }

  static fromJSON(checkpoint: CounterCheckpoint): CounterHistory {
    const history = new CounterHistory();
    for (const [key, l] of Object.entries(checkpoint.series)) {
      if (!/^\d+$/.test(l.value) || !Number.isFinite(l.timestamp)) continue;
      history.last.set(key, { value: BigInt(l.value), timestamp: l.timestamp, sysUpTime: l.sysUpTime });
    }
    return history;
  }
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
