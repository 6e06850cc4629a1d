#!/usr/bin/env node
import { CommanderError } from 'commander';
import { isPanoptesError } from '../errors.js';
import { EXIT } from './io.js';
import { createProgram } from './program.js';

async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = createProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isPanoptesError(e)) {
      process.stderr.write(`panoptes: ${e.message} [${e.code}]\n`);
      return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
    }
    throw e;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `panoptes: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exitCode = EXIT.FAILED;
  },
);
