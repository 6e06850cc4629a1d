/**
 * Resource: one thing Panoptes-TS knows about and may poll (a device, an interface, a service).
 *
 * Wire format (Panoptes compatible):
 *   { resource_id, resource_site, resource_endpoint, resource_class, resource_subclass,
 *     resource_type, resource_creation_timestamp, resource_creation_plugin, resource_metadata }
 * `resource_plugin` is accepted on input as an alias of `resource_creation_plugin`.
 * `resource_metadata` maps keys matching ^[A-Za-z_][A-Za-z0-9_]*$ to strings; the reserved key
 * `_resource_ttl` (seconds, number or numeric string on input) says how long a discovered
 * resource lives without being seen again; default 604800 (one week).
 */
import type { z } from 'zod';
import {
  NAME_PATTERN,
  RESERVED_KEYS,
  SITE_PATTERN,
  recordOf,
  expected,
  isPlainObject,
  isPlainText,
  lazy,
  strictObject,
  text,
  timestamp,
  validateWith,
  zod,
} from './validation.js';
import { stringifyJson } from './json.js';
import type { Parsed } from './validation.js';

export const RESOURCE_TTL_KEY = '_resource_ttl';
export const DEFAULT_RESOURCE_TTL_SECONDS = 604_800;

export interface Resource {
  readonly resource_id: string;
  readonly resource_site: string;
  readonly resource_endpoint: string;
  readonly resource_class: string;
  readonly resource_subclass: string;
  readonly resource_type: string;
  /** Seconds since the epoch (float). */
  readonly resource_creation_timestamp: number;
  readonly resource_creation_plugin: string;
  readonly resource_metadata: Readonly<Record<string, string>>;
}

const ttlValue = lazy(() =>
  zod()
    .union([zod().number(), zod().string()], { error: expected('a positive integer number of seconds') })
    .transform((v, ctx) => {
      const s = typeof v === 'number' ? String(v) : v.trim();
      if (!/^\d+$/.test(s) || Number(s) <= 0 || !Number.isSafeInteger(Number(s))) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: 'must be a positive integer number of seconds',
        });
        return zod().NEVER;
      }
      return String(Number(s));
    }),
);

const metadataValue = lazy(() => zod().string({ error: expected('a string') }));

const metadataSchema = lazy(() =>
  recordOf(NAME_PATTERN, (key) => (key === RESOURCE_TTL_KEY ? ttlValue() : metadataValue())),
);

/** Folds the input alias resource_plugin into resource_creation_plugin before validation. */
function foldPluginAlias(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || !('resource_plugin' in input))
    return input;
  const { resource_plugin: alias, ...rest } = input as Record<string, unknown>;
  if (typeof alias !== 'string') return input; // reported at $.resource_plugin by the schema below
  if (!('resource_creation_plugin' in rest)) return { ...rest, resource_creation_plugin: alias };
  if (rest['resource_creation_plugin'] === alias) return rest;
  return input; // both given and different: reported by the schema below
}

const resourceInput = lazy(() =>
  strictObject({
    resource_id: text(),
    resource_site: text().regex(SITE_PATTERN, { error: `must match ${SITE_PATTERN.source}` }),
    resource_endpoint: text(),
    resource_class: text(),
    resource_subclass: text(),
    resource_type: text(),
    resource_creation_timestamp: timestamp().optional(),
    resource_creation_plugin: text('is required (or its alias resource_plugin)'),
    // Present here only when it could not be folded into resource_creation_plugin.
    resource_plugin: zod()
      .custom<never>(() => false, {
        error: (i) =>
          typeof i.input === 'string'
            ? 'differs from resource_creation_plugin (give one of them)'
            : expected('a string')(i),
      })
      .optional(),
    resource_metadata: metadataSchema().optional(),
  }),
);

/**
 * The zod schema for a resource (built on first use). The output is the normalised Resource:
 * alias folded, metadata checked, a missing creation timestamp set to the time of parsing (as
 * Panoptes did).
 */
export const resourceSchema: () => z.ZodType<Resource, unknown> = lazy(() =>
  zod().preprocess(
    foldPluginAlias,
    resourceInput().transform((r): Resource => ({
      resource_id: r.resource_id,
      resource_site: r.resource_site,
      resource_endpoint: r.resource_endpoint,
      resource_class: r.resource_class,
      resource_subclass: r.resource_subclass,
      resource_type: r.resource_type,
      resource_creation_timestamp: r.resource_creation_timestamp ?? Date.now() / 1000,
      resource_creation_plugin: r.resource_creation_plugin,
      resource_metadata: r.resource_metadata ?? {},
    })),
  ),
);

const INTEGER_TEXT = /^\d+$/;

/** A non-empty string without control characters, or undefined. */
function plainText(v: unknown): string | undefined {
  return isPlainText(v) ? v : undefined;
}

/** Metadata the schema keeps as it is, copied; undefined when the schema must look at it. */
function plainMetadata(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return {};
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(v)) {
    if (RESERVED_KEYS.has(k) || !NAME_PATTERN.test(k)) return undefined;
    const value = v[k];
    if (typeof value !== 'string') return undefined;
    if (k === RESOURCE_TTL_KEY) {
      // Only the schema's normal form: a positive safe integer without leading zeros or spaces.
      const n = Number(value);
      if (!INTEGER_TEXT.test(value) || !(n > 0) || !Number.isSafeInteger(n) || String(n) !== value)
        return undefined;
    }
    out[k] = value;
  }
  return out;
}

const RESOURCE_KEYS: ReadonlySet<string> = new Set([
  'resource_id',
  'resource_site',
  'resource_endpoint',
  'resource_class',
  'resource_subclass',
  'resource_type',
  'resource_creation_timestamp',
  'resource_creation_plugin',
  'resource_metadata',
]);

/**
 * The schema's rules for the common case checked directly: the Resource the schema would give,
 * or undefined when the schema must decide (anything invalid, the resource_plugin alias, a TTL
 * not in its normal form).
 */
export function readResourceDirectly(input: unknown): Resource | undefined {
  if (!isPlainObject(input)) return undefined;
  const r = input;
  for (const k of Object.keys(r)) if (!RESOURCE_KEYS.has(k)) return undefined;
  const id = plainText(r['resource_id']);
  const site = plainText(r['resource_site']);
  const endpoint = plainText(r['resource_endpoint']);
  const cls = plainText(r['resource_class']);
  const subclass = plainText(r['resource_subclass']);
  const type = plainText(r['resource_type']);
  const plugin = plainText(r['resource_creation_plugin']);
  const created = r['resource_creation_timestamp'];
  const metadata = plainMetadata(r['resource_metadata']);
  if (
    id === undefined ||
    site === undefined ||
    !SITE_PATTERN.test(site) ||
    endpoint === undefined ||
    cls === undefined ||
    subclass === undefined ||
    type === undefined ||
    plugin === undefined ||
    (created !== undefined && (typeof created !== 'number' || !Number.isFinite(created) || created < 0)) ||
    metadata === undefined
  )
    return undefined;
  return {
    resource_id: id,
    resource_site: site,
    resource_endpoint: endpoint,
    resource_class: cls,
    resource_subclass: subclass,
    resource_type: type,
    resource_creation_timestamp: created ?? Date.now() / 1000, // as the schema sets it
    resource_creation_plugin: plugin,
    resource_metadata: metadata,
  };
}

/** Validates unknown JSON as a resource; every problem is reported with its JSON path under `root`. */
export function parseResource(input: unknown, root = '$'): Parsed<Resource> {
  const value = readResourceDirectly(input);
  if (value !== undefined) return { ok: true, value };
  return validateWith(resourceSchema(), input, root);
}

/** How long the resource lives without being rediscovered, in seconds. */
export function resourceTtlSeconds(resource: Resource): number {
  const ttl = resource.resource_metadata[RESOURCE_TTL_KEY];
  return ttl === undefined ? DEFAULT_RESOURCE_TTL_SECONDS : Number(ttl);
}

/**
 * The resource's JSON without its creation timestamp: equal for a resource rediscovered as it
 * was, different when anything a poll or a subscription depends on changed.
 */
export function resourceFingerprint(resource: Resource): string {
  const { resource_creation_timestamp: _ignored, ...rest } = resourceToJson(resource);
  return stringifyJson(rest);
}

/** The wire form, with fields in a fixed order. */
export function resourceToJson(resource: Resource): Record<string, unknown> {
  return {
    resource_id: resource.resource_id,
    resource_site: resource.resource_site,
    resource_endpoint: resource.resource_endpoint,
    resource_class: resource.resource_class,
    resource_subclass: resource.resource_subclass,
    resource_type: resource.resource_type,
    resource_creation_timestamp: resource.resource_creation_timestamp,
    resource_creation_plugin: resource.resource_creation_plugin,
    // A resource from code we do not control may lack metadata or hold a non-object there.
    resource_metadata:
      typeof resource.resource_metadata === 'object' && resource.resource_metadata !== null
        ? { ...resource.resource_metadata }
        : resource.resource_metadata,
  };
}
