import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PanoptesError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { Resource } from '../../../src/model/index.js';
import { PluginLoader } from '../../../src/plugins/loader.js';
import { PluginFileError } from '../../../src/plugins/plugin-file.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import JsonDiscoveryDefault, { JsonDiscoveryPlugin } from '../../../plugins/discovery-json.js';
import { LEVEL } from '../../support/capture-logger.js';
import { failureOf, pluginRun } from './plugin-run.js';
import type { Run } from './plugin-run.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const examplePlugins = resolve(here, '../../../examples/plugins');
const FIXTURES = ['devices-set.json', 'devices-array.json', 'device-single.json', 'devices-mixed.json'];

let dir: string;
const store = new MemoryStore({ sweepIntervalMs: 0 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-discovery-json-'));
  for (const name of FIXTURES) await copyFile(join(fixtures, name), join(dir, name));
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A context for a plugin file in the temp dir whose [options] are `options` (none: no section). */
function run(options: Readonly<Record<string, string>>, name = 'inventory-json'): Run {
  return pluginRun(dir, store, 'discovery-json.js', options, name);
}

async function discover(r: Run): Promise<readonly Resource[]> {
  return new JsonDiscoveryPlugin().discover(r.ctx);
}

async function failure(r: Run): Promise<PanoptesError> {
  return failureOf(discover(r));
}

const ids = (resources: readonly Resource[]): string[] => resources.map((r) => r.resource_id);

describe('discovery-json: shapes', () => {
  it('reads a resource set, folding resource_plugin and filling the plugin name and the run time', async () => {
    const r = run({ file: 'devices-set.json' });
    const before = Date.now() / 1000;
    const resources = await discover(r);
    const after = Date.now() / 1000;
    expect(resources).toHaveLength(2);
    expect(resources[0]).toEqual({
      resource_id: 'sw1.dc1',
      resource_site: 'dc1',
      resource_endpoint: '10.0.0.1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'arista',
      resource_creation_timestamp: 1700000000.5,
      resource_creation_plugin: 'inventory',
      resource_metadata: { model: '7280R3', _resource_ttl: '3600' },
    });
    const filled = resources[1];
    expect(filled?.resource_creation_plugin).toBe('inventory-json');
    expect(filled?.resource_creation_timestamp).toBeGreaterThanOrEqual(before);
    expect(filled?.resource_creation_timestamp).toBeLessThanOrEqual(after);
    expect(filled?.resource_metadata).toEqual({});
    expect(r.warnings()).toEqual([]);
  });

  it('reads a bare array', async () => {
    const r = run({ file: 'devices-array.json' });
    const resources = await discover(r);
    expect(ids(resources)).toEqual(['sw1.dc1', 'sw2.dc2']);
    expect(resources.map((x) => x.resource_creation_plugin)).toEqual(['inventory', 'inventory-json']);
    expect(resources[1]?.resource_metadata).toEqual({ rack: 'B12' });
    expect(r.warnings()).toEqual([]);
  });

  it('reads a single resource', async () => {
    const r = run({ file: 'device-single.json' });
    const resources = await discover(r);
    expect(ids(resources)).toEqual(['fw1.dc1']);
    expect(resources[0]?.resource_endpoint).toBe('fw1.dc1.example.net');
    expect(r.warnings()).toEqual([]);
  });

  it('takes an absolute path as it is', async () => {
    const r = run({ file: join(fixtures, 'devices-array.json') });
    expect(ids(await discover(r))).toEqual(['sw1.dc1', 'sw2.dc2']);
  });

  it('gives every filled record the same discovery time', async () => {
    await writeFile(
      join(dir, 'two.json'),
      JSON.stringify(
        ['a', 'b'].map((id) => ({
          resource_id: id,
          resource_site: 's',
          resource_endpoint: id,
          resource_class: 'network',
          resource_subclass: 'switch',
          resource_type: 't',
        })),
      ),
    );
    const resources = await discover(run({ file: 'two.json' }));
    expect(resources[0]?.resource_creation_timestamp).toBe(resources[1]?.resource_creation_timestamp);
  });

  it('reads the file anew on every run, so edits are picked up', async () => {
    const file = join(dir, 'edited.json');
    const device = (id: string): string =>
      JSON.stringify({
        resource_id: id,
        resource_site: 'dc1',
        resource_endpoint: id,
        resource_class: 'network',
        resource_subclass: 'switch',
        resource_type: 'arista',
      });
    await writeFile(file, device('before'));
    const r = run({ file: 'edited.json' });
    const plugin = new JsonDiscoveryPlugin();
    expect(ids(await plugin.discover(r.ctx))).toEqual(['before']);
    await writeFile(file, `[${device('after')}, ${device('added')}]`);
    expect(ids(await plugin.discover(r.ctx))).toEqual(['after', 'added']);
  });

  it('exports the class as default and by name', () => {
    expect(JsonDiscoveryDefault).toBe(JsonDiscoveryPlugin);
  });
});

describe('discovery-json: invalid records', () => {
  it('returns the 3 good records of 5 and warns about each bad one with file, record and paths', async () => {
    const r = run({ file: 'devices-mixed.json' });
    const resources = await discover(r);
    expect(ids(resources)).toEqual(['sw1.dc1', 'sw3.dc1', 'sw5.dc1']);
    const file = join(dir, 'devices-mixed.json');
    const warnings = r.warnings();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe(`${file}: record 1: $[1].resource_site: must match ^[A-Za-z0-9._-]+$`);
    expect(warnings[1]).toContain(`${file}: record 3: `);
    expect(warnings[1]).toContain('$[3].resource_endpoint: is required');
    expect(warnings[1]).toContain('$[3].resource_metadata.rack: must be a string, got an integer');
    const structured = r.records.filter((x) => x.level === LEVEL.warn).map((x) => [x['file'], x['record']]);
    expect(structured).toEqual([
      [file, 1],
      [file, 3],
    ]);
  });

  it('names set records by their path under resources', async () => {
    await writeFile(
      join(dir, 'set-bad.json'),
      JSON.stringify({ resources: [{ resource_id: 'x' }], note: 'hello' }),
    );
    const r = run({ file: 'set-bad.json' });
    expect(await discover(r)).toEqual([]);
    const warnings = r.warnings();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('$.note: unknown key (ignored)');
    expect(warnings[1]).toContain('record 0: $.resources[0].resource_site: is required');
  });

  it('warns about a single resource that is invalid and returns nothing', async () => {
    await writeFile(join(dir, 'single-bad.json'), JSON.stringify({ resource_id: 'x', resource_site: 's' }));
    const r = run({ file: 'single-bad.json' });
    expect(await discover(r)).toEqual([]);
    expect(r.warnings()[0]).toContain('single-bad.json: record 0: $.resource_endpoint: is required');
  });

  it('keeps the first of a repeated resource and warns naming both records', async () => {
    const device = (id: string, endpoint: string): Record<string, string> => ({
      resource_id: id,
      resource_site: 'dc1',
      resource_endpoint: endpoint,
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'arista',
    });
    await writeFile(
      join(dir, 'dupes.json'),
      JSON.stringify([device('a', 'first'), device('b', 'b'), device('a', 'second')]),
    );
    const r = run({ file: 'dupes.json' });
    const resources = await discover(r);
    expect(resources.map((x) => x.resource_endpoint)).toEqual(['first', 'b']);
    expect(r.warnings()).toEqual([
      `${join(dir, 'dupes.json')}: record 2: $[2].resource_id: duplicate of record 0 ($[0]), which is kept`,
    ]);
  });

  it('rejects a document that is neither a resource, an array nor a set', async () => {
    await writeFile(join(dir, 'number.json'), '42');
    const e = await failure(run({ file: 'number.json' }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('number.json is invalid: $: must be a resource');

    await writeFile(join(dir, 'set-object.json'), '{"resources": {}}');
    const f = await failure(run({ file: 'set-object.json' }));
    expect(f.code).toBe('MODEL_INVALID');
    expect(f.message).toContain('$.resources: must be an array');
  });
});

describe('discovery-json: failures', () => {
  it('fails with FILE_READ naming the file when it is missing', async () => {
    const e = await failure(run({ file: 'missing.json' }));
    expect(e.code).toBe('FILE_READ');
    expect(e.message).toContain(`${join(dir, 'missing.json')}: cannot read: ENOENT`);
    expect(e.message).toContain('[options] file = missing.json');
  });

  it('fails with JSON_PARSE giving file:line:column on a syntax error', async () => {
    await writeFile(join(dir, 'broken.json'), '{\n  "resources": [\n    {,\n  ]\n}\n');
    const e = await failure(run({ file: 'broken.json' }));
    expect(e.code).toBe('JSON_PARSE');
    expect(e.message).toMatch(new RegExp(`^${join(dir, 'broken.json').replace(/[.\\]/g, '\\$&')}:3:6: `));
  });

  it('fails with PLUGIN_INVALID naming [options] file when the option is missing', async () => {
    const r = run({});
    const e = await failure(r);
    expect(e).toBeInstanceOf(PluginFileError);
    expect(e.code).toBe('PLUGIN_INVALID');
    expect(e.message).toBe(`${r.ctx.config.file}: [options] file: is required`);
  });

  it('fails with PLUGIN_INVALID on an unknown option', async () => {
    const e = await failure(run({ file: 'devices-set.json', fiel: 'x.json' }));
    expect(e.code).toBe('PLUGIN_INVALID');
    expect(e.message).toContain('[options] fiel: unknown option (expected file)');
  });
});

describe('sample files of the built-in discovery plugins in examples/plugins/', () => {
  it('load through the PluginLoader as discovery plugins (Module = builtin:NAME) without problems', async () => {
    const loader = new PluginLoader({
      directories: [examplePlugins],
      logger: silentLogger,
      rescanIntervalMs: 0,
    });
    try {
      await loader.scan();
      for (const name of ['discovery-json', 'discovery-csv']) {
        const plugin = loader.plugins.get(name);
        expect(plugin?.kind, name).toBe('discovery');
        expect(plugin?.definition.options['file'], name).toBeDefined();
        expect(plugin?.definition.module, name).toBe(`builtin:${name}`);
        expect(loader.problems.get(join(examplePlugins, `${name}.panoptes-plugin`)), name).toBeUndefined();
      }
    } finally {
      loader.close();
    }
  });
});
