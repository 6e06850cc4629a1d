/**
 * `panoptes validate resources|metrics FILE [--print]`
 *
 * Checks a file of resources or metrics groups (one object, an array, or a set object). Valid:
 * exit 0 with `ok: N resources` on stdout, or with --print the normalised JSON (Counter64 values
 * keep every digit). Invalid: exit 1, every problem on stderr as `FILE: $.path: message`.
 */
import type { Command } from 'commander';
import {
  metricsGroupToJson,
  parseMetricsGroupDocument,
  parseResourceDocument,
  resourceToJson,
  stringifyJson,
} from '../../model/index.js';
import type { MetricsGroup, ParsedDocument, Resource } from '../../model/index.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';
import { readJsonInput } from '../read-input.js';

export const VALIDATE_KINDS = ['resources', 'metrics'] as const;
export type ValidateKind = (typeof VALIDATE_KINDS)[number];

export interface ValidateOptions {
  readonly print?: boolean;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function render<T>(doc: ParsedDocument<T>, setKey: string, toJson: (item: T) => unknown): unknown {
  const items = doc.items.map(toJson);
  switch (doc.shape) {
    case 'single':
      return items[0];
    case 'array':
      return items;
    case 'set':
      return { [setKey]: items, ...doc.setFields };
  }
}

/** Runs the command; returns the exit status. */
export async function runValidate(
  kind: ValidateKind,
  file: string,
  options: ValidateOptions,
  io: CliIo = processIo,
): Promise<number> {
  const read = await readJsonInput(file, io);
  if (!read.ok) return read.exit;
  const input = read.value;

  let issues: ParsedDocument<unknown>['issues'];
  let output: unknown;
  let summary: string;
  if (kind === 'resources') {
    const doc: ParsedDocument<Resource> = parseResourceDocument(input);
    issues = doc.issues;
    output = render(doc, 'resources', resourceToJson);
    summary = plural(doc.items.length, 'resource', 'resources');
  } else {
    const doc: ParsedDocument<MetricsGroup> = parseMetricsGroupDocument(input);
    issues = doc.issues;
    output = render(doc, 'metrics_groups', metricsGroupToJson);
    summary = plural(doc.items.length, 'metrics group', 'metrics groups');
  }

  if (issues.length > 0) {
    for (const issue of issues) io.err(`${file}: ${issue.path}: ${issue.message}\n`);
    return EXIT.FAILED;
  }
  io.out(options.print === true ? `${stringifyJson(output, 2)}\n` : `ok: ${summary}\n`);
  return EXIT.OK;
}

export function registerValidate(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('validate')
    .description('check a JSON file of resources or metrics groups against the Panoptes schema')
    .argument('<kind>', `what the file holds: ${VALIDATE_KINDS.join(' | ')}`)
    .argument('<file>', 'JSON file: one object, an array, or a set object ("-" reads standard input)')
    .option('--print', 'print the normalised JSON instead of a summary')
    .addHelpText(
      'after',
      `
Exit status: 0 valid, 1 invalid (every problem printed as FILE: $.path: message), 2 usage error.

Examples:
  panoptes validate resources devices.json
  panoptes validate metrics group.json --print`,
    )
    .action(async (kind: string, file: string, opts: ValidateOptions, cmd: Command) => {
      if (!(VALIDATE_KINDS as readonly string[]).includes(kind)) {
        cmd.error(`error: unknown kind '${kind}' (expected ${VALIDATE_KINDS.join(' or ')})`, {
          exitCode: EXIT.USAGE,
          code: 'panoptes.usage',
        });
      }
      setExitCode(await runValidate(kind as ValidateKind, file, opts));
    });
}
