/** Metrics groups as the quickstart's plugins publish them, for the console's tests. */
import type { Metric, MetricsGroup } from '../../src/model/metrics-group.js';
import { pollingStatusGroup } from '../../src/model/polling-status.js';
import type { PollingStatusName } from '../../src/model/polling-status.js';
import type { Resource } from '../../src/model/resource.js';

export function device(id: string, endpoint = '127.0.0.1'): Resource {
  return {
    resource_id: id,
    resource_site: 'lab',
    resource_endpoint: endpoint,
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'simulated',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'test',
    resource_metadata: {},
  };
}

function group(
  resource: Resource,
  type: string,
  at: number,
  dimensions: Record<string, string>,
  metrics: [name: string, type: 'gauge' | 'counter', value: number | bigint][],
  interval = 10,
): MetricsGroup {
  return {
    metrics_group_schema_version: '0.2',
    metrics_group_type: type,
    metrics_group_interval: interval,
    metrics_group_creation_timestamp: at,
    resource,
    dimensions: Object.entries(dimensions).map(([dimension_name, dimension_value]) => ({
      dimension_name,
      dimension_value,
    })),
    metrics: metrics.map(([metric_name, metric_type, metric_value]): Metric => ({
      metric_name,
      metric_type,
      metric_value,
      metric_creation_timestamp: at,
    })),
  };
}

/** An interface group with its counters and, unless `first`, the rate gauges. */
export function interfaceGroup(
  resource: Resource,
  name: string,
  at: number,
  bitsIn: number,
  bitsOut: number,
  options: { first?: boolean; interval?: number } = {},
): MetricsGroup {
  const metrics: [string, 'gauge' | 'counter', number | bigint][] = [
    ['bits_in', 'counter', 2n ** 63n],
    ['bits_out', 'counter', 12345],
    ['mtu', 'gauge', 1500],
  ];
  if (options.first !== true) metrics.push(['bits_in', 'gauge', bitsIn], ['bits_out', 'gauge', bitsOut]);
  return group(
    resource,
    'interface',
    at,
    { interface_name: name, alias: '<not set>' },
    metrics,
    options.interval,
  );
}

export function cpuGroup(resource: Resource, name: string, at: number, value: number): MetricsGroup {
  return group(resource, 'cpu', at, { cpu_type: 'ctrl', cpu_no: '1', cpu_name: name }, [
    ['cpu_utilization', 'gauge', value],
  ]);
}

export function memoryGroup(resource: Resource, at: number, used: number, total: number): MetricsGroup {
  return group(resource, 'memory', at, { memory_type: 'real' }, [
    ['memory_used', 'gauge', used],
    ['memory_total', 'gauge', total],
  ]);
}

export function temperatureGroup(resource: Resource, sensor: string, at: number, f: number): MetricsGroup {
  return group(resource, 'environment', at, { sensor }, [['temperature_fahrenheit', 'gauge', f]]);
}

export function otherGroup(resource: Resource, at: number): MetricsGroup {
  return group(resource, 'load', at, {}, [['load_average_1m', 'gauge', 0.4]]);
}

export function statusGroup(
  resource: Resource,
  plugin: string,
  status: PollingStatusName,
  at: number,
  interval = 10,
): MetricsGroup {
  return pollingStatusGroup(resource, plugin, status, interval, at);
}
