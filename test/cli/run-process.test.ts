/**
 * `panoptes run` as a real process from dist/, as `npm start` runs it: the quickstart's
 * acceptance (50 simulated devices x 24 interfaces, 25 s), a clean stop on SIGTERM, and
 * configuration errors named by file, line and key path.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const QUICKSTART = join(ROOT, 'examples', 'quickstart', 'site.yaml');

let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI))
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'panoptes-run-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function readGroups(text: string): MetricsGroup[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseJson(l) as MetricsGroup);
}

const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));

describe('panoptes run (built CLI process)', () => {
  it('the quickstart for 25 s: every device and interface, rates within 1%, exact counters, status 0', async () => {
    const out = join(dir, 'm.jsonl');
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', QUICKSTART, '--for', '25', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    // Not a terminal: plain status lines, then the summary.
    expect(r.stdout).toMatch(/devices 51 {2}polls\/s [\d.]+ {2}metrics\/s [\d.]+ {2}errors 0/);
    expect(r.stdout).toMatch(
      /stopped after 2\d\.\d s: 51 devices, \d+ polls, (\d+) groups, .* (\d+) lines written/,
    );
    const groups = readGroups(await readFile(out, 'utf8'));
    const [, published, written] = /(\d+) groups, .* (\d+) lines written/.exec(r.stdout) ?? [];
    expect(Number(written)).toBe(groups.length);
    expect(Number(published)).toBe(groups.length);

    const seen = new Map<string, Set<string>>();
    const rated = new Set<string>();
    for (const g of groups.filter((x) => x.metrics_group_type === 'interface')) {
      const id = g.resource.resource_id;
      const name = dims(g)['interface_name'] ?? '';
      seen.set(id, (seen.get(id) ?? new Set()).add(name));
      const counter = g.metrics.find((m) => m.metric_name === 'bits_in' && m.metric_type === 'counter');
      expect(typeof counter?.metric_value).toBe('bigint');
      const d = Number(id.slice(4));
      const i = Number(name.slice(4));
      const octets = (counter?.metric_value as bigint) / 8n;
      expect((octets - 2n ** 60n - BigInt(d * i)) % BigInt(d * i)).toBe(0n);
      const rateIn = g.metrics.find((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge');
      const rateOut = g.metrics.find((m) => m.metric_name === 'bits_out' && m.metric_type === 'gauge');
      if (i % 7 === 0 || rateIn === undefined) continue;
      expect(Math.abs(Number(rateIn.metric_value) - 8000 * d * i)).toBeLessThan(80 * d * i);
      expect(Math.abs(Number(rateOut?.metric_value) - 4000 * d * i)).toBeLessThan(40 * d * i);
      rated.add(`${id}/${i}`);
    }
    expect(seen.size).toBe(50);
    for (const names of seen.values()) expect(names.size).toBe(24);
    // Every up interface (24 minus ifIndex 7, 14, 21) of every device got a rate.
    expect(rated.size).toBe(50 * 21);
    const statuses = groups.filter((g) => g.metrics_group_type === 'status');
    expect(new Set(statuses.map((g) => g.resource.resource_id)).size).toBe(51);
    expect(statuses.every((g) => g.metrics[0]?.metric_value === 0)).toBe(true);
  }, 70_000);

  it('stops cleanly on SIGTERM, flushing what was published', async () => {
    const out = join(dir, 'sigterm.jsonl');
    const child = spawn(process.execPath, [CLI, 'run', '--config', QUICKSTART, '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // Wait until it runs (bounded), then stop it.
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('pipeline running') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain('pipeline running');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    const [, written] = /(\d+) lines written/.exec(stdout) ?? [];
    const lines = readGroups(await readFile(out, 'utf8'));
    expect(Number(written)).toBe(lines.length);
    expect(lines.length).toBeGreaterThan(0);
  }, 40_000);

  it('rejects an invalid configuration with file, line, column and key path (exit 1)', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'site: lab\nsnmp:\n  retries: many\n  colour: blue\n');
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', file], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:3:12: snmp.retries: must be an integer from 0 to 20`);
    expect(r.stderr).toContain(`${file}:4:11: snmp.colour: unknown key`);
  });

  it('names a missing --config as a usage error (exit 2)', () => {
    const r = spawnSync(process.execPath, [CLI, 'run'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("required option '--config <file>' not specified");
  });
});
