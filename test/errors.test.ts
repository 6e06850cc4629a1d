import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PanoptesError, ValidationError, errorMessage, isPanoptesError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';

describe('PanoptesError', () => {
  it('carries code, retry hint from the code, details and cause', () => {
    const cause = new Error('socket closed');
    const e = new PanoptesError('SNMP_TIMEOUT', 'no answer from 10.0.0.1', {
      cause,
      details: { device: 'r1' },
    });
    expect(e).toBeInstanceOf(Error);
    expect(isPanoptesError(e)).toBe(true);
    expect(e.code).toBe('SNMP_TIMEOUT');
    expect(e.retryable).toBe(true);
    expect(e.details).toEqual({ device: 'r1' });
    expect(e.cause).toBe(cause);
    expect(new PanoptesError('SNMP_TIMEOUT', 'x', { retryable: false }).retryable).toBe(false);
    expect(new PanoptesError('CONFIG_INVALID', 'x').retryable).toBe(false);
  });

  it('ValidationError lists every issue in its message', () => {
    const e = new ValidationError('MODEL_INVALID', 'metrics group', [
      { path: '$.a', message: 'is required' },
      { path: '$.b[0]', message: 'must be a string, got an integer' },
    ]);
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.issues).toHaveLength(2);
    expect(e.message).toBe(
      'metrics group is invalid: $.a: is required; $.b[0]: must be a string, got an integer',
    );
  });

  it('errorMessage handles non-errors', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(isPanoptesError(new Error('x'))).toBe(false);
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const m of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(yes|no)\s*\|/gm)) rows.set(m[1] ?? '', m[2] ?? '');

  it('documents every code with its retry hint, and no code that does not exist', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    expect([...rows.keys()].sort()).toEqual([...codes].sort());
    for (const code of codes) expect(rows.get(code)).toBe(ERROR_CODES[code].retryable ? 'yes' : 'no');
  });
});
