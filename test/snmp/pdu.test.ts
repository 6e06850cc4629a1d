/**
 * SNMPv1/v2c messages: every value type survives encodeMessage -> decodeMessage unchanged (at
 * its limits, with long-form lengths), known answers for a request on the wire, peekRequestId,
 * and a round-trip property over random varbind lists.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerWriter } from '../../src/snmp/ber.js';
import { decodeMessage, encodeMessage, encodeRequest, peekRequestId } from '../../src/snmp/pdu.js';
import type { EncodeOptions, OutVarbind, SnmpMessage } from '../../src/snmp/pdu.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';
import type { Varbind, VarbindValue } from '../../src/snmp/types.js';
import { arbMessage, normaliseValue } from './arbitraries.js';

const SYS_DESCR = '1.3.6.1.2.1.1.1.0';

const RESPONSE: EncodeOptions = {
  version: 1,
  community: 'public',
  pduType: PduType.Response,
  requestId: 1234,
};

/** Encodes one varbind in a Response and decodes it again. */
function roundTrip(type: number, value: VarbindValue, oid = SYS_DESCR): Varbind {
  const message = decodeMessage(encodeMessage(RESPONSE, [{ oid, type, value }]));
  expect(message.varbinds).toHaveLength(1);
  const vb = message.varbinds[0];
  if (vb === undefined) throw new Error('no varbind');
  expect(vb.oid).toBe(oid);
  expect(vb.type).toBe(type);
  return vb;
}

function bytesOf(value: VarbindValue): string {
  if (!(value instanceof Uint8Array)) throw new Error(`expected bytes, got ${typeof value}`);
  return Buffer.from(value).toString('hex');
}

describe('value round trips through encodeMessage/decodeMessage', () => {
  it.each([0, 1, -1, 127, -128, 128, 2147483647, -2147483648, 65535, -65536])('Integer32 %i', (value) => {
    expect(roundTrip(SnmpTag.Integer32, value).value).toBe(value);
  });

  for (const name of ['Counter32', 'Gauge32', 'TimeTicks'] as const) {
    it.each([0, 1, 127, 128, 2147483647, 2147483648, 4294967294, 4294967295])(`${name} %i`, (value) => {
      const vb = roundTrip(SnmpTag[name], value);
      expect(vb.value).toBe(value);
    });
  }

  it.each([
    0n,
    1n,
    255n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 53n - 1n,
    2n ** 53n + 1n,
    2n ** 63n,
    2n ** 64n - 2n,
    2n ** 64n - 1n,
  ])('Counter64 %s, exactly, as a bigint', (value) => {
    const vb = roundTrip(SnmpTag.Counter64, value);
    expect(typeof vb.value).toBe('bigint');
    expect(vb.value).toBe(value);
  });

  it('OctetString: empty, binary, every byte value', () => {
    expect(bytesOf(roundTrip(SnmpTag.OctetString, new Uint8Array()).value)).toBe('');
    expect(bytesOf(roundTrip(SnmpTag.OctetString, Uint8Array.from([0, 0x0c, 0x9f, 0xff])).value)).toBe(
      '000c9fff',
    );
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(bytesOf(roundTrip(SnmpTag.OctetString, all).value)).toBe(Buffer.from(all).toString('hex'));
  });

  it.each([127, 128, 255, 256, 65535, 65536, 70_000])(
    'OctetString of %i bytes (long-form lengths, in the message and in every enclosing SEQUENCE)',
    (length) => {
      const data = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 256);
      const wire = encodeMessage(RESPONSE, [{ oid: SYS_DESCR, type: SnmpTag.OctetString, value: data }]);
      if (length > 65535) expect(wire.subarray(0, 2).toString('hex')).toBe('3083');
      const vb = decodeMessage(wire).varbinds[0];
      expect(vb?.value instanceof Uint8Array).toBe(true);
      expect(bytesOf(vb?.value ?? null)).toBe(Buffer.from(data).toString('hex'));
    },
  );

  it('OctetString given as text is sent as UTF-8', () => {
    expect(bytesOf(roundTrip(SnmpTag.OctetString, 'café').value)).toBe(Buffer.from('café').toString('hex'));
  });

  it.each([
    '0.0',
    '1.3',
    '1.3.6.1.4.1.9.1.2134',
    '1.3.6.1.4.1.4294967295',
    '1.3.6.4294967295.4294967295.0',
    '2.999',
    '2.999.1',
    '2.999.4294967295',
    '2.4294967295',
    '0.39.128.16384',
  ])('ObjectIdentifier %s, as value and as name', (oid) => {
    expect(roundTrip(SnmpTag.ObjectIdentifier, oid).value).toBe(oid);
    expect(roundTrip(SnmpTag.Integer32, 5, oid).oid).toBe(oid);
  });

  it.each(['0.0.0.0', '10.0.0.1', '127.0.0.1', '255.255.255.255', '192.168.128.1'])('IpAddress %s', (ip) => {
    expect(roundTrip(SnmpTag.IpAddress, ip).value).toBe(ip);
  });

  it('Opaque keeps its bytes (e.g. a wrapped float)', () => {
    expect(bytesOf(roundTrip(SnmpTag.Opaque, Buffer.from('9f780441200000', 'hex')).value)).toBe(
      '9f780441200000',
    );
    expect(bytesOf(roundTrip(SnmpTag.Opaque, new Uint8Array()).value)).toBe('');
  });

  it.each([
    ['Null', SnmpTag.Null],
    ['noSuchObject', SnmpTag.NoSuchObject],
    ['noSuchInstance', SnmpTag.NoSuchInstance],
    ['endOfMibView', SnmpTag.EndOfMibView],
  ])('%s carries null', (_name, type) => {
    expect(roundTrip(type, null).value).toBeNull();
  });

  it('keeps varbind order and every header field', () => {
    const varbinds: OutVarbind[] = [
      { oid: '1.3.6.1.2.1.1.3.0', type: SnmpTag.TimeTicks, value: 4294967295 },
      { oid: '1.3.6.1.2.1.31.1.1.1.6.1', type: SnmpTag.Counter64, value: 2n ** 64n - 1n },
      { oid: '1.3.6.1.2.1.1.9.1.2.1', type: SnmpTag.ObjectIdentifier, value: '1.3.6.1.6.3.1' },
      { oid: '1.3.6.1.2.1.1.1.0', type: SnmpTag.NoSuchInstance, value: null },
      { oid: '1.3.6.1.2.1.4.20.1.1.10.0.0.1', type: SnmpTag.IpAddress, value: '10.0.0.1' },
    ];
    const message = decodeMessage(
      encodeMessage(
        {
          version: 0,
          community: Uint8Array.from([0x00, 0xff, 0x7c]),
          pduType: PduType.Response,
          requestId: -2147483648,
          errorStatus: 18,
          errorIndex: 5,
        },
        varbinds,
      ),
    );
    expect(message.version).toBe(0);
    expect(Buffer.from(message.community).toString('hex')).toBe('00ff7c');
    expect(message.pduType).toBe(PduType.Response);
    expect(message.requestId).toBe(-2147483648);
    expect(message.errorStatus).toBe(18);
    expect(message.errorIndex).toBe(5);
    expect(message.varbinds).toEqual(varbinds);
  });

  it('accepts pre-encoded OID TLVs as names and a reused writer', () => {
    const writer = new BerWriter(16);
    const first = encodeMessage(RESPONSE, [{ oid: SYS_DESCR, type: SnmpTag.Integer32, value: 1 }], writer);
    writer.reset();
    const tlv = Buffer.from('06082b06010201010100', 'hex');
    const second = encodeMessage(RESPONSE, [{ oid: tlv, type: SnmpTag.Integer32, value: 1 }], writer);
    expect(second.toString('hex')).toBe(first.toString('hex'));
    // Written after something else still in the writer: only the new message comes back.
    const third = encodeMessage(RESPONSE, [{ oid: SYS_DESCR, type: SnmpTag.Integer32, value: 1 }], writer);
    expect(third.toString('hex')).toBe(first.toString('hex'));
    expect(decodeMessage(third).varbinds[0]?.value).toBe(1);
  });
});

describe('requests on the wire (known answers)', () => {
  it('v2c GET of sysDescr.0, community public, request-id 1', () => {
    const wire = encodeRequest(
      { version: 1, community: 'public', pduType: PduType.GetRequest, requestId: 1 },
      [SYS_DESCR],
    );
    expect(wire.toString('hex')).toBe(
      '302602010104067075626c6963a019020101020100020100300e300c06082b060102010101000500',
    );
  });

  it('v1 GETNEXT of two OIDs', () => {
    const wire = encodeRequest(
      { version: 0, community: 'public', pduType: PduType.GetNextRequest, requestId: 0x1234 },
      ['1.3.6.1.2.1.1.1', '1.3.6.1.2.1.2.2.1.10'],
    );
    expect(wire.toString('hex')).toBe(
      '3035020100' +
        '04067075626c6963' +
        'a128' +
        '02021234' +
        '020100' +
        '020100' +
        '301c' +
        '300b' +
        '06072b060102010101' +
        '0500' +
        '300d' +
        '06092b060102010202010a' +
        '0500',
    );
  });

  it('v2c GETBULK carries non-repeaters and max-repetitions in the error fields', () => {
    const wire = encodeRequest(
      {
        version: 1,
        community: 'public',
        pduType: PduType.GetBulkRequest,
        requestId: 0x7fffffff,
        errorStatus: 0,
        errorIndex: 25,
      },
      ['1.3.6.1.2.1.2.2'],
    );
    expect(wire.toString('hex')).toBe(
      '3028020101' +
        '04067075626c6963' +
        'a51b' +
        '02047fffffff' +
        '020100' +
        '020119' +
        '300d' +
        '300b' +
        '06072b06010201' +
        '0202' +
        '0500',
    );
    const decoded = decodeMessage(wire);
    expect(decoded.pduType).toBe(PduType.GetBulkRequest);
    expect(decoded.errorStatus).toBe(0);
    expect(decoded.errorIndex).toBe(25);
  });

  it('decodes a Response as a net-snmp agent sends it (Counter64 with 8 bytes, top bit set)', () => {
    // 8 content bytes with the top bit set and no leading zero: not minimal, but agents do it.
    const wire = Buffer.from(
      '3032020101040470726976a2270204075bcd15020100020100' +
        '3019' +
        '3017' +
        '060b2b060102011f01010106' +
        '01' +
        '4608ffffffffffffffff',
      'hex',
    );
    const m = decodeMessage(wire);
    expect(m.requestId).toBe(123456789);
    expect(Buffer.from(m.community).toString()).toBe('priv');
    expect(m.varbinds).toEqual([
      { oid: '1.3.6.1.2.1.31.1.1.1.6.1', type: SnmpTag.Counter64, value: 2n ** 64n - 1n },
    ]);
  });
});

describe('peekRequestId', () => {
  it.each([0, 1, 255, 65536, 2147483647, -1, -2147483648])('reads request-id %i without decoding', (id) => {
    const wire = encodeMessage({ ...RESPONSE, requestId: id }, [
      { oid: SYS_DESCR, type: SnmpTag.OctetString, value: Buffer.from('x') },
    ]);
    expect(peekRequestId(wire)).toBe(id);
  });

  it('reads the request-id even when the varbinds are broken', () => {
    const wire = encodeMessage({ ...RESPONSE, requestId: 77 }, [
      { oid: SYS_DESCR, type: SnmpTag.Integer32, value: 5 },
    ]);
    const broken = Buffer.from(wire);
    broken[broken.length - 3] = 0x99; // the value's tag: not an SNMP type
    expect(() => decodeMessage(broken)).toThrow(/unknown value type 0x99/);
    expect(peekRequestId(broken)).toBe(77);
  });

  it('returns undefined for what is not an SNMP message', () => {
    expect(peekRequestId(new Uint8Array())).toBeUndefined();
    expect(peekRequestId(Buffer.from('hello world'))).toBeUndefined();
    expect(peekRequestId(Buffer.from('3000', 'hex'))).toBeUndefined();
    // A valid header with an unknown PDU tag (0xa4 is the v1 Trap).
    expect(peekRequestId(Buffer.from('300b020101040170a403020101', 'hex'))).toBeUndefined();
  });
});

describe('round-trip property', () => {
  function normalise(m: SnmpMessage): unknown {
    return {
      ...m,
      community: Buffer.from(m.community).toString('hex'),
      varbinds: m.varbinds.map((vb) => ({ ...vb, value: normaliseValue(vb.value) })),
    };
  }

  it('decodeMessage(encodeMessage(m)) equals m for random messages', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const wire = encodeMessage(m, m.varbinds);
        const back = decodeMessage(wire);
        expect(normalise(back)).toEqual(normalise(m));
        expect(peekRequestId(wire)).toBe(m.requestId);
        // Encoding is deterministic and the decoder does not look past the message.
        expect(encodeMessage(back, back.varbinds).toString('hex')).toBe(wire.toString('hex'));
      }),
      { numRuns: 500 },
    );
  });
});
