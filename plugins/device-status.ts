/**
 * Device status: reads sysUpTime and sysName, so that every device polled has a `status` group
 * (gauge polling_status, published by the poller with every run) even when no other plugin
 * applies to it, and a `device` group with its uptime, as the device-status profile
 * (plugins/profiles/device-status.yaml) describes it:
 *
 *   gauge uptime_seconds   sysUpTime / 100 (it wraps after 497 days, as the MIB object does)
 *
 * A device that does not answer gives polling_status 3 (timeout); one that refuses the
 * credentials (SNMPv3) 1; one that cannot be reached 2. When sysName is set and differs from
 * the resource's id, the run is reported partial (4): the endpoint may point at another device.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILTIN_PROFILES_DIR,
  asText,
  option,
  parseProfile,
  pluginOptions,
  runProfiles,
  scalar,
} from '../src/index.js';
import type { PluginContext, PollResult, PollingPlugin, Profile, Resource } from '../src/index.js';

const SYS_UP_TIME = scalar('sysUpTime');
const SYS_NAME = scalar('sysName');

/** The plugin file's [options]. */
export const options = {
  check_sysname: option.boolean(
    'report the run partial (4) when sysName is set and differs from the resource id',
    true,
  ),
};

/** The built-in device-status profile (plugins/profiles/device-status.yaml), read when this module loads. */
const PROFILE_FILE = join(BUILTIN_PROFILES_DIR, 'device-status.yaml');
export const DEVICE_STATUS_PROFILE: Profile = parseProfile(readFileSync(PROFILE_FILE, 'utf8'), PROFILE_FILE);

export class DeviceStatusPlugin implements PollingPlugin {
  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const session = await ctx.snmp(resource);
    let result;
    try {
      result = await runProfiles([DEVICE_STATUS_PROFILE], session, {
        resource,
        interval: ctx.config.executeFrequencySeconds,
      });
    } finally {
      await session.close();
    }
    const upTime = result.scalars.get(SYS_UP_TIME);
    const sysUpTime = typeof upTime === 'number' ? upTime : undefined;
    if (sysUpTime === undefined) return { groups: [], status: 'missingData' };
    const sysName = asText(result.scalars.get(SYS_NAME));
    const mismatch =
      pluginOptions(ctx, options).check_sysname &&
      sysName !== undefined &&
      sysName !== '' &&
      sysName.toLowerCase() !== resource.resource_id.toLowerCase();
    if (mismatch) {
      ctx.logger.warn({ resource: resource.resource_id, sysName }, 'sysName differs from the resource id');
    }
    return { groups: result.groups, status: mismatch ? 'partial' : 'success', sysUpTime };
  }
}

export default DeviceStatusPlugin;
