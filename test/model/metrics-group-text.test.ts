/**
 * parseMetricsGroupText, the consumers' decode path, against the authority it stands in for:
 * for any text, valid or not, it must give what `parseMetricsGroup(parseJson(text))` gives (the
 * value, the issues, or the JSON error), and the records the pollers write must be read directly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import { metricsGroupToJsonText, parseMetricsGroup } from '../../src/model/metrics-group.js';
import { parseMetricsGroupText, readMetricsGroupDirectly } from '../../src/model/metrics-group-text.js';
import { COUNTER64_MAX, metricJson, metricsGroupJson, resourceJson, valueOf } from './fixtures.js';
import type { Json } from './fixtures.js';

type Outcome = { value: unknown } | { error: string };

function outcome(read: () => unknown): Outcome {
  try {
    return { value: read() };
  } catch (e) {
    if (!(e instanceof PanoptesError)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

/** The result must be the authority's; returns whether the text was read directly. */
function sameAsAuthority(text: string): boolean {
  const direct = readMetricsGroupDirectly(text);
  const authority = outcome(() => parseMetricsGroup(parseJson(text, 'rec'), '$'));
  expect(outcome(() => parseMetricsGroupText(text, 'rec', '$'))).toEqual(authority);
  if (direct !== undefined) expect(authority).toEqual({ value: { ok: true, value: direct } });
  return direct !== undefined;
}

/** The wire text the pollers write for a group given as JSON. */
function wire(json: Json): string {
  return metricsGroupToJsonText(valueOf(parseMetricsGroup(json)));
}

describe('parseMetricsGroupText', () => {
  it('reads the records the pollers write directly, Counter64 values exact', () => {
    const text = wire(
      metricsGroupJson({
        metrics: [
          metricJson({ metric_value: COUNTER64_MAX }),
          metricJson({ metric_name: 'bits_out', metric_value: 2n ** 53n + 1n }),
          metricJson({ metric_name: 'errors_in', metric_value: 9007199254740991 }),
          metricJson({ metric_name: 'bits_in', metric_type: 'gauge', metric_value: -0.5 }),
          metricJson({ metric_name: 'bits_out', metric_type: 'gauge', metric_value: 1e300 }),
        ],
      }),
    );
    expect(sameAsAuthority(text)).toBe(true);
    const g = readMetricsGroupDirectly(text);
    expect(g?.metrics.map((m) => m.metric_value)).toEqual([
      COUNTER64_MAX,
      2n ** 53n + 1n,
      9007199254740991,
      -0.5,
      1e300,
    ]);
  });

  it('reads pretty-printed records and metadata with a TTL directly', () => {
    const json = metricsGroupJson({
      resource: resourceJson({ resource_metadata: { _resource_ttl: '3600', model: 'x' } }),
    });
    expect(sameAsAuthority(stringifyJson(json, 2))).toBe(true);
  });

  const base = wire(metricsGroupJson());
  const cases: [string, string, boolean][] = [
    [
      'a key repeated with another value',
      base.replace('"resource_type":"cisco"', '"resource_type":"cisco","resource_type":"juniper"'),
      false,
    ],
    [
      'a key repeated with the same value',
      base.replace('"resource_type":"cisco"', '"resource_type":"cisco","resource_type":"cisco"'),
      false,
    ],
    ['a string holding \\":', base.replace('"uplink"', '"up\\":link"'), false],
    [
      'whitespace before a colon',
      base.replace('"metrics_group_interval":', '"metrics_group_interval" :'),
      false,
    ],
    [
      'a forged marker',
      base.replace('"metric_value":1234', '"metric_value":"\\u00001234567890123456789"'),
      false,
    ],
    ['a 16-digit safe integer', base.replace('"metric_value":1234', '"metric_value":1000000000000000'), true],
    [
      'a long integer with a leading zero',
      base.replace('"metric_value":1234', '"metric_value":01234567890123456789'),
      false,
    ],
    [
      'a long negative counter',
      base.replace('"metric_value":1234', '"metric_value":-12345678901234567890'),
      false,
    ],
    [
      'a long integer as interval',
      base.replace('"metrics_group_interval":60', '"metrics_group_interval":12345678901234567890'),
      false,
    ],
    ['a long integer in metadata', base.replace('"model":"C9300"', '"model":12345678901234567890'), false],
    ['a long integer inside a string', base.replace('"uplink"', '"port 12345678901234567890"'), true],
    [
      'a long integer after a backslash',
      base.replace('"model":"C9300"', '"model":"x\\12345678901234567890","b":"1"'),
      false,
    ],
    ['a long integer in a name', base.replace('"uplink"', '"x12345678901234567890"'), true],
    ['a long float', base.replace('"metric_value":12.5', '"metric_value":12345678901234567890.5'), true],
    ['a long exponent', base.replace('"metric_value":12.5', '"metric_value":1e-12345678901234567890'), true],
    [
      'an infinite timestamp',
      base.replace(
        '"metrics_group_creation_timestamp":1700000060.123',
        '"metrics_group_creation_timestamp":1e999',
      ),
      false,
    ],
    ['an infinite metric value', base.replace('"metric_value":12.5', '"metric_value":1e999'), false],
    [
      'an unknown key',
      base.replace('"metrics_group_interval":60', '"metrics_group_interval":60,"extra":1'),
      false,
    ],
    ['the resource_plugin alias', base.replace('"resource_creation_plugin"', '"resource_plugin"'), false],
    ['a __proto__ metadata key', base.replace('"model":"C9300"', '"__proto__":"x"'), false],
    ['a TTL with a leading zero', base.replace('"model":"C9300"', '"_resource_ttl":"0600"'), false],
    ['a TTL as a number', base.replace('"model":"C9300"', '"_resource_ttl":600'), false],
    ['a negative counter', base.replace('"metric_value":1234', '"metric_value":-1'), false],
    ['a duplicate metric', base.replace('"metric_type":"gauge"', '"metric_type":"counter"'), false],
    ['an empty dimension value', base.replace('"uplink"', '""'), false],
    ['a control character', base.replace('"uplink"', '"up\\tlink"'), false],
    ['a bad site', base.replace('"dc1"', '"d c1"'), false],
    ['no metrics', base.replace(/"metrics":\[.*\]\}$/, '"metrics":[]}'), false],
    ['not JSON', base.slice(0, -1), false],
    ['not an object', '[1,2]', false],
  ];
  it.each(cases)('%s: same as the authority', (_what, text, direct) => {
    expect(text).not.toBe(base);
    expect(sameAsAuthority(text)).toBe(direct);
  });

  it('gives the authority result for any small edit of a record', () => {
    const texts = [
      base,
      wire(metricsGroupJson({ metrics: [metricJson({ metric_value: COUNTER64_MAX })] })),
      stringifyJson(metricsGroupJson({ metrics_group_schema_version: '0.2' }), 1),
    ];
    const insert = fc.constantFrom(
      '"',
      ':',
      ',',
      ' ',
      '0',
      '9',
      '-',
      '.',
      'e',
      '\\',
      '{',
      '}',
      '[',
      ']',
      '"a":1,',
      'null',
    );
    const edit = fc.record({
      text: fc.constantFrom(...texts),
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 3 }),
      insert: fc.oneof(insert, fc.constant('')),
    });
    fc.assert(
      fc.property(edit, ({ text, at, remove, insert: add }) => {
        const i = at % text.length;
        sameAsAuthority(text.slice(0, i) + add + text.slice(i + remove));
      }),
      { numRuns: 3000, seed: 20261204 },
    );
  });
});
