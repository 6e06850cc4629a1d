/**
 * The InfluxDB consumer: metrics groups from `<site>-processed` become line protocol points
 * (see line-protocol.ts) written with the InfluxDB v2 write API (org, bucket, precision ms)
 * through the transport of @influxdata/influxdb-client; VictoriaMetrics accepts the same API.
 *
 * Delivery: the consumer subscribes with a batch handler that never gives up (maxAttempts
 * Infinity), and a handler resolves only after the write holding its points succeeded, so an
 * offset is committed only once its points are stored. Nothing is lost while the server is down:
 * a failed write is retried with exponential back-off (retryInitialMs doubling up to retryMaxMs)
 * until it succeeds; each failure is counted in stats.writeErrors and logged as a warning with
 * the server URL (never the token). A point may be written twice (a retried write the server had
 * stored, a batch re-read after a restart); the server keeps one value per series and timestamp.
 *
 * Batching: the points of batches from different partitions are gathered and written together
 * when batchSize points are waiting, when no more points arrived for lingerMs (every handler is
 * waiting for a write), or when flushIntervalMs has passed since the first of them; writes
 * go out one at a time, in order. The bus hands over at most batchSize messages at once, and one
 * group is one point, so a write holds at most batchSize points.
 *
 * Bad records never stop the consumer. A message that is not JSON, not a valid metrics group or
 * has no value goes to the dead-letter topic: same key, the original value unchanged, the
 * original headers plus `reason`, `source_topic`, `source_partition` and `source_offset`.
 * A write the server refuses for its content (HTTP 400, 413, 422: parse error, field type
 * conflict, too large) is retried once per message to find the messages it refuses; those are
 * dead-lettered with the server's answer as reason, the rest are written. When it refuses every
 * message tried (the first REFUSAL_SAMPLE of them, or a lone message while no write was
 * accepted in the last RECENT_ACCEPT_MS), the fault is the server's, not the records': the
 * circuit breaker opens (logged once, `tsdb` down in /readyz), nothing is dead-lettered, and the
 * whole write is tried again with back-off until the server takes records again. Every other
 * failure (connection refused, timeout, 5xx, 429, 401/403 until the token is fixed, 404 until
 * the bucket exists) is retried until it works.
 *
 * Health: `tsdb` is up after an accepted write or an answered probe (GET /health), down while
 * writes fail or the breaker is open.
 *
 * stop() leaves the consumer group: buffered points are written at once and the in-flight batch
 * handlers finish, so their offsets are committed. If the server stays unreachable for
 * stopTimeoutMs, the remaining writes are abandoned: their offsets are not committed, and the
 * group's next member reads those messages again. A consumer is started once; a group without
 * committed offsets starts at the oldest retained message.
 */
import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { readMetricsGroupMessage } from './decode.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { deadLetter } from '../bus/dead-letter.js';
import type { Rejection } from '../bus/dead-letter.js';
import { metricsGroupToPoints } from './line-protocol.js';

export interface InfluxConsumerOptions {
  readonly bus: MessageBus;
  /** Metrics groups, e.g. `dc1-processed`. */
  readonly topic: string;
  /** Records that could not be written, e.g. `dc1-dead-letter`. */
  readonly deadLetterTopic: string;
  readonly groupId: string;
  /** Base URL of InfluxDB 2 (or VictoriaMetrics), e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  readonly org: string;
  readonly bucket: string;
  /** API token; sent as `Authorization: Token ...`, never logged. */
  readonly token?: string;
  /** Points per write. Default 5000. */
  readonly batchSize?: number;
  /** Longest time points wait for a write, ms. Default 1000. */
  readonly flushIntervalMs?: number;
  /**
   * Write once no more points arrived for this long, ms: every partition's handler waits for its
   * write, so none will arrive until one is done. Default 25.
   */
  readonly lingerMs?: number;
  /** Wait after the first failed write, ms, doubled per failure. Default 500. */
  readonly retryInitialMs?: number;
  /** Longest wait between retries, ms. Default 30000. */
  readonly retryMaxMs?: number;
  /** How long stop() keeps retrying a failing write before abandoning it (uncommitted), ms. Default 30000. */
  readonly stopTimeoutMs?: number;
  /** HTTP request timeout, ms. Default 10000. */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
}

export interface InfluxConsumerStats {
  /** Messages handled (written or dead-lettered). */
  received: number;
  /** Points the server accepted. */
  written: number;
  /** Messages published to the dead-letter topic. */
  deadLettered: number;
  /** Failed write requests (each retry that fails counts). */
  writeErrors: number;
  /** Successful write requests. */
  batches: number;
  /** Times the breaker opened: the server refused every record of a write. */
  breakerOpened: number;
}

/** Messages tried one by one before a write that all of them refuse is called a server fault. */
export const REFUSAL_SAMPLE = 8;
/** A lone refused message is the record's fault only if the server accepted a write this recently, ms. */
export const RECENT_ACCEPT_MS = 60_000;
/** How long probe() waits for the server's /health, ms. */
const PROBE_TIMEOUT_MS = 3000;

/** Statuses that say the server will never accept this body: find and dead-letter the culprits. */
const REFUSED_STATUS: ReadonlySet<number> = new Set([400, 413, 422]);
/** Bodies larger than this are gzipped. */
const GZIP_THRESHOLD = 1000;

interface Entry {
  readonly message: BusMessage;
  readonly lines: readonly string[];
}

/** What one batch handler handed over, and how it learns the outcome. */
interface Contribution {
  readonly entries: readonly Entry[];
  readonly lineCount: number;
  readonly resolve: (rejected: Rejection[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Points written by one request. */
class PendingWrite {
  readonly contributions: Contribution[] = [];
  lineCount = 0;
}

/** The URL without credentials or query, for logs. */
function safeUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.href.replace(/\/$/, '');
}

/** A failed write, for logs and dead-letter reasons. */
function describeWriteError(e: unknown, token: string | undefined): string {
  // A server may quote the credentials it refused (vmauth: `cannot find the provided auth token
  // "Bearer ..."`); the reason goes to logs and dead-letter headers, so the token is cut out.
  const redact = (text: string): string =>
    token === undefined || token === '' ? text : text.replaceAll(token, '***');
  if (e instanceof HttpError) return redact(`HTTP ${e.statusCode}: ${e.message}`);
  const message = errorMessage(e);
  if (message !== '') return redact(message);
  // Node reports a refused connection to a name with several addresses as an AggregateError
  // with an empty message.
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new PanoptesError('USAGE', `${name} must be an integer >= 1, got ${v}`);
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0)
    throw new PanoptesError('USAGE', `${name} must be a number >= 0, got ${v}`);
  return v;
}

/** The points of a message, or why it has none. */
function decode(message: BusMessage): { lines: string[] } | { reason: string } {
  const read = readMetricsGroupMessage(message);
  return 'reason' in read ? read : { lines: metricsGroupToPoints(read.group) };
}

export class InfluxConsumer implements Telemetry {
  readonly stats: InfluxConsumerStats = {
    received: 0,
    written: 0,
    deadLettered: 0,
    writeErrors: 0,
    batches: 0,
    breakerOpened: 0,
  };
  readonly health: DependencyHealth;
  /** Epoch ms of the last accepted write; 0 before the first. */
  private lastAcceptedAt = 0;
  private breakerOpen = false;
  /** Messages received and not yet written or dead-lettered. */
  private pendingMessages = 0;
  private readonly options: InfluxConsumerOptions;
  private readonly logger: Logger;
  private readonly influx: InfluxDB;
  /** The write endpoint, without credentials, for logs. */
  private readonly where: string;
  /** The server's base URL, without credentials. */
  private readonly base: string;
  /** writeErrors at the last probe: a probe says up only if no write failed since. */
  private errorsAtProbe = 0;
  private readonly path: string;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly lingerMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly stopTimeoutMs: number;
  /** Requests under way, aborted when stop() gives up. */
  private readonly inFlight = new Set<AbortController>();
  private subscription: Subscription | undefined;
  private started = false;
  private stopping = false;
  private abandoned = false;
  /** Points gathering for the next write. */
  private buffer = new PendingWrite();
  private flushTimer: NodeJS.Timeout | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  /** Writes waiting their turn. */
  private readonly queue: PendingWrite[] = [];
  private draining = false;
  /** Retry back-off sleeps; calling one ends it early. */
  private readonly wakers = new Set<() => void>();

  constructor(options: InfluxConsumerOptions) {
    this.options = options;
    this.logger = options.logger;
    this.health = new DependencyHealth('tsdb', options.logger);
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new PanoptesError('USAGE', `InfluxDB url is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new PanoptesError('USAGE', `InfluxDB url must be http or https, got ${url.protocol}`);
    this.batchSize = positiveInteger('batchSize', options.batchSize, 5000);
    this.flushIntervalMs = nonNegative('flushIntervalMs', options.flushIntervalMs, 1000);
    this.lingerMs = nonNegative('lingerMs', options.lingerMs, 25);
    this.retryInitialMs = nonNegative('retryInitialMs', options.retryInitialMs, 500);
    this.retryMaxMs = nonNegative('retryMaxMs', options.retryMaxMs, 30_000);
    this.stopTimeoutMs = nonNegative('stopTimeoutMs', options.stopTimeoutMs, 30_000);
    const timeout = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000);
    this.base = safeUrl(url);
    this.where = `${this.base}/api/v2/write`;
    this.path =
      `/api/v2/write?org=${encodeURIComponent(options.org)}` +
      `&bucket=${encodeURIComponent(options.bucket)}&precision=ms`;
    this.influx = new InfluxDB({
      url: options.url,
      timeout,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  }

  async start(): Promise<void> {
    if (this.started) throw new PanoptesError('USAGE', 'InfluxConsumer: start() was already called');
    this.started = true;
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
      maxBatchSize: this.batchSize,
      maxAttempts: Infinity,
      handleBatch: (messages) => this.handleBatch(messages),
    });
    this.logger.info(
      { url: this.where, org: this.options.org, bucket: this.options.bucket, topic: this.options.topic },
      'InfluxDB consumer started',
    );
  }

  /**
   * Leaves the group after writing what is buffered and letting the in-flight handlers finish
   * (their offsets are committed). Writes still failing after stopTimeoutMs are abandoned
   * without committing.
   */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    if (subscription === undefined) return;
    this.subscription = undefined;
    this.stopping = true;
    this.seal();
    this.wakeAll(); // a write waiting to be retried tries again now
    const timer = setTimeout(() => this.giveUp(), this.stopTimeoutMs);
    try {
      await subscription.stop();
    } finally {
      clearTimeout(timer);
    }
    this.logger.info({ ...this.stats }, 'InfluxDB consumer stopped');
  }

  /** GET /health of the server within PROBE_TIMEOUT_MS: any answer but a 5xx is up. */
  async probe(): Promise<void> {
    if (this.breakerOpen) return; // down until a write is accepted again
    try {
      const res = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
      if (res.status >= 500) this.health.down(`${this.base}/health answered HTTP ${res.status}`);
      else if (this.health.current === 'starting' || this.health.current === 'down') {
        // Answering again; a write failing meanwhile sets it down again.
        if (this.stats.writeErrors === this.errorsAtProbe) this.health.up(`${this.base} answering`);
      }
    } catch (e) {
      this.health.down(`${this.base}/health: ${describeWriteError(e, this.options.token)}`);
    } finally {
      this.errorsAtProbe = this.stats.writeErrors;
    }
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    const i = this.stats;
    const c = { consumer: 'influx' };
    return new SampleList()
      .add('panoptes_consumer_received_total', 'Records received by a consumer.', 'counter', i.received, c)
      .add('panoptes_consumer_sent_total', 'Records written by a consumer.', 'counter', i.written, c)
      .add(
        'panoptes_consumer_dropped_total',
        'Records sent to the dead-letter topic.',
        'counter',
        i.deadLettered,
        c,
      )
      .add('panoptes_consumer_errors_total', 'Failed writes (retried).', 'counter', i.writeErrors, c)
      .add(
        'panoptes_consumer_breaker_opened_total',
        'Times the server refused every record and writes paused.',
        'counter',
        i.breakerOpened,
        c,
      )
      .add(
        'panoptes_consumer_breaker_open',
        '1 while writes wait behind the circuit breaker.',
        'gauge',
        this.breakerOpen ? 1 : 0,
        c,
      )
      .add(
        'panoptes_consumer_pending',
        'Records received and not yet written.',
        'gauge',
        this.pendingMessages,
        c,
      ).samples;
  }

  private async handleBatch(messages: readonly BusMessage[]): Promise<void> {
    if (this.abandoned) throw new Error('InfluxDB consumer stopped before its points were written');
    this.pendingMessages += messages.length;
    try {
      await this.handleMessages(messages);
    } finally {
      this.pendingMessages -= messages.length;
    }
  }

  private async handleMessages(messages: readonly BusMessage[]): Promise<void> {
    const entries: Entry[] = [];
    const rejected: Rejection[] = [];
    for (const message of messages) {
      const decoded = decode(message);
      if ('reason' in decoded) rejected.push({ message, reason: decoded.reason });
      else if (decoded.lines.length > 0) entries.push({ message, lines: decoded.lines });
    }
    if (entries.length > 0) rejected.push(...(await this.enqueue(entries)));
    await this.deadLetter(rejected);
    this.stats.received += messages.length;
  }

  private async deadLetter(rejected: readonly Rejection[]): Promise<void> {
    await deadLetter(this.options.bus, this.options.deadLetterTopic, 'influx', rejected, this.logger);
    this.stats.deadLettered += rejected.length;
  }

  /** Adds a handler's points to the next write; resolves, with the refused messages, once written. */
  private enqueue(entries: readonly Entry[]): Promise<Rejection[]> {
    const lineCount = entries.reduce((n, e) => n + e.lines.length, 0);
    return new Promise<Rejection[]>((resolve, reject) => {
      if (this.buffer.lineCount > 0 && this.buffer.lineCount + lineCount > this.batchSize) this.seal();
      this.buffer.contributions.push({ entries, lineCount, resolve, reject });
      this.buffer.lineCount += lineCount;
      if (this.buffer.lineCount >= this.batchSize || this.stopping) {
        this.seal();
        return;
      }
      this.flushTimer ??= setTimeout(() => this.seal(), this.flushIntervalMs);
      // Every partition's handler waits for its write, so when no more points arrive for a
      // moment, none will until a write is done: write now instead of at the interval.
      clearTimeout(this.quietTimer);
      this.quietTimer = setTimeout(() => this.seal(), this.lingerMs);
    });
  }

  /** Closes the gathering write and queues it. */
  private seal(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    if (this.buffer.contributions.length === 0) return;
    this.queue.push(this.buffer);
    this.buffer = new PendingWrite();
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift())
        await this.write(next);
    } finally {
      this.draining = false; // synchronously after the queue was found empty
    }
  }

  /** Writes one batch; never rejects: each contribution learns its outcome. */
  private async write(pending: PendingWrite): Promise<void> {
    const { contributions } = pending;
    try {
      const lines = contributions.flatMap((c) => c.entries.flatMap((e) => e.lines));
      for (let round = 1; ; round++) {
        const refused = await this.send(lines);
        if (refused === undefined) {
          this.closeBreaker();
          for (const c of contributions) c.resolve([]);
          return;
        }
        const verdict = await this.findRefused(contributions, refused);
        if (verdict !== 'server') {
          this.closeBreaker();
          contributions.forEach((c, i) => c.resolve(verdict[i] ?? []));
          return;
        }
        // Every record tried was refused: a server-side fault. Nothing is dead-lettered.
        const delayMs = Math.min(this.retryInitialMs * 2 ** (round - 1), this.retryMaxMs);
        this.openBreaker(refused, lines.length, delayMs);
        await this.sleep(delayMs);
        if (this.abandoned) throw this.abandonedError();
      }
    } catch (e) {
      for (const c of contributions) c.reject(e); // no effect on those already resolved
    }
  }

  /**
   * Writes message by message to find the ones the server refuses: per contribution, the
   * refused messages; or 'server' when it refuses every message tried (see the file comment).
   */
  private async findRefused(
    contributions: readonly Contribution[],
    firstReason: string,
  ): Promise<Rejection[][] | 'server'> {
    const all = contributions.flatMap((c, ci) => c.entries.map((entry) => ({ ci, entry })));
    const out: Rejection[][] = contributions.map(() => []);
    if (all.length === 1) {
      const only = all[0] as { ci: number; entry: Entry };
      if (this.breakerOpen || Date.now() - this.lastAcceptedAt > RECENT_ACCEPT_MS) return 'server';
      out[only.ci]?.push({ message: only.entry.message, reason: `refused by ${this.where}: ${firstReason}` });
      return out;
    }
    let tried = 0;
    let accepted = 0;
    for (const { ci, entry } of all) {
      const reason = await this.send(entry.lines);
      tried++;
      if (reason === undefined) accepted++;
      else out[ci]?.push({ message: entry.message, reason: `refused by ${this.where}: ${reason}` });
      if (accepted === 0 && tried >= REFUSAL_SAMPLE) return 'server';
    }
    return accepted === 0 ? 'server' : out;
  }

  private openBreaker(reason: string, points: number, retryInMs: number): void {
    if (!this.breakerOpen) {
      this.breakerOpen = true;
      this.stats.breakerOpened++;
      this.logger.error(
        { url: this.where, points, err: reason, retryInMs },
        'InfluxDB refuses every record: treated as a server fault; writes pause and are retried, nothing is dead-lettered',
      );
    }
    this.health.down(`refuses every record (${reason}); writes paused`);
  }

  private closeBreaker(): void {
    if (!this.breakerOpen) return;
    this.breakerOpen = false;
    this.logger.info({ url: this.where }, 'InfluxDB accepts records again: writes resume');
  }

  /**
   * POSTs lines until the server takes them (undefined) or refuses them for their content (the
   * reason). Throws only when the consumer gave up on stopping.
   */
  private async send(lines: readonly string[]): Promise<string | undefined> {
    const body = lines.join('\n');
    for (let failures = 0; ;) {
      if (this.abandoned) throw this.abandonedError();
      // One controller per request: the client adds an abort listener it never removes.
      const controller = new AbortController();
      this.inFlight.add(controller);
      try {
        await this.influx.transport.request(this.path, body, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          gzipThreshold: GZIP_THRESHOLD,
          signal: controller.signal,
        });
        this.stats.written += lines.length;
        this.stats.batches++;
        this.lastAcceptedAt = Date.now();
        this.health.up(`${this.where} accepting writes`);
        return undefined;
      } catch (e) {
        controller.abort(); // a timed-out request is only reported by the client: end it
        if (this.abandoned) throw this.abandonedError();
        this.stats.writeErrors++;
        const reason = describeWriteError(e, this.options.token);
        if (e instanceof HttpError && REFUSED_STATUS.has(e.statusCode)) {
          this.logger.warn(
            { url: this.where, points: lines.length, err: reason },
            'InfluxDB refused a write',
          );
          return reason;
        }
        failures++;
        const delayMs = Math.min(this.retryInitialMs * 2 ** (failures - 1), this.retryMaxMs);
        this.health.down(`${this.where}: ${reason}`);
        this.logger.warn(
          { url: this.where, points: lines.length, failures, retryInMs: delayMs, err: reason },
          'InfluxDB write failed; retrying',
        );
        await this.sleep(delayMs);
      } finally {
        this.inFlight.delete(controller);
      }
    }
  }

  private abandonedError(): Error {
    return new Error(`InfluxDB consumer stopped while ${this.where} was failing; points not written`);
  }

  /** Stop timed out: abandon the writes still failing; their offsets stay uncommitted. */
  private giveUp(): void {
    this.abandoned = true;
    this.logger.warn(
      { url: this.where, stopTimeoutMs: this.stopTimeoutMs },
      'InfluxDB still failing when stopping; unwritten batches are left uncommitted for the next consumer',
    );
    for (const controller of this.inFlight) controller.abort();
    this.wakeAll();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
