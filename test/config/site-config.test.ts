import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseSiteConfig } from '../../src/config/site-config.js';
import type { ConfigIssue, SiteConfig } from '../../src/config/site-config.js';

const FILE = '/etc/panoptes/site.yaml';

function problems(text: string, file = FILE): { error: ConfigError; lines: string[] } {
  try {
    parseSiteConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const error = e as ConfigError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.file).toBe(file);
    return { error, lines: error.message.split('\n') };
  }
  throw new Error('expected a ConfigError');
}

function issue(error: ConfigError, path: string): ConfigIssue | undefined {
  return error.issues.find((i) => i.path === path);
}

/** The README's "Site configuration" table: key -> default column (backticks removed). */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const start = readme.indexOf('### Site configuration');
  expect(start).toBeGreaterThanOrEqual(0);
  const out = new Map<string, string>();
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const m = /^\|\s*`([^`]+)`\s*\|\s*(.*?)\s*\|/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2].replace(/`/g, ''));
  }
  return out;
}

/** A config value as the README writes it. */
function asReadme(value: unknown): string {
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return String(value);
}

describe('parseSiteConfig defaults', () => {
  const config = parseSiteConfig('site: dc1\n', FILE);

  it('gives every section its defaults', () => {
    expect(config).toEqual({
      site: 'dc1',
      file: FILE,
      plugins: { directories: ['/etc/panoptes/plugins'], rescan_seconds: 60, builtin: true },
      profiles: { directories: [] },
      bus: {
        type: 'memory',
        partitions: 4,
        retention: 10_000,
        topic_delimiter: '-',
        client_id: 'panoptes',
        session_timeout_ms: 10_000,
        max_buffered_messages: 20_000,
        linger_ms: 5,
        global_topic: false,
      },
      store: { type: 'memory', key_prefix: 'panoptes', url: 'redis://127.0.0.1:6379' },
      consumers: {},
      discovery: { republish_seconds: 3600 },
      snmp: {
        timeout_ms: 2000,
        retries: 1,
        max_in_flight: 10_000,
        max_in_flight_per_device: 2,
        decode_workers: 0,
      },
      secrets: {},
      polling: { mailbox_size: 16, stop_grace_seconds: 5, enrichment_wait_seconds: 30, heartbeat: true },
      output: { status_interval_seconds: 10 },
      metrics: { listen_host: '127.0.0.1' },
      health: { probe_interval_seconds: 5 },
      limits: { max_resource_bytes: 65_536, max_record_bytes: 1_048_576 },
      shutdown_grace_seconds: 25,
    });
    expect(config.simulator).toBeUndefined();
    expect(config.snmp.port).toBeUndefined();
    expect(config.snmp.community).toBeUndefined();
    expect(config.polling.node_id).toBeUndefined();
    expect(config.output.jsonl).toBeUndefined();
  });

  it('matches the README table for every section with defaults', () => {
    const table = readmeDefaults();
    const sections = { plugins: config.plugins, bus: config.bus, store: config.store, snmp: config.snmp };
    const checked: string[] = [];
    const check = (section: string, values: object): void => {
      for (const [key, value] of Object.entries(values) as [string, unknown][]) {
        const row = `${section}.${key}`;
        expect(table.has(row), `README row ${row}`).toBe(true);
        const expected = section === 'plugins' && key === 'directories' ? ['plugins'] : value;
        expect(table.get(row), row).toBe(asReadme(expected));
        checked.push(row);
      }
    };
    for (const [section, values] of Object.entries(sections)) check(section, values);
    check('polling', config.polling);
    check('output', config.output);
    check('metrics', config.metrics);
    // The simulator's defaults when the section is present.
    check('simulator', parseSiteConfig('site: dc1\nsimulator: {}\n', FILE).simulator ?? {});
    expect(checked).toContain('snmp.max_in_flight_per_device');
    expect(checked).toContain('output.status_interval_seconds');
    // Keys without a default in the code say so in the README.
    for (const row of ['snmp.community', 'output.jsonl', 'simulator.recordings'])
      expect(table.get(row), row).toBe('none');
    expect(table.get('site')).toBe('required');
    // Every key of the schema has a row (the README documents every key).
    for (const section of ['plugins', 'bus', 'store', 'snmp', 'polling', 'output', 'simulator'])
      expect(
        [...table.keys()].some((k) => k.startsWith(`${section}.`)),
        section,
      ).toBe(true);
  });
});

describe('parseSiteConfig values and paths', () => {
  it('resolves relative paths against the directory of the file and keeps absolute ones', () => {
    const config = parseSiteConfig(
      [
        'site: dc1',
        'plugins:',
        '  directories: [plugins, ../shared/plugins, /opt/plugins]',
        'simulator:',
        '  recordings: recs',
        'output:',
        '  jsonl: out/metrics.jsonl',
      ].join('\n'),
      '/srv/site/conf/site.yaml',
    );
    expect(config.plugins.directories).toEqual([
      '/srv/site/conf/plugins',
      '/srv/site/shared/plugins',
      '/opt/plugins',
    ]);
    expect(config.simulator?.recordings).toBe('/srv/site/conf/recs');
    expect(config.simulator?.devices).toBe(50);
    expect(config.output.jsonl).toBe('/srv/site/conf/out/metrics.jsonl');
    expect(config.output.status_interval_seconds).toBe(10);
  });

  it('takes the values given', () => {
    const config = parseSiteConfig(
      [
        'site: dc-1.east',
        'bus: {partitions: 8, topic_delimiter: "."}',
        'store: {key_prefix: pt}',
        'snmp: {port: 1161, community: public, timeout_ms: 500, retries: 0}',
        'polling: {node_id: n1, heartbeat: false}',
      ].join('\n'),
      FILE,
    );
    expect(config.site).toBe('dc-1.east');
    expect(config.bus).toMatchObject({ type: 'memory', partitions: 8, topic_delimiter: '.' });
    expect(config.store.key_prefix).toBe('pt');
    expect(config.snmp).toMatchObject({ port: 1161, community: 'public', timeout_ms: 500, retries: 0 });
    expect(config.polling).toMatchObject({ node_id: 'n1', heartbeat: false, mailbox_size: 16 });
  });

  it('reads the secrets map', () => {
    const config = parseSiteConfig(
      ['site: dc1', 'secrets:', '  snmp_community:', '    default: public', '    dc1: s3cret'].join('\n'),
      FILE,
    );
    expect(config.secrets).toEqual({ snmp_community: { default: 'public', dc1: 's3cret' } });
  });

  it('accepts JSON', () => {
    const config = parseSiteConfig(
      JSON.stringify({ site: 'dc1', bus: { partitions: 2 }, output: { jsonl: 'x.jsonl' } }),
      '/etc/panoptes/site.json',
    );
    expect(config.bus.partitions).toBe(2);
    expect(config.output.jsonl).toBe('/etc/panoptes/x.jsonl');
    expect(config.file).toBe('/etc/panoptes/site.json');
  });

  it('returns a deeply frozen configuration', () => {
    const config: SiteConfig = parseSiteConfig(
      'site: dc1\nsecrets: {snmp_community: {default: public}}\nsimulator: {}\n',
      FILE,
    );
    expect(Object.isFrozen(config)).toBe(true);
    for (const part of [
      config.plugins,
      config.plugins.directories,
      config.bus,
      config.store,
      config.snmp,
      config.secrets,
      config.secrets['snmp_community'],
      config.simulator,
      config.polling,
      config.output,
    ])
      expect(Object.isFrozen(part)).toBe(true);
    expect(() => {
      config.plugins.directories.push('x');
    }).toThrow(TypeError);
    expect(() => {
      (config.bus as { partitions: number }).partitions = 9;
    }).toThrow(TypeError);
  });
});

describe('parseSiteConfig problems', () => {
  it('reports unknown keys and bad values as FILE:LINE:COLUMN: key.path: message', () => {
    const text = [
      'site: dc1', // 1
      'colour: blue', // 2
      'bus:', // 3
      '  partitions: 0', // 4
      '  speed: 10', // 5
      'plugins:', // 6
      '  directories:', // 7
      '    - plugins', // 8
      '    - ""', // 9
      'polling:', // 10
      '  heartbeat: yes please', // 11
    ].join('\n');
    const { error, lines } = problems(text);
    // An unknown key is reported at its value.
    expect(lines).toContain(`${FILE}:2:9: colour: unknown key`);
    expect(lines).toContain(`${FILE}:4:15: bus.partitions: must be an integer from 1 to 1024`);
    expect(lines).toContain(`${FILE}:5:10: bus.speed: unknown key`);
    expect(lines).toContain(`${FILE}:9:7: plugins.directories[1]: must not be empty`);
    expect(lines).toContain(`${FILE}:11:14: polling.heartbeat: must be true or false`);
    expect(error.issues).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^\/etc\/panoptes\/site\.yaml:\d+:\d+: [\w.[\]"-]+: .+/);
  });

  it('points an unknown key at its own line', () => {
    const { error } = problems(['site: dc1', 'bus:', '  partitions: 2', '  speed: 10'].join('\n'));
    const speed = issue(error, 'bus.speed');
    expect(speed?.message).toBe('unknown key');
    expect(speed).toMatchObject({ line: 4, column: 10 });
  });

  it('gives the line of a problem under a key that is not an identifier', () => {
    // A typo such as rescan-seconds, and secrets of sites named with a dash, are common.
    const { error, lines } = problems(
      ['site: dc1', 'plugins:', '  rescan-seconds: 5', 'secrets:', '  snmp-community:', '    dc-1: ""'].join(
        '\n',
      ),
    );
    expect(issue(error, 'plugins["rescan-seconds"]')).toMatchObject({ message: 'unknown key' });
    expect(issue(error, 'plugins["rescan-seconds"]')).toMatchObject({ line: 3, column: 19 });
    expect(issue(error, 'secrets["snmp-community"]["dc-1"]')).toMatchObject({
      line: 6,
      column: 11,
      message: 'must not be empty',
    });
    expect(lines).toContain(`${FILE}:6:11: secrets["snmp-community"]["dc-1"]: must not be empty`);
  });

  it('reports YAML syntax errors with their line', () => {
    const { error, lines } = problems(['site: dc1', 'bus:', '  partitions: [1, 2', 'store: {}'].join('\n'));
    expect(error.issues.length).toBeGreaterThan(0);
    expect(error.issues[0]?.path).toBe('(syntax)');
    expect(error.issues[0]?.line).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toMatch(/^\/etc\/panoptes\/site\.yaml:\d+:\d+: \(syntax\): .+/);

    const dup = problems('site: dc1\nsite: dc2\n');
    expect(dup.error.issues[0]).toMatchObject({ path: '(syntax)', line: 2 });
  });

  it('requires the site', () => {
    const { error, lines } = problems('bus: {partitions: 2}\n');
    expect(issue(error, 'site')?.message).toBe('is required (the site this process serves)');
    expect(lines.some((l) => l.startsWith(`${FILE}:`) && l.includes(': site: is required'))).toBe(true);

    expect(issue(problems('').error, 'site')?.message).toBe('is required (the site this process serves)');
    expect(issue(problems('site: "bad site!"\n').error, 'site')).toMatchObject({ line: 1, column: 7 });
  });

  it('takes kafka and redis, requires brokers with kafka, and rejects other backends', () => {
    const ok = parseSiteConfig(
      'site: dc1\nbus:\n  type: kafka\n  brokers: [127.0.0.1:9092]\nstore: {type: redis, url: redis://r:6379}\n',
      FILE,
    );
    expect(ok.bus).toMatchObject({ type: 'kafka', brokers: ['127.0.0.1:9092'] });
    expect(ok.store).toMatchObject({ type: 'redis', url: 'redis://r:6379' });
    const { error, lines } = problems('site: dc1\nbus:\n  type: kafka\nstore: {type: etcd}\n');
    expect(issue(error, 'bus.brokers')?.message).toBe('is required when type is kafka');
    expect(issue(error, 'store.type')?.message).toBe('must be "memory" or "redis"');
    expect(lines).toContain(`${FILE}:4:15: store.type: must be "memory" or "redis"`);
  });

  it('reads federation: defaults matching the README, paths against the file, errors with their key path', () => {
    const c = parseSiteConfig(
      'site: edge1\nfederation:\n  upstream: {brokers: [central:9093]}\n  spool_dir: var/spool\n',
      FILE,
    );
    expect(c.federation?.spool_dir).toBe('/etc/panoptes/var/spool');
    expect(c.federation?.upstream).toEqual({
      brokers: ['central:9093'],
      global_topic: false,
      compression: 'gzip',
    });
    const table = readmeDefaults();
    const { upstream: _upstream, spool_dir: _dir, ...scalars } = c.federation ?? {};
    for (const [key, value] of Object.entries(scalars)) {
      expect(table.get(`federation.${key}`), key).toBe(asReadme(value));
    }
    for (const key of ['global_topic', 'compression'] as const) {
      expect(table.get(`federation.upstream.${key}`), key).toBe(asReadme(c.federation?.upstream[key]));
    }
    const { error } = problems(
      'site: edge1\nfederation:\n  upstream: {brokers: [], compression: lz4}\n  spool_max_bytes: 10\n  mirror_resources: sometimes\n',
    );
    expect(issue(error, 'federation.upstream.brokers')?.message).toBe('must name at least one broker');
    expect(issue(error, 'federation.upstream.compression')?.message).toBe('must be "gzip" or "none"');
    expect(issue(error, 'federation.spool_max_bytes')).toBeDefined();
    expect(issue(error, 'federation.mirror_resources')?.message).toBe('must be true or false');
    expect(issue(problems('site: edge1\nfederation: {}\n').error, 'federation.upstream')).toBeDefined();
  });

  it('reports a bad secrets map with the key path', () => {
    const { error } = problems(['site: dc1', 'secrets:', '  snmp_community: public'].join('\n'));
    expect(issue(error, 'secrets.snmp_community')).toMatchObject({
      line: 3,
      message: 'must map site names (or "default") to values',
    });
    const bad = problems(['site: dc1', 'secrets:', '  snmp_community:', '    dc1: 5'].join('\n'));
    expect(issue(bad.error, 'secrets.snmp_community.dc1')).toMatchObject({
      line: 4,
      message: 'must be a string',
    });
  });

  it('rejects a document that is not a mapping', () => {
    const { error } = problems('- a\n- b\n');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe('(top)');
  });
});
