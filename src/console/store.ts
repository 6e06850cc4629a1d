/**
 * ConsoleStore: what the live console shows, held in memory with fixed bounds.
 *
 * - Devices: one entry per resource seen on `<site>-processed` (class, endpoint, the last
 *   polling status of each plugin from its `status` group, when it was last heard of). At most
 *   `maxDevices`; a new device beyond that evicts the least recently updated one, series and all.
 * - Series: one per device and chart line (an interface's traffic, a CPU, a memory type, a
 *   sensor; see charts.ts), each a SeriesRing sized to hold `historySeconds` at its group's
 *   interval, so it wraps instead of growing. At most `maxSeries`; a new series beyond that
 *   evicts the least recently updated one (a device that stopped answering goes before a live
 *   one). Both caps use a Map's insertion order as the recency list: an update moves the entry
 *   to the end (delete and set), eviction takes the first.
 *
 * Memory: each series costs its ring (capacity x (4 + 4 x fields) bytes) plus a fixed overhead
 * (the entry, its key and the typed arrays' headers), measured by scripts/console-memory.ts and
 * stated in the README; `bytes` reports that estimate for /metrics.
 */
import type { MetricsGroup } from '../model/metrics-group.js';
import {
  POLLING_STATUS_METRIC,
  PollingStatus,
  STATUS_GROUP_TYPE,
  STATUS_PLUGIN_DIMENSION,
} from '../model/polling-status.js';
import { CHARTS, CHART_KINDS, chartPoints } from './charts.js';
import type { ChartKind } from './charts.js';
import { SeriesRing } from './ring.js';

/**
 * Bytes one series costs beyond its typed arrays' contents: the entry object, its Map slot and
 * key string, the device's set slot, the ring object, and the typed arrays' and ArrayBuffers'
 * own objects (a few hundred bytes per array), with the device entries shared out. Measured
 * with scripts/console-memory.ts: 920 to 1070 bytes at 50 and 500 quickstart devices (README,
 * "Live console").
 */
export const SERIES_OVERHEAD_BYTES = 1000;

/** Points a ring holds at most, whatever the interval (a 1 s interval over a day would be 86,400). */
export const MAX_POINTS_PER_SERIES = 4096;

export interface ConsoleStoreOptions {
  /** Seconds of history each series keeps. */
  readonly historySeconds: number;
  readonly maxSeries: number;
  readonly maxDevices: number;
}

/** A polling status code's name, as the page shows it ("timeout", "auth failure"). */
export function pollingStatusName(code: number): string {
  for (const [name, value] of Object.entries(PollingStatus))
    if (value === code) return name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
  return `code ${code}`;
}

interface PluginStatus {
  readonly code: number;
  /** Seconds since the epoch. */
  readonly at: number;
  readonly interval: number;
}

interface DeviceEntry {
  readonly id: string;
  className: string;
  subclass: string;
  type: string;
  endpoint: string;
  /** Newest group timestamp, s. */
  lastSeen: number;
  readonly statuses: Map<string, PluginStatus>;
  /** Keys of this device's series. */
  readonly series: Set<string>;
}

interface SeriesEntry {
  readonly device: string;
  readonly chart: ChartKind;
  readonly label: string;
  interval: number;
  ring: SeriesRing;
}

/** A row of the devices table. */
export interface DeviceSummary {
  readonly id: string;
  readonly class: string;
  readonly subclass: string;
  readonly type: string;
  readonly endpoint: string;
  /** ok: every plugin's last run succeeded; error: one did not; stale: no status for 3 intervals; unknown: no status yet. */
  readonly status: 'ok' | 'error' | 'stale' | 'unknown';
  /** The failing plugins' status names, e.g. "timeout (device-status)"; empty when none. */
  readonly error: string;
  /** Newest status group, s since the epoch; null before the first. */
  readonly last_poll: number | null;
  /** Newest group of any kind, s since the epoch. */
  readonly last_seen: number;
  /** Series held for the device. */
  readonly series: number;
}

export interface SeriesData {
  readonly label: string;
  /** s since the epoch, oldest first. */
  readonly times: number[];
  /** One array per field of the chart (CHARTS[chart].fields), aligned with times. */
  readonly values: (number | null)[][];
}

export interface ChartData {
  readonly title: string;
  readonly unit: string;
  readonly fields: readonly string[];
  /** Sorted by label (interfaces in natural order: Gi0/2 before Gi0/10). */
  readonly series: SeriesData[];
}

export interface DeviceDetail {
  readonly device: DeviceSummary;
  readonly charts: Record<ChartKind, ChartData>;
}

export interface ConsoleStoreStats {
  readonly devices: number;
  readonly series: number;
  readonly points: number;
  /** Estimated bytes of the series (rings plus SERIES_OVERHEAD_BYTES each). */
  readonly bytes: number;
  readonly groups: number;
  readonly pointsRefused: number;
  readonly seriesEvicted: number;
  readonly devicesEvicted: number;
}

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

export class ConsoleStore {
  private readonly devicesById = new Map<string, DeviceEntry>();
  private readonly seriesByKey = new Map<string, SeriesEntry>();
  private ringBytes = 0;
  private groups = 0;
  private pointsRefused = 0;
  private seriesEvicted = 0;
  private devicesEvicted = 0;

  constructor(readonly options: ConsoleStoreOptions) {}

  /** Points a series polled every `intervalSeconds` needs to cover the history (one extra for the edge). */
  capacityFor(intervalSeconds: number): number {
    const interval = Math.max(1, intervalSeconds);
    return Math.min(MAX_POINTS_PER_SERIES, Math.ceil(this.options.historySeconds / interval) + 1);
  }

  /** Takes one metrics group: the device's state, and a point for each chart series it feeds. */
  ingest(group: MetricsGroup): void {
    this.groups++;
    const device = this.touchDevice(group);
    const at = group.metrics_group_creation_timestamp;
    if (group.metrics_group_type === STATUS_GROUP_TYPE) {
      const metric = group.metrics.find((m) => m.metric_name === POLLING_STATUS_METRIC);
      const plugin =
        group.dimensions.find((d) => d.dimension_name === STATUS_PLUGIN_DIMENSION)?.dimension_value ?? '';
      const before = device.statuses.get(plugin);
      if (metric !== undefined && (before === undefined || before.at <= at))
        device.statuses.set(plugin, {
          code: Number(metric.metric_value),
          at,
          interval: group.metrics_group_interval,
        });
      return;
    }
    for (const point of chartPoints(group)) {
      const key = `${device.id}\u0000${point.chart}\u0000${point.label}`;
      let entry = this.seriesByKey.get(key);
      if (entry === undefined) {
        entry = this.addSeries(key, device, point.chart, point.label, group.metrics_group_interval);
      } else {
        // Most recently updated last: the eviction order.
        this.seriesByKey.delete(key);
        this.seriesByKey.set(key, entry);
        if (entry.interval !== group.metrics_group_interval) {
          const capacity = this.capacityFor(group.metrics_group_interval);
          this.ringBytes -= entry.ring.bytes;
          entry.ring = entry.ring.resized(capacity);
          this.ringBytes += entry.ring.bytes;
          entry.interval = group.metrics_group_interval;
        }
      }
      if (!entry.ring.push(at, point.values)) this.pointsRefused++;
    }
  }

  private touchDevice(group: MetricsGroup): DeviceEntry {
    const r = group.resource;
    let device = this.devicesById.get(r.resource_id);
    if (device === undefined) {
      while (this.devicesById.size >= this.options.maxDevices) {
        const oldest = this.devicesById.keys().next().value;
        if (oldest === undefined) break;
        this.removeDevice(oldest);
        this.devicesEvicted++;
      }
      device = {
        id: r.resource_id,
        className: r.resource_class,
        subclass: r.resource_subclass,
        type: r.resource_type,
        endpoint: r.resource_endpoint,
        lastSeen: 0,
        statuses: new Map(),
        series: new Set(),
      };
    } else {
      this.devicesById.delete(r.resource_id);
      // A resource may change (rediscovered with a new endpoint): show what it is now.
      device.className = r.resource_class;
      device.subclass = r.resource_subclass;
      device.type = r.resource_type;
      device.endpoint = r.resource_endpoint;
    }
    this.devicesById.set(r.resource_id, device);
    device.lastSeen = Math.max(device.lastSeen, group.metrics_group_creation_timestamp);
    return device;
  }

  private addSeries(
    key: string,
    device: DeviceEntry,
    chart: ChartKind,
    label: string,
    interval: number,
  ): SeriesEntry {
    while (this.seriesByKey.size >= this.options.maxSeries) {
      const oldest = this.seriesByKey.keys().next().value;
      if (oldest === undefined) break;
      this.removeSeries(oldest);
      this.seriesEvicted++;
    }
    const ring = new SeriesRing(this.capacityFor(interval), CHARTS[chart].fields.length);
    const entry: SeriesEntry = { device: device.id, chart, label, interval, ring };
    this.seriesByKey.set(key, entry);
    device.series.add(key);
    this.ringBytes += ring.bytes;
    return entry;
  }

  private removeSeries(key: string): void {
    const entry = this.seriesByKey.get(key);
    if (entry === undefined) return;
    this.seriesByKey.delete(key);
    this.ringBytes -= entry.ring.bytes;
    this.devicesById.get(entry.device)?.series.delete(key);
  }

  private removeDevice(id: string): void {
    const device = this.devicesById.get(id);
    if (device === undefined) return;
    for (const key of [...device.series]) this.removeSeries(key);
    this.devicesById.delete(id);
  }

  /**
   * Frees the series whose newest point is older than the history (their device stopped being
   * polled): nothing of them would be drawn. `now` in seconds.
   */
  prune(now: number): void {
    const since = now - this.options.historySeconds;
    for (const [key, entry] of this.seriesByKey) {
      // In recency order: the first one still fresh ends the scan.
      if ((entry.ring.lastTime ?? 0) >= since) break;
      this.removeSeries(key);
    }
  }

  private summary(device: DeviceEntry, now: number): DeviceSummary {
    let lastPoll: number | null = null;
    let shortest = Infinity;
    const failing: string[] = [];
    for (const [plugin, s] of device.statuses) {
      lastPoll = lastPoll === null ? s.at : Math.max(lastPoll, s.at);
      shortest = Math.min(shortest, s.interval);
      if (s.code !== PollingStatus.success)
        failing.push(plugin === '' ? pollingStatusName(s.code) : `${pollingStatusName(s.code)} (${plugin})`);
    }
    failing.sort();
    const status =
      lastPoll === null
        ? 'unknown'
        : now - lastPoll > 3 * shortest
          ? 'stale'
          : failing.length > 0
            ? 'error'
            : 'ok';
    return {
      id: device.id,
      class: device.className,
      subclass: device.subclass,
      type: device.type,
      endpoint: device.endpoint,
      status,
      error: failing.join('; '),
      last_poll: lastPoll,
      last_seen: device.lastSeen,
      series: device.series.size,
    };
  }

  /** Every device, in no particular order (the page sorts). `now` in seconds. */
  devices(now: number): DeviceSummary[] {
    return [...this.devicesById.values()].map((d) => this.summary(d, now));
  }

  /** One device with its charts over the history, or undefined when it is not held. */
  device(id: string, now: number): DeviceDetail | undefined {
    const device = this.devicesById.get(id);
    if (device === undefined) return undefined;
    const since = now - this.options.historySeconds;
    const charts = Object.fromEntries(
      CHART_KINDS.map((kind) => [kind, { ...CHARTS[kind], series: [] as SeriesData[] }]),
    ) as Record<ChartKind, ChartData>;
    for (const key of device.series) {
      const entry = this.seriesByKey.get(key);
      if (entry === undefined) continue;
      const { times, values } = entry.ring.read(since);
      if (times.length > 0) charts[entry.chart].series.push({ label: entry.label, times, values });
    }
    for (const chart of Object.values(charts)) chart.series.sort((a, b) => naturalOrder(a.label, b.label));
    return { device: this.summary(device, now), charts };
  }

  get stats(): ConsoleStoreStats {
    let points = 0;
    for (const entry of this.seriesByKey.values()) points += entry.ring.size;
    return {
      devices: this.devicesById.size,
      series: this.seriesByKey.size,
      points,
      bytes: this.ringBytes + this.seriesByKey.size * SERIES_OVERHEAD_BYTES,
      groups: this.groups,
      pointsRefused: this.pointsRefused,
      seriesEvicted: this.seriesEvicted,
      devicesEvicted: this.devicesEvicted,
    };
  }
}
