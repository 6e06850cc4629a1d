/**
 * Expressions checked against a profile's names and compiled to closures (src/profiles/compile.ts),
 * and the values they compute (src/profiles/values.ts, functions.ts): unknown names, functions,
 * tables, columns and maps are load-time errors at their offset, listing what is known; numbers
 * compare as numbers, Counter64 keeps every digit, and a missing value propagates instead of
 * failing.
 */
import { describe, expect, it } from 'vitest';
import { ExpressionCheckError, compileExpression } from '../../src/profiles/compile.js';
import type { EvalContext, Scope, TableData } from '../../src/profiles/compile.js';
import { parseExpression } from '../../src/profiles/expression.js';
import { asNumber, asText, bytesText, compare, fromVarbind } from '../../src/profiles/values.js';
import type { Value } from '../../src/profiles/values.js';
import { SnmpTag } from '../../src/snmp/types.js';
import { testResource } from '../support/profile-harness.js';

const MAX64 = 2n ** 64n - 1n;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Tables as column -> index -> value; every table's rows are the indexes of its columns, in the order given. */
const TABLES: Record<string, Record<string, Record<string, Value>>> = {
  ifs: {
    name: { '1': text('Gi0/1'), '2': text('Gi0/2'), '10': text('Te1/1') },
    speed: { '1': 1000, '2': 1000, '10': 10_000 },
    octets: { '1': MAX64, '2': 5n },
    oper: { '1': 1, '2': 2, '10': 1 },
  },
  cpu: {
    load: { '1': 10, '2': 30, '3': 'n/a' },
    label: { '1': text('cpu0'), '2': text('cpu1'), '3': text('') },
  },
  peers: {
    state: { '1.10.0.0.1': 6, '1.10.0.0.2': 3, '2.192.168.1.1': 6 },
  },
  empty: { x: {} },
};

const SCALARS: Record<string, Value> = {
  counter: MAX64,
  uptime: 12345,
  numtext: '10',
  octetnum: text('42'),
  descr: text('Cisco IOS Software, C2960 Software'),
  mac: Uint8Array.of(0x00, 0x1b, 0x2c, 0xff, 0x00, 0x0a),
  addr: Uint8Array.of(10, 0, 0, 254),
  celsius: 21.5,
  nothing: undefined,
};

const MAPS: Record<string, Record<string, Value>> = {
  status: { '1': 'up', '2': 'down' },
};

function scope(row?: string, data = true): Scope {
  return {
    tables: new Map(Object.entries(TABLES).map(([t, cols]) => [t, new Set(Object.keys(cols))])),
    scalars: new Set(Object.keys(SCALARS)),
    maps: new Map(Object.entries(MAPS).map(([m, e]) => [m, new Map(Object.entries(e))])),
    row,
    data,
  };
}

function context(index?: string): EvalContext {
  const tables = new Map<string, TableData>();
  for (const [t, cols] of Object.entries(TABLES)) {
    const indexes = [...new Set(Object.values(cols).flatMap((c) => Object.keys(c)))];
    tables.set(t, {
      indexes,
      columns: new Map(Object.entries(cols).map(([c, v]) => [c, new Map(Object.entries(v))])),
    });
  }
  return {
    tables,
    scalars: new Map(Object.entries(SCALARS)),
    resource: testResource({ resource_type: 'cisco', resource_metadata: { os: 'ios' } }),
    interval: 60,
    index,
  };
}

/** Compiles `expr` for a row of `row` (or none) and evaluates it at `index`. */
function evaluate(expr: string, row?: string, index?: string): Value {
  return compileExpression(parseExpression(expr), scope(row))(context(index));
}

function checkError(expr: string, s: Scope = scope()): ExpressionCheckError {
  try {
    compileExpression(parseExpression(expr), s);
  } catch (e) {
    if (e instanceof ExpressionCheckError) return e;
    throw e;
  }
  throw new Error(`"${expr}" compiled`);
}

describe('compile: names are resolved when the profile loads', () => {
  it('an unknown name fails at its offset, listing the names known there', () => {
    const e = checkError('uptime + nme', scope('ifs'));
    expect(e.offset).toBe(9);
    expect(e.message).toBe(
      'unknown name "nme" (known here: name, speed, octets, oper, counter, uptime, numtext, octetnum, descr, mac, addr, celsius, nothing, interval, index; other tables as TABLE.COLUMN)',
    );
    expect(e.name).toBe('ExpressionCheckError');
  });

  it('without a row table, columns and index are not among the known names', () => {
    const e = checkError('  name');
    expect(e.offset).toBe(2);
    expect(e.message).toContain('known here: counter, uptime,');
    expect(e.message).not.toContain('speed');
    expect(e.message).not.toContain('index');
    expect(checkError('index').message).toBe('"index" is only known in a group with a table');
  });

  it('an unknown function fails at its name, listing every function', () => {
    const e = checkError('1 + foo(2)');
    expect(e.offset).toBe(4);
    expect(e.message).toMatch(/^unknown function "foo" \(abs, arc, arcs, avg, ceil, coalesce, count, .*\)$/);
    for (const f of ['find', 'find_suffix', 'map', 'if', 'ipv4', 'ipv6', 'hex', 'fahrenheit']) {
      expect(e.message).toContain(` ${f},`);
    }
  });

  it('an unknown table fails where it is named, listing the tables', () => {
    expect(checkError('count(nope)')).toMatchObject({
      offset: 6,
      message: 'count() takes a table name first (ifs, cpu, peers, empty)',
    });
    expect(checkError('sum(ifs.speed, 1)').offset).toBe(4);
    expect(checkError('x.y')).toMatchObject({
      offset: 0,
      message: 'unknown name "x" (tables: ifs, cpu, peers, empty; or resource, meta)',
    });
    expect(checkError('find_suffix(nope, 1)').message).toContain('find_suffix() takes a table name first');
  });

  it('an unknown column fails at the reference, listing the table columns', () => {
    expect(checkError('1 + ifs.nope', scope('ifs'))).toMatchObject({
      offset: 4,
      message: 'table "ifs" has no column "nope" (name, speed, octets, oper)',
    });
    expect(checkError('ifs.nope[1]').message).toBe(
      'table "ifs" has no column "nope" (name, speed, octets, oper)',
    );
  });

  it('an unknown map fails at its name, listing the maps', () => {
    expect(checkError('map(nope, 1)')).toMatchObject({
      offset: 4,
      message: 'map() takes a map name first (status)',
    });
    const none: Scope = { ...scope(), maps: new Map() };
    expect(checkError('map(x, 1)', none).message).toBe('map() takes a map name first (none declared)');
  });

  it('an unknown resource field lists the fields', () => {
    const e = checkError('resource.kind');
    expect(e.message).toMatch(/^unknown resource field "kind" \(.*resource_type.*\)$/);
  });

  it('checks arities and argument kinds', () => {
    expect(checkError('round()').message).toBe('round() takes 1 to 2 arguments, not 0');
    expect(checkError('  hex(1, 2)')).toMatchObject({
      offset: 2,
      message: 'hex() takes 1 argument, not 2',
    });
    expect(checkError('sum(ifs)').message).toBe('sum() takes 2 arguments, not 1');
    expect(checkError('coalesce()').message).toContain('coalesce() takes 1 to');
    expect(checkError('find(name, 1)', scope('ifs'))).toMatchObject({
      offset: 5,
      message: 'find() takes a column first, as TABLE.COLUMN',
    });
    expect(checkError('uptime[1]').message).toBe('only a column (TABLE.COLUMN) can be looked up with [...]');
    expect(checkError('uptime in 1')).toMatchObject({
      offset: 10,
      message: '"in" takes a list: [a, b, ...]',
    });
    expect(checkError('uptime =~ descr').message).toBe('"=~" takes a regular expression in quotes');
    const bad = checkError("descr =~ 'a('");
    expect(bad.offset).toBe(9);
    expect(bad.message).toMatch(/^invalid regular expression: /);
  });

  it('a column of another table needs a row or an index', () => {
    expect(checkError('cpu.load').message).toBe(
      'cpu.load needs a row: use cpu.load[INDEX] or a group with a table',
    );
    expect(evaluate('cpu.load', 'ifs', '2')).toBe(30);
    expect(evaluate("cpu.load['1']")).toBe(10);
  });

  it("before any fetch (a table's when) only resource, meta and interval are known", () => {
    const pre = scope(undefined, false);
    expect(checkError('uptime > 1', pre).message).toBe('scalars are not fetched yet here');
    expect(checkError('count(ifs) > 1', pre)).toMatchObject({
      offset: 6,
      message: 'tables are not fetched yet here',
    });
    expect(checkError("ifs.name['1']", pre).message).toBe('tables are not fetched yet here');
    expect(() =>
      compileExpression(parseExpression("resource.resource_type == 'cisco' and interval >= 60"), pre),
    ).not.toThrow();
  });
});

describe('values: comparisons', () => {
  it.each([
    // Numbers and numeric text compare as numbers...
    ["'10' > '9'", true],
    ['numtext > 9', true],
    ["numtext == '10.0'", true],
    ["'1e3' == 1000", true],
    ['octetnum == 42', true],
    ["' 7 ' == 7", true],
    ['2 < 10', true],
    // ... other text as text.
    ["'abc' < 'abd'", true],
    ["'b' > 'a'", true],
    ["'10a' > '9'", false],
    ["descr =~ '^Cisco IOS'", true],
    ["descr =~ 'C\\d{4}'", true],
    ["descr =~ '^IOS'", false],
    // Lists.
    ['uptime in [1, 12345]', true],
    ["numtext in ['9', '10.0']", true],
    ['uptime not in [1, 2]', true],
    ['uptime not in [12345]', false],
    // Booleans.
    ['uptime > 1 and not (uptime > 20000)', true],
    ['0 or 0', false],
    ["'' or 2", true],
  ])('%s is %s', (expr, result) => {
    expect(evaluate(expr)).toBe(result);
  });

  it('compares numbers exactly beyond 2^53, bigint against bigint and number', () => {
    expect(evaluate('counter == 18446744073709551615')).toBe(true);
    expect(evaluate('counter > 18446744073709551614')).toBe(true);
    expect(evaluate('counter - 1 < counter')).toBe(true);
    expect(evaluate("counter == '18446744073709551615'")).toBe(true);
    expect(compare(2n ** 53n + 1n, 2 ** 53)).toBe(1);
  });

  it('a comparison with a missing value is false, whichever operator', () => {
    for (const op of ['==', '!=', '<', '<=', '>', '>=']) expect(evaluate(`nothing ${op} 1`)).toBe(false);
    expect(evaluate('nothing in [1]')).toBe(false);
    expect(evaluate('nothing not in [1]')).toBe(false);
    expect(evaluate("nothing =~ '.*'")).toBe(false);
    expect(evaluate('not (nothing == 1)')).toBe(true);
  });
});

describe('values: arithmetic', () => {
  it('keeps every digit of a Counter64 through + - * (2^64 - 1)', () => {
    expect(evaluate('counter')).toBe(MAX64);
    expect(evaluate('counter + 1')).toBe(2n ** 64n);
    expect(evaluate('counter - 1')).toBe(MAX64 - 1n);
    expect(evaluate('counter * 2')).toBe(MAX64 * 2n);
    expect(evaluate('counter * 8 - counter')).toBe(MAX64 * 7n);
    expect(evaluate('-counter')).toBe(-MAX64);
    expect(evaluate('counter % 10')).toBe(5);
    expect(evaluate('abs(-counter)')).toBe(MAX64);
    expect(evaluate("number('18446744073709551615')")).toBe(MAX64);
    expect(evaluate('text(counter)')).toBe('18446744073709551615');
    // Back within 2^53 it is a number again.
    expect(evaluate('counter - counter')).toBe(0);
    expect(evaluate('counter - 18446744073709551610')).toBe(5);
  });

  it('redoes integer results beyond 2^53 exactly, and numbers beyond 2^53 in literals are exact', () => {
    expect(evaluate('4294967296 * 4294967296')).toBe(2n ** 64n);
    expect(evaluate('9007199254740993 + 0')).toBe(9007199254740993n);
    expect(evaluate('9007199254740992 + 1')).toBe(9007199254740993n);
  });

  it('divides as floats, and by zero gives a missing value', () => {
    expect(evaluate('7 / 2')).toBe(3.5);
    expect(evaluate('7 % 4')).toBe(3);
    expect(evaluate('counter / 2')).toBeCloseTo(Number(MAX64) / 2);
    for (const e of ['1 / 0', '1 % 0', 'counter / 0', 'counter % 0', 'uptime / (uptime - 12345)']) {
      expect(evaluate(e), e).toBeUndefined();
    }
  });

  it('adds numbers, joins text (numeric OCTET STRINGs from the device add)', () => {
    expect(evaluate("'Gi' + 0 + '/' + 1")).toBe('Gi0/1');
    expect(evaluate("'a' + 1")).toBe('a1');
    expect(evaluate('octetnum + 1')).toBe(43);
    expect(evaluate('octetnum + octetnum')).toBe(84);
    expect(evaluate("descr + '!'")).toBe('Cisco IOS Software, C2960 Software!');
    expect(evaluate("'x' * 2")).toBeUndefined();
  });

  it('a missing value makes any arithmetic on it missing', () => {
    for (const e of [
      'nothing + 1',
      '1 - nothing',
      'nothing * 2',
      '-nothing',
      "nothing + 'x'",
      'nothing / 1',
    ]) {
      expect(evaluate(e), e).toBeUndefined();
    }
    expect(evaluate('round(nothing, 2)')).toBeUndefined();
    expect(evaluate('lower(nothing)')).toBeUndefined();
    expect(evaluate("ifs.speed['99'] + 1")).toBeUndefined();
  });
});

describe('values: rows, lookups and functions', () => {
  it('reads the row, other tables at the same index, and lookups by text or number', () => {
    expect(evaluate('name', 'ifs', '10')).toEqual(text('Te1/1'));
    expect(asText(evaluate('name', 'ifs', '10'))).toBe('Te1/1');
    expect(evaluate('index', 'ifs', '10')).toBe('10');
    expect(evaluate('speed * 2', 'ifs', '2')).toBe(2000);
    expect(evaluate('octets', 'ifs', '10')).toBeUndefined();
    expect(evaluate('ifs.speed[10]')).toBe(10_000);
    expect(evaluate("ifs.speed['1']")).toBe(1000);
    expect(evaluate('ifs.speed[index]', 'cpu', '2')).toBe(1000);
    expect(evaluate('interval')).toBe(60);
    expect(evaluate('resource.resource_type')).toBe('cisco');
    expect(evaluate('meta.os')).toBe('ios');
    expect(evaluate('meta.missing')).toBeUndefined();
  });

  it('aggregates over a table: count, sum, min, max, avg', () => {
    expect(evaluate('count(ifs)')).toBe(3);
    expect(evaluate('count(ifs, oper == 1)')).toBe(2);
    expect(evaluate('count(empty)')).toBe(0);
    expect(evaluate('sum(ifs, speed)')).toBe(12_000);
    expect(evaluate('min(ifs, speed)')).toBe(1000);
    expect(evaluate('max(ifs, speed)')).toBe(10_000);
    expect(evaluate('avg(ifs, speed)')).toBe(4000);
    // Rows without a value are left out; 'n/a' is not a number.
    expect(evaluate('avg(cpu, load)')).toBe(20);
    expect(evaluate('sum(empty, x)')).toBe(0);
    // A sum of Counter64 values keeps every digit, as "+" does.
    expect(evaluate('sum(ifs, octets)')).toBe(MAX64 + 5n);
    expect(evaluate('sum(ifs, octets) - counter')).toBe(5);
    for (const f of ['min', 'max', 'avg']) expect(evaluate(`${f}(empty, x)`)).toBeUndefined();
    // Inside, names are the aggregated table's; outside names still resolve.
    expect(evaluate('count(cpu, load < uptime)')).toBe(2);
  });

  it('find, find_suffix, map, if, coalesce, exists', () => {
    expect(evaluate("find(ifs.name, 'Gi0/2')")).toBe('2');
    expect(evaluate('find(ifs.speed, 1000)')).toBe('1');
    expect(evaluate("find(ifs.name, 'none')")).toBeUndefined();
    expect(evaluate('find_suffix(peers, ipv4(addr))')).toBeUndefined();
    expect(evaluate("find_suffix(peers, '10.0.0.2')")).toBe('1.10.0.0.2');
    expect(evaluate("find_suffix(peers, '192.168.1.1')")).toBe('2.192.168.1.1');
    expect(evaluate("map(status, oper, 'other')", 'ifs', '2')).toBe('down');
    expect(evaluate("map(status, 7, 'other')")).toBe('other');
    expect(evaluate('map(status, 7)')).toBeUndefined();
    expect(evaluate("if(oper == 1, 'up', 'down')", 'ifs', '2')).toBe('down');
    expect(evaluate("if(oper == 1, 'up')", 'ifs', '2')).toBeUndefined();
    expect(evaluate("coalesce(nothing, label, 'none')", 'cpu', '3')).toBe('none');
    expect(evaluate("coalesce(label, 'none')", 'cpu', '1')).toEqual(text('cpu0'));
    expect(evaluate('coalesce(nothing)')).toBeUndefined();
    expect(evaluate('exists(nothing)')).toBe(false);
    expect(evaluate('exists(uptime)')).toBe(true);
  });

  it('arc, arcs, ipv4, ipv6, hex on indexes and OCTET STRINGs', () => {
    expect(evaluate('arc(index, 0)', 'peers', '2.192.168.1.1')).toBe(2);
    expect(evaluate('arc(index, -1)', 'peers', '2.192.168.1.1')).toBe(1);
    expect(evaluate('arc(index, 9)', 'peers', '2.192.168.1.1')).toBeUndefined();
    expect(evaluate('arcs(index, 1, 4)', 'peers', '2.192.168.1.1')).toBe('192.168.1.1');
    expect(evaluate('arcs(index, -4)', 'peers', '2.192.168.1.1')).toBe('192.168.1.1');
    expect(evaluate('arcs(index, 3, 9)', 'peers', '2.192.168.1.1')).toBeUndefined();
    expect(evaluate('ipv4(arcs(index, 1, 4))', 'peers', '2.192.168.1.1')).toBe('192.168.1.1');
    expect(evaluate('ipv4(addr)')).toBe('10.0.0.254');
    expect(evaluate("ipv4('1.2.3')")).toBeUndefined();
    expect(evaluate("ipv4('1.2.3.256')")).toBeUndefined();
    expect(evaluate("ipv6('32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1')")).toBe('2001:db8::1');
    expect(evaluate('hex(mac)')).toBe('001b2cff000a');
    expect(evaluate('hex(uptime)')).toBeUndefined();
  });

  it('text functions and arithmetic functions', () => {
    expect(evaluate('lower(descr)')).toBe('cisco ios software, c2960 software');
    expect(evaluate("split(descr, ', ', 1)")).toBe('C2960 Software');
    expect(evaluate("split(descr, ', ', -1)")).toBe('C2960 Software');
    expect(evaluate("replace(descr, ' Software', '')")).toBe('Cisco IOS, C2960');
    expect(evaluate('fahrenheit(celsius)')).toBe(70.7);
    expect(evaluate('round(2 / 3, 2)')).toBe(0.67);
    expect(evaluate('round(-2.5)')).toBe(-3);
    expect(evaluate('floor(celsius) + ceil(celsius)')).toBe(43);
    expect(evaluate('pow(2, 10)')).toBe(1024);
  });
});

describe('values: SNMP answers', () => {
  it('exceptions and NULL are missing; OCTET STRINGs are trimmed text; numbers stay numbers', () => {
    for (const type of [SnmpTag.NoSuchObject, SnmpTag.NoSuchInstance, SnmpTag.EndOfMibView, SnmpTag.Null]) {
      expect(fromVarbind({ oid: '1.3', type, value: null })).toBeUndefined();
    }
    expect(fromVarbind({ oid: '1.3', type: SnmpTag.Counter64, value: MAX64 })).toBe(MAX64);
    expect(bytesText(Uint8Array.of(0x65, 0x74, 0x68, 0x30, 0x20, 0x00, 0x00))).toBe('eth0');
    expect(bytesText(Uint8Array.of(0x61, 0x0a, 0x62))).toBe('a b');
    expect(asNumber(text(' 12 '))).toBe(12);
    expect(asNumber('18446744073709551615')).toBe(MAX64);
    expect(asNumber('0x10')).toBeUndefined();
    expect(asText(1.5)).toBe('1.5');
    expect(asText([1])).toBeUndefined();
  });
});
