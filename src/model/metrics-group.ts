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
import type { z } from 'zod';
import { parseResource, resourceSchema, resourceToJson } from './resource.js';
import type { Resource } from './resource.js';
import {
  duplicateCheck,
  expected,
  isPlainText,
  lazy,
  name,
  NAME_PATTERN,
  noRepeats,
  strictObject,
  text,
  timestamp,
  validateWith,
  zod,
} from './validation.js';
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

const metricValue = lazy(() =>
  zod().custom<MetricValue>((v) => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint', {
    error: expected('a number'),
  }),
);

const metricSchema = lazy(() =>
  strictObject({
    metric_name: name(),
    metric_value: metricValue(),
    metric_type: zod().enum(['counter', 'gauge'], {
      error: (i) => (i.input === undefined ? 'is required' : 'must be "counter" or "gauge"'),
    }),
    metric_creation_timestamp: timestamp(),
  }).superRefine((m, ctx) => {
    if (m.metric_type === 'counter' && m.metric_value < 0) {
      ctx.addIssue({ code: 'custom', path: ['metric_value'], message: 'a counter must not be negative' });
    }
  }),
);

const dimensionSchema = lazy(() =>
  strictObject({
    dimension_name: name(),
    dimension_value: text(),
  }),
);

const dimensionsSchema = lazy(() =>
  zod()
    .array(dimensionSchema(), { error: expected('an array') })
    .superRefine(
      noRepeats(
        'dimension_name',
        (d) => d.dimension_name,
        (d) => `duplicate dimension "${d.dimension_name}"`,
      ),
    ),
);

const metricsSchema = lazy(() =>
  zod()
    .array(metricSchema(), { error: expected('an array') })
    .min(1, { error: 'must hold at least one metric' })
    .superRefine(
      noRepeats(
        'metric_name',
        (m) => `${m.metric_type}:${m.metric_name}`,
        (m) => `duplicate ${m.metric_type} "${m.metric_name}"`,
      ),
    ),
);

/** The zod schema for a metrics group (built on first use). */
export const metricsGroupSchema: () => z.ZodType<MetricsGroup, unknown> = lazy(() =>
  strictObject({
    metrics_group_schema_version: zod()
      .literal(METRICS_GROUP_SCHEMA_VERSION, { error: `must be "${METRICS_GROUP_SCHEMA_VERSION}"` })
      .optional(),
    metrics_group_type: name(),
    metrics_group_interval: zod()
      .number({ error: expected('an integer number of seconds') })
      .int({ error: 'must be an integer number of seconds' })
      .positive({ error: 'must be greater than 0' }),
    metrics_group_creation_timestamp: timestamp(),
    resource: resourceSchema(),
    dimensions: dimensionsSchema(),
    metrics: metricsSchema(),
  }).transform((g): MetricsGroup => ({
    metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
    metrics_group_type: g.metrics_group_type,
    metrics_group_interval: g.metrics_group_interval,
    metrics_group_creation_timestamp: g.metrics_group_creation_timestamp,
    resource: g.resource,
    dimensions: g.dimensions,
    metrics: g.metrics,
  })),
);

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
  return validateWith(metricsGroupSchema(), input, root, rawChecks);
}

/**
 * The wire form (bigint values stay bigint: serialise with stringifyJson). A group from code we
 * do not control may be malformed (a `null` where the metrics belong): such parts are passed on
 * as they are, for validation to report, rather than thrown on here.
 */
export function metricsGroupToJson(group: MetricsGroup): Record<string, unknown> {
  const resource: unknown = group.resource;
  const dimensions: unknown = group.dimensions;
  const metrics: unknown = group.metrics;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  return {
    metrics_group_schema_version: group.metrics_group_schema_version,
    metrics_group_type: group.metrics_group_type,
    metrics_group_interval: group.metrics_group_interval,
    metrics_group_creation_timestamp: group.metrics_group_creation_timestamp,
    resource: isObject(resource) ? resourceToJson(resource as unknown as Resource) : resource,
    dimensions: Array.isArray(dimensions)
      ? dimensions.map((d: unknown) =>
          isObject(d) ? { dimension_name: d['dimension_name'], dimension_value: d['dimension_value'] } : d,
        )
      : dimensions,
    metrics: Array.isArray(metrics)
      ? metrics.map((m: unknown) =>
          isObject(m)
            ? {
                metric_name: m['metric_name'],
                metric_value: m['metric_value'],
                metric_type: m['metric_type'],
                metric_creation_timestamp: m['metric_creation_timestamp'],
              }
            : m,
        )
      : metrics,
  };
}

/** Names already seen to match NAME_PATTERN; bounded, since names come from plugins. */
const knownNames = new Set<string>();
const KNOWN_NAMES_MAX = 10_000;

function numberText(v: MetricValue): string {
  // For a finite number String() and JSON.stringify() write the same digits.
  return typeof v === 'bigint' || Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

/** A name as a JSON string: names known to match NAME_PATTERN need no escaping. */
function nameText(v: string): string {
  return knownNames.has(v) ? `"${v}"` : JSON.stringify(v);
}

function typeText(v: MetricType): string {
  return v === 'counter' ? '"counter"' : v === 'gauge' ? '"gauge"' : JSON.stringify(v);
}

/**
 * Resources that passed validation and are frozen, so they cannot have changed since: a group
 * whose resource is one of these skips the resource's schema (it is the same for every group of
 * a device and poll).
 */
const checkedResources = new WeakSet<Resource>();
/** The wire text of checked resources, written once per resource instead of once per group. */
const resourceTexts = new WeakMap<Resource, string>();

function resourceJsonText(resource: Resource): string {
  if (!checkedResources.has(resource)) return JSON.stringify(resourceToJson(resource));
  let text = resourceTexts.get(resource);
  if (text === undefined) {
    text = JSON.stringify(resourceToJson(resource));
    resourceTexts.set(resource, text);
  }
  return text;
}

/**
 * The wire text of a group: the same text as `stringifyJson(metricsGroupToJson(group))`, written
 * directly (the poller's hot path serialises every group it publishes). Bigint values are written
 * as their exact integer literals; everything else goes through JSON.stringify.
 */
export function metricsGroupToJsonText(group: MetricsGroup): string {
  let dims = '';
  for (const d of group.dimensions) {
    dims += `${dims === '' ? '' : ','}{"dimension_name":${nameText(d.dimension_name)},"dimension_value":${JSON.stringify(d.dimension_value)}}`;
  }
  let metrics = '';
  for (const m of group.metrics) {
    metrics +=
      `${metrics === '' ? '' : ','}{"metric_name":${nameText(m.metric_name)},` +
      `"metric_value":${numberText(m.metric_value)},"metric_type":${typeText(m.metric_type)},` +
      `"metric_creation_timestamp":${numberText(m.metric_creation_timestamp)}}`;
  }
  return (
    `{"metrics_group_schema_version":${JSON.stringify(group.metrics_group_schema_version)},` +
    `"metrics_group_type":${JSON.stringify(group.metrics_group_type)},` +
    `"metrics_group_interval":${JSON.stringify(group.metrics_group_interval)},` +
    `"metrics_group_creation_timestamp":${JSON.stringify(group.metrics_group_creation_timestamp)},` +
    `"resource":${resourceJsonText(group.resource)},"dimensions":[${dims}],"metrics":[${metrics}]}`
  );
}

/**
 * Validates a resource once and remembers it when it is valid and frozen (deeply, as `deepFreeze`
 * leaves it). Returns whether it was valid. `parsed`: the resource is a value parseResource
 * returned (unchanged since), so it is not validated again.
 */
export function rememberValidResource(resource: Resource, options: { parsed?: boolean } = {}): boolean {
  if (checkedResources.has(resource)) return true;
  if (options.parsed !== true && !parseResource(resourceToJson(resource)).ok) return false;
  if (Object.isFrozen(resource) && Object.isFrozen(resource.resource_metadata))
    checkedResources.add(resource);
  return true;
}

/** Whether `v` is a string matching NAME_PATTERN (remembering up to KNOWN_NAMES_MAX names that do). */
export function isName(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (knownNames.has(v)) return true;
  if (!NAME_PATTERN.test(v)) return false;
  if (knownNames.size < KNOWN_NAMES_MAX) knownNames.add(v);
  return true;
}

const isTimestamp = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * The rules of `metricsGroupSchema` written out by hand for groups in memory: true only when the
 * schema would accept `metricsGroupToJson(group)` (false may also mean "not sure", e.g. a resource
 * not seen by rememberValidResource). This is the hot path of every poll; the schema remains the
 * authority and gives the messages.
 */
function quickCheck(group: MetricsGroup): boolean {
  const version: unknown = group.metrics_group_schema_version;
  if (version !== undefined && version !== METRICS_GROUP_SCHEMA_VERSION) return false;
  if (!isName(group.metrics_group_type)) return false;
  const interval: unknown = group.metrics_group_interval;
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval <= 0) return false;
  if (!isTimestamp(group.metrics_group_creation_timestamp)) return false;
  if (!checkedResources.has(group.resource)) return false;
  const dimensions: unknown = group.dimensions;
  if (!Array.isArray(dimensions)) return false;
  for (let i = 0; i < dimensions.length; i++) {
    const d: unknown = dimensions[i];
    if (typeof d !== 'object' || d === null) return false;
    const { dimension_name: dn, dimension_value: dv } = d as Record<string, unknown>;
    if (!isName(dn)) return false;
    if (!isPlainText(dv)) return false;
    for (let j = 0; j < i; j++) if ((dimensions[j] as Dimension).dimension_name === dn) return false;
  }
  const metrics: unknown = group.metrics;
  if (!Array.isArray(metrics) || metrics.length === 0) return false;
  const seen = new Set<string>();
  for (const m of metrics as unknown[]) {
    if (typeof m !== 'object' || m === null) return false;
    const {
      metric_name: mn,
      metric_value: mv,
      metric_type: mt,
      metric_creation_timestamp: mc,
    } = m as Record<string, unknown>;
    if (!isName(mn) || (mt !== 'counter' && mt !== 'gauge') || !isTimestamp(mc)) return false;
    if (typeof mv === 'number') {
      if (!Number.isFinite(mv)) return false;
    } else if (typeof mv !== 'bigint') {
      return false;
    }
    if (mt === 'counter' && mv < 0) return false;
    const key = `${mt}:${mn as string}`;
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

/**
 * Validates a group built in memory (by a plugin, code we do not control) as
 * `parseMetricsGroup(metricsGroupToJson(group), root)` does, with the same result and messages,
 * but without copying and schema-checking a group that a direct check finds valid.
 */
export function checkMetricsGroup(group: MetricsGroup, root = '$'): Parsed<MetricsGroup> {
  if (quickCheck(group)) {
    const value: MetricsGroup =
      group.metrics_group_schema_version === METRICS_GROUP_SCHEMA_VERSION
        ? group
        : { ...group, metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION };
    return { ok: true, value };
  }
  return parseMetricsGroup(metricsGroupToJson(group), root);
}
