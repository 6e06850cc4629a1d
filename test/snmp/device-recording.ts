/**
 * snmprec recordings that look like a real switch: the system group (with sysORTable), ifNumber,
 * a full ifTable (22 columns), ipAddrTable, a full ifXTable (19 columns, Counter64 values beyond
 * 2^53) and a few enterprise objects with the remaining types (Opaque, Null, extreme Integer32,
 * 2.999.x OIDs). Interface indexes are sparse (1..20, 100, 1000, ..., 2147483647) so arc
 * ordering matters. Lines come back sorted by OID, arc by arc, as snmpsim needs them.
 *
 * Values are written as `panoptes snmp walk` prints them (printable OctetStrings as text, others as
 * `4x` lowercase hex, Opaque as `68x`), except a few lines deliberately written another valid way
 * (marked NON_CANONICAL) to check that the simulator and our reader agree; canonical() rewrites
 * those to the printed form.
 */
import { compareOids } from '../../src/snmp/oid.js';

export const IF_TABLE = '1.3.6.1.2.1.2.2';
export const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
export const IF_X_ENTRY = '1.3.6.1.2.1.31.1.1.1';
export const IF_DESCR = `${IF_ENTRY}.2`;
export const IF_HC_IN_OCTETS = `${IF_X_ENTRY}.6`;
export const IF_ALIAS = `${IF_X_ENTRY}.18`;

export const SPARSE_INDEXES: readonly number[] = [
  ...Array.from({ length: 20 }, (_, i) => i + 1),
  100,
  101,
  1000,
  1001,
  10101,
  10102,
  65535,
  65536,
  1073741824,
  2147483647,
];

const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex');

function mac(i: number): string {
  // Starts with 00: never printable, always written as 4x.
  return `001b21${(i & 0xffffff).toString(16).padStart(6, '0')}`;
}

/** A deterministic pseudo-random 64-bit counter value per (interface, column). */
function counter64(i: number, column: number): string {
  if (i === 1 && column === 6) return '18446744073709551615'; // 2^64 - 1
  if (i === 2 && column === 6) return '9007199254740993'; // 2^53 + 1
  if (i === 3 && column === 6) return '0';
  if (i === 4) return (2n ** 63n + BigInt(column)).toString();
  const v = (BigInt(i) * 0x9e3779b97f4a7c15n + BigInt(column) * 0x632be59bd9b4e019n) % 2n ** 64n;
  return v.toString();
}

function counter32(i: number, column: number): string {
  if (i === 1) return '4294967295';
  if (i === 2) return '0';
  return String((i * 2654435761 + column * 40503) % 4294967296);
}

export interface RecordingOptions {
  /** Which interface indexes exist. Default SPARSE_INDEXES (30 interfaces). */
  readonly indexes?: readonly number[];
  /** Add lines written in a valid but non-canonical way (4x of printable text, 68 as text). */
  readonly nonCanonical?: boolean;
}

export function deviceRecording(options: RecordingOptions = {}): string[] {
  const indexes = options.indexes ?? SPARSE_INDEXES;
  const lines: string[] = [];
  const add = (oid: string, tag: string, value: string | number): void => {
    lines.push(`${oid}|${tag}|${value}`);
  };

  const sys = '1.3.6.1.2.1.1';
  add(`${sys}.1.0`, '4', 'Panoptes Simulated Switch, Software (C3750E-UNIVERSALK9-M), Version 15.2(4)E7');
  add(`${sys}.2.0`, '6', '1.3.6.1.4.1.9.1.2134');
  add(`${sys}.3.0`, '67', 3000000000);
  add(`${sys}.4.0`, '4', 'noc@example.net');
  add(`${sys}.5.0`, '4', 'sim-switch-01.example.net');
  add(`${sys}.6.0`, '4', 'DC1|Row 4|Rack 12'); // the value may contain the separator
  add(`${sys}.7.0`, '2', 6);
  add(`${sys}.8.0`, '67', 0);
  for (const [n, oid, descr] of [
    [1, '1.3.6.1.6.3.1', 'The MIB module for SNMPv2 entities'],
    [2, '1.3.6.1.2.1.31', 'The MIB module to describe generic objects for network interface sub-layers'],
  ] as const) {
    add(`${sys}.9.1.2.${n}`, '6', oid);
    add(`${sys}.9.1.3.${n}`, '4', descr);
    add(`${sys}.9.1.4.${n}`, '67', n * 17);
  }
  add('1.3.6.1.2.1.2.1.0', '2', indexes.length);

  indexes.forEach((i, pos) => {
    const loopback = pos % 10 === 9;
    const name = loopback ? `Loopback${pos}` : `GigabitEthernet1/0/${pos + 1}`;
    const e = (column: number): string => `${IF_ENTRY}.${column}.${i}`;
    add(e(1), '2', i);
    // One description with a trailing NUL, as some devices send: not printable, so 4x.
    if (pos === 5) add(e(2), '4x', `${hex(name)}00`);
    else add(e(2), '4', name);
    add(e(3), '2', loopback ? 24 : 6);
    add(e(4), '2', loopback ? 65535 : pos % 3 === 0 ? 9216 : 1500);
    add(e(5), '66', pos % 4 === 0 ? 4294967295 : 1000000000);
    if (loopback) add(e(6), '4', '');
    else add(e(6), '4x', mac(i));
    add(e(7), '2', pos % 7 === 6 ? 2 : 1);
    add(e(8), '2', pos % 7 === 6 ? 2 : pos % 11 === 10 ? 7 : 1);
    add(e(9), '67', pos * 1234567);
    for (let c = 10; c <= 20; c++) add(e(c), '65', counter32(pos + 1, c));
    add(e(21), '66', 0);
    add(e(22), '6', '0.0');
  });

  indexes.slice(0, 4).forEach((i, pos) => {
    const ip = `10.${pos}.${i % 256}.1`;
    add(`1.3.6.1.2.1.4.20.1.1.${ip}`, '64', ip);
    add(`1.3.6.1.2.1.4.20.1.2.${ip}`, '2', i);
    add(`1.3.6.1.2.1.4.20.1.3.${ip}`, '64', '255.255.255.0');
  });

  indexes.forEach((i, pos) => {
    const x = (column: number): string => `${IF_X_ENTRY}.${column}.${i}`;
    add(x(1), '4', pos % 10 === 9 ? `Lo${pos}` : `Gi1/0/${pos + 1}`);
    for (let c = 2; c <= 5; c++) add(x(c), '65', counter32(pos + 1, c + 100));
    for (let c = 6; c <= 13; c++) add(x(c), '70', counter64(pos + 1, c));
    add(x(14), '2', 1);
    add(x(15), '66', pos % 4 === 0 ? 100000 : 1000);
    add(x(16), '2', 2);
    add(x(17), '2', pos % 10 === 9 ? 2 : 1);
    if (pos === 0) add(x(18), '4', 'uplink to core-1 Gi0/1');
    else if (pos === 1)
      add(x(18), '4x', hex('café – bureau 2')); // UTF-8: not printable ASCII
    else if (pos === 2) add(x(18), '4x', hex('tab\there'));
    else if (pos === 3) add(x(18), '4x', '00ff7f80');
    // snmpsim strips trailing whitespace from a line: text with trailing spaces must be hex.
    else if (pos === 4) add(x(18), '4x', hex('  spaces, ~tilde~ and "quotes" | pipes  '));
    else add(x(18), '4', pos % 3 === 0 ? '' : `server port ${pos}`);
    add(x(19), '67', 0);
  });

  const ent = '1.3.6.1.4.1.99999.1';
  add(`${ent}.1.0`, '68x', '9f780441200000'); // Opaque-wrapped float 10.0
  add(`${ent}.2.0`, '2', -2147483648);
  add(`${ent}.3.0`, '2', 2147483647);
  add(`${ent}.4.0`, '6', '2.999.4294967295');
  add(`${ent}.5.0`, '5', '');
  add(`${ent}.6.0`, '4x', 'e282ac0a09ff');
  add(`${ent}.7.0`, '66', 4294967295);
  add(`${ent}.8.0`, '67', 4294967295);
  add(`${ent}.9.0`, '64', '0.0.0.0');
  add(`${ent}.10.0`, '64', '255.255.255.255');
  if (options.nonCanonical === true) {
    add(`${ent}.11.0`, '4x', hex('printable, written as hex')); // NON_CANONICAL
    add(`${ent}.12.0`, '4x', ''); // NON_CANONICAL: empty, as hex
    add(`${ent}.13.0`, '68', 'opaque as text'); // NON_CANONICAL: Opaque without x
  }

  return lines.sort((a, b) => compareOids(a.slice(0, a.indexOf('|')), b.slice(0, b.indexOf('|'))));
}

function printable(bytes: Buffer): boolean {
  return bytes.every((b) => b >= 0x20 && b <= 0x7e);
}

/**
 * A line as `panoptes snmp walk` prints it. The only rewrites are between equivalent spellings
 * of the same bytes: `4x` whose bytes are printable ASCII becomes `4` text, and Opaque given as
 * text (`68`) becomes `68x` hex. OIDs, tags and every other value are left alone.
 */
export function canonical(line: string): string {
  const [oid, tag] = line.split('|', 2);
  const value = line.slice((oid?.length ?? 0) + (tag?.length ?? 0) + 2);
  if (tag === '4x') {
    const bytes = Buffer.from(value, 'hex');
    return printable(bytes) ? `${oid}|4|${bytes.toString('latin1')}` : `${oid}|4x|${value.toLowerCase()}`;
  }
  if (tag === '68') return `${oid}|68x|${hex(value)}`;
  return line;
}

export function oidOf(line: string): string {
  return line.slice(0, line.indexOf('|'));
}
