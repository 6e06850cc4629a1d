/**
 * Profile files (src/profiles/profile.ts): validated when loaded, every problem reported as
 * `FILE:LINE:COLUMN: key.path: message` (PROFILE_INVALID), with the column of the fault inside a
 * one-line expression whether it is a plain, single- or double-quoted YAML scalar.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/yaml-document.js';
import { isPanoptesError } from '../../src/errors.js';
import { loadProfileFile, parseProfile } from '../../src/profiles/profile.js';
import { testResource } from '../support/profile-harness.js';

const FILE = 'my.yaml';

/** The error's lines for a profile text that must not load. */
function problems(text: string): string[] {
  try {
    parseProfile(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(isPanoptesError(e) && e.code).toBe('PROFILE_INVALID');
    return (e as Error).message.split('\n');
  }
  throw new Error('the profile loaded');
}

/** The 1-based column of `needle` on `line` (1-based) of `text`: where an error must point. */
function columnOf(text: string, line: number, needle: string, nth = 0): number {
  const l = text.split('\n')[line - 1] ?? '';
  let at = -1;
  for (let k = 0; k <= nth; k++) at = l.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`"${needle}" not on line ${line}: ${l}`);
  return at + 1;
}

const GOOD = `# A small valid profile.
profile: test-profile.v1
description: for tests
select:
  filter: "resource_type = 'cisco'"
  sys_object_id: [1.3.6.1.4.1.9, .1.3.6.1.4.1.9.1.2]
maps:
  status: {1: up, 2: down}
scalars:
  uptime: 1.3.6.1.2.1.1.3.0
tables:
  ifs:
    columns:
      name: 1.3.6.1.2.1.31.1.1.1.1
      oper: 1.3.6.1.2.1.2.2.1.8
    when: "resource.resource_type == 'cisco'"
groups:
  - type: interface
    table: ifs
    where: oper == 1
    dimensions:
      name: name
      state: map(status, oper, 'unknown')
    metrics:
      up: oper == 1
      uptime_c: {value: uptime, type: counter}
  - type: summary
    when: count(ifs) > 0
    metrics:
      interfaces: count(ifs)
`;

describe('profile files: a valid profile', () => {
  it('loads with its names, selection, scalars, tables and compiled groups', () => {
    const p = parseProfile(GOOD, FILE);
    expect(p.name).toBe('test-profile.v1');
    expect(p.description).toBe('for tests');
    expect(p.file).toBe(FILE);
    // A leading dot of an OID is dropped.
    expect(p.sysObjectIds).toEqual(['1.3.6.1.4.1.9', '1.3.6.1.4.1.9.1.2']);
    expect(p.filter?.(testResource({ resource_type: 'cisco' }))).toBe(true);
    expect(p.filter?.(testResource({ resource_type: 'juniper' }))).toBe(false);
    expect([...p.scalars]).toEqual([['uptime', '1.3.6.1.2.1.1.3.0']]);
    expect([...(p.tables.get('ifs')?.columns ?? [])]).toEqual([
      ['name', '1.3.6.1.2.1.31.1.1.1.1'],
      ['oper', '1.3.6.1.2.1.2.2.1.8'],
    ]);
    expect(p.groups.map((g) => [g.type, g.table, g.optional])).toEqual([
      ['interface', 'ifs', false],
      ['summary', undefined, false],
    ]);
    expect(p.groups[0]?.metrics.map((m) => [m.name, m.type])).toEqual([
      ['up', 'gauge'],
      ['uptime_c', 'counter'],
    ]);
  });

  it('loads from a file, and names the file in its errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'panoptes-profile-'));
    try {
      await writeFile(join(dir, 'good.yaml'), GOOD);
      await writeFile(join(dir, 'bad.yaml'), 'profile: bad\ngroups: []\n');
      expect((await loadProfileFile(join(dir, 'good.yaml'))).name).toBe('test-profile.v1');
      await expect(loadProfileFile(join(dir, 'bad.yaml'))).rejects.toThrow(
        `${join(dir, 'bad.yaml')}:2:9: groups: needs at least one group`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('profile files: the column of an expression problem is inside the expression', () => {
  const text = [
    'profile: t', // 1
    'scalars:', // 2
    '  up: 1.3.6.1.2.1.1.3.0', // 3
    'tables:', // 4
    '  ifs:', // 5
    '    columns:', // 6
    '      name: 1.3.6.1.2.1.31.1.1.1.1', // 7
    'groups:', // 8
    '  - type: x', // 9
    '    table: ifs', // 10
    '    dimensions:', // 11
    '      plain: name + nmae', // 12
    `      double: "name + 'a' + bogus"`, // 13
    `      single: 'name + "b" + bogus'`, // 14
    `      single_escaped: 'name + ''c'' + bogus'`, // 15
    `      double_escaped: "name =~ '\\\\d\\"' + bogus"`, // 16
    '    metrics:', // 17
    '      m: up +', // 18
    '      k: {value: "up * zz", type: counter}', // 19
    '      f: nope(up)', // 20
    '      t: count(ifz)', // 21
    '      c: ifs.nam[1]', // 22
    '', //
  ].join('\n');

  it('reports each expression problem at FILE:LINE:COLUMN of the fault', () => {
    const lines = problems(text);
    expect(lines).toEqual([
      `${FILE}:12:${columnOf(text, 12, 'nmae')}: groups[0].dimensions.plain: unknown name "nmae" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      `${FILE}:13:${columnOf(text, 13, 'bogus')}: groups[0].dimensions.double: unknown name "bogus" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      `${FILE}:14:${columnOf(text, 14, 'bogus')}: groups[0].dimensions.single: unknown name "bogus" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      `${FILE}:15:${columnOf(text, 15, 'bogus')}: groups[0].dimensions.single_escaped: unknown name "bogus" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      `${FILE}:16:${columnOf(text, 16, 'bogus')}: groups[0].dimensions.double_escaped: unknown name "bogus" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      `${FILE}:18:${columnOf(text, 18, '+') + 1}: groups[0].metrics.m: expected "(", "-", "[", a name, a number, text in quotes at the end`,
      `${FILE}:19:${columnOf(text, 19, 'zz')}: groups[0].metrics.k.value: unknown name "zz" (known here: name, up, interval, index; other tables as TABLE.COLUMN)`,
      expect.stringMatching(
        new RegExp(
          `^${FILE}:20:${columnOf(text, 20, 'nope')}: groups\\[0\\]\\.metrics\\.f: unknown function "nope" \\(abs, `,
        ),
      ),
      `${FILE}:21:${columnOf(text, 21, 'ifz')}: groups[0].metrics.t: count() takes a table name first (ifs)`,
      `${FILE}:22:${columnOf(text, 22, 'ifs')}: groups[0].metrics.c: table "ifs" has no column "nam" (name)`,
    ]);
  });

  it('points at the start of a multi-line expression (a block or a folded scalar)', () => {
    const block = 'profile: t\ngroups:\n  - type: x\n    metrics:\n      m: |\n        1 +\n        nope\n';
    expect(problems(block)).toEqual([
      `${FILE}:5:${columnOf(block, 5, '|')}: groups[0].metrics.m: unknown name "nope" (known here: interval; other tables as TABLE.COLUMN)`,
    ]);
    const folded = 'profile: t\ngroups:\n  - type: x\n    metrics:\n      m: 1 +\n        nope\n';
    expect(problems(folded)).toEqual([
      `${FILE}:5:${columnOf(folded, 5, '1')}: groups[0].metrics.m: unknown name "nope" (known here: interval; other tables as TABLE.COLUMN)`,
    ]);
  });

  it("a table's when, a group's when and where, and the filter are checked too", () => {
    const t = [
      'profile: t',
      'select:',
      "  filter: resource_type = = 'x'",
      'scalars:',
      '  up: 1.3.6.1.2.1.1.3.0',
      'tables:',
      '  ifs:',
      '    columns: {name: 1.3.6.1.2.1.31.1.1.1.1}',
      '    when: up > 1',
      'groups:',
      '  - type: x',
      '    table: ifs',
      '    when: name == 1',
      '    where: name == nam',
      '    metrics: {m: 1}',
      '  - type: y',
      '    where: up > 1',
      '    metrics: {m: 1}',
      '',
    ].join('\n');
    const lines = problems(t);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(new RegExp(`^${FILE}:3:11: select\\.filter: `));
    expect(lines[1]).toBe(
      `${FILE}:9:${columnOf(t, 9, 'up')}: tables.ifs.when: scalars are not fetched yet here`,
    );
    // A group's when has no row: the table's columns are not names there.
    expect(lines[2]).toBe(
      `${FILE}:13:${columnOf(t, 13, 'name')}: groups[0].when: unknown name "name" (known here: up, interval; other tables as TABLE.COLUMN)`,
    );
    expect(lines[3]).toMatch(
      new RegExp(`^${FILE}:14:${columnOf(t, 14, 'nam', 1)}: groups\\[0\\]\\.where: unknown name "nam"`),
    );
    expect(lines[4]).toBe(
      `${FILE}:17:${columnOf(t, 17, 'up')}: groups[1].where: "where" filters the rows of a table: give the group a "table"`,
    );
  });
});

describe('profile files: structure', () => {
  it('reports every unknown key, bad OID and bad name at once', () => {
    const t = [
      'profile: Bad Name', // 1
      'bogus: 1', // 2
      'select:', // 3
      '  sys_object_id: [1.3.6.1.4.1.9, "not an oid!"]', // 4
      '  extra: x', // 5
      'scalars:', // 6
      '  up: 1.3.6.1.2.1.1.3', // 7
      '  down: 1.3.6.1.2.1.1.3.0.x', // 8
      '  9lives: 1.3.6.1', // 9
      'tables:', // 10
      '  ifs:', // 11
      '    columns: {}', // 12
      'groups:', // 13
      '  - type: x', // 14
      '    metrics: {m: 1}', // 15
      '    colour: red', // 16
      '  - type: y', // 17
      '', //
    ].join('\n');
    const lines = problems(t);
    const at = (line: number): string => `${FILE}:${line}:`;
    expect(lines).toEqual([
      `${at(1)}${columnOf(t, 1, 'Bad')}: profile: must match ^[a-z0-9][a-z0-9_.-]*$`,
      expect.stringMatching(
        new RegExp(
          `^${at(4)}${columnOf(t, 4, '"not')}: select\\.sys_object_id\\[1\\]: must be a numeric OID such as 1\\.3\\.6\\.1\\.2\\.1\\.1\\.3\\.0`,
        ),
      ),
      `${at(5)}${columnOf(t, 5, ' x') + 1}: select.extra: unknown key`,
      expect.stringMatching(
        new RegExp(
          `^${at(8)}${columnOf(t, 8, '1.3')}: scalars\\.down: must be a numeric OID such as 1\\.3\\.6\\.1\\.2\\.1\\.1\\.3\\.0`,
        ),
      ),
      `${at(9)}${columnOf(t, 9, '1.3')}: scalars["9lives"]: must match ^[A-Za-z_][A-Za-z0-9_]*$`,
      `${at(12)}${columnOf(t, 12, '{')}: tables.ifs.columns: needs at least one column`,
      `${at(16)}${columnOf(t, 16, 'red')}: groups[0].colour: unknown key`,
      expect.stringMatching(new RegExp(`^${at(17)}5: groups\\[1\\]\\.metrics: `)),
      `${at(2)}${columnOf(t, 2, '1')}: bogus: unknown key`,
    ]);
    expect(lines).toHaveLength(9);
    // A two-arc OID is fine (1.3.6.1.2.1.1.3 is a valid OID).
    expect(lines.some((l) => l.includes('scalars.up'))).toBe(false);
  });

  it('an unknown key is reported on its own line, even when its value starts on the next', () => {
    const t = 'profile: t\ngroups:\n  - type: x\n    metrics: {m: 1}\n    extras:\n      a: 1\n';
    expect(problems(t)).toEqual([`${FILE}:5:5: groups[0].extras: unknown key`]);
  });

  it('reports reserved names and a scalar named like a table, all at once', () => {
    const t = [
      'profile: t', // 1
      'scalars:', // 2
      '  index: 1.3.6.1.2.1.1.3.0', // 3
      '  ifs: 1.3.6.1.2.1.1.5.0', // 4
      'tables:', // 5
      '  meta:', // 6
      '    columns: {not: 1.3.6.1.2.1.2.2.1.8}', // 7
      '  ifs:', // 8
      '    columns: {interval: 1.3.6.1.2.1.2.2.1.5}', // 9
      'groups:', // 10
      '  - type: x', // 11
      '    metrics: {m: 1}', // 12
      '',
    ].join('\n');
    const lines = problems(t);
    expect(lines).toEqual([
      `${FILE}:7:${columnOf(t, 7, 'columns')}: tables.meta: "meta" is a reserved name`,
      `${FILE}:7:${columnOf(t, 7, '1.3')}: tables.meta.columns.not: "not" is a reserved name`,
      `${FILE}:9:${columnOf(t, 9, '1.3')}: tables.ifs.columns.interval: "interval" is a reserved name`,
      `${FILE}:3:${columnOf(t, 3, '1.3')}: scalars.index: "index" is a reserved name`,
      `${FILE}:4:${columnOf(t, 4, '1.3')}: scalars.ifs: "ifs" is also a table`,
    ]);
  });

  it('reports duplicate keys and YAML syntax errors with their positions', () => {
    expect(problems('profile: t\nprofile: u\ngroups: []\n')).toEqual([
      `${FILE}:2:1: (syntax): Map keys must be unique`,
    ]);
    const lines = problems('profile: t\ngroups:\n  - type: x\n    metrics: {m: 1, m: 2}\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${FILE}:4:\\d+: \\(syntax\\): Map keys must be unique`));
    expect(problems('profile: t\ngroups: [\n')[0]).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: \\(syntax\\): `));
  });

  it('reports an unknown group table and a metric type that is not gauge or counter', () => {
    const t = [
      'profile: t',
      'groups:',
      '  - type: x',
      '    table: nope',
      '    metrics:',
      '      m: {value: 1, type: rate}',
      '',
    ].join('\n');
    expect(problems(t)).toEqual([
      expect.stringMatching(new RegExp(`^${FILE}:6:\\d+: groups\\[0\\]\\.metrics\\.m`)),
    ]);
    const u = t.replace('type: rate', 'type: gauge');
    expect(problems(u)).toEqual([
      `${FILE}:4:${columnOf(u, 4, 'nope')}: groups[0].table: unknown table "nope" (none declared)`,
    ]);
  });

  it('an empty file is one error about the required keys', () => {
    const lines = problems('');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.join('\n')).toContain('profile');
    expect(lines.every((l) => l.startsWith(`${FILE}`))).toBe(true);
  });
});
