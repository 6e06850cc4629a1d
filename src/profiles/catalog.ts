/**
 * The profiles a process knows: the built-in ones (plugins/profiles/) and the users' own from
 * the directories of `profiles.directories`, later directories overriding earlier ones by name.
 * A file that does not load is reported (every problem, with file, line and column) and left
 * out; the others load. Selection follows docs/profiles.md: the profiles whose filter matches
 * the resource; when none does, those whose sysObjectID prefix is the longest match.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Resource } from '../model/index.js';
import { BUILTIN_PROFILES_DIR } from '../package-root.js';
import { isUnder } from '../snmp/oid.js';
import { optionError } from '../plugins/plugin-file.js';
import type { PluginDefinition } from '../plugins/plugin-file.js';
import { loadProfileFile } from './profile.js';
import type { Profile } from './profile.js';

export const PROFILE_EXTENSIONS = ['.yaml', '.yml'];

export interface CatalogProblem {
  readonly file: string;
  readonly message: string;
}

export interface CatalogLoad {
  readonly catalog: ProfileCatalog;
  /** Files that did not load, and names defined again (the later file wins). */
  readonly problems: readonly CatalogProblem[];
}

/** The files of a directory that are profiles, sorted; a missing directory has none. */
async function profileFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => PROFILE_EXTENSIONS.some((e) => n.endsWith(e)))
      .sort()
      .map((n) => join(dir, n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export class ProfileCatalog {
  private readonly byName: ReadonlyMap<string, Profile>;

  constructor(profiles: readonly Profile[]) {
    this.byName = new Map(profiles.map((p) => [p.name, p]));
  }

  /** Loads every profile of the directories, in order; a bad file is a problem, not a failure. */
  static async load(directories: readonly string[]): Promise<CatalogLoad> {
    const problems: CatalogProblem[] = [];
    const profiles = new Map<string, Profile>();
    for (const dir of directories) {
      let files: string[];
      try {
        files = await profileFiles(dir);
      } catch (e) {
        problems.push({ file: dir, message: `${dir}: cannot read the directory: ${errorMessage(e)}` });
        continue;
      }
      const loaded = await Promise.allSettled(files.map((f) => loadProfileFile(f)));
      loaded.forEach((r, i) => {
        const file = files[i] as string;
        if (r.status === 'rejected') {
          problems.push({ file, message: errorMessage(r.reason) });
          return;
        }
        const before = profiles.get(r.value.name);
        if (before !== undefined) {
          problems.push({
            file,
            message: `${file}: profile "${r.value.name}" replaces the one of ${before.file}`,
          });
        }
        profiles.set(r.value.name, r.value);
      });
    }
    return { catalog: new ProfileCatalog([...profiles.values()]), problems };
  }

  /**
   * The built-in profiles and those of `directories` (later ones override by name), every
   * problem logged as a warning with its file and position.
   */
  static async loadLogged(directories: readonly string[], logger: Logger): Promise<ProfileCatalog> {
    const { catalog, problems } = await ProfileCatalog.load([BUILTIN_PROFILES_DIR, ...directories]);
    for (const p of problems) logger.warn({ file: p.file, problem: p.message }, 'SNMP profile problem');
    logger.info({ profiles: catalog.size, problems: problems.length }, 'SNMP profiles loaded');
    return catalog;
  }

  get size(): number {
    return this.byName.size;
  }

  get names(): string[] {
    return [...this.byName.keys()].sort();
  }

  get(name: string): Profile | undefined {
    return this.byName.get(name);
  }

  /** The profiles of these names, for a plugin's option `key`; an unknown one is its option error. */
  named(names: readonly string[], plugin: PluginDefinition, key: string): Profile[] {
    return names.map((n) => {
      const p = this.byName.get(n);
      if (p === undefined)
        throw optionError(plugin, key, `unknown profile "${n}" (known: ${this.names.join(', ')})`);
      return p;
    });
  }

  /** The profiles whose filter matches the resource. */
  byFilter(resource: Resource): Profile[] {
    return [...this.byName.values()].filter((p) => p.filter?.(resource) === true);
  }

  /** Whether any profile is chosen by sysObjectID (so asking the device for it can help). */
  get usesSysObjectId(): boolean {
    return [...this.byName.values()].some((p) => p.sysObjectIds.length > 0);
  }

  /** The profiles whose sysObjectID prefix is the longest match of the device's sysObjectID. */
  bySysObjectId(sysObjectId: string): Profile[] {
    let best = -1;
    let chosen: Profile[] = [];
    for (const p of this.byName.values()) {
      for (const prefix of p.sysObjectIds) {
        if (sysObjectId !== prefix && !isUnder(prefix, sysObjectId)) continue;
        if (prefix.length > best) {
          best = prefix.length;
          chosen = [p];
        } else if (prefix.length === best && !chosen.includes(p)) chosen.push(p);
      }
    }
    return chosen;
  }
}
