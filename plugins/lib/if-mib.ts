/**
 * What the built-in interface plugins read from IF-MIB (RFC 2863) and SNMPv2-MIB, and how.
 *
 *   sysUpTime        1.3.6.1.2.1.1.3.0            TimeTicks (hundredths of a second)
 *   ifEntry          1.3.6.1.2.1.2.2.1.C.ifIndex  2 ifDescr, 3 ifType, 5 ifSpeed, 7 ifAdminStatus,
 *                                                 8 ifOperStatus, 10 ifInOctets, 11 ifInUcastPkts,
 *                                                 13 ifInDiscards, 14 ifInErrors, 16 ifOutOctets,
 *                                                 17 ifOutUcastPkts, 19 ifOutDiscards, 20 ifOutErrors
 *   ifXEntry         1.3.6.1.2.1.31.1.1.1.C.ifIndex 1 ifName, 6 ifHCInOctets, 7 ifHCInUcastPkts,
 *                                                 10 ifHCOutOctets, 11 ifHCOutUcastPkts,
 *                                                 15 ifHighSpeed (Mbit/s), 18 ifAlias
 */
import { SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';

const IF = '1.3.6.1.2.1.2.2.1';
const IFX = '1.3.6.1.2.1.31.1.1.1';

export const IF_MIB = {
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  ifDescr: `${IF}.2`,
  ifType: `${IF}.3`,
  ifSpeed: `${IF}.5`,
  ifAdminStatus: `${IF}.7`,
  ifOperStatus: `${IF}.8`,
  ifInOctets: `${IF}.10`,
  ifInUcastPkts: `${IF}.11`,
  ifInDiscards: `${IF}.13`,
  ifInErrors: `${IF}.14`,
  ifOutOctets: `${IF}.16`,
  ifOutUcastPkts: `${IF}.17`,
  ifOutDiscards: `${IF}.19`,
  ifOutErrors: `${IF}.20`,
  ifName: `${IFX}.1`,
  ifHCInOctets: `${IFX}.6`,
  ifHCInUcastPkts: `${IFX}.7`,
  ifHCOutOctets: `${IFX}.10`,
  ifHCOutUcastPkts: `${IFX}.11`,
  ifHighSpeed: `${IFX}.15`,
  ifAlias: `${IFX}.18`,
} as const;

/** ifSpeed saturates here (4.29 Gbit/s); faster interfaces report their speed in ifHighSpeed. */
export const IF_SPEED_MAX = 4_294_967_295;

/** Names of common IANAifType values (the rest are written as `ifType<N>`). */
const IF_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'other',
  6: 'ethernetCsmacd',
  23: 'ppp',
  24: 'softwareLoopback',
  53: 'propVirtual',
  71: 'ieee80211',
  117: 'gigabitEthernet',
  131: 'tunnel',
  135: 'l2vlan',
  136: 'l3ipvlan',
  161: 'ieee8023adLag',
  166: 'mpls',
  209: 'bridge',
};

export function ifTypeName(type: number): string {
  return IF_TYPE_NAMES[type] ?? `ifType${type}`;
}

/** The last arc of an OID under a column (the ifIndex), as text. */
export function indexOf(column: string, oid: string): string {
  return oid.slice(column.length + 1);
}

/** Column varbinds by ifIndex, exceptions left out. */
export function byIndex(column: string, varbinds: readonly Varbind[] | undefined): Map<string, Varbind> {
  const out = new Map<string, Varbind>();
  for (const vb of varbinds ?? []) {
    if (
      vb.type === SnmpTag.NoSuchObject ||
      vb.type === SnmpTag.NoSuchInstance ||
      vb.type === SnmpTag.EndOfMibView
    )
      continue;
    out.set(indexOf(column, vb.oid), vb);
  }
  return out;
}

const decoder = new TextDecoder('utf-8');

/** A DisplayString: UTF-8 (invalid bytes replaced), trailing NULs and surrounding blanks removed. */
export function text(vb: Varbind | undefined): string | undefined {
  if (vb === undefined) return undefined;
  if (typeof vb.value === 'string') return vb.value.trim();
  if (!(vb.value instanceof Uint8Array)) return undefined;
  let end = vb.value.length;
  while (end > 0 && vb.value[end - 1] === 0) end--;
  // Control characters would make poor dimension values.
  let out = '';
  for (const ch of decoder.decode(vb.value.subarray(0, end))) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out.trim();
}

/** An integer value (Integer32, Gauge32, Counter32, TimeTicks); undefined for anything else. */
export function integer(vb: Varbind | undefined): number | undefined {
  return vb !== undefined && typeof vb.value === 'number' ? vb.value : undefined;
}

/** A counter value as bigint (Counter32 or Counter64); undefined for anything else. */
export function counter(vb: Varbind | undefined): bigint | undefined {
  if (vb === undefined) return undefined;
  if (vb.type === SnmpTag.Counter64 && typeof vb.value === 'bigint') return vb.value;
  if (vb.type === SnmpTag.Counter32 && typeof vb.value === 'number') return BigInt(vb.value);
  return undefined;
}

/** Interface speed in bits/s: ifHighSpeed (Mbit/s) when set, else ifSpeed. */
export function speedBits(ifSpeed: number | undefined, ifHighSpeed: number | undefined): number | undefined {
  if (ifHighSpeed !== undefined && ifHighSpeed > 0) return ifHighSpeed * 1_000_000;
  return ifSpeed;
}

/** Orders ifIndex strings numerically. */
export function compareIndex(a: string, b: string): number {
  return Number(a) - Number(b);
}
