/**
 * The built command line loads only what a command uses: `--help` and a usage error load the
 * registrations and commander, never the pipeline's libraries; `validate resources` loads the
 * model and not the profile engine, the plugin loader or a client library. Each process runs
 * with a module resolve hook that prints every URL it loads on stderr. `npm test` builds first.
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

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'panoptes-lazy-'));
  const hook = join(dir, 'hooks.mjs');
  await writeFile(
    hook,
    "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n",
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
  const r = spawnSync(process.execPath, ['--import', hooks, CLI, ...args], {
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
  });
});
