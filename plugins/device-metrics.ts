/**
 * Device metrics from SNMP profiles: CPU, memory, temperatures, fans, power supplies, storage,
 * BGP sessions, in Panoptes' group, dimension and metric names, as the profiles in
 * plugins/profiles/ (and the site's profiles.directories) describe them (docs/profiles.md).
 *
 * For each resource the plugin polls the profiles named by the option `profiles` or, without
 * it, those that select the resource: by their filter, else by the device's sysObjectID. What a
 * device lacks costs only the groups built from it: the run is then partial (4), and a device
 * no profile fits gives missing data (6). Failures are logged once per resource per
 * `log_interval_seconds` (default 600).
 */
import { option, pluginOptions, runProfiles, scalar } from '../src/index.js';
import type { PluginContext, PollResult, PollingPlugin, Profile, Resource } from '../src/index.js';
import { integer } from './lib/if-mib.js';

const SYS_OBJECT_ID = scalar('sysObjectID');
const SYS_UP_TIME = scalar('sysUpTime');

/** The plugin file's [options]. */
export const options = {
  profiles: option.list(
    'profiles to poll every matching device with; empty: the profiles that select each device',
  ),
  log_interval_seconds: option.integer(
    'log the failures of one device at most once per this many seconds',
    1,
    86_400,
    600,
  ),
};

export class DeviceMetricsPlugin implements PollingPlugin {
  private readonly lastLogged = new Map<string, number>();

  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const named = namedProfiles(ctx);
    let profiles = named ?? ctx.profiles.byFilter(resource);
    const session = await ctx.snmp(resource);
    try {
      let sysUpTime: number | undefined;
      if (profiles.length === 0 && ctx.profiles.usesSysObjectId) {
        const [id, up] = await session.get([SYS_OBJECT_ID, SYS_UP_TIME]);
        sysUpTime = integer(up);
        if (typeof id?.value === 'string') profiles = ctx.profiles.bySysObjectId(id.value);
      }
      if (profiles.length === 0) {
        this.warn(ctx, resource, 'no SNMP profile selects this device', {});
        return { groups: [], status: 'missingData', ...(sysUpTime === undefined ? {} : { sysUpTime }) };
      }
      const result = await runProfiles(profiles, session, {
        resource,
        interval: ctx.config.executeFrequencySeconds,
      });
      if (result.failures.length > 0) {
        this.warn(ctx, resource, 'device metrics incomplete', {
          target: session.device,
          profiles: profiles.map((p) => p.name),
          failures: result.failures,
        });
      }
      return {
        groups: result.groups,
        status: result.status,
        counters: result.counters,
        ...(sysUpTime === undefined ? {} : { sysUpTime }),
      };
    } finally {
      await session.close();
    }
  }

  /** One warning per resource per log interval: a broken device must not flood the log. */
  private warn(
    ctx: PluginContext,
    resource: Resource,
    message: string,
    details: Record<string, unknown>,
  ): void {
    const every = pluginOptions(ctx, options).log_interval_seconds * 1000;
    const now = Date.now();
    const last = this.lastLogged.get(resource.resource_id);
    if (last !== undefined && now - last < every) return;
    this.lastLogged.set(resource.resource_id, now);
    ctx.logger.warn({ resource: resource.resource_id, ...details }, message);
  }
}

/** The profiles the plugin file names (option `profiles`), or undefined to choose by device. */
function namedProfiles(ctx: PluginContext): Profile[] | undefined {
  const names = pluginOptions(ctx, options).profiles;
  if (names.length === 0) return undefined;
  return ctx.profiles.named(names, ctx.config, 'profiles');
}

export default DeviceMetricsPlugin;
