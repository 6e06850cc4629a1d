/**
 * `gnmi`: streaming telemetry beside SNMP polling, for the same fleet, one after the other in one
 * run: 1,000 devices x 24 interfaces every 10 s, through the whole poller in this process
 * (PanoptesNode: resource actors, the plugin, the mappings, the counter -> rate transform,
 * publishing on the in-process bus), against the simulator running as its own process
 * (`panoptes simulate --gnmi-port`: the same synthetic devices over SNMP and over gNMI), so only
 * this process's CPU time is counted.
 *
 *   gNMI   the gnmi-telemetry plugin, one Subscribe stream per device (its own gRPC channel, as
 *          separate routers would have), SAMPLE every 10 s, mapping openconfig-interfaces
 *   SNMP   interface-enrichment + interface-polling (the if-mib profile), every 10 s
 *
 * Both with rates for the same eight counters. After a warm-up (streams open, every series has
 * its baseline), CPU time is measured over whole intervals: updates received per CPU-second (gNMI:
 * each leaf value is one update; SNMP: each varbind), interface groups per CPU-second and CPU ms
 * per device-interval, the ratio beside SNMP's. The published groups are checked: the rate of a
 * sample interface equals the simulator's formula within 2%.
 *
 * Environment: GNMI_BENCH_DEVICES (default 1000), GNMI_BENCH_INTERVALS (measured intervals,
 * default 6; quick 3), GNMI_BENCH_KINDS (default `gNMI,SNMP`; one of them to profile it alone).
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../src/config/site-config.js';
import { gnmiTelemetry } from '../src/gnmi/stream.js';
import { silentLogger } from '../src/log.js';
import { parseJson } from '../src/model/index.js';
import type { MetricsGroup } from '../src/model/index.js';
import { PanoptesNode } from '../src/node/node.js';
import { freeTcpPort } from '../test/services/ports.js';
import { pluginFile, simulatedResources } from '../test/support/lab.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';
import { startSimulator, stopSimulator } from './lib/simulator.js';

const INTERFACES = 24;
const INTERVAL = 10;
const RATES =
  'rates = rate:interface:bits_in,bits_out,unicast_packets_in,unicast_packets_out,errors_in,errors_out,discards_in,discards_out';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Measured {
  readonly cpuSeconds: number;
  readonly updates: number;
  readonly groups: number;
  readonly interfaceGroups: number;
  readonly rssBytes: number;
}

type Kind = 'gNMI' | 'SNMP';

async function measure(
  kind: Kind,
  devices: number,
  intervals: number,
  sim: { snmpPort: number; gnmiPort: number },
  progress: (t: string) => void,
): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), `panoptes-bench-${kind.toLowerCase()}-`));
  try {
    await mkdir(join(dir, 'plugins'));
    const snmp = simulatedResources(devices, 'bench');
    const resources =
      kind === 'SNMP'
        ? snmp
        : snmp.map((r) => ({
            ...r,
            resource_id: String(r['resource_id']).replace('sim-', 'gnmi-'),
            resource_metadata: {
              telemetry: 'gnmi',
              gnmi_port: String(sim.gnmiPort),
              gnmi_target: r['resource_id'],
            },
          }));
    await writeFile(join(dir, 'devices.json'), JSON.stringify(resources));
    const every = `execute_frequency = ${INTERVAL}\ntimeout = ${INTERVAL - 1}`;
    const files: Record<string, string> = {
      'discovery.panoptes-plugin': pluginFile(
        'discovery-json',
        'discovery-json.js',
        'execute_frequency = 3600',
        `[options]\nfile = ${join(dir, 'devices.json')}\n`,
      ),
    };
    if (kind === 'SNMP') {
      files['enrichment.panoptes-plugin'] = pluginFile(
        'interface-enrichment',
        'interface-enrichment.js',
        "execute_frequency = 3600\nnamespace = interface\nresource_filter = resource_class = 'network'",
      );
      files['polling.panoptes-plugin'] = pluginFile(
        'interface-polling',
        'interface-polling.js',
        `${every}\nresource_filter = resource_class = 'network'`,
        `[snmp]\nmax_repetitions = 520\n[enrichment]\npreload = interface-enrichment:interface\n[transforms]\n${RATES}\n`,
      );
    } else {
      files['gnmi.panoptes-plugin'] = pluginFile(
        'gnmi-telemetry',
        'gnmi-telemetry.js',
        `${every}\nresource_filter = resource_metadata.telemetry = 'gnmi'`,
        `[transforms]\n${RATES}\n[options]\ninsecure = true\nmappings = openconfig-interfaces\n`,
      );
    }
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'plugins', name), text);
    const config = parseSiteConfig(
      [
        'site: bench',
        'plugins:\n  directories: [plugins]\n  rescan_seconds: 0',
        `snmp:\n  port: ${sim.snmpPort}\n  timeout_ms: 3000\n  retries: 1`,
        'polling:\n  node_id: bench-node\n  heartbeat: false',
        '',
      ].join('\n'),
      join(dir, 'site.yaml'),
    );
    const out = join(dir, 'out.jsonl');
    const node = await PanoptesNode.start({ config, logger: silentLogger, out });
    try {
      progress(`gnmi: ${kind} warming up (${devices} devices, two intervals)`);
      await sleep(2 * INTERVAL * 1000 + 2000);
      const before = {
        cpu: process.cpuUsage(),
        updates: kind === 'gNMI' ? gnmiTelemetry.totals.updates : node.engine.stats.varbinds,
        groups: node.polling.stats.groupsPublished,
      };
      progress(`gnmi: ${kind} measuring ${intervals} intervals`);
      await sleep(intervals * INTERVAL * 1000);
      const used = process.cpuUsage(before.cpu);
      const updates =
        (kind === 'gNMI' ? gnmiTelemetry.totals.updates : node.engine.stats.varbinds) - before.updates;
      const groups = node.polling.stats.groupsPublished - before.groups;
      const rssBytes = process.memoryUsage().rss;
      await node.stop();
      // Check what was published: rates of a sample interface are the simulator's formula.
      const d = Math.min(7, devices);
      const id = `${kind === 'gNMI' ? 'gnmi' : 'sim'}-${String(d).padStart(5, '0')}`;
      // Line by line (the file holds every group of the run, hundreds of MB): the sample
      // device's interface groups, and how many interface groups there were in all.
      let interfaceGroupCount = 0;
      const mine: MetricsGroup[] = [];
      const lines = createInterface({ input: createReadStream(out, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.includes('"metrics_group_type":"interface"')) continue;
        interfaceGroupCount++;
        if (line.includes(`"${id}"`)) mine.push(parseJson(line) as MetricsGroup);
      }
      const sample = mine.filter(
        (g) =>
          g.resource.resource_id === id &&
          g.dimensions.some((x) => x.dimension_name === 'interface_name' && x.dimension_value === 'Gi0/3'),
      );
      const rated = sample.filter((g) =>
        g.metrics.some((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge'),
      );
      const expected = 8 * 1000 * d * 3;
      const last = rated
        .at(-1)
        ?.metrics.find((m) => m.metric_name === 'bits_in' && m.metric_type === 'gauge');
      if (last === undefined || Math.abs(Number(last.metric_value) - expected) / expected > 0.02)
        throw new Error(
          `gnmi bench, ${kind}: ${id} Gi0/3 bits_in rate ${String(last?.metric_value)} is not ${expected} (2%)`,
        );
      const perInterval = interfaceGroupCount / Math.max(1, sample.length);
      progress(`gnmi: ${kind} done (${Math.round(perInterval)} interface groups per interval checked)`);
      return {
        cpuSeconds: (used.user + used.system) / 1e6,
        updates,
        groups,
        // Each device-interval gives 24 interface groups and one status group.
        interfaceGroups: (groups * INTERFACES) / (INTERFACES + 1),
        rssBytes,
      };
    } finally {
      await node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(options: { quick?: boolean; progress?: (t: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const devices = Number(process.env['GNMI_BENCH_DEVICES'] ?? 1000);
  const intervals = Number(process.env['GNMI_BENCH_INTERVALS'] ?? (options.quick === true ? 3 : 6));
  if (!Number.isInteger(devices) || devices <= 0 || !Number.isInteger(intervals) || intervals <= 0)
    throw new Error('GNMI_BENCH_DEVICES and GNMI_BENCH_INTERVALS must be positive integers');
  const gnmiPort = await freeTcpPort();
  const sim = await startSimulator([
    '--synthetic',
    `${devices}:${INTERFACES}`,
    '--gnmi-port',
    String(gnmiPort),
  ]);
  const rows: BenchRow[] = [];
  try {
    const results = new Map<Kind, Measured>();
    const kinds = (process.env['GNMI_BENCH_KINDS'] ?? 'gNMI,SNMP').split(',') as Kind[];
    for (const kind of kinds)
      results.set(kind, await measure(kind, devices, intervals, { snmpPort: sim.port, gnmiPort }, progress));
    for (const [kind, m] of results) {
      const subject = `${kind}, ${devices} devices x ${INTERFACES} interfaces, ${INTERVAL} s`;
      const deviceIntervals = devices * intervals;
      const row = (metric: string, value: number, unit: string): void => {
        rows.push({ bench: 'gnmi', subject, metric, value, unit });
      };
      row(
        'gNMI updates or SNMP varbinds received per CPU-second',
        m.updates / m.cpuSeconds,
        'per CPU-second',
      );
      row('interface groups per CPU-second', m.interfaceGroups / m.cpuSeconds, 'per CPU-second');
      row('CPU per device and interval', (m.cpuSeconds * 1000) / deviceIntervals, 'ms');
      row('CPU used', m.cpuSeconds / (intervals * INTERVAL), 'cores');
      row('groups published per interval', m.groups / intervals, 'groups');
      row('RSS at the end of the window', m.rssBytes / 2 ** 20, 'MiB');
    }
  } finally {
    await stopSimulator(sim);
  }
  const reference = rows.find((r) => r.subject.startsWith('SNMP'))?.subject ?? '';
  printTable(rows, reference);
  const file = writeResults('gnmi', rows, {
    devices,
    interfaces: INTERFACES,
    intervalSeconds: INTERVAL,
    intervals,
  });
  console.log(`\nwrote ${file}`);
}
