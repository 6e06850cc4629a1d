/**
 * One device's gNMI telemetry as a long-lived subscription: what the gNMI polling plugin keeps
 * open between runs for a resource (its actor owns it and closes it).
 *
 * - Subscribes (STREAM) to the paths of its mappings: SAMPLE ones at the plugin's interval.
 * - Every notification goes through the mappings' GnmiGroups; collect() gives the groups of one
 *   interval (instances updated since the last collect), with their counter hints.
 * - When the stream fails or ends it reconnects with exponential back-off and jitter (the delay
 *   doubles from `initialMs` to `maxMs`; each wait is drawn between half the delay and the
 *   delay), and the values of the old stream are forgotten: the new one starts from its own
 *   initial values. The back-off starts again from `initialMs` once a new stream delivers data.
 * - A SAMPLE stream silent for three intervals is taken as stalled: cancelled and reconnected.
 * - Malformed updates are counted and logged (at most one line per `logIntervalMs`, saying how
 *   many more came meanwhile) and never end the stream.
 */
import { PanoptesError } from '../errors.js';
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';
import type { Logger } from '../log.js';
import type { MetricsGroup, Resource } from '../model/index.js';
import type { CounterHint } from '../streams/counter-rate.js';
import type { Encoding, GnmiClient, GnmiError, GnmiSubscription, SubscriptionSpec } from './client.js';
import { GnmiGroups } from './mapping.js';
import type { GnmiMapping } from './mapping.js';

export interface Backoff {
  /** First delay, ms. Default 1000. */
  readonly initialMs?: number;
  /** Longest delay, ms. Default 60000. */
  readonly maxMs?: number;
}

export interface GnmiStreamOptions {
  /** The channel to the target (closed with the stream). */
  readonly client: GnmiClient;
  /** For logs: the resource id. */
  readonly device: string;
  readonly mappings: readonly GnmiMapping[];
  /** The SAMPLE interval, ms (the plugin's execute_frequency). */
  readonly sampleIntervalMs: number;
  /** Default JSON_IETF. */
  readonly encoding?: Encoding;
  /** The prefix's `target`: which device behind a multi-device server (simulators, proxies). */
  readonly prefixTarget?: string;
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** Default 60000. */
  readonly logIntervalMs?: number;
  /** For tests. Default Math.random. */
  readonly random?: () => number;
  /** For tests. Default Date.now. */
  readonly now?: () => number;
}

export interface GnmiStreamStats {
  /** Streams opened. */
  subscribes: number;
  /** Streams that failed or ended and were reopened. */
  reconnects: number;
  notifications: number;
  updates: number;
  malformed: number;
  /** Updates no mapping takes. */
  unmatched: number;
  /** Values a metric could not use. */
  unusable: number;
}

const zeroStats = (): GnmiStreamStats => ({
  subscribes: 0,
  reconnects: 0,
  notifications: 0,
  updates: 0,
  malformed: 0,
  unmatched: 0,
  unusable: 0,
});

/** The gNMI streams of this process, for the node's /metrics (one process, one set of totals). */
class GnmiTotals implements Telemetry {
  open = 0;
  streaming = 0;
  readonly totals: GnmiStreamStats = zeroStats();

  metrics(): MetricSample[] {
    const t = this.totals;
    return new SampleList()
      .add('panoptes_gnmi_streams', 'gNMI streams kept open for devices', 'gauge', this.open)
      .add('panoptes_gnmi_streams_up', 'gNMI streams delivering data now', 'gauge', this.streaming)
      .add(
        'panoptes_gnmi_reconnects_total',
        'gNMI streams that failed or ended and were reopened',
        'counter',
        t.reconnects,
      )
      .add('panoptes_gnmi_notifications_total', 'gNMI notifications received', 'counter', t.notifications)
      .add('panoptes_gnmi_updates_total', 'gNMI updates received', 'counter', t.updates)
      .add(
        'panoptes_gnmi_malformed_updates_total',
        'gNMI updates skipped as malformed',
        'counter',
        t.malformed,
      )
      .add('panoptes_gnmi_unmatched_updates_total', 'gNMI updates no mapping takes', 'counter', t.unmatched)
      .add(
        'panoptes_gnmi_unusable_values_total',
        'gNMI values a mapped metric could not use',
        'counter',
        t.unusable,
      ).samples;
  }
}

export const gnmiTelemetry = new GnmiTotals();

export type StreamState = 'connecting' | 'streaming' | 'waiting' | 'closed';

/** The groups of one interval and their counter hints (a polling plugin's PollResult parts). */
export interface Collected {
  readonly groups: MetricsGroup[];
  readonly counters: Map<MetricsGroup, Readonly<Record<string, CounterHint>>>;
}

export class GnmiStream {
  readonly stats: GnmiStreamStats = zeroStats();
  /** The mappings' groups as one (an update no mapping takes is counted once). */
  private readonly groups: GnmiGroups;
  private readonly subscriptions: SubscriptionSpec[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly logIntervalMs: number;
  private subscription: GnmiSubscription | undefined;
  private stateNow: StreamState = 'connecting';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  /** When the current stream last delivered anything (ms), or when it opened. */
  private lastData = 0;
  /** When a stream last delivered a notification (ms); 0: never. */
  private lastNotification = 0;
  private lastError: string | undefined;
  private synced = false;
  /** A notification came since the last collect(). */
  private freshSinceCollect = false;
  private syncWaiters: (() => void)[] = [];
  private readonly logged = new Map<string, { at: number; since: number }>();

  constructor(private readonly options: GnmiStreamOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.initialMs = options.backoff?.initialMs ?? 1000;
    this.maxMs = Math.max(this.initialMs, options.backoff?.maxMs ?? 60_000);
    this.logIntervalMs = options.logIntervalMs ?? 60_000;
    const first = options.mappings[0];
    if (first === undefined)
      throw new PanoptesError('CONFIG_INVALID', 'a gNMI stream needs at least one mapping');
    const combined: GnmiMapping = {
      name: options.mappings.map((m) => m.name).join('+'),
      file: first.file,
      subscriptions: options.mappings.flatMap((m) => m.subscriptions),
      groups: options.mappings.flatMap((m) => m.groups),
    };
    this.groups = new GnmiGroups(combined, (problem) => {
      this.logLimited('unusable', 'a gNMI value could not be used; the metric is left out', { problem });
    });
    const seen = new Set<string>();
    this.subscriptions = [];
    for (const m of options.mappings)
      for (const s of m.subscriptions) {
        const key = `${s.mode} ${s.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.subscriptions.push(
          s.mode === 'sample'
            ? { path: s.path, mode: 'SAMPLE', sampleIntervalMs: options.sampleIntervalMs }
            : { path: s.path, mode: s.mode === 'on_change' ? 'ON_CHANGE' : 'TARGET_DEFINED' },
        );
      }
  }

  get state(): StreamState {
    return this.stateNow;
  }

  get target(): string {
    return this.options.client.target;
  }

  /** Opens the stream (once). */
  start(): this {
    if (this.subscription === undefined && this.retryTimer === undefined && this.stateNow === 'connecting') {
      gnmiTelemetry.open++;
      this.open();
    }
    return this;
  }

  /** Resolves when the current stream has sent every value once, or after `ms`. */
  async whenSynced(ms: number): Promise<void> {
    if (this.synced || this.stateNow === 'closed') return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.syncWaiters.push(resolve);
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
  }

  /**
   * Resolves once a notification came since the last collect and the stream then stayed quiet
   * for `quietMs` (a sample's burst is complete), or after `maxMs`. A run calls it before
   * collect(): when the target's samples arrive just after the run's slot, the run takes the
   * sample of its own interval instead of the one before.
   */
  async whenFresh(maxMs: number, quietMs = 100): Promise<void> {
    const deadline = this.now() + maxMs;
    for (let i = 0; i < 10_000; i++) {
      const now = this.now();
      if (this.stateNow === 'closed' || now >= deadline) return;
      if (this.freshSinceCollect && now - this.lastNotification >= quietMs) return;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(quietMs, deadline - now))));
    }
  }

  /**
   * The groups of the interval ending now: every instance updated since the last collect. When
   * nothing came and the stream is down, or up but silent for two intervals, it throws a GNMI
   * error saying why (the run's polling status).
   */
  collect(resource: Resource, nowSeconds: number, intervalSeconds: number): Collected {
    const counters = new Map<MetricsGroup, Readonly<Record<string, CounterHint>>>();
    const groups: MetricsGroup[] = [];
    this.freshSinceCollect = false;
    groups.push(...this.groups.collect(resource, nowSeconds, intervalSeconds, { fresh: true, counters }));
    this.syncGroupStats();
    if (groups.length > 0) return { groups, counters };
    const now = this.now();
    if (this.stateNow !== 'streaming') {
      const wait = Math.max(0, Math.round((this.retryAt - now) / 1000));
      throw new PanoptesError(
        'GNMI',
        `gNMI ${this.target}: not streaming (${this.lastError ?? 'connecting'})` +
          (this.stateNow === 'waiting' ? `; reconnecting in ${wait} s (attempt ${this.attempt})` : ''),
        { details: { target: this.target, grpcCode: this.lastCode } },
      );
    }
    if (now - this.lastData >= 2 * intervalSeconds * 1000)
      throw new PanoptesError(
        'GNMI',
        `gNMI ${this.target}: the stream sent nothing for ${Math.round((now - this.lastData) / 1000)} s`,
        { details: { target: this.target, grpcCode: 4 } },
      );
    // Up, and the last sample came just before this interval: the next one brings it.
    return { groups, counters };
  }

  close(reason = 'closed'): void {
    if (this.stateNow === 'closed') return;
    if (this.stateNow === 'streaming') gnmiTelemetry.streaming--;
    if (this.stats.subscribes > 0) gnmiTelemetry.open--;
    this.stateNow = 'closed';
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.retryTimer = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    sub?.cancel();
    this.options.client.close();
    for (const w of this.syncWaiters.splice(0)) w();
    this.options.logger.debug(
      { resource: this.options.device, target: this.target, reason },
      'gNMI stream closed',
    );
  }

  private lastCode: number | undefined;

  private open(): void {
    this.stateNow = 'connecting';
    this.synced = false;
    this.count('subscribes', 1);
    this.lastData = this.now();
    // Events of a stream this one replaced (or closed) are ignored.
    const mine = (): boolean => this.subscription !== undefined && this.subscription === sub;
    const sub: GnmiSubscription = this.options.client.subscribe(
      {
        ...(this.options.prefixTarget === undefined
          ? {}
          : { prefix: { elem: [], target: this.options.prefixTarget } }),
        subscriptions: this.subscriptions,
        mode: 'STREAM',
        encoding: this.options.encoding ?? 'JSON_IETF',
      },
      {
        notification: (n) => {
          if (!mine()) return;
          this.data();
          this.count('notifications', 1);
          this.count('updates', n.updates.length);
          this.lastNotification = this.lastData;
          this.freshSinceCollect = true;
          this.groups.accept(n);
          this.syncGroupStats();
        },
        sync: () => {
          if (!mine()) return;
          this.data();
          this.synced = true;
          for (const w of this.syncWaiters.splice(0)) w();
        },
        malformed: (problem) => {
          if (!mine()) return;
          this.count('malformed', 1);
          this.logLimited('malformed', 'malformed gNMI update skipped; the stream goes on', {
            problem,
            malformedTotal: this.stats.malformed,
          });
        },
        end: () => {
          if (mine()) this.lost('the target ended the stream', undefined);
        },
        error: (e: GnmiError) => {
          if (mine()) this.lost(e.message, e.grpcCode);
        },
      },
    );
    this.subscription = sub;
    if (this.watchdog === undefined && this.subscriptions.some((s) => s.mode === 'SAMPLE')) {
      const stallMs = 3 * this.options.sampleIntervalMs;
      this.watchdog = setInterval(
        () => {
          if (
            this.stateNow !== 'closed' &&
            this.subscription !== undefined &&
            this.now() - this.lastData > stallMs
          )
            this.lost(`no data for ${Math.round((this.now() - this.lastData) / 1000)} s (stalled)`, 4);
        },
        Math.max(1000, this.options.sampleIntervalMs),
      );
      this.watchdog.unref();
    }
  }

  private data(): void {
    this.lastData = this.now();
    if (this.stateNow !== 'streaming') {
      if (this.stats.subscribes > 1)
        this.options.logger.info(
          { resource: this.options.device, target: this.target, reconnects: this.stats.reconnects },
          'gNMI stream resumed',
        );
      this.stateNow = 'streaming';
      gnmiTelemetry.streaming++;
      this.attempt = 0;
      this.lastError = undefined;
    }
  }

  /** The stream failed or ended: forget its values, reopen after the back-off. */
  private lost(reason: string, code: number | undefined): void {
    if (this.stateNow === 'closed') return;
    const sub = this.subscription;
    this.subscription = undefined;
    sub?.cancel();
    this.groups.clear();
    this.synced = false;
    this.lastError = reason;
    this.lastCode = code;
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    const delay = Math.round(base / 2 + (this.random() * base) / 2);
    this.attempt++;
    this.count('reconnects', 1);
    if (this.stateNow === 'streaming') gnmiTelemetry.streaming--;
    this.stateNow = 'waiting';
    this.retryAt = this.now() + delay;
    this.options.logger.warn(
      {
        resource: this.options.device,
        target: this.target,
        attempt: this.attempt,
        delayMs: delay,
        err: reason,
      },
      `gNMI stream to ${this.target} lost: ${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stateNow === 'waiting') this.open();
    }, delay);
    this.retryTimer.unref();
  }

  private count(what: keyof GnmiStreamStats, n: number): void {
    this.stats[what] += n;
    gnmiTelemetry.totals[what] += n;
  }

  /** The mapping engine's counts into the stream's (and the process's) figures. */
  private syncGroupStats(): void {
    this.count('unmatched', this.groups.stats.unmatched - this.stats.unmatched);
    this.count('unusable', this.groups.stats.unusable - this.stats.unusable);
  }

  /** One log line per kind per logIntervalMs, with how many were left out. */
  private logLimited(kind: string, message: string, details: Record<string, unknown>): void {
    const now = this.now();
    const last = this.logged.get(kind);
    if (last !== undefined && now - last.at < this.logIntervalMs) {
      last.since++;
      return;
    }
    this.logged.set(kind, { at: now, since: 0 });
    this.options.logger.warn(
      {
        resource: this.options.device,
        target: this.target,
        ...details,
        ...(last !== undefined && last.since > 0 ? { leftOut: last.since } : {}),
      },
      message,
    );
  }
}
