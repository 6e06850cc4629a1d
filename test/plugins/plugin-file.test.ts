import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FilterableResource } from '../../src/dsl/index.js';
import { PanoptesError } from '../../src/errors.js';
import {
  PluginFileError,
  optionError,
  parsePluginFile,
  readPluginFile,
} from '../../src/plugins/plugin-file.js';
import type { PluginDefinition } from '../../src/plugins/plugin-file.js';

const FILE = '/etc/panoptes/plugins/interface.panoptes-plugin';

/** A full Panoptes-style plugin file. */
const PANOPTES_FILE = `
; Polls interface counters of network devices.
[Core]
Name = interface_polling
Module = ./interface_polling.mjs

[Documentation]
Author = Oath, Inc.
Version = 0.1
Website = https://github.com/yahoo/panoptes
Description = Polls interface counters and turns them into rates

[main]
execute_frequency = 60
resource_filter = resource_class = "network" AND resource_type IN ("cisco", "juniper")
results_cache_age = 30
enrichment_ttl = 900
namespace = interface
timeout = 45

[snmp]
timeout = 2.5
retries = 2
max_repetitions = 25
port = 1161
version = 2c
community_key = snmp_community_ro

[transforms]
interface_rates = rate:interface:bits_in,bits_out, packets_in

[enrichment]
preload = self:interface, device_metadata_plugin:metadata
`;

const MINIMAL = `[Core]\nName = minimal\nModule = minimal\n[main]\nexecute_frequency = 300\n`;

function resource(overrides: Partial<FilterableResource> = {}): FilterableResource {
  return {
    resource_id: 'sw1',
    resource_site: 'dc1',
    resource_endpoint: '192.0.2.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_plugin: 'discovery',
    resource_metadata: {},
    ...overrides,
  };
}

/** The error lines a text produces (fails if it parses). */
function errorsOf(text: string, file = FILE): string[] {
  try {
    parsePluginFile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(PluginFileError);
    const error = e as PluginFileError;
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.file).toBe(file);
    expect(error.details).toEqual({ file });
    const lines = error.message === '' ? [] : error.message.split('\n');
    expect(lines).toHaveLength(error.issues.length);
    return lines;
  }
  throw new Error('expected the plugin file to be rejected');
}

/** A minimal valid file with `extra` lines added to a section (created if missing). */
function withLines(section: string, ...lines: string[]): string {
  return `${MINIMAL}[${section}]\n${lines.join('\n')}\n`;
}

describe('parsePluginFile: a valid Panoptes-style file', () => {
  it('types every value', () => {
    const def = parsePluginFile(PANOPTES_FILE, FILE);
    const { filter, ...rest } = def;
    expect(rest).toEqual({
      file: FILE,
      name: 'interface_polling',
      module: './interface_polling.mjs',
      modulePath: '/etc/panoptes/plugins/interface_polling.mjs',
      documentation: {
        Author: 'Oath, Inc.',
        Version: '0.1',
        Website: 'https://github.com/yahoo/panoptes',
        Description: 'Polls interface counters and turns them into rates',
      },
      executeFrequencySeconds: 60,
      resourceFilter: 'resource_class = "network" AND resource_type IN ("cisco", "juniper")',
      resultsCacheAgeSeconds: 30,
      enrichmentTtlSeconds: 900,
      namespace: 'interface',
      timeoutSeconds: 45,
      snmp: {
        timeoutMs: 2500,
        retries: 2,
        maxRepetitions: 25,
        port: 1161,
        version: '2c',
        communityKey: 'snmp_community_ro',
      },
      transforms: [
        {
          name: 'interface_rates',
          kind: 'rate',
          metricsGroupType: 'interface',
          counters: ['bits_in', 'bits_out', 'packets_in'],
        },
      ],
      preload: [
        { plugin: 'self', namespace: 'interface' },
        { plugin: 'device_metadata_plugin', namespace: 'metadata' },
      ],
      options: {},
    } satisfies Omit<PluginDefinition, 'filter'>);
    expect(typeof filter).toBe('function');
    expect(filter?.(resource())).toBe(true);
    expect(filter?.(resource({ resource_type: 'juniper' }))).toBe(true);
    expect(filter?.(resource({ resource_type: 'arista' }))).toBe(false);
    expect(filter?.(resource({ resource_class: 'system' }))).toBe(false);
  });

  it('fills in defaults: cache age 0, enrichment TTL 3 x frequency, timeout = frequency, community key', () => {
    const def = parsePluginFile(MINIMAL, '/p/minimal.panoptes-plugin');
    expect(def).toMatchObject({
      name: 'minimal',
      module: 'minimal',
      modulePath: '/p/minimal',
      documentation: {},
      executeFrequencySeconds: 300,
      resourceFilter: undefined,
      filter: undefined,
      resultsCacheAgeSeconds: 0,
      enrichmentTtlSeconds: 900,
      namespace: undefined,
      timeoutSeconds: 300,
      snmp: { communityKey: 'snmp_community' },
      transforms: [],
      preload: [],
    });
    expect(Object.keys(def.snmp)).toEqual(['communityKey']);
  });

  it('passes the free [options] section to the plugin (keys in lower case) and names bad options by file, section and key', () => {
    const def = parsePluginFile(`${MINIMAL}\n[Options]\nFile = devices.json\nrow_limit = 10\n`, FILE);
    expect(def.options).toEqual({ file: 'devices.json', row_limit: '10' });
    expect(Object.isFrozen(def.options)).toBe(true);
    const error = optionError(def, 'row_limit', 'must be at most 5');
    expect(error).toBeInstanceOf(PluginFileError);
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toBe(`${FILE}: [options] row_limit: must be at most 5`);
  });

  it('reads section and key names case-insensitively (as ConfigParser did)', () => {
    const def = parsePluginFile(
      `[CORE]\nNAME = upper\nmodule = m.mjs\n[Main]\nExecute_Frequency = 30\nRESOURCE_FILTER = resource_site = "dc1"\n` +
        `[SNMP]\nVersion = 3\n[Enrichment]\nPreLoad = self:ns\n`,
      FILE,
    );
    expect(def).toMatchObject({
      name: 'upper',
      module: 'm.mjs',
      executeFrequencySeconds: 30,
      resourceFilter: 'resource_site = "dc1"',
      snmp: { version: '3' },
      preload: [{ plugin: 'self', namespace: 'ns' }],
    });
  });

  it('accepts an empty resource_filter as "every resource", results_cache_age 0 and SNMP version 1', () => {
    const def = parsePluginFile(
      `${MINIMAL}resource_filter =\nresults_cache_age = 0\n[snmp]\nversion = 1\ntimeout = 0.01\n`,
      FILE,
    );
    expect(def.filter).toBeUndefined();
    expect(def.resourceFilter).toBeUndefined();
    expect(def.resultsCacheAgeSeconds).toBe(0);
    expect(def.snmp).toEqual({ version: '1', timeoutMs: 10, communityKey: 'snmp_community' });
  });

  it('keeps ";" and "#" inside a quoted resource_filter string (ConfigParser has no inline comments)', () => {
    // Regression (fixed): the `ini` parser treats an unquoted value's ";" or "#" as the start of a comment, so the
    // filter is cut to `resource_metadata.note = "a` and rejected as an unterminated string.
    const def = parsePluginFile(`${MINIMAL}resource_filter = resource_metadata.note = "a;b#c"\n`, FILE);
    expect(def.resourceFilter).toBe('resource_metadata.note = "a;b#c"');
    expect(def.filter?.(resource({ resource_metadata: { note: 'a;b#c' } }))).toBe(true);
  });

  it('returns a deeply frozen definition', () => {
    const def = parsePluginFile(PANOPTES_FILE, FILE);
    for (const part of [
      def,
      def.documentation,
      def.snmp,
      def.transforms,
      def.transforms[0],
      def.transforms[0]?.counters,
      def.preload,
      def.preload[0],
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (def as { executeFrequencySeconds: number }).executeFrequencySeconds = 1;
    }).toThrow(TypeError);
    expect(() => {
      (def.transforms as unknown as unknown[]).push({ name: 'x' });
    }).toThrow(TypeError);
    expect(def.executeFrequencySeconds).toBe(60);
  });
});

describe('parsePluginFile: errors as FILE: [section] key: message', () => {
  it.each([
    ['abc', 'abc'],
    ['0', '0'],
    ['1.5', '1.5'],
    ['-5', '-5'],
    ['60s', '60s'],
    ['1e3', '1e3'],
    ['31536001', '31536001'],
  ])('rejects execute_frequency = %s', (value, shown) => {
    expect(errorsOf(`[Core]\nName = p\nModule = m\n[main]\nexecute_frequency = ${value}\n`)).toEqual([
      `${FILE}: [main] execute_frequency: must be an integer number of seconds from 1 to 31536000, got "${shown}"`,
    ]);
  });

  it('reports a missing Name, Module and execute_frequency together', () => {
    const lines = errorsOf('[Documentation]\nAuthor = me\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^\/etc\/panoptes\/plugins\/interface\.panoptes-plugin: \[core\] name: is required$/i,
    );
    expect(lines[1]).toMatch(/: \[core\] module: is required$/i);
    expect(lines[2]).toMatch(/: \[main\] execute_frequency: is required$/);
  });

  it('reports an empty execute_frequency as required (not an error without a message)', () => {
    // Regression (fixed): an empty value is skipped by number() and not caught by the "is required" check (which
    // only looks for a missing key), so parsePluginFile throws a PluginFileError with no issues.
    expect(errorsOf(`[Core]\nName = p\nModule = m\n[main]\nexecute_frequency =\n`)).toEqual([
      `${FILE}: [main] execute_frequency: is required`,
    ]);
  });

  it('reports an empty Name or Module as required', () => {
    expect(errorsOf(`[Core]\nName =\nModule =\n[main]\nexecute_frequency = 60\n`)).toEqual([
      `${FILE}: [Core] Name: is required`,
      `${FILE}: [Core] Module: is required`,
    ]);
  });

  it('reports a Name with characters other than letters, digits, "_", "." and "-"', () => {
    expect(
      errorsOf(`[Core]\nName = Interface Polling Plugin\nModule = m\n[main]\nexecute_frequency = 60\n`),
    ).toEqual([`${FILE}: [Core] Name: must use only letters, digits, "_", "." and "-"`]);
  });

  it('reports an unknown section and an unknown key, with the names as written', () => {
    expect(errorsOf(`${MINIMAL}Frequency = 60\n[Extras]\nfoo = 1\n[Core]\nAuthor = me\n`)).toEqual([
      `${FILE}: [Extras]: unknown section (expected core, documentation, main, snmp, transforms, enrichment, options)`,
      `${FILE}: [Core] Author: unknown key (expected one of name, module)`,
      `${FILE}: [main] Frequency: unknown key (expected one of execute_frequency, resource_filter, results_cache_age, enrichment_ttl, namespace, timeout)`,
    ]);
  });

  it('reports a key outside any section and a nested section', () => {
    const lines = errorsOf(`orphan = 1\n${MINIMAL}[snmp.v3]\nauth = sha\n`);
    expect(lines).toEqual([
      `${FILE}: [(top)] orphan: key outside any section (line 1)`,
      `${FILE}: [snmp.v3]: unknown section (expected core, documentation, main, snmp, transforms, enrichment, options)`,
    ]);
  });

  it('reports a resource_filter that does not parse, with the DSL line and column', () => {
    expect(errorsOf(`${MINIMAL}resource_filter = resource_class = network\n`)).toEqual([
      `${FILE}: [main] resource_filter: line 1, column 18: unexpected "network", expected a quoted string`,
    ]);
    const [line] = errorsOf(`${MINIMAL}resource_filter = resource_colour = "red"\n`);
    expect(line).toBe(
      `${FILE}: [main] resource_filter: line 1, column 1: unknown field "resource_colour", expected "(", NOT or a field ` +
        '(resource_site, resource_class, resource_subclass, resource_type, resource_id, resource_endpoint, ' +
        'resource_creation_plugin, resource_metadata.KEY)',
    );
  });

  it('reports bad [main] numbers and namespace', () => {
    expect(
      errorsOf(
        `${MINIMAL}results_cache_age = -1\nenrichment_ttl = 0\ntimeout = forever\nnamespace = 9lives\n`,
      ),
    ).toEqual([
      `${FILE}: [main] results_cache_age: must be an integer number of seconds from 0 to 31536000, got "-1"`,
      `${FILE}: [main] enrichment_ttl: must be an integer number of seconds from 1 to 31536000, got "0"`,
      `${FILE}: [main] timeout: must be an integer number of seconds from 1 to 31536000, got "forever"`,
      `${FILE}: [main] namespace: must match ^[A-Za-z_][A-Za-z0-9_]*$`,
    ]);
  });

  it('reports bad [snmp] values', () => {
    expect(
      errorsOf(
        withLines(
          'snmp',
          'timeout = 0',
          'retries = -1',
          'max_repetitions = 0',
          'port = 70000',
          'version = 2',
          'bulk = yes',
        ),
      ),
    ).toEqual([
      `${FILE}: [snmp] bulk: unknown key (expected one of timeout, retries, max_repetitions, port, version, community_key)`,
      `${FILE}: [snmp] timeout: must be a number of seconds from 0.01 to 600, got "0"`,
      `${FILE}: [snmp] retries: must be an integer from 0 to 20, got "-1"`,
      `${FILE}: [snmp] max_repetitions: must be an integer from 1 to 1000, got "0"`,
      `${FILE}: [snmp] port: must be a port from 1 to 65535, got "70000"`,
      `${FILE}: [snmp] version: must be 1, 2c or 3`,
    ]);
  });

  it('reports bad transforms, each by its name', () => {
    expect(
      errorsOf(
        withLines(
          'transforms',
          'ok = rate:interface:bits_in',
          'no_counters = rate:interface',
          'not_rate = delta:interface:bits_in',
          'bad_counter = rate:interface:bits-in',
          'trailing_comma = rate:interface:a,',
        ),
      ),
    ).toEqual([
      `${FILE}: [transforms] no_counters: must be rate:METRICS_GROUP_TYPE:counter[,counter...], got "rate:interface"`,
      `${FILE}: [transforms] not_rate: must be rate:METRICS_GROUP_TYPE:counter[,counter...], got "delta:interface:bits_in"`,
      `${FILE}: [transforms] bad_counter: must be rate:METRICS_GROUP_TYPE:counter[,counter...], got "rate:interface:bits-in"`,
      `${FILE}: [transforms] trailing_comma: must be rate:METRICS_GROUP_TYPE:counter[,counter...], got "rate:interface:a,"`,
    ]);
  });

  it('reports every bad preload entry', () => {
    expect(errorsOf(withLines('enrichment', 'preload = self:ok, nocolon, plugin:9bad'))).toEqual([
      `${FILE}: [enrichment] preload: entries must be PLUGIN:NAMESPACE (or self:NAMESPACE), got "nocolon"`,
      `${FILE}: [enrichment] preload: entries must be PLUGIN:NAMESPACE (or self:NAMESPACE), got "plugin:9bad"`,
    ]);
  });

  it('reports every problem of a file at once', () => {
    const lines = errorsOf(
      `[Core]\nName = bad name\n[main]\nexecute_frequency = often\n[snmp]\nport = 0\n[Bogus]\nx = 1\n`,
    );
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.startsWith(`${FILE}: [`))).toBe(true);
    expect(lines.map((l) => l.slice(FILE.length + 2).split(':')[0])).toEqual([
      '[Bogus]',
      '[Core] Name',
      '[Core] Module',
      '[main] execute_frequency',
      '[snmp] port',
    ]);
  });
});

describe('readPluginFile', () => {
  it('reads and parses a file, and reports a file it cannot read as FILE_READ', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panoptes-plugin-file-'));
    try {
      const file = join(dir, 'p.panoptes-plugin');
      await writeFile(file, MINIMAL);
      const def = await readPluginFile(file);
      expect(def.file).toBe(file);
      expect(def.modulePath).toBe(join(dir, 'minimal'));
      const missing = join(dir, 'missing.panoptes-plugin');
      const error = await readPluginFile(missing).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PanoptesError);
      expect((error as PanoptesError).code).toBe('FILE_READ');
      expect((error as PanoptesError).message).toBe(`${missing}: cannot read: ENOENT`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
