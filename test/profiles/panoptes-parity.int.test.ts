/**
 * Panoptes parity, end to end: Panoptes' own real-device recordings served by `panoptes simulate
 * --data` (one community per recording), polled once by `panoptes poll` with the built-in
 * plugins, and scored against the metrics groups Panoptes produced for the same recordings: at
 * least 90% of all its values and 75% of each device's must come out with the same group type,
 * dimensions and metric name, within 0.5%.
 *
 * Panoptes' device tests polled with a 300 s polling frequency (it picks the 5-minute CPU
 * average); the built-in device-metrics plugin runs every 60 s (the 1-minute average), so the
 * recordings are polled both ways: as shipped, and with a site plugin file that sets 300 s.
 * The device Panoptes polled through a hand-written metrics definition ("missing CPU OIDs") is
 * polled with that definition written as a user's profile (profiles.directories).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsGroup } from '../../src/model/index.js';
import { parseMetricsGroup } from '../../src/model/index.js';
import { parseJson } from '../../src/model/json.js';
import { FIXTURES, scoreAgainstPanoptes } from '../support/profile-harness.js';
import type { Score } from '../support/profile-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface Device {
  /** Recording and results name in test/fixtures/panoptes (also the community). */
  readonly name: string;
  readonly type: string;
  readonly metadata: Readonly<Record<string, string>>;
}

const DEVICES: readonly Device[] = [
  {
    name: 'cisco-ios-3560G-48TS-S',
    type: 'cisco',
    metadata: { model: '3560G-48TS-S', os_name: 'CISCO IOS Software' },
  },
  { name: 'cisco-ios-4900M', type: 'cisco', metadata: { model: '4900M', os_name: 'CISCO IOS Software' } },
  { name: 'cisco-ios-4948E', type: 'cisco', metadata: { model: '4948E', os_name: 'CISCO IOS Software' } },
  { name: 'cisco-ios-6509-E', type: 'cisco', metadata: { model: '6509-E', os_name: 'CISCO IOS Software' } },
  { name: 'cisco-nxos-3048', type: 'cisco', metadata: { model: '3048', os_name: 'CISCO NX-OS(tm)' } },
  { name: 'cisco-nxos-n3k_3048T', type: 'cisco', metadata: { model: '3048T', os_name: 'CISCO NX-OS(tm)' } },
  { name: 'juniper-ex', type: 'juniper', metadata: { model: 'EX4600-40F' } },
  { name: 'juniper-mx960', type: 'juniper', metadata: { model: 'MX960' } },
  { name: 'juniper-mx2020', type: 'juniper', metadata: { model: 'MX2020' } },
  { name: 'juniper-qfx', type: 'juniper', metadata: { model: 'QFX10002-36Q' } },
  { name: 'juniper-srx1400', type: 'juniper', metadata: { model: 'SRX1400' } },
  { name: 'juniper-bgp', type: 'juniper', metadata: { model: 'MX960' } },
  { name: 'generic-missing_cpu_oids', type: 'test_type', metadata: { profile_test: 'missing_cpu_oids' } },
];

/** Panoptes' interface enrichment recordings: their results are the enrichment it made. */
const INTERFACE_FIXTURES = [
  'interface-enrichment',
  'interface-enrichment-cisco',
  'interface-enrichment-juniper-mx',
  'interface-enrichment-juniper-qfx',
  'interface-enrichment-arista',
] as const;

interface PanoptesEnrichment {
  readonly resource: { resource_type: string; resource_metadata: Record<string, string> };
  readonly enrichment: readonly { data: readonly Record<string, Record<string, unknown>>[] }[];
}

function readEnrichment(name: string): PanoptesEnrichment {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.results.json`), 'utf8')) as PanoptesEnrichment;
}

let dir: string;
let simulator: ChildProcess | undefined;
let port: number;

/** Starts `panoptes simulate` on a free port and resolves with the port it prints. */
function startSimulator(data: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'simulate', '--port', '0', '--data', data], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    simulator = child;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^listening on 127\.0\.0\.1:(\d+) .*, (\d+) recordings\)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}: ${out}`));
    });
  });
}

interface PollRun {
  readonly status: number | null;
  readonly groups: MetricsGroup[];
  readonly stderr: string;
}

async function poll(
  site: string,
  extra: readonly Record<string, unknown>[] = [],
  args: readonly string[] = [],
): Promise<PollRun> {
  const devices = DEVICES.map((d) => ({
    resource_id: d.name,
    resource_site: 'parity',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: d.type,
    resource_creation_plugin: 'test',
    resource_metadata: { ...d.metadata, snmp_community: d.name },
  }));
  const file = join(dir, 'resources.json');
  await writeFile(file, JSON.stringify([...devices, ...extra]));
  const r = spawnSync(process.execPath, [CLI, 'poll', '--config', site, '--resources', file, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  const groups = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const parsed = parseMetricsGroup(parseJson(l, 'stdout'));
      if (!parsed.ok) throw new Error(`invalid group on stdout: ${JSON.stringify(parsed.issues)}`);
      return parsed.value;
    });
  return { status: r.status, groups, stderr: r.stderr };
}

function scores(groups: readonly MetricsGroup[]): Map<string, Score> {
  const out = new Map<string, Score>();
  for (const d of DEVICES) {
    const own = groups.filter(
      (g) => g.resource.resource_id === d.name && g.metrics_group_type !== 'interface',
    );
    out.set(d.name, scoreAgainstPanoptes(own, join(FIXTURES, `${d.name}.results.json`)));
  }
  return out;
}

function expectParity(all: Map<string, Score>): { matched: number; total: number } {
  let matched = 0;
  let total = 0;
  for (const [name, s] of all) {
    matched += s.matched;
    total += s.total;
    expect(
      s.matched / s.total,
      `${name}: ${s.matched}/${s.total}, missed ${s.misses.join('; ')}`,
    ).toBeGreaterThanOrEqual(0.75);
  }
  expect(matched / total, `${matched}/${total}`).toBeGreaterThanOrEqual(0.9);
  return { matched, total };
}

beforeAll(async () => {
  if (spawnSync(process.execPath, [CLI, '--version']).status !== 0) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  dir = await mkdtemp(join(tmpdir(), 'panoptes-parity-'));
  const data = join(dir, 'recordings');
  await mkdir(data);
  for (const name of [...DEVICES.map((d) => d.name), ...INTERFACE_FIXTURES, 'interface-polling']) {
    await copyFile(join(FIXTURES, `${name}.snmprec`), join(data, `${name}.snmprec`));
  }
  port = await startSimulator(data);
  await mkdir(join(dir, 'every300'));
  await writeFile(
    join(dir, 'every300', 'device-metrics.panoptes-plugin'),
    [
      '[Core]',
      'Name = device-metrics',
      'Module = builtin:device-metrics',
      '[main]',
      'execute_frequency = 300',
      "resource_filter = resource_class = 'network'",
      'timeout = 60',
      '[snmp]',
      'max_repetitions = 50',
    ].join('\n'),
  );
  const site = (name: string, directories: string[]): Promise<void> =>
    writeFile(
      join(dir, name),
      [
        'site: parity',
        `plugins: { directories: [${directories.join(', ')}] }`,
        `profiles: { directories: [${join(ROOT, 'test', 'fixtures', 'profiles')}] }`,
        `snmp: { port: ${port}, timeout_ms: 2000, retries: 1 }`,
      ].join('\n'),
    );
  // Panoptes polled its interface recording with an enrichment written by hand (its test data);
  // the same facts, as a site's hand-written enrichment in the namespace interface polling joins.
  await mkdir(join(dir, 'static-interfaces'));
  await writeFile(
    join(dir, 'static-interfaces', 'names.json'),
    JSON.stringify({
      'interface-polling': JSON.parse(
        readFileSync(join(FIXTURES, 'interface-polling.enrichment.json'), 'utf8'),
      ) as unknown,
    }),
  );
  await writeFile(
    join(dir, 'static-interfaces', 'interface-enrichment.panoptes-plugin'),
    [
      '[Core]',
      'Name = interface-enrichment',
      'Module = builtin:enrichment-file',
      '[main]',
      'execute_frequency = 300',
      'namespace = interface',
      "resource_filter = resource_class = 'network'",
      '[options]',
      'file = names.json',
    ].join('\n'),
  );
  await site('static-interfaces.yaml', [join(dir, 'static-interfaces')]);
  await site('builtin.yaml', []);
  await site('every300.yaml', [join(dir, 'every300')]);
}, 120_000);

afterAll(async () => {
  simulator?.kill('SIGTERM');
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('Panoptes recordings polled by panoptes poll', () => {
  it('reproduce Panoptes values with the built-in plugins as shipped (every 60 s)', async () => {
    const run = await poll(join(dir, 'builtin.yaml'));
    const { matched, total } = expectParity(scores(run.groups));
    expect(total).toBeGreaterThan(500);
    expect(matched).toBeGreaterThan(0);
    // Every device got a device-metrics run with a status group. Partial: the device without its
    // CPU column, and the BGP recording, which holds the BGP tables only (no jnxOperatingTable).
    const partial = new Set(['generic-missing_cpu_oids', 'juniper-bgp']);
    for (const d of DEVICES) {
      const status = run.groups.find(
        (g) =>
          g.resource.resource_id === d.name &&
          g.metrics_group_type === 'status' &&
          g.dimensions.some((x) => x.dimension_value === 'device-metrics'),
      );
      expect(status?.metrics[0]?.metric_value, d.name).toBe(partial.has(d.name) ? 4 : 0);
    }
  }, 90_000);

  it("reproduce every Panoptes value at its tests' 300 s polling frequency", async () => {
    const run = await poll(join(dir, 'every300.yaml'));
    const all = scores(run.groups);
    const { matched, total } = expectParity(all);
    const misses = [...all.values()].flatMap((s) => s.misses);
    expect(misses).toEqual([]);
    expect(matched).toBe(total);
  }, 90_000);

  it("enrich interfaces as Panoptes' interface enrichment did for its recordings", async () => {
    const resources = INTERFACE_FIXTURES.map((name) => {
      const expected = readEnrichment(name);
      return {
        resource_id: name,
        resource_site: 'parity',
        resource_endpoint: '127.0.0.1',
        resource_class: 'network',
        resource_subclass: 'switch',
        resource_type: expected.resource.resource_type,
        resource_creation_plugin: 'test',
        resource_metadata: {
          ...Object.fromEntries(
            Object.entries(expected.resource.resource_metadata).filter(([k]) => !k.startsWith('_')),
          ),
          snmp_community: name,
        },
      };
    });
    const out = join(dir, 'enrichment.jsonl');
    await poll(join(dir, 'builtin.yaml'), resources, ['--enrichment-out', out]);
    const ours = new Map<string, Record<string, Record<string, unknown>>>();
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line) as {
        resource_id: string;
        namespace: string;
        enrichment: { data: Record<string, Record<string, unknown>> };
      };
      if (e.namespace === 'interface') ours.set(e.resource_id, e.enrichment.data);
    }
    let matched = 0;
    let total = 0;
    for (const name of INTERFACE_FIXTURES) {
      const data = ours.get(name) ?? {};
      let own = 0;
      let ownTotal = 0;
      const misses: string[] = [];
      for (const entry of readEnrichment(name).enrichment[0]?.data ?? []) {
        for (const [index, fields] of Object.entries(entry)) {
          for (const [field, value] of Object.entries(fields)) {
            ownTotal++;
            // Panoptes wrote `<not set>` and -1 for what the device did not give; we leave it out.
            const theirs = value === '<not set>' || value === -1 ? undefined : value;
            const mine = data[index]?.[field];
            if (mine === theirs) own++;
            else misses.push(`${index}.${field}: ${String(value)} (ours: ${String(mine)})`);
          }
        }
      }
      expect(ownTotal, name).toBeGreaterThan(0);
      expect(
        own / ownTotal,
        `${name}: ${own}/${ownTotal}, missed ${misses.join('; ')}`,
      ).toBeGreaterThanOrEqual(0.75);
      matched += own;
      total += ownTotal;
    }
    expect(matched / total, `${matched}/${total}`).toBeGreaterThanOrEqual(0.9);
  }, 150_000);

  it("poll Panoptes' interface recording to its values, with the enrichment it was given", async () => {
    const run = await poll(join(dir, 'static-interfaces.yaml'), [
      {
        resource_id: 'interface-polling',
        resource_site: 'parity',
        resource_endpoint: '127.0.0.1',
        resource_class: 'network',
        resource_subclass: 'switch',
        resource_type: 'test_type',
        resource_creation_plugin: 'test',
        resource_metadata: { model: 'model', snmp_community: 'interface-polling' },
      },
    ]);
    const own = run.groups.filter(
      (g) => g.resource.resource_id === 'interface-polling' && g.metrics_group_type === 'interface',
    );
    expect(own).toHaveLength(1);
    const s = scoreAgainstPanoptes(own, join(FIXTURES, 'interface-polling.results.json'));
    expect(s.total).toBe(22);
    // The one value not reproduced: configured_speed, which Panoptes copied from its hand-written
    // enrichment (10) and which is read from the device here (ifHighSpeed, 1 Gbit/s).
    expect(s.misses).toEqual([
      'interface{alias=Gi0,configured_speed=10,description=GigabitEthernet0,interface_name=GigabitEthernet0,media_type=ethernetCsmacd,parent_interface_configured_speed=<not set>,parent_interface_media_type=<not set>,parent_interface_name=<not set>,parent_interface_port_speed=<not set>,port_speed=<not set>}.configured_speed = 10 (ours: 1000000000)',
    ]);
    expect(s.matched).toBe(21);
  }, 150_000);
});
