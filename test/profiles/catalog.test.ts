/**
 * The profile catalog (src/profiles/catalog.ts): profiles from directories in order, a later
 * file overriding an earlier one by name (reported), a bad file reported with its positions
 * while the others load, a missing directory being no error; and the selection of profiles for
 * a device: by filter, else by the longest sysObjectID prefix.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProfileCatalog } from '../../src/profiles/catalog.js';
import { parseProfile } from '../../src/profiles/profile.js';
import type { Profile } from '../../src/profiles/profile.js';
import { testResource } from '../support/profile-harness.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'panoptes-catalog-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A minimal profile text. */
function profileText(
  name: string,
  select: { filter?: string; oids?: readonly string[] } = {},
  note = '',
): string {
  return [
    `profile: ${name}`,
    ...(note === '' ? [] : [`description: ${note}`]),
    'select:',
    ...(select.filter === undefined ? [] : [`  filter: "${select.filter}"`]),
    `  sys_object_id: [${(select.oids ?? []).join(', ')}]`,
    'scalars:',
    '  up: 1.3.6.1.2.1.1.3.0',
    'groups:',
    '  - type: uptime',
    '    metrics: {up: up}',
    '',
  ].join('\n');
}

async function dir(name: string, files: Record<string, string>): Promise<string> {
  const d = join(root, name);
  await mkdir(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(d, f), text);
  return d;
}

function profile(name: string, select: { filter?: string; oids?: readonly string[] } = {}): Profile {
  return parseProfile(profileText(name, select), `${name}.yaml`);
}

describe('ProfileCatalog.load', () => {
  it('loads the .yaml and .yml files of every directory, ignoring other files', async () => {
    const a = await dir('a', {
      'one.yaml': profileText('one'),
      'two.yml': profileText('two'),
      'README.md': '# not a profile',
      'three.yaml.bak': 'not: [a profile',
    });
    const { catalog, problems } = await ProfileCatalog.load([a]);
    expect(problems).toEqual([]);
    expect(catalog.names).toEqual(['one', 'two']);
    expect(catalog.size).toBe(2);
    expect(catalog.get('one')?.file).toBe(join(a, 'one.yaml'));
    expect(catalog.get('nope')).toBeUndefined();
  });

  it('a later directory overrides a profile by name, and says so', async () => {
    const builtin = await dir('builtin', {
      'cisco.yaml': profileText('cisco', {}, 'built-in'),
      'other.yaml': profileText('other'),
    });
    const site = await dir('site', { 'my-cisco.yaml': profileText('cisco', {}, 'ours') });
    const { catalog, problems } = await ProfileCatalog.load([builtin, site]);
    expect(catalog.names).toEqual(['cisco', 'other']);
    expect(catalog.get('cisco')?.description).toBe('ours');
    expect(catalog.get('cisco')?.file).toBe(join(site, 'my-cisco.yaml'));
    expect(problems).toEqual([
      {
        file: join(site, 'my-cisco.yaml'),
        message: `${join(site, 'my-cisco.yaml')}: profile "cisco" replaces the one of ${join(builtin, 'cisco.yaml')}`,
      },
    ]);
  });

  it('a bad file is reported with its positions and left out; the others load', async () => {
    const a = await dir('a', {
      'good.yaml': profileText('good'),
      'bad.yaml': 'profile: bad\ngroups:\n  - type: x\n    metrics: {m: nope + 1}\n',
      'broken.yaml': 'profile: [unclosed\n',
    });
    const b = await dir('b', { 'also-good.yaml': profileText('also-good') });
    const { catalog, problems } = await ProfileCatalog.load([a, b]);
    expect(catalog.names).toEqual(['also-good', 'good']);
    expect(problems.map((p) => p.file)).toEqual([join(a, 'bad.yaml'), join(a, 'broken.yaml')]);
    expect(problems[0]?.message).toBe(
      `${join(a, 'bad.yaml')}:4:18: groups[0].metrics.m: unknown name "nope" (known here: interval; other tables as TABLE.COLUMN)`,
    );
    expect(problems[1]?.message).toMatch(new RegExp(`^${join(a, 'broken.yaml')}:\\d+:\\d+: \\(syntax\\): `));
  });

  it('a bad override leaves the earlier profile of that name in place', async () => {
    const builtin = await dir('builtin', { 'cisco.yaml': profileText('cisco', {}, 'built-in') });
    const site = await dir('site', { 'cisco.yaml': 'profile: cisco\ngroups: []\n' });
    const { catalog, problems } = await ProfileCatalog.load([builtin, site]);
    expect(catalog.get('cisco')?.description).toBe('built-in');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain('groups: needs at least one group');
  });

  it('a missing directory is no error; a path that is not a directory is a problem', async () => {
    const a = await dir('a', { 'one.yaml': profileText('one') });
    const file = join(root, 'plain-file');
    await writeFile(file, 'x');
    const { catalog, problems } = await ProfileCatalog.load([join(root, 'missing'), a, file]);
    expect(catalog.names).toEqual(['one']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.file).toBe(file);
    expect(problems[0]?.message).toMatch(new RegExp(`^${file}: cannot read the directory: `));
  });

  it('no directories: an empty catalog', async () => {
    const { catalog, problems } = await ProfileCatalog.load([]);
    expect(catalog.size).toBe(0);
    expect(problems).toEqual([]);
    expect(catalog.usesSysObjectId).toBe(false);
  });
});

describe('ProfileCatalog selection', () => {
  const catalog = new ProfileCatalog([
    profile('cisco', { oids: ['1.3.6.1.4.1.9'] }),
    profile('cisco-nexus', { oids: ['1.3.6.1.4.1.9.12.3.1.3'] }),
    profile('cisco-nexus-env', { oids: ['1.3.6.1.4.1.9.12.3.1.3', '1.3.6.1.4.1.99999'] }),
    profile('net-snmp', { oids: ['1.3.6.1.4.1.8072.3.2.10'] }),
    profile('linux', { filter: "resource_class = 'system' AND resource_subclass = 'host'" }),
    profile('ios', { filter: "resource_type = 'cisco' AND resource_metadata.os LIKE 'ios%'" }),
    profile('plain'),
  ]);
  const names = (ps: readonly Profile[]): string[] => ps.map((p) => p.name).sort();

  it('by sysObjectID: the profiles with the longest matching prefix', () => {
    expect(names(catalog.bySysObjectId('1.3.6.1.4.1.9.1.1208'))).toEqual(['cisco']);
    // Two profiles share the longest prefix: both.
    expect(names(catalog.bySysObjectId('1.3.6.1.4.1.9.12.3.1.3.1812'))).toEqual([
      'cisco-nexus',
      'cisco-nexus-env',
    ]);
    // The prefix itself matches.
    expect(names(catalog.bySysObjectId('1.3.6.1.4.1.8072.3.2.10'))).toEqual(['net-snmp']);
    expect(names(catalog.bySysObjectId('1.3.6.1.4.1.99999.5'))).toEqual(['cisco-nexus-env']);
  });

  it('by sysObjectID: a prefix matches whole arcs only', () => {
    expect(catalog.bySysObjectId('1.3.6.1.4.1.90.1')).toEqual([]);
    expect(catalog.bySysObjectId('1.3.6.1.4.1.8072.3.2.100')).toEqual([]);
    expect(catalog.bySysObjectId('1.3.6.1.4.1')).toEqual([]);
    expect(catalog.bySysObjectId('')).toEqual([]);
  });

  it('by filter: every profile whose filter matches the resource; none without a filter', () => {
    expect(
      names(catalog.byFilter(testResource({ resource_class: 'system', resource_subclass: 'host' }))),
    ).toEqual(['linux']);
    expect(
      names(catalog.byFilter(testResource({ resource_type: 'cisco', resource_metadata: { os: 'ios-xe' } }))),
    ).toEqual(['ios']);
    expect(
      catalog.byFilter(testResource({ resource_type: 'cisco', resource_metadata: { os: 'nx-os' } })),
    ).toEqual([]);
  });

  it('knows whether any profile is chosen by sysObjectID', () => {
    expect(catalog.usesSysObjectId).toBe(true);
    expect(new ProfileCatalog([profile('linux', { filter: "resource_type = 'x'" })]).usesSysObjectId).toBe(
      false,
    );
  });

  it('a later profile of the same name replaces an earlier one', () => {
    const c = new ProfileCatalog([
      profile('x', { oids: ['1.3.6.1.4.1.9'] }),
      profile('x', { oids: ['1.3.6.1.4.1.2636'] }),
    ]);
    expect(c.size).toBe(1);
    expect(c.bySysObjectId('1.3.6.1.4.1.9.1')).toEqual([]);
    expect(names(c.bySysObjectId('1.3.6.1.4.1.2636.1'))).toEqual(['x']);
  });
});
