/**
 * Wire-format fixtures and small helpers shared by the model and CLI tests. Every builder returns
 * a fresh object, so a test may change it without affecting others.
 */
import type { ValidationIssue } from '../../src/errors.js';
import type { Parsed } from '../../src/model/validation.js';

export type Json = Record<string, unknown>;

export const COUNTER64_MAX = 18446744073709551615n;
export const COUNTER64_MAX_TEXT = '18446744073709551615';

export function resourceJson(overrides: Json = {}): Json {
  return {
    resource_id: 'switch1.dc1.example.com',
    resource_site: 'dc1',
    resource_endpoint: '192.0.2.10',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_timestamp: 1700000000.25,
    resource_creation_plugin: 'discovery_from_file',
    resource_metadata: { model: 'C9300', os_version: '17.9' },
    ...overrides,
  };
}

export function metricJson(overrides: Json = {}): Json {
  return {
    metric_name: 'bits_in',
    metric_value: 1234,
    metric_type: 'counter',
    metric_creation_timestamp: 1700000060.1,
    ...overrides,
  };
}

export function metricsGroupJson(overrides: Json = {}): Json {
  return {
    metrics_group_type: 'interface',
    metrics_group_interval: 60,
    metrics_group_creation_timestamp: 1700000060.123,
    resource: resourceJson(),
    dimensions: [
      { dimension_name: 'interface_name', dimension_value: 'Gi1/0/1' },
      { dimension_name: 'alias', dimension_value: 'uplink' },
    ],
    metrics: [metricJson(), metricJson({ metric_name: 'bits_in', metric_value: 12.5, metric_type: 'gauge' })],
    ...overrides,
  };
}

export function enrichmentGroupJson(overrides: Json = {}): Json {
  return {
    namespace: 'interface',
    data: {
      '1': { interface_name: 'Gi1/0/1', speed: 1000000000, up: true },
      '2': { interface_name: 'Gi1/0/2', speed: 10000000000, up: false },
    },
    metadata: {
      _enrichment_group_creation_timestamp: 1700000000,
      _enrichment_ttl: 900,
      _execute_frequency: 60,
    },
    ...overrides,
  };
}

/** A copy of `obj` without `key`. */
export function without(obj: Json, key: string): Json {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));
}

/** The value of a successful parse; fails the test with every issue otherwise. */
export function valueOf<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) {
    throw new Error(
      `expected valid input, got: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.value;
}

/** The issues of a failed parse; fails the test if the input was accepted. */
export function issuesOf<T>(parsed: Parsed<T>): readonly ValidationIssue[] {
  if (parsed.ok) throw new Error('expected invalid input, but it was accepted');
  return parsed.issues;
}

/** Issues as `path: message` lines, which make failures easy to read. */
export function lines(issues: readonly ValidationIssue[]): string[] {
  return issues.map((i) => `${i.path}: ${i.message}`);
}
