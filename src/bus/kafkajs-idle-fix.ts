/**
 * A fix for kafkajs 2.2.4, the current release: every connection's request queue re-arms a
 * timer after each check for pending requests, and with nothing pending and no throttling the
 * delay is negative, so the timer fires every millisecond for as long as the connection lives
 * (kafkajs issues 1556, 1604, 1704). Each process with a Kafka bus burned a large share of a core
 * that way, and produced the garbage to collect, whatever its load.
 *
 * A check only needs to be scheduled while requests are pending: a request pushed later is sent
 * at once or enqueued (which schedules a check), and a fulfilled or timed-out request checks the
 * queue itself. So the patched method returns when nothing is pending and otherwise does what it
 * did. It is applied to kafkajs 2.2.x only; another version is left alone (and a test says so,
 * so an upgrade is looked at again).
 */
import { createRequire } from 'node:module';

interface RequestQueueLike {
  pending: unknown[];
  scheduleCheckPendingRequests: (this: RequestQueueLike) => void;
}

interface RequestQueueClass {
  prototype: RequestQueueLike;
}

const PATCHED = Symbol.for('panoptes.kafkajs.idleFix');

/** Versions of kafkajs whose request queue has the timer loop. */
export const KAFKAJS_IDLE_LOOP_VERSIONS = /^2\.2\.\d+$/;

/** Patches kafkajs's RequestQueue once per process; returns whether the fix is in place. */
export function applyKafkajsIdleFix(): boolean {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!KAFKAJS_IDLE_LOOP_VERSIONS.test(version)) return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
  const proto = RequestQueue.prototype as RequestQueueLike & { [PATCHED]?: true };
  if (proto[PATCHED] === true) return true;
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.pending.length === 0) return;
    original.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
