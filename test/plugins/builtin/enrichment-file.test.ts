/** enrichment-file: hand-written enrichment from a JSON file, per resource, in the plugin's namespace. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileEnrichmentPlugin } from '../../../plugins/enrichment-file.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { testResource } from '../../support/profile-harness.js';
import { failureOf, pluginRun } from './plugin-run.js';

let dir: string;
const store = new MemoryStore();
const plugin = new FileEnrichmentPlugin();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-enrichment-file-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  await writeFile(join(dir, name), text);
  return name;
}

describe('enrichment-file', () => {
  it('gives a listed resource its records in the plugin namespace (default: its Name), and others none', async () => {
    const name = await file(
      'a.json',
      JSON.stringify({
        sw1: { '5': { interface_name: 'Gi0/5', configured_speed: 10, uplink: true } },
        sw2: { '1': { interface_name: 'Gi0/1' } },
      }),
    );
    const run = pluginRun(dir, store, 'builtin:enrichment-file', { file: name }, 'static_names');
    const [group, ...more] = await plugin.enrich(run.ctx, testResource({ resource_id: 'sw1' }));
    expect(more).toEqual([]);
    expect(group?.namespace).toBe('static_names');
    expect(group?.execute_frequency).toBe(300);
    expect(group?.enrichment_ttl).toBe(900);
    expect(group?.data).toEqual({ '5': { interface_name: 'Gi0/5', configured_speed: 10, uplink: true } });
    expect(await plugin.enrich(run.ctx, testResource({ resource_id: 'sw3' }))).toEqual([]);
  });

  it.each([
    ['not JSON', '{"sw1": ', /JSON_PARSE|invalid JSON/],
    ['not an object', '[1, 2]', /must be an object of resource ids/],
    [
      'a record value that is an object',
      JSON.stringify({ sw1: { '5': { name: { a: 1 } } } }),
      /sw1.*5.*name/,
    ],
  ])('fails the run on %s, naming the file', async (_what, text, message) => {
    const name = await file(`bad-${Math.random().toString(36).slice(2)}.json`, text);
    const run = pluginRun(dir, store, 'builtin:enrichment-file', { file: name }, 'bad');
    const e = await failureOf(plugin.enrich(run.ctx, testResource({ resource_id: 'sw1' })));
    expect(`${e.code} ${e.message}`).toMatch(message);
    expect(e.message).toContain(join(dir, name));
  });

  it('a Name that is no namespace, without [main] namespace, is named as the plugin file problem', async () => {
    const name = await file('ns.json', JSON.stringify({ sw1: { '1': { a: 1 } } }));
    const run = pluginRun(dir, store, 'builtin:enrichment-file', { file: name }, 'static-names');
    const e = await failureOf(plugin.enrich(run.ctx, testResource({ resource_id: 'sw1' })));
    expect(e.message).toContain(`${join(dir, 'static-names.panoptes-plugin')}: [main] namespace: must match`);
  });

  it('a missing file is FILE_READ naming it and the option', async () => {
    const run = pluginRun(dir, store, 'builtin:enrichment-file', { file: 'nope.json' }, 'gone');
    const e = await failureOf(plugin.enrich(run.ctx, testResource()));
    expect(e.code).toBe('FILE_READ');
    expect(e.message).toContain('nope.json');
  });
});
