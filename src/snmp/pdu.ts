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
 * Pure functions: bytes in, objects out, and back. Hostile input ends in an SNMP_DECODE error.
 */
import { BerReader, BerTag, BerWriter, decodeError } from './ber.js';
import { SnmpTag } from './types.js';
import type { SnmpTagValue, Varbind, VarbindValue } from './types.js';

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

const PDU_TAGS = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0xa5, 0xa6, 0xa7, 0xa8]);

function ipString(b: Uint8Array): string {
  return Array.from(b).join('.');
}

function readValue(r: BerReader): { type: SnmpTagValue; value: VarbindValue } {
  const start = r.pos;
  const { tag, length } = r.header();
  switch (tag) {
    case SnmpTag.Integer32:
      return { type: SnmpTag.Integer32, value: r.signedContent(length, start) };
    case SnmpTag.OctetString:
      return { type: SnmpTag.OctetString, value: r.octetsContent(length) };
    case SnmpTag.Null:
    case SnmpTag.NoSuchObject:
    case SnmpTag.NoSuchInstance:
    case SnmpTag.EndOfMibView:
      r.pos += length;
      return { type: tag, value: null };
    case SnmpTag.ObjectIdentifier:
      return { type: SnmpTag.ObjectIdentifier, value: r.oidContent(length, start) };
    case SnmpTag.IpAddress:
      if (length !== 4) throw decodeError(`IpAddress of ${length} bytes`, start);
      return { type: SnmpTag.IpAddress, value: ipString(r.octetsContent(4)) };
    case SnmpTag.Counter32:
    case SnmpTag.Gauge32:
    case SnmpTag.TimeTicks:
      return { type: tag, value: r.unsigned32Content(length, start) };
    case SnmpTag.Opaque:
      return { type: SnmpTag.Opaque, value: r.octetsContent(length) };
    case SnmpTag.Counter64:
      return { type: SnmpTag.Counter64, value: r.unsigned64Content(length, start) };
    default:
      throw decodeError(`unknown value type 0x${tag.toString(16)}`, start);
  }
}

/** Decodes a whole v1/v2c message. Throws PanoptesError SNMP_DECODE on anything malformed. */
export function decodeMessage(buf: Uint8Array): SnmpMessage {
  const top = new BerReader(buf);
  const msg = top.enter(BerTag.Sequence);
  const version = msg.integer();
  if (version !== 0 && version !== 1) throw decodeError(`unsupported SNMP version ${version}`, 0);
  const community = msg.octets();
  const pduStart = msg.pos;
  const pduType = msg.peekTag();
  if (!PDU_TAGS.has(pduType)) throw decodeError(`unknown PDU type 0x${pduType.toString(16)}`, pduStart);
  const pdu = msg.enter(pduType);
  const requestId = pdu.integer();
  const errorStatus = pdu.integer();
  const errorIndex = pdu.integer();
  const list = pdu.enter(BerTag.Sequence);
  const varbinds: Varbind[] = [];
  while (list.remaining > 0) {
    const vb = list.enter(BerTag.Sequence);
    const oid = vb.oid();
    const { type, value } = readValue(vb);
    varbinds.push({ oid, type, value });
  }
  return { version, community, pduType, requestId, errorStatus, errorIndex, varbinds };
}

/** The request-id of a message, read without decoding its varbinds; undefined if malformed. */
export function peekRequestId(buf: Uint8Array): number | undefined {
  try {
    const msg = new BerReader(buf).enter(BerTag.Sequence);
    msg.integer();
    msg.octets();
    const pduType = msg.peekTag();
    if (!PDU_TAGS.has(pduType)) return undefined;
    return msg.enter(pduType).integer();
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

/** Encodes a message. The result is a fresh Buffer. */
export function encodeMessage(
  options: EncodeOptions,
  varbinds: readonly OutVarbind[],
  writer = new BerWriter(512),
): Buffer {
  const w = writer;
  const top = w.length;
  const listMark = w.length;
  for (let i = varbinds.length - 1; i >= 0; i--) {
    const vb = varbinds[i] as OutVarbind;
    const mark = w.length;
    writeValue(w, vb.type, vb.value);
    if (typeof vb.oid === 'string') w.oid(vb.oid);
    else w.raw(vb.oid);
    w.wrap(BerTag.Sequence, mark);
  }
  w.wrap(BerTag.Sequence, listMark);
  w.integer(BerTag.Integer, options.errorIndex ?? 0);
  w.integer(BerTag.Integer, options.errorStatus ?? 0);
  w.integer(BerTag.Integer, options.requestId);
  w.wrap(options.pduType, top);
  const community =
    typeof options.community === 'string' ? Buffer.from(options.community, 'latin1') : options.community;
  w.octets(BerTag.OctetString, community);
  w.integer(BerTag.Integer, options.version);
  w.wrap(BerTag.Sequence, top);
  return Buffer.from(w.result().subarray(0, w.length - top));
}

/** Encodes a Get/GetNext/GetBulk request for the given OIDs. */
export function encodeRequest(options: EncodeOptions, oids: readonly string[]): Buffer {
  return encodeMessage(
    options,
    oids.map((oid) => ({ oid, type: SnmpTag.Null, value: null })),
  );
}
