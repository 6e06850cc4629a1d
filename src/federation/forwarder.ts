/**
 * Store-and-forward from an edge site to the central cluster.
 *
 * The forwarder reads the edge's processed metrics (`<site>-processed` on the local bus, its own
 * consumer group) and publishes them to the upstream (central) cluster: the same topic name, so
 * the centre sees the site as before, and the global topic when configured. Every record keeps
 * its key, value and headers and gains `panoptes_forward_id` (`<site>/<epoch>/<partition>/<offset>`,
 * the same on every resend of that record), so a consumer can recognise a resent record.
 *
 * - Direct: while the upstream answers and nothing of a record's resource is spooled, a batch is
 *   published at once; its local offsets are committed when the upstream acknowledged it.
 * - Spooling: when a publish fails or is not acknowledged within sendTimeoutMs, the upstream is
 *   taken as unreachable and batches go to the spool on local disk (spool.ts); their local
 *   offsets are committed once the spool has them on disk, so polling and the local pipeline
 *   never wait for the WAN. The spool is bounded; beyond its bound the oldest records are
 *   dropped and counted.
 * - Draining: a loop sends the spool's records oldest first, at most drainRecordsPerSecond, and
 *   removes them once acknowledged. While anything is spooled, new records go to the spool
 *   behind it, so each resource's records reach the centre in order (drainRecordsPerSecond must
 *   exceed the site's own rate for the spool to empty).
 *   While the upstream is unreachable the loop sends one record at a time as its probe (back-off
 *   1 s doubling to 30 s between failures).
 * - At least once: a publish that timed out may still be delivered later. No other send starts
 *   until it settled, and when it turns out to have been delivered, its records (also spooled,
 *   so sent again) are counted as duplicates (`stats.duplicates`).
 *
 * Health: dependency `upstream` (up, or down with the reason; before the first publish, what a
 * probe of the upstream bus says); liveness() reports a problem
 * once the upstream has been unreachable for longer than unreachableAfterMs, while polling and
 * spooling go on.
 */
import { randomBytes } from 'node:crypto';
import type { BusMessage, MessageBus, OutgoingMessage, Subscription } from '../bus/bus.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { recordBytes } from './spool.js';
import type { Spool, SpooledRecord } from './spool.js';

export const FORWARD_ID_HEADER = 'panoptes_forward_id';

export interface ForwarderOptions {
  /** The edge's bus, where `sourceTopic` is. */
  readonly local: MessageBus;
  /** The central cluster's bus. */
  readonly upstream: MessageBus;
  readonly spool: Spool;
  /** The edge site's name (in the forward id). */
  readonly site: string;
  /** The local topic read, e.g. `edge1-processed`. */
  readonly sourceTopic: string;
  /** Upstream topics each record goes to, e.g. `edge1-processed` and `panoptes-metrics`. */
  readonly targetTopics: readonly string[];
  /** Consumer group on the local bus. Default `<site>-forwarder`. */
  readonly groupId?: string;
  /** A publish not acknowledged within this long counts as failed, ms. Default 10000. */
  readonly sendTimeoutMs?: number;
  /** Records sent from the spool per second at most. Default 5000. */
  readonly drainRecordsPerSecond?: number;
  /** Records per upstream publish from the spool. Default 500. */
  readonly batchRecords?: number;
  /** Payload bytes per upstream publish from the spool. Default 512 KiB. */
  readonly batchBytes?: number;
  /** liveness() reports a problem once the upstream has been unreachable this long, ms. Default 300000. */
  readonly unreachableAfterMs?: number;
  /** First probe back-off after a failure, ms (doubling to maxBackoffMs). Default 1000. */
  readonly initialBackoffMs?: number;
  /** Default 30000. */
  readonly maxBackoffMs?: number;
  /** Part of the forward id that tells this run's reads apart from another's. Default random. */
  readonly epoch?: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface ForwarderStats {
  /** Records read from the local topic. */
  received: number;
  /** Records published upstream directly (per target topic). */
  forwarded: number;
  /** Records published upstream from the spool (per target topic). */
  drained: number;
  /** Records written to the spool (per target topic). */
  spooled: number;
  /** Spooled records dropped, oldest first, to stay within the spool's bound. */
  dropped: number;
  /** Records delivered twice: a publish that timed out and was delivered after all. */
  duplicates: number;
  /**
   * Records counted in `dropped` that were delivered after all: a probe's record, which the
   * bound may drop while the probe is in flight, acknowledged in time.
   */
  droppedDelivered: number;
  /** Upstream publishes that failed or timed out. */
  sendFailures: number;
  /** Local records without a value (tombstones), not forwarded. */
  skipped: number;
  /** Payload bytes (value, key, topic, headers) acknowledged upstream, before compression. */
  bytes: number;
}

class SendTimeout extends Error {}

/** Drops are logged at most this often, ms. */
const DROP_LOG_MS = 10_000;

export class Forwarder implements Telemetry {
  readonly stats: ForwarderStats = {
    received: 0,
    forwarded: 0,
    drained: 0,
    spooled: 0,
    dropped: 0,
    duplicates: 0,
    droppedDelivered: 0,
    sendFailures: 0,
    skipped: 0,
    bytes: 0,
  };
  readonly health: DependencyHealth;
  private readonly sendTimeoutMs: number;
  private readonly drainRate: number;
  private readonly batchRecords: number;
  private readonly batchBytes: number;
  private readonly unreachableAfterMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly epoch: string;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private drainer: Promise<void> | undefined;
  private stopped = false;
  /** Since when the upstream has been unreachable (epoch ms); undefined while it acknowledges. */
  private downSince: number | undefined;
  /** Publishes that timed out and have not settled yet: no new send starts meanwhile. */
  private unsettled = 0;
  private wake: (() => void) | undefined;
  /** When drops were last logged, and the dropped count then. */
  private dropLoggedAt: number | undefined;
  private droppedLogged = 0;

  constructor(private readonly options: ForwarderOptions) {
    const positive = (name: string, v: number | undefined, fallback: number): number => {
      const n = v ?? fallback;
      if (!(n > 0)) throw new PanoptesError('USAGE', `forwarder: ${name} must be > 0, got ${n}`);
      return n;
    };
    this.sendTimeoutMs = positive('sendTimeoutMs', options.sendTimeoutMs, 10_000);
    this.drainRate = positive('drainRecordsPerSecond', options.drainRecordsPerSecond, 5000);
    this.batchRecords = Math.floor(positive('batchRecords', options.batchRecords, 500));
    this.batchBytes = positive('batchBytes', options.batchBytes, 512 * 1024);
    this.unreachableAfterMs = positive('unreachableAfterMs', options.unreachableAfterMs, 300_000);
    this.initialBackoffMs = positive('initialBackoffMs', options.initialBackoffMs, 1000);
    this.maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, 30_000);
    if (options.targetTopics.length === 0) {
      throw new PanoptesError('USAGE', 'forwarder: targetTopics must name at least one topic');
    }
    this.epoch = options.epoch ?? randomBytes(4).toString('hex');
    this.now = options.now ?? Date.now;
    this.health = new DependencyHealth('upstream', options.logger);
  }

  async start(): Promise<void> {
    if (this.subscription !== undefined) throw new PanoptesError('USAGE', 'forwarder: started twice');
    this.drainer = this.drainLoop();
    this.subscription = await this.options.local.subscribe({
      groupId: this.options.groupId ?? `${this.options.site}-forwarder`,
      topics: [this.options.sourceTopic],
      fromBeginning: true,
      maxAttempts: Infinity,
      handleBatch: (messages) => this.handle(messages),
    });
    this.options.logger.info(
      { from: this.options.sourceTopic, to: this.options.targetTopics, spooled: this.options.spool.records },
      'forwarding to the upstream cluster',
    );
  }

  /** Stops reading and draining; what is spooled stays spooled for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    this.wake?.();
    await this.drainer;
  }

  private toRecords(messages: readonly BusMessage[]): SpooledRecord[] {
    const out: SpooledRecord[] = [];
    for (const m of messages) {
      if (m.value === null) {
        this.stats.skipped++;
        continue;
      }
      const headers = {
        ...m.headers,
        [FORWARD_ID_HEADER]: `${this.options.site}/${this.epoch}/${m.partition}/${m.offset}`,
      };
      for (const topic of this.options.targetTopics) out.push({ topic, key: m.key, value: m.value, headers });
    }
    return out;
  }

  /** One local batch: upstream at once when possible, else into the spool. */
  private async handle(messages: readonly BusMessage[]): Promise<void> {
    this.stats.received += messages.length;
    const records = this.toRecords(messages);
    if (records.length === 0) return;
    const spool = this.options.spool;
    let rest = records;
    // While anything is spooled, new records queue behind it: every resource stays in order.
    if (this.canSend() && spool.records === 0) {
      const sent = await this.send(records);
      this.stats.forwarded += sent;
      rest = records.slice(sent);
      if (rest.length === 0) return;
    }
    const dropped = await spool.append(rest);
    this.stats.spooled += rest.length;
    this.noteDropped(dropped);
    this.wake?.();
  }

  private noteDropped(dropped: number): void {
    if (dropped === 0) return;
    this.stats.dropped += dropped;
    // Once per DROP_LOG_MS at most: a full spool drops on every append for the rest of an outage.
    const now = this.now();
    if (this.dropLoggedAt !== undefined && now - this.dropLoggedAt < DROP_LOG_MS) return;
    this.options.logger.warn(
      {
        dropped: this.stats.dropped - this.droppedLogged,
        droppedTotal: this.stats.dropped,
        spoolBytes: this.options.spool.bytes,
        spoolMaxBytes: this.options.spool.maxBytes,
      },
      'spool full: dropped the oldest records',
    );
    this.dropLoggedAt = now;
    this.droppedLogged = this.stats.dropped;
  }

  /** Whether the last publish reached the upstream (or none failed yet). */
  private get up(): boolean {
    return this.downSince === undefined;
  }

  private canSend(): boolean {
    return this.up && this.unsettled === 0 && !this.stopped;
  }

  /**
   * Publishes records upstream topic by topic, in order; returns how many were acknowledged
   * (a prefix of them). A failure or timeout marks the upstream down.
   */
  private async send(records: readonly SpooledRecord[]): Promise<number> {
    let acked = 0;
    while (acked < records.length) {
      const topic = records[acked]?.topic as string;
      let end = acked;
      while (end < records.length && records[end]?.topic === topic) end++;
      const part = records.slice(acked, end);
      try {
        await this.publishWithin(topic, part);
      } catch (e) {
        this.markDown(e);
        return acked;
      }
      for (const r of part) this.stats.bytes += recordBytes(r);
      acked = end;
    }
    this.markUp();
    return acked;
  }

  private publishWithin(topic: string, records: readonly SpooledRecord[]): Promise<void> {
    const messages: OutgoingMessage[] = records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
    }));
    const publish = this.options.upstream.publish(topic, messages);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        this.unsettled++;
        reject(new SendTimeout(`not acknowledged within ${this.sendTimeoutMs} ms`));
      }, this.sendTimeoutMs);
    });
    // A publish that timed out settles later: delivered after all (its records go again from
    // the spool: duplicates) or failed. Until then nothing else is sent.
    publish.then(
      () => {
        if (timedOut) {
          this.unsettled--;
          this.stats.duplicates += records.length;
          this.options.logger.warn(
            { topic, records: records.length },
            'a publish that timed out was delivered after all: its records will arrive twice',
          );
        }
      },
      () => {
        if (timedOut) this.unsettled--;
      },
    );
    return Promise.race([publish, timeout]).finally(() => clearTimeout(timer));
  }

  private markDown(e: unknown): void {
    this.stats.sendFailures++;
    this.downSince ??= this.now();
    this.health.down(`publishing to the upstream cluster failed: ${errorMessage(e)}`);
  }

  private markUp(): void {
    this.downSince = undefined;
    this.health.up('upstream acknowledging');
  }

  /** Sends the spool's records while there are any, at the configured rate. */
  private async drainLoop(): Promise<void> {
    const spool = this.options.spool;
    let backoff = this.initialBackoffMs;
    while (!this.stopped) {
      if (spool.records === 0 || this.unsettled > 0) {
        await this.idle(this.unsettled > 0 ? backoff : 60_000);
        continue;
      }
      // While the upstream is unreachable one record is the probe: a publish into a link that
      // drops everything waits, and holds what it carries, until the link returns.
      const entries = spool.peek(this.up ? this.batchRecords : 1, this.batchBytes);
      if (entries.length === 0) {
        // The oldest records are still being written (an append in flight): it wakes us when done.
        await this.idle(100);
        continue;
      }
      const started = this.now();
      // While the upstream answers, a batch sent is kept from the bound's drops until it is
      // acknowledged or failed. A probe is not: it may hang for the whole outage (a probe that
      // was dropped and delivered after all counts among the duplicates).
      spool.sending(this.up ? entries : undefined);
      let sent: number;
      try {
        sent = await this.send(entries.map((e) => e.record));
      } finally {
        spool.sending(undefined);
      }
      if (sent > 0) {
        this.stats.droppedDelivered += await spool.remove(entries.slice(0, sent));
        this.stats.drained += sent;
      }
      if (sent < entries.length) {
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, this.maxBackoffMs);
        continue;
      }
      backoff = this.initialBackoffMs;
      if (spool.records === 0) {
        this.options.logger.info({ drained: this.stats.drained }, 'spool drained: forwarding directly again');
      }
      const due = (sent / this.drainRate) * 1000 - (this.now() - started);
      if (due > 0) await this.idle(due);
    }
  }

  /** Waits up to ms, or until new records are spooled or the forwarder stops. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Undefined while alive; else why not: the upstream unreachable for too long. */
  liveness(): string | undefined {
    if (this.downSince === undefined) return undefined;
    const downMs = this.now() - this.downSince;
    if (downMs <= this.unreachableAfterMs) return undefined;
    return (
      `upstream cluster unreachable for ${Math.round(downMs / 1000)} s ` +
      `(${this.options.spool.records} records spooled)`
    );
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  /**
   * Until the first publish says whether the upstream acknowledges, asks its bus whether the
   * cluster answers (so an edge with nothing to forward yet is not left "starting"); after
   * that, publishes are what tells.
   */
  async probe(): Promise<void> {
    if (this.health.current !== 'starting') return;
    const upstream = this.options.upstream;
    await upstream.probe?.();
    if (this.health.current !== 'starting') return; // a publish told meanwhile
    const states = upstream.dependencies?.() ?? [];
    const down = states.find((d) => d.state === 'down');
    if (down !== undefined) this.health.down(`upstream unreachable: ${down.detail}`);
    else if (states.some((d) => d.state === 'up')) this.health.up('upstream answers (nothing forwarded yet)');
  }

  metrics(): MetricSample[] {
    const spool = this.options.spool;
    const oldest = spool.oldestSpooledAt;
    const s = this.stats;
    return new SampleList()
      .add(
        'panoptes_forward_received_total',
        'Records read from the local processed topic.',
        'counter',
        s.received,
      )
      .add('panoptes_forward_forwarded_total', 'Records published upstream directly.', 'counter', s.forwarded)
      .add(
        'panoptes_forward_drained_total',
        'Records published upstream from the spool.',
        'counter',
        s.drained,
      )
      .add(
        'panoptes_forward_bytes_total',
        'Payload bytes acknowledged upstream (value, key, topic, headers; before compression).',
        'counter',
        s.bytes,
      )
      .add('panoptes_forward_spooled_total', 'Records written to the spool.', 'counter', s.spooled)
      .add(
        'panoptes_forward_dropped_total',
        'Spooled records dropped (oldest first) at the spool bound.',
        'counter',
        s.dropped,
      )
      .add(
        'panoptes_forward_duplicates_total',
        'Records of publishes acknowledged after their timeout: sent again from the spool (twice) unless dropped there first.',
        'counter',
        s.duplicates,
      )
      .add(
        'panoptes_forward_dropped_delivered_total',
        'Records counted in dropped_total that were delivered after all (a probe acknowledged after the bound dropped its record).',
        'counter',
        s.droppedDelivered,
      )
      .add(
        'panoptes_forward_send_failures_total',
        'Upstream publishes that failed or timed out.',
        'counter',
        s.sendFailures,
      )
      .add('panoptes_forward_spool_bytes', 'Bytes in the spool (compressed).', 'gauge', spool.bytes)
      .add('panoptes_forward_spool_records', 'Records in the spool.', 'gauge', spool.records)
      .add(
        'panoptes_forward_spool_oldest_age_seconds',
        'Age of the oldest spooled record (0 when empty).',
        'gauge',
        oldest === undefined ? 0 : Math.max(0, (this.now() - oldest) / 1000),
      )
      .add(
        'panoptes_forward_upstream_up',
        'Whether the upstream cluster acknowledges (1) or not (0).',
        'gauge',
        this.up ? 1 : 0,
      ).samples;
  }
}
