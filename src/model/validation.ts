/**
 * Shared pieces of the model's validation: JSON paths, the result type, zod issue formatting and
 * the small schema builders every model file uses, so all messages read the same way.
 */
import { z } from 'zod';
import type { ValidationIssue } from '../errors.js';

/** Names of metrics, dimensions, metrics group types and metadata keys. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Sites become part of Kafka topic names, so they use the characters topics allow. */
export const SITE_PATTERN = /^[A-Za-z0-9._-]+$/;
// eslint-disable-next-line no-control-regex -- the point is to reject control characters
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

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
  if (typeof value === 'bigint') return 'an integer';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
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

export function validateWith<T>(schema: z.ZodType<T>, input: unknown, root = '$'): Parsed<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: issuesFromZod(result.error, root) };
}

/** Error callback for a type mismatch: "is required" when absent, else "must be X, got Y". */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined ? 'is required' : `must be ${what}, got ${describe(issue.input)}`;
}

/** A non-empty string without control characters. */
export function text(): z.ZodString {
  return z
    .string({ error: expected('a string') })
    .min(1, { error: 'must not be empty' })
    .refine((s) => !CONTROL_CHARS.test(s), { error: 'must not contain control characters' });
}

/** A name such as a metric or dimension name. */
export function name(): z.ZodString {
  return z
    .string({ error: expected('a string') })
    .regex(NAME_PATTERN, { error: `must match ${NAME_PATTERN.source}` });
}

/** A finite number of seconds since the epoch, >= 0. */
export function timestamp(): z.ZodNumber {
  return z.number({ error: expected('a number of seconds') }).nonnegative({ error: 'must not be negative' });
}

/** The object schema shape used everywhere: unknown keys are errors, not silently dropped. */
export function strictObject<S extends z.ZodRawShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  return z.strictObject(shape, { error: expected('an object') });
}
