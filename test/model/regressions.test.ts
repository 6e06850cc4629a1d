/**
 * Problems found while reviewing the model: each test pins the fixed behaviour.
 */
import { describe, expect, it } from 'vitest';
import { parseEnrichmentGroup, parseEnrichmentGroupSet } from '../../src/model/enrichment.js';
import { parseJson } from '../../src/model/json.js';
import { parseMetricsGroup } from '../../src/model/metrics-group.js';
import { parseResource } from '../../src/model/resource.js';
import { parseMetricsGroupDocument, parseResourceDocument } from '../../src/model/sets.js';
import {
  enrichmentGroupJson,
  issuesOf,
  lines,
  metricJson,
  metricsGroupJson,
  resourceJson,
  without,
} from './fixtures.js';

describe('set-level keys named like Object.prototype members', () => {
  for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    it(`reports "${key}" as an unknown key instead of crashing`, () => {
      const text = `{"resources": [], "${key}": 1}`;
      expect(parseResourceDocument(parseJson(text)).issues).toEqual([
        { path: `$.${key}`, message: 'unknown key' },
      ]);
      const metrics = `{"metrics_groups": [], "${key}": 1}`;
      expect(parseMetricsGroupDocument(parseJson(metrics)).issues).toEqual([
        { path: `$.${key}`, message: 'unknown key' },
      ]);
    });
  }
});

describe('duplicates are reported even when other elements are invalid', () => {
  it('duplicate metric beside a metric with a bad type', () => {
    const group = metricsGroupJson({
      metrics: [
        metricJson({ metric_name: 'x' }),
        metricJson({ metric_name: 'x' }),
        metricJson({ metric_type: 'rate' }),
      ],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual(
      expect.arrayContaining([
        '$.metrics[1].metric_name: duplicate counter "x"',
        '$.metrics[2].metric_type: must be "counter" or "gauge"',
      ]),
    );
  });

  it('duplicate dimension beside a dimension with a bad value', () => {
    const group = metricsGroupJson({
      dimensions: [
        { dimension_name: 'a', dimension_value: 'x' },
        { dimension_name: 'a', dimension_value: 'y' },
        { dimension_name: 'b', dimension_value: 5 },
      ],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual(
      expect.arrayContaining([
        '$.dimensions[1].dimension_name: duplicate dimension "a"',
        '$.dimensions[2].dimension_value: must be a string, got an integer',
      ]),
    );
  });

  it('duplicate namespace beside a group with a bad namespace', () => {
    const set = {
      resource: resourceJson(),
      enrichment: [enrichmentGroupJson(), enrichmentGroupJson(), enrichmentGroupJson({ namespace: 7 })],
    };
    const found = lines(issuesOf(parseEnrichmentGroupSet(set)));
    expect(found.some((l) => l.startsWith('$.enrichment[1].namespace: duplicate namespace'))).toBe(true);
    expect(found.some((l) => l.startsWith('$.enrichment[2].namespace: must be a string'))).toBe(true);
  });

  it('bad enrichment keys beside bad values', () => {
    const group = enrichmentGroupJson({ data: { '1': { 'd-e': 'x', a: null }, '': {}, '2': 'str' } });
    expect(lines(issuesOf(parseEnrichmentGroup(group))).sort()).toEqual(
      [
        '$.data[""]: key must not be empty',
        '$.data["1"]["d-e"]: key must match ^[A-Za-z_][A-Za-z0-9_]*$',
        '$.data["1"].a: must be a string, number or boolean, got null',
        '$.data["2"]: must be an object, got a string',
      ].sort(),
    );
  });
});

describe('__proto__ keys are reported, never silently dropped', () => {
  it('in resource metadata', () => {
    const text = JSON.stringify(resourceJson()).replace('"model"', '"__proto__"');
    expect(lines(issuesOf(parseResource(parseJson(text))))).toEqual([
      '$.resource_metadata.__proto__: is a reserved key',
    ]);
  });

  it('in enrichment data', () => {
    const text = JSON.stringify(enrichmentGroupJson({ data: { __KEY__: { a: 1 } } })).replace(
      '__KEY__',
      '__proto__',
    );
    expect(lines(issuesOf(parseEnrichmentGroup(parseJson(text))))).toEqual([
      '$.data.__proto__: is a reserved key',
    ]);
  });
});

describe('messages name what the user wrote', () => {
  it('a non-string resource_plugin alias is reported at $.resource_plugin', () => {
    const input = { ...without(resourceJson(), 'resource_creation_plugin'), resource_plugin: 5 };
    expect(lines(issuesOf(parseResource(input)))).toContain(
      '$.resource_plugin: must be a string, got an integer',
    );
  });

  it('an infinite metric value says so', () => {
    const group = parseJson(
      JSON.stringify(metricsGroupJson()).replace('"metric_value":1234', '"metric_value":1e400'),
    );
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.metrics[0].metric_value: must be a number, got Infinity',
    ]);
  });

  it('an integer beyond 2^53 where seconds are expected says so', () => {
    const group = parseJson(
      JSON.stringify(metricsGroupJson()).replace(
        /"metrics_group_interval":\d+/,
        '"metrics_group_interval":18446744073709551615',
      ),
    );
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.metrics_group_interval: must be an integer number of seconds, got an integer beyond 2^53',
    ]);
  });
});
