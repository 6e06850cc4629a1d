/**
 * BER (X.690) as SNMP uses it: definite lengths only, primitive encodings only.
 *
 *   TLV        := tag(1 byte) length value
 *   length     := 0xxxxxxx                      short form, 0..127
 *              |  1nnnnnnn b1 .. bn            long form, n (1..4 here) big-endian bytes
 *   INTEGER    := two's complement, big-endian, minimal (Integer32: signed; Counter32, Gauge32,
 *                 TimeTicks: unsigned 32-bit; Counter64: unsigned 64-bit; a leading 0x00 keeps
 *                 the top bit clear)
 *   OCTET STR  := the bytes
 *   NULL       := length 0
 *   OID        := first byte 40*arc1 + arc2, then each arc base-128, high bit = "more bytes"
 *   IpAddress  := 4 bytes
 *
 * Encoding writes backwards into a buffer (BerWriter), so every length is known when its
 * header is written and nothing is copied twice. Decoding (BerReader) checks every length
 * against the bytes that are really there and throws SNMP_DECODE errors; it never reads past
 * the end, never loops on hostile input, and never allocates from a length it has not checked.
 */
import { PanoptesError } from '../errors.js';

export const BerTag = {
  Integer: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  Sequence: 0x30,
} as const;

export function decodeError(message: string, offset: number): PanoptesError {
  return new PanoptesError('SNMP_DECODE', `malformed BER at byte ${offset}: ${message}`, {
    details: { offset },
  });
}

/** Writes TLVs from the end of a buffer towards its start. */
export class BerWriter {
  private buf: Buffer;
  private pos: number;

  constructor(initialSize = 512) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.pos = initialSize;
  }

  /** Forgets what was written, keeping the memory. */
  reset(): void {
    this.pos = this.buf.length;
  }

  /** Bytes written so far (the encoding is buf[pos..end)). */
  get length(): number {
    return this.buf.length - this.pos;
  }

  private ensure(n: number): void {
    if (this.pos >= n) return;
    const used = this.length;
    let size = this.buf.length * 2;
    while (size - used < n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, size - used, this.pos);
    this.buf = next;
    this.pos = size - used;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[--this.pos] = b;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.pos -= data.length;
    this.buf.set(data, this.pos);
  }

  /** Writes a length header for `n` content bytes (call after writing the content). */
  lengthHeader(n: number): void {
    if (n < 0x80) {
      this.byte(n);
      return;
    }
    let count = 0;
    while (n > 0) {
      this.byte(n & 0xff);
      n = Math.floor(n / 256);
      count++;
    }
    this.byte(0x80 | count);
  }

  /** Wraps everything written since `mark` (a previous `length`) in a tag and length. */
  wrap(tag: number, mark: number): void {
    this.lengthHeader(this.length - mark);
    this.byte(tag);
  }

  /** A signed integer (Integer32 and the PDU header fields). */
  integer(tag: number, value: number): void {
    const mark = this.length;
    let v = value | 0;
    for (;;) {
      const b = v & 0xff;
      this.byte(b);
      v >>= 8;
      if ((v === 0 && (b & 0x80) === 0) || (v === -1 && (b & 0x80) !== 0)) break;
    }
    this.wrap(tag, mark);
  }

  /** An unsigned integer of up to 64 bits (Counter32, Gauge32, TimeTicks, Counter64). */
  unsigned(tag: number, value: number | bigint): void {
    const mark = this.length;
    if (typeof value === 'number' && value <= 0xffffffff) {
      let v = value >>> 0;
      do {
        this.byte(v & 0xff);
        v = Math.floor(v / 256);
      } while (v > 0);
      if ((this.buf[this.pos] ?? 0) & 0x80) this.byte(0);
    } else {
      let v = BigInt(value);
      do {
        this.byte(Number(v & 0xffn));
        v >>= 8n;
      } while (v > 0n);
      if ((this.buf[this.pos] ?? 0) & 0x80) this.byte(0);
    }
    this.wrap(tag, mark);
  }

  octets(tag: number, data: Uint8Array): void {
    this.bytes(data);
    this.lengthHeader(data.length);
    this.byte(tag);
  }

  null(tag: number = BerTag.Null): void {
    this.byte(0);
    this.byte(tag);
  }

  /** An OID given as a dotted string. */
  oid(oid: string): void {
    const content = encodeOidContent(oid);
    this.bytes(content);
    this.lengthHeader(content.length);
    this.byte(BerTag.ObjectIdentifier);
  }

  /** A pre-encoded TLV (for example an OID encoded once and reused). */
  raw(tlv: Uint8Array): void {
    this.bytes(tlv);
  }

  /** The encoding as a Buffer (a view of the writer's memory: copy it to keep it). */
  result(): Buffer {
    return this.buf.subarray(this.pos);
  }
}

/** The content bytes of an OID (no tag or length). */
export function encodeOidContent(oid: string): Uint8Array {
  const arcs = oid.split('.');
  const first = Number(arcs[0] ?? 0);
  const second = Number(arcs[1] ?? 0);
  const out: number[] = [];
  pushArc(out, first * 40 + second);
  for (let i = 2; i < arcs.length; i++) pushArc(out, Number(arcs[i]));
  return Uint8Array.from(out);
}

function pushArc(out: number[], arc: number): void {
  if (arc < 0x80) {
    out.push(arc);
    return;
  }
  const bytes: number[] = [];
  let v = arc;
  bytes.push(v & 0x7f);
  v = Math.floor(v / 128);
  while (v > 0) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  for (let i = bytes.length - 1; i >= 0; i--) out.push(bytes[i] ?? 0);
}

/** A complete OID TLV (tag 0x06, length, content), for encoding once and reusing. */
export function encodeOidTlv(oid: string): Uint8Array {
  const content = encodeOidContent(oid);
  const w = new BerWriter(content.length + 8);
  w.bytes(content);
  w.lengthHeader(content.length);
  w.byte(BerTag.ObjectIdentifier);
  return Uint8Array.from(w.result());
}

/** Reads TLVs from a byte range, checking every length against what is there. */
export class BerReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  peekTag(): number {
    if (this.pos >= this.end) throw decodeError('unexpected end of data', this.pos);
    return this.buf[this.pos] ?? 0;
  }

  /** Reads a tag and a length; returns the content length and leaves pos at the content. */
  header(expectedTag?: number): { tag: number; length: number } {
    const start = this.pos;
    if (this.end - this.pos < 2) throw decodeError('truncated header', start);
    const tag = this.buf[this.pos++] ?? 0;
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw decodeError(`expected tag 0x${expectedTag.toString(16)}, got 0x${tag.toString(16)}`, start);
    }
    let length = this.buf[this.pos++] ?? 0;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0) throw decodeError('indefinite length is not allowed', start);
      if (count > 4) throw decodeError(`length of ${count} bytes is too long`, start);
      if (this.end - this.pos < count) throw decodeError('truncated length', start);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (this.buf[this.pos++] ?? 0);
    }
    if (length > this.end - this.pos) {
      throw decodeError(`length ${length} exceeds the ${this.end - this.pos} bytes left`, start);
    }
    return { tag, length };
  }

  /** Enters a constructed TLV: returns a reader over its content and skips it here. */
  enter(expectedTag: number): BerReader {
    const { length } = this.header(expectedTag);
    const inner = new BerReader(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return inner;
  }

  /** A signed integer of up to 4 bytes (5 when the 5th only carries sign). */
  integer(expectedTag: number = BerTag.Integer): number {
    const start = this.pos;
    const { length } = this.header(expectedTag);
    return this.signedContent(length, start);
  }

  signedContent(length: number, start: number): number {
    if (length === 0 || length > 5) throw decodeError(`integer of ${length} bytes`, start);
    const negative = ((this.buf[this.pos] ?? 0) & 0x80) !== 0;
    let u = 0;
    for (let i = 0; i < length; i++) u = u * 256 + (this.buf[this.pos++] ?? 0);
    const v = negative ? u - 2 ** (8 * length) : u;
    // Lenient upper bound: some agents send unsigned values in an INTEGER.
    if (v < -0x80000000 || v > 0xffffffff) throw decodeError('integer out of range', start);
    return v;
  }

  /** An unsigned 32-bit value (Counter32, Gauge32, TimeTicks): up to 5 bytes, low 32 bits kept. */
  unsigned32Content(length: number, start: number): number {
    if (length === 0 || length > 5) throw decodeError(`unsigned integer of ${length} bytes`, start);
    let v = 0;
    for (let i = 0; i < length; i++) v = ((v * 256) % 0x100000000) + (this.buf[this.pos++] ?? 0);
    return v >>> 0;
  }

  /** An unsigned 64-bit value (Counter64): up to 9 bytes, as bigint. */
  unsigned64Content(length: number, start: number): bigint {
    if (length === 0 || length > 9) throw decodeError(`Counter64 of ${length} bytes`, start);
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < length; i++) {
      hi = ((hi * 256) % 0x100000000) + Math.floor(lo / 0x1000000);
      lo = (lo % 0x1000000) * 256 + (this.buf[this.pos++] ?? 0);
    }
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** Content bytes as a view (no copy). */
  octetsContent(length: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  octets(expectedTag: number = BerTag.OctetString): Uint8Array {
    const { length } = this.header(expectedTag);
    return this.octetsContent(length);
  }

  /** OID content as a dotted string. */
  oidContent(length: number, start: number): string {
    if (length === 0) throw decodeError('empty OID', start);
    const end = this.pos + length;
    let out = '';
    let arc = 0;
    let bytes = 0;
    let first = true;
    while (this.pos < end) {
      const b = this.buf[this.pos++] ?? 0;
      if (bytes === 0 && b === 0x80) throw decodeError('OID arc with a leading 0x80 byte', start);
      arc = arc * 128 + (b & 0x7f);
      bytes++;
      if (bytes > 5 || arc > 0xffffffff + 80) throw decodeError('OID arc too large', start);
      if ((b & 0x80) === 0) {
        if (first) {
          const x = arc < 40 ? 0 : arc < 80 ? 1 : 2;
          out = `${x}.${arc - 40 * x}`;
          first = false;
        } else {
          out += `.${arc}`;
        }
        arc = 0;
        bytes = 0;
      }
    }
    if (bytes !== 0) throw decodeError('OID ends inside an arc', start);
    return out;
  }

  oid(): string {
    const start = this.pos;
    const { length } = this.header(BerTag.ObjectIdentifier);
    return this.oidContent(length, start);
  }
}
