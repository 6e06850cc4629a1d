import { describe, it, expect } from 'vitest';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import {
  metricsGroupSetToJson,
  parseMetricsGroupDocument,
  parseResourceDocument,
  resourceSetToJson,
} from '../../src/model/sets.js';
import {
  COUNTER64_MAX,
  COUNTER64_MAX_TEXT,
  lines,
  metricJson,
  metricsGroupJson,
  resourceJson,
} from './fixtures.js';

const r = (id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  resourceJson({ resource_id: id, ...overrides });

describe('parseResourceDocument: shapes', () => {
  it('parses a single resource object', () => {
    const doc = parseResourceDocument(r('a'));
    expect(doc.shape).toBe('single');
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a']);
    expect(doc.issues).toEqual([]);
    expect(doc.setFields).toEqual({});
  });

  it('parses an array of resources', () => {
    const doc = parseResourceDocument([r('a'), r('b')]);
    expect(doc.shape).toBe('array');
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a', 'b']);
    expect(doc.issues).toEqual([]);
  });

  it('parses a resource set and keeps its schema version and creation timestamp', () => {
    const doc = parseResourceDocument({
      resources: [r('a'), r('b')],
      resource_set_schema_version: '0.1',
      resource_set_creation_timestamp: 1700000000.5,
    });
    expect(doc.shape).toBe('set');
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a', 'b']);
    expect(doc.issues).toEqual([]);
    expect(doc.setFields).toEqual({
      resource_set_schema_version: '0.1',
      resource_set_creation_timestamp: 1700000000.5,
    });
  });

  it('accepts an empty array and an empty set', () => {
    expect(parseResourceDocument([])).toEqual({ shape: 'array', items: [], issues: [], setFields: {} });
    expect(parseResourceDocument({ resources: [] })).toEqual({
      shape: 'set',
      items: [],
      issues: [],
      setFields: {},
    });
  });
});

describe('parseResourceDocument: issue paths', () => {
  it('uses $.x for a single resource', () => {
    const doc = parseResourceDocument(r('a', { foo: 1 }));
    expect(doc.items).toEqual([]);
    expect(lines(doc.issues)).toEqual(['$.foo: unknown key']);
  });

  it('uses $[i].x for an array and keeps the good items', () => {
    const doc = parseResourceDocument([r('a'), r('b', { foo: 1, resource_type: '' }), r('c')]);
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a', 'c']);
    expect(lines(doc.issues)).toEqual(['$[1].resource_type: must not be empty', '$[1].foo: unknown key']);
  });

  it('uses $.resources[i].x for a set and keeps the good items', () => {
    const doc = parseResourceDocument({
      resources: [r('a'), r('b', { resource_metadata: { k: 1 } }), r('c')],
    });
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a', 'c']);
    expect(lines(doc.issues)).toEqual([
      '$.resources[1].resource_metadata.k: must be a string, got an integer',
    ]);
  });

  it('reports an item that is not an object at its index', () => {
    const doc = parseResourceDocument([r('a'), null, 'x']);
    expect(doc.items).toHaveLength(1);
    expect(lines(doc.issues)).toEqual([
      '$[1]: must be an object, got null',
      '$[2]: must be an object, got a string',
    ]);
  });

  it('treats a non-object, non-array document as a single bad item', () => {
    const doc = parseResourceDocument(42);
    expect(doc.shape).toBe('single');
    expect(lines(doc.issues)).toEqual(['$: must be an object, got an integer']);
  });
});

describe('parseResourceDocument: duplicates and set fields', () => {
  it('reports a duplicate resource_id on the same site in a set and drops the duplicate', () => {
    const doc = parseResourceDocument({
      resources: [r('a'), r('b'), r('a', { resource_endpoint: '192.0.2.99' })],
    });
    expect(doc.items.map((x) => x.resource_id)).toEqual(['a', 'b']);
    expect(doc.items[0]?.resource_endpoint).toBe('192.0.2.10');
    expect(lines(doc.issues)).toEqual(['$.resources[2].resource_id: duplicate of $.resources[0]']);
  });

  it('reports a duplicate resource_id in a bare array', () => {
    const doc = parseResourceDocument([r('a'), r('a')]);
    expect(lines(doc.issues)).toEqual(['$[1].resource_id: duplicate of $[0]']);
  });

  it('accepts the same resource_id on different sites', () => {
    const doc = parseResourceDocument({ resources: [r('a'), r('a', { resource_site: 'dc2' })] });
    expect(doc.issues).toEqual([]);
    expect(doc.items.map((x) => `${x.resource_site}/${x.resource_id}`)).toEqual(['dc1/a', 'dc2/a']);
  });

  it('reports an unknown set-level key but still parses the items', () => {
    const doc = parseResourceDocument({ resources: [r('a')], bogus: 1 });
    expect(doc.shape).toBe('set');
    expect(doc.items).toHaveLength(1);
    expect(lines(doc.issues)).toEqual(['$.bogus: unknown key']);
    expect(doc.setFields).toEqual({});
  });

  it('reports set-level fields of the wrong type and does not keep them', () => {
    const doc = parseResourceDocument({
      resources: [],
      resource_set_schema_version: 1,
      resource_set_creation_timestamp: -1,
    });
    expect(lines(doc.issues)).toEqual([
      '$.resource_set_schema_version: must be a string',
      '$.resource_set_creation_timestamp: must be a number of seconds',
    ]);
    expect(doc.setFields).toEqual({});
  });

  it('reports resources that is not an array', () => {
    const doc = parseResourceDocument({ resources: { a: r('a') } });
    expect(doc.shape).toBe('set');
    expect(doc.items).toEqual([]);
    expect(lines(doc.issues)).toEqual(['$.resources: must be an array']);
  });
});

describe('parseMetricsGroupDocument', () => {
  const g = (type: string, overrides: Record<string, unknown> = {}): Record<string, unknown> =>
    metricsGroupJson({ metrics_group_type: type, ...overrides });

  it('parses a single group', () => {
    const doc = parseMetricsGroupDocument(g('interface'));
    expect(doc.shape).toBe('single');
    expect(doc.items.map((x) => x.metrics_group_type)).toEqual(['interface']);
    expect(doc.issues).toEqual([]);
  });

  it('parses an array of groups', () => {
    const doc = parseMetricsGroupDocument([g('interface'), g('device')]);
    expect(doc.shape).toBe('array');
    expect(doc.items.map((x) => x.metrics_group_type)).toEqual(['interface', 'device']);
  });

  it('parses a metrics group set', () => {
    const doc = parseMetricsGroupDocument({ metrics_groups: [g('interface'), g('device')] });
    expect(doc.shape).toBe('set');
    expect(doc.items).toHaveLength(2);
    expect(doc.issues).toEqual([]);
  });

  it('uses $.x, $[i].x and $.metrics_groups[i].x paths by shape', () => {
    const bad = g('interface', { metrics: [metricJson({ metric_type: 'rate' })] });
    expect(lines(parseMetricsGroupDocument(bad).issues)).toEqual([
      '$.metrics[0].metric_type: must be "counter" or "gauge"',
    ]);
    expect(lines(parseMetricsGroupDocument([g('a'), bad]).issues)).toEqual([
      '$[1].metrics[0].metric_type: must be "counter" or "gauge"',
    ]);
    expect(lines(parseMetricsGroupDocument({ metrics_groups: [g('a'), bad] }).issues)).toEqual([
      '$.metrics_groups[1].metrics[0].metric_type: must be "counter" or "gauge"',
    ]);
  });

  it('keeps the good groups around a bad one and reports only the bad one', () => {
    const doc = parseMetricsGroupDocument({
      metrics_groups: [g('first'), g('second', { metrics_group_interval: 0 }), g('third')],
    });
    expect(doc.items.map((x) => x.metrics_group_type)).toEqual(['first', 'third']);
    expect(lines(doc.issues)).toEqual(['$.metrics_groups[1].metrics_group_interval: must be greater than 0']);
  });

  it('does not treat equal groups as duplicates', () => {
    expect(parseMetricsGroupDocument([g('a'), g('a')]).items).toHaveLength(2);
  });

  it('reports any set-level key beside metrics_groups as unknown', () => {
    const doc = parseMetricsGroupDocument({ metrics_groups: [g('a')], resource_set_schema_version: '0.1' });
    expect(doc.items).toHaveLength(1);
    expect(lines(doc.issues)).toEqual(['$.resource_set_schema_version: unknown key']);
  });
});

describe('resourceSetToJson / metricsGroupSetToJson', () => {
  it('writes a resource set with its optional fields only when present', () => {
    const doc = parseResourceDocument([r('a')]);
    expect(resourceSetToJson({ resources: doc.items })).toEqual({ resources: [r('a')] });
    expect(
      resourceSetToJson({
        resources: doc.items,
        resource_set_schema_version: '0.1',
        resource_set_creation_timestamp: 5,
      }),
    ).toEqual({
      resources: [r('a')],
      resource_set_creation_timestamp: 5,
      resource_set_schema_version: '0.1',
    });
  });

  it('writes a metrics group set whose Counter64 values keep every digit', () => {
    const text = stringifyJson({
      metrics_groups: [
        metricsGroupJson({ metrics: [metricJson({ metric_value: COUNTER64_MAX })] }),
        metricsGroupJson({ metrics_group_type: 'device' }),
      ],
    });
    const doc = parseMetricsGroupDocument(parseJson(text));
    expect(doc.issues).toEqual([]);
    const out = stringifyJson(metricsGroupSetToJson({ metrics_groups: doc.items }));
    expect(out).toContain(`"metric_value":${COUNTER64_MAX_TEXT}`);
    const again = parseMetricsGroupDocument(parseJson(out));
    expect(again.items).toEqual(doc.items);
  });
});
