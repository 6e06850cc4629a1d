/**
 * Lossless JSON for the wire formats.
 *
 * JSON.parse turns 18446744073709551615 into 18446744073709552000. Counter64 values must keep
 * every digit, so integers outside Number's safe range become bigint on the way in and bigint
 * is written back as a plain integer literal on the way out. Everything else maps as in
 * JSON.parse / JSON.stringify. A key repeated with a different value is an error, not "last one
 * wins"; one repeated with an identical value is harmless and accepted.
 */
import { createRequire } from 'node:module';
import type * as LosslessJson from 'lossless-json';
import { PanoptesError } from '../errors.js';

let lossless: typeof LosslessJson | undefined;

/** lossless-json, loaded (its CommonJS build, synchronously) when text needs it. */
function losslessJson(): typeof LosslessJson {
  lossless ??= createRequire(import.meta.url)('lossless-json') as typeof LosslessJson;
  return lossless;
}

const LONG_DIGITS = /\d{16}/;
const SPACE_BEFORE_COLON = /"\s+:/;

/**
 * The number of `":` in JSON text, or undefined when some `"` is followed by whitespace and a
 * colon. Every key of an object ends with `":`, and a string holds `":` only as `\":`, so
 * without whitespace before a colon this is at least the number of keys in the text, and equal
 * when no string holds one: a parse whose objects hold fewer keys (JSON.parse keeps the last of
 * repeated keys) read a repeated key, or a string with `\":` in it.
 */
export function keyMarkers(text: string): number | undefined {
  if (SPACE_BEFORE_COLON.test(text)) return undefined;
  let n = 0;
  for (let i = text.indexOf('":'); i !== -1; i = text.indexOf('":', i + 2)) n++;
  return n;
}
/** Returned by commonJson when lossless-json must read the text. */
const NOT_COMMON = Symbol('not common');

/** Keys of every object in a JSON.parse value. */
function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += countKeys(item);
    return n;
  }
  for (const key of Object.keys(value)) n += 1 + countKeys((value as Record<string, unknown>)[key]);
  return n;
}

/**
 * Text JSON.parse reads exactly as lossless-json would: no run of 16 digits (so no integer that
 * could pass 2^53) and no repeated key (keyMarkers equals the keys read; otherwise lossless-json
 * decides).
 */
function commonJson(text: string): unknown {
  const markers = LONG_DIGITS.test(text) ? undefined : keyMarkers(text);
  if (markers === undefined) return NOT_COMMON;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_COMMON; // lossless-json's message names the position
  }
  try {
    return markers === countKeys(value) ? value : NOT_COMMON;
  } catch {
    return NOT_COMMON; // nested too deep to count here
  }
}

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
 * whose message starts with `<source>:<line>:<column>:`. Text JSON.parse reads exactly is read
 * by it (much faster); the rest by lossless-json (parseJsonLosslessly).
 */
export function parseJson(text: string, source = '<input>'): unknown {
  const common = commonJson(text);
  return common === NOT_COMMON ? parseJsonLosslessly(text, source) : common;
}

/** parseJson through lossless-json alone: the reference parseJson's shortcut must agree with. */
export function parseJsonLosslessly(text: string, source = '<input>'): unknown {
  try {
    return losslessJson().parse(text, null, parseNumber);
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
  const out = losslessJson().stringify(value, null, indent);
  if (out === undefined) throw new TypeError('value is not serialisable as JSON');
  return out;
}
