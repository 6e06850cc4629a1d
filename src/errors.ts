/**
 * Every error that Panoptes-TS raises on purpose is a PanoptesError with a stable code from
 * ERROR_CODES. Code decides behaviour (retry or not, exit status); the message is for people
 * and names where the problem is (file, line/column, key path, device).
 *
 * docs/errors.md documents every code; a test keeps the two in step.
 */

export const ERROR_CODES = {
  USAGE: { retryable: false, summary: 'A command was called with wrong arguments or options.' },
  FILE_READ: { retryable: false, summary: 'A file could not be read.' },
  FILE_WRITE: {
    retryable: true,
    summary: 'A file could not be written (disk full, read-only); the write is undone and retried.',
  },
  JSON_PARSE: { retryable: false, summary: 'Text is not valid JSON; the message gives line and column.' },
  MODEL_INVALID: {
    retryable: false,
    summary:
      'A resource, metrics group or enrichment does not match the schema; each problem names its JSON path.',
  },
  CONFIG_INVALID: {
    retryable: false,
    summary: 'A configuration file is invalid; the message names the key path.',
  },
  DSL_PARSE: {
    retryable: false,
    summary: 'A resource filter does not parse; the message gives line and column.',
  },
  PROFILE_INVALID: {
    retryable: false,
    summary:
      'An SNMP profile or a gNMI mapping (YAML) is invalid; the message names file, line, column and key path.',
  },
  PLUGIN_INVALID: {
    retryable: false,
    summary: 'A .panoptes-plugin file is invalid; the message names file, section and key.',
  },
  PLUGIN_LOAD: {
    retryable: false,
    summary: 'A plugin module could not be loaded or does not export a plugin.',
  },
  PLUGIN_FAILED: { retryable: true, summary: 'A plugin threw or timed out while running.' },
  SNMP_TIMEOUT: { retryable: true, summary: 'An SNMP request got no answer within its timeout and retries.' },
  SNMP_AUTH: {
    retryable: false,
    summary: 'An SNMPv3 agent rejected the credentials (unknown user, wrong digest, decryption error).',
  },
  SNMP_NETWORK: {
    retryable: true,
    summary: 'An SNMP request could not be sent: the host name does not resolve or the socket failed.',
  },
  SNMP_ERROR_STATUS: { retryable: false, summary: 'An SNMP agent answered with a non-zero error-status.' },
  SNMP_DECODE: { retryable: false, summary: 'An SNMP packet could not be decoded.' },
  SNMP_PROTOCOL: {
    retryable: false,
    summary: 'An SNMP agent broke the protocol, e.g. a walk returned OIDs that do not increase.',
  },
  BUS_ERROR: {
    retryable: true,
    summary: 'The message bus (Kafka or in-process) failed to publish or consume.',
  },
  STORE_ERROR: { retryable: true, summary: 'The key-value store (Redis or in-memory) failed.' },
  SERVICE_START: {
    retryable: false,
    summary: 'An external service (for tests or demos) could not be started.',
  },
  GNMI: {
    retryable: true,
    summary: 'A gNMI call or subscription failed: the target is unreachable, refused it or broke the stream.',
  },
  NOT_IMPLEMENTED: { retryable: false, summary: 'The feature is not built yet; the message says which.' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PanoptesErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Overrides the code's default retry hint. */
  retryable?: boolean;
  /** Structured context: file, path, device, ... Never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

export class PanoptesError extends Error {
  readonly code: ErrorCode;
  /** Whether trying the same operation again may succeed. */
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: PanoptesErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PanoptesError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details ?? {};
  }
}

/** One problem found while validating data, located by a JSON path such as `$.metrics[3].metric_type`. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** A MODEL_INVALID or CONFIG_INVALID error that carries every problem found, not just the first. */
export class ValidationError extends PanoptesError {
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: 'MODEL_INVALID' | 'CONFIG_INVALID',
    what: string,
    issues: readonly ValidationIssue[],
    options: PanoptesErrorOptions = {},
  ) {
    const lines = issues.map((i) => `${i.path}: ${i.message}`);
    super(code, `${what} is invalid: ${lines.join('; ')}`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function isPanoptesError(e: unknown): e is PanoptesError {
  return e instanceof PanoptesError;
}

/** Best-effort message of anything thrown, for logs. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
