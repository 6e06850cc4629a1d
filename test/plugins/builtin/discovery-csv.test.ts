import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PanoptesError } from '../../../src/errors.js';
import type { Resource } from '../../../src/model/index.js';
import { PluginFileError } from '../../../src/plugins/plugin-file.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import CsvDiscoveryDefault, { CsvDiscoveryPlugin } from '../../../plugins/discovery-csv.js';
import { LEVEL } from '../../support/capture-logger.js';
import { failureOf, pluginRun } from './plugin-run.js';
import type { Run } from './plugin-run.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const FIXTURES = ['devices.csv', 'devices-mixed.csv'];

const HEADER = 'resource_id,resource_site,resource_endpoint,resource_class,resource_subclass,resource_type';

let dir: string;
const store = new MemoryStore({ sweepIntervalMs: 0 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-discovery-csv-'));
  for (const name of FIXTURES) await copyFile(join(fixtures, name), join(dir, name));
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A context for a plugin file in the temp dir whose [options] are `options` (none: no section). */
function run(options: Readonly<Record<string, string>>, name = 'inventory-csv'): Run {
  return pluginRun(dir, store, 'discovery-csv.js', options, name);
}

/** Writes `text` to a file in the temp dir and runs the plugin on it. */
async function discoverText(
  name: string,
  text: string,
  options: Readonly<Record<string, string>> = {},
): Promise<{ resources: readonly Resource[]; r: Run; file: string }> {
  await writeFile(join(dir, name), text);
  const r = run({ file: name, ...options });
  return { resources: await new CsvDiscoveryPlugin().discover(r.ctx), r, file: join(dir, name) };
}

async function failure(r: Run): Promise<PanoptesError> {
  return failureOf(new CsvDiscoveryPlugin().discover(r.ctx));
}

const ids = (resources: readonly Resource[]): string[] => resources.map((r) => r.resource_id);

describe('discovery-csv: valid files', () => {
  it('reads resource and metadata columns, quoted cells with commas, quotes and newlines', async () => {
    const r = run({ file: 'devices.csv' });
    const before = Date.now() / 1000;
    const resources = await new CsvDiscoveryPlugin().discover(r.ctx);
    expect(ids(resources)).toEqual(['sw1.dc1', 'sw2.dc1', 'rt1.dc1']);
    expect(resources[0]).toEqual({
      resource_id: 'sw1.dc1',
      resource_site: 'dc1',
      resource_endpoint: '10.0.0.1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'arista',
      resource_creation_timestamp: 1700000000.5,
      resource_creation_plugin: 'inventory',
      resource_metadata: { model: '7280R3', note: 'rack 12, row B', _resource_ttl: '3600' },
    });
    // Empty cells: the metadata key is absent; plugin and timestamp get their defaults.
    expect(resources[1]?.resource_metadata).toEqual({
      model: '7050',
      note: 'first line\nsecond, with a comma\nthird',
    });
    expect(resources[1]?.resource_creation_plugin).toBe('inventory-csv');
    expect(resources[1]?.resource_creation_timestamp).toBeGreaterThanOrEqual(before);
    // Whitespace around cells is trimmed, doubled quotes inside quotes are one quote.
    expect(resources[2]?.resource_site).toBe('dc1');
    expect(resources[2]?.resource_metadata).toEqual({ model: 'MX "480"' });
  });

  it('gives the line a row starts on after quoted multi-line cells and blank lines', async () => {
    const r = run({ file: 'devices.csv' });
    await new CsvDiscoveryPlugin().discover(r.ctx);
    expect(r.warnings()).toEqual([
      `${join(dir, 'devices.csv')}: line 8: resource_site: must match ^[A-Za-z0-9._-]+$`,
    ]);
    expect(r.records.find((x) => x.level === LEVEL.warn)?.['line']).toBe(8);
  });

  it('counts lines right in a CRLF file with a CRLF inside a quoted cell', async () => {
    const text = [
      `${HEADER},metadata.note`,
      'a,s,a,network,switch,t,"one\r\ntwo"',
      '',
      'b,s,b,network,switch,t,',
      'c,s,,network,switch,t,',
      '',
    ].join('\r\n');
    const { resources, r, file } = await discoverText('crlf.csv', text);
    expect(ids(resources)).toEqual(['a', 'b']);
    expect(resources[0]?.resource_metadata).toEqual({ note: 'one\r\ntwo' });
    expect(r.warnings()).toEqual([`${file}: line 6: resource_endpoint: is required`]);
  });

  it('skips a UTF-8 byte order mark, blank lines and rows of empty cells', async () => {
    const text = `\uFEFF${HEADER}\n\n  \n,,,,,\na,s,a,network,switch,t\n\n`;
    const { resources, r } = await discoverText('bom.csv', text);
    expect(ids(resources)).toEqual(['a']);
    expect(r.warnings()).toEqual([]);
  });

  it('returns nothing and warns about nothing for a header without rows', async () => {
    const { resources, r } = await discoverText('header-only.csv', `${HEADER}\n`);
    expect(resources).toEqual([]);
    expect(r.warnings()).toEqual([]);
  });

  it('takes another delimiter, including tab', async () => {
    const semi = await discoverText(
      'semi.csv',
      `${HEADER.replaceAll(',', ';')}\na;s;a,b;network;switch;t\n`,
      {
        delimiter: ';',
      },
    );
    expect(semi.resources[0]?.resource_endpoint).toBe('a,b');
    const tab = await discoverText(
      'tab.tsv',
      `${HEADER.replaceAll(',', '\t')}\na\ts\ta\tnetwork\tswitch\tt\n`,
      {
        delimiter: 'tab',
      },
    );
    expect(ids(tab.resources)).toEqual(['a']);
  });

  it('accepts resource_creation_plugin and resource_plugin together when they agree', async () => {
    const text = `${HEADER},resource_creation_plugin,resource_plugin\na,s,a,n,c,t,x,x\nb,s,b,n,c,t,x,y\n`;
    const { resources, r, file } = await discoverText('both-plugins.csv', text);
    expect(resources.map((x) => x.resource_creation_plugin)).toEqual(['x']);
    expect(r.warnings()).toEqual([
      `${file}: line 3: resource_plugin: differs from resource_creation_plugin (give one of them)`,
    ]);
  });

  it('exports the class as default and by name', () => {
    expect(CsvDiscoveryDefault).toBe(CsvDiscoveryPlugin);
  });
});

describe('discovery-csv: invalid rows', () => {
  it('returns the 3 good rows of 5 and warns about each bad one with file, line and column', async () => {
    const r = run({ file: 'devices-mixed.csv' });
    const resources = await new CsvDiscoveryPlugin().discover(r.ctx);
    expect(ids(resources)).toEqual(['sw1.dc1', 'sw3.dc1', 'sw5.dc1']);
    expect(resources.map((x) => x.resource_metadata)).toEqual([{ rack: 'A1' }, {}, { rack: 'A5' }]);
    const file = join(dir, 'devices-mixed.csv');
    expect(r.warnings()).toEqual([
      `${file}: line 3: has 5 cells, the header has 7`,
      `${file}: line 5: resource_endpoint: is required`,
    ]);
  });

  it('reports every problem of a row by its column', async () => {
    const text = `${HEADER},resource_creation_timestamp,metadata._resource_ttl\na,bad site,a,n,c,t,yesterday,-1\n`;
    const { resources, r, file } = await discoverText('row-problems.csv', text);
    expect(resources).toEqual([]);
    expect(r.warnings()).toEqual([
      `${file}: line 2: resource_creation_timestamp: must be a number of seconds, got "yesterday"; ` +
        'resource_site: must match ^[A-Za-z0-9._-]+$; ' +
        'metadata._resource_ttl: must be a positive integer number of seconds',
    ]);
  });

  it('keeps the first of a repeated resource and warns naming both lines', async () => {
    const text = `${HEADER}\na,s,first,n,c,t\na,other,a,n,c,t\na,s,second,n,c,t\n`;
    const { resources, r, file } = await discoverText('dupes.csv', text);
    expect(resources.map((x) => x.resource_endpoint)).toEqual(['first', 'a']);
    expect(r.warnings()).toEqual([
      `${file}: line 4: resource_id: duplicate of line 2 (same resource_id and resource_site), which is kept`,
    ]);
  });
});

describe('discovery-csv: failures', () => {
  it('fails the whole file on an unknown column, naming it', async () => {
    await writeFile(
      join(dir, 'typo.csv'),
      'resource_id,resource_sit,resource_endpoint,resource_class,resource_subclass,resource_type,metdata.rack\n' +
        'a,s,a,n,c,t,r\n',
    );
    const e = await failure(run({ file: 'typo.csv' }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain(`${join(dir, 'typo.csv')} is invalid: `);
    expect(e.message).toContain('line 1, column 2 "resource_sit": unknown column');
    expect(e.message).toContain('line 1, column 7 "metdata.rack": unknown column');
    expect(e.message).toContain('line 1: column resource_site is missing');
  });

  it('fails the whole file on a repeated, unnamed or badly named column', async () => {
    await writeFile(join(dir, 'header.csv'), `${HEADER},resource_id,,metadata.bad-key\n`);
    const e = await failure(run({ file: 'header.csv' }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('column 7 "resource_id": is repeated');
    expect(e.message).toContain('column 8: has no name');
    expect(e.message).toContain('column 9 "metadata.bad-key": metadata key must match');
  });

  it('fails an empty file', async () => {
    await writeFile(join(dir, 'empty.csv'), '');
    const e = await failure(run({ file: 'empty.csv' }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('no header row');
  });

  it('fails on broken CSV with the line the broken row starts on', async () => {
    await writeFile(join(dir, 'unclosed.csv'), `${HEADER}\na,s,a,n,c,t\n\nb,s,"b,n,c,t\nc,s,c,n,c,t\n`);
    const e = await failure(run({ file: 'unclosed.csv' }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain(`${join(dir, 'unclosed.csv')} is invalid: line 4: not CSV: Quote Not Closed`);
  });

  it('fails with FILE_READ naming the file when it is missing', async () => {
    const e = await failure(run({ file: 'missing.csv' }));
    expect(e.code).toBe('FILE_READ');
    expect(e.message).toContain(`${join(dir, 'missing.csv')}: cannot read: ENOENT`);
  });

  it('fails with PLUGIN_INVALID naming [options] file when the option is missing', async () => {
    const r = run({});
    const e = await failure(r);
    expect(e).toBeInstanceOf(PluginFileError);
    expect(e.code).toBe('PLUGIN_INVALID');
    expect(e.message).toBe(`${r.ctx.config.file}: [options] file: is required`);
  });

  it('fails with PLUGIN_INVALID on a bad delimiter or an unknown option', async () => {
    const bad = await failure(run({ file: 'devices.csv', delimiter: '::' }));
    expect(bad.code).toBe('PLUGIN_INVALID');
    expect(bad.message).toContain('[options] delimiter: must be one character');
    const unknown = await failure(run({ file: 'devices.csv', separator: ';' }));
    expect(unknown.message).toContain('[options] separator: unknown option (expected file, delimiter)');
  });
});
