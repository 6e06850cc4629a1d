/**
 * Structured logging (pino). Every component takes a Logger; tests pass `silentLogger`.
 * Level from PANOPTES_LOG_LEVEL (default info). Secrets are never passed to a logger.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/** A logger writing JSON lines to stdout, or to the file descriptor given (2: stderr). */
export function createLogger(
  name = 'panoptes',
  level = process.env['PANOPTES_LOG_LEVEL'] ?? 'info',
  fd?: number,
): Logger {
  const options = { name, level, base: { pid: process.pid } };
  return fd === undefined ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
