/**
 * `panoptes validate resources|metrics FILE [--print]`
 *
 * Checks a file of resources or metrics groups (one object, an array, or a set object). Valid:
 * exit 0 with `ok: N resources` on stdout, or with --print the normalised JSON (Counter64 values
 * keep every digit). Invalid: exit 1, every problem on stderr as `FILE: $.path: message`.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '../../errors.js';
import {
  metricsGroupToJson,
  parseMetricsGroupDocument,
  parseResourceDocument,
  resourceToJson,
  stringifyJson,
} from '../../model/index.js';
import type { MetricsGroup, ParsedDocument, Resource } from '../../model/index.js';
import type { ValidateKind, ValidateOptions } from '../args.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';
import { readJsonInput } from '../read-input.js';

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

/**
 * Checks SNMP profiles: a YAML file, or every profile of a directory. Every problem of every
 * file is printed as FILE:LINE:COLUMN: key.path: message; `ok: N profiles (names)` when all load.
 */
export async function runValidateProfiles(path: string, io: CliIo = processIo): Promise<number> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (e) {
    io.err(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return EXIT.FAILED;
  }
  // Loaded here: checking resources or metrics groups needs neither profiles nor plugins.
  const [{ ProfileCatalog }, { loadProfileFile }] = await Promise.all([
    import('../../profiles/catalog.js'),
    import('../../profiles/profile.js'),
  ]);
  if (isDirectory) {
    const { catalog, problems } = await ProfileCatalog.load([resolve(path)]);
    for (const p of problems) io.err(`${p.message}\n`);
    if (problems.length > 0) return EXIT.FAILED;
    io.out(`ok: ${plural(catalog.size, 'profile', 'profiles')} (${catalog.names.join(', ')})\n`);
    return EXIT.OK;
  }
  try {
    const profile = await loadProfileFile(resolve(path));
    io.out(`ok: profile ${profile.name}\n`);
    return EXIT.OK;
  } catch (e) {
    io.err(`${errorMessage(e)}\n`);
    return EXIT.FAILED;
  }
}

/**
 * Checks a directory of plugin files as the poller loads them: each file parsed, its module
 * imported and its [options] parsed with the module's declaration. Every problem is printed
 * (`FILE: [section] key: message`); `ok: N plugins (name kind, ...)` when all load.
 */
export async function runValidatePlugins(dir: string, io: CliIo = processIo): Promise<number> {
  try {
    if (!(await stat(dir)).isDirectory()) {
      io.err(`${dir}: not a directory of .panoptes-plugin files\n`);
      return EXIT.FAILED;
    }
  } catch (e) {
    io.err(`${dir}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return EXIT.FAILED;
  }
  const [{ PluginLoader }, { silentLogger }] = await Promise.all([
    import('../../plugins/loader.js'),
    import('../../log.js'),
  ]);
  const loader = new PluginLoader({ directories: [dir], logger: silentLogger, rescanIntervalMs: 0 });
  try {
    await loader.scan();
    for (const problem of loader.problems.values()) io.err(`${problem.message}\n`);
    if (loader.problems.size > 0) return EXIT.FAILED;
    const list = [...loader.plugins.values()].map((p) => `${p.definition.name} ${p.kind}`);
    io.out(
      `ok: ${plural(list.length, 'plugin', 'plugins')}${list.length === 0 ? '' : ` (${list.join(', ')})`}\n`,
    );
    return EXIT.OK;
  } finally {
    loader.close();
  }
}

/** Runs the command; returns the exit status. */
export async function runValidate(
  kind: ValidateKind,
  file: string,
  options: ValidateOptions,
  io: CliIo = processIo,
): Promise<number> {
  if (kind === 'profiles') return runValidateProfiles(file, io);
  if (kind === 'plugins') return runValidatePlugins(file, io);
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
