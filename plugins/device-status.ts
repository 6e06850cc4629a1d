/**
 * Device status: reads sysUpTime and sysName, so that every device polled has a `status` group
 * (gauge polling_status, published by the poller with every run) even when no other plugin
 * applies to it, and a `device` group with its uptime:
 *
 *   gauge uptime_seconds   sysUpTime / 100 (it wraps after 497 days, as the MIB object does)
 *
 * A device that does not answer gives polling_status 3 (timeout); one that refuses the
 * credentials (SNMPv3) 1; one that cannot be reached 2. When sysName is set and differs from
 * the resource's id, the run is reported partial (4): the endpoint may point at another device.
 */
import { METRICS_GROUP_SCHEMA_VERSION, option, pluginOptions, scalar } from '../src/index.js';
import type { PluginContext, PollResult, PollingPlugin, Resource } from '../src/index.js';
import { integer, text } from './lib/if-mib.js';

const SYS_UP_TIME = scalar('sysUpTime');
const SYS_NAME = scalar('sysName');

/** The plugin file's [options]. */
export const options = {
  check_sysname: option.boolean(
    'report the run partial (4) when sysName is set and differs from the resource id',
    true,
  ),
};

export class DeviceStatusPlugin implements PollingPlugin {
  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const session = await ctx.snmp(resource);
    let upTime;
    let name;
    try {
      [upTime, name] = await session.get([SYS_UP_TIME, SYS_NAME]);
    } finally {
      await session.close();
    }
    const sysUpTime = integer(upTime);
    if (sysUpTime === undefined) return { groups: [], status: 'missingData' };
    const timestamp = Date.now() / 1000;
    const sysName = text(name);
    const mismatch =
      pluginOptions(ctx, options).check_sysname &&
      sysName !== undefined &&
      sysName !== '' &&
      sysName.toLowerCase() !== resource.resource_id.toLowerCase();
    if (mismatch) {
      ctx.logger.warn({ resource: resource.resource_id, sysName }, 'sysName differs from the resource id');
    }
    return {
      groups: [
        {
          metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
          metrics_group_type: 'device',
          metrics_group_interval: ctx.config.executeFrequencySeconds,
          metrics_group_creation_timestamp: timestamp,
          resource,
          dimensions: [],
          metrics: [
            {
              metric_name: 'uptime_seconds',
              metric_value: sysUpTime / 100,
              metric_type: 'gauge',
              metric_creation_timestamp: timestamp,
            },
          ],
        },
      ],
      status: mismatch ? 'partial' : 'success',
      sysUpTime,
    };
  }
}

export default DeviceStatusPlugin;
