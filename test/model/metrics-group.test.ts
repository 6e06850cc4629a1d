import { describe, it, expect } from 'vitest';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import {
  METRICS_GROUP_SCHEMA_VERSION,
  metricsGroupToJson,
  metricsGroupToJsonText,
  parseMetricsGroup,
} from '../../src/model/metrics-group.js';
import {
  COUNTER64_MAX,
  COUNTER64_MAX_TEXT,
  issuesOf,
  lines,
  metricJson,
  metricsGroupJson,
  resourceJson,
  valueOf,
  without,
} from './fixtures.js';

const NAME_RULE = 'must match ^[A-Za-z_][A-Za-z0-9_]*$';

/** A group holding exactly one metric, built from metricJson(overrides). */
function oneMetric(overrides: Record<string, unknown>): Record<string, unknown> {
  return metricsGroupJson({ metrics: [metricJson(overrides)] });
}

describe('parseMetricsGroup: valid input', () => {
  it('accepts a group and adds schema version "0.2" when absent', () => {
    const input = metricsGroupJson();
    expect(input).not.toHaveProperty('metrics_group_schema_version');
    const g = valueOf(parseMetricsGroup(input));
    expect(METRICS_GROUP_SCHEMA_VERSION).toBe('0.2');
    expect(g.metrics_group_schema_version).toBe('0.2');
    expect(g).toEqual({ metrics_group_schema_version: '0.2', ...input });
  });

  it('accepts an explicit schema version "0.2"', () => {
    expect(parseMetricsGroup(metricsGroupJson({ metrics_group_schema_version: '0.2' })).ok).toBe(true);
  });

  it.each([['0.1'], ['0.3'], [0.2]])('rejects schema version %j', (version) => {
    const issues = issuesOf(parseMetricsGroup(metricsGroupJson({ metrics_group_schema_version: version })));
    expect(lines(issues)).toEqual(['$.metrics_group_schema_version: must be "0.2"']);
  });

  it('accepts a group without dimensions', () => {
    expect(valueOf(parseMetricsGroup(metricsGroupJson({ dimensions: [] }))).dimensions).toEqual([]);
  });

  it('accepts the same metric name once as a counter and once as a gauge', () => {
    const g = valueOf(
      parseMetricsGroup(
        metricsGroupJson({
          metrics: [
            metricJson({ metric_type: 'counter' }),
            metricJson({ metric_type: 'gauge', metric_value: 3.5 }),
          ],
        }),
      ),
    );
    expect(g.metrics.map((m) => `${m.metric_type}:${m.metric_name}`)).toEqual([
      'counter:bits_in',
      'gauge:bits_in',
    ]);
  });

  it('accepts a negative gauge', () => {
    const g = valueOf(parseMetricsGroup(oneMetric({ metric_type: 'gauge', metric_value: -40.5 })));
    expect(g.metrics[0]?.metric_value).toBe(-40.5);
  });

  it('accepts a zero counter and a bigint counter', () => {
    expect(parseMetricsGroup(oneMetric({ metric_value: 0 })).ok).toBe(true);
    const g = valueOf(parseMetricsGroup(oneMetric({ metric_value: COUNTER64_MAX })));
    expect(g.metrics[0]?.metric_value).toBe(COUNTER64_MAX);
  });
});

describe('parseMetricsGroup: metrics', () => {
  it('reports metric_type "rate" exactly at $.metrics[0].metric_type', () => {
    const issues = issuesOf(parseMetricsGroup(oneMetric({ metric_type: 'rate' })));
    expect(issues).toEqual([{ path: '$.metrics[0].metric_type', message: 'must be "counter" or "gauge"' }]);
  });

  it('reports a missing metric_type as required', () => {
    const group = metricsGroupJson({ metrics: [without(metricJson(), 'metric_type')] });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual(['$.metrics[0].metric_type: is required']);
  });

  it('reports a duplicate metric of the same type at the second one', () => {
    const group = metricsGroupJson({
      metrics: [metricJson({ metric_value: 1 }), metricJson({ metric_value: 2 })],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.metrics[1].metric_name: duplicate counter "bits_in"',
    ]);
  });

  it('reports a duplicate gauge too', () => {
    const group = metricsGroupJson({
      metrics: [
        metricJson({ metric_name: 'cpu', metric_type: 'gauge' }),
        metricJson({ metric_name: 'mem', metric_type: 'gauge' }),
        metricJson({ metric_name: 'cpu', metric_type: 'gauge' }),
      ],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.metrics[2].metric_name: duplicate gauge "cpu"',
    ]);
  });

  it('rejects an empty metrics array', () => {
    expect(lines(issuesOf(parseMetricsGroup(metricsGroupJson({ metrics: [] }))))).toEqual([
      '$.metrics: must hold at least one metric',
    ]);
  });

  it('rejects metrics that is not an array, or is missing', () => {
    expect(lines(issuesOf(parseMetricsGroup(metricsGroupJson({ metrics: {} }))))).toEqual([
      '$.metrics: must be an array, got an object',
    ]);
    expect(lines(issuesOf(parseMetricsGroup(without(metricsGroupJson(), 'metrics'))))).toEqual([
      '$.metrics: is required',
    ]);
  });

  it('rejects a negative counter, as a number or a bigint', () => {
    expect(lines(issuesOf(parseMetricsGroup(oneMetric({ metric_value: -1 }))))).toEqual([
      '$.metrics[0].metric_value: a counter must not be negative',
    ]);
    expect(lines(issuesOf(parseMetricsGroup(oneMetric({ metric_value: -COUNTER64_MAX }))))).toEqual([
      '$.metrics[0].metric_value: a counter must not be negative',
    ]);
  });

  it.each([
    ['a string', '5', 'must be a number, got a string'],
    ['null', null, 'must be a number, got null'],
    ['a boolean', true, 'must be a number, got a boolean'],
  ])('rejects a metric value that is %s', (_label, value, message) => {
    expect(lines(issuesOf(parseMetricsGroup(oneMetric({ metric_value: value }))))).toEqual([
      `$.metrics[0].metric_value: ${message}`,
    ]);
  });

  it('rejects non-finite metric values', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const issues = issuesOf(parseMetricsGroup(oneMetric({ metric_value: value })));
      expect(issues.map((i) => i.path)).toEqual(['$.metrics[0].metric_value']);
    }
  });

  it('rejects unknown keys inside a metric', () => {
    expect(lines(issuesOf(parseMetricsGroup(oneMetric({ metric_unit: 'bits' }))))).toEqual([
      '$.metrics[0].metric_unit: unknown key',
    ]);
  });
});

describe('parseMetricsGroup: interval, dimensions, names', () => {
  it.each([
    [0, 'must be greater than 0'],
    [-5, 'must be greater than 0'],
    [1.5, 'must be an integer number of seconds'],
    ['60', 'must be an integer number of seconds, got a string'],
  ])('rejects metrics_group_interval %j', (interval, message) => {
    const issues = issuesOf(parseMetricsGroup(metricsGroupJson({ metrics_group_interval: interval })));
    expect(issues).toEqual([{ path: '$.metrics_group_interval', message }]);
  });

  it('reports a duplicate dimension name at the second one', () => {
    const group = metricsGroupJson({
      dimensions: [
        { dimension_name: 'interface_name', dimension_value: 'Gi1/0/1' },
        { dimension_name: 'interface_name', dimension_value: 'Gi1/0/2' },
      ],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.dimensions[1].dimension_name: duplicate dimension "interface_name"',
    ]);
  });

  it('rejects an empty dimension value', () => {
    const group = metricsGroupJson({ dimensions: [{ dimension_name: 'alias', dimension_value: '' }] });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.dimensions[0].dimension_value: must not be empty',
    ]);
  });

  it('rejects a dimension value that is not a string', () => {
    const group = metricsGroupJson({ dimensions: [{ dimension_name: 'vlan', dimension_value: 10 }] });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.dimensions[0].dimension_value: must be a string, got an integer',
    ]);
  });

  it('rejects bad group type, dimension and metric names', () => {
    const group = metricsGroupJson({
      metrics_group_type: 'if-x',
      dimensions: [{ dimension_name: '1a', dimension_value: 'v' }],
      metrics: [metricJson({ metric_name: 'bits in' })],
    });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      `$.metrics_group_type: ${NAME_RULE}`,
      `$.dimensions[0].dimension_name: ${NAME_RULE}`,
      `$.metrics[0].metric_name: ${NAME_RULE}`,
    ]);
  });

  it('reports a problem of the nested resource under $.resource', () => {
    const group = metricsGroupJson({ resource: resourceJson({ resource_id: '' }) });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual(['$.resource.resource_id: must not be empty']);
    const missing = metricsGroupJson({ resource: without(resourceJson(), 'resource_id') });
    expect(lines(issuesOf(parseMetricsGroup(missing)))).toEqual(['$.resource.resource_id: is required']);
  });

  it('folds the resource_plugin alias of the nested resource', () => {
    const resource = { ...without(resourceJson(), 'resource_creation_plugin'), resource_plugin: 'legacy' };
    const g = valueOf(parseMetricsGroup(metricsGroupJson({ resource })));
    expect(g.resource.resource_creation_plugin).toBe('legacy');
  });

  it('reports problems from several places of one group, all of them', () => {
    const group = metricsGroupJson({
      metrics_group_interval: 0,
      metrics_group_creation_timestamp: -1,
      resource: resourceJson({ resource_site: 'a b' }),
      dimensions: [{ dimension_name: 'x', dimension_value: '' }],
      metrics: [metricJson({ metric_type: 'rate' }), metricJson({ metric_name: 'errors', metric_value: -3 })],
      extra: 1,
    });
    const issues = issuesOf(parseMetricsGroup(group));
    expect(lines(issues)).toEqual([
      '$.metrics_group_interval: must be greater than 0',
      '$.metrics_group_creation_timestamp: must not be negative',
      '$.resource.resource_site: must match ^[A-Za-z0-9._-]+$',
      '$.dimensions[0].dimension_value: must not be empty',
      '$.metrics[0].metric_type: must be "counter" or "gauge"',
      '$.metrics[1].metric_value: a counter must not be negative',
      '$.extra: unknown key',
    ]);
    expect(issues).toHaveLength(7);
  });

  it('reports a duplicate metric alongside problems elsewhere in the group', () => {
    const group = metricsGroupJson({ metrics_group_interval: -1, metrics: [metricJson(), metricJson()] });
    expect(lines(issuesOf(parseMetricsGroup(group)))).toEqual([
      '$.metrics_group_interval: must be greater than 0',
      '$.metrics[1].metric_name: duplicate counter "bits_in"',
    ]);
  });

  it('rejects a group that is not an object', () => {
    expect(lines(issuesOf(parseMetricsGroup([metricsGroupJson()])))).toEqual([
      '$: must be an object, got an array',
    ]);
  });
});

describe('metricsGroupToJson', () => {
  it('serialises a parsed group to the wire form with the schema version first', () => {
    const input = metricsGroupJson();
    const json = metricsGroupToJson(valueOf(parseMetricsGroup(input)));
    expect(json).toEqual({ metrics_group_schema_version: '0.2', ...input });
    expect(Object.keys(json)).toEqual([
      'metrics_group_schema_version',
      'metrics_group_type',
      'metrics_group_interval',
      'metrics_group_creation_timestamp',
      'resource',
      'dimensions',
      'metrics',
    ]);
  });

  it('produces output that parses back to the same group', () => {
    const g = valueOf(parseMetricsGroup(metricsGroupJson()));
    expect(valueOf(parseMetricsGroup(metricsGroupToJson(g)))).toEqual(g);
  });

  it('keeps 18446744073709551615 exact through parseJson -> parse -> toJson -> stringifyJson', () => {
    const text = stringifyJson({
      metrics_group_schema_version: '0.2',
      ...metricsGroupJson({
        metrics: [metricJson({ metric_name: 'octets_in', metric_value: COUNTER64_MAX })],
      }),
    });
    expect(text).toContain(`"metric_value":${COUNTER64_MAX_TEXT}`);
    const g = valueOf(parseMetricsGroup(parseJson(text)));
    expect(typeof g.metrics[0]?.metric_value).toBe('bigint');
    expect(g.metrics[0]?.metric_value).toBe(COUNTER64_MAX);
    const out = stringifyJson(metricsGroupToJson(g));
    expect(out).toContain(`"metric_value":${COUNTER64_MAX_TEXT}`);
    expect(out).not.toContain('18446744073709552000');
    expect(out).toBe(text);
  });
});

describe('metricsGroupToJsonText (the fast path)', () => {
  it('writes exactly the text stringifyJson(metricsGroupToJson(g)) writes', () => {
    const groups = [
      metricsGroupJson(),
      metricsGroupJson({
        dimensions: [
          { dimension_name: 'interface_name', dimension_value: 'Gi0/1 "uplink" \\ \u00e9 \u2028' },
          { dimension_name: 'port_speed', dimension_value: '1000000000' },
        ],
        metrics: [
          metricJson({ metric_name: 'octets_in', metric_value: COUNTER64_MAX }),
          metricJson({ metric_name: 'octets_in', metric_type: 'gauge', metric_value: 1234.5678 }),
          metricJson({ metric_name: 'tiny', metric_type: 'gauge', metric_value: 1e-7 }),
          metricJson({ metric_name: 'zero', metric_type: 'gauge', metric_value: -0 }),
        ],
        resource: resourceJson({ resource_metadata: { os: 'ios "xe"', _resource_ttl: '60' } }),
      }),
    ];
    for (const input of groups) {
      const g = valueOf(parseMetricsGroup(input));
      expect(metricsGroupToJsonText(g)).toBe(stringifyJson(metricsGroupToJson(g)));
      const text = metricsGroupToJsonText(g);
      expect(metricsGroupToJsonText(valueOf(parseMetricsGroup(parseJson(text))))).toBe(text);
    }
  });
});
