import { describe, expect, it } from 'vitest';
import { pollingStatusOf } from '../../src/actors/run-status.js';
import { ERROR_CODES, PanoptesError, ValidationError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import {
  POLLING_STATUS_METRIC,
  PollingStatus,
  STATUS_GROUP_TYPE,
  STATUS_PLUGIN_DIMENSION,
  metricsGroupToJson,
  parseMetricsGroup,
  pollingStatusGroup,
} from '../../src/model/index.js';
import type { PollingStatusName } from '../../src/model/index.js';
import { resource } from '../support/polling-fixtures.js';

describe('pollingStatusOf', () => {
  it.each([
    ['SNMP_TIMEOUT', 'timeout'],
    ['SNMP_AUTH', 'authFailure'],
    ['SNMP_NETWORK', 'networkError'],
    ['SNMP_ERROR_STATUS', 'missingData'],
  ] as const)('PanoptesError %s -> %s', (code, status) => {
    expect(pollingStatusOf(new PanoptesError(code, 'x'))).toBe(status);
  });

  it.each([
    [16, 'authFailure'],
    [7, 'authFailure'],
    [4, 'timeout'],
    [12, 'missingData'],
    [14, 'networkError'],
    [undefined, 'networkError'],
  ] as const)('a GNMI error of gRPC status %s -> %s', (grpcCode, status) => {
    expect(pollingStatusOf(new PanoptesError('GNMI', 'x', { details: { grpcCode } }))).toBe(status);
  });

  it('every other PanoptesError code -> internalError', () => {
    const special = new Set<string>([
      'SNMP_TIMEOUT',
      'SNMP_AUTH',
      'SNMP_NETWORK',
      'SNMP_ERROR_STATUS',
      'GNMI',
    ]);
    const others = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => !special.has(c));
    expect(others.length).toBeGreaterThan(10);
    for (const code of others)
      expect([code, pollingStatusOf(new PanoptesError(code, 'x'))]).toEqual([code, 'internalError']);
    expect(pollingStatusOf(new ValidationError('MODEL_INVALID', 'enrichment', []))).toBe('internalError');
  });

  it.each([
    'ECONNREFUSED',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EHOSTDOWN',
    'ENETDOWN',
    'ENOTFOUND',
    'EADDRNOTAVAIL',
  ])('a Node errno %s -> networkError (plain object or Error)', (code) => {
    expect(pollingStatusOf({ code })).toBe('networkError');
    expect(
      pollingStatusOf(Object.assign(new Error(`connect ${code} 192.0.2.10:161`), { code, errno: -111 })),
    ).toBe('networkError');
  });

  it('other errno codes, plain errors and non-errors -> internalError', () => {
    expect(pollingStatusOf({ code: 'EACCES' })).toBe('internalError');
    expect(pollingStatusOf({ code: 111 })).toBe('internalError');
    expect(pollingStatusOf(new Error('boom'))).toBe('internalError');
    expect(pollingStatusOf(new TypeError('x is undefined'))).toBe('internalError');
    expect(pollingStatusOf('a string')).toBe('internalError');
    expect(pollingStatusOf(null)).toBe('internalError');
    expect(pollingStatusOf(undefined)).toBe('internalError');
    expect(pollingStatusOf(42)).toBe('internalError');
  });

  it('a PanoptesError is classified by its own code, not by the errno of its cause', () => {
    const cause = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(pollingStatusOf(new PanoptesError('PLUGIN_FAILED', 'x', { cause }))).toBe('internalError');
  });
});

describe('pollingStatusGroup', () => {
  it('has the Panoptes codes', () => {
    expect(PollingStatus).toEqual({
      success: 0,
      authFailure: 1,
      networkError: 2,
      timeout: 3,
      partial: 4,
      internalError: 5,
      missingData: 6,
      enrichmentFailure: 8,
    });
  });

  it.each(Object.entries(PollingStatus) as [PollingStatusName, number][])(
    '%s: a valid status group with polling_status %i',
    (status, code) => {
      const r = resource('switch1.dc1');
      const g = pollingStatusGroup(r, 'interface_poller', status, 300, 1_704_067_200.125);
      const parsed = parseMetricsGroup(metricsGroupToJson(g));
      expect(parsed).toEqual({ ok: true, value: g });
      expect(g).toEqual({
        metrics_group_schema_version: '0.2',
        metrics_group_type: STATUS_GROUP_TYPE,
        metrics_group_interval: 300,
        metrics_group_creation_timestamp: 1_704_067_200.125,
        resource: r,
        dimensions: [{ dimension_name: STATUS_PLUGIN_DIMENSION, dimension_value: 'interface_poller' }],
        metrics: [
          {
            metric_name: POLLING_STATUS_METRIC,
            metric_value: code,
            metric_type: 'gauge',
            metric_creation_timestamp: 1_704_067_200.125,
          },
        ],
      });
    },
  );

  it('the names are the ones published', () => {
    expect([STATUS_GROUP_TYPE, POLLING_STATUS_METRIC, STATUS_PLUGIN_DIMENSION]).toEqual([
      'status',
      'polling_status',
      'plugin',
    ]);
  });

  it('a plugin name with dots and dashes is a valid dimension value', () => {
    const g = pollingStatusGroup(resource('r1'), 'snmp.if-mib_v2', 'timeout', 60, 0);
    expect(parseMetricsGroup(g).ok).toBe(true);
    expect(g.dimensions[0]?.dimension_value).toBe('snmp.if-mib_v2');
  });
});
