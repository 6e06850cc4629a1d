/**
 * MetricsGroup: the metrics one plugin run produced for one resource and one kind of thing
 * (an interface, the device status, ...), with the dimensions that tell its series apart.
 *
 * Wire format (Panoptes schema 0.2):
 *   { metrics_group_schema_version: "0.2", metrics_group_type, metrics_group_interval,
 *     metrics_group_creation_timestamp, resource: <Resource>,
 *     dimensions: [{ dimension_name, dimension_value }],
 *     metrics: [{ metric_name, metric_value, metric_type: "counter"|"gauge", metric_creation_timestamp }] }
 * Names match ^[A-Za-z_][A-Za-z0-9_]*$; dimension values are non-empty; a dimension name appears
 * once; a metric name appears at most once per type (a counter and its rate gauge may share it).
 * metric_value is a number, or a bigint where the integer is beyond 2^53 (Counter64): it keeps
 * every digit in memory and is written back as the same integer literal.
 */
import { z } from 'zod';
import { resourceSchema, resourceToJson } from './resource.js';
import type { Resource } from './resource.js';
import { duplicateCheck, expected, name, strictObject, text, timestamp, validateWith } from './validation.js';
import type { Parsed } from './validation.js';

export const METRICS_GROUP_SCHEMA_VERSION = '0.2';

export type MetricType = 'counter' | 'gauge';
export type MetricValue = number | bigint;

export interface Metric {
  readonly metric_name: string;
  readonly metric_value: MetricValue;
  readonly metric_type: MetricType;
  /** Seconds since the epoch. */
  readonly metric_creation_timestamp: number;
}

export interface Dimension {
  readonly dimension_name: string;
  readonly dimension_value: string;
}

export interface MetricsGroup {
  readonly metrics_group_schema_version: typeof METRICS_GROUP_SCHEMA_VERSION;
  readonly metrics_group_type: string;
  /** Seconds between polls of this group; an integer > 0. */
  readonly metrics_group_interval: number;
  /** Seconds since the epoch, millisecond resolution. */
  readonly metrics_group_creation_timestamp: number;
  readonly resource: Resource;
  readonly dimensions: readonly Dimension[];
  readonly metrics: readonly Metric[];
}

const metricValue = z.custom<MetricValue>(
  (v) => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint',
  { error: expected('a number') },
);

const metricSchema = strictObject({
  metric_name: name(),
  metric_value: metricValue,
  metric_type: z.enum(['counter', 'gauge'], {
    error: (i) => (i.input === undefined ? 'is required' : 'must be "counter" or "gauge"'),
  }),
  metric_creation_timestamp: timestamp(),
}).superRefine((m, ctx) => {
  if (m.metric_type === 'counter' && m.metric_value < 0) {
    ctx.addIssue({ code: 'custom', path: ['metric_value'], message: 'a counter must not be negative' });
  }
});

const dimensionSchema = strictObject({
  dimension_name: name(),
  dimension_value: text(),
});

const dimensionsSchema = z
  .array(dimensionSchema, { error: expected('an array') })
  .superRefine((dims, ctx) => {
    const seen = new Set<string>();
    dims.forEach((d, i) => {
      if (seen.has(d.dimension_name)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'dimension_name'],
          message: `duplicate dimension "${d.dimension_name}"`,
        });
      }
      seen.add(d.dimension_name);
    });
  });

const metricsSchema = z
  .array(metricSchema, { error: expected('an array') })
  .min(1, { error: 'must hold at least one metric' })
  .superRefine((metrics, ctx) => {
    const seen = new Set<string>();
    metrics.forEach((m, i) => {
      const key = `${m.metric_type}:${m.metric_name}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'metric_name'],
          message: `duplicate ${m.metric_type} "${m.metric_name}"`,
        });
      }
      seen.add(key);
    });
  });

export const metricsGroupSchema: z.ZodType<MetricsGroup, unknown> = strictObject({
  metrics_group_schema_version: z
    .literal(METRICS_GROUP_SCHEMA_VERSION, { error: `must be "${METRICS_GROUP_SCHEMA_VERSION}"` })
    .optional(),
  metrics_group_type: name(),
  metrics_group_interval: z
    .number({ error: expected('an integer number of seconds') })
    .int({ error: 'must be an integer number of seconds' })
    .positive({ error: 'must be greater than 0' }),
  metrics_group_creation_timestamp: timestamp(),
  resource: resourceSchema,
  dimensions: dimensionsSchema,
  metrics: metricsSchema,
}).transform((g): MetricsGroup => ({
  metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
  metrics_group_type: g.metrics_group_type,
  metrics_group_interval: g.metrics_group_interval,
  metrics_group_creation_timestamp: g.metrics_group_creation_timestamp,
  resource: g.resource,
  dimensions: g.dimensions,
  metrics: g.metrics,
}));

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const rawChecks = [
  duplicateCheck(
    'metrics',
    'metric_name',
    (m) => {
      const name = str(m['metric_name']);
      const type = m['metric_type'];
      return name !== undefined && (type === 'counter' || type === 'gauge') ? `${type}:${name}` : undefined;
    },
    (m) => `duplicate ${String(m['metric_type'])} "${String(m['metric_name'])}"`,
  ),
  duplicateCheck(
    'dimensions',
    'dimension_name',
    (d) => str(d['dimension_name']),
    (d) => `duplicate dimension "${String(d['dimension_name'])}"`,
  ),
];

/** Validates unknown JSON as a metrics group; every problem is reported with its JSON path under `root`. */
export function parseMetricsGroup(input: unknown, root = '$'): Parsed<MetricsGroup> {
  return validateWith(metricsGroupSchema, input, root, rawChecks);
}

/** The wire form (bigint values stay bigint: serialise with stringifyJson). */
export function metricsGroupToJson(group: MetricsGroup): Record<string, unknown> {
  return {
    metrics_group_schema_version: group.metrics_group_schema_version,
    metrics_group_type: group.metrics_group_type,
    metrics_group_interval: group.metrics_group_interval,
    metrics_group_creation_timestamp: group.metrics_group_creation_timestamp,
    resource: resourceToJson(group.resource),
    dimensions: group.dimensions.map((d) => ({
      dimension_name: d.dimension_name,
      dimension_value: d.dimension_value,
    })),
    metrics: group.metrics.map((m) => ({
      metric_name: m.metric_name,
      metric_value: m.metric_value,
      metric_type: m.metric_type,
      metric_creation_timestamp: m.metric_creation_timestamp,
    })),
  };
}

function numberText(v: MetricValue): string {
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

/**
 * The wire text of a group: the same text as `stringifyJson(metricsGroupToJson(group))`, written
 * directly (the poller's hot path serialises every group it publishes). Bigint values are written
 * as their exact integer literals; everything else goes through JSON.stringify.
 */
export function metricsGroupToJsonText(group: MetricsGroup): string {
  let dims = '';
  for (const d of group.dimensions) {
    dims += `${dims === '' ? '' : ','}{"dimension_name":${JSON.stringify(d.dimension_name)},"dimension_value":${JSON.stringify(d.dimension_value)}}`;
  }
  let metrics = '';
  for (const m of group.metrics) {
    metrics +=
      `${metrics === '' ? '' : ','}{"metric_name":${JSON.stringify(m.metric_name)},` +
      `"metric_value":${numberText(m.metric_value)},"metric_type":${JSON.stringify(m.metric_type)},` +
      `"metric_creation_timestamp":${JSON.stringify(m.metric_creation_timestamp)}}`;
  }
  return (
    `{"metrics_group_schema_version":${JSON.stringify(group.metrics_group_schema_version)},` +
    `"metrics_group_type":${JSON.stringify(group.metrics_group_type)},` +
    `"metrics_group_interval":${JSON.stringify(group.metrics_group_interval)},` +
    `"metrics_group_creation_timestamp":${JSON.stringify(group.metrics_group_creation_timestamp)},` +
    `"resource":${JSON.stringify(resourceToJson(group.resource))},"dimensions":[${dims}],"metrics":[${metrics}]}`
  );
}
