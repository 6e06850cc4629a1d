/**
 * The consumer API for users' own code: subscribe to a site's metrics groups with a consumer
 * group and a handler. Records arrive parsed and validated (typed MetricsGroup, Counter64 values
 * as exact bigint); a message is committed only after the handler resolved; a handler that
 * throws is retried with back-off and, after `maxAttempts`, skipped and reported to onError.
 * Records that are not valid metrics groups go to onInvalid (default: a warning) and are skipped.
 *
 *   import { subscribeMetricsGroups } from 'panoptes-ts';
 *   const sub = await subscribeMetricsGroups({
 *     kafka: { brokers: ['127.0.0.1:9092'] }, site: 'dc1', groupId: 'my-app',
 *     handler: async (group) => { ... },
 *   });
 *   ...
 *   await sub.stop();
 */
import type { BusMessage, MessageBus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka-bus.js';
import type { KafkaSecurity } from '../bus/kafka-security.js';
import { DEFAULT_TOPIC_DELIMITER, topicNames } from '../bus/topics.js';
import { PanoptesError, errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import type { Logger } from '../log.js';
import { parseMetricsGroupText } from '../model/index.js';
import type { MetricsGroup } from '../model/index.js';

export interface MetricsSubscriptionOptions {
  /** A bus to use, or Kafka brokers to connect to (the bus is then closed by stop()). */
  readonly bus?: MessageBus;
  readonly kafka?: {
    readonly brokers: readonly string[];
    readonly clientId?: string;
    /** TLS and SASL: kafkajs `ssl` and `sasl` options (kafkaSecurity() reads a site's). */
    readonly security?: KafkaSecurity;
  };
  /** The site whose `<site>-processed` topic to read. */
  readonly site: string;
  /** Consumer group: instances with the same group share the partitions. */
  readonly groupId: string;
  readonly handler: (group: MetricsGroup, message: BusMessage) => Promise<void> | void;
  /** A record that is not a valid metrics group (it is skipped). Default: logged. */
  readonly onInvalid?: (problem: string, message: BusMessage) => void;
  /** A record whose handler failed maxAttempts times (it is skipped). Default: logged. */
  readonly onError?: (error: unknown, message: BusMessage) => void;
  /** Default 5. */
  readonly maxAttempts?: number;
  /** Start at the beginning of the topic when the group has no committed offset. Default false. */
  readonly fromBeginning?: boolean;
  readonly topicDelimiter?: string;
  readonly logger?: Logger;
}

export interface MetricsSubscription {
  /** Leaves the group after the handler calls in flight finished (their offsets are committed). */
  stop(): Promise<void>;
}

/** Parses one record of a `<site>-processed` topic: the group, or why it is not one. */
export function parseMetricsGroupMessage(message: BusMessage): { group: MetricsGroup } | { problem: string } {
  const where = `${message.topic}[${message.partition}]@${message.offset}`;
  if (message.value === null) return { problem: `${where}: empty record (tombstone)` };
  let parsed;
  try {
    parsed = parseMetricsGroupText(message.value.toString('utf8'), where, '$');
  } catch (e) {
    return { problem: errorMessage(e) };
  }
  if (!parsed.ok)
    return { problem: `${where}: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` };
  return { group: parsed.value };
}

export async function subscribeMetricsGroups(
  options: MetricsSubscriptionOptions,
): Promise<MetricsSubscription> {
  const logger = options.logger ?? createLogger('panoptes-consumer');
  let owned: MessageBus | undefined;
  let bus = options.bus;
  if (bus === undefined) {
    if (options.kafka === undefined)
      throw new PanoptesError('USAGE', 'subscribeMetricsGroups: give bus or kafka');
    owned = new KafkaBus({
      brokers: options.kafka.brokers,
      ...(options.kafka.clientId === undefined ? {} : { clientId: options.kafka.clientId }),
      ...(options.kafka.security === undefined ? {} : { security: options.kafka.security }),
      logger,
    });
    bus = owned;
  }
  const topic = topicNames(options.topicDelimiter ?? DEFAULT_TOPIC_DELIMITER).processed(options.site);
  const onInvalid =
    options.onInvalid ??
    ((problem: string) => logger.warn({ problem }, 'record is not a metrics group; skipped'));
  try {
    const subscription = await bus.subscribe({
      groupId: options.groupId,
      topics: [topic],
      fromBeginning: options.fromBeginning ?? false,
      maxAttempts: options.maxAttempts ?? 5,
      handler: async (message) => {
        const result = parseMetricsGroupMessage(message);
        if ('problem' in result) {
          onInvalid(result.problem, message);
          return;
        }
        await options.handler(result.group, message);
      },
      onError:
        options.onError ??
        ((e, m) =>
          logger.error(
            { record: `${m.topic}[${m.partition}]@${m.offset}`, err: errorMessage(e) },
            'handler failed; record skipped',
          )),
    });
    return {
      stop: async () => {
        await subscription.stop();
        await owned?.close();
      },
    };
  } catch (e) {
    await owned?.close();
    throw e;
  }
}
