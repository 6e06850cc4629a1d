/**
 * The consumer stage's parts: a JSONL consumer per configured file, the InfluxDB consumer, the
 * Prometheus remote-write consumer, the scrape endpoint.
 */
import type { MessageBus } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import { influxToken, prometheusCredentials } from '../config/credentials.js';
import type { SiteConfig } from '../config/site-config.js';
import { ExpositionConsumer } from '../consumers/exposition.js';
import { InfluxConsumer } from '../consumers/influx-consumer.js';
import { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import type { Logger } from '../log.js';
import { RemoteWriteConsumer } from '../consumers/remote-write.js';

export interface Consumers {
  readonly jsonl: JsonlConsumer[];
  readonly influx: InfluxConsumer | undefined;
  readonly prometheus: RemoteWriteConsumer | undefined;
  readonly exposition: ExpositionConsumer | undefined;
}

/** What the consumer stage starts and stops. */
export type StartedConsumer = JsonlConsumer | InfluxConsumer | RemoteWriteConsumer | ExpositionConsumer;

/**
 * Starts the configured consumers; each started one is handed to `started` (for the node's stop
 * list) before the next starts, so a failure part-way stops those already running.
 */
export async function startConsumers(
  config: SiteConfig,
  parts: { bus: MessageBus; topics: TopicNames; logger: Logger; out?: string | undefined },
  started: (consumer: StartedConsumer) => void,
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
  /** What the time-series writers share; each adds its group id and server. */
  const writer = {
    bus,
    topic: topics.processed(config.site),
    deadLetterTopic: topics.deadLetter(config.site),
    // Within the process's shutdown grace, leaving time for the rest to stop.
    stopTimeoutMs: Math.max(1000, (config.shutdown_grace_seconds - 10) * 1000),
    logger,
  };
  const ic = config.consumers.influx;
  if (ic !== undefined) {
    const token = influxToken(config);
    const consumer = new InfluxConsumer({
      ...writer,
      groupId: `${config.site}-influx`,
      url: ic.url,
      org: ic.org,
      bucket: ic.bucket,
      api: ic.api,
      ...(ic.retention_policy === undefined ? {} : { retentionPolicy: ic.retention_policy }),
      ...(token === undefined ? {} : { token }),
      batchSize: ic.batch_size,
      flushIntervalMs: ic.flush_interval_ms,
    });
    await consumer.start();
    started(consumer);
    influx = consumer;
  }
  let prometheus: RemoteWriteConsumer | undefined;
  const pc = config.consumers.prometheus;
  if (pc !== undefined) {
    const consumer = new RemoteWriteConsumer({
      ...writer,
      groupId: `${config.site}-prometheus`,
      url: pc.url,
      ...prometheusCredentials(config),
      batchSize: pc.batch_size,
      flushIntervalMs: pc.flush_interval_ms,
      requestTimeoutMs: pc.timeout_ms,
    });
    await consumer.start();
    started(consumer);
    prometheus = consumer;
  }
  let exposition: ExpositionConsumer | undefined;
  const ec = config.consumers.prometheus_exposition;
  if (ec !== undefined) {
    const consumer = new ExpositionConsumer({
      bus,
      topic: topics.processed(config.site),
      groupId: `${config.site}-exposition`,
      port: ec.port,
      host: ec.host,
      maxSeries: ec.max_series,
      logger,
    });
    await consumer.start();
    started(consumer);
    exposition = consumer;
  }
  return { jsonl, influx, prometheus, exposition };
}
