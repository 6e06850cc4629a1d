/**
 * Shared pieces of the model's validation: JSON paths, the result type, zod issue formatting and
 * the small schema builders every model file uses, so all messages read the same way.
 *
 * zod is loaded on first use (`zod()`), and the model's schemas are built then (`lazy`): loading
 * it costs about 100 ms, which a command that reads only valid input (checked directly, see
 * parseResource) never needs to pay. It is the CommonJS build, so it loads synchronously.
 */
import { createRequire } from 'node:module';
import type { z } from 'zod';
import type { ValidationIssue } from '../errors.js';

type Zod = typeof z;
let loaded: Zod | undefined;

/** The zod namespace, loaded on the first call. */
export function zod(): Zod {
  if (loaded === undefined) {
    const required = createRequire(import.meta.url)('zod') as { z: Zod };
    loaded = required.z;
  }
  return loaded;
}

/** A value built on first use, then kept: `const schema = lazy(() => zod().string())`. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

/** Names of metrics, dimensions, metrics group types and metadata keys. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that would change an object's prototype instead of adding a property. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__']);
/** Sites become part of Kafka topic names, so they use the characters topics allow. */
export const SITE_PATTERN = /^[A-Za-z0-9._-]+$/;
// eslint-disable-next-line no-control-regex -- the point is to reject control characters
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A JSON object: not null, not an array. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What `text()` accepts: a non-empty string without control characters (for the direct checks). */
export function isPlainText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && !CONTROL_CHARS.test(v);
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: ValidationIssue[] };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['metrics', 3, 'metric_type']` under `$` -> `$.metrics[3].metric_type`. */
export function formatPath(path: readonly PropertyKey[], root = '$'): string {
  let out = root;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENTIFIER.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'bigint') return 'an integer beyond 2^53';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? 'an integer' : 'a number';
  }
  return `a ${typeof value}`;
}

/** Converts zod issues into path + message pairs; unknown keys become one issue per key. */
export function issuesFromZod(error: z.ZodError, root = '$'): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key], root), message: 'unknown key' });
      }
      continue;
    }
    issues.push({ path: formatPath(issue.path, root), message: issue.message });
  }
  return issues;
}

/**
 * A check over the raw input that must run even when other parts fail validation (zod skips an
 * array's refinements once any element is invalid). Returns issues with paths from the item.
 */
export type RawCheck = (input: unknown) => { path: readonly PropertyKey[]; message: string }[];

export function validateWith<T>(
  schema: z.ZodType<T>,
  input: unknown,
  root = '$',
  rawChecks: readonly RawCheck[] = [],
): Parsed<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const issues = issuesFromZod(result.error, root);
  const seen = new Set(issues.map((i) => `${i.path}\u0000${i.message}`));
  for (const check of rawChecks) {
    for (const raw of check(input)) {
      const issue = { path: formatPath(raw.path, root), message: raw.message };
      const key = `${issue.path}\u0000${issue.message}`;
      if (!seen.has(key)) issues.push(issue);
      seen.add(key);
    }
  }
  return { ok: false, issues };
}

/**
 * Finds repeated values of `keyOf(element)` in the array at `input[arrayKey]`, skipping elements
 * whose key cannot be read. Reports `[arrayKey, i, field]` for every repeat after the first.
 */
export function duplicateCheck(
  arrayKey: string,
  field: string,
  keyOf: (element: Record<string, unknown>) => string | undefined,
  message: (element: Record<string, unknown>) => string,
): RawCheck {
  return (input) => {
    if (typeof input !== 'object' || input === null || !Object.hasOwn(input, arrayKey)) return [];
    const list = (input as Record<string, unknown>)[arrayKey];
    if (!Array.isArray(list)) return [];
    const seen = new Set<string>();
    const out: { path: readonly PropertyKey[]; message: string }[] = [];
    list.forEach((el: unknown, i) => {
      if (typeof el !== 'object' || el === null) return;
      const key = keyOf(el as Record<string, unknown>);
      if (key === undefined) return;
      if (seen.has(key))
        out.push({ path: [arrayKey, i, field], message: message(el as Record<string, unknown>) });
      seen.add(key);
    });
    return out;
  };
}

/**
 * A superRefine for an array: every element whose key an earlier element had is reported at
 * `[index, field]` with `message(element)`.
 */
export function noRepeats<T>(
  field: string,
  keyOf: (element: T) => string,
  message: (element: T) => string,
): (items: T[], ctx: z.RefinementCtx<T[]>) => void {
  return (items, ctx) => {
    const seen = new Set<string>();
    items.forEach((element, i) => {
      const key = keyOf(element);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, field], message: message(element) });
      seen.add(key);
    });
  };
}

/**
 * An object used as a map: every key is checked (not empty, not reserved, matching `keyPattern`
 * if given) and every value validated by the schema `valueFor(key)` returns; all problems are
 * reported with their paths, none hides another.
 */
export function recordOf<V>(
  keyPattern: RegExp | undefined,
  valueFor: (key: string) => z.ZodType<V, unknown>,
): z.ZodType<Record<string, V>, unknown> {
  return zod()
    .custom<Record<string, unknown>>(isPlainObject, {
      error: expected('an object'),
    })
    .transform((input, ctx) => {
      const out: Record<string, V> = {};
      for (const key of Object.keys(input)) {
        let problem: string | undefined;
        if (key.length === 0) problem = 'key must not be empty';
        else if (RESERVED_KEYS.has(key)) problem = 'is a reserved key';
        else if (keyPattern !== undefined && !keyPattern.test(key))
          problem = `key must match ${keyPattern.source}`;
        if (problem !== undefined) {
          ctx.issues.push({ code: 'custom', input: key, path: [key], message: problem });
          continue;
        }
        const parsed = valueFor(key).safeParse(input[key]);
        if (parsed.success) {
          out[key] = parsed.data;
        } else {
          for (const issue of parsed.error.issues) {
            ctx.issues.push({
              ...issue,
              input: input[key],
              path: [key, ...issue.path],
            } as (typeof ctx.issues)[number]);
          }
        }
      }
      return out;
    });
}

/** Error callback for a type mismatch: "is required" when absent, else "must be X, got Y". */
export function expected(what: string, whenMissing = 'is required'): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined ? whenMissing : `must be ${what}, got ${describe(issue.input)}`;
}

/** A non-empty string without control characters. */
export function text(whenMissing?: string): z.ZodString {
  return zod()
    .string({ error: expected('a string', whenMissing) })
    .min(1, { error: 'must not be empty' })
    .refine((s) => !CONTROL_CHARS.test(s), { error: 'must not contain control characters' });
}

/** A name such as a metric or dimension name. */
export function name(): z.ZodString {
  return zod()
    .string({ error: expected('a string') })
    .regex(NAME_PATTERN, { error: `must match ${NAME_PATTERN.source}` });
}

/** A finite number of seconds since the epoch, >= 0. */
export function timestamp(): z.ZodNumber {
  return zod()
    .number({ error: expected('a number of seconds') })
    .nonnegative({ error: 'must not be negative' });
}

/** The object schema shape used everywhere: unknown keys are errors, not silently dropped. */
export function strictObject<S extends z.ZodRawShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  return zod().strictObject(shape, { error: expected('an object') });
}
