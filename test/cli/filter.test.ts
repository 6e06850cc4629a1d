/**
 * `panoptes filter --resources FILE QUERY`: through runFilter with a capturing io, and once as the
 * built CLI process (built in beforeAll if dist/ is missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { runFilter } from '../../src/cli/commands/filter.js';
import type { CliIo } from '../../src/cli/io.js';
import { resourceJson, without } from '../model/fixtures.js';
import type { Json } from '../model/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface Captured {
  readonly io: CliIo;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

function capture(): Captured {
  let out = '';
  let err = '';
  return {
    io: {
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    },
    stdout: () => out,
    stderr: () => err,
  };
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(file: string, query: string): Promise<Run> {
  const c = capture();
  const status = await runFilter(file, query, c.io);
  return { status, stdout: c.stdout(), stderr: c.stderr() };
}

function device(id: string, overrides: Json = {}): Json {
  return resourceJson({ resource_id: id, ...overrides });
}

/** Resource ids deliberately out of order. */
const RESOURCES: readonly Json[] = [
  device('delta', { resource_site: 'dc2' }),
  device('alpha', { resource_metadata: { model: 'C9300', os: 'ios' } }),
  device('echo', { resource_class: 'system', resource_subclass: 'server', resource_metadata: {} }),
  device('charlie', { resource_metadata: { model: 'C9500', os: 'ios-xe' } }),
  device('bravo', { resource_site: 'dc2', resource_metadata: { os: 'junos' } }),
];

let dir: string;
let setFile: string;
let arrayFile: string;
let aliasFile: string;
let badJsonFile: string;

beforeAll(async () => {
  if (!existsSync(CLI)) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  dir = await mkdtemp(join(tmpdir(), 'panoptes-filter-'));
  setFile = join(dir, 'set.json');
  await writeFile(setFile, JSON.stringify({ resources: RESOURCES }, null, 2));
  arrayFile = join(dir, 'array.json');
  await writeFile(arrayFile, JSON.stringify(RESOURCES));
  aliasFile = join(dir, 'alias.json');
  const zulu = { ...without(device('zulu'), 'resource_creation_plugin'), resource_plugin: 'from_alias' };
  await writeFile(aliasFile, JSON.stringify([zulu, device('yankee')]));
  badJsonFile = join(dir, 'bad.json');
  await writeFile(badJsonFile, '{"resources": [');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runFilter', () => {
  it.each([
    ['a resource set object', () => setFile],
    ['an array of resources', () => arrayFile],
  ])('reads %s and prints the matching ids sorted, one per line', async (_shape, file) => {
    const r = await run(file(), "resource_class = 'network'");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('alpha\nbravo\ncharlie\ndelta\n');
    expect(r.stderr).toBe('');
  });

  it('prints every id when everything matches, sorted ascending', async () => {
    const r = await run(setFile, "resource_id LIKE '%'");
    expect(r.stdout).toBe('alpha\nbravo\ncharlie\ndelta\necho\n');
    expect(r.status).toBe(0);
  });

  it('prints nothing else on stdout', async () => {
    const r = await run(setFile, "resource_site = 'dc2' OR resource_metadata.os LIKE 'ios%'");
    expect(r.stdout.split('\n')).toEqual(['alpha', 'bravo', 'charlie', 'delta', '']);
    expect(r.status).toBe(0);
  });

  it('applies the missing-metadata-key rules', async () => {
    expect((await run(setFile, "resource_metadata.os != 'ios'")).stdout).toBe(
      'bravo\ncharlie\ndelta\necho\n',
    );
    expect((await run(setFile, "resource_metadata.os LIKE '%'")).stdout).toBe('alpha\nbravo\ncharlie\n');
    expect((await run(setFile, "resource_metadata.os NOT IN ('ios')")).stdout).toBe(
      'bravo\ncharlie\ndelta\necho\n',
    );
  });

  it('matches resource_plugin and resource_creation_plugin against either spelling in the file', async () => {
    expect((await run(aliasFile, "resource_creation_plugin = 'from_alias'")).stdout).toBe('zulu\n');
    expect((await run(aliasFile, "resource_plugin = 'from_alias'")).stdout).toBe('zulu\n');
  });

  it('exits 0 with empty stdout when nothing matches', async () => {
    const r = await run(setFile, "resource_site = 'nowhere'");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  it('exits 2 on a parse error, with nothing on stdout and the line and column on stderr', async () => {
    const r = await run(setFile, "resource_site = 'dc1' resource_id = 'x'");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('line 1, column 23');
  });

  it.each<[string, string]>([
    ['resource_id == "a"', 'line 1, column 14'],
    ['bogus = "a"', 'line 1, column 1'],
    ['resource_id IN ()', 'line 1, column 17'],
    ["(resource_id = 'a'", 'line 1, column 19'],
    ["resource_id = 'a' AND\n  resource_site = dc1", 'line 2, column 19'],
    ['', 'line 1, column 1'],
  ])('exits 2 for %j and reports %s', async (query, where) => {
    const r = await run(setFile, query);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(where);
  });

  it('exits 2 for a query whose parentheses are nested deep and never closed', async () => {
    const r = await run(setFile, '('.repeat(2000));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('line 1, column');
  });

  it('exits 1 with nothing on stdout when the file is not valid JSON', async () => {
    const r = await run(badJsonFile, "resource_class = 'network'");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toBe('');
  });

  it('exits 1 when the file does not exist', async () => {
    const r = await run(join(dir, 'missing.json'), "resource_class = 'network'");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
  });
});

describe('panoptes filter (built CLI process)', () => {
  function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    if (r.error !== undefined) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('prints the sorted matching ids and exits 0', () => {
    const r = cli([
      'filter',
      '--resources',
      setFile,
      "resource_site = 'dc2' OR resource_metadata.os = 'ios'",
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('alpha\nbravo\ndelta\n');
    expect(r.status).toBe(0);
  });

  it('exits 2 on a parse error with the location on stderr and nothing on stdout', () => {
    const r = cli(['filter', '--resources', setFile, 'resource_class = network']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('line 1, column 18');
  });
});
