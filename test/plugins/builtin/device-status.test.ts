/**
 * The device-status plugin against in-memory devices: uptime from sysUpTime, the sysName check
 * (and its option), missing data and a device that does not answer.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceStatusPlugin } from '../../../plugins/device-status.js';
import { pollingStatusOf } from '../../../src/actors/run-status.js';
import { PanoptesError } from '../../../src/errors.js';
import { METRICS_GROUP_SCHEMA_VERSION } from '../../../src/model/index.js';
import type { Resource } from '../../../src/model/index.js';
import type { PluginContext } from '../../../src/plugins/api.js';
import { MIB_OBJECTS, scalar } from '../../../src/snmp/mibs.js';
import { SnmpTag } from '../../../src/snmp/types.js';
import type { Varbind } from '../../../src/snmp/types.js';
import { LEVEL } from '../../support/capture-logger.js';
import type { LogRecord } from '../../support/capture-logger.js';
import { MemorySnmpSession } from '../../support/memory-snmp-session.js';
import { testPluginContext } from '../../support/plugin-context.js';
import { testResource } from '../../support/profile-harness.js';
import { failureOf } from './plugin-run.js';

const PLUGIN_FILE = fileURLToPath(new URL('../../../plugins/device-status.panoptes-plugin', import.meta.url));
const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);

/** The plugin's own file, with `options` set in its [options], around `session`. */
function contextFor(
  session: MemorySnmpSession,
  options: Readonly<Record<string, string>> = {},
): { ctx: PluginContext; records: LogRecord[] } {
  return testPluginContext(PLUGIN_FILE, { session, options });
}

const upTime = (ticks: number): Varbind => ({
  oid: scalar('sysUpTime'),
  type: SnmpTag.TimeTicks,
  value: ticks,
});
const sysName = (name: string): Varbind => ({
  oid: scalar('sysName'),
  type: SnmpTag.OctetString,
  value: Buffer.from(name, 'utf8'),
});

const RESOURCE: Resource = testResource({ resource_id: 'sw1.dc1' });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('device-status: uptime and the sysName check', () => {
  interface Case {
    readonly name: string;
    readonly device: readonly Varbind[];
    readonly options?: Readonly<Record<string, string>>;
    readonly status: 'success' | 'partial';
    readonly uptime: number;
    readonly ticks: number;
    /** The sysName of the one warning, if any. */
    readonly warned?: string;
  }
  const cases: readonly Case[] = [
    {
      name: 'sysName equal to the resource id',
      device: [upTime(123_456), sysName('sw1.dc1')],
      status: 'success',
      uptime: 1234.56,
      ticks: 123_456,
    },
    {
      name: 'sysName equal in another case',
      device: [upTime(123_456), sysName('SW1.DC1')],
      status: 'success',
      uptime: 1234.56,
      ticks: 123_456,
    },
    {
      name: 'sysName padded with blanks and NULs',
      device: [upTime(100), sysName(' sw1.dc1\0\0')],
      status: 'success',
      uptime: 1,
      ticks: 100,
    },
    {
      name: 'empty sysName',
      device: [upTime(5), sysName('')],
      status: 'success',
      uptime: 0.05,
      ticks: 5,
    },
    {
      name: 'no sysName at all',
      device: [upTime(0)],
      status: 'success',
      uptime: 0,
      ticks: 0,
    },
    {
      name: 'sysName of another device',
      device: [upTime(4_294_967_295), sysName('sw2.dc1')],
      status: 'partial',
      uptime: 42_949_672.95,
      ticks: 4_294_967_295,
      warned: 'sw2.dc1',
    },
    {
      name: 'sysName that only starts like the resource id',
      device: [upTime(360_000), sysName('sw1')],
      status: 'partial',
      uptime: 3600,
      ticks: 360_000,
      warned: 'sw1',
    },
    {
      name: 'sysName of another device, check_sysname = false',
      device: [upTime(360_000), sysName('sw2.dc1')],
      options: { check_sysname: 'false' },
      status: 'success',
      uptime: 3600,
      ticks: 360_000,
    },
    {
      name: 'sysName of another device, check_sysname = no',
      device: [upTime(360_000), sysName('sw2.dc1')],
      options: { check_sysname: 'no' },
      status: 'success',
      uptime: 3600,
      ticks: 360_000,
    },
    {
      name: 'sysName of another device, check_sysname = true',
      device: [upTime(360_000), sysName('sw2.dc1')],
      options: { check_sysname: 'true' },
      status: 'partial',
      uptime: 3600,
      ticks: 360_000,
      warned: 'sw2.dc1',
    },
  ];

  it.each(cases)('$name -> $status', async ({ device, options, status, uptime, ticks, warned }) => {
    const session = new MemorySnmpSession(device);
    const { ctx, records } = contextFor(session, options);
    const result = await new DeviceStatusPlugin().poll(ctx, RESOURCE);
    expect(result).toEqual({
      groups: [
        {
          metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
          metrics_group_type: 'device',
          metrics_group_interval: 60,
          metrics_group_creation_timestamp: NOW / 1000,
          resource: RESOURCE,
          dimensions: [],
          metrics: [
            {
              metric_name: 'uptime_seconds',
              metric_value: uptime,
              metric_type: 'gauge',
              metric_creation_timestamp: NOW / 1000,
            },
          ],
        },
      ],
      status,
      sysUpTime: ticks,
    });
    expect(result.groups[0]?.resource).toBe(RESOURCE);
    const warnings = records.filter((r) => r.level === LEVEL.warn);
    if (warned === undefined) {
      expect(warnings).toEqual([]);
    } else {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        msg: 'sysName differs from the resource id',
        resource: 'sw1.dc1',
        sysName: warned,
      });
    }
    expect(session.requests.get).toBe(1);
    expect(session.closed).toBe(1);
  });

  it.each([
    { name: 'no sysUpTime', device: [sysName('sw1.dc1')] },
    { name: 'no sysUpTime, sysName of another device', device: [sysName('sw2.dc1')] },
    {
      name: 'sysUpTime of the wrong type',
      device: [
        { oid: scalar('sysUpTime'), type: SnmpTag.OctetString, value: Buffer.from('12') },
        sysName('x'),
      ],
    },
    { name: 'an empty device', device: [] },
  ] as const)('$name -> missing data, no group, no warning', async ({ device }) => {
    const session = new MemorySnmpSession(device);
    const { ctx, records } = contextFor(session);
    const result = await new DeviceStatusPlugin().poll(ctx, RESOURCE);
    expect(result).toEqual({ groups: [], status: 'missingData' });
    expect(records.filter((r) => r.level >= LEVEL.warn)).toEqual([]);
    expect(session.closed).toBe(1);
  });
});

describe('device-status: a device that does not answer', () => {
  it.each([
    { name: 'sysUpTime times out', fail: [MIB_OBJECTS.sysUpTime] },
    { name: 'sysName times out', fail: [MIB_OBJECTS.sysName] },
    { name: 'the whole system group times out', fail: ['1.3.6.1.2.1.1'] },
  ])('$name: the error propagates, classified as a timeout', async ({ fail }) => {
    const session = new MemorySnmpSession([upTime(100), sysName('sw1.dc1')], { fail });
    const { ctx, records } = contextFor(session);
    const error = await failureOf(new DeviceStatusPlugin().poll(ctx, RESOURCE));
    expect(error.code).toBe('SNMP_TIMEOUT');
    expect(error.message).toMatch(/^memory:161: no answer for 1\.3\.6\.1\.2\.1\.1\.[35]\.0$/);
    expect(pollingStatusOf(error)).toBe('timeout');
    // The session is closed all the same; the poller (not the plugin) logs the failure.
    expect(session.closed).toBe(1);
    expect(records).toEqual([]);
  });

  it('refuses a check_sysname that is not a boolean, naming the option', async () => {
    const session = new MemorySnmpSession([upTime(100), sysName('sw2.dc1')]);
    const { ctx } = contextFor(session, { check_sysname: 'maybe' });
    const error = await failureOf(new DeviceStatusPlugin().poll(ctx, RESOURCE));
    expect(error).toBeInstanceOf(PanoptesError);
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toBe(`${PLUGIN_FILE}: [options] check_sysname: must be true or false, got "maybe"`);
  });
});
