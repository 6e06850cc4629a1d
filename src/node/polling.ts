/** The polling stage of a node (enrichment and/or polling roles). */
import type { MessageBus } from '../bus/bus.js';
import { GLOBAL_METRICS_TOPIC } from '../bus/topics.js';
import type { TopicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import type { Logger } from '../log.js';
import type { PluginRuntime } from '../stages/plugin-runtime.js';
import { PollingStage } from '../stages/polling-stage.js';
import type { StoreKeys } from '../store/keys.js';
import { RedisStore } from '../store/redis-store.js';
import type { KeyValueStore } from '../store/store.js';
import type { Role } from './roles.js';

/** Enrichment after the store came back is spread over this long, ms. */
export const REENRICH_SPREAD_MS = 10_000;

/**
 * Builds the polling stage and joins the resource table (polling itself starts later, with
 * startPolling()); `started` gets it for the node's stop list before it joins.
 */
export async function startPollingStage(
  config: SiteConfig,
  parts: {
    roles: ReadonlySet<Role>;
    bus: MessageBus;
    store: KeyValueStore;
    topics: TopicNames;
    keys: StoreKeys;
    runtime: PluginRuntime;
    logger: Logger;
    nodeId: string;
  },
  started: (stage: PollingStage) => void,
): Promise<PollingStage> {
  const { roles, bus, store, topics, keys, runtime, logger, nodeId } = parts;
  const stage = new PollingStage({
    logger,
    site: config.site,
    bus,
    topics,
    store,
    keys,
    contextFactory: runtime.contextFactory,
    enrichmentCache: runtime.enrichmentCache,
    nodeId,
    mailboxSize: config.polling.mailbox_size,
    stopGraceMs: config.polling.stop_grace_seconds * 1000,
    enrichmentWaitMs: roles.has('enrichment') ? config.polling.enrichment_wait_seconds * 1000 : 0,
    heartbeat: config.polling.heartbeat && roles.has('polling'),
    distributedGuards: config.store.type !== 'memory',
    checkpointCounters: config.store.type !== 'memory',
    runEnrichment: roles.has('enrichment'),
    runPolling: roles.has('polling'),
    groupId: roles.has('polling') ? `${config.site}-pollers` : `${config.site}-enrichers`,
    ...(config.bus.global_topic ? { globalTopic: GLOBAL_METRICS_TOPIC } : {}),
    maxResourceBytes: config.limits.max_resource_bytes,
    maxRecordBytes: config.limits.max_record_bytes,
  });
  stage.setPlugins(runtime.loader.plugins);
  started(stage);
  await stage.start();
  if (store instanceof RedisStore && roles.has('enrichment')) {
    // Redis back after an outage may have lost its data (no persistence): enrich again now
    // rather than at the next scheduled run, spread over a few seconds.
    store.health.onChange((state, was) => {
      if (state === 'up' && was === 'down')
        stage.enrichment.rerunAll(REENRICH_SPREAD_MS, 'the store is back after an outage');
    });
  }
  return stage;
}
