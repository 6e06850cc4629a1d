/**
 * Polling status: what one run of a polling plugin came to for one resource, published as a
 * `status` metrics group with the gauge `polling_status` (Panoptes' codes), so a device that
 * stops answering shows up as a value, not as silence.
 *
 *   0 success            every value was read
 *   1 auth failure       the device refused the credentials (SNMPv3 USM errors)
 *   2 network error      the request could not be sent or was refused (ICMP unreachable, ...)
 *   3 timeout            no answer within the timeout and retries, or the run ran out of time
 *   4 partial            some values were missing
 *   5 internal error     the plugin or the poller failed
 *   6 missing data       the device answered but had none of the data the plugin polls
 *   8 enrichment failure the enrichment the plugin joins was missing; it was read directly instead
 */
import { METRICS_GROUP_SCHEMA_VERSION } from './metrics-group.js';
import type { MetricsGroup } from './metrics-group.js';
import type { Resource } from './resource.js';

export const PollingStatus = {
  success: 0,
  authFailure: 1,
  networkError: 2,
  timeout: 3,
  partial: 4,
  internalError: 5,
  missingData: 6,
  enrichmentFailure: 8,
} as const;

export type PollingStatusName = keyof typeof PollingStatus;
export type PollingStatusCode = (typeof PollingStatus)[PollingStatusName];

export const STATUS_GROUP_TYPE = 'status';
export const POLLING_STATUS_METRIC = 'polling_status';
/** The dimension naming the plugin whose run the status describes. */
export const STATUS_PLUGIN_DIMENSION = 'plugin';

/** The `status` group of one run. `timestamp` in seconds since the epoch. */
export function pollingStatusGroup(
  resource: Resource,
  plugin: string,
  status: PollingStatusName,
  intervalSeconds: number,
  timestamp: number,
): MetricsGroup {
  return {
    metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
    metrics_group_type: STATUS_GROUP_TYPE,
    metrics_group_interval: intervalSeconds,
    metrics_group_creation_timestamp: timestamp,
    resource,
    dimensions: [{ dimension_name: STATUS_PLUGIN_DIMENSION, dimension_value: plugin }],
    metrics: [
      {
        metric_name: POLLING_STATUS_METRIC,
        metric_value: PollingStatus[status],
        metric_type: 'gauge',
        metric_creation_timestamp: timestamp,
      },
    ],
  };
}
