/**
 * The bus and store the site configuration selects. A node waits for them: while Redis cannot be
 * reached it retries with back-off (1 s doubling to 5 s), logging what it waits for (the first
 * failure, then one line per 30 s) and reporting `redis` down for /readyz, until Redis answers
 * or the start is cancelled; refused credentials or certificates fail at once. The Kafka bus
 * waits the same way (KafkaBus waitForCluster). A node that does not use the store (consumers
 * only) gets the in-memory one and never connects to Redis.
 */
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
import type { DependencyHealth } from '../telemetry.js';
import { PanoptesError, errorMessage } from '../errors.js';

export interface BackendOptions {
  /** Whether this node uses the store (every stage but the consumers does). Default true. */
  readonly needsStore?: boolean;
  /** Cancels waiting for Redis (stop requested during start). */
  readonly signal?: AbortSignal;
  /** Told the state of Redis while the node waits for it (for /readyz during start). */
  readonly waiting?: DependencyHealth;
}

/** Connects to Redis, waiting while it cannot be reached (see the file comment). */
async function connectRedis(
  config: SiteConfig,
  logger: Logger,
  security: ReturnType<typeof redisSecurity>,
  options: BackendOptions,
): Promise<RedisStore> {
  let lastLog = 0;
  const cancelled = (): boolean => options.signal?.aborted === true;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await RedisStore.connect({ url: config.store.url, logger, ...security });
      options.waiting?.up('connected');
      return store;
    } catch (e) {
      if (e instanceof PanoptesError && !e.retryable) throw e;
      if (cancelled()) throw e;
      const delayMs = Math.min(1000 * 2 ** (attempt - 1), 5000);
      options.waiting?.down(`waiting: ${errorMessage(e)}`);
      if (Date.now() - lastLog >= 30_000) {
        lastLog = Date.now();
        logger.warn(
          { attempt, retryInMs: delayMs, err: errorMessage(e) },
          `waiting for Redis: ${errorMessage(e)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (cancelled()) throw e;
    }
  }
}

/** Opens the bus and store the configuration selects. */
export async function openBackends(
  config: SiteConfig,
  logger: Logger,
  options: BackendOptions = {},
): Promise<{ bus: MessageBus; store: KeyValueStore }> {
  // Every secret and TLS file is read before the first connection, so a missing one fails at once.
  const kafka = config.bus.type === 'kafka' ? kafkaSecurity(config, logger) : undefined;
  const redis =
    config.store.type === 'redis' && options.needsStore !== false ? redisSecurity(config, logger) : undefined;
  const store: KeyValueStore =
    redis !== undefined ? await connectRedis(config, logger, redis, options) : new MemoryStore();
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
            waitForCluster: true,
          })
        : new MemoryBus({ partitions: config.bus.partitions, retention: config.bus.retention });
    return { bus, store };
  } catch (e) {
    await store.close();
    throw e;
  }
}
