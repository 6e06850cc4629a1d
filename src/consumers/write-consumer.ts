/**
 * What the consumers that write to a time-series server share (InfluxDB, Prometheus remote
 * write): metrics groups from `<site>-processed` become the server's points (a WriteTarget
 * says how), gathered into batches, written one request at a time, in order.
 *
 * Delivery: the consumer subscribes with a batch handler that never gives up (maxAttempts
 * Infinity), and a handler resolves only after the write holding its points succeeded, so an
 * offset is committed only once its points are stored. Nothing is lost while the server is down:
 * a failed write is retried with exponential back-off (retryInitialMs doubling up to retryMaxMs)
 * until it succeeds; each failure is counted in stats.writeErrors and logged as a warning with
 * the server URL (never a credential). A point may be written twice (a retried write the server
 * had stored, a batch re-read after a restart); the server keeps one value per series and time.
 *
 * Batching: the points of batches from different partitions are gathered and written together
 * when batchSize messages' points are waiting, when no more points arrived for lingerMs (every
 * handler is waiting for a write), or when flushIntervalMs has passed since the first of them.
 * The bus hands over at most batchSize messages at once.
 *
 * Bad records never stop the consumer. A message that is not JSON, not a valid metrics group or
 * has no value goes to the dead-letter topic: same key, the original value unchanged, the
 * original headers plus `reason`, `source_topic`, `source_partition` and `source_offset`.
 * A write the server refuses for its content (WriteRefused: for InfluxDB HTTP 400, 413, 422;
 * for remote write any 4xx but 408 and 429) is not retried as it was: it is written again
 * message by message to find the messages refused; those are dead-lettered with the server's
 * answer as reason, the rest are written. A message refused as stale (a remote-write server
 * holding newer samples of its series: a record read again after a restart, already stored) is
 * counted in stats.stale and skipped, not dead-lettered. When the server refuses every message
 * tried (the first REFUSAL_SAMPLE of them, or a lone message while no write was accepted in the
 * last RECENT_ACCEPT_MS), the fault is the server's, not the records' (a wrong token, a wrong
 * path): the circuit breaker opens (logged once, the dependency down in /readyz), nothing is
 * dead-lettered, and the whole write is tried again with back-off until the server takes
 * records again. Every other failure (connection refused, timeout, 5xx, 429) is retried until it
 * works.
 *
 * Health: up after an accepted write or an answered probe, down while writes fail or the
 * breaker is open.
 *
 * stop() leaves the consumer group: buffered points are written at once and the in-flight batch
 * handlers finish, so their offsets are committed. If the server stays unreachable for
 * stopTimeoutMs, the remaining writes are abandoned: their offsets are not committed, and the
 * group's next member reads those messages again. A consumer is started once; a group without
 * committed offsets starts at the oldest retained message.
 */
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { deadLetter } from '../bus/dead-letter.js';
import type { Rejection } from '../bus/dead-letter.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { MetricsGroup } from '../model/metrics-group.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { readMetricsGroupMessage } from './decode.js';

/** The server refused a write for its content: retrying the same request cannot help. */
export class WriteRefused extends Error {
  /**
   * @param stale the server refused the samples as older than those it holds for their series
   *   (already written, e.g. a record read again after a restart)
   */
  constructor(
    message: string,
    readonly stale = false,
  ) {
    super(message);
    this.name = 'WriteRefused';
  }
}

/** One kind of server: how groups become its points and how points are written to it. */
export interface WriteTarget<P> {
  /** The `consumer` label of the metrics and the dead-letter source, e.g. `influx`. */
  readonly kind: string;
  /** The server in logs, e.g. `InfluxDB`. */
  readonly label: string;
  /** The dependency's name in /readyz. */
  readonly healthName: string;
  /** The write endpoint without credentials or query, for logs. */
  readonly where: string;
  /** What probe() asks: any answer below 500 is up. */
  readonly probeUrl: string;
  /** Credentials to cut out of any text that is logged. */
  readonly secrets: readonly string[];
  /** The points of a group (none for a group without metrics); throws if it cannot have any. */
  points(group: MetricsGroup): P[];
  /**
   * Writes points; resolves once the server accepted them. Throws WriteRefused when the server
   * refuses them for their content; any other error is retried.
   */
  write(points: readonly P[], signal: AbortSignal): Promise<void>;
}

export interface WriteConsumerOptions {
  readonly bus: MessageBus;
  /** Metrics groups, e.g. `dc1-processed`. */
  readonly topic: string;
  /** Records that could not be written, e.g. `dc1-dead-letter`. */
  readonly deadLetterTopic: string;
  readonly groupId: string;
  /** Messages per write (their points go in one request). Default 5000. */
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
  readonly logger: Logger;
}

export interface WriteConsumerStats {
  /** Messages handled (written, skipped as stale or dead-lettered). */
  received: number;
  /** Messages whose points the server accepted. */
  written: number;
  /** Messages published to the dead-letter topic. */
  deadLettered: number;
  /** Messages the server refused as older than what it holds (already written); skipped. */
  stale: number;
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
/** How long probe() waits for the server, ms. */
const PROBE_TIMEOUT_MS = 3000;

interface Entry<P> {
  readonly message: BusMessage;
  readonly points: readonly P[];
}

/** What one batch handler handed over, and how it learns the outcome. */
interface Contribution<P> {
  readonly entries: readonly Entry<P>[];
  readonly resolve: (rejected: Rejection[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Points written by one request. */
class PendingWrite<P> {
  readonly contributions: Contribution<P>[] = [];
  messageCount = 0;
}

/** What became of one message tried alone. */
type Verdict = 'written' | 'stale' | { readonly reason: string };

/** The URL without credentials, query or fragment, for logs. */
export function safeUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.href.replace(/\/$/, '');
}

/** A URL option as a URL: http or https, else a usage error naming the option. */
export function httpUrl(what: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Only the scheme and host could be quoted safely; a URL that does not parse is not quoted.
    throw new PanoptesError('USAGE', `${what} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new PanoptesError('USAGE', `${what} must be http or https, got ${url.protocol}`);
  return url;
}

/** An error's text for logs and dead-letter reasons, with the credentials cut out. */
export function describeError(e: unknown, secrets: readonly string[]): string {
  // A server may quote the credentials it refused (vmauth: `cannot find the provided auth token
  // "Bearer ..."`); the reason goes to logs and dead-letter headers, so they are cut out.
  const redact = (text: string): string => {
    let out = text;
    for (const s of secrets) if (s !== '') out = out.replaceAll(s, '***');
    return out;
  };
  const message = errorMessage(e);
  if (message !== '') return redact(message);
  // Node reports a refused connection to a name with several addresses as an AggregateError
  // with an empty message.
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

export function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new PanoptesError('USAGE', `${name} must be an integer >= 1, got ${v}`);
  return v;
}

export function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0)
    throw new PanoptesError('USAGE', `${name} must be a number >= 0, got ${v}`);
  return v;
}

export class WriteConsumer<P> implements Telemetry {
  readonly stats: WriteConsumerStats = {
    received: 0,
    written: 0,
    deadLettered: 0,
    stale: 0,
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
  private readonly options: WriteConsumerOptions;
  private readonly target: WriteTarget<P>;
  private readonly logger: Logger;
  /** writeErrors at the last probe: a probe says up only if no write failed since. */
  private errorsAtProbe = 0;
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
  private buffer = new PendingWrite<P>();
  private flushTimer: NodeJS.Timeout | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  /** Writes waiting their turn. */
  private readonly queue: PendingWrite<P>[] = [];
  private draining = false;
  /** Retry back-off sleeps; calling one ends it early. */
  private readonly wakers = new Set<() => void>();
  /** Epoch ms of the last stale-skip log line, and the skips since. */
  private staleLoggedAt = 0;
  private staleSinceLog = 0;

  constructor(options: WriteConsumerOptions, target: WriteTarget<P>) {
    this.options = options;
    this.target = target;
    this.logger = options.logger;
    this.health = new DependencyHealth(target.healthName, options.logger);
    this.batchSize = positiveInteger('batchSize', options.batchSize, 5000);
    this.flushIntervalMs = nonNegative('flushIntervalMs', options.flushIntervalMs, 1000);
    this.lingerMs = nonNegative('lingerMs', options.lingerMs, 25);
    this.retryInitialMs = nonNegative('retryInitialMs', options.retryInitialMs, 500);
    this.retryMaxMs = nonNegative('retryMaxMs', options.retryMaxMs, 30_000);
    this.stopTimeoutMs = nonNegative('stopTimeoutMs', options.stopTimeoutMs, 30_000);
  }

  async start(): Promise<void> {
    if (this.started)
      throw new PanoptesError('USAGE', `${this.target.label} consumer: start() was already called`);
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
      { url: this.target.where, topic: this.options.topic },
      `${this.target.label} consumer started`,
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
    this.logger.info({ ...this.stats }, `${this.target.label} consumer stopped`);
  }

  /** Asks the server's probe URL within PROBE_TIMEOUT_MS: any answer but a 5xx is up. */
  async probe(): Promise<void> {
    if (this.breakerOpen) return; // down until a write is accepted again
    const where = this.target.probeUrl;
    try {
      const res = await fetch(where, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: 'manual' });
      await res.body?.cancel();
      if (res.status >= 500) this.health.down(`${where} answered HTTP ${res.status}`);
      else {
        if (this.health.current === 'starting' || this.health.current === 'down') {
          // Answering again; a write failing meanwhile sets it down again.
          if (this.stats.writeErrors === this.errorsAtProbe) this.health.up(`${where} answering`);
        }
        // A write waiting out its back-off (up to retryMaxMs) after an outage tries now.
        if (!this.breakerOpen) this.wakeAll();
      }
    } catch (e) {
      this.health.down(`${where}: ${describeError(e, this.target.secrets)}`);
    } finally {
      this.errorsAtProbe = this.stats.writeErrors;
    }
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    const i = this.stats;
    const c = { consumer: this.target.kind };
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
      .add(
        'panoptes_consumer_stale_total',
        'Records the server refused as older than what it holds for their series (already written); skipped.',
        'counter',
        i.stale,
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
    if (this.abandoned) throw this.abandonedError();
    this.pendingMessages += messages.length;
    try {
      await this.handleMessages(messages);
    } finally {
      this.pendingMessages -= messages.length;
    }
  }

  private async handleMessages(messages: readonly BusMessage[]): Promise<void> {
    const entries: Entry<P>[] = [];
    const rejected: Rejection[] = [];
    for (const message of messages) {
      const read = readMetricsGroupMessage(message);
      if ('reason' in read) {
        rejected.push({ message, reason: read.reason });
        continue;
      }
      let points: P[];
      try {
        points = this.target.points(read.group);
      } catch (e) {
        rejected.push({ message, reason: errorMessage(e) });
        continue;
      }
      if (points.length > 0) entries.push({ message, points });
    }
    if (entries.length > 0) rejected.push(...(await this.enqueue(entries)));
    await this.deadLetter(rejected);
    this.stats.received += messages.length;
  }

  private async deadLetter(rejected: readonly Rejection[]): Promise<void> {
    await deadLetter(this.options.bus, this.options.deadLetterTopic, this.target.kind, rejected, this.logger);
    this.stats.deadLettered += rejected.length;
  }

  /** Adds a handler's points to the next write; resolves, with the refused messages, once written. */
  private enqueue(entries: readonly Entry<P>[]): Promise<Rejection[]> {
    return new Promise<Rejection[]>((resolve, reject) => {
      const count = entries.length;
      if (this.buffer.messageCount > 0 && this.buffer.messageCount + count > this.batchSize) this.seal();
      this.buffer.contributions.push({ entries, resolve, reject });
      this.buffer.messageCount += count;
      if (this.buffer.messageCount >= this.batchSize || this.stopping) {
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
    this.buffer = new PendingWrite<P>();
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
  private async write(pending: PendingWrite<P>): Promise<void> {
    const { contributions } = pending;
    try {
      const points = contributions.flatMap((c) => c.entries.flatMap((e) => e.points));
      for (let round = 1; ; round++) {
        const refused = await this.send(points, pending.messageCount);
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
        this.openBreaker(refused.message, points.length, delayMs);
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
   * Messages refused as stale are skipped and count as the server working.
   */
  private async findRefused(
    contributions: readonly Contribution<P>[],
    first: WriteRefused,
  ): Promise<Rejection[][] | 'server'> {
    const all = contributions.flatMap((c, ci) => c.entries.map((entry) => ({ ci, entry })));
    const out: Rejection[][] = contributions.map(() => []);
    if (all.length === 1) {
      if (first.stale) {
        this.skipStale(1, first.message);
        return out;
      }
      const only = all[0] as { ci: number; entry: Entry<P> };
      if (this.breakerOpen || Date.now() - this.lastAcceptedAt > RECENT_ACCEPT_MS) return 'server';
      out[only.ci]?.push({
        message: only.entry.message,
        reason: `refused by ${this.target.where}: ${first.message}`,
      });
      return out;
    }
    let tried = 0;
    let accepted = 0;
    for (const { ci, entry } of all) {
      const verdict = await this.tryAlone(entry.points);
      tried++;
      if (verdict === 'written') accepted++;
      else if (verdict === 'stale') accepted++;
      else
        out[ci]?.push({
          message: entry.message,
          reason: `refused by ${this.target.where}: ${verdict.reason}`,
        });
      if (accepted === 0 && tried >= REFUSAL_SAMPLE) return 'server';
    }
    return accepted === 0 ? 'server' : out;
  }

  private async tryAlone(points: readonly P[]): Promise<Verdict> {
    const refused = await this.send(points, 1);
    if (refused === undefined) return 'written';
    if (refused.stale) {
      this.skipStale(1, refused.message);
      return 'stale';
    }
    return { reason: refused.message };
  }

  /** Logs stale skips at most every STALE_LOG_MS, with the count since the last line. */
  private skipStale(messages: number, reason: string): void {
    this.stats.stale += messages;
    this.staleSinceLog += messages;
    const now = Date.now();
    if (now - this.staleLoggedAt < STALE_LOG_MS) return;
    this.logger.warn(
      { url: this.target.where, records: this.staleSinceLog, err: reason },
      `${this.target.label} holds newer samples for these records' series (already written, e.g. read again after a restart); skipped`,
    );
    this.staleLoggedAt = now;
    this.staleSinceLog = 0;
  }

  private openBreaker(reason: string, points: number, retryInMs: number): void {
    if (!this.breakerOpen) {
      this.breakerOpen = true;
      this.stats.breakerOpened++;
      this.logger.error(
        { url: this.target.where, points, err: reason, retryInMs },
        `${this.target.label} refuses every record: treated as a server fault; writes pause and are retried, nothing is dead-lettered`,
      );
    }
    this.health.down(`refuses every record (${reason}); writes paused`);
  }

  private closeBreaker(): void {
    if (!this.breakerOpen) return;
    this.breakerOpen = false;
    this.logger.info({ url: this.target.where }, `${this.target.label} accepts records again: writes resume`);
  }

  /**
   * Writes points until the server takes them (undefined) or refuses them for their content
   * (the refusal). Throws only when the consumer gave up on stopping.
   */
  private async send(points: readonly P[], records: number): Promise<WriteRefused | undefined> {
    for (let failures = 0; ;) {
      if (this.abandoned) throw this.abandonedError();
      // One controller per request: aborted when stop() gives up.
      const controller = new AbortController();
      this.inFlight.add(controller);
      try {
        await this.target.write(points, controller.signal);
        this.stats.written += records;
        this.stats.batches++;
        this.lastAcceptedAt = Date.now();
        this.health.up(`${this.target.where} accepting writes`);
        return undefined;
      } catch (e) {
        controller.abort(); // a timed-out request may only be reported: end it
        if (this.abandoned) throw this.abandonedError();
        this.stats.writeErrors++;
        const reason = describeError(e, this.target.secrets);
        if (e instanceof WriteRefused) {
          if (!e.stale)
            this.logger.warn(
              { url: this.target.where, points: points.length, err: reason },
              `${this.target.label} refused a write`,
            );
          return new WriteRefused(reason, e.stale);
        }
        failures++;
        const delayMs = Math.min(this.retryInitialMs * 2 ** (failures - 1), this.retryMaxMs);
        this.health.down(`${this.target.where}: ${reason}`);
        this.logger.warn(
          { url: this.target.where, points: points.length, failures, retryInMs: delayMs, err: reason },
          `${this.target.label} write failed; retrying`,
        );
        await this.sleep(delayMs);
      } finally {
        this.inFlight.delete(controller);
      }
    }
  }

  private abandonedError(): Error {
    return new Error(
      `${this.target.label} consumer stopped while ${this.target.where} was failing; points not written`,
    );
  }

  /** Stop timed out: abandon the writes still failing; their offsets stay uncommitted. */
  private giveUp(): void {
    this.abandoned = true;
    this.logger.warn(
      { url: this.target.where, stopTimeoutMs: this.stopTimeoutMs },
      `${this.target.label} still failing when stopping; unwritten batches are left uncommitted for the next consumer`,
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

/** Stale skips are logged at most this often, ms. */
const STALE_LOG_MS = 10_000;
