/**
 * The kafkajs 2.2.x idle timer fix: a request queue with nothing pending schedules no check,
 * one with pending requests still does; request timeouts are checked while requests are in
 * flight only, and still fire.
 */
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import '../../src/bus/kafka-bus.js';
import { applyKafkajsIdleFix, KAFKAJS_IDLE_LOOP_VERSIONS } from '../../src/bus/kafkajs-idle-fix.js';

const require = createRequire(import.meta.url);

interface Queue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  push(request: {
    entry: Record<string, unknown>;
    expectResponse: boolean;
    sendRequest: () => void;
    requestTimeout?: number;
  }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  destroy(): void;
}

type QueueClass = new (options: Record<string, unknown>) => Queue;

function queue(timeouts: { enforce: boolean; ms: number } = { enforce: false, ms: 1000 }): Queue {
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as QueueClass;
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: timeouts.ms,
    enforceRequestTimeout: timeouts.enforce,
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

  it('checks request timeouts only while a request is in flight, and still times them out', async () => {
    vi.useFakeTimers();
    try {
      const q = queue({ enforce: true, ms: 50 });
      q.scheduleRequestTimeoutCheck(); // what a connect does
      expect(vi.getTimerCount()).toBe(0); // nothing in flight: no interval
      const outcomes: string[] = [];
      const request = (correlationId: number) => ({
        entry: {
          correlationId,
          apiName: 'Fetch',
          apiKey: 1,
          apiVersion: 11,
          resolve: () => outcomes.push(`${correlationId} answered`),
          reject: (e: Error) => outcomes.push(`${correlationId} ${e.name}`),
        },
        expectResponse: true,
        sendRequest: () => {},
      });
      q.push(request(1));
      expect(vi.getTimerCount()).toBe(1); // in flight: checked
      await vi.advanceTimersByTimeAsync(120);
      expect(outcomes).toEqual(['1 KafkaJSRequestTimeoutError']);
      expect(vi.getTimerCount()).toBe(0); // stopped at the first check with nothing in flight
      q.push(request(2));
      expect(vi.getTimerCount()).toBe(1);
      q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
      await vi.advanceTimersByTimeAsync(60);
      expect(outcomes).toEqual(['1 KafkaJSRequestTimeoutError', '2 answered']);
      expect(vi.getTimerCount()).toBe(0);
      q.destroy();
    } finally {
      vi.useRealTimers();
    }
  });
});
