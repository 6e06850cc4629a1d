/**
 * The live console: reads `<site>-processed` in a consumer group of its own (`<site>-console`),
 * keeps devices and chart series in a bounded ConsoleStore, and serves them as a web page
 * (ConsoleServer). It only reads: its handler never waits on anything and never throws, so it
 * cannot hold up the bus or the other consumers; a record that is not a metrics group is counted,
 * logged once in a while, and skipped (never dead-lettered: the console is a view, the other
 * consumers decide what is bad).
 *
 * With several consumer nodes on Kafka, the group's partitions are shared between their
 * consoles: each shows the devices of the partitions it owns. Run the console on one node.
 */
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import type { ConsoleConfig } from '../config/site-config.js';
import { readMetricsGroupMessage } from '../consumers/decode.js';
import { errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import type { Logger } from '../log.js';
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';
import { ConsoleServer } from './server.js';
import { ConsoleStore } from './store.js';

export interface LiveConsoleOptions {
  readonly bus: MessageBus;
  /** `<site>-processed`. */
  readonly topic: string;
  readonly site: string;
  /** `<site>-console`. */
  readonly groupId: string;
  readonly config: ConsoleConfig & { readonly port: number };
  /**
   * Read the topic from its start when the group has no offset: right for the in-process bus
   * (what this process published), wrong for Kafka (days of records to skip through).
   */
  readonly fromBeginning: boolean;
  readonly logger?: Logger;
}

/** How often series with nothing left in the history are freed, ms. */
const PRUNE_INTERVAL_MS = 60_000;
/** A skipped record is logged as a warning at most this often, ms (each is counted). */
const SKIP_LOG_INTERVAL_MS = 60_000;

export class LiveConsole implements Telemetry {
  readonly store: ConsoleStore;
  /** Records read (metrics groups or not). */
  received = 0;
  /** Records that were not metrics groups, or that the store failed on. */
  skipped = 0;
  private readonly logger: Logger;
  private subscription: Subscription | undefined;
  private server: ConsoleServer | undefined;
  private lastPrune = Date.now();
  private lastSkipLog = 0;

  private constructor(options: LiveConsoleOptions) {
    this.logger = options.logger ?? silentLogger;
    this.store = new ConsoleStore({
      historySeconds: options.config.history_seconds,
      maxSeries: options.config.max_series,
      maxDevices: options.config.max_devices,
    });
  }

  /** Listens first (a port in use fails before anything is read), then subscribes. */
  static async start(options: LiveConsoleOptions): Promise<LiveConsole> {
    const live = new LiveConsole(options);
    live.server = await ConsoleServer.start({
      store: live.store,
      site: options.site,
      port: options.config.port,
      host: options.config.host,
      refreshSeconds: options.config.refresh_seconds,
      extraStats: () => ({ received: live.received, skipped: live.skipped }),
      logger: live.logger,
    });
    try {
      live.subscription = await options.bus.subscribe({
        groupId: options.groupId,
        topics: [options.topic],
        fromBeginning: options.fromBeginning,
        // The handler does not throw; were it to, the batch is skipped rather than retried.
        maxAttempts: 1,
        handleBatch: (messages) => {
          live.take(messages);
          return Promise.resolve();
        },
        onError: (e) => live.logger.warn({ err: errorMessage(e) }, 'console: a batch was skipped'),
      });
    } catch (e) {
      await live.server.close();
      throw e;
    }
    return live;
  }

  /** The page's address. */
  get url(): string {
    return this.server?.url ?? '';
  }

  private take(messages: readonly BusMessage[]): void {
    for (const message of messages) {
      this.received++;
      let problem: string | undefined;
      try {
        const read = readMetricsGroupMessage(message);
        if ('reason' in read) problem = read.reason;
        else this.store.ingest(read.group);
      } catch (e) {
        problem = `${message.topic}[${message.partition}]@${message.offset}: ${errorMessage(e)}`;
      }
      if (problem !== undefined) this.skip(problem);
    }
    const now = Date.now();
    if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      this.store.prune(now / 1000);
    }
  }

  private skip(problem: string): void {
    this.skipped++;
    const now = Date.now();
    if (now - this.lastSkipLog < SKIP_LOG_INTERVAL_MS) return;
    this.lastSkipLog = now;
    this.logger.warn(
      { skipped: this.skipped, problem: problem.slice(0, 500) },
      'console: record skipped (not a metrics group); further ones are counted',
    );
  }

  metrics(): MetricSample[] {
    const s = this.store.stats;
    return new SampleList()
      .add('panoptes_console_received_total', 'Records the live console read.', 'counter', this.received)
      .add(
        'panoptes_console_skipped_total',
        'Records the live console skipped (not metrics groups).',
        'counter',
        this.skipped,
      )
      .add('panoptes_console_devices', 'Devices the live console holds.', 'gauge', s.devices)
      .add('panoptes_console_series', 'Chart series the live console holds.', 'gauge', s.series)
      .add('panoptes_console_points', 'Points held in the console series.', 'gauge', s.points)
      .add(
        'panoptes_console_bytes',
        'Estimated bytes of the console series (rings and per-series overhead).',
        'gauge',
        s.bytes,
      )
      .add(
        'panoptes_console_evicted_total',
        'Series and devices the console dropped to stay within max_series and max_devices.',
        'counter',
        s.seriesEvicted,
        { kind: 'series' },
      )
      .add(
        'panoptes_console_evicted_total',
        'Series and devices the console dropped to stay within max_series and max_devices.',
        'counter',
        s.devicesEvicted,
        { kind: 'device' },
      )
      .add(
        'panoptes_console_requests_total',
        'HTTP requests the console answered.',
        'counter',
        (this.server?.requests.page ?? 0) + (this.server?.requests.api ?? 0),
      ).samples;
  }

  /** Stops reading, then closes the server (open page connections are cut). */
  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
    await this.server?.close();
    this.server = undefined;
  }
}
