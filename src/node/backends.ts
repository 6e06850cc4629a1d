/** The bus and store the site configuration selects. */
import type { MessageBus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka-bus.js';
import { kafkaSecurity } from '../bus/kafka-security.js';
import { MemoryBus } from '../bus/memory-bus.js';
import type { SiteConfig } from '../config/site-config.js';
import type { Logger } from '../log.js';
import { MemoryStore } from '../store/memory-store.js';
import { redisSecurity } from '../store/redis-security.js';
import { RedisStore } from '../store/redis-store.js';
import type { KeyValueStore } from '../store/store.js';

/** Opens the bus and store the configuration selects. */
export async function openBackends(
  config: SiteConfig,
  logger: Logger,
): Promise<{ bus: MessageBus; store: KeyValueStore }> {
  // Every secret and TLS file is read before the first connection, so a missing one fails at once.
  const kafka = config.bus.type === 'kafka' ? kafkaSecurity(config, logger) : undefined;
  const redis = config.store.type === 'redis' ? redisSecurity(config, logger) : undefined;
  const store: KeyValueStore =
    redis !== undefined
      ? await RedisStore.connect({ url: config.store.url, logger, ...redis })
      : new MemoryStore();
  try {
    const bus: MessageBus =
      kafka !== undefined
        ? new KafkaBus({
            brokers: config.bus.brokers ?? [],
            clientId: config.bus.client_id,
            logger,
            sessionTimeoutMs: config.bus.session_timeout_ms,
            maxBufferedMessages: config.bus.max_buffered_messages,
            lingerMs: config.bus.linger_ms,
            security: kafka,
          })
        : new MemoryBus({ partitions: config.bus.partitions, retention: config.bus.retention });
    return { bus, store };
  } catch (e) {
    await store.close();
    throw e;
  }
}
