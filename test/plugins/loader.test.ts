import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PanoptesError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { PluginLoader } from '../../src/plugins/loader.js';
import type { PluginSet } from '../../src/plugins/loader.js';
import { PluginFileError } from '../../src/plugins/plugin-file.js';
import { LEVEL, captureLogger } from '../support/capture-logger.js';

let root: string;
const loaders: PluginLoader[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'panoptes-loader-'));
});

afterEach(() => {
  vi.useRealTimers();
  for (const l of loaders.splice(0)) l.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh plugin directory for one test. */
async function pluginDir(): Promise<string> {
  return mkdtemp(join(root, 'case-'));
}

function loaderFor(...directories: string[]): PluginLoader {
  const loader = new PluginLoader({ directories, logger: silentLogger, rescanIntervalMs: 0 });
  loaders.push(loader);
  return loader;
}

function pluginFile(name: string, module: string, frequency = 60, extra = ''): string {
  return `[Core]\nName = ${name}\nModule = ${module}\n[main]\nexecute_frequency = ${frequency}\n${extra}`;
}

/** A polling plugin module whose instances say which version of the module made them. */
function pollingModule(marker: string): string {
  return [
    `let made = 0;`,
    `export default class Plugin {`,
    `  constructor() { made++; this.serial = made; }`,
    `  marker() { return '${marker}'; }`,
    `  poll() { return Promise.resolve([]); }`,
    `}`,
  ].join('\n');
}

async function write(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

interface Marked {
  marker(): string;
}

const markerOf = (plugins: PluginSet, name: string): string | undefined =>
  (plugins.get(name)?.instance as unknown as Marked | undefined)?.marker();

function codeOf(loader: PluginLoader, file: string): string | undefined {
  return loader.problems.get(file)?.code;
}

describe('PluginLoader: loading', () => {
  it('loads polling, enrichment and discovery plugins from every directory', async () => {
    const dir = await pluginDir();
    const other = await pluginDir();
    await write(dir, {
      'poll.panoptes-plugin': pluginFile('poll', 'poll.mjs'),
      'poll.mjs': pollingModule('p1'),
      'enrich.panoptes-plugin': pluginFile('enrich', './lib/enrich'),
      'README.md': 'not a plugin',
      'ignored.panoptes-plugin.bak': pluginFile('ignored', 'poll.mjs'),
    });
    await mkdir(join(dir, 'lib'));
    await write(join(dir, 'lib'), {
      // No default export: the first exported class with a plugin method.
      'enrich.mjs': `export const helper = 1;\nexport class Enricher { enrich() { return Promise.resolve([]); } }\n`,
    });
    await write(other, {
      'discover.panoptes-plugin': pluginFile('discover', 'discover.js', 3600),
      'discover.js': `export default class { discover() { return Promise.resolve([]); } }\n`,
    });
    const loader = loaderFor(dir, other);
    await loader.scan();
    expect(loader.problems.size).toBe(0);
    const plugins = loader.plugins;
    expect([...plugins.keys()].sort()).toEqual(['discover', 'enrich', 'poll']);
    expect(plugins.get('poll')?.kind).toBe('polling');
    expect(plugins.get('enrich')?.kind).toBe('enrichment');
    expect(plugins.get('discover')?.kind).toBe('discovery');
    expect(plugins.get('discover')?.definition.executeFrequencySeconds).toBe(3600);
    expect(plugins.get('poll')?.definition.file).toBe(join(dir, 'poll.panoptes-plugin'));
    expect(plugins.get('poll')?.version).toMatch(/^[0-9a-f]{40}$/);
    expect(markerOf(plugins, 'poll')).toBe('p1');
  });

  it('reports a broken file with file, section and key, and loads the others', async () => {
    const dir = await pluginDir();
    await write(dir, {
      'a.panoptes-plugin': pluginFile('a', 'mod.mjs'),
      'b.panoptes-plugin': pluginFile('b', 'mod.mjs', 0),
      'c.panoptes-plugin': pluginFile('c', 'mod.mjs', 60, '[snmp]\nversion = 4\n'),
      'mod.mjs': pollingModule('m'),
    });
    const { logger, records } = captureLogger();
    const loader = new PluginLoader({ directories: [dir], logger, rescanIntervalMs: 0 });
    loaders.push(loader);
    await loader.scan();
    expect([...loader.plugins.keys()]).toEqual(['a']);
    const b = loader.problems.get(join(dir, 'b.panoptes-plugin'));
    expect(b).toBeInstanceOf(PluginFileError);
    expect((b as PluginFileError).issues).toEqual([
      {
        section: 'main',
        key: 'execute_frequency',
        message: 'must be an integer number of seconds from 1 to 31536000, got "0"',
      },
    ]);
    expect(b?.message).toBe(
      `${join(dir, 'b.panoptes-plugin')}: [main] execute_frequency: must be an integer number of seconds from 1 to 31536000, got "0"`,
    );
    expect(loader.problems.get(join(dir, 'c.panoptes-plugin'))?.message).toBe(
      `${join(dir, 'c.panoptes-plugin')}: [snmp] version: must be 1, 2c or 3`,
    );
    const errors = records.filter((r) => r.level === LEVEL.error);
    expect(errors.map((r) => r['file']).sort()).toEqual([
      join(dir, 'b.panoptes-plugin'),
      join(dir, 'c.panoptes-plugin'),
    ]);
    // The same problem is not logged again on every rescan.
    await loader.scan();
    expect(records.filter((r) => r.level === LEVEL.error)).toHaveLength(2);
  });

  it('isolates modules that fail: throw at import, no plugin class, constructor throws, no plugin method, missing', async () => {
    const dir = await pluginDir();
    await write(dir, {
      'good.panoptes-plugin': pluginFile('good', 'good.mjs'),
      'good.mjs': pollingModule('good'),
      'throws.panoptes-plugin': pluginFile('throws', 'throws.mjs'),
      'throws.mjs': `throw new Error('import exploded');\n`,
      'syntax.panoptes-plugin': pluginFile('syntax', 'syntax.mjs'),
      'syntax.mjs': `export default class {\n`,
      'noclass.panoptes-plugin': pluginFile('noclass', 'noclass.mjs'),
      'noclass.mjs': `export const answer = 42;\nexport function helper() { return 1; }\n`,
      'ctor.panoptes-plugin': pluginFile('ctor', 'ctor.mjs'),
      'ctor.mjs': `export default class { constructor() { throw new Error('constructor exploded'); } poll() {} }\n`,
      'nomethod.panoptes-plugin': pluginFile('nomethod', 'nomethod.mjs'),
      'nomethod.mjs': `export default class Nothing { run() {} }\n`,
      'missing.panoptes-plugin': pluginFile('missing', 'not-there'),
    });
    const loader = loaderFor(dir);
    await loader.scan();
    expect([...loader.plugins.keys()]).toEqual(['good']);
    const problem = (name: string): PanoptesError | undefined =>
      loader.problems.get(join(dir, `${name}.panoptes-plugin`));
    for (const name of ['throws', 'syntax', 'noclass', 'ctor', 'nomethod', 'missing']) {
      expect(problem(name)?.code, name).toBe('PLUGIN_LOAD');
      expect(problem(name)?.message, name).toMatch(
        new RegExp(
          `^${join(dir, `${name}.panoptes-plugin`).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\[Core\\] Module: `,
        ),
      );
      expect(problem(name)?.details['plugin']).toBe(name);
    }
    expect(problem('throws')?.message).toContain('cannot be loaded: import exploded');
    expect(problem('syntax')?.message).toContain('cannot be loaded');
    expect(problem('noclass')?.message).toContain(
      'exports no plugin class (poll, enrich or discover method)',
    );
    expect(problem('ctor')?.message).toContain('constructor threw: constructor exploded');
    expect(problem('nomethod')?.message).toContain('the class has no poll, enrich or discover method');
    expect(problem('missing')?.message).toContain(
      `"not-there" not found (looked for ${join(dir, 'not-there')}`,
    );
    expect(problem('throws')?.cause).toBeInstanceOf(Error);
  });

  it('gives each of several plugin files sharing one module its own instance', async () => {
    const dir = await pluginDir();
    await write(dir, {
      'one.panoptes-plugin': pluginFile('one', 'shared.mjs', 60),
      'two.panoptes-plugin': pluginFile('two', './shared.mjs', 300),
      'shared.mjs': pollingModule('shared'),
    });
    const loader = loaderFor(dir);
    await loader.scan();
    const one = loader.plugins.get('one');
    const two = loader.plugins.get('two');
    expect(one?.kind).toBe('polling');
    expect(two?.kind).toBe('polling');
    expect(one?.instance).not.toBe(two?.instance);
    expect(one?.definition.executeFrequencySeconds).toBe(60);
    expect(two?.definition.executeFrequencySeconds).toBe(300);
    expect(one?.definition.modulePath).toBe(two?.definition.modulePath);
    expect(markerOf(loader.plugins, 'one')).toBe('shared');
    expect(markerOf(loader.plugins, 'two')).toBe('shared');
  });

  it('logs and survives a directory that does not exist', async () => {
    const dir = await pluginDir();
    await write(dir, { 'p.panoptes-plugin': pluginFile('p', 'p.mjs'), 'p.mjs': pollingModule('p') });
    const { logger, records } = captureLogger();
    const loader = new PluginLoader({ directories: [join(dir, 'nope'), dir], logger, rescanIntervalMs: 0 });
    loaders.push(loader);
    await loader.scan();
    expect([...loader.plugins.keys()]).toEqual(['p']);
    expect(records.some((r) => r.level === LEVEL.warn && r['dir'] === join(dir, 'nope'))).toBe(true);
  });
});

describe('PluginLoader: rescans', () => {
  it('picks up added, changed and removed files and changed modules; plugins$ emits after each change only', async () => {
    const dir = await pluginDir();
    await write(dir, { 'a.panoptes-plugin': pluginFile('a', 'a.mjs'), 'a.mjs': pollingModule('a1') });
    const loader = loaderFor(dir);
    const emitted: PluginSet[] = [];
    loader.plugins$.subscribe((set) => emitted.push(set));
    expect(emitted).toHaveLength(1); // the current (empty) set on subscribe
    await loader.scan();
    expect(emitted).toHaveLength(2);
    const a1 = loader.plugins.get('a');
    expect(markerOf(loader.plugins, 'a')).toBe('a1');

    // Nothing changed: no emission, same objects.
    await loader.scan();
    expect(emitted).toHaveLength(2);
    expect(loader.plugins.get('a')).toBe(a1);

    // Added.
    await write(dir, { 'b.panoptes-plugin': pluginFile('b', 'a.mjs') });
    await loader.scan();
    expect(emitted).toHaveLength(3);
    expect([...loader.plugins.keys()].sort()).toEqual(['a', 'b']);
    expect(loader.plugins.get('a')).toBe(a1);

    // Changed file: a new version with the new frequency.
    await write(dir, { 'a.panoptes-plugin': pluginFile('a', 'a.mjs', 120) });
    await loader.scan();
    expect(emitted).toHaveLength(4);
    const a2 = loader.plugins.get('a');
    expect(a2).not.toBe(a1);
    expect(a2?.definition.executeFrequencySeconds).toBe(120);
    expect(a2?.version).not.toBe(a1?.version);

    // Changed module: both plugins using it are reloaded with the new code.
    const b1 = loader.plugins.get('b');
    await write(dir, { 'a.mjs': pollingModule('a2') });
    await loader.scan();
    expect(emitted).toHaveLength(5);
    expect(markerOf(loader.plugins, 'a')).toBe('a2');
    expect(markerOf(loader.plugins, 'b')).toBe('a2');
    expect(loader.plugins.get('b')).not.toBe(b1);

    // Removed.
    await unlink(join(dir, 'b.panoptes-plugin'));
    await loader.scan();
    expect(emitted).toHaveLength(6);
    expect([...loader.plugins.keys()]).toEqual(['a']);
    expect(emitted.at(-1)).toBe(loader.plugins);
    expect(loader.problems.size).toBe(0);
  });

  it('loads a plugin once its missing module appears, even though the plugin file did not change', async () => {
    const dir = await pluginDir();
    await write(dir, { 'late.panoptes-plugin': pluginFile('late', 'late.mjs') });
    const loader = loaderFor(dir);
    await loader.scan();
    expect(codeOf(loader, join(dir, 'late.panoptes-plugin'))).toBe('PLUGIN_LOAD');
    await write(dir, { 'late.mjs': pollingModule('late') });
    await loader.scan();
    expect(loader.problems.size).toBe(0);
    expect(markerOf(loader.plugins, 'late')).toBe('late');
  });

  it('keeps the last good version of a file that turned invalid, lists the problem, and clears it when fixed', async () => {
    const dir = await pluginDir();
    const file = join(dir, 'p.panoptes-plugin');
    await write(dir, { 'p.panoptes-plugin': pluginFile('p', 'p.mjs'), 'p.mjs': pollingModule('p1') });
    const loader = loaderFor(dir);
    await loader.scan();
    const good = loader.plugins.get('p');

    await write(dir, {
      'p.panoptes-plugin': pluginFile('p', 'p.mjs', 60, 'resource_filter = resource_class =\n'),
    });
    await loader.scan();
    expect(loader.plugins.get('p')).toBe(good);
    expect(codeOf(loader, file)).toBe('PLUGIN_INVALID');
    expect((loader.problems.get(file) as PluginFileError).issues[0]).toMatchObject({
      section: 'main',
      key: 'resource_filter',
    });

    // A module that now throws at import also keeps the last good version.
    await write(dir, {
      'p.panoptes-plugin': pluginFile('p', 'p.mjs', 90),
      'p.mjs': `throw new Error('broken');\n`,
    });
    await loader.scan();
    expect(loader.plugins.get('p')).toBe(good);
    expect(codeOf(loader, file)).toBe('PLUGIN_LOAD');

    await write(dir, { 'p.mjs': pollingModule('p2') });
    await loader.scan();
    expect(loader.problems.size).toBe(0);
    expect(loader.plugins.get('p')?.definition.executeFrequencySeconds).toBe(90);
    expect(markerOf(loader.plugins, 'p')).toBe('p2');

    // Removing a file with a problem forgets the problem too.
    await write(dir, { 'p.panoptes-plugin': '[Core]\n' });
    await loader.scan();
    expect(loader.problems.has(file)).toBe(true);
    await unlink(file);
    await loader.scan();
    expect(loader.problems.size).toBe(0);
    expect(loader.plugins.size).toBe(0);
  });

  it('reports a duplicate Name on the second file (path order); the first stays in service', async () => {
    const dir = await pluginDir();
    await write(dir, {
      'a.panoptes-plugin': pluginFile('dup', 'm.mjs', 60),
      'b.panoptes-plugin': pluginFile('dup', 'm.mjs', 300),
      'm.mjs': pollingModule('m'),
    });
    const loader = loaderFor(dir);
    await loader.scan();
    expect(loader.plugins.get('dup')?.definition.file).toBe(join(dir, 'a.panoptes-plugin'));
    const problem = loader.problems.get(join(dir, 'b.panoptes-plugin'));
    expect(problem?.code).toBe('PLUGIN_INVALID');
    expect(problem?.message).toBe(
      `${join(dir, 'b.panoptes-plugin')}: [Core] Name: "dup" is already used by ${join(dir, 'a.panoptes-plugin')}`,
    );
    expect(loader.problems.has(join(dir, 'a.panoptes-plugin'))).toBe(false);
  });

  it('when the first of two files with the same Name goes away, the second takes over and its problem is cleared', async () => {
    const dir = await pluginDir();
    const second = join(dir, 'b.panoptes-plugin');
    await write(dir, {
      'a.panoptes-plugin': pluginFile('dup', 'm.mjs', 60),
      'b.panoptes-plugin': pluginFile('dup', 'm.mjs', 300),
      'm.mjs': pollingModule('m'),
    });
    const loader = loaderFor(dir);
    await loader.scan();
    expect(loader.problems.has(second)).toBe(true);
    await unlink(join(dir, 'a.panoptes-plugin'));
    await loader.scan();
    expect(loader.plugins.get('dup')?.definition.file).toBe(second);
    // Regression (fixed): problems are only cleared when a file is (re)loaded or removed; b is unchanged, so its
    // stale "already used by a.panoptes-plugin" problem stays listed although b is now in service.
    expect(loader.problems.has(second)).toBe(false);
  });

  it('rescans on its interval when rescanIntervalMs > 0, and close() stops it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const dir = await pluginDir();
    const loader = new PluginLoader({ directories: [dir], logger: silentLogger, rescanIntervalMs: 5000 });
    loaders.push(loader);
    await write(dir, { 'i.panoptes-plugin': pluginFile('i', 'i.mjs'), 'i.mjs': pollingModule('i') });
    const loaded = firstValueFrom(loader.plugins$.pipe(filter((set) => set.has('i'))));
    vi.advanceTimersByTime(4999);
    expect(loader.plugins.size).toBe(0);
    vi.advanceTimersByTime(1);
    const result = await Promise.race([
      loaded,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000)),
    ]);
    expect(result).not.toBe('timeout');
    expect(vi.getTimerCount()).toBe(1);
    loader.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
