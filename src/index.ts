/**
 * The package's public API: the data model, the consumer API, the bus and store interfaces and
 * their implementations, for users who consume Panoptes-TS metrics or embed its parts.
 */
export * from './model/index.js';
export { PanoptesError, ERROR_CODES, isPanoptesError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { subscribeMetricsGroups, parseMetricsGroupMessage } from './consumers/subscribe.js';
export type { MetricsSubscription, MetricsSubscriptionOptions } from './consumers/subscribe.js';
export type {
  BusMessage,
  MessageBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicPartition,
} from './bus/bus.js';
export { KafkaBus } from './bus/kafka-bus.js';
export { MemoryBus } from './bus/memory-bus.js';
export { topicNames, GLOBAL_METRICS_TOPIC } from './bus/topics.js';
export type { KeyValueStore } from './store/store.js';
export { MemoryStore } from './store/memory-store.js';
export { RedisStore } from './store/redis-store.js';
export { storeKeys } from './store/keys.js';
export type {
  CounterHint,
  DiscoveryPlugin,
  EnrichmentPlugin,
  PluginContext,
  PollResult,
  PollingPlugin,
} from './plugins/api.js';
export { compileFilter } from './dsl/index.js';
