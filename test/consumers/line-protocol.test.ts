import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeKey,
  escapeMeasurement,
  fieldValue,
  metricsGroupToPoints,
  tagsOf,
  timestampMs,
} from '../../src/consumers/line-protocol.js';
import { parseJson } from '../../src/model/json.js';
import { parseMetricsGroup } from '../../src/model/metrics-group.js';
import type { MetricsGroup } from '../../src/model/metrics-group.js';
import {
  COUNTER64_MAX_TEXT,
  metricJson,
  metricsGroupJson,
  resourceJson,
  valueOf,
} from '../model/fixtures.js';
import type { Json } from '../model/fixtures.js';

/** No control characters (the model rejects them). */
const printable = (s: string): boolean =>
  [...s].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);

/** A group from wire text, as the consumer gets it (big integers become bigint). */
function groupFromText(text: string): MetricsGroup {
  return valueOf(parseMetricsGroup(parseJson(text)));
}

function group(overrides: Json = {}): MetricsGroup {
  return valueOf(parseMetricsGroup(metricsGroupJson(overrides)));
}

function onlyLine(g: MetricsGroup): string {
  const lines = metricsGroupToPoints(g);
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

/**
 * A small line protocol reader (backslash escapes the next character, which is what
 * VictoriaMetrics does for `\ `, `\,`, `\=` and `\\`): splits a line into its parts so the
 * tests check meaning, not just text.
 */
function readLine(line: string): {
  measurement: string;
  tags: [string, string][];
  fields: [string, string][];
  time: string;
} {
  const parts: string[][] = [[]]; // sections split by unescaped spaces, items by unescaped commas
  let cur = '';
  const items = (): string[] => parts[parts.length - 1] as string[];
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\') {
      cur += `\\${line[++i] ?? ''}`; // keep escapes until key/value split
    } else if (c === ',') {
      items().push(cur);
      cur = '';
    } else if (c === ' ') {
      items().push(cur);
      cur = '';
      parts.push([]);
    } else cur += c;
  }
  items().push(cur);
  const unescape = (s: string): string => s.replace(/\\(.)/gs, '$1');
  const splitEq = (s: string): [string, string] => {
    const m = /^((?:\\.|[^\\=])*)=(.*)$/s.exec(s);
    if (m === null) throw new Error(`no = in ${s}`);
    return [unescape(m[1] as string), m[2] as string];
  };
  expect(parts).toHaveLength(3);
  const [head, fieldItems, timeItems] = parts as [string[], string[], string[]];
  return {
    measurement: unescape(head[0] as string),
    tags: head.slice(1).map((t) => {
      const [k, v] = splitEq(t);
      return [k, unescape(v)];
    }),
    fields: fieldItems.map(splitEq),
    time: timeItems[0] as string,
  };
}

describe('metricsGroupToPoints', () => {
  it('writes one point: measurement, sorted tags, <name>__<type> fields, ms timestamp', () => {
    const line = onlyLine(group());
    expect(line).toBe(
      'interface,alias=uplink,interface_name=Gi1/0/1,resource_class=network,resource_endpoint=192.0.2.10,' +
        'resource_id=switch1.dc1.example.com,resource_site=dc1,resource_subclass=switch,resource_type=cisco ' +
        'bits_in__counter=1234i,bits_in__gauge=12.5 1700000060123',
    );
  });

  it('keeps a counter and a gauge of the same name apart', () => {
    const { fields } = readLine(
      onlyLine(
        group({
          metrics: [
            metricJson({ metric_name: 'bits_in', metric_type: 'counter', metric_value: 10 }),
            metricJson({ metric_name: 'bits_in', metric_type: 'gauge', metric_value: 10 }),
          ],
        }),
      ),
    );
    expect(fields).toEqual([
      ['bits_in__counter', '10i'],
      ['bits_in__gauge', '10'],
    ]);
  });

  it('tags every dimension and the six resource fields, nothing else', () => {
    const { tags } = readLine(onlyLine(group()));
    expect(tags.map(([k]) => k)).toEqual([
      'alias',
      'interface_name',
      'resource_class',
      'resource_endpoint',
      'resource_id',
      'resource_site',
      'resource_subclass',
      'resource_type',
    ]);
    // Metadata, creation plugin and timestamps are not tags.
    expect(tags.map(([k]) => k)).not.toContain('model');
    expect(tags.map(([k]) => k)).not.toContain('resource_creation_plugin');
  });

  it('lets the resource win over a dimension of the same name, and has no dimensions if none', () => {
    const g = group({
      dimensions: [
        { dimension_name: 'resource_id', dimension_value: 'spoofed' },
        { dimension_name: 'ifindex', dimension_value: '7' },
      ],
    });
    expect(tagsOf(g).get('resource_id')).toBe('switch1.dc1.example.com');
    expect(tagsOf(g).get('ifindex')).toBe('7');
    expect(onlyLine(g).match(/resource_id=/g)).toHaveLength(1);
    const { tags } = readLine(onlyLine(group({ dimensions: [] })));
    expect(tags).toHaveLength(6);
  });

  it('skips empty tag values (line protocol has none)', () => {
    const g = group();
    const emptied: MetricsGroup = {
      ...g,
      resource: { ...g.resource, resource_subclass: '' },
      dimensions: [...g.dimensions, { dimension_name: 'empty', dimension_value: '' }],
    };
    const line = onlyLine(emptied);
    expect(line).not.toContain('resource_subclass');
    expect(line).not.toContain('empty=');
    expect(readLine(line).tags).toHaveLength(7);
  });

  it('escapes commas, spaces, equals signs and backslashes in tag values', () => {
    const g = group({
      resource: resourceJson({ resource_endpoint: 'a b,c=d\\e', resource_type: 'ends\\' }),
      dimensions: [{ dimension_name: 'descr', dimension_value: 'Uplink to core, port=1 \\\\' }],
    });
    const line = onlyLine(g);
    expect(line).toContain(',descr=Uplink\\ to\\ core\\,\\ port\\=1\\ \\\\\\\\,');
    expect(line).toContain(',resource_endpoint=a\\ b\\,c\\=d\\\\e,');
    // A trailing backslash is doubled, so it does not escape the separator after it.
    expect(line).toContain(',resource_type=ends\\\\ ');
    const tags = new Map(readLine(line).tags);
    expect(tags.get('descr')).toBe('Uplink to core, port=1 \\\\');
    expect(tags.get('resource_endpoint')).toBe('a b,c=d\\e');
    expect(tags.get('resource_type')).toBe('ends\\');
  });

  it('round-trips any tag value through escaping', () => {
    fc.assert(
      fc.property(
        // The model rejects control characters, so values are printable text.
        fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }).filter(printable),
        fc.string({ minLength: 1, maxLength: 30 }).filter(printable),
        (a, b) => {
          const g = group({
            resource: resourceJson({ resource_id: a }),
            dimensions: [{ dimension_name: 'd', dimension_value: b }],
          });
          const tags = new Map(readLine(onlyLine(g)).tags);
          expect(tags.get('resource_id')).toBe(a);
          expect(tags.get('d')).toBe(b);
        },
      ),
      // U+2028 and U+2029 are line terminators to a JavaScript regex, not to line protocol.
      { examples: [['\u2028 ', '\u2029']] },
    );
  });

  it('keeps every digit of a Counter64 value: signed below 2^63, unsigned from 2^63 to 2^64-1', () => {
    const text = (value: string): string =>
      JSON.stringify(metricsGroupJson({ metrics: [metricJson({ metric_name: 'octets_in' })] })).replace(
        '"metric_value":1234',
        `"metric_value":${value}`,
      );
    const field = (value: string): string =>
      readLine(onlyLine(groupFromText(text(value)))).fields[0]?.[1] ?? '';
    expect(field('9007199254740993')).toBe('9007199254740993i'); // 2^53 + 1: a bigint
    expect(field('9223372036854775807')).toBe('9223372036854775807i'); // 2^63 - 1
    expect(field('9223372036854775808')).toBe('9223372036854775808u'); // 2^63
    expect(field(COUNTER64_MAX_TEXT)).toBe(`${COUNTER64_MAX_TEXT}u`);
    expect(field('0')).toBe('0i');
  });

  it('without unsigned integers (InfluxDB 1.x), a counter from 2^63 is a float literal', () => {
    expect(fieldValue(2n ** 63n, 'counter', false)).toBe('9223372036854775808');
    expect(fieldValue(2n ** 63n - 1n, 'counter', false)).toBe('9223372036854775807i');
    expect(fieldValue(2n ** 63n, 'counter')).toBe('9223372036854775808u');
  });

  it('writes gauges as floats and non-integer counters as floats', () => {
    expect(fieldValue(16001, 'gauge')).toBe('16001');
    expect(fieldValue(-2.5, 'gauge')).toBe('-2.5');
    expect(fieldValue(-0, 'gauge')).toBe('0');
    expect(fieldValue(1e21, 'gauge')).toBe('1e+21');
    expect(fieldValue(5e-7, 'gauge')).toBe('5e-7');
    expect(fieldValue(2n ** 60n, 'gauge')).toBe('1152921504606846976');
    expect(fieldValue(-(2n ** 60n), 'gauge')).toBe('-1152921504606846976');
    expect(fieldValue(12.5, 'counter')).toBe('12.5');
    // An integer number beyond 2^53 has lost its digits already: not claimed as an exact integer.
    expect(fieldValue(2 ** 60, 'counter')).toBe('1152921504606847000');
    // Beyond 2^64 - 1 no integer type holds it.
    expect(fieldValue(2n ** 64n, 'counter')).toBe('18446744073709551616');
    expect(() => fieldValue(Number.NaN, 'gauge')).toThrow(RangeError);
  });

  it('converts the creation timestamp (seconds) to milliseconds', () => {
    expect(timestampMs(1700000060.123)).toBe(1700000060123);
    expect(timestampMs(1700000060.001)).toBe(1700000060001);
    expect(timestampMs(0)).toBe(0);
    expect(readLine(onlyLine(group({ metrics_group_creation_timestamp: 1700000000 }))).time).toBe(
      '1700000000000',
    );
  });

  it('escapes measurements and field keys per the spec', () => {
    expect(escapeMeasurement('a b,c=d\\')).toBe('a\\ b\\,c=d\\\\');
    expect(escapeKey('a b,c=d\\')).toBe('a\\ b\\,c\\=d\\\\');
    expect(escapeKey('line\nbreak\ttab\r')).toBe('line\\nbreak\\ttab\\r');
    const g = group();
    const odd: MetricsGroup = {
      ...g,
      metrics_group_type: 'if stats',
      metrics: [{ ...(g.metrics[0] as MetricsGroup['metrics'][number]), metric_name: 'in,out' }],
    };
    const { measurement, fields } = readLine(onlyLine(odd));
    expect(measurement).toBe('if stats');
    expect(fields).toEqual([['in,out__counter', '1234i']]);
  });

  it('is pure: the same group gives the same text, and a group without metrics gives no point', () => {
    const g = group();
    expect(metricsGroupToPoints(g)).toEqual(metricsGroupToPoints(group()));
    expect(metricsGroupToPoints({ ...g, metrics: [] })).toEqual([]);
  });
});
