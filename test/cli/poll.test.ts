/**
 * `panoptes poll`: enrichment then polling of the resources of a file, every group printed as
 * one Panoptes JSON line; the exit status says whether every poll succeeded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPoll } from '../../src/cli/commands/poll.js';
import { EXIT } from '../../src/cli/io.js';
import type { CliIo } from '../../src/cli/io.js';
import { silentLogger } from '../../src/log.js';
import { parseMetricsGroup, parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUICKSTART_PLUGINS = join(ROOT, 'examples', 'quickstart', 'plugins');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-poll-'));
  await writeFile(
    join(dir, 'site.yaml'),
    [
      'site: lab',
      `plugins: { directories: [${QUICKSTART_PLUGINS}] }`,
      'simulator: { devices: 2, interfaces: 3 }',
      'snmp: { timeout_ms: 300, retries: 0 }',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function device(id: string, community = id): Record<string, unknown> {
  return {
    resource_id: id,
    resource_site: 'lab',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'simulated',
    resource_creation_plugin: 'test',
    resource_metadata: { snmp_community: community },
  };
}

async function poll(
  resources: unknown,
  options: { runs?: number; every?: number } = {},
): Promise<{ code: number; groups: MetricsGroup[]; err: string }> {
  const file = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(resources));
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  };
  const code = await runPoll(
    { config: join(dir, 'site.yaml'), resources: file, ...options },
    io,
    silentLogger,
  );
  const groups = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const p = parseMetricsGroup(parseJson(l, 'stdout'));
      if (!p.ok) throw new Error(`not a metrics group: ${l}`);
      return p.value;
    });
  return { code, groups, err };
}

const statusOf = (groups: readonly MetricsGroup[], id: string, plugin: string): unknown[] =>
  groups
    .filter(
      (g) =>
        g.metrics_group_type === 'status' &&
        g.resource.resource_id === id &&
        g.dimensions.some((d) => d.dimension_value === plugin),
    )
    .map((g) => g.metrics[0]?.metric_value);

describe('panoptes poll', () => {
  it('enriches, then polls once with every matching plugin, and prints every group; exit 0', async () => {
    const r = await poll([device('sim-00001'), device('sim-00002')]);
    expect(r.err).toMatch(/^polled 2 resources: 6 runs, \d+ groups; 6 success \(0\)\n$/);
    expect(r.code).toBe(EXIT.OK);
    for (const id of ['sim-00001', 'sim-00002']) {
      for (const plugin of ['interface-polling', 'device-status', 'device-metrics']) {
        expect(statusOf(r.groups, id, plugin), `${id} ${plugin}`).toEqual([0]);
      }
      const interfaces = r.groups.filter(
        (g) => g.metrics_group_type === 'interface' && g.resource.resource_id === id,
      );
      expect(interfaces).toHaveLength(3);
      // Names come from the enrichment run first.
      expect(
        interfaces[0]?.dimensions.find((d) => d.dimension_name === 'interface_name')?.dimension_value,
      ).toBe('Gi0/1');
    }
    expect(r.groups.filter((g) => g.metrics_group_type === 'cpu')).toHaveLength(4);
  });

  it('a device that does not answer: its status groups say timeout, the others still print; exit 1', async () => {
    const r = await poll([device('sim-00001'), device('dead', 'nobody-answers-this')]);
    expect(r.code).toBe(EXIT.FAILED);
    expect(statusOf(r.groups, 'dead', 'device-status')).toEqual([3]);
    expect(statusOf(r.groups, 'sim-00001', 'device-status')).toEqual([0]);
    expect(r.err).toContain('timeout (3)');
  });

  it('--runs 2 turns counters into rates', async () => {
    const r = await poll([device('sim-00002')], { runs: 2, every: 1 });
    expect(r.code).toBe(EXIT.OK);
    const rates = r.groups
      .filter((g) => g.metrics_group_type === 'interface')
      .flatMap((g) => g.metrics.filter((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge'));
    // First run: counters only; second run: a rate per interface (interface 1 of device 2: 2 x 1000 octets/s x 8).
    expect(rates).toHaveLength(3);
    expect(Number(rates[0]?.metric_value)).toBeGreaterThan(0);
  }, 20_000);

  it('invalid resources are reported with their path; exit 1', async () => {
    const r = await poll([{ resource_id: 'x' }]);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.err).toMatch(/\$\[0\]\.resource_site: is required/);
  });

  it('usage errors exit 2', () => {
    const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
    const res = spawnSync(
      process.execPath,
      [cli, 'poll', '--config', 'x.yaml', '--resources', 'r.json', '--runs', '0'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(res.status).toBe(EXIT.USAGE);
    expect(res.stderr).toContain('RUNS must be an integer from 1 to 1000');
  });
});
