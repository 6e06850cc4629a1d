/**
 * The same devices polled over SNMP and streamed over gNMI give the same `interface` groups: the
 * embedded node with the built-in simulator serving its devices over both protocols (the gNMI
 * side on the SNMP side's clock, simulator.gnmi), sim-0000d polled by the SNMP interface plugin
 * and gnmi-0000d (the same simulated device, by the prefix target) by the gNMI plugin.
 * Same group type, metric names and dimensions; gauges equal; counters and rates equal within
 * sampling error. One documented difference: `description` is ifDescr over SNMP and the
 * interface name over gNMI (OpenConfig has no leaf for ifDescr).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { parseJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { PanoptesNode } from '../../src/node/node.js';
import { silentLogger } from '../../src/log.js';
import { discoveryPluginFile, pluginFile, simulatedResources } from '../support/lab.js';

const DEVICES = 2;
const INTERFACES = 6;
const INTERVAL = 2;

let dir: string;
let groups: MetricsGroup[];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dims = (g: MetricsGroup): Record<string, string> =>
  Object.fromEntries(g.dimensions.map((d) => [d.dimension_name, d.dimension_value]));
const rated = (g: MetricsGroup): boolean =>
  g.metrics.some((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-parity-'));
  await mkdir(join(dir, 'plugins'));
  const snmp = simulatedResources(DEVICES, 'lab');
  const gnmi = snmp.map((r) => ({
    ...r,
    resource_id: String(r['resource_id']).replace('sim-', 'gnmi-'),
    resource_metadata: { telemetry: 'gnmi', gnmi_target: r['resource_id'] },
  }));
  await writeFile(join(dir, 'devices.json'), JSON.stringify([...snmp, ...gnmi]));
  const network = "resource_filter = resource_class = 'network' AND NOT resource_metadata.telemetry = 'gnmi'";
  const every = `execute_frequency = ${INTERVAL}\ntimeout = ${INTERVAL}`;
  const rates = 'rates = rate:interface:bits_in,bits_out,unicast_packets_in,unicast_packets_out';
  const files: Record<string, string> = {
    'discovery.panoptes-plugin': discoveryPluginFile(join(dir, 'devices.json')),
    'enrichment.panoptes-plugin': pluginFile(
      'interface-enrichment',
      'interface-enrichment.js',
      `execute_frequency = 300\nnamespace = interface\n${network}`,
    ),
    'polling.panoptes-plugin': pluginFile(
      'interface-polling',
      'interface-polling.js',
      `${every}\n${network}`,
      `[snmp]\nmax_repetitions = 520\n[enrichment]\npreload = interface-enrichment:interface\n[transforms]\n${rates}\n`,
    ),
    'gnmi.panoptes-plugin': pluginFile(
      'gnmi-telemetry',
      'gnmi-telemetry.js',
      `${every}\nresource_filter = resource_metadata.telemetry = 'gnmi'`,
      `[transforms]\n${rates}\n[options]\ninsecure = true\nmappings = openconfig-interfaces\n`,
    ),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'plugins', name), text);
  const config = parseSiteConfig(
    [
      'site: lab',
      'plugins:\n  directories: [plugins]\n  rescan_seconds: 0',
      `simulator:\n  devices: ${DEVICES}\n  interfaces: ${INTERFACES}\n  health: false\n  gnmi: { enabled: true }`,
      'snmp:\n  timeout_ms: 1000\n  retries: 0',
      'polling:\n  node_id: test-node',
      '',
    ].join('\n'),
    join(dir, 'site.yaml'),
  );
  const out = join(dir, 'out.jsonl');
  const node = await PanoptesNode.start({ config, logger: silentLogger, out });
  expect(node.gnmiSimulator).toBeDefined();
  await sleep(6 * INTERVAL * 1000);
  await node.stop();
  groups = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseJson(l) as MetricsGroup);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The newest rated interface group of a device's interface. */
function newest(resourceId: string, iface: string): MetricsGroup {
  const found = groups.filter(
    (g) =>
      g.metrics_group_type === 'interface' &&
      g.resource.resource_id === resourceId &&
      dims(g)['interface_name'] === iface &&
      rated(g),
  );
  expect(found.length, `${resourceId} ${iface}`).toBeGreaterThanOrEqual(2);
  return found[found.length - 1] as MetricsGroup;
}

describe('the same device over SNMP and over gNMI', () => {
  const pairs = (): [MetricsGroup, MetricsGroup][] => {
    const out: [MetricsGroup, MetricsGroup][] = [];
    for (let d = 1; d <= DEVICES; d++)
      for (let i = 1; i <= INTERFACES; i++) {
        const id = String(d).padStart(5, '0');
        out.push([newest(`sim-${id}`, `Gi0/${i}`), newest(`gnmi-${id}`, `Gi0/${i}`)]);
      }
    return out;
  };

  it('has the same dimensions (description aside: ifDescr has no OpenConfig leaf)', () => {
    for (const [snmp, gnmi] of pairs()) {
      const { description: snmpDescription, ...s } = dims(snmp);
      const { description: gnmiDescription, ...g } = dims(gnmi);
      expect(g).toEqual(s);
      expect(Object.keys(s).length).toBe(9);
      expect(snmpDescription).toBe(`GigabitEthernet0/${(s['interface_name'] ?? '').slice(4)}`);
      expect(gnmiDescription).toBe(s['interface_name']);
    }
  });

  it('has the same metric names and types, the same gauges, and counters and rates within sampling error', () => {
    for (const [snmp, gnmi] of pairs()) {
      const names = (g: MetricsGroup): string[] =>
        g.metrics.map((m) => `${m.metric_name}/${m.metric_type}`).sort();
      expect(names(gnmi)).toEqual(names(snmp));
      expect(gnmi.metrics_group_interval).toBe(snmp.metrics_group_interval);
      const value = (g: MetricsGroup, name: string, type: string): number | bigint => {
        const m = g.metrics.find((x) => x.metric_name === name && x.metric_type === type);
        if (m === undefined) throw new Error(`${name}/${type} missing`);
        return m.metric_value;
      };
      const at = (g: MetricsGroup, name: string): number =>
        g.metrics.find((x) => x.metric_name === name)?.metric_creation_timestamp ?? Number.NaN;
      for (const m of snmp.metrics) {
        const mine = value(gnmi, m.metric_name, m.metric_type);
        if (
          m.metric_type === 'gauge' &&
          !['bits_in', 'bits_out', 'unicast_packets_in', 'unicast_packets_out'].includes(m.metric_name)
        ) {
          expect(mine, m.metric_name).toBe(m.metric_value);
        } else if (m.metric_type === 'gauge') {
          // A rate: the same traffic over two clocks, within 5%.
          const expected = Number(m.metric_value);
          if (expected === 0) expect(Number(mine)).toBe(0);
          else expect(Math.abs(Number(mine) - expected) / expected, m.metric_name).toBeLessThan(0.05);
        } else {
          // A raw counter sampled at two instants: apart by at most the traffic in between.
          const rate = Number(
            snmp.metrics.find((x) => x.metric_name === m.metric_name && x.metric_type === 'gauge')
              ?.metric_value ?? 0,
          );
          const dt = Math.abs(at(snmp, m.metric_name) - at(gnmi, m.metric_name));
          const gap = Math.abs(Number(BigInt(mine) - BigInt(m.metric_value)));
          expect(gap, `${m.metric_name} ${dt}s apart`).toBeLessThanOrEqual(rate * (dt + 0.5) + 2);
        }
      }
    }
  });
});
