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
 * header is written and nothing is copied twice. Decoding checks every length against the
 * bytes that are really there and throws SNMP_DECODE errors; it never reads past the end, never
 * loops on hostile input, and never allocates from a length it has not checked.
 *
 * Decoding comes in two forms over the same checks: BerReader, a cursor object that is easy to
 * use, and the offset-based functions below it (readHeader, readSigned, readOid, ...), which
 * take a buffer and positions and allocate nothing but their results: decodeMessage, which runs
 * once per received packet, is written with those.
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

// ---------------------------------------------------------------------------------------------
// Encoding

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
    const count = plainArcs(oid);
    if (count < 0) {
      const content = legacyOidContent(oid);
      this.bytes(content);
      this.lengthHeader(content.length);
      this.byte(BerTag.ObjectIdentifier);
      return;
    }
    // Straight from the parsed arcs, last arc first, without an intermediate byte array.
    const mark = this.length;
    for (let i = count - 1; i >= 1; i--) {
      const arc = i === 1 ? (arcScratch[0] ?? 0) * 40 + (arcScratch[1] ?? 0) : (arcScratch[i] ?? 0);
      this.byte(arc % 128);
      for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
        this.byte((rest % 128) | 0x80);
      }
    }
    this.wrap(BerTag.ObjectIdentifier, mark);
  }

  /** A pre-encoded TLV (for example an OID encoded once and reused). */
  raw(tlv: Uint8Array): void {
    this.bytes(tlv);
  }

  /** The encoding as a Buffer (a view of the writer's memory: copy it to keep it). */
  result(): Buffer {
    return this.buf.subarray(this.pos);
  }

  /** A fresh copy of the first `n` bytes of the encoding (the last `n` written). */
  copy(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    if (n > 256) {
      this.buf.copy(out, 0, this.pos, this.pos + n);
    } else {
      // Byte by byte: Buffer#copy allocates a view of the source for a partial copy.
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < n; i++) out[i] = buf[pos + i] ?? 0;
    }
    return out;
  }
}

/** The arcs of the last OID given to plainArcs (reused between calls: read them right away). */
const arcScratch: number[] = [];

/**
 * Parses a plain dotted OID ("1.3.6.1", at least two arcs of at most 15 digits each) into
 * arcScratch without allocating; returns the number of arcs, or -1 for anything else, which
 * the callers encode the historical way (legacyOidContent) so odd input keeps its old encoding.
 */
function plainArcs(oid: string): number {
  let count = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < oid.length; i++) {
    const c = oid.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      arcScratch[count++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 15) return -1;
      value = value * 10 + (c - 48);
    } else {
      return -1;
    }
  }
  if (digits === 0) return -1;
  arcScratch[count++] = value;
  return count >= 2 ? count : -1;
}

/** Bytes of one arc in base 128. */
function base128Size(arc: number): number {
  let n = 1;
  for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** The content bytes of an OID (no tag or length). */
export function encodeOidContent(oid: string): Uint8Array {
  const count = plainArcs(oid);
  if (count < 0) return legacyOidContent(oid);
  const first = (arcScratch[0] ?? 0) * 40 + (arcScratch[1] ?? 0);
  let size = base128Size(first);
  for (let i = 2; i < count; i++) size += base128Size(arcScratch[i] ?? 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 1; i < count; i++) {
    const arc = i === 1 ? first : (arcScratch[i] ?? 0);
    const n = base128Size(arc);
    let rest = arc;
    for (let j = n - 1; j >= 0; j--) {
      out[at + j] = (rest % 128) | (j === n - 1 ? 0 : 0x80);
      rest = Math.floor(rest / 128);
    }
    at += n;
  }
  return out;
}

/** The original string-splitting encoder, kept for input that is not plain dotted arcs. */
function legacyOidContent(oid: string): Uint8Array {
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

// ---------------------------------------------------------------------------------------------
// Decoding, offset-based: `start` is where the TLV began (for error messages), `pos` where its
// content begins, `length` the content length, already checked against the enclosing end.

/** Where readHeader reports the tag and content length it read (one object, reused). */
export class TlvHeader {
  tag = 0;
  length = 0;
}

/**
 * Reads the tag and length of the TLV at `pos`, whose content must end by `end`, into `out`;
 * returns where the content starts. `expectedTag` -1 accepts any tag.
 */
export function readHeader(
  buf: Uint8Array,
  pos: number,
  end: number,
  expectedTag: number,
  out: TlvHeader,
): number {
  if (end - pos < 2) throw decodeError('truncated header', pos);
  const tag = buf[pos] ?? 0;
  if (expectedTag >= 0 && tag !== expectedTag) {
    throw decodeError(`expected tag 0x${expectedTag.toString(16)}, got 0x${tag.toString(16)}`, pos);
  }
  let p = pos + 1;
  let length = buf[p++] ?? 0;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw decodeError('indefinite length is not allowed', pos);
    if (count > 4) throw decodeError(`length of ${count} bytes is too long`, pos);
    if (end - p < count) throw decodeError('truncated length', pos);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[p++] ?? 0);
  }
  if (length > end - p) throw decodeError(`length ${length} exceeds the ${end - p} bytes left`, pos);
  out.tag = tag;
  out.length = length;
  return p;
}

/** A signed integer of up to 4 bytes (5 when the 5th only carries sign). */
export function readSigned(buf: Uint8Array, pos: number, length: number, start: number): number {
  if (length === 0 || length > 5) throw decodeError(`integer of ${length} bytes`, start);
  const negative = ((buf[pos] ?? 0) & 0x80) !== 0;
  let u = 0;
  for (let i = 0; i < length; i++) u = u * 256 + (buf[pos + i] ?? 0);
  const v = negative ? u - 2 ** (8 * length) : u;
  // Lenient upper bound: some agents send unsigned values in an INTEGER.
  if (v < -0x80000000 || v > 0xffffffff) throw decodeError('integer out of range', start);
  return v;
}

/** An unsigned 32-bit value (Counter32, Gauge32, TimeTicks): up to 5 bytes, low 32 bits kept. */
export function readUnsigned32(buf: Uint8Array, pos: number, length: number, start: number): number {
  if (length === 0 || length > 5) throw decodeError(`unsigned integer of ${length} bytes`, start);
  // A fifth byte lies wholly above the low 32 bits: skip it (no modulo on doubles needed).
  let v = 0;
  for (let i = length > 4 ? length - 4 : 0; i < length; i++) v = v * 256 + (buf[pos + i] ?? 0);
  return v;
}

/** An unsigned 64-bit value (Counter64): up to 9 bytes, as bigint. */
export function readUnsigned64(buf: Uint8Array, pos: number, length: number, start: number): bigint {
  if (length === 0 || length > 9) throw decodeError(`Counter64 of ${length} bytes`, start);
  // The low 64 bits as two 32-bit halves; a ninth byte lies wholly above them and is skipped.
  const first = length > 8 ? length - 8 : 0;
  const split = length > 4 ? length - 4 : 0;
  let hi = 0;
  for (let i = first; i < split; i++) hi = hi * 256 + (buf[pos + i] ?? 0);
  let lo = 0;
  for (let i = split; i < length; i++) lo = lo * 256 + (buf[pos + i] ?? 0);
  // One bigint when the value fits a double exactly (hi < 2^21: below 2^53), as counters mostly do.
  if (hi < 0x200000) return BigInt(hi * 0x100000000 + lo);
  // hi * 2^32 is still exact as a double (32 significant bits).
  return BigInt(hi * 0x100000000) + BigInt(lo);
}

/**
 * OID content as a dotted string. Every OID decoded is looked up first in a bounded table of the
 * text of OIDs seen before (see OidTextTable): polling asks for the same OIDs again and again.
 */
export function readOid(buf: Uint8Array, pos: number, length: number, start: number): string {
  if (length === 0) throw decodeError('empty OID', start);
  return oidTexts.text(buf, pos, length, start);
}

/** Turns validated-or-not OID content into text, writing ASCII digits into a scratch buffer. */
function buildOidText(buf: Uint8Array, pos: number, length: number, start: number): string {
  const end = pos + length;
  // At most 12 characters per content byte ("." and 11 digits for a 5-byte arc), plus "2.".
  const out = oidScratch(12 * length + 2);
  let at = 0;
  let arc = 0;
  let bytes = 0;
  let first = true;
  for (let p = pos; p < end; p++) {
    const b = buf[p] ?? 0;
    if (bytes === 0 && b === 0x80) throw decodeError('OID arc with a leading 0x80 byte', start);
    arc = arc * 128 + (b & 0x7f);
    bytes++;
    if (bytes > 5 || arc > 0xffffffff + 80) throw decodeError('OID arc too large', start);
    if ((b & 0x80) === 0) {
      if (first) {
        const x = arc < 40 ? 0 : arc < 80 ? 1 : 2;
        out[at++] = 48 + x;
        out[at++] = 46;
        at = writeDecimal(out, at, arc - 40 * x);
        first = false;
      } else {
        out[at++] = 46;
        at = writeDecimal(out, at, arc);
      }
      arc = 0;
      bytes = 0;
    }
  }
  if (bytes !== 0) throw decodeError('OID ends inside an arc', start);
  return out.toString('latin1', 0, at);
}

/**
 * Compares two valid OID contents held in `buf` (at `a` and `b`) by arcs, without decoding them:
 * returns how many leading arcs they share when `a` sorts strictly after `b`, and -1 minus that
 * number when it does not. Sub-identifiers are self-delimiting and minimal, so equal leading bytes
 * are equal leading arcs, and the first differing sub-identifier decides (the first one carries
 * arcs 1 and 2 as 40 * arc1 + arc2, which orders them the same way).
 */
export function compareOidContent(
  buf: Uint8Array,
  a: number,
  aLength: number,
  b: number,
  bLength: number,
): number {
  const common = aLength < bLength ? aLength : bLength;
  let shared = 0;
  let d = 0;
  for (; d < common; d++) {
    const x = buf[a + d] ?? 0;
    if (x !== buf[b + d]) break;
    if (x < 0x80) shared += shared === 0 ? 2 : 1;
  }
  if (d === common) return aLength > bLength ? shared : -1 - shared;
  // Back to the start of the sub-identifier holding the difference, then compare its values.
  let s = d;
  while (s > 0 && (buf[a + s - 1] ?? 0) >= 0x80) s--;
  let x = 0;
  for (let i = a + s; i < a + aLength; i++) {
    const v = buf[i] ?? 0;
    x = x * 128 + (v & 0x7f);
    if (v < 0x80) break;
  }
  let y = 0;
  for (let i = b + s; i < b + bLength; i++) {
    const v = buf[i] ?? 0;
    y = y * 128 + (v & 0x7f);
    if (v < 0x80) break;
  }
  return x > y ? shared : -1 - shared;
}

let scratch = Buffer.allocUnsafe(256);

function oidScratch(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  return scratch;
}

/** Writes a non-negative integer in decimal at `at`; returns the index after it. */
function writeDecimal(out: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let t = value; t >= 10; t = Math.floor(t / 10)) digits++;
  let i = at + digits;
  for (let t = value; i > at; t = Math.floor(t / 10)) out[--i] = 48 + (t % 10);
  return at + digits;
}

/**
 * A direct-mapped table from OID content bytes to their text: SLOTS entries of at most
 * SLOT_BYTES content bytes (about 1.3 MiB in all, allocated on first use). A lookup hashes the
 * bytes, then compares them with the entry's copy, so a hit is exact; a collision just replaces
 * the entry. Only OIDs that decoded without error are stored, so a hit needs no checking.
 */
class OidTextTable {
  private static readonly SLOTS = 1 << 15;
  private static readonly SLOT_BYTES = 32;
  private keys = new Uint8Array(0);
  private lengths = new Uint8Array(0);
  private texts: string[] = [];

  text(buf: Uint8Array, pos: number, length: number, start: number): string {
    if (length > OidTextTable.SLOT_BYTES) return buildOidText(buf, pos, length, start);
    if (this.texts.length === 0) this.allocate();
    const end = pos + length;
    let h = length;
    for (let p = pos; p < end; p++) h = Math.imul(h ^ (buf[p] ?? 0), 0x01000193);
    const slot = (h ^ (h >>> 15)) & (OidTextTable.SLOTS - 1);
    const base = slot * OidTextTable.SLOT_BYTES;
    const keys = this.keys;
    if (this.lengths[slot] === length) {
      let i = 0;
      while (i < length && keys[base + i] === buf[pos + i]) i++;
      if (i === length) return this.texts[slot] ?? '';
    }
    const text = buildOidText(buf, pos, length, start);
    keys.set(buf.subarray(pos, end), base);
    this.lengths[slot] = length;
    this.texts[slot] = text;
    return text;
  }

  private allocate(): void {
    this.keys = new Uint8Array(OidTextTable.SLOTS * OidTextTable.SLOT_BYTES);
    this.lengths = new Uint8Array(OidTextTable.SLOTS);
    this.texts = new Array<string>(OidTextTable.SLOTS).fill('');
  }
}

const oidTexts = new OidTextTable();

// ---------------------------------------------------------------------------------------------
// Decoding with a cursor

/** Filled by readHeader and copied out at once, so every reader can share it. */
const readerTlv = new TlvHeader();

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
    this.pos = readHeader(this.buf, this.pos, this.end, expectedTag ?? -1, readerTlv);
    return { tag: readerTlv.tag, length: readerTlv.length };
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
    const v = readSigned(this.buf, this.pos, length, start);
    this.pos += length;
    return v;
  }

  /** An unsigned 32-bit value (Counter32, Gauge32, TimeTicks): up to 5 bytes, low 32 bits kept. */
  unsigned32Content(length: number, start: number): number {
    const v = readUnsigned32(this.buf, this.pos, length, start);
    this.pos += length;
    return v;
  }

  /** An unsigned 64-bit value (Counter64): up to 9 bytes, as bigint. */
  unsigned64Content(length: number, start: number): bigint {
    const v = readUnsigned64(this.buf, this.pos, length, start);
    this.pos += length;
    return v;
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
    const text = readOid(this.buf, this.pos, length, start);
    this.pos += length;
    return text;
  }

  oid(): string {
    const start = this.pos;
    const { length } = this.header(BerTag.ObjectIdentifier);
    return this.oidContent(length, start);
  }
}
