/**
 * Sets and documents: how resources and metrics groups travel in bulk.
 *
 * A ResourceSet is `{"resources": [...]}` (Panoptes also wrote `resource_set_creation_timestamp`
 * and `resource_set_schema_version`, accepted and kept); a MetricsGroupSet is
 * `{"metrics_groups": [...]}`. A document (a file, a message) holds one item, an array of items,
 * or a set object. Parsing a document validates every item, keeps the valid ones and reports each
 * problem of the others with its JSON path, so one bad record never hides the rest.
 */
import type { ValidationIssue } from '../errors.js';
import { metricsGroupToJson, parseMetricsGroup } from './metrics-group.js';
import type { MetricsGroup } from './metrics-group.js';
import { parseResource, resourceToJson } from './resource.js';
import type { Resource } from './resource.js';
import { formatPath, isPlainObject } from './validation.js';
import type { Parsed } from './validation.js';

export const RESOURCE_SET_SCHEMA_VERSION = '0.1';

export interface ResourceSet {
  readonly resources: readonly Resource[];
  readonly resource_set_creation_timestamp?: number;
  readonly resource_set_schema_version?: string;
}

export interface MetricsGroupSet {
  readonly metrics_groups: readonly MetricsGroup[];
}

/** How a document was laid out: one item, a bare array, or a set object. */
export type DocumentShape = 'single' | 'array' | 'set';

export interface ParsedDocument<T> {
  readonly shape: DocumentShape;
  /** The items that are valid, in document order. */
  readonly items: readonly T[];
  /** Every problem found, with paths from the document root. */
  readonly issues: readonly ValidationIssue[];
  /** Extra set-level fields that were accepted (set documents only). */
  readonly setFields: Readonly<Record<string, unknown>>;
}

interface DocumentKind<T> {
  readonly setKey: string;
  /** Set-level fields allowed beside setKey, with their checks. */
  readonly setFields: Readonly<Record<string, (v: unknown) => string | undefined>>;
  readonly parseItem: (input: unknown, root: string) => Parsed<T>;
  readonly itemKey?: (item: T) => string;
  readonly itemKeyName?: string;
}

function parseDocument<T>(input: unknown, kind: DocumentKind<T>): ParsedDocument<T> {
  const issues: ValidationIssue[] = [];
  let shape: DocumentShape;
  let list: unknown[];
  let listPath: readonly PropertyKey[];
  const setFields: Record<string, unknown> = {};

  if (Array.isArray(input)) {
    shape = 'array';
    list = input;
    listPath = [];
  } else if (isPlainObject(input) && Object.hasOwn(input, kind.setKey)) {
    shape = 'set';
    listPath = [kind.setKey];
    const value = input[kind.setKey];
    list = Array.isArray(value) ? value : [];
    if (!Array.isArray(value)) issues.push({ path: formatPath(listPath), message: 'must be an array' });
    for (const [key, v] of Object.entries(input)) {
      if (key === kind.setKey) continue;
      const check = Object.hasOwn(kind.setFields, key) ? kind.setFields[key] : undefined;
      if (check === undefined) {
        issues.push({ path: formatPath([key]), message: 'unknown key' });
        continue;
      }
      const problem = check(v);
      if (problem === undefined) setFields[key] = v;
      else issues.push({ path: formatPath([key]), message: problem });
    }
  } else {
    shape = 'single';
    const parsed = kind.parseItem(input, '$');
    return parsed.ok
      ? { shape, items: [parsed.value], issues, setFields }
      : { shape, items: [], issues: parsed.issues, setFields };
  }

  const items: T[] = [];
  const seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const root = formatPath([...listPath, i]);
    const parsed = kind.parseItem(raw, root);
    if (!parsed.ok) {
      issues.push(...parsed.issues);
      return;
    }
    if (kind.itemKey !== undefined) {
      const key = kind.itemKey(parsed.value);
      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({
          path: `${root}.${kind.itemKeyName ?? 'key'}`,
          message: `duplicate of ${formatPath([...listPath, first])}`,
        });
        return;
      }
      seen.set(key, i);
    }
    items.push(parsed.value);
  });
  return { shape, items, issues, setFields };
}

const resourceKind: DocumentKind<Resource> = {
  setKey: 'resources',
  setFields: {
    resource_set_creation_timestamp: (v) =>
      typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'must be a number of seconds',
    resource_set_schema_version: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
  },
  parseItem: parseResource,
  itemKey: (r) => `${r.resource_site}\u0000${r.resource_id}`,
  itemKeyName: 'resource_id',
};

const metricsKind: DocumentKind<MetricsGroup> = {
  setKey: 'metrics_groups',
  setFields: {},
  parseItem: parseMetricsGroup,
};

/** Parses one resource, an array of resources, or a resource set. */
export function parseResourceDocument(input: unknown): ParsedDocument<Resource> {
  return parseDocument(input, resourceKind);
}

/** Parses one metrics group, an array of them, or a metrics group set. */
export function parseMetricsGroupDocument(input: unknown): ParsedDocument<MetricsGroup> {
  return parseDocument(input, metricsKind);
}

export function resourceSetToJson(set: ResourceSet): Record<string, unknown> {
  const out: Record<string, unknown> = { resources: set.resources.map(resourceToJson) };
  if (set.resource_set_creation_timestamp !== undefined) {
    out['resource_set_creation_timestamp'] = set.resource_set_creation_timestamp;
  }
  if (set.resource_set_schema_version !== undefined)
    out['resource_set_schema_version'] = set.resource_set_schema_version;
  return out;
}

export function metricsGroupSetToJson(set: MetricsGroupSet): Record<string, unknown> {
  return { metrics_groups: set.metrics_groups.map(metricsGroupToJson) };
}
