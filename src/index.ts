/**
 * The package's public API: the data model, the consumer API, the bus and store interfaces and
 * their implementations, for users who consume Panoptes-TS metrics or embed its parts, and the
 * plugin SDK: everything a plugin module needs (plugin types, its options, SNMP sessions and
 * values, enrichment joins, the profile engine). The built-in plugins import only this, as a
 * user's plugin must.
 */
export * from './model/index.js';
export { PanoptesError, ERROR_CODES, ValidationError, errorMessage, isPanoptesError } from './errors.js';
export type { ErrorCode, ValidationIssue } from './errors.js';
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
export type { KafkaSecurity } from './bus/kafka-security.js';
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
  Kept,
  PluginContext,
  PluginKind,
  PollResult,
  PollingPlugin,
} from './plugins/api.js';
export { asPollResult } from './plugins/api.js';
export { optionError } from './plugins/plugin-file.js';
export type { PluginDefinition, PreloadEntry, RateTransform } from './plugins/plugin-file.js';
export { option, parseOptions, pluginOptions } from './plugins/options.js';
export type { OptionSpec, OptionsOf, OptionsSchema } from './plugins/options.js';
export { SnmpTag, isException } from './snmp/types.js';
export type { Varbind, VarbindValue } from './snmp/types.js';
export type { SnmpSession } from './snmp/session.js';
export { compareOids, isUnder } from './snmp/oid.js';
export { dimensionValue, dimensionsFrom } from './streams/enrichment-join.js';
export { MIB_OBJECTS, resolveMibName, scalar } from './snmp/mibs.js';
export type { MibObjectName } from './snmp/mibs.js';
export { BUILTIN_PLUGINS_DIR, BUILTIN_PROFILES_DIR } from './package-root.js';
export { NOT_SET, runProfiles } from './profiles/engine.js';
export { asNumber, asText } from './profiles/values.js';
export type { Value } from './profiles/values.js';
export type { ProfileRunOptions, ProfileRunResult } from './profiles/engine.js';
export { ProfileCatalog } from './profiles/catalog.js';
export { loadProfileFile, parseProfile } from './profiles/profile.js';
export type { Profile } from './profiles/profile.js';
export { compileFilter } from './dsl/index.js';
export { GnmiClient, GnmiError, readTlsFiles } from './gnmi/client.js';
export type { Encoding, GnmiClientOptions, GnmiNotification, GnmiTls } from './gnmi/client.js';
export { GnmiGroups, parseMapping } from './gnmi/mapping.js';
export type { GnmiMapping } from './gnmi/mapping.js';
export { GnmiStream, gnmiTelemetry } from './gnmi/stream.js';
export type { GnmiStreamOptions, GnmiStreamStats } from './gnmi/stream.js';
export { readTextFile } from './text-file.js';
