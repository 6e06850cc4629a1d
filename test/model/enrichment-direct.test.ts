/**
 * readEnrichmentGroupDirectly, the check parseEnrichmentGroup makes before it uses zod, against
 * the schema: whatever it accepts, the schema accepts with the same value; what it leaves, the
 * schema decides (so parseEnrichmentGroup's result is always the schema's).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  enrichmentGroupSchema,
  parseEnrichmentGroup,
  readEnrichmentGroupDirectly,
} from '../../src/model/enrichment.js';
import { validateWith } from '../../src/model/validation.js';

function sameAsSchema(input: unknown): boolean {
  const schema = validateWith(enrichmentGroupSchema(), input, '$');
  expect(parseEnrichmentGroup(input)).toEqual(schema);
  const direct = readEnrichmentGroupDirectly(input);
  if (direct !== undefined) expect(schema).toEqual({ ok: true, value: direct });
  return direct !== undefined;
}

/** The interface enrichment of a device with `n` interfaces, as stored. */
function group(n = 24): Record<string, unknown> {
  const data: Record<string, Record<string, unknown>> = {};
  for (let i = 1; i <= n; i++) {
    data[String(i)] = {
      interface_name: `Gi1/0/${i}`,
      alias: i === 1 ? 'uplink' : '',
      description: `GigabitEthernet1/0/${i}`,
      port_speed: 1_000_000_000,
      media_type: 'ethernetCsmacd',
      is_up: i % 2 === 0,
    };
  }
  return {
    namespace: 'interface',
    data,
    metadata: {
      _enrichment_group_creation_timestamp: 1_800_000_000.5,
      _enrichment_ttl: 900,
      _execute_frequency: 300,
    },
  };
}

const odd = fc.constantFrom(
  '',
  'a b',
  'bad-name',
  0,
  -1,
  1.5,
  2 ** 53,
  1n,
  null,
  undefined,
  Infinity,
  NaN,
  [],
  {},
  true,
  '900',
);

describe('readEnrichmentGroupDirectly', () => {
  it('reads a stored interface group directly, bigint and boolean values included', () => {
    expect(sameAsSchema(group())).toBe(true);
    expect(sameAsSchema(group(0))).toBe(true);
    const g = group(2);
    (g['data'] as Record<string, Record<string, unknown>>)['1']!['in_octets'] = 2n ** 64n - 1n;
    expect(sameAsSchema(g)).toBe(true);
  });

  it('leaves unknown keys, reserved keys and wrong shapes to the schema', () => {
    expect(sameAsSchema({ ...group(), extra: 1 })).toBe(false);
    expect(sameAsSchema({ ...group(), metadata: { ...(group()['metadata'] as object), x: 1 } })).toBe(false);
    expect(sameAsSchema({ ...group(), data: JSON.parse('{"__proto__":{"a":1}}') as unknown })).toBe(false);
    expect(sameAsSchema({ ...group(), data: { 1: JSON.parse('{"__proto__":1}') as unknown } })).toBe(false);
    expect(sameAsSchema({ ...group(), data: { '': { a: 1 } } })).toBe(false);
    expect(sameAsSchema({ ...group(), data: [] })).toBe(false);
    expect(sameAsSchema([group()])).toBe(false);
  });

  it('gives the schema result for any field replaced by something odd', () => {
    const fields = [
      'namespace',
      'data',
      'metadata',
      'metadata._enrichment_group_creation_timestamp',
      'metadata._enrichment_ttl',
      'metadata._execute_frequency',
      'data.7',
      'data.7.interface_name',
      'data.7.port_speed',
      'data.7.bad-key',
      'data.7.0starts_with_digit',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), odd, (field, value) => {
        const g = group(8);
        const path = field.split('.');
        let at = g;
        for (const p of path.slice(0, -1)) {
          at[p] = { ...(at[p] as Record<string, unknown>) };
          at = at[p] as Record<string, unknown>;
        }
        at[path.at(-1) as string] = value;
        sameAsSchema(g);
      }),
      { numRuns: 600, seed: 20261204 },
    );
  });
});
