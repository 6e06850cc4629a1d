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
  duplicateCheck,
  expected,
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

export function parseEnrichmentGroup(input: unknown, root = '$'): Parsed<EnrichmentGroup> {
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
