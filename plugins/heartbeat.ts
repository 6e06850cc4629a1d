/**
 * Heartbeat: the poller's own pulse. Every polling node adds a resource for itself (class
 * `system`, subclass `internal`, type `heartbeat`); this plugin publishes for it a `heartbeat`
 * group with the gauge `status` = 1 each interval. A consumer that stops seeing it knows the
 * poller (or the path from it) is down, which no device metric can tell.
 */
import { METRICS_GROUP_SCHEMA_VERSION } from '../src/index.js';
import type { MetricsGroup, PluginContext, PollingPlugin, Resource } from '../src/index.js';

export class HeartbeatPlugin implements PollingPlugin {
  poll(ctx: PluginContext, resource: Resource): Promise<readonly MetricsGroup[]> {
    const timestamp = Date.now() / 1000;
    return Promise.resolve([
      {
        metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
        metrics_group_type: 'heartbeat',
        metrics_group_interval: ctx.config.executeFrequencySeconds,
        metrics_group_creation_timestamp: timestamp,
        resource,
        dimensions: [],
        metrics: [
          {
            metric_name: 'status',
            metric_value: 1,
            metric_type: 'gauge',
            metric_creation_timestamp: timestamp,
          },
        ],
      },
    ]);
  }
}

export default HeartbeatPlugin;
