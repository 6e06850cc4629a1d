import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from './kafka.js';
import type { KafkaService } from './kafka.js';

describe('Kafka-protocol test broker (librdkafka mock cluster via kcat)', () => {
  let kafka: KafkaService;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    kafka = await startKafka(3);
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await kafka.stop();
  });

  it('runs three brokers on loopback', () => {
    expect(kafka.brokers).toHaveLength(3);
    for (const b of kafka.brokers) expect(b).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('delivers keyed messages produced by kafkajs to a consumer group', async () => {
    const client = new Kafka({
      clientId: 'panoptes-test',
      brokers: [...kafka.brokers],
      logLevel: logLevel.NOTHING,
    });
    const topic = `test-${randomUUID()}`;
    producer = client.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `device-${i}`, value: `{"n":${i}}` }));
    await producer.send({ topic, messages: sent });

    consumer = client.consumer({
      groupId: `group-${randomUUID()}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: { key: string; value: string; partition: number }[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer!.run({
        eachMessage: ({ message, partition }) => {
          received.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            partition,
          });
          if (received.length === sent.length) resolve();
          return Promise.resolve();
        },
      });
    });
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`received ${received.length}/10`)), 25_000),
      ),
    ]);

    expect(received.map((m) => m.key).sort()).toEqual(sent.map((m) => m.key).sort());
    for (const m of received) expect(m.value).toBe(sent.find((s) => s.key === m.key)?.value);
    // Auto-created topics have 4 partitions.
    const admin = client.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(4);
    } finally {
      await admin.disconnect();
    }
  }, 40_000);
});
