/**
 * What the console charts, and from which metrics groups: the one place that knows Panoptes'
 * group, dimension and metric names for the console (those the interface plugin and the device
 * health profiles emit, docs/profiles.md). A group of another type feeds no chart; it only keeps
 * its device's "last seen" fresh.
 *
 *   chart        group         metric(s) (gauges)                  one series per
 *   traffic      interface     bits_in, bits_out (the rates)       interface_name
 *   cpu          cpu           cpu_utilization                     cpu_name (else cpu_type cpu_no)
 *   memory       memory        100 * memory_used / memory_total    memory_type
 *   temperature  environment   temperature_fahrenheit              sensor
 *
 * The interface group also carries the counters (bits_in as a counter): only the gauges of the
 * same name, the per-second rates the pipeline computed, are charted.
 */
import type { MetricsGroup } from '../model/metrics-group.js';

export const CHART_KINDS = ['traffic', 'cpu', 'memory', 'temperature'] as const;
export type ChartKind = (typeof CHART_KINDS)[number];

export interface ChartSpec {
  readonly title: string;
  readonly unit: string;
  /** The values of one point, in order (a series has one typed array per field). */
  readonly fields: readonly string[];
}

export const CHARTS: Readonly<Record<ChartKind, ChartSpec>> = {
  traffic: { title: 'Interface traffic', unit: 'bit/s', fields: ['in', 'out'] },
  cpu: { title: 'CPU', unit: '%', fields: ['utilization'] },
  memory: { title: 'Memory used', unit: '%', fields: ['used'] },
  temperature: { title: 'Temperatures', unit: '°F', fields: ['temperature'] },
};

/** One point of one series, from one metrics group. */
export interface ChartPoint {
  readonly chart: ChartKind;
  /** Names the series within the device's chart: the interface, CPU, memory type or sensor. */
  readonly label: string;
  /** One per field of the chart; NaN where the group had no value. */
  readonly values: readonly number[];
}

/** The value the profiles write for a dimension they could not read. */
const NOT_SET = '<not set>';

function dimension(group: MetricsGroup, name: string): string | undefined {
  const value = group.dimensions.find((d) => d.dimension_name === name)?.dimension_value;
  return value === undefined || value === NOT_SET ? undefined : value;
}

function gauge(group: MetricsGroup, name: string): number {
  const m = group.metrics.find((x) => x.metric_type === 'gauge' && x.metric_name === name);
  return m === undefined ? NaN : Number(m.metric_value);
}

/** The dimensions' values, for a series whose usual naming dimension is missing. */
function allDimensions(group: MetricsGroup): string {
  const values = group.dimensions.map((d) => d.dimension_value).filter((v) => v !== NOT_SET);
  return values.length === 0 ? group.metrics_group_type : values.join(' ');
}

/** The chart points one metrics group gives (none for a group no chart reads). */
export function chartPoints(group: MetricsGroup): ChartPoint[] {
  switch (group.metrics_group_type) {
    case 'interface': {
      const values = [gauge(group, 'bits_in'), gauge(group, 'bits_out')];
      // The first poll of a counter has no rate yet: nothing to draw.
      if (values.every(Number.isNaN)) return [];
      const label =
        dimension(group, 'interface_name') ?? dimension(group, 'description') ?? allDimensions(group);
      return [{ chart: 'traffic', label, values }];
    }
    case 'cpu': {
      const value = gauge(group, 'cpu_utilization');
      if (Number.isNaN(value)) return [];
      const type = dimension(group, 'cpu_type');
      const no = dimension(group, 'cpu_no');
      const label =
        dimension(group, 'cpu_name') ??
        (type === undefined && no === undefined
          ? allDimensions(group)
          : [type, no].filter(Boolean).join(' '));
      return [{ chart: 'cpu', label, values: [value] }];
    }
    case 'memory': {
      const used = gauge(group, 'memory_used');
      const total = gauge(group, 'memory_total');
      if (!(total > 0) || Number.isNaN(used)) return [];
      const label = dimension(group, 'memory_type') ?? allDimensions(group);
      return [{ chart: 'memory', label, values: [(100 * used) / total] }];
    }
    case 'environment': {
      // Environment groups also hold fans and power supplies: only temperatures are charted.
      const value = gauge(group, 'temperature_fahrenheit');
      if (Number.isNaN(value)) return [];
      const label = dimension(group, 'sensor') ?? allDimensions(group);
      return [{ chart: 'temperature', label, values: [value] }];
    }
    default:
      return [];
  }
}
