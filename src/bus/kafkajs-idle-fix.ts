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
 * did.
 *
 * The same queue checks its requests in flight for timeouts on an interval of 100 ms, started
 * when the connection connects and kept until it disconnects, whether or not anything is in
 * flight: every idle connection woke its process ten times a second (an idle connected producer
 * cost about 7 CPU-ms a second here, a process with a dozen connections a tenth of a core at
 * light load). The patched queue starts that interval when it sends a request and stops it at
 * the first check that finds nothing in flight; while requests are in flight the checks run as
 * before, and with nothing in flight there is nothing to time out.
 *
 * It is applied to kafkajs 2.2.x only; another version is left alone (and a test says so,
 * so an upgrade is looked at again).
 */
import { createRequire } from 'node:module';

interface SocketRequestLike {
  sentAt: number;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueLike {
  pending: unknown[];
  inflight: Map<number, SocketRequestLike>;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: NodeJS.Timeout | undefined;
  isConnected(): boolean;
  destroy(this: RequestQueueLike): void;
  sendSocketRequest(this: RequestQueueLike, socketRequest: unknown): void;
  scheduleCheckPendingRequests: (this: RequestQueueLike) => void;
  scheduleRequestTimeoutCheck(this: RequestQueueLike): void;
}

/** Set between a connect (scheduleRequestTimeoutCheck) and the next destroy: timeouts are checked. */
const ENFORCING = Symbol('panoptes.kafkajs.enforcingTimeouts');

type PatchedQueue = RequestQueueLike & { [ENFORCING]?: boolean };

/**
 * kafkajs's own check (every request past its timeout times out), then stops when idle. The
 * interval runs exactly while `requestTimeoutIntervalId` is set (the patched destroy and the idle
 * stop clear it).
 */
function startTimeoutChecks(queue: PatchedQueue): void {
  if (queue.requestTimeoutIntervalId !== undefined || queue[ENFORCING] !== true) return;
  queue.requestTimeoutIntervalId = setInterval(
    () => {
      queue.inflight.forEach((request) => {
        if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
      });
      if (!queue.isConnected()) {
        queue.destroy();
      } else if (queue.inflight.size === 0) {
        clearInterval(queue.requestTimeoutIntervalId);
        queue.requestTimeoutIntervalId = undefined;
      }
    },
    Math.min(queue.requestTimeout, 100),
  );
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
  /* eslint-disable @typescript-eslint/unbound-method -- called with .call(this) below */
  const destroy = proto.destroy;
  const sendSocketRequest = proto.sendSocketRequest;
  /* eslint-enable @typescript-eslint/unbound-method */
  proto.scheduleRequestTimeoutCheck = function scheduleRequestTimeoutCheck(this: PatchedQueue): void {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this[ENFORCING] = true;
    if (this.inflight.size > 0) startTimeoutChecks(this);
  };
  proto.destroy = function patchedDestroy(this: PatchedQueue): void {
    destroy.call(this);
    this[ENFORCING] = false;
    this.requestTimeoutIntervalId = undefined;
  };
  proto.sendSocketRequest = function patchedSendSocketRequest(this: PatchedQueue, request: unknown): void {
    sendSocketRequest.call(this, request);
    if (this.inflight.size > 0) startTimeoutChecks(this);
  };
  proto[PATCHED] = true;
  return true;
}
