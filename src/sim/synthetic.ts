/**
 * The synthetic device model of the SNMP simulator. Every value is a pure function of the device
 * number d (1..N), the ifIndex i (1..M) and the milliseconds elapsed since the simulator's start
 * time, so tests and benchmarks can predict exactly what an agent answers at any moment.
 *
 *   community = sysName = `sim-` + d zero-padded to 5 digits (`sim-00001`)
 *
 *   system   1.3.6.1.2.1.1.C.0        1 sysDescr, 2 sysObjectID, 3 sysUpTime (hundredths of a second
 *                                      since the start, mod 2^32), 4 sysContact, 5 sysName,
 *                                      6 sysLocation, 7 sysServices (6)
 *   ifNumber 1.3.6.1.2.1.2.1.0        M
 *   ifTable  1.3.6.1.2.1.2.2.1.C.i    1 ifIndex, 2 ifDescr `GigabitEthernet0/i`, 3 ifType 6, 4 ifMtu 1500,
 *                                      5 ifSpeed 10^9, 6 ifPhysAddress 02:dd:dd:dd:ii:ii, 7 ifAdminStatus 1,
 *                                      8 ifOperStatus (2 down when i % 7 === 0, else 1 up),
 *                                      9 ifLastChange 0, 10/11/13/14/16/17/19/20 Counter32 counters
 *   ifXTable 1.3.6.1.2.1.31.1.1.1.C.i 1 ifName `Gi0/i`, 6/7/10/11 Counter64 counters, 15 ifHighSpeed 1000,
 *                                      18 ifAlias `uplink-d-i`
 *
 * Counters, exact in bigint, for elapsed milliseconds t (a counter with base B and rate R per
 * second is B + floor(R * t / 1000)):
 *
 *   ifHCInOctets      B = 2^60 + d*i   R = 1000*d*i
 *   ifHCOutOctets     B = 2^60 + d*i   R = 500*d*i
 *   ifHCInUcastPkts   B = d*i          R = 10*d*i
 *   ifHCOutUcastPkts  B = d*i          R = 5*d*i
 *   errors, discards  B = 0            R = 1 on interfaces that are oper-down, else 0
 *
 * The 32-bit counters of ifTable are the 64-bit value mod 2^32, so ifIn/OutOctets wrap.
 *
 * Device health, when asked for (simulator.health), the same on every device (SYNTHETIC_HEALTH, what a net-snmp agent on a small
 * Linux box answers): HOST-RESOURCES hrStorage (RAM and `/`), hrDevice names and hrProcessorLoad
 * of two processors, UCD-SNMP memory and load averages, LM-SENSORS temperatures. The built-in
 * host-resources and ucd-snmp profiles select the devices by their sysObjectID.
 */
import { BerTag, BerWriter, encodeOidTlv } from '../snmp/ber.js';
import { MIB_OBJECTS, scalar } from '../snmp/mibs.js';
import { compareOids } from '../snmp/oid.js';
import { SnmpTag } from '../snmp/types.js';

import { MAX_SYNTHETIC_DEVICES, MAX_SYNTHETIC_INTERFACES } from './limits.js';

export { MAX_SYNTHETIC_DEVICES, MAX_SYNTHETIC_INTERFACES };

/** Constants of the synthetic model. */
export const SYNTHETIC_START = {
  /** Base of ifHCInOctets and ifHCOutOctets (plus d*i), so they start beyond 2^53. */
  OCTETS_BASE: 2n ** 60n,
  /** Octets per second per unit of d*i. */
  IN_OCTETS_PER_SECOND: 1000n,
  OUT_OCTETS_PER_SECOND: 500n,
  /** Unicast packets per second per unit of d*i (octets / 100). */
  IN_PACKETS_PER_SECOND: 10n,
  OUT_PACKETS_PER_SECOND: 5n,
  /** Errors and discards per second on an oper-down interface. */
  ERRORS_PER_SECOND: 1n,
  /** Every interface whose ifIndex is a multiple of this is oper-down. */
  DOWN_EVERY: 7,
} as const;

export const SYS_OBJECT_ID = '1.3.6.1.4.1.8072.3.2.10';
export const SYS_CONTACT = 'Panoptes-TS simulator <noc@example.net>';
export const SYS_SERVICES = 6;
export const IF_TYPE = 6;
export const IF_MTU = 1500;
export const IF_SPEED = 1_000_000_000;
export const IF_HIGH_SPEED = 1000;

export const OID = {
  sysDescr: scalar('sysDescr'),
  sysObjectID: scalar('sysObjectID'),
  sysUpTime: scalar('sysUpTime'),
  sysContact: scalar('sysContact'),
  sysName: scalar('sysName'),
  sysLocation: scalar('sysLocation'),
  sysServices: scalar('sysServices'),
  ifNumber: scalar('ifNumber'),
  ifEntry: MIB_OBJECTS.ifEntry,
  ifXEntry: MIB_OBJECTS.ifXEntry,
} as const;

/** `sim-00042` for 42. */
export function syntheticCommunity(d: number): string {
  return `sim-${String(d).padStart(5, '0')}`;
}

/** 42 for `sim-00042`; undefined when not of that form or above `devices` (when given). */
export function deviceNumberFromCommunity(
  community: string,
  devices = MAX_SYNTHETIC_DEVICES,
): number | undefined {
  if (community.length !== 9 || !community.startsWith('sim-')) return undefined;
  let d = 0;
  for (let k = 4; k < 9; k++) {
    const c = community.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return undefined;
    d = d * 10 + c;
  }
  return d >= 1 && d <= devices ? d : undefined;
}

export function syntheticSysDescr(d: number): string {
  return `Panoptes-TS simulated switch ${syntheticCommunity(d)}`;
}

export function syntheticSysLocation(d: number): string {
  return `Simulated lab, rack ${Math.ceil(d / 40)}`;
}

export function syntheticIfDescr(i: number): string {
  return `GigabitEthernet0/${i}`;
}

export function syntheticIfName(i: number): string {
  return `Gi0/${i}`;
}

export function syntheticIfAlias(d: number, i: number): string {
  return `uplink-${d}-${i}`;
}

/** 02:dd:dd:dd:ii:ii: locally administered, the device number in 3 bytes, the ifIndex in 2. */
export function syntheticMac(d: number, i: number): Uint8Array {
  return Uint8Array.of(0x02, (d >>> 16) & 0xff, (d >>> 8) & 0xff, d & 0xff, (i >>> 8) & 0xff, i & 0xff);
}

/** 1 (up), or 2 (down) for every 7th interface. */
export function syntheticOperStatus(i: number): 1 | 2 {
  return i % SYNTHETIC_START.DOWN_EVERY === 0 ? 2 : 1;
}

/** sysUpTime in hundredths of a second, mod 2^32. */
export function syntheticSysUpTime(elapsedMs: number): number {
  return Math.floor(Math.max(0, elapsedMs) / 10) % 0x100000000;
}

export interface SyntheticCounters {
  readonly ifHCInOctets: bigint;
  readonly ifHCOutOctets: bigint;
  readonly ifHCInUcastPkts: bigint;
  readonly ifHCOutUcastPkts: bigint;
  readonly ifInOctets: bigint;
  readonly ifOutOctets: bigint;
  readonly ifInUcastPkts: bigint;
  readonly ifOutUcastPkts: bigint;
  readonly ifInDiscards: bigint;
  readonly ifInErrors: bigint;
  readonly ifOutDiscards: bigint;
  readonly ifOutErrors: bigint;
}

const MOD32 = 2n ** 32n;
const MOD64 = 2n ** 64n;

/** Every counter of interface i of device d, elapsedMs (a non-negative integer) after the start. */
export function syntheticCounters(d: number, i: number, elapsedMs: number): SyntheticCounters {
  const t = BigInt(Math.max(0, Math.floor(elapsedMs)));
  const di = BigInt(d) * BigInt(i);
  const S = SYNTHETIC_START;
  const hcIn = (S.OCTETS_BASE + di + (S.IN_OCTETS_PER_SECOND * di * t) / 1000n) % MOD64;
  const hcOut = (S.OCTETS_BASE + di + (S.OUT_OCTETS_PER_SECOND * di * t) / 1000n) % MOD64;
  const pktIn = (di + (S.IN_PACKETS_PER_SECOND * di * t) / 1000n) % MOD64;
  const pktOut = (di + (S.OUT_PACKETS_PER_SECOND * di * t) / 1000n) % MOD64;
  const errors = syntheticOperStatus(i) === 2 ? ((S.ERRORS_PER_SECOND * t) / 1000n) % MOD32 : 0n;
  return {
    ifHCInOctets: hcIn,
    ifHCOutOctets: hcOut,
    ifHCInUcastPkts: pktIn,
    ifHCOutUcastPkts: pktOut,
    ifInOctets: hcIn % MOD32,
    ifOutOctets: hcOut % MOD32,
    ifInUcastPkts: pktIn % MOD32,
    ifOutUcastPkts: pktOut % MOD32,
    ifInDiscards: errors,
    ifInErrors: errors,
    ifOutDiscards: errors,
    ifOutErrors: errors,
  };
}

// ---------------------------------------------------------------------------------------------
// The OID layout shared by every synthetic device with the same number of interfaces.

/** How the value of an entry is produced. */
export const Kind = {
  /** The whole varbind is pre-encoded (the value does not depend on the device or time). */
  Static: 0,
  SysDescr: 1,
  SysUpTime: 2,
  SysName: 3,
  SysLocation: 4,
  IfPhysAddress: 5,
  IfAlias: 6,
  InOctets: 7,
  InUcastPkts: 8,
  InDiscards: 9,
  InErrors: 10,
  OutOctets: 11,
  OutUcastPkts: 12,
  OutDiscards: 13,
  OutErrors: 14,
  HCInOctets: 15,
  HCInUcastPkts: 16,
  HCOutOctets: 17,
  HCOutUcastPkts: 18,
} as const;
export type KindValue = (typeof Kind)[keyof typeof Kind];

/**
 * A MIB view: OIDs sorted with compareOids, each with its pre-encoded OID TLV, and either a
 * pre-encoded varbind (static value) or a kind whose value is computed on demand.
 */
export interface MibTable {
  readonly size: number;
  readonly oids: readonly string[];
  readonly oidTlvs: readonly Uint8Array[];
  /** The whole varbind SEQUENCE pre-encoded, for values that never change; else undefined. */
  readonly varbindTlvs: readonly (Uint8Array | undefined)[];
  readonly kinds: Uint8Array;
  /** The ifIndex of interface entries (0 elsewhere). */
  readonly ifIndexes: Uint32Array;
  /** For SNMPv1: the first entry at or after k that is not a Counter64 (size if none). */
  readonly nextV1: Uint32Array;
  /** 1 for Counter64 entries, which SNMPv1 cannot see. */
  readonly counter64: Uint8Array;
  /** OID -> entry index. */
  readonly index: ReadonlyMap<string, number>;
  /** Every OID minus its last arc, for telling noSuchInstance from noSuchObject. */
  readonly parents: ReadonlySet<string>;
}

export interface TableEntry {
  readonly oid: string;
  readonly kind: number;
  readonly ifIndex: number;
  readonly counter64: boolean;
  /** Value TLV for static entries. */
  readonly value?: Uint8Array;
}

/** Builds a table from entries in any order; a later entry with the same OID replaces an earlier one. */
export function buildTable(input: readonly TableEntry[]): MibTable {
  const byOid = new Map<string, TableEntry>();
  for (const e of input) byOid.set(e.oid, e);
  const entries = [...byOid.values()].sort((a, b) => compareOids(a.oid, b.oid));
  const size = entries.length;
  const oids: string[] = [];
  const oidTlvs: Uint8Array[] = [];
  const varbindTlvs: (Uint8Array | undefined)[] = [];
  const kinds = new Uint8Array(size);
  const ifIndexes = new Uint32Array(size);
  const counter64 = new Uint8Array(size);
  const nextV1 = new Uint32Array(size + 1);
  const index = new Map<string, number>();
  const parents = new Set<string>();
  const w = new BerWriter(256);
  entries.forEach((e, k) => {
    const oidTlv = encodeOidTlv(e.oid);
    oids.push(e.oid);
    oidTlvs.push(oidTlv);
    if (e.value !== undefined) {
      w.reset();
      w.raw(e.value);
      w.raw(oidTlv);
      w.wrap(BerTag.Sequence, 0);
      varbindTlvs.push(Uint8Array.from(w.result()));
    } else {
      varbindTlvs.push(undefined);
    }
    kinds[k] = e.kind;
    ifIndexes[k] = e.ifIndex;
    counter64[k] = e.counter64 ? 1 : 0;
    index.set(e.oid, k);
    parents.add(e.oid.slice(0, e.oid.lastIndexOf('.')));
  });
  nextV1[size] = size;
  for (let k = size - 1; k >= 0; k--) nextV1[k] = counter64[k] === 1 ? (nextV1[k + 1] ?? size) : k;
  return { size, oids, oidTlvs, varbindTlvs, kinds, ifIndexes, nextV1, counter64, index, parents };
}

/** A value TLV, encoded once. */
export function valueTlv(write: (w: BerWriter) => void): Uint8Array {
  const w = new BerWriter(64);
  write(w);
  return Uint8Array.from(w.result());
}

const IF_COLUMNS: readonly (readonly [number, number])[] = [
  [1, Kind.Static],
  [2, Kind.Static],
  [3, Kind.Static],
  [4, Kind.Static],
  [5, Kind.Static],
  [6, Kind.IfPhysAddress],
  [7, Kind.Static],
  [8, Kind.Static],
  [9, Kind.Static],
  [10, Kind.InOctets],
  [11, Kind.InUcastPkts],
  [13, Kind.InDiscards],
  [14, Kind.InErrors],
  [16, Kind.OutOctets],
  [17, Kind.OutUcastPkts],
  [19, Kind.OutDiscards],
  [20, Kind.OutErrors],
];

const IFX_COLUMNS: readonly (readonly [number, number])[] = [
  [1, Kind.Static],
  [6, Kind.HCInOctets],
  [7, Kind.HCInUcastPkts],
  [10, Kind.HCOutOctets],
  [11, Kind.HCOutUcastPkts],
  [15, Kind.Static],
  [18, Kind.IfAlias],
];

function integerTlv(v: number): Uint8Array {
  return valueTlv((w) => w.integer(SnmpTag.Integer32, v));
}

function unsignedTlv(tag: number, v: number): Uint8Array {
  return valueTlv((w) => w.unsigned(tag, v));
}

function stringTlv(s: string): Uint8Array {
  return valueTlv((w) => w.octets(SnmpTag.OctetString, Buffer.from(s, 'latin1')));
}

/** The value TLV of a static interface column. */
function staticIfValue(table: 'if' | 'ifx', column: number, i: number): Uint8Array {
  if (table === 'ifx') {
    return column === 1 ? stringTlv(syntheticIfName(i)) : unsignedTlv(SnmpTag.Gauge32, IF_HIGH_SPEED);
  }
  switch (column) {
    case 1:
      return integerTlv(i);
    case 2:
      return stringTlv(syntheticIfDescr(i));
    case 3:
      return integerTlv(IF_TYPE);
    case 4:
      return integerTlv(IF_MTU);
    case 5:
      return unsignedTlv(SnmpTag.Gauge32, IF_SPEED);
    case 7:
      return integerTlv(1);
    case 8:
      return integerTlv(syntheticOperStatus(i));
    default:
      return unsignedTlv(SnmpTag.TimeTicks, 0); // 9 ifLastChange
  }
}

/** Storage rows: [hrStorageType arc, description, allocation unit, size, used] (sizes in units). */
export const SYNTHETIC_STORAGE = [
  [2, 'Physical memory', 1024, 8_388_608, 3_145_728],
  [4, '/', 4096, 15_728_640, 6_291_456],
] as const;
/** Processors: [hrDeviceIndex, description, load %]. */
export const SYNTHETIC_CPUS = [
  [196608, 'Simulated CPU 0', 12],
  [196609, 'Simulated CPU 1', 18],
] as const;
/** Temperature sensors: [description, thousandths of a degree Celsius]. */
export const SYNTHETIC_TEMPERATURES = [
  ['CPU Package', 47_500],
  ['Board', 36_000],
] as const;

/** The device-health varbinds of every synthetic device: [OID, value TLV]. */
export const SYNTHETIC_HEALTH: readonly (readonly [string, Uint8Array])[] = [
  ...SYNTHETIC_STORAGE.flatMap(([type, descr, unit, size, used], k) => {
    const i = k + 1;
    return [
      [`${MIB_OBJECTS.hrStorageIndex}.${i}`, integerTlv(i)],
      [`${MIB_OBJECTS.hrStorageType}.${i}`, valueTlv((w) => w.oid(`${MIB_OBJECTS.hrStorageTypes}.${type}`))],
      [`${MIB_OBJECTS.hrStorageDescr}.${i}`, stringTlv(descr)],
      [`${MIB_OBJECTS.hrStorageAllocationUnits}.${i}`, integerTlv(unit)],
      [`${MIB_OBJECTS.hrStorageSize}.${i}`, integerTlv(size)],
      [`${MIB_OBJECTS.hrStorageUsed}.${i}`, integerTlv(used)],
      [`${MIB_OBJECTS.hrStorageAllocationFailures}.${i}`, unsignedTlv(SnmpTag.Counter32, 0)],
    ] as const;
  }),
  ...SYNTHETIC_CPUS.map(([i, descr]) => [`${MIB_OBJECTS.hrDeviceDescr}.${i}`, stringTlv(descr)] as const),
  ...SYNTHETIC_CPUS.map(([i, , load]) => [`${MIB_OBJECTS.hrProcessorLoad}.${i}`, integerTlv(load)] as const),
  [scalar('memTotalSwap'), integerTlv(2_097_152)], // kB
  [scalar('memAvailSwap'), integerTlv(2_031_616)],
  [scalar('memTotalReal'), integerTlv(8_388_608)],
  [scalar('memAvailReal'), integerTlv(3_145_728)],
  [scalar('memBuffer'), integerTlv(524_288)],
  [scalar('memCached'), integerTlv(1_572_864)],
  ...(['0.42', '0.37', '0.31'] as const).flatMap((load, k) => [
    [`${MIB_OBJECTS.laLoad}.${k + 1}`, stringTlv(load)] as const,
    [`${MIB_OBJECTS.laLoadInt}.${k + 1}`, integerTlv(Math.round(Number(load) * 100))] as const,
  ]),
  ...SYNTHETIC_TEMPERATURES.flatMap(([descr, milli], k) => [
    [`${MIB_OBJECTS.lmTempSensorsIndex}.${k + 1}`, integerTlv(k + 1)] as const,
    [`${MIB_OBJECTS.lmTempSensorsDevice}.${k + 1}`, stringTlv(descr)] as const,
    [`${MIB_OBJECTS.lmTempSensorsValue}.${k + 1}`, unsignedTlv(SnmpTag.Gauge32, milli)] as const,
  ]),
];

/** The OID layout of a synthetic device with `interfaces` interfaces (shared by all such devices), with the health set or not. */
export function syntheticTable(interfaces: number, health = false): MibTable {
  const entries: TableEntry[] = [
    { oid: OID.sysDescr, kind: Kind.SysDescr, ifIndex: 0, counter64: false },
    {
      oid: OID.sysObjectID,
      kind: Kind.Static,
      ifIndex: 0,
      counter64: false,
      value: valueTlv((w) => w.oid(SYS_OBJECT_ID)),
    },
    { oid: OID.sysUpTime, kind: Kind.SysUpTime, ifIndex: 0, counter64: false },
    { oid: OID.sysContact, kind: Kind.Static, ifIndex: 0, counter64: false, value: stringTlv(SYS_CONTACT) },
    { oid: OID.sysName, kind: Kind.SysName, ifIndex: 0, counter64: false },
    { oid: OID.sysLocation, kind: Kind.SysLocation, ifIndex: 0, counter64: false },
    {
      oid: OID.sysServices,
      kind: Kind.Static,
      ifIndex: 0,
      counter64: false,
      value: integerTlv(SYS_SERVICES),
    },
    { oid: OID.ifNumber, kind: Kind.Static, ifIndex: 0, counter64: false, value: integerTlv(interfaces) },
  ];
  for (const [column, kind] of IF_COLUMNS) {
    for (let i = 1; i <= interfaces; i++) {
      entries.push({
        oid: `${OID.ifEntry}.${column}.${i}`,
        kind,
        ifIndex: i,
        counter64: false,
        ...(kind === Kind.Static ? { value: staticIfValue('if', column, i) } : {}),
      });
    }
  }
  for (const [column, kind] of IFX_COLUMNS) {
    for (let i = 1; i <= interfaces; i++) {
      entries.push({
        oid: `${OID.ifXEntry}.${column}.${i}`,
        kind,
        ifIndex: i,
        counter64: kind >= Kind.HCInOctets,
        ...(kind === Kind.Static ? { value: staticIfValue('ifx', column, i) } : {}),
      });
    }
  }
  if (health) {
    for (const [oid, value] of SYNTHETIC_HEALTH) {
      entries.push({ oid, kind: Kind.Static, ifIndex: 0, counter64: false, value });
    }
  }
  return buildTable(entries);
}

// ---------------------------------------------------------------------------------------------
// Encoding dynamic values fast (the hot path of the simulator).

const TWO32 = 0x100000000;
/** The high 32 bits of 2^60. */
const OCTETS_BASE_HI = 0x10000000;

/** floor(rate * t / 1000) for non-negative integers, exact; number when it fits, else bigint. */
function advance(rate: number, t: number): number | bigint {
  const x = rate * t;
  if (x <= Number.MAX_SAFE_INTEGER) return (x - (x % 1000)) / 1000;
  return (BigInt(rate) * BigInt(t)) / 1000n;
}

/** Writes an unsigned 64-bit INTEGER given as high and low 32-bit halves (both exact numbers). */
function writeUnsigned64(w: BerWriter, tag: number, hi: number, lo: number): void {
  const mark = w.length;
  let last = 0;
  if (hi === 0) {
    let v = lo;
    do {
      last = v & 0xff;
      w.byte(last);
      v = (v - last) / 256;
    } while (v > 0);
  } else {
    let v = lo;
    for (let k = 0; k < 4; k++) {
      const b = v & 0xff;
      w.byte(b);
      v = (v - b) / 256;
    }
    v = hi;
    do {
      last = v & 0xff;
      w.byte(last);
      v = (v - last) / 256;
    } while (v > 0);
  }
  if (last & 0x80) w.byte(0);
  w.wrap(tag, mark);
}

/** base (< 2^53) + delta as a Counter64 (mod 2^64), with an extra `hiBase` added to the high half. */
function writeCounter64(w: BerWriter, hiBase: number, base: number, delta: number | bigint): void {
  if (typeof delta === 'number') {
    const v = base + delta;
    if (v <= Number.MAX_SAFE_INTEGER) {
      const lo = v % TWO32;
      const hi = (v - lo) / TWO32 + hiBase;
      if (hi < TWO32) {
        writeUnsigned64(w, SnmpTag.Counter64, hi, lo);
        return;
      }
    }
  }
  const big = (BigInt(hiBase) * BigInt(TWO32) + BigInt(base) + BigInt(delta)) % 2n ** 64n;
  w.unsigned(SnmpTag.Counter64, big);
}

/** base (< 2^53) + delta, mod 2^32, as a Counter32. */
function writeCounter32(w: BerWriter, base: number, delta: number | bigint): void {
  const v =
    typeof delta === 'number' ? (base + (delta % TWO32)) % TWO32 : Number((BigInt(base) + delta) % 2n ** 32n);
  w.unsigned(SnmpTag.Counter32, v);
}

function writeString(w: BerWriter, s: string): void {
  w.octets(SnmpTag.OctetString, Buffer.from(s, 'latin1'));
}

/**
 * Writes the value TLV of a dynamic entry of device d, interface i (0 for scalars), elapsedMs (a
 * non-negative integer) after the start. Must agree with syntheticCounters (tests check it).
 */
export function writeSyntheticValue(
  w: BerWriter,
  kind: number,
  d: number,
  i: number,
  elapsedMs: number,
): void {
  const di = d * i;
  switch (kind) {
    case Kind.SysDescr:
      writeString(w, syntheticSysDescr(d));
      return;
    case Kind.SysUpTime:
      w.unsigned(SnmpTag.TimeTicks, syntheticSysUpTime(elapsedMs));
      return;
    case Kind.SysName:
      writeString(w, syntheticCommunity(d));
      return;
    case Kind.SysLocation:
      writeString(w, syntheticSysLocation(d));
      return;
    case Kind.IfPhysAddress:
      w.octets(SnmpTag.OctetString, syntheticMac(d, i));
      return;
    case Kind.IfAlias:
      writeString(w, syntheticIfAlias(d, i));
      return;
    case Kind.InOctets:
      writeCounter32(w, di, advance(1000 * di, elapsedMs));
      return;
    case Kind.OutOctets:
      writeCounter32(w, di, advance(500 * di, elapsedMs));
      return;
    case Kind.InUcastPkts:
      writeCounter32(w, di, advance(10 * di, elapsedMs));
      return;
    case Kind.OutUcastPkts:
      writeCounter32(w, di, advance(5 * di, elapsedMs));
      return;
    case Kind.InDiscards:
    case Kind.InErrors:
    case Kind.OutDiscards:
    case Kind.OutErrors:
      writeCounter32(w, 0, syntheticOperStatus(i) === 2 ? advance(1, elapsedMs) : 0);
      return;
    case Kind.HCInOctets:
      writeCounter64(w, OCTETS_BASE_HI, di, advance(1000 * di, elapsedMs));
      return;
    case Kind.HCOutOctets:
      writeCounter64(w, OCTETS_BASE_HI, di, advance(500 * di, elapsedMs));
      return;
    case Kind.HCInUcastPkts:
      writeCounter64(w, 0, di, advance(10 * di, elapsedMs));
      return;
    case Kind.HCOutUcastPkts:
      writeCounter64(w, 0, di, advance(5 * di, elapsedMs));
      return;
    default:
      w.null(BerTag.Null);
  }
}
