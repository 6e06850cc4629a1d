/**
 * Loads `.panoptes-plugin` files from directories, imports their modules and instantiates the
 * plugin classes; rescans on an interval and picks up added, changed and removed files.
 *
 * Isolation: a file that does not parse, a module that does not load or exports no plugin class,
 * or a constructor that throws is reported (logged, and kept in `problems`) and skipped; every
 * other plugin is unaffected. When a file that was loading fine turns bad, its last good version
 * stays in service until the file is fixed or removed, so a broken edit does not stop polling.
 * Several plugin files may share one module (each gets its own instance).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BehaviorSubject } from 'rxjs';
import type { Observable } from 'rxjs';
import { PanoptesError, errorMessage, isPanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT, RUNNING_TYPESCRIPT } from '../package-root.js';
import { pluginKindOf } from './api.js';
import type { PluginInstance, PluginKind } from './api.js';
import { parsePluginFile } from './plugin-file.js';
import { isOptionsSchema, parseOptions } from './options.js';
import { deepFreeze } from '../freeze.js';
import type { PluginDefinition } from './plugin-file.js';

export const PLUGIN_FILE_SUFFIX = '.panoptes-plugin';

export interface LoadedPlugin {
  readonly definition: PluginDefinition;
  readonly kind: PluginKind;
  readonly instance: PluginInstance;
  /** Content hash of the plugin file and its module when loaded. */
  readonly version: string;
}

export type PluginSet = ReadonlyMap<string, LoadedPlugin>;

export interface LoaderOptions {
  readonly directories: readonly string[];
  readonly logger: Logger;
  /**
   * The package's own plugin files (plugins.builtin): loaded like the rest, but a file of
   * `directories` with the same Name replaces a built-in one instead of clashing with it.
   */
  readonly builtinDirectory?: string;
  /** Directories that may be missing without a warning (the default plugins directory). */
  readonly optionalDirectories?: readonly string[];
  /** Rescan every this many ms; 0 = only when scan() is called. Default 60000. */
  readonly rescanIntervalMs?: number;
}

const MODULE_EXTENSIONS = ['', '.js', '.mjs', '.ts'];

/**
 * The compiled twin of a TypeScript file of this package (plugins/x.ts -> dist/plugins/x.js),
 * used when running compiled JavaScript, where Node cannot import .ts.
 */
function compiledTwin(file: string): string | undefined {
  const rel = relative(PACKAGE_ROOT, file);
  if (rel.startsWith('..') || rel.startsWith(`dist${sep}`) || resolve(PACKAGE_ROOT, rel) !== file)
    return undefined;
  const twin = join(PACKAGE_ROOT, 'dist', `${rel.slice(0, -3)}.js`);
  return existsSync(twin) ? twin : undefined;
}

function resolveModule(path: string): string | undefined {
  let found: string | undefined;
  for (const ext of MODULE_EXTENSIONS) {
    const candidate = path + ext;
    if (existsSync(candidate) && !candidate.endsWith(PLUGIN_FILE_SUFFIX)) {
      found = candidate;
      break;
    }
  }
  // "x.js" written for a TypeScript source (the built-in plugins, plugins under development).
  if (found === undefined && path.endsWith('.js') && existsSync(`${path.slice(0, -3)}.ts`))
    found = `${path.slice(0, -3)}.ts`;
  if (found?.endsWith('.ts') === true && !RUNNING_TYPESCRIPT) return compiledTwin(found) ?? found;
  return found;
}

function isConstructor(v: unknown): v is new () => unknown {
  return typeof v === 'function' && typeof (v as { prototype?: unknown }).prototype === 'object';
}

/** The plugin class of a module: its default export, else the first exported class with a plugin method. */
function pluginClass(module: Record<string, unknown>): (new () => unknown) | undefined {
  const def = module['default'];
  if (isConstructor(def)) return def;
  for (const value of Object.values(module)) {
    if (isConstructor(value) && pluginKindOf(value.prototype) !== undefined) return value;
  }
  return undefined;
}

export class PluginLoader {
  private readonly directories: readonly string[];
  private readonly builtinDirectory: string | undefined;
  private readonly optional: ReadonlySet<string>;
  private readonly logger: Logger;
  private readonly subject = new BehaviorSubject<PluginSet>(new Map());
  private readonly byFile = new Map<string, LoadedPlugin>();
  private readonly fileVersions = new Map<string, string>();
  /** Current problem of each file that has one. */
  readonly problems = new Map<string, PanoptesError>();
  /** Files whose current problem is a duplicate Name (recomputed on every scan). */
  private readonly duplicates = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();

  constructor(options: LoaderOptions) {
    this.builtinDirectory =
      options.builtinDirectory === undefined ? undefined : resolve(options.builtinDirectory);
    this.directories = [
      ...options.directories.map((d) => resolve(d)),
      ...(this.builtinDirectory === undefined ? [] : [this.builtinDirectory]),
    ];
    this.optional = new Set((options.optionalDirectories ?? []).map((d) => resolve(d)));
    this.logger = options.logger;
    const every = options.rescanIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.scan(), every);
      this.timer.unref();
    }
  }

  /** The loaded plugins by name; emits after every scan that changed something. */
  get plugins$(): Observable<PluginSet> {
    return this.subject.asObservable();
  }

  get plugins(): PluginSet {
    return this.subject.value;
  }

  /** Scans every directory once (scans never overlap). */
  scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.doScan());
    return this.scanning;
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.subject.complete();
  }

  private isBuiltin(file: string): boolean {
    return this.builtinDirectory !== undefined && dirname(file) === this.builtinDirectory;
  }

  private async listFiles(): Promise<string[]> {
    const files: string[] = [];
    for (const dir of this.directories) {
      try {
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          if (entry.isFile() && entry.name.endsWith(PLUGIN_FILE_SUFFIX)) files.push(join(dir, entry.name));
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && this.optional.has(dir)) continue;
        this.logger.warn({ dir, err: errorMessage(e) }, 'plugin directory cannot be read');
      }
    }
    return files.sort();
  }

  private async doScan(): Promise<void> {
    const files = await this.listFiles();
    let changed = false;
    const present = new Set(files);
    for (const file of [...this.byFile.keys()]) {
      if (!present.has(file)) {
        this.byFile.delete(file);
        this.fileVersions.delete(file);
        this.problems.delete(file);
        changed = true;
        this.logger.info({ file }, 'plugin removed');
      }
    }
    for (const file of [...this.problems.keys()]) if (!present.has(file)) this.problems.delete(file);

    for (const file of files) {
      let version: string;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
        const def = parsePluginFile(text, file);
        const modulePath = resolveModule(def.modulePath);
        const moduleText = modulePath === undefined ? '' : await readFile(modulePath, 'utf8');
        version = createHash('sha1').update(text).update('\u0000').update(moduleText).digest('hex');
        if (this.fileVersions.get(file) === version) continue;
        const loaded = await this.load(def, modulePath, version);
        this.fileVersions.set(file, version);
        const previous = this.byFile.get(file);
        this.byFile.set(file, loaded);
        this.problems.delete(file);
        changed = true;
        this.logger.info(
          { file, plugin: def.name, kind: loaded.kind },
          previous === undefined ? 'plugin loaded' : 'plugin reloaded',
        );
      } catch (e) {
        const error = isPanoptesError(e)
          ? e
          : new PanoptesError('PLUGIN_LOAD', `${file}: ${errorMessage(e)}`, { cause: e, details: { file } });
        const known = this.problems.get(file);
        if (known?.message !== error.message) {
          this.logger.error(
            { file, code: error.code, keptPreviousVersion: this.byFile.has(file) },
            `plugin not loaded: ${error.message}`,
          );
        }
        this.problems.set(file, error);
      }
    }

    // Names must be unique: the first file (in path order) wins. Recomputed from scratch, so a
    // file whose rival went away is back in service with its problem cleared.
    const reported = new Map([...this.duplicates].map((f) => [f, this.problems.get(f)?.message]));
    for (const file of this.duplicates) this.problems.delete(file);
    this.duplicates.clear();
    const next = new Map<string, LoadedPlugin>();
    const builtin = (file: string): number => (this.isBuiltin(file) ? 1 : 0);
    const ordered = [...this.byFile].sort(([a], [b]) => builtin(a) - builtin(b) || a.localeCompare(b));
    for (const [file, plugin] of ordered) {
      const other = next.get(plugin.definition.name);
      if (other !== undefined && this.isBuiltin(file) && !this.isBuiltin(other.definition.file)) continue;
      if (other !== undefined) {
        const error = new PanoptesError(
          'PLUGIN_INVALID',
          `${file}: [Core] Name: "${plugin.definition.name}" is already used by ${other.definition.file}`,
          { details: { file } },
        );
        if (reported.get(file) !== error.message) this.logger.error({ file }, error.message);
        this.problems.set(file, error);
        this.duplicates.add(file);
        continue;
      }
      next.set(plugin.definition.name, plugin);
    }
    const current = this.subject.value;
    if (changed || next.size !== current.size || [...next].some(([n, p]) => current.get(n) !== p)) {
      this.subject.next(next);
    }
  }

  private async load(
    def: PluginDefinition,
    modulePath: string | undefined,
    version: string,
  ): Promise<LoadedPlugin> {
    const fail = (message: string, cause?: unknown): PanoptesError =>
      new PanoptesError('PLUGIN_LOAD', `${def.file}: [Core] Module: ${message}`, {
        ...(cause === undefined ? {} : { cause }),
        details: { file: def.file, plugin: def.name },
      });
    if (modulePath === undefined)
      throw fail(`"${def.module}" not found (looked for ${def.modulePath}[.js|.mjs|.ts])`);
    if (modulePath.endsWith('.ts') && !RUNNING_TYPESCRIPT) {
      throw fail(
        `${modulePath} is TypeScript, which Node.js does not run as it is: compile it to JavaScript ` +
          `and point Module at the .js file (or run the poller through a TypeScript loader such as tsx)`,
      );
    }
    let module: Record<string, unknown>;
    try {
      // The version in the URL makes a changed module load anew instead of from the cache.
      module = (await import(`${pathToFileURL(modulePath).href}?v=${version.slice(0, 12)}`)) as Record<
        string,
        unknown
      >;
    } catch (e) {
      throw fail(`cannot be loaded: ${errorMessage(e)}`, e);
    }
    const Cls = pluginClass(module);
    if (Cls === undefined)
      throw fail(`${modulePath} exports no plugin class (poll, enrich or discover method)`);
    let instance: unknown;
    try {
      instance = new Cls();
    } catch (e) {
      throw fail(`constructor threw: ${errorMessage(e)}`, e);
    }
    const kind = pluginKindOf(instance);
    if (kind === undefined) throw fail(`${modulePath}: the class has no poll, enrich or discover method`);
    // The module's options declaration checks the file's [options] now, not at the first run.
    const declared = module['options'];
    const definition = isOptionsSchema(declared)
      ? deepFreeze({ ...def, settings: parseOptions(def, declared) })
      : def;
    return { definition, kind, instance: instance as PluginInstance, version };
  }
}
