/** The consumer stage's parts: a JSONL consumer per configured file, the InfluxDB consumer. */
import type { MessageBus } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import { influxToken } from '../config/credentials.js';
import type { SiteConfig } from '../config/site-config.js';
import { InfluxConsumer } from '../consumers/influx-consumer.js';
import { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import type { Logger } from '../log.js';

export interface Consumers {
  readonly jsonl: JsonlConsumer[];
  readonly influx: InfluxConsumer | undefined;
}

/**
 * Starts the configured consumers; each started one is handed to `started` (for the node's stop
 * list) before the next starts, so a failure part-way stops those already running.
 */
export async function startConsumers(
  config: SiteConfig,
  parts: { bus: MessageBus; topics: TopicNames; logger: Logger; out?: string | undefined },
  started: (consumer: JsonlConsumer | InfluxConsumer) => void,
): Promise<Consumers> {
  const { bus, topics, logger } = parts;
  const jsonl: JsonlConsumer[] = [];
  const files = new Set(
    [config.output.jsonl, config.consumers.jsonl, parts.out].filter((f): f is string => f !== undefined),
  );
  let n = 0;
  for (const file of files) {
    const consumer = new JsonlConsumer({
      bus,
      logger,
      deadLetterTopic: topics.deadLetter(config.site),
      topic: topics.processed(config.site),
      groupId: `${config.site}-jsonl${n === 0 ? '' : `-${n}`}`,
      file,
    });
    n++;
    await consumer.start();
    started(consumer);
    jsonl.push(consumer);
  }
  let influx: InfluxConsumer | undefined;
  const ic = config.consumers.influx;
  if (ic !== undefined) {
    const token = influxToken(config);
    const consumer = new InfluxConsumer({
      bus,
      topic: topics.processed(config.site),
      deadLetterTopic: topics.deadLetter(config.site),
      groupId: `${config.site}-influx`,
      url: ic.url,
      org: ic.org,
      bucket: ic.bucket,
      ...(token === undefined ? {} : { token }),
      batchSize: ic.batch_size,
      flushIntervalMs: ic.flush_interval_ms,
      // Within the process's shutdown grace, leaving time for the rest to stop.
      stopTimeoutMs: Math.max(1000, (config.shutdown_grace_seconds - 10) * 1000),
      logger,
    });
    await consumer.start();
    started(consumer);
    influx = consumer;
  }
  return { jsonl, influx };
}
