/** The MessageBus contract (bus-contract.ts) against the Kafka bus on the test broker. */
import { afterAll, beforeAll } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka-bus.js';
import { silentLogger } from '../../src/log.js';
import { startKafka } from '../services/kafka.js';
import type { KafkaService } from '../services/kafka.js';
import { busContract } from './bus-contract.js';

let kafka: KafkaService;

beforeAll(async () => {
  kafka = await startKafka(3);
});

afterAll(async () => {
  await kafka.stop();
});

busContract('KafkaBus', {
  make: () =>
    new KafkaBus({
      brokers: kafka.brokers,
      logger: silentLogger,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      retryDelayMs: 20,
    }),
  waitMs: 30_000,
});
