/**
 * Structured logging (pino). Every component takes a Logger; tests pass `silentLogger`.
 * Level from PANOPTES_LOG_LEVEL (default info). Secrets are never passed to a logger.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(name = 'panoptes', level = process.env['PANOPTES_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

export const silentLogger: Logger = pino({ level: 'silent' });
