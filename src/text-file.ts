import { readFile } from 'node:fs/promises';
import { PanoptesError } from './errors.js';

/** Reads a configuration file as UTF-8; a file that cannot be read is FILE_READ `PATH: cannot read: CODE`. */
export async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PanoptesError(
      'FILE_READ',
      `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      {
        cause: e,
      },
    );
  }
}
