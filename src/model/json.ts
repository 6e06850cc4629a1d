/**
 * Lossless JSON for the wire formats.
 *
 * JSON.parse turns 18446744073709551615 into 18446744073709552000. Counter64 values must keep
 * every digit, so integers outside Number's safe range become bigint on the way in and bigint
 * is written back as a plain integer literal on the way out. Everything else maps as in
 * JSON.parse / JSON.stringify. A key repeated with a different value is an error, not "last one
 * wins"; one repeated with an identical value is harmless and accepted.
 */
import { parse, stringify } from 'lossless-json';
import { PanoptesError } from '../errors.js';

const INTEGER = /^-?\d+$/;

function parseNumber(text: string): number | bigint {
  if (INTEGER.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
    return BigInt(text);
  }
  return Number(text);
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Parses JSON text. Integers beyond 2^53 come back as bigint. Throws PanoptesError JSON_PARSE
 * whose message starts with `<source>:<line>:<column>:`.
 */
export function parseJson(text: string, source = '<input>'): unknown {
  try {
    return parse(text, null, parseNumber);
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    const m = /(?:at )?position (\d+)/.exec(raw);
    const offset = m?.[1] === undefined ? 0 : Number(m[1]);
    const { line, column } = lineColumn(text, offset);
    const reason = raw.replace(/\s*(?:at )?position \d+/, '').trim();
    throw new PanoptesError('JSON_PARSE', `${source}:${line}:${column}: invalid JSON: ${reason}`, {
      cause: e,
      details: { source, line, column },
    });
  }
}

/** Serialises a value, writing bigint as an exact integer literal. */
export function stringifyJson(value: unknown, indent?: number): string {
  const out = stringify(value, null, indent);
  if (out === undefined) throw new TypeError('value is not serialisable as JSON');
  return out;
}
