/** The heartbeat plugin: one `heartbeat` group with the gauge status = 1, and no SNMP. */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatPlugin } from '../../../plugins/heartbeat.js';
import { METRICS_GROUP_SCHEMA_VERSION } from '../../../src/model/index.js';
import type { Resource } from '../../../src/model/index.js';
import { asPollResult } from '../../../src/plugins/api.js';
import type { PluginContext } from '../../../src/plugins/api.js';
import type { LogRecord } from '../../support/capture-logger.js';
import { testPluginContext } from '../../support/plugin-context.js';
import { testResource } from '../../support/profile-harness.js';

const PLUGIN_FILE = fileURLToPath(new URL('../../../plugins/heartbeat.panoptes-plugin', import.meta.url));
const NOW = Date.UTC(2024, 5, 30, 23, 59, 59, 250);

/** The plugin's own file (execute_frequency overridden when given); SNMP refused. */
function contextFor(executeFrequencySeconds?: number): {
  ctx: PluginContext;
  records: LogRecord[];
  snmpAsked: () => number;
} {
  return testPluginContext(
    PLUGIN_FILE,
    executeFrequencySeconds === undefined ? {} : { main: { executeFrequencySeconds } },
  );
}

const HEARTBEAT: Resource = testResource({
  resource_id: 'poller-1',
  resource_class: 'system',
  resource_subclass: 'internal',
  resource_type: 'heartbeat',
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('heartbeat', () => {
  it.each([
    {
      name: "the poller's own resource, the plugin file's interval",
      resource: HEARTBEAT,
      every: undefined,
      interval: 60,
    },
    { name: 'another interval', resource: HEARTBEAT, every: 15, interval: 15 },
    {
      name: 'any resource it is given',
      resource: testResource({ resource_id: 'poller-2', resource_site: 'dc9' }),
      every: 300,
      interval: 300,
    },
  ])('$name: one heartbeat group, status 1, interval $interval', async ({ resource, every, interval }) => {
    const { ctx, records, snmpAsked } = contextFor(every);
    const result = asPollResult(await new HeartbeatPlugin().poll(ctx, resource));
    expect(result).toEqual({
      groups: [
        {
          metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
          metrics_group_type: 'heartbeat',
          metrics_group_interval: interval,
          metrics_group_creation_timestamp: NOW / 1000,
          resource,
          dimensions: [],
          metrics: [
            {
              metric_name: 'status',
              metric_value: 1,
              metric_type: 'gauge',
              metric_creation_timestamp: NOW / 1000,
            },
          ],
        },
      ],
    });
    expect(result.groups[0]?.resource).toBe(resource);
    // A plain list of groups: the poller's status is success, with no sysUpTime or counters.
    expect(result.status).toBeUndefined();
    expect(snmpAsked()).toBe(0);
    expect(records).toEqual([]);
  });

  it('stamps each run with its own time', async () => {
    const { ctx } = contextFor();
    const plugin = new HeartbeatPlugin();
    const first = asPollResult(await plugin.poll(ctx, HEARTBEAT));
    vi.setSystemTime(NOW + 60_000);
    const second = asPollResult(await plugin.poll(ctx, HEARTBEAT));
    expect(first.groups.map((g) => g.metrics_group_creation_timestamp)).toEqual([NOW / 1000]);
    expect(second.groups.map((g) => g.metrics_group_creation_timestamp)).toEqual([NOW / 1000 + 60]);
    expect(second.groups[0]?.metrics.map((m) => [m.metric_name, m.metric_value])).toEqual([['status', 1]]);
  });

  it("is selected by its plugin file for the poller's own resource only", () => {
    const { ctx } = contextFor();
    const filter = ctx.config.filter;
    expect(filter).toBeDefined();
    expect(filter?.(HEARTBEAT)).toBe(true);
    expect(filter?.(testResource())).toBe(false);
    expect(filter?.({ ...HEARTBEAT, resource_subclass: 'host' })).toBe(false);
  });
});
