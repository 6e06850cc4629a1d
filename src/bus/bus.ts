/**
 * The message bus interface: Kafka semantics, so the in-process bus (embedded runs, tests) and
 * the Kafka bus (distributed mode) are interchangeable.
 *
 * - Topics are split into partitions; a message's key picks its partition, so one key's messages
 *   stay in order. A null value with a key is a tombstone (the key was removed).
 * - Subscribers join a consumer group; the group's members share the partitions, each partition
 *   owned by one member, and are told what they gained (onAssigned) and lost (onRevoked).
 * - The offset of a message is committed only after its handler resolved. A handler that throws
 *   is retried with back-off; after `maxAttempts` the message is skipped and reported to
 *   onError, so one bad record never stops the rest.
 * - Delivery is at least once: a partition that changes hands in a rebalance before its last
 *   handled offset was committed is read again from the committed offset by its new owner.
 */
import { PanoptesError } from '../errors.js';
import type { Telemetry } from '../telemetry.js';

export interface OutgoingMessage {
  readonly key: string | null;
  /** null: tombstone. */
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BusMessage {
  readonly topic: string;
  readonly partition: number;
  /** Position in the partition (Kafka offsets are 64-bit; kept as a decimal string). */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly timestamp: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts: true earliest, false (default) latest. */
  readonly fromBeginning?: boolean;
  /** Handles one message at a time. Give this or handleBatch. */
  readonly handler?: (message: BusMessage) => Promise<void>;
  /**
   * Handles the messages of one partition available now (at most maxBatchSize), in order; their
   * offsets are committed after it resolves. A batch that fails is retried whole. For sinks
   * that write in bulk (InfluxDB).
   */
  readonly handleBatch?: (messages: readonly BusMessage[]) => Promise<void>;
  /**
   * Read every partition this member gains from its start, whatever was committed (a topic used
   * as a table, like `<site>-resources`: each new owner materialises it). Default false.
   */
  readonly readFromStartOnAssign?: boolean;
  /** Largest batch for handleBatch. Default 500. */
  readonly maxBatchSize?: number;
  readonly onAssigned?: (partitions: readonly TopicPartition[]) => Promise<void> | void;
  readonly onRevoked?: (partitions: readonly TopicPartition[]) => Promise<void> | void;
  /** A message skipped after its handler failed maxAttempts times. */
  readonly onError?: (error: unknown, message: BusMessage) => void;
  /** Handler attempts per message (or batch) before it is skipped; Infinity retries until it works. Default 5. */
  readonly maxAttempts?: number;
}

export interface Subscription {
  readonly groupId: string;
  /** The partitions this member owns right now. */
  assignment(): TopicPartition[];
  /** Leaves the group after in-flight handlers finish; their offsets are committed. */
  stop(): Promise<void>;
}

/** What a bus found out about a topic used as a table (see MessageBus.prepareTable). */
export type TableCheck =
  | { readonly state: 'created' | 'compacted' }
  | { readonly state: 'not compacted'; readonly policy: string }
  | { readonly state: 'unknown'; readonly reason: string };

/** A bus reports its own telemetry (see telemetry.ts). */
export interface MessageBus extends Telemetry {
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Whether publish can take more now without waiting (its buffer has room). A publisher may
   * then queue results while earlier publishes still wait for the cluster.
   */
  hasRoom(): boolean;
  /** The partition a message with this key goes to (as publish places it). */
  partitionOf(topic: string, key: string): Promise<number>;
  /**
   * Makes a topic used as a table (one current record per key, tombstones remove) compacted
   * where the bus can: creates it with cleanup.policy=compact when it does not exist, else
   * reports the policy it has. Never throws: what it could not do is in the answer.
   */
  prepareTable(topic: string): Promise<TableCheck>;
  close(): Promise<void>;
}

/** Checks what every bus requires of SubscribeOptions: exactly one of handler and handleBatch. */
export function checkSubscribeOptions(options: SubscribeOptions): void {
  if ((options.handler === undefined) === (options.handleBatch === undefined))
    throw new PanoptesError('USAGE', 'subscribe: give exactly one of handler and handleBatch');
}
