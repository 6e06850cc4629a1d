/**
 * The kafkajs 2.2.x idle timer fix: a request queue with nothing pending schedules no check,
 * one with pending requests still does.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import '../../src/bus/kafka-bus.js';
import { applyKafkajsIdleFix, KAFKAJS_IDLE_LOOP_VERSIONS } from '../../src/bus/kafkajs-idle-fix.js';

const require = createRequire(import.meta.url);

interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}

type QueueClass = new (options: Record<string, unknown>) => Queue;

function queue(): Queue {
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as QueueClass;
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 1000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger,
  });
}

describe('kafkajs idle timer fix', () => {
  it('applies to the installed kafkajs (a new version must be checked for the loop again)', () => {
    const { version } = require('kafkajs/package.json') as { version: string };
    expect(version).toMatch(KAFKAJS_IDLE_LOOP_VERSIONS);
    expect(applyKafkajsIdleFix()).toBe(true);
    expect(applyKafkajsIdleFix()).toBe(true); // idempotent
  });

  it('arms no timer when nothing is pending, and still does when something is', () => {
    const q = queue();
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.pending.push({ placeholder: true });
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.destroy();
  });
});
