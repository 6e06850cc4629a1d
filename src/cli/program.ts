/**
 * The `panoptes` command line: each subcommand registered by a file in ./register, which loads its
 * implementation in ./commands only when it runs, so `--help` and a usage error load nothing else. Usage errors exit 2,
 * failures 1, success 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerFilter } from './register/filter.js';
import { registerGnmi } from './register/gnmi.js';
import { registerPoll } from './register/poll.js';
import { registerRun } from './register/run.js';
import { registerSimulate } from './register/simulate.js';
import { registerSnmp } from './register/snmp.js';
import { registerValidate } from './register/validate.js';

/** The package version, from the nearest package.json above this file (works from src/ and dist/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'panoptes-ts' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

/**
 * Builds the program. `setExitCode` receives each command's exit status; commander errors
 * (unknown command or option, missing argument) are thrown as CommanderError by exitOverride.
 */
export function createProgram(setExitCode: (code: number) => void): Command {
  const program = new Command();
  program
    .name('panoptes')
    .description('Panoptes-TS: network telemetry. Discover devices, poll them over SNMP, publish metrics.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for usage)');
  registerValidate(program, setExitCode);
  registerFilter(program, setExitCode);
  registerSnmp(program, setExitCode);
  registerGnmi(program, setExitCode);
  registerSimulate(program, setExitCode);
  registerRun(program, setExitCode);
  registerPoll(program, setExitCode);
  return program;
}
