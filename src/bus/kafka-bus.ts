/**
 * The Kafka bus (kafkajs), implementing the MessageBus interface with the same semantics as the
 * in-process bus.
 *
 * Producing: messages are batched per call into one produce request (acks from all in-sync
 * replicas); publish() resolves when Kafka acknowledged them, so callers (the resource actors)
 * wait while Kafka is slow. At most `maxBufferedMessages` messages are in flight in the process:
 * further publish() calls wait for room instead of buffering without bound, which slows polling.
 * The producer is idempotent: a produce request retried after a lost answer is stored once.
 * kafkajs numbers an idempotent producer's batches when it sends them, so produce requests go
 * out one at a time (the next batch gathers meanwhile), and a request is retried until Kafka
 * takes it: while Kafka is unreachable publish() waits (the buffer fills and polling slows),
 * it does not fail. close() waits at most closeTimeoutMs for requests in flight and says what
 * it abandons.
 *
 * Health: `kafka` is down when a produce request failed, one has waited longer than
 * stallAfterMs for its acknowledgement, or the cluster did not answer a metadata request within
 * probeTimeoutMs (probe(), called by the node); up again at the next answer.
 * Topics are auto-created on first use (the test broker does not support CreateTopics; a real
 * cluster may have them created by its operators).
 *
 * Consuming: one kafkajs consumer per subscription (consumer group). Each batch of a partition is
 * handled in order; an offset is resolved, and so committed, only after its handler resolved.
 * A handler that throws is retried with back-off; after maxAttempts the message is skipped and
 * reported to onError. When a rebalance takes the partition away mid-batch, the rest of the batch
 * is left uncommitted for the next owner. Assignment changes are reported per partition after
 * every group join (onRevoked for partitions lost, then onAssigned for partitions gained). A
 * subscription with `readFromStartOnAssign` (a resource table) commits nothing, so whoever owns a
 * partition after a rebalance reads it from its start.
 */
// Before kafkajs: it puts the native CRC-32C where kafkajs will look for its own (see the module).
import './kafkajs-encode-fix.js';
import kafkajs from 'kafkajs';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, LogEntry, Producer } from 'kafkajs';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import type {
  BusMessage,
  MessageBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TableCheck,
  TopicPartition,
} from './bus.js';
import { checkSubscribeOptions } from './bus.js';
import { applyKafkajsControllerFix } from './kafkajs-controller-fix.js';
import { applyKafkajsIdleFix } from './kafkajs-idle-fix.js';
import type { KafkaSecurity } from './kafka-security.js';

// kafkajs 2.2.4 re-arms a 1 ms timer per connection forever; see kafkajs-idle-fix.ts.
applyKafkajsIdleFix();
// kafkajs needs the controller the metadata names; see kafkajs-controller-fix.ts.
applyKafkajsControllerFix();

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly logger: Logger;
  /** Messages published but not yet acknowledged, at most. Default 20000. */
  readonly maxBufferedMessages?: number;
  /**
   * How long a publish waits for others to the same topic so they go out in one produce request,
   * ms; 0 sends each publish on its own. A batch also goes out once it holds
   * PUBLISH_BATCH_MESSAGES messages or PUBLISH_BATCH_BYTES bytes. Default 5.
   */
  readonly lingerMs?: number;
  /** Consumer session timeout, ms. Default 10000. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, ms. Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** Back-off before retrying a failed handler, ms, doubled per attempt (at most 30 s). Default 200. */
  readonly retryDelayMs?: number;
  /** Connection timeout, ms. Default 5000. */
  readonly connectionTimeoutMs?: number;
  /** Compression of produced record batches (gzip: kafkajs's built-in codec). Default none. */
  readonly compression?: 'gzip' | 'none';
  /** TLS and SASL (kafkaSecurity() builds them from the site configuration). Default: plaintext. */
  readonly security?: KafkaSecurity;
  /** How long a request waits for Kafka's answer before it is retried, ms. Default 10000. */
  readonly requestTimeoutMs?: number;
  /** A produce request unacknowledged this long marks Kafka down, ms. Default 10000. */
  readonly stallAfterMs?: number;
  /** The metadata request of probe() fails after this long, ms. Default 5000. */
  readonly probeTimeoutMs?: number;
  /** How long close() waits for produce requests in flight, ms. Default 10000. */
  readonly closeTimeoutMs?: number;
  /**
   * While the cluster cannot be reached, connecting (the producer, a subscription) keeps
   * retrying with back-off (1 s doubling to 5 s) until it can or the bus is closed, logging
   * what it waits for; errors that retrying cannot fix (authentication, unsupported API) still
   * fail at once. Default false: the first failure throws. Nodes set it, so a stage started
   * before Kafka starts when Kafka does.
   */
  readonly waitForCluster?: boolean;
}

export interface KafkaBusStats {
  published: number;
  publishErrors: number;
  /** Produce requests sent (publishes within lingerMs share one). */
  produceRequests: number;
  /** publish() calls that waited for room in the buffer. */
  publishWaits: number;
  delivered: number;
  handlerErrors: number;
  skipped: number;
  /**
   * Messages behind the end of the partitions of every subscription: set when a batch arrives
   * (its messages included) and lowered as they are handled, so a sink that is stuck shows lag.
   */
  consumerLag: number;
  /** Messages given up when close() timed out with Kafka unreachable. */
  abandoned: number;
  /** Heartbeats that failed (the group sees a lost member by itself). */
  heartbeatErrors: number;
}

/** A pending batch is sent at once when it reaches this many messages... */
export const PUBLISH_BATCH_MESSAGES = 500;
/** ... or this many bytes of keys and values (well under Kafka's default 1 MB per request). */
export const PUBLISH_BATCH_BYTES = 512 * 1024;

/** Publishes to one topic waiting to go out in one produce request. */
interface PendingBatch {
  readonly messages: {
    key: string | null;
    value: string | Buffer | null;
    headers?: Record<string, string>;
  }[];
  readonly waiters: { count: number; resolve: () => void; reject: (e: Error) => void }[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs messages that belong to a consumer group's normal life (a member joined or left, so
 * the group rebalances): logged at debug, so that warnings and errors mean trouble.
 */
const ROUTINE_KAFKAJS = /group is rebalancing|re-joining|rejoin is needed/i;

/** The level a kafkajs log entry is written at. */
export function kafkajsLevel(
  level: number,
  message: string,
  error: unknown,
): 'error' | 'warn' | 'info' | 'debug' {
  if (ROUTINE_KAFKAJS.test(message) || (typeof error === 'string' && ROUTINE_KAFKAJS.test(error)))
    return 'debug';
  return LEVEL_NAMES[level] ?? 'info';
}

function toBusMessage(topic: string, partition: number, m: KafkaMessage): BusMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.map((x) => x.toString()).join(',') : v.toString();
  }
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value,
    headers,
    timestamp: Number(m.timestamp),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Errors that waiting cannot fix: credentials refused, an API the cluster does not offer. */
const FINAL_KAFKA_ERRORS = new Set([
  'KafkaJSSASLAuthenticationError',
  'KafkaJSServerDoesNotSupportApiKey',
  'KafkaJSNonRetriableError',
  'KafkaJSInvalidArgument',
]);

/** Whether waiting for the cluster may fix `e` (looks through causes and kafkajs' wrapped errors). */
export function retriableKafkaError(e: unknown): boolean {
  const seen = new Set<unknown>();
  for (let x: unknown = e; typeof x === 'object' && x !== null && !seen.has(x);) {
    seen.add(x);
    const name = (x as { name?: unknown }).name;
    if (typeof name === 'string' && FINAL_KAFKA_ERRORS.has(name)) return false;
    const next =
      (x as { originalError?: unknown; cause?: unknown }).originalError ?? (x as { cause?: unknown }).cause;
    x = next;
  }
  return true;
}

export class KafkaBus implements MessageBus, Telemetry {
  readonly stats: KafkaBusStats = {
    published: 0,
    publishErrors: 0,
    produceRequests: 0,
    publishWaits: 0,
    delivered: 0,
    handlerErrors: 0,
    skipped: 0,
    consumerLag: 0,
    abandoned: 0,
    heartbeatErrors: 0,
  };
  readonly health: DependencyHealth;
  private admin: Admin | undefined;
  /** Produce requests waiting to go out, one at a time (see the file comment). */
  private sendChain: Promise<void> = Promise.resolve();
  /** Start of the produce request in flight, epoch ms; undefined when none. */
  private sendStartedAt: number | undefined;
  private readonly kafka: Kafka;
  private readonly options: KafkaBusOptions;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private readonly consumers = new Set<Consumer>();
  private readonly lagByPartition = new Map<string, number>();
  private buffered = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly pending = new Map<string, PendingBatch>();
  private readonly sending = new Set<Promise<void>>();
  /** publish() calls between their start and joining a batch; close() waits for them. */
  private entering = 0;
  private readonly enteredWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: KafkaBusOptions) {
    this.options = options;
    this.health = new DependencyHealth('kafka', options.logger);
    const logger = options.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'panoptes',
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 5000,
      ...(options.security?.ssl === undefined ? {} : { ssl: options.security.ssl }),
      ...(options.security?.sasl === undefined ? {} : { sasl: options.security.sasl }),
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      // Retries back off to at most 5 s, so a returning cluster is used again within seconds.
      retry: { initialRetryTime: 300, maxRetryTime: 5000 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log }: LogEntry) => {
          const { message, ...extra } = log;
          logger[kafkajsLevel(level, message, extra['error'])](extra, message);
        },
    });
  }

  /** A heartbeat failed: the group notices a lost member by itself; counted and logged at debug. */
  private heartbeatFailed(groupId: string, e: unknown): void {
    this.stats.heartbeatErrors++;
    this.options.logger.debug({ group: groupId, err: errorMessage(e) }, 'Kafka heartbeat failed');
  }

  private setLag(key: string, value: number): void {
    const before = this.lagByPartition.get(key) ?? 0;
    this.lagByPartition.set(key, value);
    this.stats.consumerLag += value - before;
  }

  private forgetLag(groupId: string, partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.setLag(`${groupId}\u0000${tp.topic}\u0000${tp.partition}`, 0);
  }

  /** Partition counts of topics, for partitionOf. */
  private readonly partitionCounts = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();

  /** The admin client, connected; every call bounded by `ms`. */
  private async withAdmin<T>(ms: number, what: string, f: (admin: Admin) => Promise<T>): Promise<T> {
    this.admin ??= this.kafka.admin();
    const admin = this.admin;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        (async () => {
          await admin.connect();
          return f(admin);
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Room while at most half of maxBufferedMessages is taken: what waits for the cluster stays bounded. */
  hasRoom(): boolean {
    return this.buffered < (this.options.maxBufferedMessages ?? 20_000) / 2;
  }

  async partitionOf(topic: string, key: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      const metadata = await this.withAdmin(10_000, `metadata of ${topic}`, (admin) =>
        admin.fetchTopicMetadata({ topics: [topic] }),
      );
      count = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (count === 0) throw new PanoptesError('BUS_ERROR', `topic ${topic} has no partitions`);
      this.partitionCounts.set(topic, count);
    }
    // Kafka's Java client's mapping (murmur2 of the key), which publish uses too.
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    return this.partitioner({ topic, partitionMetadata, message: { key, value: null } });
  }

  async prepareTable(topic: string): Promise<TableCheck> {
    let createFailed: string | undefined;
    try {
      const created = await this.withAdmin(10_000, `creating ${topic}`, (admin) =>
        admin.createTopics({
          topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
          waitForLeaders: true,
        }),
      );
      if (created) return { state: 'created' };
    } catch (e) {
      createFailed = errorMessage(e);
    }
    try {
      const described = await this.withAdmin(10_000, `configuration of ${topic}`, (admin) =>
        admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] },
          ],
        }),
      );
      const entry = described.resources[0]?.configEntries.find((c) => c.configName === 'cleanup.policy');
      if (entry === undefined)
        return { state: 'unknown', reason: 'the cluster did not report cleanup.policy' };
      return entry.configValue.split(',').includes('compact')
        ? { state: 'compacted' }
        : { state: 'not compacted', policy: entry.configValue };
    } catch (e) {
      const reason = errorMessage(e);
      return {
        state: 'unknown',
        reason:
          createFailed === undefined
            ? reason
            : `creating it: ${createFailed}; reading its configuration: ${reason}`,
      };
    }
  }

  /** Asks the cluster for its brokers (bounded by probeTimeoutMs) and sets the health. */
  async probe(): Promise<void> {
    if (this.closed) return;
    const stalled = this.sendStartedAt === undefined ? 0 : Date.now() - this.sendStartedAt;
    const stallAfter = this.options.stallAfterMs ?? 10_000;
    const timeoutMs = this.options.probeTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      this.admin ??= this.kafka.admin();
      const admin = this.admin;
      await Promise.race([
        (async () => {
          await admin.connect();
          await admin.describeCluster();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer to a metadata request within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      if (stalled > stallAfter) {
        this.health.down(
          `a produce request has waited ${Math.round(stalled / 1000)} s for its acknowledgement`,
        );
      } else {
        this.health.up();
      }
    } catch (e) {
      this.health.down(`${this.options.brokers.join(',')}: ${errorMessage(e)}`);
      // The next probe asks on a new connection: a request left unanswered on this one (a
      // cluster that stopped answering and came back) can hold every later request behind it.
      const stale = this.admin;
      this.admin = undefined;
      void stale
        ?.disconnect()
        .catch((d: unknown) =>
          this.options.logger.debug({ err: errorMessage(d) }, 'probe client disconnect failed'),
        );
    } finally {
      clearTimeout(timer);
    }
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    const b = this.stats;
    return new SampleList()
      .add('panoptes_bus_sent_total', 'Messages published to Kafka.', 'counter', b.published)
      .add(
        'panoptes_bus_produce_requests_total',
        'Produce requests sent to Kafka.',
        'counter',
        b.produceRequests,
      )
      .add(
        'panoptes_bus_buffered_messages',
        'Messages published but not yet acknowledged.',
        'gauge',
        this.buffered,
      )
      .add(
        'panoptes_bus_publish_waits_total',
        'Publishes that waited for room in the buffer.',
        'counter',
        b.publishWaits,
      )
      .add('panoptes_bus_errors_total', 'Failed Kafka operations, by kind.', 'counter', b.publishErrors, {
        kind: 'publish',
      })
      .add('panoptes_bus_errors_total', 'Failed Kafka operations, by kind.', 'counter', b.handlerErrors, {
        kind: 'handler',
      })
      .add(
        'panoptes_bus_retries_total',
        'Message handlers retried after an error.',
        'counter',
        b.handlerErrors,
      )
      .add(
        'panoptes_bus_dropped_total',
        'Messages skipped after their handler kept failing, or abandoned when closing.',
        'counter',
        b.skipped + b.abandoned,
      )
      .add('panoptes_bus_received_total', 'Messages handled.', 'counter', b.delivered)
      .add(
        'panoptes_bus_consumer_lag',
        'Messages behind the end of the assigned partitions, unhandled ones included.',
        'gauge',
        b.consumerLag,
      ).samples;
  }

  private async getProducer(): Promise<Producer> {
    if (this.producer !== undefined) return this.producer;
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        allowAutoTopicCreation: true,
        // Keys map to partitions as in Kafka's Java client (murmur2), like Panoptes' producers;
        // named here, which also keeps kafkajs from warning that it is the default.
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
        // An idempotent producer retries until Kafka takes the batch (same sequence number,
        // stored once); see the file comment.
        retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
      });
      try {
        await this.untilConnected('the producer', () => producer.connect());
      } catch (e) {
        this.connecting = undefined;
        this.health.down(`cannot connect: ${errorMessage(e)}`);
        throw new PanoptesError(
          'BUS_ERROR',
          `cannot connect to Kafka at ${this.options.brokers.join(',')}: ${errorMessage(e)}`,
          { cause: e },
        );
      }
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }

  /**
   * Runs `connect` until it works: once without waitForCluster, else with back-off while the
   * cluster cannot be reached (see the option), logging the first failure and one per 30 s.
   */
  private async untilConnected(what: string, connect: () => Promise<void>): Promise<void> {
    let lastLog = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        await connect();
        return;
      } catch (e) {
        if (this.options.waitForCluster !== true || this.closed || !retriableKafkaError(e)) throw e;
        const delayMs = Math.min(1000 * 2 ** (attempt - 1), 5000);
        this.health.down(`waiting for the cluster (${what}): ${errorMessage(e)}`);
        if (Date.now() - lastLog >= 30_000) {
          lastLog = Date.now();
          this.options.logger.warn(
            { brokers: this.options.brokers, attempt, retryInMs: delayMs, err: errorMessage(e) },
            `waiting for Kafka (${what}): ${errorMessage(e)}`,
          );
        }
        await sleep(delayMs);
        if (this.closed) throw e;
      }
    }
  }

  /** Waits until `n` more messages fit in the buffer (one call larger than the buffer waits for an empty one). */
  private async reserve(n: number): Promise<void> {
    const max = this.options.maxBufferedMessages ?? 20_000;
    if (this.buffered > 0 && this.buffered + n > max) this.stats.publishWaits++;
    while (this.buffered > 0 && this.buffered + n > max) {
      if (this.closed) throw new PanoptesError('BUS_ERROR', 'bus closed while waiting for room to publish');
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
    this.buffered += n;
  }

  private release(n: number): void {
    this.buffered -= n;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /**
   * Resolves once Kafka acknowledged the messages (acks from all in-sync replicas). Publishes to
   * the same topic within `lingerMs` share one produce request; each still resolves or fails on
   * its own account.
   */
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PanoptesError('BUS_ERROR', 'bus is closed');
    if (messages.length === 0) return;
    this.entering++;
    let producer: Producer;
    try {
      producer = await this.getProducer();
      await this.reserve(messages.length);
    } catch (e) {
      this.entered();
      throw e;
    }
    await new Promise<void>((resolve, reject) => {
      let batch = this.pending.get(topic);
      if (batch === undefined) {
        batch = { messages: [], waiters: [], bytes: 0, timer: undefined };
        this.pending.set(topic, batch);
      }
      for (const m of messages) {
        batch.messages.push({
          key: m.key,
          value: m.value,
          ...(m.headers === undefined ? {} : { headers: { ...m.headers } }),
        });
        batch.bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      }
      batch.waiters.push({ count: messages.length, resolve, reject });
      this.entered();
      const linger = this.options.lingerMs ?? 5;
      if (
        this.closed ||
        linger <= 0 ||
        batch.messages.length >= PUBLISH_BATCH_MESSAGES ||
        batch.bytes >= PUBLISH_BATCH_BYTES
      ) {
        this.flush(topic, producer);
      } else {
        batch.timer ??= setTimeout(() => this.flush(topic, producer), linger);
      }
    });
  }

  private entered(): void {
    this.entering--;
    if (this.entering === 0) for (const w of this.enteredWaiters.splice(0)) w();
  }

  /** Sends the pending batch of a topic as one request and settles its publishes. */
  private flush(topic: string, producer: Producer): void {
    const batch = this.pending.get(topic);
    if (batch === undefined) return;
    this.pending.delete(topic);
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    const send = async (): Promise<void> => {
      this.stats.produceRequests++;
      this.sendStartedAt = Date.now();
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: batch.messages,
          ...(this.options.compression === 'gzip' ? { compression: CompressionTypes.GZIP } : {}),
        });
      } finally {
        this.sendStartedAt = undefined;
      }
    };
    const turn = this.sendChain.then(send);
    this.sendChain = turn.catch(() => undefined); // the outcome is reported below, per publish
    const sent = turn
      .then(
        () => {
          this.stats.published += batch.messages.length;
          this.health.up();
          for (const w of batch.waiters) w.resolve();
        },
        (e: unknown) => {
          this.stats.publishErrors += batch.waiters.length;
          this.health.down(`publishing to ${topic} failed: ${errorMessage(e)}`);
          for (const w of batch.waiters) {
            w.reject(
              new PanoptesError(
                'BUS_ERROR',
                `publishing ${w.count} message(s) to ${topic}: ${errorMessage(e)}`,
                {
                  cause: e,
                },
              ),
            );
          }
        },
      )
      .finally(() => {
        this.release(batch.messages.length);
        this.sending.delete(sent);
      });
    this.sending.add(sent);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new PanoptesError('BUS_ERROR', 'bus is closed');
    checkSubscribeOptions(options);
    let assigned: TopicPartition[] = [];
    let assignmentChange: Promise<void> = Promise.resolve();
    let stopped = false;
    let current: Consumer | undefined;
    let restartTimer: NodeJS.Timeout | undefined;

    const changeAssignment = (next: TopicPartition[]): void => {
      const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
      const nextKeys = new Set(next.map(key));
      const prevKeys = new Set(assigned.map(key));
      const revoked = assigned.filter((tp) => !nextKeys.has(key(tp)));
      const gained = next.filter((tp) => !prevKeys.has(key(tp)));
      assigned = next;
      this.forgetLag(options.groupId, revoked);
      assignmentChange = assignmentChange.then(async () => {
        try {
          if (revoked.length > 0) await options.onRevoked?.(revoked);
          if (gained.length > 0) await options.onAssigned?.(gained);
        } catch (e) {
          this.options.logger.error(
            { group: options.groupId, err: errorMessage(e) },
            'assignment handler failed',
          );
        }
      });
    };

    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? 1000,
        allowAutoTopicCreation: true,
        maxWaitTimeInMs: 250,
      });
      current = consumer;
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const next: TopicPartition[] = [];
        for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
          for (const partition of partitions) next.push({ topic, partition });
        }
        changeAssignment(next);
      });
      consumer.on(consumer.events.CRASH, (event) => {
        if (event.payload.restart || stopped || this.closed) return;
        // kafkajs gives up on errors it deems final (the test broker answers some group syncs
        // mid-rebalance with INVALID_REQUEST): a new consumer joins again instead of leaving
        // the partitions unread for good.
        this.options.logger.warn(
          { group: options.groupId, err: event.payload.error.message },
          'Kafka consumer stopped on an error; a new one joins the group in 1 s',
        );
        changeAssignment([]);
        this.consumers.delete(consumer);
        restartTimer = setTimeout(() => {
          if (stopped || this.closed) return;
          start().catch((e: unknown) =>
            this.options.logger.error(
              { group: options.groupId, err: errorMessage(e) },
              'Kafka consumer restart failed',
            ),
          );
        }, 1000);
      });
      try {
        await this.untilConnected(`group ${options.groupId}`, async () => {
          try {
            await consumer.connect();
            await consumer.subscribe({
              topics: [...options.topics],
              // A table is never committed (see run below), so every owner starts at the beginning.
              fromBeginning: options.readFromStartOnAssign === true || (options.fromBeginning ?? false),
            });
          } catch (e) {
            await consumer
              .disconnect()
              .catch((d: unknown) =>
                this.options.logger.debug(
                  { group: options.groupId, err: errorMessage(d) },
                  'Kafka consumer disconnect failed',
                ),
              );
            throw e;
          }
        });
      } catch (e) {
        throw new PanoptesError(
          'BUS_ERROR',
          `cannot subscribe group ${options.groupId} to ${options.topics.join(', ')}: ${errorMessage(e)}`,
          { cause: e },
        );
      }
      this.consumers.add(consumer);
      await consumer.run(runConfig);
    };

    const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    const retryDelay = this.options.retryDelayMs ?? 200;
    const maxBatch = Math.max(1, options.maxBatchSize ?? 500);
    const table = options.readFromStartOnAssign === true;

    /** Runs `work` with retries; false when the partition went away (stop without committing). */
    const attempt = async (
      payload: EachBatchPayload,
      work: () => Promise<void>,
      failed: (e: unknown) => void,
    ): Promise<boolean> => {
      for (let n = 1; ; n++) {
        if (!payload.isRunning() || payload.isStale()) return false;
        try {
          await work();
          return true;
        } catch (e) {
          this.stats.handlerErrors++;
          if (n >= maxAttempts) {
            failed(e);
            return true;
          }
          await sleep(Math.min(retryDelay * 2 ** (n - 1), 30_000));
          await payload.heartbeat().catch((h: unknown) => this.heartbeatFailed(options.groupId, h));
        }
      }
    };

    const runConfig = {
      // Tables are read from the start on every assignment: nothing is committed for them.
      autoCommit: !table,
      autoCommitInterval: 1000,
      // Partitions are handled side by side (each in order), so a bulk sink gathers the
      // batches of every partition into one write instead of waiting for each in turn.
      partitionsConsumedConcurrently: 8,
      eachBatchAutoResolve: false,
      eachBatch: async (payload: EachBatchPayload): Promise<void> => {
        const { batch } = payload;
        await assignmentChange;
        const messages = batch.messages.map((m) => toBusMessage(batch.topic, batch.partition, m));
        const lagKey = `${options.groupId}\u0000${batch.topic}\u0000${batch.partition}`;
        // Behind by this batch and what follows it, until its messages are handled.
        const behind = Number(batch.offsetLag()) + messages.length;
        this.setLag(lagKey, behind);
        const step = options.handleBatch === undefined ? 1 : maxBatch;
        for (let i = 0; i < messages.length; i += step) {
          const chunk = messages.slice(i, i + step);
          const last = chunk[chunk.length - 1] as BusMessage;
          const ok = await attempt(
            payload,
            async () => {
              if (options.handleBatch !== undefined) await options.handleBatch(chunk);
              else await options.handler?.(chunk[0] as BusMessage);
            },
            (e) => {
              this.stats.skipped += chunk.length;
              for (const m of chunk) options.onError?.(e, m);
            },
          );
          if (!ok) return;
          this.stats.delivered += chunk.length;
          this.setLag(lagKey, behind - (i + chunk.length));
          payload.resolveOffset(last.offset);
          await payload.heartbeat().catch((h: unknown) => this.heartbeatFailed(options.groupId, h));
        }
        if (!table) await payload.commitOffsetsIfNecessary();
      },
    };

    await start();
    return {
      groupId: options.groupId,
      assignment: () => [...assigned],
      stop: async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(restartTimer);
        if (current !== undefined) {
          this.consumers.delete(current);
          await current.disconnect();
        }
        await assignmentChange;
        if (assigned.length > 0) {
          const lost = assigned;
          assigned = [];
          await options.onRevoked?.(lost);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.roomWaiters.splice(0)) w(); // publishes waiting for room fail now
    // Publishes already accepted go out before the producer disconnects.
    while (this.entering > 0) await new Promise<void>((r) => this.enteredWaiters.push(r));
    if (this.producer !== undefined)
      for (const topic of [...this.pending.keys()]) this.flush(topic, this.producer);
    const closeTimeoutMs = this.options.closeTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      Promise.all([...this.sending]).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), closeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.stats.abandoned += this.buffered;
      this.options.logger.error(
        { messages: this.buffered, closeTimeoutMs },
        'Kafka did not acknowledge published messages before closing: they are abandoned',
      );
    }
    // Disconnecting sends requests too (leaving groups): bounded, so a stop with Kafka
    // unreachable still ends.
    const disconnect = async (
      what: string,
      client: { disconnect(): Promise<void> } | undefined,
    ): Promise<void> => {
      if (client === undefined) return;
      let t: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.disconnect(),
          new Promise<never>((_, reject) => {
            t = setTimeout(() => reject(new Error(`no answer within ${closeTimeoutMs} ms`)), closeTimeoutMs);
          }),
        ]);
      } catch (e) {
        this.options.logger.warn({ err: errorMessage(e) }, `Kafka ${what} did not disconnect cleanly`);
      } finally {
        clearTimeout(t);
      }
    };
    await disconnect('admin client', this.admin);
    this.admin = undefined;
    await Promise.all([...this.consumers].map((c) => disconnect('consumer', c)));
    this.consumers.clear();
    await disconnect('producer', this.producer);
    this.producer = undefined;
  }
}
