/** Registers `panoptes validate`; the command is loaded when it runs. */
import type { Command } from 'commander';
import { VALIDATE_KINDS } from '../args.js';
import type { ValidateKind, ValidateOptions } from '../args.js';
import { EXIT } from '../io.js';

export function registerValidate(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('validate')
    .description(
      'check a JSON file of resources or metrics groups against the Panoptes schema, or SNMP profiles',
    )
    .argument('<kind>', `what the file holds: ${VALIDATE_KINDS.join(' | ')}`)
    .argument(
      '<file>',
      'JSON file: one object, an array, or a set object ("-" reads standard input); profiles: a YAML file or a directory; plugins: a directory',
    )
    .option('--print', 'print the normalised JSON instead of a summary')
    .addHelpText(
      'after',
      `
Exit status: 0 valid, 1 invalid (every problem printed as FILE: $.path: message, or for
profiles FILE:LINE:COLUMN: key.path: message), 2 usage error.

Examples:
  panoptes validate resources devices.json
  panoptes validate metrics group.json --print
  panoptes validate profiles /etc/panoptes/profiles
  panoptes validate plugins /etc/panoptes/plugins`,
    )
    .action(async (kind: string, file: string, opts: ValidateOptions, cmd: Command) => {
      if (!(VALIDATE_KINDS as readonly string[]).includes(kind)) {
        cmd.error(`error: unknown kind '${kind}' (expected ${VALIDATE_KINDS.join(', ')})`, {
          exitCode: EXIT.USAGE,
          code: 'panoptes.usage',
        });
      }
      const { runValidate } = await import('../commands/validate.js');
      setExitCode(await runValidate(kind as ValidateKind, file, opts));
    });
}
