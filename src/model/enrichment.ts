/**
 * Enrichment: slow-changing facts about a resource (interface names, aliases, speeds, ...) that
 * enrichment plugins collect and that polling joins into metrics groups as dimensions.
 *
 * An EnrichmentGroup is one namespace for one resource; `data` maps a key (an ifIndex, an
 * address, ...) to a flat object of values. Wire format of a group, as stored under
 * `<prefix>:enrichment:<resource_id>:<namespace>`:
 *   { namespace, data: { <key>: { <name>: value } },
 *     metadata: { _enrichment_group_creation_timestamp, _enrichment_ttl, _execute_frequency } }
 * A set of groups for one resource: { resource: <Resource>, enrichment: [<group>, ...] }.
 */
import type { z } from 'zod';
import { resourceSchema, resourceToJson } from './resource.js';
import type { Resource } from './resource.js';
import {
  NAME_PATTERN,
  RESERVED_KEYS,
  duplicateCheck,
  expected,
  isPlainObject,
  lazy,
  name,
  noRepeats,
  recordOf,
  strictObject,
  timestamp,
  validateWith,
  zod,
} from './validation.js';
import type { Parsed } from './validation.js';

export type EnrichmentValue = string | number | bigint | boolean;

export interface EnrichmentGroup {
  readonly namespace: string;
  /** Seconds the data stays valid in the enrichment cache. */
  readonly enrichment_ttl: number;
  /** Seconds between runs of the plugin that produced it. */
  readonly execute_frequency: number;
  /** Seconds since the epoch. */
  readonly creation_timestamp: number;
  readonly data: Readonly<Record<string, Readonly<Record<string, EnrichmentValue>>>>;
}

export interface EnrichmentGroupSet {
  readonly resource: Resource;
  readonly groups: readonly EnrichmentGroup[];
}

const seconds = (): z.ZodNumber =>
  zod()
    .number({ error: expected('an integer number of seconds') })
    .int({ error: 'must be an integer number of seconds' })
    .positive({ error: 'must be greater than 0' });

const enrichmentValue = lazy(() =>
  zod().custom<EnrichmentValue>(
    (v) =>
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      typeof v === 'bigint' ||
      (typeof v === 'number' && Number.isFinite(v)),
    { error: expected('a string, number or boolean') },
  ),
);

const valuesSchema = lazy(() => recordOf(NAME_PATTERN, () => enrichmentValue()));

const dataSchema = lazy(() => recordOf(undefined, () => valuesSchema()));

/** The zod schema for an enrichment group (built on first use). */
export const enrichmentGroupSchema: () => z.ZodType<EnrichmentGroup, unknown> = lazy(() =>
  strictObject({
    namespace: name(),
    data: dataSchema(),
    metadata: strictObject({
      _enrichment_group_creation_timestamp: timestamp(),
      _enrichment_ttl: seconds(),
      _execute_frequency: seconds(),
    }),
  }).transform((g): EnrichmentGroup => ({
    namespace: g.namespace,
    enrichment_ttl: g.metadata._enrichment_ttl,
    execute_frequency: g.metadata._execute_frequency,
    creation_timestamp: g.metadata._enrichment_group_creation_timestamp,
    data: g.data,
  })),
);

/** The zod schema for a resource's enrichment groups (built on first use). */
export const enrichmentGroupSetSchema: () => z.ZodType<EnrichmentGroupSet, unknown> = lazy(() =>
  strictObject({
    resource: resourceSchema(),
    enrichment: zod()
      .array(enrichmentGroupSchema(), { error: expected('an array') })
      .superRefine(
        noRepeats(
          'namespace',
          (g) => g.namespace,
          (g) => `duplicate namespace "${g.namespace}"`,
        ),
      ),
  }).transform((s): EnrichmentGroupSet => ({ resource: s.resource, groups: s.enrichment })),
);

/** An integer number of seconds > 0, as the schema's `seconds` takes it. */
function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isEnrichmentValue(v: unknown): boolean {
  return (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    typeof v === 'bigint' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

/**
 * An enrichment group read without zod when it is in the form the schema accepts as it is:
 * exactly namespace, data and metadata, every key and value as the schema wants them. Else
 * undefined, and the schema decides (and says what is wrong). Polling reads a device's groups
 * from the store about once a minute (the enrichment cache's age limit), and zod took most of
 * that read: a 24-interface group costs tens of microseconds this way.
 */
export function readEnrichmentGroupDirectly(input: unknown): EnrichmentGroup | undefined {
  if (!isPlainObject(input) || Object.keys(input).length !== 3) return undefined;
  const { namespace, data, metadata } = input;
  if (typeof namespace !== 'string' || !NAME_PATTERN.test(namespace)) return undefined;
  if (!isPlainObject(metadata) || Object.keys(metadata).length !== 3) return undefined;
  const created = metadata['_enrichment_group_creation_timestamp'];
  const ttl = metadata['_enrichment_ttl'];
  const frequency = metadata['_execute_frequency'];
  if (typeof created !== 'number' || !Number.isFinite(created) || created < 0) return undefined;
  if (!isSeconds(ttl) || !isSeconds(frequency) || !isPlainObject(data)) return undefined;
  for (const key of Object.keys(data)) {
    if (key.length === 0 || RESERVED_KEYS.has(key)) return undefined;
    const values = data[key];
    if (!isPlainObject(values)) return undefined;
    for (const field of Object.keys(values)) {
      if (RESERVED_KEYS.has(field) || !NAME_PATTERN.test(field) || !isEnrichmentValue(values[field]))
        return undefined;
    }
  }
  return {
    namespace,
    enrichment_ttl: ttl,
    execute_frequency: frequency,
    creation_timestamp: created,
    data: data as EnrichmentGroup['data'],
  };
}

export function parseEnrichmentGroup(input: unknown, root = '$'): Parsed<EnrichmentGroup> {
  const value = readEnrichmentGroupDirectly(input);
  if (value !== undefined) return { ok: true, value };
  return validateWith(enrichmentGroupSchema(), input, root);
}

const namespaceDuplicates = duplicateCheck(
  'enrichment',
  'namespace',
  (g) => (typeof g['namespace'] === 'string' ? g['namespace'] : undefined),
  (g) => `duplicate namespace "${String(g['namespace'])}"`,
);

export function parseEnrichmentGroupSet(input: unknown, root = '$'): Parsed<EnrichmentGroupSet> {
  return validateWith(enrichmentGroupSetSchema(), input, root, [namespaceDuplicates]);
}

export function enrichmentGroupToJson(group: EnrichmentGroup): Record<string, unknown> {
  return {
    namespace: group.namespace,
    data: group.data,
    metadata: {
      _enrichment_group_creation_timestamp: group.creation_timestamp,
      _enrichment_ttl: group.enrichment_ttl,
      _execute_frequency: group.execute_frequency,
    },
  };
}

export function enrichmentGroupSetToJson(set: EnrichmentGroupSet): Record<string, unknown> {
  return { resource: resourceToJson(set.resource), enrichment: set.groups.map(enrichmentGroupToJson) };
}

/** Looks up one value: `lookupEnrichment(group, '3', 'interface_name')`. */
export function lookupEnrichment(
  group: EnrichmentGroup,
  key: string,
  field: string,
): EnrichmentValue | undefined {
  const values = Object.hasOwn(group.data, key) ? group.data[key] : undefined;
  if (values === undefined || !Object.hasOwn(values, field)) return undefined;
  return values[field];
}
