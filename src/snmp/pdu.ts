/**
 * SNMPv1/v2c messages (RFC 1157, RFC 3416):
 *
 *   Message   ::= SEQUENCE { version INTEGER (0 = v1, 1 = v2c), community OCTET STRING, pdu PDU }
 *   PDU       ::= [tag] IMPLICIT SEQUENCE {                 tag: A0 Get, A1 GetNext, A2 Response,
 *                   request-id   INTEGER,                         A3 Set, A5 GetBulk, A8 Report
 *                   error-status INTEGER,      -- GetBulk: non-repeaters
 *                   error-index  INTEGER,      -- GetBulk: max-repetitions
 *                   variable-bindings SEQUENCE OF VarBind }
 *   VarBind   ::= SEQUENCE { name OBJECT IDENTIFIER, value ANY }
 *   value     ::= INTEGER | OCTET STRING | NULL | OBJECT IDENTIFIER | IpAddress [APPLICATION 0] 4 bytes
 *               | Counter32 [A 1] | Gauge32 [A 2] | TimeTicks [A 3] | Opaque [A 4] | Counter64 [A 6]
 *               | noSuchObject [CONTEXT 0] NULL | noSuchInstance [C 1] NULL | endOfMibView [C 2] NULL
 *
 * Pure functions: bytes in, objects out, and back, no I/O. Hostile input ends in an SNMP_DECODE
 * error. Being synchronous, they share a little scratch state between calls: one encoding writer,
 * and the order of the varbind names of the message decoded last (nameOrder).
 */
import {
  BerTag,
  BerWriter,
  TlvHeader,
  compareOidContent,
  decodeError,
  readHeader,
  readOid,
  readSigned,
  readUnsigned32,
  readUnsigned64,
} from './ber.js';
import { SnmpTag } from './types.js';
import type { Varbind, VarbindValue } from './types.js';

export interface SnmpMessage {
  readonly version: number;
  readonly community: Uint8Array;
  readonly pduType: number;
  readonly requestId: number;
  /** error-status, or non-repeaters in a GetBulk request. */
  readonly errorStatus: number;
  /** error-index, or max-repetitions in a GetBulk request. */
  readonly errorIndex: number;
  readonly varbinds: Varbind[];
}

/** Get, GetNext, Response, Set, GetBulk, Inform, SNMPv2-Trap, Report (0xa4, the v1 Trap, is not). */
function isPduTag(tag: number): boolean {
  return tag >= 0xa0 && tag <= 0xa8 && tag !== 0xa4;
}

/** Filled by every readHeader call of the decoder (one object, reused: decoding is synchronous). */
const tlv = new TlvHeader();

/** See nameOrder: the varbinds it describes, and one entry per varbind. */
let orderedVarbinds: readonly Varbind[] | undefined;
let nameOrders = new Int32Array(64);

/**
 * How each varbind name of the message decodeMessage returned last compares with the name before
 * it, found from their encodings while decoding (much cheaper than comparing the dotted strings
 * afterwards): for i >= 1, entry i is the number of leading arcs name i shares with name i-1 when
 * it sorts strictly after it, and -1 minus that number when it does not (compareOidContent).
 * Walks use it to check order and subtree. Only for the array decodeMessage returned last, and
 * only until the next decodeMessage: undefined for any other array. Read it at once, do not keep it.
 */
export function nameOrder(varbinds: readonly Varbind[]): Int32Array | undefined {
  return varbinds === orderedVarbinds ? nameOrders : undefined;
}

/**
 * Decodes a whole v1/v2c message. Throws PanoptesError SNMP_DECODE on anything malformed.
 *
 * Walks the bytes with offsets: each constructed TLV's content must end by the end of the one
 * around it (`msgEnd`, `pduEnd`, `listEnd`, `vbEnd`); bytes left over after the last field of a
 * SEQUENCE are ignored, as they always were.
 */
export function decodeMessage(buf: Uint8Array): SnmpMessage {
  orderedVarbinds = undefined;
  let p = readHeader(buf, 0, buf.length, BerTag.Sequence, tlv);
  const msgEnd = p + tlv.length;

  let start = p;
  p = readHeader(buf, p, msgEnd, BerTag.Integer, tlv);
  const version = readSigned(buf, p, tlv.length, start);
  p += tlv.length;
  if (version !== 0 && version !== 1) throw decodeError(`unsupported SNMP version ${version}`, 0);

  p = readHeader(buf, p, msgEnd, BerTag.OctetString, tlv);
  const community = buf.subarray(p, p + tlv.length);
  p += tlv.length;

  if (p >= msgEnd) throw decodeError('unexpected end of data', p);
  const pduType = buf[p] ?? 0;
  if (!isPduTag(pduType)) throw decodeError(`unknown PDU type 0x${pduType.toString(16)}`, p);
  p = readHeader(buf, p, msgEnd, pduType, tlv);
  const pduEnd = p + tlv.length;

  start = p;
  p = readHeader(buf, p, pduEnd, BerTag.Integer, tlv);
  const requestId = readSigned(buf, p, tlv.length, start);
  p += tlv.length;
  start = p;
  p = readHeader(buf, p, pduEnd, BerTag.Integer, tlv);
  const errorStatus = readSigned(buf, p, tlv.length, start);
  p += tlv.length;
  start = p;
  p = readHeader(buf, p, pduEnd, BerTag.Integer, tlv);
  const errorIndex = readSigned(buf, p, tlv.length, start);
  p += tlv.length;

  p = readHeader(buf, p, pduEnd, BerTag.Sequence, tlv);
  const listEnd = p + tlv.length;
  const varbinds: Varbind[] = [];
  let previousName = 0;
  let previousLength = 0;
  while (p < listEnd) {
    p = readHeader(buf, p, listEnd, BerTag.Sequence, tlv);
    const vbEnd = p + tlv.length;
    start = p;
    p = readHeader(buf, p, vbEnd, BerTag.ObjectIdentifier, tlv);
    const nameLength = tlv.length;
    const oid = readOid(buf, p, nameLength, start);
    const index = varbinds.length;
    if (index >= nameOrders.length) {
      const grown = new Int32Array(nameOrders.length * 2);
      grown.set(nameOrders);
      nameOrders = grown;
    }
    nameOrders[index] = index === 0 ? 0 : compareOidContent(buf, p, nameLength, previousName, previousLength);
    previousName = p;
    previousLength = nameLength;
    p += nameLength;
    start = p;
    p = readHeader(buf, p, vbEnd, -1, tlv);
    const type = tlv.tag;
    const length = tlv.length;
    let value: VarbindValue;
    switch (type) {
      case SnmpTag.Integer32:
        value = readSigned(buf, p, length, start);
        break;
      case SnmpTag.OctetString:
      case SnmpTag.Opaque:
        value = buf.subarray(p, p + length);
        break;
      case SnmpTag.Null:
      case SnmpTag.NoSuchObject:
      case SnmpTag.NoSuchInstance:
      case SnmpTag.EndOfMibView:
        value = null;
        break;
      case SnmpTag.ObjectIdentifier:
        value = readOid(buf, p, length, start);
        break;
      case SnmpTag.IpAddress:
        if (length !== 4) throw decodeError(`IpAddress of ${length} bytes`, start);
        value = `${buf[p] ?? 0}.${buf[p + 1] ?? 0}.${buf[p + 2] ?? 0}.${buf[p + 3] ?? 0}`;
        break;
      case SnmpTag.Counter32:
      case SnmpTag.Gauge32:
      case SnmpTag.TimeTicks:
        value = readUnsigned32(buf, p, length, start);
        break;
      case SnmpTag.Counter64:
        value = readUnsigned64(buf, p, length, start);
        break;
      default:
        throw decodeError(`unknown value type 0x${type.toString(16)}`, start);
    }
    varbinds.push({ oid, type, value });
    p = vbEnd;
  }
  orderedVarbinds = varbinds;
  return { version, community, pduType, requestId, errorStatus, errorIndex, varbinds };
}

/** The request-id of a message, read without decoding its varbinds; undefined if malformed. */
export function peekRequestId(buf: Uint8Array): number | undefined {
  try {
    let p = readHeader(buf, 0, buf.length, BerTag.Sequence, tlv);
    const msgEnd = p + tlv.length;
    let start = p;
    p = readHeader(buf, p, msgEnd, BerTag.Integer, tlv);
    readSigned(buf, p, tlv.length, start);
    p = readHeader(buf, p + tlv.length, msgEnd, BerTag.OctetString, tlv);
    p += tlv.length;
    if (p >= msgEnd) return undefined;
    const pduType = buf[p] ?? 0;
    if (!isPduTag(pduType)) return undefined;
    p = readHeader(buf, p, msgEnd, pduType, tlv);
    const pduEnd = p + tlv.length;
    start = p;
    p = readHeader(buf, p, pduEnd, BerTag.Integer, tlv);
    return readSigned(buf, p, tlv.length, start);
  } catch {
    return undefined;
  }
}

/** Writes one value TLV. */
export function writeValue(w: BerWriter, type: number, value: VarbindValue): void {
  switch (type) {
    case SnmpTag.Integer32:
      w.integer(type, Number(value));
      return;
    case SnmpTag.OctetString:
    case SnmpTag.Opaque:
      w.octets(type, value instanceof Uint8Array ? value : Buffer.from(String(value ?? ''), 'utf8'));
      return;
    case SnmpTag.ObjectIdentifier:
      w.oid(String(value));
      return;
    case SnmpTag.IpAddress:
      w.octets(type, Uint8Array.from(String(value).split('.').map(Number)));
      return;
    case SnmpTag.Counter32:
    case SnmpTag.Gauge32:
    case SnmpTag.TimeTicks:
      w.unsigned(type, Number(value));
      return;
    case SnmpTag.Counter64:
      w.unsigned(type, typeof value === 'bigint' ? value : BigInt(Number(value)));
      return;
    default:
      w.null(type);
  }
}

export interface EncodeOptions {
  readonly version: number;
  readonly community: string | Uint8Array;
  readonly pduType: number;
  readonly requestId: number;
  /** error-status, or non-repeaters for GetBulk. */
  readonly errorStatus?: number;
  /** error-index, or max-repetitions for GetBulk. */
  readonly errorIndex?: number;
}

/** A varbind to encode: the OID as a dotted string or as a pre-encoded OID TLV. */
export interface OutVarbind {
  readonly oid: string | Uint8Array;
  readonly type: number;
  readonly value: VarbindValue;
}

/**
 * The writer encodeMessage and encodeRequest use when given none. Encoding is synchronous and
 * the result is copied out, so one writer serves every call; one that grew past 64 KiB for a
 * huge message is dropped afterwards rather than kept.
 */
let sharedWriter = new BerWriter(512);

function freshSharedWriter(): BerWriter {
  if (sharedWriter.length > 65536) sharedWriter = new BerWriter(512);
  sharedWriter.reset();
  return sharedWriter;
}

/** Writes version, community and the PDU header around varbinds already in `w` (since `top`). */
function wrapMessage(w: BerWriter, options: EncodeOptions, top: number): Buffer {
  w.wrap(BerTag.Sequence, top);
  w.integer(BerTag.Integer, options.errorIndex ?? 0);
  w.integer(BerTag.Integer, options.errorStatus ?? 0);
  w.integer(BerTag.Integer, options.requestId);
  w.wrap(options.pduType, top);
  const community =
    typeof options.community === 'string' ? Buffer.from(options.community, 'latin1') : options.community;
  w.octets(BerTag.OctetString, community);
  w.integer(BerTag.Integer, options.version);
  w.wrap(BerTag.Sequence, top);
  return w.copy(w.length - top);
}

/** Encodes a message. The result is a fresh Buffer. */
export function encodeMessage(
  options: EncodeOptions,
  varbinds: readonly OutVarbind[],
  writer: BerWriter = freshSharedWriter(),
): Buffer {
  const w = writer;
  const top = w.length;
  for (let i = varbinds.length - 1; i >= 0; i--) {
    const vb = varbinds[i] as OutVarbind;
    const mark = w.length;
    writeValue(w, vb.type, vb.value);
    if (typeof vb.oid === 'string') w.oid(vb.oid);
    else w.raw(vb.oid);
    w.wrap(BerTag.Sequence, mark);
  }
  return wrapMessage(w, options, top);
}

/** Encodes a Get/GetNext/GetBulk request for the given OIDs (each with a NULL value). */
export function encodeRequest(options: EncodeOptions, oids: readonly string[]): Buffer {
  const w = freshSharedWriter();
  for (let i = oids.length - 1; i >= 0; i--) {
    const mark = w.length;
    w.null();
    w.oid(oids[i] ?? '');
    w.wrap(BerTag.Sequence, mark);
  }
  return wrapMessage(w, options, 0);
}
