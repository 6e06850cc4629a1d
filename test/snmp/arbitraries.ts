/** fast-check arbitraries for SNMP values, varbinds and whole v1/v2c messages. */
import fc from 'fast-check';
import type { SnmpMessage } from '../../src/snmp/pdu.js';
import { SnmpTag } from '../../src/snmp/types.js';
import type { SnmpTagValue, Varbind, VarbindValue } from '../../src/snmp/types.js';

const arc = fc.oneof(
  fc.integer({ min: 0, max: 127 }),
  fc.integer({ min: 128, max: 16384 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** A valid OID: first arc 0-2, second 0-39 (any for 2), 2 to 16 arcs. */
export const arbOid: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 39 }), arc, fc.array(arc, { maxLength: 14 }))
  .map(([first, second, big, rest]) => [first, first === 2 ? big : second, ...rest].join('.'));

const uint32 = fc.integer({ min: 0, max: 0xffffffff });

const arbTypedValue: fc.Arbitrary<{ type: SnmpTagValue; value: VarbindValue }> = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((value) => ({ type: SnmpTag.Integer32, value })),
  fc.uint8Array({ maxLength: 300 }).map((value) => ({ type: SnmpTag.OctetString, value })),
  fc.constant({ type: SnmpTag.Null, value: null }),
  arbOid.map((value) => ({ type: SnmpTag.ObjectIdentifier, value })),
  fc
    .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
    .map((b) => ({ type: SnmpTag.IpAddress, value: b.join('.') })),
  fc
    .tuple(fc.constantFrom(SnmpTag.Counter32, SnmpTag.Gauge32, SnmpTag.TimeTicks), uint32)
    .map(([type, value]) => ({ type, value })),
  fc.uint8Array({ maxLength: 40 }).map((value) => ({ type: SnmpTag.Opaque, value })),
  fc
    .oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 2n ** 53n + 1n, 2n ** 64n - 1n))
    .map((value) => ({ type: SnmpTag.Counter64, value })),
  fc
    .constantFrom(SnmpTag.NoSuchObject, SnmpTag.NoSuchInstance, SnmpTag.EndOfMibView)
    .map((type) => ({ type, value: null })),
);

export const arbVarbind: fc.Arbitrary<Varbind> = fc
  .tuple(arbOid, arbTypedValue)
  .map(([oid, { type, value }]) => ({ oid, type, value }));

export const arbMessage: fc.Arbitrary<SnmpMessage> = fc.record({
  version: fc.constantFrom(0, 1),
  community: fc.uint8Array({ maxLength: 40 }),
  pduType: fc.constantFrom(0xa0, 0xa1, 0xa2, 0xa3, 0xa5, 0xa6, 0xa7, 0xa8),
  requestId: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  errorStatus: fc.integer({ min: 0, max: 18 }),
  errorIndex: fc.integer({ min: 0, max: 0x7fffffff }),
  varbinds: fc.array(arbVarbind, { maxLength: 20 }),
});

/** Bytes become hex text so that Buffer and Uint8Array compare equal. */
export function normaliseValue(value: VarbindValue): VarbindValue {
  return value instanceof Uint8Array ? `hex:${Buffer.from(value).toString('hex')}` : value;
}
