/** A pino logger that keeps every record it writes, parsed, for tests to inspect. */
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';

export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino(
    { level: 'trace' },
    {
      write(line: string): void {
        records.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  return { logger, records };
}

export const LEVEL = { warn: 40, error: 50 } as const;
