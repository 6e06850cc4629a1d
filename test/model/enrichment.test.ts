import { describe, it, expect } from 'vitest';
import {
  enrichmentGroupSetToJson,
  enrichmentGroupToJson,
  lookupEnrichment,
  parseEnrichmentGroup,
  parseEnrichmentGroupSet,
} from '../../src/model/enrichment.js';
import type { EnrichmentGroup } from '../../src/model/enrichment.js';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import {
  COUNTER64_MAX,
  COUNTER64_MAX_TEXT,
  enrichmentGroupJson,
  issuesOf,
  lines,
  resourceJson,
  valueOf,
  without,
} from './fixtures.js';

const NAME_RULE = 'must match ^[A-Za-z_][A-Za-z0-9_]*$';
const METADATA = {
  _enrichment_group_creation_timestamp: 1700000000,
  _enrichment_ttl: 900,
  _execute_frequency: 60,
};

function withMetadata(overrides: Record<string, unknown>): Record<string, unknown> {
  return enrichmentGroupJson({ metadata: { ...METADATA, ...overrides } });
}

describe('parseEnrichmentGroup', () => {
  it('accepts a group and exposes ttl, frequency and timestamp as fields', () => {
    const g = valueOf(parseEnrichmentGroup(enrichmentGroupJson()));
    expect(g).toEqual({
      namespace: 'interface',
      enrichment_ttl: 900,
      execute_frequency: 60,
      creation_timestamp: 1700000000,
      data: {
        '1': { interface_name: 'Gi1/0/1', speed: 1000000000, up: true },
        '2': { interface_name: 'Gi1/0/2', speed: 10000000000, up: false },
      },
    });
  });

  it('accepts empty data and a key with no values', () => {
    expect(valueOf(parseEnrichmentGroup(enrichmentGroupJson({ data: {} }))).data).toEqual({});
    expect(valueOf(parseEnrichmentGroup(enrichmentGroupJson({ data: { '7': {} } }))).data).toEqual({
      '7': {},
    });
  });

  it('round-trips through enrichmentGroupToJson to the same wire form', () => {
    const input = enrichmentGroupJson();
    const json = enrichmentGroupToJson(valueOf(parseEnrichmentGroup(input)));
    expect(json).toEqual(input);
    expect(Object.keys(json)).toEqual(['namespace', 'data', 'metadata']);
  });

  it('keeps a Counter64 value exact from text to text', () => {
    const text = stringifyJson(enrichmentGroupJson({ data: { '1': { hc_octets: COUNTER64_MAX } } }));
    expect(text).toContain(`"hc_octets":${COUNTER64_MAX_TEXT}`);
    const g = valueOf(parseEnrichmentGroup(parseJson(text)));
    expect(lookupEnrichment(g, '1', 'hc_octets')).toBe(COUNTER64_MAX);
    expect(stringifyJson(enrichmentGroupToJson(g))).toBe(text);
  });

  it.each([['if-x'], ['1interface'], [''], ['with space']])('rejects namespace %j', (namespace) => {
    expect(lines(issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ namespace }))))).toEqual([
      `$.namespace: ${NAME_RULE}`,
    ]);
  });

  it('rejects a namespace that is not a string, or is missing', () => {
    expect(lines(issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ namespace: 3 }))))).toEqual([
      '$.namespace: must be a string, got an integer',
    ]);
    expect(lines(issuesOf(parseEnrichmentGroup(without(enrichmentGroupJson(), 'namespace'))))).toEqual([
      '$.namespace: is required',
    ]);
  });

  it.each([
    ['_enrichment_ttl', 0, 'must be greater than 0'],
    ['_enrichment_ttl', -60, 'must be greater than 0'],
    ['_enrichment_ttl', 1.5, 'must be an integer number of seconds'],
    ['_enrichment_ttl', '900', 'must be an integer number of seconds, got a string'],
    ['_execute_frequency', 0, 'must be greater than 0'],
    ['_execute_frequency', null, 'must be an integer number of seconds, got null'],
  ])('rejects metadata.%s = %j', (key, value, message) => {
    const issues = issuesOf(parseEnrichmentGroup(withMetadata({ [key]: value })));
    expect(issues).toEqual([{ path: `$.metadata.${key}`, message }]);
  });

  it('rejects a negative creation timestamp, a missing field and an unknown field in metadata', () => {
    const metadata = { _enrichment_group_creation_timestamp: -1, _enrichment_ttl: 900, extra: true };
    const issues = issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ metadata })));
    expect(lines(issues)).toEqual([
      '$.metadata._enrichment_group_creation_timestamp: must not be negative',
      '$.metadata._execute_frequency: is required',
      '$.metadata.extra: unknown key',
    ]);
  });

  it('rejects a missing metadata object', () => {
    expect(lines(issuesOf(parseEnrichmentGroup(without(enrichmentGroupJson(), 'metadata'))))).toEqual([
      '$.metadata: is required',
    ]);
  });

  it('reports each value of the wrong type with its path', () => {
    const data = { '1': { ok: 'x', a: null, b: [1], c: { nested: 1 } } };
    const issues = issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ data })));
    expect(lines(issues)).toEqual([
      '$.data["1"].a: must be a string, number or boolean, got null',
      '$.data["1"].b: must be a string, number or boolean, got an array',
      '$.data["1"].c: must be a string, number or boolean, got an object',
    ]);
  });

  it('rejects a non-finite value', () => {
    const issues = issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ data: { '1': { x: Number.NaN } } })));
    expect(issues.map((i) => i.path)).toEqual(['$.data["1"].x']);
  });

  it('rejects a value name that is not a name', () => {
    const issues = issuesOf(
      parseEnrichmentGroup(enrichmentGroupJson({ data: { eth0: { 'if-name': 'x' } } })),
    );
    expect(lines(issues)).toEqual([`$.data.eth0["if-name"]: key ${NAME_RULE}`]);
  });

  it('rejects an empty data key', () => {
    const issues = issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ data: { '': { a: 'x' } } })));
    expect(lines(issues)).toEqual(['$.data[""]: key must not be empty']);
  });

  it('rejects data entries and data that are not objects', () => {
    expect(lines(issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ data: { '2': 'str' } }))))).toEqual([
      '$.data["2"]: must be an object, got a string',
    ]);
    expect(lines(issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ data: [] }))))).toEqual([
      '$.data: must be an object, got an array',
    ]);
  });

  it('rejects unknown top-level keys', () => {
    expect(lines(issuesOf(parseEnrichmentGroup(enrichmentGroupJson({ resource: 'x' }))))).toEqual([
      '$.resource: unknown key',
    ]);
  });
});

describe('parseEnrichmentGroupSet', () => {
  const setJson = (
    enrichment: unknown[],
    overrides: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    resource: resourceJson(),
    enrichment,
    ...overrides,
  });

  it('accepts a set and round-trips it through enrichmentGroupSetToJson', () => {
    const input = setJson([enrichmentGroupJson(), enrichmentGroupJson({ namespace: 'device', data: {} })]);
    const set = valueOf(parseEnrichmentGroupSet(input));
    expect(set.resource.resource_id).toBe('switch1.dc1.example.com');
    expect(set.groups.map((g) => g.namespace)).toEqual(['interface', 'device']);
    const json = enrichmentGroupSetToJson(set);
    expect(json).toEqual(input);
    expect(valueOf(parseEnrichmentGroupSet(parseJson(stringifyJson(json))))).toEqual(set);
  });

  it('accepts a set without groups', () => {
    expect(valueOf(parseEnrichmentGroupSet(setJson([]))).groups).toEqual([]);
  });

  it('reports a duplicate namespace at the second group', () => {
    const issues = issuesOf(parseEnrichmentGroupSet(setJson([enrichmentGroupJson(), enrichmentGroupJson()])));
    expect(lines(issues)).toEqual(['$.enrichment[1].namespace: duplicate namespace "interface"']);
  });

  it('reports problems of the resource, a group and the set itself together, with paths', () => {
    const bad = { ...withMetadata({ _enrichment_ttl: 0 }), namespace: 'device' };
    const input = setJson([enrichmentGroupJson(), bad], {
      resource: resourceJson({ resource_site: '' }),
      extra: 1,
    });
    const issues = issuesOf(parseEnrichmentGroupSet(input));
    expect(lines(issues)).toEqual([
      '$.resource.resource_site: must not be empty',
      '$.resource.resource_site: must match ^[A-Za-z0-9._-]+$',
      '$.enrichment[1].metadata._enrichment_ttl: must be greater than 0',
      '$.extra: unknown key',
    ]);
  });

  it('rejects enrichment that is not an array, and a missing resource', () => {
    expect(lines(issuesOf(parseEnrichmentGroupSet(setJson([], { enrichment: {} }))))).toEqual([
      '$.enrichment: must be an array, got an object',
    ]);
    expect(lines(issuesOf(parseEnrichmentGroupSet(without(setJson([]), 'resource'))))).toEqual([
      '$.resource: is required',
    ]);
  });

  it('puts paths under the given root', () => {
    const issues = issuesOf(
      parseEnrichmentGroupSet(setJson([enrichmentGroupJson({ namespace: '-' })]), '$[4]'),
    );
    expect(lines(issues)).toEqual([`$[4].enrichment[0].namespace: ${NAME_RULE}`]);
  });
});

describe('lookupEnrichment', () => {
  const group: EnrichmentGroup = valueOf(
    parseEnrichmentGroup(
      enrichmentGroupJson({
        data: { '3': { interface_name: 'Gi1/0/3', speed: 1000, up: true, hc: COUNTER64_MAX } },
      }),
    ),
  );

  it('returns the value of a field under a key, whatever its type', () => {
    expect(lookupEnrichment(group, '3', 'interface_name')).toBe('Gi1/0/3');
    expect(lookupEnrichment(group, '3', 'speed')).toBe(1000);
    expect(lookupEnrichment(group, '3', 'up')).toBe(true);
    expect(lookupEnrichment(group, '3', 'hc')).toBe(COUNTER64_MAX);
  });

  it('returns undefined for an unknown key or field', () => {
    expect(lookupEnrichment(group, '4', 'interface_name')).toBeUndefined();
    expect(lookupEnrichment(group, '3', 'alias')).toBeUndefined();
  });

  it('does not return inherited Object properties', () => {
    expect(lookupEnrichment(group, 'toString', 'x')).toBeUndefined();
    expect(lookupEnrichment(group, '3', 'toString')).toBeUndefined();
    expect(lookupEnrichment(group, '3', 'constructor')).toBeUndefined();
    expect(lookupEnrichment(group, '__proto__', 'toString')).toBeUndefined();
  });
});
