/**
 * The snmprec text format (one varbind per line, as snmpsim records devices):
 *
 *   OID|TAG|VALUE
 *
 * TAG is the BER tag in decimal: 2 Integer32, 4 OctetString, 5 Null, 6 OID, 64 IpAddress,
 * 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64. A trailing `x` (`4x`, `68x`)
 * means VALUE is the bytes in hex. snmpsim's variation suffixes (`65:numeric`) are read as the
 * plain tag with the recorded value. The CLI prints OctetStrings as text when every byte is
 * printable ASCII (0x20-0x7e), else as `4x` lowercase hex; Opaque always as `68x`.
 */
import { PanoptesError } from '../errors.js';
import { isException, SnmpTag } from './types.js';
import type { SnmpTagValue, Varbind, VarbindValue } from './types.js';

/** A Buffer over the same memory (no copy). */
function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function printable(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

/** One snmprec line for a varbind; undefined for noSuchObject/noSuchInstance/endOfMibView. */
export function formatSnmprec(vb: Varbind): string | undefined {
  if (isException(vb.type)) return undefined;
  const v = vb.value;
  switch (vb.type) {
    case SnmpTag.OctetString: {
      const bytes = v instanceof Uint8Array ? v : new Uint8Array();
      return printable(bytes)
        ? `${vb.oid}|4|${view(bytes).toString('latin1')}`
        : `${vb.oid}|4x|${view(bytes).toString('hex')}`;
    }
    case SnmpTag.Opaque:
      return `${vb.oid}|68x|${view(v instanceof Uint8Array ? v : new Uint8Array()).toString('hex')}`;
    case SnmpTag.Null:
      return `${vb.oid}|5|`;
    default:
      return `${vb.oid}|${vb.type}|${String(v)}`;
  }
}

export interface SnmprecRecord {
  readonly oid: string;
  readonly type: SnmpTagValue;
  readonly value: VarbindValue;
}

const TAGS: ReadonlyMap<number, SnmpTagValue> = new Map(
  [
    SnmpTag.Integer32,
    SnmpTag.OctetString,
    SnmpTag.Null,
    SnmpTag.ObjectIdentifier,
    SnmpTag.IpAddress,
    SnmpTag.Counter32,
    SnmpTag.Gauge32,
    SnmpTag.TimeTicks,
    SnmpTag.Opaque,
    SnmpTag.Counter64,
  ].map((t) => [t, t]),
);

const OID_RE = /^\.?\d+(?:\.\d+)+$/;

function invalid(source: string, line: number, message: string): PanoptesError {
  return new PanoptesError('MODEL_INVALID', `${source}:${line}: ${message}`, { details: { source, line } });
}

/** Parses one line; `source` and `line` name it in errors. */
export function parseSnmprecLine(text: string, source = '<snmprec>', line = 1): SnmprecRecord {
  const first = text.indexOf('|');
  const second = first < 0 ? -1 : text.indexOf('|', first + 1);
  if (first < 0 || second < 0) throw invalid(source, line, 'expected OID|TAG|VALUE');
  const rawOid = text.slice(0, first);
  if (!OID_RE.test(rawOid)) throw invalid(source, line, `invalid OID "${rawOid}"`);
  const oid = rawOid.startsWith('.') ? rawOid.slice(1) : rawOid;
  let tagText = text.slice(first + 1, second);
  const colon = tagText.indexOf(':');
  if (colon >= 0) tagText = tagText.slice(0, colon);
  const isHex = tagText.endsWith('x');
  const tagNumber = Number(isHex ? tagText.slice(0, -1) : tagText);
  const type = TAGS.get(tagNumber);
  if (type === undefined) throw invalid(source, line, `unknown tag "${text.slice(first + 1, second)}"`);
  const raw = text.slice(second + 1);
  const bytes = (): Uint8Array => {
    if (!isHex) return Buffer.from(raw, 'utf8');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(raw)) throw invalid(source, line, `invalid hex value "${raw}"`);
    return Buffer.from(raw, 'hex');
  };
  const integer = (min: bigint, max: bigint): bigint => {
    if (!/^-?\d+$/.test(raw.trim())) throw invalid(source, line, `invalid integer "${raw}"`);
    const v = BigInt(raw.trim());
    if (v < min || v > max) throw invalid(source, line, `value ${raw} out of range for tag ${tagNumber}`);
    return v;
  };
  switch (type) {
    case SnmpTag.OctetString:
    case SnmpTag.Opaque:
      return { oid, type, value: bytes() };
    case SnmpTag.Null:
      return { oid, type, value: null };
    case SnmpTag.ObjectIdentifier: {
      const v = isHex ? Buffer.from(raw, 'hex').toString('latin1') : raw;
      if (!OID_RE.test(v)) throw invalid(source, line, `invalid OID value "${raw}"`);
      return { oid, type, value: v.startsWith('.') ? v.slice(1) : v };
    }
    case SnmpTag.IpAddress: {
      // snmpsim (pysnmp) also takes four raw octets written as four characters.
      const rawOctets =
        !isHex && raw.length === 4 && !raw.includes('.') && [...raw].every((c) => c.charCodeAt(0) <= 0xff);
      const dotted = (): Uint8Array => Uint8Array.from(raw.split('.').map(Number));
      const b = isHex ? bytes() : rawOctets ? Buffer.from(raw, 'latin1') : dotted();
      if (
        b.length !== 4 ||
        (!isHex && !rawOctets && !/^\d{1,3}(?:\.\d{1,3}){3}$/.test(raw)) ||
        b.some((x) => x > 255)
      ) {
        throw invalid(source, line, `invalid IpAddress "${raw}"`);
      }
      return { oid, type, value: Array.from(b).join('.') };
    }
    case SnmpTag.Integer32:
      return { oid, type, value: Number(integer(-(2n ** 31n), 2n ** 31n - 1n)) };
    case SnmpTag.Counter32:
    case SnmpTag.Gauge32:
    case SnmpTag.TimeTicks:
      return { oid, type, value: Number(integer(0n, 2n ** 32n - 1n)) };
    case SnmpTag.Counter64:
      return { oid, type, value: integer(0n, 2n ** 64n - 1n) };
    default:
      throw invalid(source, line, `unsupported tag ${tagNumber}`);
  }
}

/** Parses a whole file; blank lines and lines starting with # are skipped. */
export function parseSnmprec(text: string, source = '<snmprec>'): SnmprecRecord[] {
  const out: SnmprecRecord[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    out.push(parseSnmprecLine(line, source, i + 1));
  });
  return out;
}
