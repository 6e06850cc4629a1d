/**
 * The Grafana dashboards in dashboards/ against real servers the pipeline wrote to: the embedded
 * pipeline polls the simulator (interfaces and device health) and writes through remote write
 * to Prometheus 2.42 and through the InfluxDB consumer (API v1) to InfluxDB 1.6. Every panel
 * query and every variable query of every dashboard is run, with Grafana's variables filled in
 * as Grafana would ("All"), and must return the series the pipeline wrote.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards } from '../../scripts/build-dashboards.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import type { InfluxConsumer } from '../../src/consumers/influx-consumer.js';
import type { RemoteWriteConsumer } from '../../src/consumers/remote-write.js';
import { silentLogger } from '../../src/log.js';
import { PanoptesNode } from '../../src/node/node.js';
import { startInfluxDb, startPrometheus } from '../services/index.js';
import type { InfluxDbService, PrometheusService } from '../services/index.js';
import { pluginFile, simulatedResources, writeLabPlugins } from '../support/lab.js';

const DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url));
const DEVICES = 2;
const INTERFACES = 4;
const INTERVAL = 2;
/** The simulated devices (the status group also has the node's own heartbeat resource). */
const SIMS = Array.from({ length: DEVICES }, (_, k) => `sim-0000${k + 1}`);

let dir: string;
let prom: PrometheusService;
let influx: InfluxDbService;
let endedAt: number;
let stats: { prometheus: RemoteWriteConsumer['stats']; influx: InfluxConsumer['stats'] };

interface Target {
  readonly expr?: string;
  readonly query?: string;
}
interface Dashboard {
  readonly title: string;
  readonly panels: readonly { readonly title: string; readonly targets: readonly Target[] }[];
  readonly templating: {
    readonly list: readonly { readonly name: string; readonly type: string; readonly definition?: string }[];
  };
}

async function dashboard(file: string): Promise<Dashboard> {
  return JSON.parse(await readFile(join(DIR, file), 'utf8')) as Dashboard;
}

/** Grafana's variables as "All": regex `.*`; the built-in interval and time filter. */
function fill(query: string): string {
  const all = '.*'; // the allValue of every variable
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', `${INTERVAL}s`)
    .replaceAll('$site', all)
    .replaceAll('$device', all)
    .replaceAll('$interface', all);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-dashboards-'));
  [prom, influx] = await Promise.all([startPrometheus(), startInfluxDb('network')]);
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(DEVICES, 'lab')));
  await writeLabPlugins(dir, {
    devicesFile: join(dir, 'devices.json'),
    intervalSeconds: INTERVAL,
    extra: {
      'health.panoptes-plugin': pluginFile(
        'device-metrics',
        'device-metrics.js',
        `execute_frequency = ${INTERVAL}\ntimeout = ${INTERVAL}\nresource_filter = resource_class = 'network'`,
        '[snmp]\nmax_repetitions = 50\n',
      ),
    },
  });
  const yaml = [
    'site: lab',
    'plugins:\n  directories: [plugins]\n  rescan_seconds: 0',
    `simulator:\n  devices: ${DEVICES}\n  interfaces: ${INTERFACES}`,
    'snmp:\n  timeout_ms: 500\n  retries: 0',
    'polling:\n  node_id: test-node',
    'consumers:',
    `  prometheus: { url: '${prom.writeUrl}', batch_size: 50 }`,
    `  influx: { url: '${influx.url}', api: v1, bucket: network, batch_size: 50 }`,
    '',
  ].join('\n');
  const config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
  const node = await PanoptesNode.start({ config, logger: silentLogger });
  await new Promise((r) => setTimeout(r, 4 * INTERVAL * 1000));
  const published = node.snapshot().groups;
  const pc = node.prometheus as RemoteWriteConsumer;
  const ic = node.influx as InfluxConsumer;
  for (let i = 0; i < 100 && (pc.stats.received < published || ic.stats.received < published); i++)
    await new Promise((r) => setTimeout(r, 100));
  await node.stop();
  endedAt = Date.now() / 1000;
  stats = { prometheus: { ...pc.stats }, influx: { ...ic.stats } };
}, 90_000);

afterAll(async () => {
  await Promise.all([prom?.stop(), influx?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('dashboards/', () => {
  it('are what scripts/build-dashboards.ts builds', async () => {
    for (const [file, text] of buildDashboards())
      expect(await readFile(join(DIR, file), 'utf8'), file).toBe(text);
  });

  it('the pipeline wrote to both servers, nothing refused', () => {
    expect(stats.prometheus.written).toBeGreaterThan(0);
    expect(stats.prometheus.deadLettered).toBe(0);
    expect(stats.influx.written).toBeGreaterThan(0);
    expect(stats.influx.deadLettered).toBe(0);
  });

  for (const file of ['interfaces-prometheus.json', 'device-health-prometheus.json']) {
    it(`${file}: every panel query returns the pipeline's series from Prometheus`, async () => {
      const d = await dashboard(file);
      for (const panel of d.panels)
        for (const t of panel.targets) {
          const result = await prom.query(fill(t.expr ?? ''), endedAt);
          expect(result.length, `${panel.title}: ${t.expr}`).toBeGreaterThan(0);
          const devices = new Set(result.map((r) => r.metric['resource_id']));
          for (const sim of SIMS) expect(devices.has(sim), `${panel.title}: ${t.expr}: ${sim}`).toBe(true);
        }
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        const m = /^label_values\((.+), (\w+)\)$/.exec(fill(v.definition ?? ''));
        expect(m, v.definition).not.toBeNull();
        const [, selector, label] = m as RegExpExecArray;
        const values = new Set(
          (await prom.query(`group by (${label}) (${selector})`, endedAt)).map(
            (r) => r.metric[label as string],
          ),
        );
        expect(values.size, v.definition).toBeGreaterThan(0);
        if (label === 'resource_site') expect([...values]).toEqual(['lab']);
      }
    });
  }

  it('interfaces-prometheus.json: the traffic panel gives the simulated rates', async () => {
    const d = await dashboard('interfaces-prometheus.json');
    const traffic = d.panels.find((p) => p.title === 'Traffic');
    const result = await prom.query(fill(traffic?.targets[0]?.expr ?? ''), endedAt);
    expect(result.length).toBe(DEVICES * INTERFACES);
    for (const r of result) {
      const expected =
        8000 * Number(r.metric['resource_id']?.slice(4)) * Number(r.metric['interface_name']?.slice(4));
      expect(Math.abs(Number(r.value[1]) - expected) / expected).toBeLessThan(0.05);
    }
  });

  for (const file of ['interfaces-influxdb.json', 'device-health-influxdb.json']) {
    it(`${file}: every panel query returns the pipeline's series from InfluxDB`, async () => {
      const d = await dashboard(file);
      for (const panel of d.panels)
        for (const t of panel.targets) {
          const series = await influx.query(fill(t.query ?? ''));
          expect(series.length, `${panel.title}: ${t.query}`).toBeGreaterThan(0);
          const devices = new Set(series.map((s) => s.tags?.['resource_id']));
          for (const sim of SIMS) expect(devices.has(sim), `${panel.title}: ${t.query}: ${sim}`).toBe(true);
          const values = series.flatMap((s) => s.values.map((row) => row[1])).filter((v) => v !== null);
          expect(values.length, `${panel.title}: ${t.query}`).toBeGreaterThan(0);
        }
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        const series = await influx.query(fill(v.definition ?? ''));
        const values = series.flatMap((s) => s.values.map((row) => row[1]));
        expect(values.length, v.definition).toBeGreaterThan(0);
        if (v.name === 'site') expect(values).toEqual(['lab']);
      }
    });
  }

  it('InfluxDB 1.x holds a Counter64 beyond 2^63 as a float (no unsigned integers there)', async () => {
    const [series] = await influx.query(
      `SELECT last("bits_in__counter") FROM "interface" WHERE "resource_id" = 'sim-00001' AND "interface_name" = 'Gi0/1'`,
    );
    expect(Number(series?.values[0]?.[1])).toBeGreaterThan(2 ** 63);
  });
});
