/**
 * SNMP value types and varbinds as the engine hands them out. A varbind is one flat object:
 * `type` is the BER tag, `value` depends on it:
 *   Integer32, Counter32, Gauge32, TimeTicks      number
 *   Counter64                                      bigint (all 64 bits)
 *   OctetString, Opaque                            Uint8Array (the bytes as sent)
 *   ObjectIdentifier                               dotted string
 *   IpAddress                                      dotted quad
 *   Null, noSuchObject, noSuchInstance, endOfMibView   null
 */

export const SnmpTag = {
  Integer32: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  IpAddress: 0x40,
  Counter32: 0x41,
  Gauge32: 0x42,
  TimeTicks: 0x43,
  Opaque: 0x44,
  Counter64: 0x46,
  NoSuchObject: 0x80,
  NoSuchInstance: 0x81,
  EndOfMibView: 0x82,
} as const;

export type SnmpTagName = keyof typeof SnmpTag;
export type SnmpTagValue = (typeof SnmpTag)[SnmpTagName];

export type VarbindValue = number | bigint | string | Uint8Array | null;

export interface Varbind {
  readonly oid: string;
  readonly type: SnmpTagValue;
  readonly value: VarbindValue;
}

/** True for the three "no value here" markers of SNMPv2. */
export function isException(type: number): boolean {
  return type === SnmpTag.NoSuchObject || type === SnmpTag.NoSuchInstance || type === SnmpTag.EndOfMibView;
}

export const SnmpVersion = { v1: 0, v2c: 1, v3: 3 } as const;
export type SnmpVersionNumber = (typeof SnmpVersion)[keyof typeof SnmpVersion];

export const PduType = {
  GetRequest: 0xa0,
  GetNextRequest: 0xa1,
  Response: 0xa2,
  SetRequest: 0xa3,
  GetBulkRequest: 0xa5,
  Report: 0xa8,
} as const;
export type PduTypeValue = (typeof PduType)[keyof typeof PduType];

/** RFC 3416 error-status values, by number. */
export const ERROR_STATUS_NAMES: readonly string[] = [
  'noError',
  'tooBig',
  'noSuchName',
  'badValue',
  'readOnly',
  'genErr',
  'noAccess',
  'wrongType',
  'wrongLength',
  'wrongEncoding',
  'wrongValue',
  'noCreation',
  'inconsistentValue',
  'resourceUnavailable',
  'commitFailed',
  'undoFailed',
  'authorizationError',
  'notWritable',
  'inconsistentName',
];

export function errorStatusName(status: number): string {
  return ERROR_STATUS_NAMES[status] ?? `error-status ${status}`;
}
