/**
 * The pipeline into Prometheus, end to end, on real servers: the embedded pipeline polls the
 * built-in simulator and
 * - writes through remote write to a Prometheus 2.42 server (its receiver on), which is stopped
 *   for 20 s mid-run: every sample the pipeline published is there afterwards;
 * - writes through remote write to VictoriaMetrics (a second consumer on the same bus);
 * - serves the scrape endpoint, which a second Prometheus server scrapes.
 * PromQL over the servers' HTTP APIs gives the simulator's traffic: bits_in of device d,
 * interface i is 8 * 1000 * d * i bits/s, within 5% (2 s polls: the poller stamps each answer when
 * it arrives, tens of ms off the agent's clock on a loaded machine; the exact rate arithmetic is
 * checked in test/stages/embedded.int.test.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { RemoteWriteConsumer } from '../../src/consumers/remote-write.js';
import { stringifyJson } from '../../src/model/json.js';
import { silentLogger } from '../../src/log.js';
import { parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { PanoptesNode } from '../../src/node/node.js';
import { startPrometheus, startVictoriaMetrics } from '../services/index.js';
import type { PrometheusService, VictoriaMetricsService } from '../services/index.js';
import { freeTcpPort } from '../services/ports.js';
import { simulatedResources, writeLabPlugins } from '../support/lab.js';

const DEVICES = 3;
const INTERFACES = 6;
const INTERVAL = 2;
const OUTAGE_MS = 20_000;

let dir: string;
let prom: PrometheusService;
let scraper: PrometheusService;
let vm: VictoriaMetricsService;
let groups: MetricsGroup[];
let stats: { prometheus: RemoteWriteConsumer['stats']; vm: RemoteWriteConsumer['stats'] };
let endedAt: number;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-prometheus-'));
  const expositionPort = await freeTcpPort();
  [prom, vm, scraper] = await Promise.all([
    startPrometheus(),
    startVictoriaMetrics(),
    startPrometheus({
      scrapeConfigs: `  - job_name: panoptes\n    static_configs:\n      - targets: ['127.0.0.1:${expositionPort}']`,
    }),
  ]);
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(DEVICES, 'lab')));
  await writeLabPlugins(dir, {
    devicesFile: join(dir, 'devices.json'),
    intervalSeconds: INTERVAL,
    rates: ['bits_in', 'bits_out'],
  });
  const yaml = [
    'site: lab',
    'plugins:\n  directories: [plugins]\n  rescan_seconds: 0',
    `simulator:\n  devices: ${DEVICES}\n  interfaces: ${INTERFACES}\n  health: false`,
    'snmp:\n  timeout_ms: 500\n  retries: 0',
    'polling:\n  node_id: test-node',
    'consumers:',
    `  prometheus: { url: '${prom.writeUrl}', batch_size: 50, timeout_ms: 2000 }`,
    `  prometheus_exposition: { port: ${expositionPort} }`,
    '',
  ].join('\n');
  const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
  const out = join(dir, 'out.jsonl');
  const node = await PanoptesNode.start({ config, logger: silentLogger, out });
  const toVm = new RemoteWriteConsumer({
    bus: node.bus,
    topic: 'lab-processed',
    deadLetterTopic: 'lab-dead-letter',
    groupId: 'lab-vm',
    url: `${vm.url}/api/v1/write`,
    batchSize: 50,
    logger: silentLogger,
  });
  await toVm.start();
  await sleep(3 * INTERVAL * 1000);
  await prom.pause();
  await sleep(OUTAGE_MS);
  await prom.resume();
  await sleep(3 * INTERVAL * 1000);
  // The consumer retries at its back-off, or sooner when its health probe sees the server
  // answer (every 5 s): bounded wait for it to catch up with what polling published.
  const pc = node.prometheus as RemoteWriteConsumer;
  for (let i = 0; i < 100 && pc.stats.received < node.snapshot().groups; i++) await sleep(200);
  await node.stop();
  await toVm.stop();
  endedAt = Date.now() / 1000;
  stats = { prometheus: { ...(node.prometheus as RemoteWriteConsumer).stats }, vm: { ...toVm.stats } };
  groups = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseJson(l) as MetricsGroup);
  await vm.flush();
}, 120_000);

afterAll(async () => {
  await Promise.all([prom?.stop(), scraper?.stop(), vm?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));

/** Samples per series of the pipeline's own output, keyed `resource/interface`. */
function expectedCounts(type: string, metric: string, metricType: 'counter' | 'gauge'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of groups) {
    if (g.metrics_group_type !== type) continue;
    if (!g.metrics.some((m) => m.metric_name === metric && m.metric_type === metricType)) continue;
    const key = `${g.resource.resource_id}/${dims(g)['interface_name'] ?? dims(g)['plugin'] ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const rateOf = (resourceId: string, iface: string): number =>
  8 * 1000 * Number(resourceId.slice(4)) * Number(iface.slice(4));

describe('Prometheus remote write, through a 20 s outage', () => {
  it('retried while the server was down and dead-lettered nothing', () => {
    expect(stats.prometheus.writeErrors).toBeGreaterThan(0);
    expect(stats.prometheus.deadLettered).toBe(0);
    expect(stats.prometheus.received).toBe(groups.length);
  });

  it('stored every sample the pipeline published: counters, rates and polling status', async () => {
    for (const [name, type, metric, metricType, by] of [
      ['panoptes_interface_bits_in', 'interface', 'bits_in', 'gauge', 'interface_name'],
      ['panoptes_interface_bits_out_total', 'interface', 'bits_out', 'counter', 'interface_name'],
      ['panoptes_status_polling_status', 'status', 'polling_status', 'gauge', 'plugin'],
    ] as const) {
      const expected = expectedCounts(type, metric, metricType);
      expect(expected.size).toBeGreaterThan(0);
      const result = await prom.query(`count_over_time(${name}[5m])`, endedAt + 1);
      const got = new Map(
        result.map((r) => [`${r.metric['resource_id']}/${r.metric[by]}`, Number(r.value[1])] as const),
      );
      expect(got, name).toEqual(expected);
    }
  });

  it('gives the simulated traffic as rates: 8000 * d * i bits/s on every up interface', async () => {
    const result = await prom.query('panoptes_interface_bits_in', endedAt);
    const up = result.filter((r) => Number(r.metric['interface_name']?.slice(4)) % 7 !== 0);
    expect(up.length).toBe(DEVICES * INTERFACES);
    for (const r of up) {
      const expected = rateOf(r.metric['resource_id'] as string, r.metric['interface_name'] as string);
      expect(Math.abs(Number(r.value[1]) - expected) / expected).toBeLessThan(0.05);
    }
    // The labels: the resource's, then the group's dimensions.
    const one = result[0]?.metric ?? {};
    expect(one).toMatchObject({
      __name__: 'panoptes_interface_bits_in',
      resource_site: 'lab',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'simulated',
      media_type: 'ethernetCsmacd',
    });
  });
});

describe('records read again after a restart', () => {
  it('are refused by Prometheus as out of order: counted stale and skipped, nothing dead-lettered', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    const records = groups.filter((g) => g.resource.resource_id === 'sim-00001').slice(0, 20);
    expect(records.length).toBe(20);
    // The same records under a series of their own (site `again`), read by two consumer groups
    // in turn, as a restarted consumer whose offsets were not committed reads them again.
    await bus.publish(
      'again-processed',
      records.map((g) => ({
        key: 'k',
        value: stringifyJson({ ...g, resource: { ...g.resource, resource_site: 'again' } }),
      })),
    );
    const read = async (groupId: string): Promise<RemoteWriteConsumer['stats']> => {
      const c = new RemoteWriteConsumer({
        bus,
        topic: 'again-processed',
        deadLetterTopic: 'again-dead-letter',
        groupId,
        url: prom.writeUrl,
        batchSize: 5,
        logger: silentLogger,
      });
      await c.start();
      for (let i = 0; i < 100 && c.stats.received < records.length; i++) await sleep(100);
      await c.stop();
      return { ...c.stats };
    };
    expect(await read('first')).toMatchObject({ received: 20, written: 20, stale: 0, deadLettered: 0 });
    const again = await read('second');
    expect(again).toMatchObject({ received: 20, deadLettered: 0 });
    // The newest record of each group (type and dimensions) is identical to what is stored:
    // accepted. Every older one holds samples older than its series' newest: out of order.
    const newest = new Set(records.map((g) => `${g.metrics_group_type} ${JSON.stringify(g.dimensions)}`));
    expect(newest.size).toBeLessThan(20);
    expect(again.written).toBe(newest.size);
    expect(again.stale).toBe(20 - newest.size);
    await bus.close();
  });
});

describe('VictoriaMetrics through remote write', () => {
  it('holds every rate the pipeline published, and the simulated traffic', async () => {
    expect(stats.vm.deadLettered).toBe(0);
    expect(stats.vm.written).toBe(groups.length);
    const expected = expectedCounts('interface', 'bits_in', 'gauge');
    // VictoriaMetrics answered every write, but a sample written in the last batch has been seen
    // missing from the export right after a forced flush: bounded wait for it to show.
    let series: Awaited<ReturnType<typeof vm.exportSeries>> = [];
    let got = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      await vm.flush();
      series = await vm.exportSeries('{__name__="panoptes_interface_bits_in"}');
      got = new Map(
        series.map(
          (s) => [`${s.metric['resource_id']}/${s.metric['interface_name']}`, s.values.length] as const,
        ),
      );
      if (JSON.stringify([...got].sort()) === JSON.stringify([...expected].sort())) break;
      await sleep(250);
    }
    expect([...got].sort()).toEqual([...expected].sort());
    for (const s of series) {
      const expectedRate = rateOf(s.metric['resource_id'] as string, s.metric['interface_name'] as string);
      const last = s.values[s.values.length - 1] as number;
      expect(Math.abs(last - expectedRate) / expectedRate).toBeLessThan(0.05);
    }
    // The same through PromQL over VictoriaMetrics' Prometheus query API.
    const res = await fetch(
      `${vm.url}/api/v1/query?${new URLSearchParams({ query: 'panoptes_interface_bits_in', time: String(endedAt) }).toString()}`,
    );
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    const up = body.data.result.filter((r) => Number(r.metric['interface_name']?.slice(4)) % 7 !== 0);
    expect(up.length).toBe(DEVICES * INTERFACES);
    for (const r of up) {
      const expectedRate = rateOf(r.metric['resource_id'] as string, r.metric['interface_name'] as string);
      expect(Math.abs(Number(r.value[1]) - expectedRate) / expectedRate).toBeLessThan(0.05);
    }
  });
});

describe('the scrape endpoint, scraped by Prometheus', () => {
  it('serves the latest rates, which Prometheus scraped', async () => {
    const result = await scraper.query('panoptes_interface_bits_in{job="panoptes"}', endedAt - 2);
    const up = result.filter((r) => Number(r.metric['interface_name']?.slice(4)) % 7 !== 0);
    expect(up.length).toBe(DEVICES * INTERFACES);
    for (const r of up) {
      const expected = rateOf(r.metric['resource_id'] as string, r.metric['interface_name'] as string);
      expect(Math.abs(Number(r.value[1]) - expected) / expected).toBeLessThan(0.05);
    }
    const counters = await scraper.query('panoptes_interface_bits_in_total{job="panoptes"}', endedAt - 2);
    expect(counters.length).toBe(DEVICES * INTERFACES);
  });
});
