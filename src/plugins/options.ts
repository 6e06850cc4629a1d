/**
 * Plugin options declared by the plugin module: `export const options = { key: option.x(...) }`.
 * The loader parses the `[options]` section of each plugin file with its module's declaration
 * when the file loads, so a bad value is a load-time problem naming file, section and key
 * (`FILE: [options] key: message`), never a failed run; `panoptes validate plugins DIR` reports
 * every one. Each option says what it means (its description) beside its key.
 *
 *   export const options = {
 *     file: option.text('the inventory, relative to the plugin file'),
 *     check_sysname: option.boolean('partial when sysName differs from the resource id', true),
 *   };
 *   ... const { file } = pluginOptions(ctx, options);   // typed: { file: string; check_sysname: boolean }
 */
import type { PluginContext } from './api.js';
import { PluginFileError } from './plugin-file.js';
import type { PluginDefinition, PluginIssue } from './plugin-file.js';

export interface OptionSpec<T> {
  readonly description: string;
  /** The value when the file does not set the key; undefined: the key is required. */
  readonly default: T | undefined;
  /** Parses the text of the file; throws an Error whose message says what is wrong. */
  parse(text: string): T;
}

export type OptionsSchema = Readonly<Record<string, OptionSpec<unknown>>>;

export type OptionsOf<S extends OptionsSchema> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

function spec<T>(description: string, dflt: T | undefined, parse: (text: string) => T): OptionSpec<T> {
  return { description, default: dflt, parse };
}

/** Option kinds; the last argument of each is its default (none: required). */
export const option = {
  text: (description: string, dflt?: string): OptionSpec<string> =>
    spec(description, dflt, (t) => {
      if (t.trim() === '') throw new Error('must not be empty');
      return t.trim();
    }),
  /** Text that may be empty. */
  optionalText: (description: string, dflt = ''): OptionSpec<string> =>
    spec(description, dflt, (t) => t.trim()),
  boolean: (description: string, dflt?: boolean): OptionSpec<boolean> =>
    spec(description, dflt, (t) => {
      const v = t.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
      throw new Error(`must be true or false, got "${t}"`);
    }),
  integer: (description: string, min: number, max: number, dflt?: number): OptionSpec<number> =>
    spec(description, dflt, (t) => {
      const v = t.trim();
      if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        throw new Error(`must be an integer from ${min} to ${max}, got "${t}"`);
      }
      return Number(v);
    }),
  /** Comma-separated names; empty means none. */
  list: (description: string, dflt: readonly string[] = []): OptionSpec<readonly string[]> =>
    spec(description, dflt, (t) =>
      t
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    ),
  /** One of a few words. */
  choice: <W extends string>(description: string, words: readonly W[], dflt?: W): OptionSpec<W> =>
    spec(description, dflt, (t) => {
      const v = t.trim() as W;
      if (!words.includes(v)) throw new Error(`must be one of ${words.join(', ')}, got "${t}"`);
      return v;
    }),
};

/** Whether a module export is an options declaration. */
export function isOptionsSchema(value: unknown): value is OptionsSchema {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (s) =>
      typeof s === 'object' &&
      s !== null &&
      typeof (s as { parse?: unknown }).parse === 'function' &&
      typeof (s as { description?: unknown }).description === 'string',
  );
}

/**
 * The [options] of a plugin file parsed with a declaration: every problem (unknown key, bad
 * value, missing required key) in one PluginFileError naming file, section and key.
 */
export function parseOptions<S extends OptionsSchema>(definition: PluginDefinition, schema: S): OptionsOf<S> {
  const issues: PluginIssue[] = [];
  const out: Record<string, unknown> = {};
  const known = Object.keys(schema);
  for (const key of Object.keys(definition.options)) {
    if (!(key in schema)) {
      issues.push({
        section: 'options',
        key,
        message: `unknown option (expected ${known.length === 0 ? 'none' : known.join(', ')})`,
      });
    }
  }
  for (const [key, s] of Object.entries(schema)) {
    const text = definition.options[key];
    if (text === undefined) {
      if (s.default === undefined) issues.push({ section: 'options', key, message: 'is required' });
      else out[key] = s.default;
      continue;
    }
    try {
      out[key] = s.parse(text);
    } catch (e) {
      issues.push({ section: 'options', key, message: e instanceof Error ? e.message : String(e) });
    }
  }
  if (issues.length > 0) throw new PluginFileError(definition.file, issues);
  return Object.freeze(out) as OptionsOf<S>;
}

/** The parsed options of the running plugin (parsed once, when its file loaded). */
export function pluginOptions<S extends OptionsSchema>(ctx: PluginContext, schema: S): OptionsOf<S> {
  const parsed = ctx.config.settings;
  // Parsed by the loader with this very declaration; a context built without the loader parses here.
  return (parsed ?? parseOptions(ctx.config, schema)) as OptionsOf<S>;
}
