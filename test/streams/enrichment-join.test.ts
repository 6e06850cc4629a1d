import { describe, expect, it } from 'vitest';
import { parseEnrichmentGroup, parseJson } from '../../src/model/index.js';
import type { EnrichmentGroup } from '../../src/model/index.js';
import { dimensionValue, dimensionsFrom, joinDimensions } from '../../src/streams/enrichment-join.js';
import type { JoinField } from '../../src/streams/enrichment-join.js';

const group: EnrichmentGroup = {
  namespace: 'interface',
  enrichment_ttl: 3600,
  execute_frequency: 600,
  creation_timestamp: 1_700_000_000,
  data: {
    '1': { interface_name: 'Gi0/1', alias: 'uplink', speed: 10_000_000_000, up: true, mtu: 1500.5 },
    '2': { interface_name: 'Gi0/2', alias: '', speed: 2n ** 64n, up: false },
  },
};

const FIELDS: JoinField[] = [
  { field: 'alias', dimension: 'interface_alias' },
  { field: 'interface_name', dimension: 'interface_name' },
  { field: 'speed', dimension: 'speed' },
  { field: 'up', dimension: 'oper_up' },
];

describe('joinDimensions', () => {
  it('gives the dimensions in the order of the fields, values as strings', () => {
    expect(joinDimensions(group, '1', FIELDS)).toEqual([
      { dimension_name: 'interface_alias', dimension_value: 'uplink' },
      { dimension_name: 'interface_name', dimension_value: 'Gi0/1' },
      { dimension_name: 'speed', dimension_value: '10000000000' },
      { dimension_name: 'oper_up', dimension_value: 'true' },
    ]);
    expect(joinDimensions(group, '1', [...FIELDS].reverse())?.map((d) => d.dimension_name)).toEqual([
      'oper_up',
      'speed',
      'interface_name',
      'interface_alias',
    ]);
  });

  it('writes bigint digits exactly and false as "false"; skips empty strings', () => {
    expect(joinDimensions(group, '2', FIELDS)).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Gi0/2' },
      { dimension_name: 'speed', dimension_value: '18446744073709551616' },
      { dimension_name: 'oper_up', dimension_value: 'false' },
    ]);
  });

  it('skips fields the record lacks', () => {
    expect(
      joinDimensions(group, '2', [
        { field: 'mtu', dimension: 'mtu' },
        { field: 'interface_name', dimension: 'name' },
      ]),
    ).toEqual([{ dimension_name: 'name', dimension_value: 'Gi0/2' }]);
  });

  it('is undefined for a key the group lacks, or no group', () => {
    expect(joinDimensions(group, '3', FIELDS)).toBeUndefined();
    expect(joinDimensions(undefined, '1', FIELDS)).toBeUndefined();
  });

  it('an empty field list gives no dimensions (but the key was found)', () => {
    expect(joinDimensions(group, '1', [])).toEqual([]);
  });

  it('joins a group read from the wire: a speed beyond 2^53 keeps every digit', () => {
    const text =
      '{"namespace":"interface","data":{"7":{"interface_name":"xe-0/0/0","speed":18446744073709551615}},' +
      '"metadata":{"_enrichment_group_creation_timestamp":1700000000,"_enrichment_ttl":60,"_execute_frequency":30}}';
    const parsed = parseEnrichmentGroup(parseJson(text));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    expect(joinDimensions(parsed.value, '7', [{ field: 'speed', dimension: 'speed' }])).toEqual([
      { dimension_name: 'speed', dimension_value: '18446744073709551615' },
    ]);
  });

  it('only own keys of the data are keys: "constructor" or "toString" are missing keys', () => {
    // The data of a parsed group is a plain object: Object.prototype's members are not enrichment
    // (lookupEnrichment checks Object.hasOwn). Today "constructor" finds Object, whose `name` is "Object".
    expect(joinDimensions(group, 'constructor', [{ field: 'name', dimension: 'name' }])).toBeUndefined();
    expect(joinDimensions(group, 'toString', FIELDS)).toBeUndefined();
  });
});

describe('dimensionsFrom', () => {
  it('follows the order of the fields and stringifies numbers, bigint and booleans exactly', () => {
    expect(
      dimensionsFrom({ a: 0, b: -1.25, c: 2n ** 64n, d: false, e: 'x', f: 1e20 }, [
        { field: 'f', dimension: 'f' },
        { field: 'e', dimension: 'e' },
        { field: 'd', dimension: 'd' },
        { field: 'c', dimension: 'c' },
        { field: 'b', dimension: 'b' },
        { field: 'a', dimension: 'a' },
      ]),
    ).toEqual([
      { dimension_name: 'f', dimension_value: '100000000000000000000' },
      { dimension_name: 'e', dimension_value: 'x' },
      { dimension_name: 'd', dimension_value: 'false' },
      { dimension_name: 'c', dimension_value: '18446744073709551616' },
      { dimension_name: 'b', dimension_value: '-1.25' },
      { dimension_name: 'a', dimension_value: '0' },
    ]);
  });

  it('skips empty strings and missing or undefined values', () => {
    expect(
      dimensionsFrom({ a: '', b: undefined, c: 'kept' }, [
        { field: 'a', dimension: 'a' },
        { field: 'b', dimension: 'b' },
        { field: 'missing', dimension: 'm' },
        { field: 'c', dimension: 'c' },
      ]),
    ).toEqual([{ dimension_name: 'c', dimension_value: 'kept' }]);
  });

  it('one field may feed several dimensions', () => {
    expect(
      dimensionsFrom({ name: 'Gi0/1' }, [
        { field: 'name', dimension: 'interface_name' },
        { field: 'name', dimension: 'port' },
      ]),
    ).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Gi0/1' },
      { dimension_name: 'port', dimension_value: 'Gi0/1' },
    ]);
  });

  it('inherited members of the record are not values: a "toString" field the record lacks is skipped', () => {
    expect(dimensionsFrom({ a: 'x' }, [{ field: 'toString', dimension: 'to_string' }])).toEqual([]);
  });
});

describe('dimensionValue', () => {
  it('is the text of the value, or undefined for undefined and the empty string', () => {
    expect(dimensionValue('Gi0/1')).toBe('Gi0/1');
    expect(dimensionValue(42)).toBe('42');
    expect(dimensionValue(0.1)).toBe('0.1');
    expect(dimensionValue(2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(dimensionValue(true)).toBe('true');
    expect(dimensionValue(false)).toBe('false');
    expect(dimensionValue('')).toBeUndefined();
    expect(dimensionValue(undefined)).toBeUndefined();
    // A space is a value.
    expect(dimensionValue(' ')).toBe(' ');
  });
});
