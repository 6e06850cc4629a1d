import { readFile } from 'node:fs/promises';
import { PanoptesError, errorMessage } from '../errors.js';

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
