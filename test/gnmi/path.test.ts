import { describe, expect, it } from 'vitest';
import { joinPaths, parsePath, pathToString } from '../../src/gnmi/path.js';
import { GnmiValueError, decodeTypedValue, valueText } from '../../src/gnmi/values.js';

describe('gNMI paths', () => {
  it('parses elements, keys (escaped ] and \\, / inside brackets) and an origin; prints them back', () => {
    const p = parsePath(
      'openconfig:/interfaces/interface[name=Ethernet1/1]/subinterfaces/subinterface[index=0]',
    );
    expect(p).toEqual({
      origin: 'openconfig',
      elem: [
        { name: 'interfaces', key: {} },
        { name: 'interface', key: { name: 'Ethernet1/1' } },
        { name: 'subinterfaces', key: {} },
        { name: 'subinterface', key: { index: '0' } },
      ],
    });
    expect(pathToString(p)).toBe(
      'openconfig:/interfaces/interface[name=Ethernet1/1]/subinterfaces/subinterface[index=0]',
    );
    const escaped = parsePath('/a[k=x\\]y\\\\z][b=2]/c/');
    expect(escaped.elem[0]?.key).toEqual({ k: 'x]y\\z', b: '2' });
    expect(pathToString(escaped)).toBe('/a[b=2][k=x\\]y\\\\z]/c');
    expect(pathToString(parsePath('/'))).toBe('/');
    expect(parsePath('')).toEqual({ elem: [] });
  });

  it('names the position of a syntax error', () => {
    expect(() => parsePath('/a[name]')).toThrow(
      'gNMI path "/a[name]": expected key=value in brackets at character 8',
    );
    expect(() => parsePath('/a[k=v')).toThrow('unclosed [');
    expect(() => parsePath('/a//b')).toThrow('empty element name at character 4');
  });

  it('joins a prefix and a path', () => {
    const joined = joinPaths(
      parsePath('openconfig:/interfaces/interface[name=e1]'),
      parsePath('state/counters'),
    );
    expect(pathToString(joined)).toBe('openconfig:/interfaces/interface[name=e1]/state/counters');
  });
});

describe('gNMI typed values', () => {
  it('keeps 64-bit integers exact and decodes every kind', () => {
    expect(decodeTypedValue({ value: 'uint_val', uint_val: '18446744073709551615' })).toBe(
      18446744073709551615n,
    );
    expect(decodeTypedValue({ value: 'int_val', int_val: '-5' })).toBe(-5);
    expect(decodeTypedValue({ value: 'decimal_val', decimal_val: { digits: '12345', precision: 2 } })).toBe(
      123.45,
    );
    expect(decodeTypedValue({ value: 'double_val', double_val: 0.25 })).toBe(0.25);
    expect(decodeTypedValue({ value: 'bool_val', bool_val: true })).toBe(true);
    expect(
      decodeTypedValue({
        value: 'leaflist_val',
        leaflist_val: {
          element: [
            { value: 'string_val', string_val: 'a' },
            { value: 'uint_val', uint_val: '2' },
          ],
        },
      }),
    ).toEqual(['a', 2]);
    expect(
      decodeTypedValue({
        value: 'json_ietf_val',
        json_ietf_val: Buffer.from('{"in-octets":"18446744073709551615","x":18446744073709551615}'),
      }),
    ).toEqual({ 'in-octets': '18446744073709551615', x: 18446744073709551615n });
  });

  it('a value without a kind, or bad JSON, is malformed', () => {
    expect(() => decodeTypedValue({})).toThrow(GnmiValueError);
    expect(() => decodeTypedValue({ value: 'json_val', json_val: Buffer.from('{oops') })).toThrow(
      /json_val is not JSON/,
    );
  });

  it('prints values on one line, 64-bit integers as digits', () => {
    expect(valueText(18446744073709551615n)).toBe('18446744073709551615');
    expect(valueText({ a: 2n ** 64n })).toBe('{"a":18446744073709551616}');
    expect(valueText('UP')).toBe('"UP"');
    expect(valueText(Buffer.from([1, 2]))).toBe('0x0102');
  });
});
