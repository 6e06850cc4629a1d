/**
 * BER building blocks: length headers (short and long form), minimal two's-complement integers,
 * unsigned 32/64-bit values, OID content, and a reader that checks every length it is given.
 * Known answers are hand-derived from X.690.
 */
import { describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { BerReader, BerTag, BerWriter, encodeOidContent, encodeOidTlv } from '../../src/snmp/ber.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function written(write: (w: BerWriter) => void, initialSize = 512): string {
  const w = new BerWriter(initialSize);
  write(w);
  return hex(w.result());
}

/** Runs `f`, expecting a PanoptesError SNMP_DECODE; returns its message. */
function decodeFailure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PanoptesError);
    expect((e as PanoptesError).code).toBe('SNMP_DECODE');
    return (e as PanoptesError).message;
  }
  throw new Error('expected an SNMP_DECODE error, nothing was thrown');
}

describe('BerWriter length headers', () => {
  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8180'],
    [255, '81ff'],
    [256, '820100'],
    [65535, '82ffff'],
    [65536, '83010000'],
    [16777216, '8401000000'],
  ])('length %i is written as %s', (n, expected) => {
    expect(written((w) => w.lengthHeader(n))).toBe(expected);
  });

  it('wraps 200 content bytes in a long-form length', () => {
    const data = new Uint8Array(200).fill(0xab);
    const out = written((w) => w.octets(BerTag.OctetString, data), 16);
    expect(out.slice(0, 6)).toBe('0481c8');
    expect(out.length).toBe((3 + 200) * 2);
  });
});

describe('BerWriter integers', () => {
  it.each([
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [-256, '0202ff00'],
    [2147483647, '02047fffffff'],
    [-2147483648, '020480000000'],
  ])('Integer32 %i is the minimal two-complement %s', (value, expected) => {
    expect(written((w) => w.integer(BerTag.Integer, value))).toBe(expected);
  });

  it.each([
    [0, '410100'],
    [127, '41017f'],
    [128, '41020080'],
    [65535, '410300ffff'],
    [2147483648, '41050080000000'],
    [4294967295, '410500ffffffff'],
  ])('Counter32 %i keeps the top bit clear: %s', (value, expected) => {
    expect(written((w) => w.unsigned(0x41, value))).toBe(expected);
  });

  it.each([
    [0n, '460100'],
    [255n, '460200ff'],
    [2n ** 32n, '46050100000000'],
    [2n ** 53n + 1n, '460720000000000001'],
    [2n ** 63n, '4609008000000000000000'],
    [2n ** 64n - 1n, '460900ffffffffffffffff'],
  ])('Counter64 %s is %s', (value, expected) => {
    expect(written((w) => w.unsigned(0x46, value))).toBe(expected);
  });

  it('writes a Counter64 given as a number above 2^32 exactly', () => {
    expect(written((w) => w.unsigned(0x46, 2 ** 40))).toBe('4606010000000000');
  });
});

describe('OID content', () => {
  it.each([
    ['1.3', '2b'],
    ['1.3.6.1.2.1.1.1.0', '2b06010201010100'],
    ['0.0', '00'],
    ['1.39', '4f'],
    ['2.0', '50'],
    ['2.47', '7f'],
    ['2.48', '8100'],
    ['2.999.3', '883703'],
    ['1.3.6.1.4.1.2636', '2b06010401944c'],
    ['1.3.128', '2b8100'],
    ['1.3.16383', '2bff7f'],
    ['1.3.16384', '2b818000'],
    ['1.3.4294967295', '2b8fffffff7f'],
  ])('%s encodes as %s', (oid, expected) => {
    expect(hex(encodeOidContent(oid))).toBe(expected);
  });

  it('encodeOidTlv adds tag and length', () => {
    expect(hex(encodeOidTlv('1.3.6.1.2.1.1.1.0'))).toBe('06082b06010201010100');
  });

  it('reads back every OID it writes, including arcs needing five bytes', () => {
    for (const oid of [
      '1.3.6.1.2.1.1.1.0',
      '0.0',
      '0.39.1',
      '1.0',
      '2.0',
      '2.39',
      '2.40',
      '2.999.4294967295',
      '2.4294967295',
      '1.3.6.1.4.1.4294967295.0.4294967294',
    ]) {
      const r = new BerReader(encodeOidTlv(oid));
      expect(r.oid()).toBe(oid);
      expect(r.remaining).toBe(0);
    }
  });

  it('rejects empty, padded, unterminated and oversized arcs', () => {
    expect(decodeFailure(() => new BerReader(fromHex('0600')).oid())).toMatch(/empty OID/);
    expect(decodeFailure(() => new BerReader(fromHex('06022b81')).oid())).toMatch(/ends inside an arc/);
    expect(decodeFailure(() => new BerReader(fromHex('06032b8001')).oid())).toMatch(/leading 0x80/);
    expect(decodeFailure(() => new BerReader(fromHex('06072bffffffffff7f')).oid())).toMatch(/too large/);
    expect(decodeFailure(() => new BerReader(fromHex('06062b9fffffff7f')).oid())).toMatch(/too large/);
  });
});

describe('BerReader', () => {
  it('reads short and long form lengths', () => {
    const long = Buffer.concat([fromHex('04820100'), Buffer.alloc(256, 7)]);
    const r = new BerReader(long);
    const bytes = r.octets();
    expect(bytes.length).toBe(256);
    expect(bytes.every((b) => b === 7)).toBe(true);
    expect(r.remaining).toBe(0);
    // A non-minimal long form (0x81 0x05) is accepted: agents send it.
    expect(hex(new BerReader(fromHex('0481050102030405')).octets())).toBe('0102030405');
  });

  it.each([
    ['020100', 0],
    ['02017f', 127],
    ['0201ff', -1],
    ['020180', -128],
    ['02020080', 128],
    ['02047fffffff', 2147483647],
    ['020480000000', -2147483648],
    // Lenient: some agents put unsigned values (or a sign-only fifth byte) in an INTEGER.
    ['020500ffffffff', 4294967295],
    ['0205ff80000000', -2147483648],
  ])('integer %s is %i', (bytes, value) => {
    const r = new BerReader(fromHex(bytes));
    expect(r.integer()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it('keeps the low 32 bits of a Counter32 and all 64 bits of a Counter64', () => {
    const r32 = new BerReader(fromHex('ffffffff'));
    expect(r32.unsigned32Content(4, 0)).toBe(4294967295);
    const r64 = new BerReader(fromHex('ffffffffffffffff'));
    expect(r64.unsigned64Content(8, 0)).toBe(2n ** 64n - 1n);
    const r64b = new BerReader(fromHex('00ffffffffffffffff'));
    expect(r64b.unsigned64Content(9, 0)).toBe(2n ** 64n - 1n);
    const r53 = new BerReader(fromHex('20000000000001'));
    expect(r53.unsigned64Content(7, 0)).toBe(2n ** 53n + 1n);
  });

  it.each([
    ['', /truncated header/],
    ['02', /truncated header/],
    ['0280', /indefinite length/],
    ['02850000000001', /5 bytes is too long/],
    ['028401', /truncated length/],
    ['0284ffffffff', /length 4294967295 exceeds the 0 bytes left/],
    ['020201', /length 2 exceeds the 1 bytes left/],
    ['0200', /integer of 0 bytes/],
    ['0206000000000001', /integer of 6 bytes/],
    ['02050100000000', /out of range/],
    ['040100', /expected tag 0x2, got 0x4/],
  ])('integer() of %j fails with %s', (bytes, message) => {
    expect(decodeFailure(() => new BerReader(fromHex(bytes)).integer())).toMatch(message);
  });

  it('never reads past the end it was given, even inside a larger buffer', () => {
    const buf = fromHex('0403616263 ff ff ff');
    const r = new BerReader(buf, 0, 4);
    expect(decodeFailure(() => r.octets())).toMatch(/length 3 exceeds the 2 bytes left/);
    const inner = new BerReader(fromHex('3003020105 020107'));
    const seq = inner.enter(BerTag.Sequence);
    expect(seq.integer()).toBe(5);
    expect(seq.remaining).toBe(0);
    expect(decodeFailure(() => seq.integer())).toMatch(/truncated header/);
    expect(inner.integer()).toBe(7);
  });
});

describe('BerWriter buffer growth and reuse', () => {
  it('grows from a tiny initial buffer without corrupting what was written', () => {
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
    const out = Buffer.from(
      written((w) => {
        w.integer(BerTag.Integer, 42);
        w.octets(BerTag.OctetString, big);
        w.oid('1.3.6.1.2.1.1.1.0');
      }, 1),
      'hex',
    );
    const r = new BerReader(out);
    expect(r.oid()).toBe('1.3.6.1.2.1.1.1.0');
    const back = r.octets();
    expect(Buffer.compare(Buffer.from(back), Buffer.from(big))).toBe(0);
    expect(r.integer()).toBe(42);
    expect(r.remaining).toBe(0);
  });

  it('reset() forgets what was written', () => {
    const w = new BerWriter(8);
    w.integer(BerTag.Integer, 1);
    w.reset();
    expect(w.length).toBe(0);
    w.null();
    expect(hex(w.result())).toBe('0500');
  });
});
