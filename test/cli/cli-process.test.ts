/**
 * The built command line, run as a real process: `node dist/src/cli/main.js ...`. `npm test` builds
 * first; when run on its own, beforeAll builds if dist/ is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { stringifyJson } from '../../src/model/json.js';
import { COUNTER64_MAX, COUNTER64_MAX_TEXT, metricJson, metricsGroupJson } from '../model/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], input?: string): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    ...(input === undefined ? {} : { input }),
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let bigFile: string;
let rateFile: string;

beforeAll(async () => {
  if (!existsSync(CLI)) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  dir = await mkdtemp(join(tmpdir(), 'panoptes-cli-'));
  bigFile = join(dir, 'f.json');
  await writeFile(
    bigFile,
    stringifyJson(
      metricsGroupJson({ metrics: [metricJson({ metric_name: 'octets', metric_value: COUNTER64_MAX })] }),
    ),
  );
  rateFile = join(dir, 'rate.json');
  await writeFile(
    rateFile,
    stringifyJson(metricsGroupJson({ metrics: [metricJson({ metric_type: 'rate' })] })),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('panoptes (built CLI process)', () => {
  it('validate metrics f.json --print prints the exact integer 18446744073709551615', () => {
    const r = cli(['validate', 'metrics', bigFile, '--print']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`"metric_value": ${COUNTER64_MAX_TEXT},`);
    expect(r.stdout).not.toContain('18446744073709552000');
  });

  it('validate metrics f.json prints a summary and exits 0', () => {
    const r = cli(['validate', 'metrics', bigFile]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ok: 1 metrics group\n');
  });

  it('reads standard input when the file is "-"', () => {
    const r = cli(['validate', 'metrics', '-', '--print'], readFileSync(bigFile, 'utf8'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(COUNTER64_MAX_TEXT);
  });

  it('exits 1 for metric_type "rate" and names $.metrics[0].metric_type on stderr', () => {
    const r = cli(['validate', 'metrics', rateFile]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${rateFile}: $.metrics[0].metric_type: must be "counter" or "gauge"\n`);
  });

  it('exits 1 for a missing file', () => {
    const missing = join(dir, 'missing.json');
    const r = cli(['validate', 'resources', missing]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${missing}: cannot read: no such file\n`);
  });

  it('validate --help exits 0 and documents --print', () => {
    const r = cli(['validate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--print');
    expect(r.stdout).toContain('Usage: panoptes validate');
  });

  it('exits 2 for an unknown subcommand', () => {
    const r = cli(['bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'bogus'");
  });

  it('exits 2 for an unknown kind', () => {
    const r = cli(['validate', 'bogus', bigFile]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown kind 'bogus'");
  });

  it('exits 2 for a missing argument and for an unknown option', () => {
    expect(cli(['validate', 'metrics']).status).toBe(2);
    expect(cli(['validate', 'metrics', bigFile, '--bogus']).status).toBe(2);
  });

  it('--version prints the version from package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });
});
