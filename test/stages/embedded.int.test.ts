/**
 * The embedded pipeline end to end against the built-in simulator: discovery from JSON,
 * enrichment, interface polling with rates, device status, heartbeat, the JSONL consumer. One
 * device is listed but not simulated (it never answers), and one plugin file has a bad key.
 */
import { readFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { silentLogger } from '../../src/log.js';
import { parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { SnmpSimulator } from '../../src/sim/simulator.js';
import { PanoptesNode } from '../../src/node/node.js';
import { pluginFile, simulatedResources, writeLabPlugins } from '../support/lab.js';
import type { PipelineSnapshot } from '../../src/node/node.js';

const DEVICES = 3;
const INTERFACES = 8;
const DEAD = 'sim-00004';
const RUN_MS = 7000;

let dir: string;
let groups: MetricsGroup[];
let problems: string[];
let final: PipelineSnapshot;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-embedded-'));
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(DEVICES + 1, 'lab')));
  await writeLabPlugins(dir, {
    devicesFile: join(dir, 'devices.json'),
    intervalSeconds: 2,
    rates: ['bits_in', 'bits_out', 'unicast_packets_in', 'errors_in'],
    extra: {
      'broken.panoptes-plugin': pluginFile('broken', 'heartbeat.js', 'execute_frequency = 2\nfrequency = 5'),
    },
  });
  const yaml =
    `site: lab\nplugins:\n  directories: [plugins]\n  rescan_seconds: 0\n` +
    `simulator:\n  devices: ${DEVICES}\n  interfaces: ${INTERFACES}\n` +
    `snmp:\n  timeout_ms: 400\n  retries: 0\npolling:\n  node_id: test-node\n`;
  const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
  const out = join(dir, 'out', 'm.jsonl');
  const pipeline = await PanoptesNode.start({ config, logger: silentLogger, out });
  problems = [...pipeline.loader.problems.values()].map((e) => e.message);
  await new Promise((r) => setTimeout(r, RUN_MS));
  await pipeline.stop();
  final = pipeline.snapshot();
  const text = await readFile(out, 'utf8');
  groups = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseJson(l) as MetricsGroup);
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));
const metric = (g: MetricsGroup, name: string, type: 'counter' | 'gauge'): number | bigint | undefined =>
  g.metrics.find((m) => m.metric_name === name && m.metric_type === type)?.metric_value;

describe('embedded run against the simulator', () => {
  it('reports the plugin file with a bad key by file, section and key, and runs the rest', () => {
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBe(
      `${join(dir, 'plugins', 'broken.panoptes-plugin')}: [main] frequency: unknown key (expected one of ` +
        'execute_frequency, resource_filter, results_cache_age, enrichment_ttl, namespace, timeout)',
    );
    expect(groups.some((g) => g.metrics_group_type === 'heartbeat')).toBe(true);
  });

  it('writes every published group, and every line is a valid metrics group', () => {
    expect(final.written).toBe(final.groups);
    expect(groups).toHaveLength(final.groups);
    expect(final.devices).toBe(5); // 4 listed + the node's own resource
  });

  it('publishes one interface group per interface of every live device, with enrichment dimensions', () => {
    for (let d = 1; d <= DEVICES; d++) {
      const mine = groups.filter(
        (g) => g.metrics_group_type === 'interface' && g.resource.resource_id === `sim-0000${d}`,
      );
      const names = new Set(mine.map((g) => dims(g)['interface_name']));
      expect(names).toEqual(new Set(Array.from({ length: INTERFACES }, (_, i) => `Gi0/${i + 1}`)));
      const first = mine.find((g) => dims(g)['interface_name'] === 'Gi0/2');
      expect(dims(first as MetricsGroup)).toEqual({
        interface_name: 'Gi0/2',
        alias: `uplink-${d}-2`,
        description: 'GigabitEthernet0/2',
        media_type: 'ethernetCsmacd',
        port_speed: '1000000000',
        configured_speed: '1000000000',
        parent_interface_name: '<not set>',
        parent_interface_media_type: '<not set>',
        parent_interface_port_speed: '<not set>',
        parent_interface_configured_speed: '<not set>',
      });
    }
  });

  it('turns bits_in/bits_out counters into rates: the counter difference over the time difference, near the simulated traffic', () => {
    let checked = 0;
    const previous = new Map<string, MetricsGroup>();
    const counterAt = (g: MetricsGroup, name: string): { value: bigint; at: number } => {
      const m = g.metrics.find((x) => x.metric_name === name && x.metric_type === 'counter');
      return { value: BigInt(m?.metric_value ?? 0), at: m?.metric_creation_timestamp ?? 0 };
    };
    for (const g of groups.filter((x) => x.metrics_group_type === 'interface')) {
      const d = Number(g.resource.resource_id.slice(4));
      const i = Number(dims(g)['interface_name']?.slice(4));
      const key = `${g.resource.resource_id}/${i}`;
      const before = previous.get(key);
      previous.set(key, g);
      const rateIn = metric(g, 'bits_in', 'gauge');
      const rateOut = metric(g, 'bits_out', 'gauge');
      if (i % 7 === 0) {
        // Oper-down interfaces of the simulator count one error per second.
        expect(metric(g, 'oper_state', 'gauge')).toBe(2);
        const errors = metric(g, 'errors_in', 'gauge');
        // floor(elapsed seconds) sampled ~2 s apart: 1 or 2 (rarely 3) per poll interval.
        if (errors !== undefined) expect(Math.abs(Number(errors) - 1)).toBeLessThan(0.6);
        continue;
      }
      expect(metric(g, 'oper_state', 'gauge')).toBe(1);
      if (rateIn === undefined) continue; // the first poll of a series: no rate yet
      // Exactly the difference of the two polls' counters over their timestamps' difference.
      expect(before).toBeDefined();
      for (const [name, rate] of [
        ['bits_in', rateIn],
        ['bits_out', rateOut],
      ] as const) {
        const a = counterAt(before as MetricsGroup, name);
        const b = counterAt(g, name);
        const expected = Number(b.value - a.value) / (b.at - a.at);
        expect(Math.abs(Number(rate) - expected) / expected, `${key} ${name}`).toBeLessThan(1e-9);
      }
      // And near the simulated traffic: the poller stamps each answer when it arrives, so on a
      // loaded machine a 2 s interval's timestamps can be tens of ms off the agent's clock.
      expect(Math.abs(Number(rateIn) - 8000 * d * i) / (8000 * d * i)).toBeLessThan(0.05);
      expect(Math.abs(Number(rateOut) - 4000 * d * i) / (4000 * d * i)).toBeLessThan(0.05);
      checked++;
    }
    // Every up interface of every live device had at least two polls in the run.
    expect(checked).toBeGreaterThanOrEqual(DEVICES * 7);
  });

  it('keeps every digit of the 64-bit counters: bits_in = 8 x (2^60 + d*i + d*i*elapsed ms)', () => {
    for (const g of groups.filter((x) => x.metrics_group_type === 'interface')) {
      const d = BigInt(g.resource.resource_id.slice(4));
      const i = BigInt(dims(g)['interface_name']?.slice(4) ?? '0');
      const bits = metric(g, 'bits_in', 'counter');
      expect(typeof bits).toBe('bigint');
      const octets = (bits as bigint) / 8n;
      expect((bits as bigint) % 8n).toBe(0n);
      expect((octets - 2n ** 60n - d * i) % (d * i)).toBe(0n);
    }
  });

  it('reports polling_status 0 for live devices and 3 (timeout) for the device that never answers', () => {
    const status = (id: string, plugin: string): (number | bigint | undefined)[] =>
      groups
        .filter(
          (g) =>
            g.metrics_group_type === 'status' &&
            g.resource.resource_id === id &&
            dims(g)['plugin'] === plugin,
        )
        .map((g) => metric(g, 'polling_status', 'gauge'));
    for (const plugin of ['interface-polling', 'device-status']) {
      for (let d = 1; d <= DEVICES; d++) {
        const live = status(`sim-0000${d}`, plugin);
        expect(live.length).toBeGreaterThanOrEqual(3);
        expect(new Set(live)).toEqual(new Set([0]));
      }
      const dead = status(DEAD, plugin);
      expect(dead.length).toBeGreaterThanOrEqual(2);
      expect(new Set(dead)).toEqual(new Set([3]));
    }
    expect(groups.some((g) => g.resource.resource_id === DEAD && g.metrics_group_type === 'interface')).toBe(
      false,
    );
  });

  it('publishes a heartbeat for the node itself each interval', () => {
    const beats = groups.filter((g) => g.metrics_group_type === 'heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((g) => g.resource.resource_id === 'panoptes-poller-test-node')).toBe(true);
    expect(beats.every((g) => metric(g, 'status', 'gauge') === 1)).toBe(true);
  });
});

describe('embedded run that cannot start', () => {
  it('fails with a clear error and stops what it had started (the simulator port is free again)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'panoptes-embedded-fail-'));
    try {
      const probe = await SnmpSimulator.start({ port: 0 });
      const port = probe.port;
      await probe.close();
      // The output is a directory: the JSONL consumer cannot open it, after the simulator started.
      const yaml =
        `site: lab\nplugins:\n  directories: [plugins]\n  rescan_seconds: 0\n` +
        `simulator:\n  devices: 1\n  interfaces: 1\n  port: ${port}\noutput:\n  jsonl: ${base}\n`;
      const config = parseSiteConfig(yaml, join(base, 'site.yaml'));
      await expect(PanoptesNode.start({ config, logger: silentLogger })).rejects.toMatchObject({
        code: 'FILE_READ',
        message: expect.stringContaining(`${base}: cannot open for writing`) as unknown,
      });
      const again = await SnmpSimulator.start({ port });
      expect(again.port).toBe(port);
      await again.close();
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
