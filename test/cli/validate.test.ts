import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { runValidate } from '../../src/cli/commands/validate.js';
import type { ValidateOptions } from '../../src/cli/args.js';
import { EXIT } from '../../src/cli/io.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import {
  COUNTER64_MAX,
  COUNTER64_MAX_TEXT,
  metricJson,
  metricsGroupJson,
  resourceJson,
  without,
} from '../model/fixtures.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-validate-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` (a value serialised with stringifyJson, or raw text) to a file in the temp dir. */
async function file(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : stringifyJson(content, 2), 'utf8');
  return path;
}

async function run(
  kind: 'resources' | 'metrics' | 'profiles' | 'plugins',
  path: string,
  options: ValidateOptions = {},
): Promise<Run> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  };
  const code = await runValidate(kind, path, options, io);
  return { code, out, err };
}

const bigGroup = (): Record<string, unknown> =>
  metricsGroupJson({ metrics: [metricJson({ metric_name: 'octets_in', metric_value: COUNTER64_MAX })] });

describe('runValidate: valid files', () => {
  it('exits 0 with "ok: 2 metrics groups" for a set of two groups', async () => {
    const path = await file('two-groups.json', {
      metrics_groups: [metricsGroupJson(), metricsGroupJson({ metrics_group_type: 'device' })],
    });
    const result = await run('metrics', path);
    expect(result).toEqual({ code: EXIT.OK, out: 'ok: 2 metrics groups\n', err: '' });
    expect(EXIT.OK).toBe(0);
  });

  it('uses the singular for one item of either kind', async () => {
    expect(await run('resources', await file('one-resource.json', resourceJson()))).toEqual({
      code: 0,
      out: 'ok: 1 resource\n',
      err: '',
    });
    expect(await run('metrics', await file('one-group.json', metricsGroupJson()))).toEqual({
      code: 0,
      out: 'ok: 1 metrics group\n',
      err: '',
    });
  });

  it('counts an array of resources', async () => {
    const path = await file('three.json', [
      resourceJson({ resource_id: 'a' }),
      resourceJson({ resource_id: 'b' }),
      resourceJson({ resource_id: 'c' }),
    ]);
    expect((await run('resources', path)).out).toBe('ok: 3 resources\n');
  });

  it('--print writes the normalised JSON with 18446744073709551615 as an exact integer literal', async () => {
    const path = await file('big.json', { metrics_groups: [bigGroup()] });
    const result = await run('metrics', path, { print: true });
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toContain(`"metric_value": ${COUNTER64_MAX_TEXT}`);
    expect(result.out).not.toContain('18446744073709552000');
    expect(result.out).not.toContain('ok:');
    const printed = parseJson(result.out) as { metrics_groups: { metrics_group_schema_version: string }[] };
    expect(printed.metrics_groups).toHaveLength(1);
    expect(printed.metrics_groups[0]?.metrics_group_schema_version).toBe('0.2');
    expect(stringifyJson(printed)).toContain(`"metric_value":${COUNTER64_MAX_TEXT}`);
  });

  it('--print keeps the shape of the document: single object, array, or set with its fields', async () => {
    const single = await run('metrics', await file('print-single.json', bigGroup()), { print: true });
    expect(parseJson(single.out)).toMatchObject({ metrics_group_type: 'interface' });

    const array = await run('resources', await file('print-array.json', [resourceJson()]), { print: true });
    expect(Array.isArray(parseJson(array.out))).toBe(true);

    const set = await run(
      'resources',
      await file('print-set.json', { resources: [resourceJson()], resource_set_schema_version: '0.1' }),
      { print: true },
    );
    expect(parseJson(set.out)).toMatchObject({
      resources: [resourceJson()],
      resource_set_schema_version: '0.1',
    });
  });

  it('--print shows the resource_plugin alias folded into resource_creation_plugin', async () => {
    const input = { ...without(resourceJson(), 'resource_creation_plugin'), resource_plugin: 'legacy' };
    const result = await run('resources', await file('alias.json', input), { print: true });
    expect(result.code).toBe(0);
    const printed = parseJson(result.out) as Record<string, unknown>;
    expect(printed['resource_creation_plugin']).toBe('legacy');
    expect(printed).not.toHaveProperty('resource_plugin');
  });
});

describe('runValidate: invalid files', () => {
  it('exits 1 and prints every problem as FILE: $.path: message', async () => {
    const path = await file('bad-groups.json', {
      metrics_groups: [
        metricsGroupJson(),
        metricsGroupJson({ metrics_group_interval: 0, metrics: [metricJson({ metric_type: 'rate' })] }),
      ],
    });
    const result = await run('metrics', path);
    expect(result.code).toBe(EXIT.FAILED);
    expect(EXIT.FAILED).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toBe(
      `${path}: $.metrics_groups[1].metrics_group_interval: must be greater than 0\n` +
        `${path}: $.metrics_groups[1].metrics[0].metric_type: must be "counter" or "gauge"\n`,
    );
  });

  it('reports an invalid single resource with $.x paths, one line per problem', async () => {
    const path = await file('bad-resource.json', resourceJson({ resource_site: 'dc 1', foo: true }));
    const result = await run('resources', path);
    expect(result.code).toBe(1);
    const errLines = result.err.trimEnd().split('\n');
    expect(errLines).toEqual([
      `${path}: $.resource_site: must match ^[A-Za-z0-9._-]+$`,
      `${path}: $.foo: unknown key`,
    ]);
    for (const line of errLines) expect(line.startsWith(`${path}: $`)).toBe(true);
  });

  it('prints nothing on stdout with --print when the file is invalid', async () => {
    const path = await file('bad-print.json', [resourceJson(), resourceJson({ resource_id: '' })]);
    const result = await run('resources', path, { print: true });
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toBe(`${path}: $[1].resource_id: must not be empty\n`);
  });

  it('fails when a file of resources is checked as metrics', async () => {
    const result = await run('metrics', await file('wrong-kind.json', resourceJson()));
    expect(result.code).toBe(1);
    expect(result.err).toContain(`: $.metrics_group_type: is required\n`);
    expect(result.err).toContain(`: $.resource_id: unknown key\n`);
  });

  it('exits 1 with a clear message for a missing file', async () => {
    const path = join(dir, 'does-not-exist.json');
    const result = await run('resources', path);
    expect(result).toEqual({ code: 1, out: '', err: `${path}: cannot read: no such file\n` });
  });

  it('exits 1 when the path is a directory', async () => {
    const sub = join(dir, 'a-directory');
    await mkdir(sub);
    const result = await run('metrics', sub);
    expect(result).toEqual({ code: 1, out: '', err: `${sub}: cannot read: is a directory\n` });
  });

  it('exits 1 with file:line:column for invalid JSON', async () => {
    const path = await file('broken.json', '{\n  "resource_id": "a",\n  "resource_site": dc1\n}\n');
    const result = await run('resources', path);
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toMatch(/^.+:3:20: invalid JSON: .+\n$/);
    expect(result.err.startsWith(`${path}:3:20: invalid JSON: `)).toBe(true);
  });

  it('exits 1 for a duplicate key, naming where it is', async () => {
    const path = await file('dup.json', '{"resource_id": "a",\n "resource_id": "b"}');
    const result = await run('resources', path);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${path}:2:3: invalid JSON: Duplicate key 'resource_id'`);
  });
});

describe('validate profiles', () => {
  const good = [
    'profile: good-one',
    'tables:',
    '  t: { columns: { v: 1.3.6.1.2.1.1.3 } }',
    'groups:',
    '  - { type: g, table: t, metrics: { m: v } }',
    '',
  ].join('\n');

  it('accepts the built-in profiles directory and names what it loaded', async () => {
    const r = await run('profiles', join(import.meta.dirname, '../../plugins/profiles'));
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(/^ok: \d+ profiles \(.*cisco-ios.*juniper.*\)\n$/);
  });

  it('reports every problem of every file of a directory with file, line and column, and exits 1', async () => {
    const profiles = join(dir, 'profiles');
    await mkdir(profiles);
    await writeFile(join(profiles, 'a-good.yaml'), good);
    await writeFile(
      join(profiles, 'b-bad.yaml'),
      [
        'profile: bad',
        'groups:',
        '  - type: g',
        '    metrics:',
        '      m: nosuch + 1',
        '    colour: red',
        '',
      ].join('\n'),
    );
    const r = await run('profiles', profiles);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.out).toBe('');
    const bad = join(profiles, 'b-bad.yaml');
    expect(r.err).toContain(`${bad}:6:13: groups[0].colour: unknown key`);
  });

  it('checks one file, expressions included', async () => {
    expect((await run('profiles', await file('one.yaml', good))).out).toBe('ok: profile good-one\n');
    const bad = await file('expr.yaml', good.replace('m: v', 'm: v +'));
    const r = await run('profiles', bad);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.err).toMatch(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: groups\\[0\\]\\.metrics\\.m: expected `,
      ),
    );
  });

  it('a path that does not exist is an error naming it', async () => {
    const r = await run('profiles', join(dir, 'nope'));
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.err).toContain('nope: cannot read: ENOENT');
  });
});

describe('validate plugins', () => {
  it('loads the quickstart plugins, modules and declared options included', async () => {
    const r = await run('plugins', join(import.meta.dirname, '../../examples/quickstart/plugins'));
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(/^ok: 6 plugins \(.*device-status polling.*discovery-json discovery.*\)\n$/);
  });

  it('reports every [options] problem with file, section and key, at load, and exits 1', async () => {
    const plugins = join(dir, 'plugins');
    await mkdir(plugins);
    const bad = join(plugins, 'status.panoptes-plugin');
    await writeFile(
      bad,
      '[Core]\nName = st\nModule = builtin:device-status\n[main]\nexecute_frequency = 60\n[options]\ncheck_sysname = maybe\ncolour = red\n',
    );
    await writeFile(
      join(plugins, 'inventory.panoptes-plugin'),
      '[Core]\nName = inv\nModule = builtin:discovery-json\n[main]\nexecute_frequency = 60\n',
    );
    const r = await run('plugins', plugins);
    expect(r.code).toBe(EXIT.FAILED);
    expect(
      r.err
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    ).toEqual(
      [
        `${bad}: [options] check_sysname: must be true or false, got "maybe"`,
        `${bad}: [options] colour: unknown option (expected check_sysname)`,
        `${join(plugins, 'inventory.panoptes-plugin')}: [options] file: is required`,
      ].sort(),
    );
  });
});
