/** The discovery stage of a node. */
import type { MessageBus } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import type { Logger } from '../log.js';
import { DiscoveryStage } from '../stages/discovery-stage.js';
import type { PluginRuntime } from '../stages/plugin-runtime.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';

/**
 * Builds the discovery stage and runs its first pass; resolves with the stage and how many
 * resources of this site it published. `started` gets it for the node's stop list first.
 */
export async function startDiscoveryStage(
  config: SiteConfig,
  parts: {
    bus: MessageBus;
    store: KeyValueStore;
    topics: TopicNames;
    keys: StoreKeys;
    runtime: PluginRuntime;
    logger: Logger;
  },
  started: (stage: DiscoveryStage) => void,
): Promise<{ stage: DiscoveryStage; resources: number }> {
  const { bus, store, topics, keys, runtime, logger } = parts;
  const stage = new DiscoveryStage({
    logger,
    bus,
    topics,
    store,
    keys,
    contextFactory: runtime.contextFactory,
    site: config.site,
    republishSeconds: config.discovery.republish_seconds,
  });
  started(stage);
  stage.setPlugins(runtime.loader.plugins);
  await stage.settled();
  const resources = [...stage.resources().values()].filter((r) => r.resource_site === config.site).length;
  return { stage, resources };
}
