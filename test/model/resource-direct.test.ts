/**
 * readResourceDirectly, the check parseResource makes before it loads zod, against the schema:
 * whatever it accepts, the schema accepts with the same value; what it leaves, the schema
 * decides (so parseResource's result is always the schema's).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseResource, readResourceDirectly, resourceSchema } from '../../src/model/resource.js';
import { validateWith } from '../../src/model/validation.js';
import { resourceJson } from './fixtures.js';

function sameAsSchema(input: unknown): boolean {
  const schema = validateWith(resourceSchema(), input, '$');
  expect(parseResource(input)).toEqual(schema);
  const direct = readResourceDirectly(input);
  if (direct !== undefined) expect(schema).toEqual({ ok: true, value: direct });
  return direct !== undefined;
}

const odd = fc.constantFrom(
  '',
  'a\tb',
  'd c1',
  42,
  -1,
  1n,
  null,
  undefined,
  Infinity,
  [],
  {},
  true,
  '0600',
  '600',
  ' 600',
);

describe('readResourceDirectly', () => {
  // A missing creation timestamp becomes the time of parsing: one time for both.
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads a plain resource directly', () => {
    expect(sameAsSchema(resourceJson())).toBe(true);
    expect(sameAsSchema(resourceJson({ resource_metadata: { _resource_ttl: '3600' } }))).toBe(true);
    expect(sameAsSchema(resourceJson({ resource_metadata: undefined }))).toBe(true);
    expect(sameAsSchema(resourceJson({ resource_creation_timestamp: undefined }))).toBe(true);
    const { resource_creation_timestamp: _created, ...noTimestamp } = resourceJson();
    expect(readResourceDirectly(noTimestamp)?.resource_creation_timestamp).toBe(1_800_000_000);
  });

  it('leaves the alias, a TTL not in its normal form and unknown keys to the schema', () => {
    const { resource_creation_plugin: plugin, ...rest } = resourceJson();
    expect(sameAsSchema({ ...rest, resource_plugin: plugin })).toBe(false);
    expect(sameAsSchema(resourceJson({ resource_metadata: { _resource_ttl: 600 } }))).toBe(false);
    expect(sameAsSchema(resourceJson({ extra: 1 }))).toBe(false);
    expect(
      sameAsSchema(resourceJson({ resource_metadata: JSON.parse('{"__proto__":"x"}') as unknown })),
    ).toBe(false);
  });

  it('gives the schema result for any field replaced by something odd', () => {
    const keys = Object.keys(resourceJson());
    const input = fc.record({
      field: fc.constantFrom(
        ...keys,
        'resource_metadata.model',
        'resource_metadata._resource_ttl',
        'resource_metadata.bad-key',
      ),
      value: odd,
    });
    fc.assert(
      fc.property(input, ({ field, value }) => {
        const r = resourceJson();
        if (field.startsWith('resource_metadata.')) {
          r['resource_metadata'] = { ...(r['resource_metadata'] as object), [field.slice(18)]: value };
        } else {
          r[field] = value;
        }
        sameAsSchema(r);
      }),
      { numRuns: 500, seed: 20261204 },
    );
  });
});
