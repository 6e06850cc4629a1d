/**
 * The scrape endpoint: the latest value of every series on `<site>-processed`, served in the
 * Prometheus text exposition format (0.0.4) at `GET /metrics`, for users who pull. Names and
 * labels are those of the remote-write consumer (prometheus-series.ts); every family has its
 * HELP and TYPE lines; samples carry no timestamp (the scraper stamps them), as exporters do.
 *
 * - A series keeps the value of its newest group (by the group's timestamp): a record read again
 *   or late never replaces a newer one.
 * - A series not seen for two of its group's intervals is dropped (the device stopped answering,
 *   the interface went away), so a scraper sees it end instead of a frozen value. Records already
 *   that old when they arrive (a backlog) are not kept.
 * - At most maxSeries series are held; a new series beyond that is not kept, counted in
 *   panoptes_exposition_series_refused_total and logged at most every 10 s.
 * - The consumer group is `<site>-exposition`; it starts at the newest records (values, not
 *   history, are wanted). Nodes sharing the group share the partitions: each serves its share,
 *   and a scraper of all of them sees every series. Invalid records are counted and skipped;
 *   they never stop it (the other consumers dead-letter them).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { PanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MetricType, MetricValue } from '../model/metrics-group.js';
import { escapeLabel, formatValue } from '../stages/metrics-server.js';
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';
import { readMetricsGroupMessage } from './decode.js';
import { helpText, metricsGroupToSamples } from './prometheus-series.js';

export interface ExpositionOptions {
  readonly bus: MessageBus;
  readonly topic: string;
  readonly groupId: string;
  /** 0: any free port. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 1,000,000. */
  readonly maxSeries?: number;
  readonly logger: Logger;
  /** Epoch ms; tests pass their own clock. */
  readonly now?: () => number;
}

interface Series {
  /** `{a="b",...}` or '' */
  readonly labelText: string;
  value: MetricValue;
  timestampMs: number;
  /** Dropped after this epoch ms. */
  expiresAt: number;
}

interface Family {
  readonly type: MetricType;
  readonly help: string;
  readonly series: Map<string, Series>;
}

const REFUSED_LOG_MS = 10_000;
/** How often expired series are dropped when nobody scrapes, ms. */
const SWEEP_MS = 30_000;

function valueText(v: MetricValue): string {
  // bigint: every digit; scrapers parse it to a float64.
  return typeof v === 'bigint' ? v.toString() : formatValue(v);
}

export class ExpositionConsumer implements Telemetry {
  /** Records read, invalid ones skipped, series refused for the cap, series expired. */
  readonly stats = { received: 0, invalid: 0, refused: 0, expired: 0 };
  private readonly families = new Map<string, Family>();
  private seriesCount = 0;
  private readonly maxSeries: number;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private server: Server | undefined;
  private refusedLoggedAt = 0;
  private refusedSinceLog = 0;
  private boundPort = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: ExpositionOptions) {
    this.maxSeries = options.maxSeries ?? 1_000_000;
    this.now = options.now ?? Date.now;
  }

  /** The port it listens on (after start). */
  get port(): number {
    return this.boundPort;
  }

  /** The address scrapers use. */
  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.boundPort}/metrics`;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) throw new PanoptesError('USAGE', 'exposition: start() was already called');
    const host = this.options.host ?? '127.0.0.1';
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : this.render());
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new PanoptesError(
            'SERVICE_START',
            `consumers.prometheus_exposition: cannot listen on ${host}:${this.options.port}: ${e.message}`,
            { cause: e },
          ),
        ),
      );
      server.listen(this.options.port, host, () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
    // Unscraped, expired series would stay until the next scrape: sweep them now and then.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: false,
      handler: (message) => {
        this.take(message);
        return Promise.resolve();
      },
    });
    this.options.logger.info({ url: this.url, topic: this.options.topic }, 'scrape endpoint serving');
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.stop();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Series held now. */
  get series(): number {
    return this.seriesCount;
  }

  /** Takes one record: its samples become the latest values of their series. */
  take(message: BusMessage): void {
    this.stats.received++;
    const read = readMetricsGroupMessage(message);
    if ('reason' in read) {
      this.stats.invalid++;
      return;
    }
    const group = read.group;
    const lifetimeMs = 2 * group.metrics_group_interval * 1000;
    const now = this.now();
    for (const s of metricsGroupToSamples(group)) {
      const expiresAt = s.timestampMs + lifetimeMs;
      if (expiresAt <= now) continue;
      let family = this.families.get(s.name);
      if (family === undefined) {
        family = { type: s.type, help: helpText(s), series: new Map() };
        this.families.set(s.name, family);
      }
      const labelText =
        s.labels.length === 0 ? '' : `{${s.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      const current = family.series.get(labelText);
      if (current !== undefined) {
        if (current.timestampMs > s.timestampMs) continue; // a newer value is held
        current.value = s.value;
        current.timestampMs = s.timestampMs;
        current.expiresAt = expiresAt;
        continue;
      }
      if (this.seriesCount >= this.maxSeries) {
        this.refuse(s.name);
        continue;
      }
      family.series.set(labelText, { labelText, value: s.value, timestampMs: s.timestampMs, expiresAt });
      this.seriesCount++;
    }
  }

  /** The exposition text of every series still current. */
  render(): string {
    this.sweep();
    const parts: string[] = [];
    for (const [name, family] of this.families) {
      parts.push(`# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n`);
      for (const s of family.series.values()) parts.push(`${name}${s.labelText} ${valueText(s.value)}\n`);
    }
    return parts.join('');
  }

  /** Drops the series not seen for two intervals, and families left empty. */
  sweep(): void {
    const now = this.now();
    for (const [name, family] of this.families) {
      for (const [key, s] of family.series) {
        if (s.expiresAt > now) continue;
        family.series.delete(key);
        this.seriesCount--;
        this.stats.expired++;
      }
      if (family.series.size === 0) this.families.delete(name);
    }
  }

  metrics(): MetricSample[] {
    return new SampleList()
      .add('panoptes_exposition_series', 'Series the scrape endpoint holds.', 'gauge', this.seriesCount)
      .add(
        'panoptes_exposition_records_total',
        'Records read by the scrape endpoint.',
        'counter',
        this.stats.received,
      )
      .add(
        'panoptes_exposition_invalid_total',
        'Records the scrape endpoint skipped: not a metrics group.',
        'counter',
        this.stats.invalid,
      )
      .add(
        'panoptes_exposition_series_refused_total',
        'New series not kept: the scrape endpoint held max_series.',
        'counter',
        this.stats.refused,
      )
      .add(
        'panoptes_exposition_series_expired_total',
        'Series dropped after two intervals without a value.',
        'counter',
        this.stats.expired,
      ).samples;
  }

  private refuse(name: string): void {
    this.stats.refused++;
    this.refusedSinceLog++;
    const now = this.now();
    if (now - this.refusedLoggedAt < REFUSED_LOG_MS) return;
    this.options.logger.warn(
      { maxSeries: this.maxSeries, refused: this.refusedSinceLog, example: name },
      'scrape endpoint holds max_series series: new series are not kept (raise consumers.prometheus_exposition.max_series)',
    );
    this.refusedLoggedAt = now;
    this.refusedSinceLog = 0;
  }
}
