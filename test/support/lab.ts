/**
 * A lab of simulated devices for end-to-end tests: their resources (community = name, as the
 * simulator answers) and plugin files using the built-in modules at a given interval.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTERFACE_COUNTERS } from '../../plugins/interface-polling.js';
import { syntheticCommunity } from '../../src/sim/synthetic.js';

const PLUGINS = fileURLToPath(new URL('../../plugins/', import.meta.url));

/** Devices sim-00001 .. of `site` on 127.0.0.1 (count may exceed what the simulator serves). */
export function simulatedResources(count: number, site: string): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, k) => {
    const id = syntheticCommunity(k + 1);
    return {
      resource_id: id,
      resource_site: site,
      resource_endpoint: '127.0.0.1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'simulated',
      resource_creation_plugin: 'discovery-json',
      resource_metadata: { snmp_community: id },
    };
  });
}

/** A plugin file for a built-in module. */
export function pluginFile(name: string, module: string, main: string, extra = ''): string {
  return `[Core]\nName = ${name}\nModule = ${join(PLUGINS, module)}\n[main]\n${main}\n${extra}`;
}

/** The discovery plugin file of a lab: discovery-json reading `devicesFile` every 300 s. */
export function discoveryPluginFile(devicesFile: string): string {
  return pluginFile(
    'discovery-json',
    'discovery-json.js',
    'execute_frequency = 300',
    `[options]\nfile = ${devicesFile}\n`,
  );
}

export interface LabPluginOptions {
  /** The devices file discovery reads. */
  readonly devicesFile: string;
  /** Interval (and timeout) of interface polling, device status and heartbeat, seconds. */
  readonly intervalSeconds: number;
  /** Counters of interface polling that get rates. Default all eight. */
  readonly rates?: readonly string[];
  /** More plugin files, by file name. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Writes `<dir>/plugins/*.panoptes-plugin`: discovery, enrichment, interface polling, device status, heartbeat. */
export async function writeLabPlugins(dir: string, options: LabPluginOptions): Promise<void> {
  const every = options.intervalSeconds;
  const network = "resource_filter = resource_class = 'network'";
  const files: Record<string, string> = {
    'discovery.panoptes-plugin': discoveryPluginFile(options.devicesFile),
    'enrichment.panoptes-plugin': pluginFile(
      'interface-enrichment',
      'interface-enrichment.js',
      `execute_frequency = 300\nnamespace = interface\n${network}`,
    ),
    'polling.panoptes-plugin': pluginFile(
      'interface-polling',
      'interface-polling.js',
      `execute_frequency = ${every}\ntimeout = ${every}\n${network}`,
      '[snmp]\nmax_repetitions = 520\n[enrichment]\npreload = interface-enrichment:interface\n' +
        `[transforms]\nrates = rate:interface:${(options.rates ?? INTERFACE_COUNTERS).join(',')}\n`,
    ),
    'status.panoptes-plugin': pluginFile(
      'device-status',
      'device-status.js',
      `execute_frequency = ${every}\ntimeout = ${every}\n${network}`,
    ),
    'heartbeat.panoptes-plugin': pluginFile(
      'heartbeat',
      'heartbeat.js',
      `execute_frequency = ${every}\nresource_filter = resource_class = 'system' AND resource_type = 'heartbeat'`,
    ),
    ...options.extra,
  };
  await mkdir(join(dir, 'plugins'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'plugins', name), text);
}
