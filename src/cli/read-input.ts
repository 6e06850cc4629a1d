import { readFile } from 'node:fs/promises';
import { PanoptesError, errorMessage, isPanoptesError } from '../errors.js';
import { parseJson } from '../model/json.js';
import { EXIT } from './io.js';
import type { CliIo } from './io.js';

/** Reads a file named on the command line; `-` is standard input. */
export async function readInput(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : errorMessage(e);
    throw new PanoptesError('FILE_READ', `${file}: cannot read: ${reason}`, { cause: e, details: { file } });
  }
}

/**
 * Reads and parses a JSON file named on the command line. On failure (unreadable file, invalid
 * JSON) the message goes to stderr and the result is the exit status to return instead.
 */
export async function readJsonInput(
  file: string,
  io: CliIo,
): Promise<{ ok: true; value: unknown } | { ok: false; exit: number }> {
  try {
    return { ok: true, value: parseJson(await readInput(file), file) };
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`${e.message}\n`);
    return { ok: false, exit: EXIT.FAILED };
  }
}
