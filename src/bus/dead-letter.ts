/**
 * The dead-letter topic (`<site>-dead-letter`): records a stage could not accept, kept for
 * people to look at instead of stalling a partition or vanishing. Each keeps its key and value
 * unchanged; its headers are the original ones plus `reason`, `stage` (who refused it),
 * `source_topic`, `source_partition` and `source_offset`. Every dead-lettered batch is logged
 * (count, first origin and reason) and counted by its stage.
 */
import type { BusMessage, MessageBus, OutgoingMessage } from './bus.js';
import type { Logger } from '../log.js';

/** Header values are for people; a reason longer than this is cut. */
export const MAX_REASON_LENGTH = 2000;

export interface Rejection {
  readonly message: BusMessage;
  readonly reason: string;
}

/** The dead-letter record of a refused message. */
export function deadLetterRecord(rejection: Rejection, stage: string): OutgoingMessage {
  const { message, reason } = rejection;
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 3)}...` : reason,
      stage,
      source_topic: message.topic,
      source_partition: String(message.partition),
      source_offset: message.offset,
    },
  };
}

/** Publishes the rejections to the dead-letter topic and logs them; resolves once Kafka has them. */
export async function deadLetter(
  bus: MessageBus,
  topic: string,
  stage: string,
  rejected: readonly Rejection[],
  logger: Logger,
): Promise<void> {
  if (rejected.length === 0) return;
  await bus.publish(
    topic,
    rejected.map((r) => deadLetterRecord(r, stage)),
  );
  const first = rejected[0] as Rejection;
  logger.warn(
    {
      count: rejected.length,
      stage,
      deadLetterTopic: topic,
      topic: first.message.topic,
      partition: first.message.partition,
      offset: first.message.offset,
      reason: first.reason.slice(0, 500),
    },
    'records dead-lettered',
  );
}
