/**
 * The gNMI polling plugin in the whole pipeline (PanoptesNode: discovery, resource actors,
 * rates, JSONL out) against the Python test target (test/services/gnmi/target.py), which shares
 * no code with the client:
 * - rates for 24 interfaces match the target's formulas (bits_in 8 * 1000 * d * i bits/s,
 *   bits_out 8 * 500 * d * i, unicast_packets_in 10 * d * i per second);
 * - a stream cut for 30 s reconnects (back-off with jitter) and resumes, with no false rate spike
 *   and the cut visible as network errors in the `status` group;
 * - malformed updates are counted and logged and never stop the stream;
 * - TLS with a CA, and with a client certificate, both work.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { PanoptesNode } from '../../src/node/node.js';
import { startGnmiTarget } from '../services/index.js';
import type { GnmiTargetService } from '../services/index.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';
import { captureLogger } from '../support/capture-logger.js';
import type { LogRecord } from '../support/capture-logger.js';
import { discoveryPluginFile, pluginFile } from '../support/lab.js';

const D = 3;
const INTERFACES = 24;
const INTERVAL = 2;
const CUT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Lab {
  readonly groups: MetricsGroup[];
  readonly records: LogRecord[];
}

/** The node's /metrics sample of that name. */
const sample = (node: PanoptesNode, name: string): number =>
  node.metrics().find((m) => m.name === name)?.value ?? Number.NaN;

/** Runs a node over `devices` with the given gNMI plugin files while `during` runs. */
async function runNode(
  dir: string,
  devices: Record<string, unknown>[],
  plugins: Record<string, string>,
  during: (node: PanoptesNode) => Promise<void>,
): Promise<Lab> {
  await mkdir(join(dir, 'plugins'), { recursive: true });
  await writeFile(join(dir, 'devices.json'), JSON.stringify(devices));
  await writeFile(
    join(dir, 'plugins', 'discovery.panoptes-plugin'),
    discoveryPluginFile(join(dir, 'devices.json')),
  );
  for (const [name, text] of Object.entries(plugins)) await writeFile(join(dir, 'plugins', name), text);
  const config = parseSiteConfig(
    [
      'site: lab',
      'plugins:\n  directories: [plugins]\n  rescan_seconds: 0',
      'polling:\n  node_id: test-node',
      '',
    ].join('\n'),
    join(dir, 'site.yaml'),
  );
  const out = join(dir, 'out.jsonl');
  const { logger, records } = captureLogger();
  const node = await PanoptesNode.start({ config, logger, out });
  try {
    await during(node);
  } finally {
    await node.stop();
  }
  const groups = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseJson(l) as MetricsGroup);
  return { groups, records };
}

function device(id: string, port: number, extra: Record<string, string> = {}): Record<string, unknown> {
  return {
    resource_id: id,
    resource_site: 'lab',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'arista',
    resource_creation_plugin: 'discovery-json',
    resource_metadata: { telemetry: 'gnmi', gnmi_port: String(port), ...extra },
  };
}

function gnmiPlugin(name: string, filter: string, options: string): string {
  return pluginFile(
    name,
    'gnmi-telemetry.js',
    `execute_frequency = ${INTERVAL}\ntimeout = ${INTERVAL}\nresource_filter = ${filter}`,
    '[transforms]\nrates = rate:interface:bits_in,bits_out,unicast_packets_in,unicast_packets_out\n' +
      `[options]\nbackoff_initial_ms = 500\nbackoff_max_ms = 4000\n${options}\n`,
  );
}

const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));
const metric = (g: MetricsGroup, name: string, type: 'counter' | 'gauge'): number | bigint | undefined =>
  g.metrics.find((m) => m.metric_name === name && m.metric_type === type)?.metric_value;
const ifNumber = (g: MetricsGroup): number =>
  Number((dims(g)['interface_name'] ?? '').replace('Ethernet', ''));

describe('streaming from the Python target through the pipeline', () => {
  let target: GnmiTargetService;
  let dir: string;
  let lab: Lab;
  let cut: { from: number; to: number };
  let malformedWindow: { from: number; to: number };
  let malformed: { before: number; after: number };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'panoptes-gnmi-'));
    target = await startGnmiTarget({ device: D, interfaces: INTERFACES });
    const port = Number(target.target.split(':')[1]);
    lab = await runNode(
      dir,
      [device('gnmi-a', port)],
      {
        'gnmi.panoptes-plugin': gnmiPlugin(
          'gnmi-telemetry',
          "resource_metadata.telemetry = 'gnmi'",
          'insecure = true',
        ),
      },
      async (node) => {
        await sleep(5 * INTERVAL * 1000);
        cut = { from: Date.now() / 1000, to: 0 };
        target.setKnobs({ drop: true });
        await sleep(CUT_MS);
        target.setKnobs({});
        cut.to = Date.now() / 1000;
        await sleep(4000 + 3 * INTERVAL * 1000);
        malformedWindow = { from: Date.now() / 1000, to: 0 };
        malformed = { before: sample(node, 'panoptes_gnmi_malformed_updates_total'), after: 0 };
        target.setKnobs({ malformed: true });
        await sleep(4 * INTERVAL * 1000);
        malformedWindow.to = Date.now() / 1000;
        target.setKnobs({});
        malformed.after = sample(node, 'panoptes_gnmi_malformed_updates_total');
        await sleep(2 * INTERVAL * 1000);
      },
    );
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const interfaces = (): MetricsGroup[] => lab.groups.filter((g) => g.metrics_group_type === 'interface');

  it("emits one interface group per interface per interval, with the SNMP plugin's names", () => {
    const before = interfaces().filter((g) => g.metrics_group_creation_timestamp < cut.from);
    const names = new Set(before.map((g) => dims(g)['interface_name']));
    expect(names.size).toBe(INTERFACES);
    // About 5 intervals before the cut: per interface, never more than one group per run.
    const perInterface = before.filter((g) => dims(g)['interface_name'] === 'Ethernet1').length;
    expect(perInterface).toBeGreaterThanOrEqual(3);
    expect(perInterface).toBeLessThanOrEqual(7);
    const g = before[0] as MetricsGroup;
    expect(g.resource.resource_id).toBe('gnmi-a');
    expect(g.metrics_group_interval).toBe(INTERVAL);
    // Raw counters keep every digit: in-octets is 2^60 + ..., bits_in = 8 x that > 2^63.
    const bits = metric(g, 'bits_in', 'counter');
    expect(typeof bits).toBe('bigint');
    expect(bits as bigint).toBeGreaterThan(2n ** 63n);
    expect(metric(g, 'oper_state', 'gauge')).toBe(ifNumber(g) % 7 === 0 ? 2 : 1);
  });

  it("gives rates that match the target's formulas on all 24 interfaces, before and after the cut", () => {
    const rated = interfaces().filter((g) => metric(g, 'bits_in', 'gauge') !== undefined);
    const seen = new Set<number>();
    for (const g of rated) {
      const i = ifNumber(g);
      seen.add(i);
      // Within 1%, plus one count per interval: the target's counters are whole numbers.
      const expectOf = (name: string, perSecond: number): void => {
        const v = Number(metric(g, name, 'gauge'));
        expect(
          Math.abs(v - perSecond),
          `${name} of Ethernet${i} at ${g.metrics_group_creation_timestamp}`,
        ).toBeLessThan(0.01 * perSecond + 1);
      };
      expectOf('bits_in', 8 * 1000 * D * i);
      expectOf('bits_out', 8 * 500 * D * i);
      expectOf('unicast_packets_in', 10 * D * i);
    }
    expect(seen.size).toBe(INTERFACES);
    const after = rated.filter((g) => g.metrics_group_creation_timestamp > cut.to);
    expect(new Set(after.map(ifNumber)).size).toBe(INTERFACES);
  });

  it('shows the 30 s cut as network errors, then success again, and logs the reconnects', () => {
    const status = lab.groups.filter(
      (g) => g.metrics_group_type === 'status' && dims(g)['plugin'] === 'gnmi-telemetry',
    );
    const during = status.filter(
      (g) => g.metrics_group_creation_timestamp > cut.from + 3 && g.metrics_group_creation_timestamp < cut.to,
    );
    expect(during.length).toBeGreaterThan(5);
    for (const g of during) expect(metric(g, 'polling_status', 'gauge')).toBe(2);
    const last = status[status.length - 1] as MetricsGroup;
    expect(metric(last, 'polling_status', 'gauge')).toBe(0);
    // No interface group while the stream was down: nothing stale is repeated.
    const stale = interfaces().filter(
      (g) =>
        g.metrics_group_creation_timestamp > cut.from + INTERVAL + 1 &&
        g.metrics_group_creation_timestamp < cut.to,
    );
    expect(stale).toEqual([]);
    const lost = lab.records.filter((r) => r.level === 40 && /gNMI stream to .* lost/.test(r.msg));
    // Back-off from 0.5 s doubling to 4 s over 30 s: several attempts, not one per interval.
    expect(lost.length).toBeGreaterThanOrEqual(4);
    expect(lost.length).toBeLessThan(30);
    const delays = lost.map((r) => Number(r['delayMs']));
    expect(Math.max(...delays)).toBeLessThanOrEqual(4000);
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(2000);
    expect(lab.records.some((r) => r.msg === 'gNMI stream resumed')).toBe(true);
  });

  it('counts and logs malformed updates and keeps streaming through them', () => {
    const logged = lab.records.filter((r) => r.msg.startsWith('malformed gNMI update skipped'));
    // Logged once per minute per device, counted every time: two per notification, about
    // 4 intervals of notifications.
    expect(logged.length).toBe(1);
    expect(logged[0]?.['problem']).toEqual(expect.any(String));
    expect(malformed.before).toBe(0);
    expect(malformed.after).toBeGreaterThanOrEqual(6);
    const during = interfaces().filter(
      (g) =>
        g.metrics_group_creation_timestamp > malformedWindow.from + INTERVAL &&
        g.metrics_group_creation_timestamp < malformedWindow.to &&
        metric(g, 'bits_in', 'gauge') !== undefined,
    );
    expect(new Set(during.map(ifNumber)).size).toBe(INTERFACES);
  });

  it('maps the components to the device-health groups', () => {
    const cpu = lab.groups.find((g) => g.metrics_group_type === 'cpu');
    expect(cpu && dims(cpu)).toEqual({ cpu_type: 'ctrl', cpu_no: 'CPU0', cpu_name: 'CPU0' });
    expect(cpu && metric(cpu, 'cpu_utilization', 'gauge')).toBe(12 + (D % 10));
    const env = lab.groups.find((g) => g.metrics_group_type === 'environment');
    expect(env && dims(env)).toEqual({ sensor: 'Board' });
    expect(env && metric(env, 'temperature_fahrenheit', 'gauge')).toBeCloseTo(41.5 * 1.8 + 32, 6);
    const mem = lab.groups.find((g) => g.metrics_group_type === 'memory');
    expect(mem && dims(mem)).toEqual({ memory_type: 'dram' });
    expect(mem && metric(mem, 'memory_used', 'gauge')).toBe(2 * 2 ** 30);
    expect(mem && metric(mem, 'memory_total', 'gauge')).toBe(8 * 2 ** 30);
  });
});

describe('TLS', () => {
  let pki: TestPki;
  let tls: GnmiTargetService;
  let mtls: GnmiTargetService;
  let dir: string;
  let lab: Lab;

  beforeAll(async () => {
    pki = await makeTestPki();
    dir = await mkdtemp(join(tmpdir(), 'panoptes-gnmi-tls-'));
    [tls, mtls] = await Promise.all([
      startGnmiTarget({
        device: 1,
        interfaces: 2,
        tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
      }),
      startGnmiTarget({
        device: 2,
        interfaces: 2,
        tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
      }),
    ]);
    const port = (t: GnmiTargetService): number => Number(t.target.split(':')[1]);
    lab = await runNode(
      dir,
      [
        device('tls-ca', port(tls), { tls: 'ca' }),
        device('tls-client', port(mtls), { tls: 'client' }),
        device('tls-nocert', port(mtls), { tls: 'nocert' }),
      ],
      {
        'ca.panoptes-plugin': gnmiPlugin(
          'gnmi-ca',
          "resource_metadata.tls = 'ca'",
          `ca_file = ${pki.caCert}`,
        ),
        'client.panoptes-plugin': gnmiPlugin(
          'gnmi-client',
          "resource_metadata.tls = 'client'",
          `ca_file = ${pki.caCert}\ncert_file = ${pki.clientCert}\nkey_file = ${pki.clientKey}`,
        ),
        'nocert.panoptes-plugin': gnmiPlugin(
          'gnmi-nocert',
          "resource_metadata.tls = 'nocert'",
          `ca_file = ${pki.caCert}`,
        ),
      },
      () => sleep(4 * INTERVAL * 1000),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([tls?.stop(), mtls?.stop()]);
    await rm(dir, { recursive: true, force: true });
    await pki?.remove();
  });

  const interfaceGroups = (id: string): MetricsGroup[] =>
    lab.groups.filter((g) => g.metrics_group_type === 'interface' && g.resource.resource_id === id);

  it('streams from a target whose certificate the CA file vouches for', () => {
    expect(interfaceGroups('tls-ca').length).toBeGreaterThanOrEqual(4);
  });

  it('streams from a target that requires a client certificate, when the plugin gives one', () => {
    expect(interfaceGroups('tls-client').length).toBeGreaterThanOrEqual(4);
    expect(interfaceGroups('tls-nocert')).toEqual([]);
    const refused = lab.groups.filter(
      (g) => g.metrics_group_type === 'status' && g.resource.resource_id === 'tls-nocert',
    );
    expect(refused.length).toBeGreaterThan(0);
    for (const g of refused) expect(metric(g, 'polling_status', 'gauge')).not.toBe(0);
  });
});
