/**
 * checkMetricsGroup, the polling stage's check of what plugins return, against the schema it
 * stands in for: for any group, valid or not, it must give what
 * `parseMetricsGroup(metricsGroupToJson(group))` gives (verdict, issues, and wire text).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../src/freeze.js';
import { stringifyJson } from '../../src/model/json.js';
import {
  checkMetricsGroup,
  metricsGroupToJson,
  metricsGroupToJsonText,
  parseMetricsGroup,
  rememberValidResource,
} from '../../src/model/metrics-group.js';
import type { MetricsGroup } from '../../src/model/metrics-group.js';
import { parseResource } from '../../src/model/resource.js';
import type { Resource } from '../../src/model/resource.js';
import { metricJson, metricsGroupJson, resourceJson, valueOf } from './fixtures.js';
import type { Json } from './fixtures.js';

/** A parsed resource, frozen and remembered (as the polling stage does), or left as it is. */
function resource(remembered: boolean, overrides: Json = {}): Resource {
  const r = valueOf(parseResource(resourceJson(overrides)));
  if (remembered) {
    deepFreeze(r);
    expect(rememberValidResource(r)).toBe(true);
  }
  return r;
}

/** A group object as a plugin might build it: anything may be wrong with it. */
function group(fields: Json, r: Resource): MetricsGroup {
  return { ...metricsGroupJson(), resource: r, ...fields } as unknown as MetricsGroup;
}

/** Compares with the schema; returns whether the group was valid. */
function sameAsSchema(g: MetricsGroup): boolean {
  const fast = checkMetricsGroup(g, 'plugin[0]');
  const schema = parseMetricsGroup(metricsGroupToJson(g), 'plugin[0]');
  expect(fast.ok).toBe(schema.ok);
  if (fast.ok && schema.ok) {
    const text = metricsGroupToJsonText(fast.value);
    expect(text).toBe(metricsGroupToJsonText(schema.value));
    expect(text).toBe(stringifyJson(metricsGroupToJson(fast.value)));
  }
  if (!fast.ok && !schema.ok) expect(fast.issues).toEqual(schema.issues);
  return schema.ok;
}

/** Mostly the valid choice, so that whole groups are often valid too. */
function mostly<T, U>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: odd, weight: 1 });
}

const badName = fc.constantFrom('', '1abc', 'with space', 'dash-ed', 'ünïcode', 42, null, undefined);
const badNumber = fc.constantFrom(Number.NaN, Infinity, -Infinity, '1', null, undefined, 1n);
const anyValue = fc.oneof(
  fc.double(),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('7', null, undefined, true),
);

/** One metric: valid, or with one field replaced by something odd. */
const metric = fc
  .record({
    name: mostly(fc.constantFrom('bits_in', 'bits_out', 'errors_in'), badName),
    type: mostly(fc.constantFrom('counter', 'gauge'), fc.constantFrom('rate', undefined)),
    value: mostly(fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), anyValue),
    ts: mostly(fc.constantFrom(1700000060.5, 0), fc.constantFrom(-1, Number.NaN, '5')),
    extra: mostly(fc.constant(false), fc.constant(true)),
  })
  .map(({ name, type, value, ts, extra }) => ({
    ...metricJson({
      metric_name: name,
      metric_type: type,
      metric_value: value,
      metric_creation_timestamp: ts,
    }),
    ...(extra ? { unit: 'bits' } : {}),
  }));

const dimension = fc
  .record({
    name: mostly(fc.constantFrom('interface_name', 'alias'), badName),
    value: mostly(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('', 'tab\there', 5)),
  })
  .map(({ name, value }) => ({ dimension_name: name, dimension_value: value }));

const fields = fc.record(
  {
    metrics_group_schema_version: mostly(fc.constantFrom('0.2', undefined), fc.constant('0.1')),
    metrics_group_type: mostly(fc.constantFrom('interface', 'status'), badName),
    metrics_group_interval: mostly(
      fc.constantFrom(60, 1),
      fc.oneof(fc.constantFrom(0, -60, 1.5, 2 ** 60), badNumber),
    ),
    metrics_group_creation_timestamp: mostly(
      fc.constantFrom(1700000060.123, 0),
      fc.oneof(fc.constant(-1), badNumber),
    ),
    dimensions: mostly(
      fc.uniqueArray(dimension, { maxLength: 2, selector: (d) => d.dimension_name }),
      fc.oneof(fc.array(dimension, { maxLength: 4 }), fc.constantFrom(null, 'x', undefined)),
    ),
    metrics: mostly(
      fc.uniqueArray(metric, {
        minLength: 1,
        maxLength: 3,
        selector: (m: Json) => `${String(m['metric_type'])}:${String(m['metric_name'])}`,
      }),
      fc.oneof(fc.array(metric, { maxLength: 5 }), fc.constantFrom(null, {}, undefined)),
    ),
  },
  { requiredKeys: [] },
);

describe('checkMetricsGroup', () => {
  it('accepts a valid group with a remembered resource as it is, without a copy', () => {
    const g = group({ metrics_group_schema_version: '0.2' }, resource(true));
    const checked = checkMetricsGroup(g);
    expect(checked.ok && checked.value).toBe(g);
  });

  it('gives the schema version to a valid group that lacks it', () => {
    const g = group({}, resource(true));
    const checked = valueOf(checkMetricsGroup(g));
    expect(checked.metrics_group_schema_version).toBe('0.2');
    sameAsSchema(g);
  });

  it('reports what the schema reports: negative counter, duplicates, control characters', () => {
    const r = resource(true);
    const cases = [
      group({ metrics: [metricJson({ metric_value: -1 })] }, r),
      group({ metrics: [metricJson(), metricJson({ metric_value: 5 })] }, r),
      group({ metrics: [metricJson({ metric_value: -(2n ** 70n) })] }, r),
      group(
        {
          dimensions: [
            { dimension_name: 'a', dimension_value: 'x' },
            { dimension_name: 'a', dimension_value: 'y' },
          ],
        },
        r,
      ),
      group({ dimensions: [{ dimension_name: 'a', dimension_value: 'new\nline' }] }, r),
      group({ metrics: [] }, r),
    ];
    for (const g of cases) {
      expect(checkMetricsGroup(g).ok).toBe(false);
      sameAsSchema(g);
    }
  });

  it('remembers a frozen value of parseResource without validating it again', () => {
    const r = deepFreeze(valueOf(parseResource(resourceJson({ resource_id: 'parsed-once' }))));
    const g = group({ metrics_group_schema_version: '0.2' }, r);
    expect(rememberValidResource(r, { parsed: true })).toBe(true);
    const checked = checkMetricsGroup(g);
    expect(checked.ok && checked.value).toBe(g); // the fast path: the group itself, not a copy
  });

  it('does not trust a resource it has not seen, nor one that changed (not frozen)', () => {
    const loose = { ...resource(false), resource_id: '' };
    expect(checkMetricsGroup(group({}, loose)).ok).toBe(false);
    sameAsSchema(group({}, loose));
    const unfrozen = resource(false);
    expect(rememberValidResource(unfrozen)).toBe(true); // valid, but not remembered
    (unfrozen as { resource_site: string }).resource_site = '';
    expect(checkMetricsGroup(group({}, unfrozen)).ok).toBe(false);
  });

  it('agrees with the schema on any group, valid or not', () => {
    const remembered = resource(true);
    const other = resource(false);
    let valid = 0;
    fc.assert(
      fc.property(fields, fc.boolean(), (f, useRemembered) => {
        if (sameAsSchema(group(f, useRemembered ? remembered : other))) valid++;
      }),
      { numRuns: 3000 },
    );
    // The draw must include valid groups too, or the fast path would go untested.
    expect(valid).toBeGreaterThan(30);
  });
});
