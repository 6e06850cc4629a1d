/**
 * The built command line loads only what a command uses: `--help` and a usage error load the
 * registrations and commander, never the pipeline's libraries; `validate resources` loads the
 * model and not the profile engine, the plugin loader or a client library (and, for valid
 * input, not zod or lossless-json either: the direct checks read it); an SNMP v2c command loads
 * neither the v3 library nor the worker pool. Each process runs with a
 * module resolve hook and a require hook that print every module it loads on stderr. `npm test`
 * builds first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** Libraries only running the pipeline, polling or a consumer needs. */
const HEAVY = ['kafkajs', 'ioredis', 'rxjs', 'piscina', 'net-snmp', '@influxdata', 'pino', 'yaml'];

let dir: string;
let hooks: string;
let requireHook: string;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'panoptes-lazy-'));
  const hook = join(dir, 'hooks.mjs');
  await writeFile(
    hook,
    "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n",
  );
  requireHook = join(dir, 'require-hook.cjs');
  await writeFile(
    requireHook,
    "const M = require('node:module'); const load = M._load; M._load = function (request, parent, isMain) { " +
      'const path = M._resolveFilename(request, parent, isMain); ' +
      "if (path.startsWith('/')) process.stderr.write('LOADED ' + require('node:url').pathToFileURL(path).href + '\\n'); " +
      'return load.call(this, request, parent, isMain); };\n',
  );
  hooks = join(dir, 'register.mjs');
  await writeFile(
    hooks,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The modules a run of the CLI loaded: package names and project files (relative to ROOT). */
function loaded(args: readonly string[]): { status: number | null; modules: Set<string> } {
  const r = spawnSync(process.execPath, ['--require', requireHook, '--import', hooks, CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const modules = new Set<string>();
  for (const line of r.stderr.split('\n')) {
    const url = /^LOADED (file:\S+)$/.exec(line)?.[1];
    if (url === undefined) continue;
    const path = fileURLToPath(url);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    modules.add(pkg ?? path.slice(ROOT.length));
  }
  return { status: r.status, modules };
}

const heavyIn = (modules: Set<string>): string[] =>
  [...modules].filter((m) => HEAVY.some((h) => m === h || m.startsWith(`${h}/`)));

describe('the CLI loads what a command uses', () => {
  it('--help loads the registrations and commander only', () => {
    const { status, modules } = loaded(['--help']);
    expect(status).toBe(0);
    expect(modules.has('commander')).toBe(true);
    expect(heavyIn(modules)).toEqual([]);
    const project = [...modules].filter((m) => m.startsWith('dist/'));
    expect(project.filter((m) => m.startsWith('dist/src/cli/commands/'))).toEqual([]);
    expect(project.filter((m) => /^dist\/src\/(model|snmp|bus|store|stages|node\/node)/.test(m))).toEqual([]);
  });

  it('a usage error loads no command either', () => {
    const { status, modules } = loaded(['validate', 'nonsense', 'x.json']);
    expect(status).toBe(2);
    expect(heavyIn(modules)).toEqual([]);
    expect([...modules].filter((m) => m.startsWith('dist/src/cli/commands/'))).toEqual([]);
  });

  it('validate resources loads the model, not profiles, plugins or client libraries', () => {
    const { status, modules } = loaded(['validate', 'resources', 'examples/quickstart/devices.json']);
    expect(status).toBe(0);
    expect(modules.has('dist/src/cli/commands/validate.js')).toBe(true);
    expect(modules.has('dist/src/model/resource.js')).toBe(true);
    expect(heavyIn(modules)).toEqual([]);
    expect([...modules].filter((m) => /^dist\/src\/(profiles|plugins)\//.test(m))).toEqual([]);
    expect(modules.has('zod')).toBe(false);
    expect(modules.has('lossless-json')).toBe(false);
  });

  it('validate resources loads zod when the input has problems to report', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '[{"resource_id": "x"}]');
    const { status, modules } = loaded(['validate', 'resources', file]);
    expect(status).toBe(1);
    expect(modules.has('zod')).toBe(true);
  });

  it('a v2c snmp get loads the SNMP engine, not net-snmp (SNMPv3 only) or piscina (decode workers only)', () => {
    // Port 9 (discard) on loopback: nothing answers; one 100 ms attempt, then exit 1.
    const { status, modules } = loaded([
      'snmp',
      'get',
      '-t',
      '100',
      '-r',
      '0',
      '127.0.0.1:9',
      '1.3.6.1.2.1.1.1.0',
    ]);
    expect(status).toBe(1);
    expect(modules.has('dist/src/snmp/engine.js')).toBe(true);
    expect(modules.has('net-snmp')).toBe(false);
    expect(modules.has('piscina')).toBe(false);
    expect(heavyIn(modules)).toEqual([]);
  });
});
