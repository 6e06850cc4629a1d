/**
 * `.panoptes-plugin` files: INI, as in Panoptes.
 *
 *   [Core]           Name (unique), Module (path of the JS/TS module, relative to this file, or
 *                    builtin:NAME for a module of the package's plugins/ directory)
 *   [Documentation]  Author, Version, Website, Description (free text, any keys)
 *   [main]           execute_frequency (seconds, mandatory), resource_filter (filter DSL),
 *                    results_cache_age (seconds, default 0), enrichment_ttl (seconds, default
 *                    3 x execute_frequency), namespace (enrichment namespace), timeout (seconds,
 *                    default execute_frequency)
 *   [snmp]           timeout (seconds), retries, max_repetitions, port, version (1|2c|3),
 *                    community_key (name of the secret holding the community, default
 *                    snmp_community)
 *   [transforms]     NAME = rate:METRICS_GROUP_TYPE:counter[,counter...]
 *   [enrichment]     preload = PLUGIN:NAMESPACE[, ...] (`self` for this plugin)
 *   [options]        settings of the plugin's own (free keys, string values; the plugin checks
 *                    them and reports problems through `optionError`)
 *
 * Section and key names are case-insensitive (Panoptes read them through ConfigParser). Every
 * value is typed and checked when the file is loaded (Panoptes passed them all on as strings);
 * every problem is reported as `FILE: [section] key: message`. Unknown sections and keys are
 * errors, except in [Documentation].
 */
import { dirname, join, resolve } from 'node:path';
import { PanoptesError, isPanoptesError } from '../errors.js';
import { deepFreeze } from '../freeze.js';
import { readTextFile } from '../text-file.js';
import { compileFilter } from '../dsl/index.js';
import type { ResourcePredicate } from '../dsl/index.js';
import { NAME_PATTERN } from '../model/validation.js';
import { BUILTIN_PLUGINS_DIR } from '../package-root.js';
import { parseIni } from './ini.js';

/** `Module = builtin:NAME` names a module of the package's own plugins (plugins/NAME.js). */
export const BUILTIN_PREFIX = 'builtin:';
const BUILTIN_MODULE = /^[a-z0-9][a-z0-9-]*$/;

export interface RateTransform {
  readonly name: string;
  readonly kind: 'rate';
  readonly metricsGroupType: string;
  readonly counters: readonly string[];
}

export interface PreloadEntry {
  /** A plugin name, or `self`. */
  readonly plugin: string;
  readonly namespace: string;
}

export interface PluginDefinition {
  /** Absolute path of the .panoptes-plugin file. */
  readonly file: string;
  readonly name: string;
  /** The Module value as written. */
  readonly module: string;
  /** Absolute path the module resolves from (extension may still be added by the loader). */
  readonly modulePath: string;
  readonly documentation: Readonly<Record<string, string>>;
  readonly executeFrequencySeconds: number;
  readonly resourceFilter: string | undefined;
  /** Compiled resource filter; undefined selects every resource. */
  readonly filter: ResourcePredicate | undefined;
  readonly resultsCacheAgeSeconds: number;
  readonly enrichmentTtlSeconds: number;
  readonly namespace: string | undefined;
  readonly timeoutSeconds: number;
  readonly snmp: Readonly<{
    timeoutMs?: number;
    retries?: number;
    maxRepetitions?: number;
    port?: number;
    version?: '1' | '2c' | '3';
    communityKey: string;
  }>;
  readonly transforms: readonly RateTransform[];
  readonly preload: readonly PreloadEntry[];
  /** The [options] section: the plugin's own settings, keys in lower case. */
  readonly options: Readonly<Record<string, string>>;
  /**
   * The [options] parsed with the module's declaration (`export const options`), when it has
   * one; set by the loader. Plugins read them with pluginOptions(ctx, options).
   */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface PluginIssue {
  readonly section: string;
  readonly key: string | undefined;
  readonly message: string;
}

export class PluginFileError extends PanoptesError {
  readonly file: string;
  readonly issues: readonly PluginIssue[];

  constructor(file: string, issues: readonly PluginIssue[]) {
    const lines = issues.map(
      (i) => `${file}: [${i.section}]${i.key === undefined ? '' : ` ${i.key}`}: ${i.message}`,
    );
    super('PLUGIN_INVALID', lines.join('\n'), { details: { file } });
    this.name = 'PluginFileError';
    this.file = file;
    this.issues = issues;
  }
}

const SECTIONS: Readonly<Record<string, readonly string[] | undefined>> = {
  core: ['name', 'module'],
  documentation: undefined, // free
  main: [
    'execute_frequency',
    'resource_filter',
    'results_cache_age',
    'enrichment_ttl',
    'namespace',
    'timeout',
  ],
  snmp: ['timeout', 'retries', 'max_repetitions', 'port', 'version', 'community_key'],
  transforms: undefined, // transform names are free; values are checked
  enrichment: ['preload'],
  options: undefined, // the plugin's own settings: it checks them
};

type Section = Map<string, { key: string; value: string }>;

/** Reads sections and keys case-insensitively, remembering how they were written. */
function normalise(text: string, issues: PluginIssue[]): Map<string, { name: string; keys: Section }> {
  const doc = parseIni(text);
  for (const p of doc.problems) issues.push({ section: '(top)', key: p.key, message: p.message });
  const out = new Map<string, { name: string; keys: Section }>();
  for (const section of doc.sections) {
    const lower = section.name.toLowerCase();
    if (!Object.hasOwn(SECTIONS, lower)) {
      issues.push({
        section: section.name,
        key: undefined,
        message: `unknown section (expected ${Object.keys(SECTIONS).join(', ')})`,
      });
      continue;
    }
    const keys: Section = out.get(lower)?.keys ?? new Map<string, { key: string; value: string }>();
    for (const entry of section.entries)
      keys.set(entry.key.toLowerCase(), { key: entry.key, value: entry.value });
    out.set(lower, { name: out.get(lower)?.name ?? section.name, keys });
  }
  return out;
}

/** Parses and validates the text of a plugin file. Throws PluginFileError listing every problem. */
export function parsePluginFile(text: string, file: string): PluginDefinition {
  const issues: PluginIssue[] = [];
  const sections = normalise(text, issues);

  const CANONICAL: Readonly<Record<string, string>> = { core: 'Core', documentation: 'Documentation' };
  const sectionLabel = (s: string): string => sections.get(s)?.name ?? CANONICAL[s] ?? s;
  const read = (section: string, key: string): string | undefined =>
    sections.get(section)?.keys.get(key)?.value;
  const CANONICAL_KEYS: Readonly<Record<string, string>> = { name: 'Name', module: 'Module' };
  const label = (section: string, key: string): string =>
    sections.get(section)?.keys.get(key)?.key ?? CANONICAL_KEYS[key] ?? key;
  const problem = (section: string, key: string | undefined, message: string): void => {
    issues.push({
      section: sectionLabel(section),
      key: key === undefined ? undefined : label(section, key),
      message,
    });
  };

  for (const [section, { keys }] of sections) {
    const allowed = SECTIONS[section];
    if (allowed === undefined) continue;
    for (const key of keys.keys()) {
      if (!allowed.includes(key))
        problem(section, key, `unknown key (expected one of ${allowed.join(', ')})`);
    }
  }

  const required = (section: string, key: string): string | undefined => {
    const v = read(section, key);
    if (v === undefined || v === '') {
      problem(section, key, 'is required');
      return undefined;
    }
    return v;
  };
  const number = (
    section: string,
    key: string,
    opts: { integer: boolean; min: number; max: number; what: string },
  ): number | undefined => {
    const v = read(section, key);
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    const ok = /^[0-9]+(\.[0-9]+)?$/.test(v) && Number.isFinite(n) && (!opts.integer || Number.isInteger(n));
    if (!ok || n < opts.min || n > opts.max) {
      problem(section, key, `must be ${opts.what} from ${opts.min} to ${opts.max}, got "${v}"`);
      return undefined;
    }
    return n;
  };

  const name = required('core', 'name');
  if (name !== undefined && !/^[A-Za-z0-9_.-]+$/.test(name)) {
    problem('core', 'name', 'must use only letters, digits, "_", "." and "-"');
  }
  const module = required('core', 'module');
  if (
    module?.startsWith(BUILTIN_PREFIX) === true &&
    !BUILTIN_MODULE.test(module.slice(BUILTIN_PREFIX.length))
  ) {
    problem('core', 'module', `"${module}": a built-in module is named builtin:NAME (letters, digits, "-")`);
  }

  const documentation: Record<string, string> = {};
  for (const { key, value } of sections.get('documentation')?.keys.values() ?? []) documentation[key] = value;

  const seconds = { integer: true, min: 1, max: 31_536_000, what: 'an integer number of seconds' };
  const frequency = number('main', 'execute_frequency', seconds);
  if ((read('main', 'execute_frequency') ?? '') === '') problem('main', 'execute_frequency', 'is required');

  const resourceFilter = read('main', 'resource_filter');
  let filter: ResourcePredicate | undefined;
  if (resourceFilter !== undefined && resourceFilter !== '') {
    try {
      filter = compileFilter(resourceFilter);
    } catch (e) {
      problem('main', 'resource_filter', isPanoptesError(e) ? e.message : String(e));
    }
  }
  const cacheAge = number('main', 'results_cache_age', { ...seconds, min: 0 });
  const enrichmentTtl = number('main', 'enrichment_ttl', seconds);
  const timeout = number('main', 'timeout', seconds);
  const namespace = read('main', 'namespace');
  if (namespace !== undefined && !NAME_PATTERN.test(namespace)) {
    problem('main', 'namespace', `must match ${NAME_PATTERN.source}`);
  }

  const snmpTimeout = number('snmp', 'timeout', {
    integer: false,
    min: 0.01,
    max: 600,
    what: 'a number of seconds',
  });
  const retries = number('snmp', 'retries', { integer: true, min: 0, max: 20, what: 'an integer' });
  const maxRepetitions = number('snmp', 'max_repetitions', {
    integer: true,
    min: 1,
    max: 1000,
    what: 'an integer',
  });
  const port = number('snmp', 'port', { integer: true, min: 1, max: 65535, what: 'a port' });
  const version = read('snmp', 'version');
  if (version !== undefined && !['1', '2c', '3'].includes(version))
    problem('snmp', 'version', 'must be 1, 2c or 3');
  const communityKey = read('snmp', 'community_key') ?? 'snmp_community';

  const transforms: RateTransform[] = [];
  for (const { key, value } of sections.get('transforms')?.keys.values() ?? []) {
    const m = /^rate\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/.exec(value);
    const counters = m?.[2]?.split(',').map((c) => c.trim());
    if (m === null || counters === undefined || counters.some((c) => !NAME_PATTERN.test(c))) {
      issues.push({
        section: sectionLabel('transforms'),
        key,
        message: `must be rate:METRICS_GROUP_TYPE:counter[,counter...], got "${value}"`,
      });
      continue;
    }
    transforms.push({ name: key, kind: 'rate', metricsGroupType: m[1] ?? '', counters });
  }

  const preload: PreloadEntry[] = [];
  const preloadText = read('enrichment', 'preload');
  if (preloadText !== undefined && preloadText !== '') {
    for (const part of preloadText.split(',').map((p) => p.trim())) {
      const m = /^([A-Za-z0-9_.-]+)\s*:\s*([A-Za-z_][A-Za-z0-9_]*)$/.exec(part);
      if (m === null) {
        problem(
          'enrichment',
          'preload',
          `entries must be PLUGIN:NAMESPACE (or self:NAMESPACE), got "${part}"`,
        );
        continue;
      }
      preload.push({ plugin: m[1] ?? '', namespace: m[2] ?? '' });
    }
  }

  const options: Record<string, string> = {};
  for (const [key, { value }] of sections.get('options')?.keys ?? []) options[key] = value;

  if (issues.length > 0 || name === undefined || module === undefined || frequency === undefined) {
    throw new PluginFileError(file, issues);
  }

  const definition: PluginDefinition = {
    file,
    name,
    module,
    modulePath: module.startsWith(BUILTIN_PREFIX)
      ? join(BUILTIN_PLUGINS_DIR, `${module.slice(BUILTIN_PREFIX.length)}.js`)
      : resolve(dirname(file), module),
    documentation,
    executeFrequencySeconds: frequency,
    resourceFilter: resourceFilter === '' ? undefined : resourceFilter,
    filter,
    resultsCacheAgeSeconds: cacheAge ?? 0,
    enrichmentTtlSeconds: enrichmentTtl ?? frequency * 3,
    namespace,
    timeoutSeconds: timeout ?? frequency,
    snmp: {
      ...(snmpTimeout === undefined ? {} : { timeoutMs: Math.round(snmpTimeout * 1000) }),
      ...(retries === undefined ? {} : { retries }),
      ...(maxRepetitions === undefined ? {} : { maxRepetitions }),
      ...(port === undefined ? {} : { port }),
      ...(version === undefined ? {} : { version: version as '1' | '2c' | '3' }),
      communityKey,
    },
    transforms,
    preload,
    options,
  };
  return deepFreeze(definition);
}

/**
 * The error a plugin raises for a bad value in its [options] section: it names the file, the
 * section and the key, like every other plugin file problem.
 */
export function optionError(definition: PluginDefinition, key: string, message: string): PluginFileError {
  return new PluginFileError(definition.file, [{ section: 'options', key, message }]);
}

export async function readPluginFile(file: string): Promise<PluginDefinition> {
  return parsePluginFile(await readTextFile(file), file);
}
