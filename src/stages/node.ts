/**
 * A Panoptes node: the stages a process runs (discovery, enrichment, polling, consumer), on the
 * backends of the site configuration. `panoptes run` is a node with every stage, by default on
 * the in-process bus and in-memory store, optionally with the built-in SNMP simulator as the
 * network (the embedded pipeline); `panoptes discovery|enrichment|polling|consumer` are nodes
 * with one stage each, connected by Kafka and sharing Redis.
 *
 *   plugins (loader, rescanned) -> discovery stage -> <site>-resources -> polling stage
 *     (enrichment agent, polling agent: ResourceActors, rates, status groups)
 *     -> <site>-processed -> consumers (JSONL file)
 *
 * Start order: simulator, plugins, consumers, polling stage (joins the resource table),
 * discovery (first pass), first enrichment runs, then polling. stop() reverses it and flushes:
 * no new runs, runs in flight finish (or are aborted after the grace period), their groups are
 * published, and the consumers write everything published before they close.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Subscription } from 'rxjs';
import type { MessageBus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka-bus.js';
import { MemoryBus } from '../bus/memory-bus.js';
import { GLOBAL_METRICS_TOPIC, topicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import { InfluxConsumer } from '../consumers/influx-consumer.js';
import { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import { PanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import { storeKeys } from '../store/keys.js';
import { MemoryStore } from '../store/memory-store.js';
import { RedisStore } from '../store/redis-store.js';
import type { KeyValueStore } from '../store/store.js';
import type { SnmpSimulator } from '../sim/simulator.js';
import type { SnmpEngine } from '../snmp/engine.js';
import type { PluginLoader } from '../plugins/loader.js';
import { DiscoveryStage } from './discovery-stage.js';
import type { MetricSample } from './metrics-server.js';
import { PollingStage } from './polling-stage.js';
import { startConfiguredSimulator, startPluginRuntime, storeSecrets } from './plugin-runtime.js';
import { waitFor } from '../wait.js';

export type Role = 'discovery' | 'enrichment' | 'polling' | 'consumer';
export const ALL_ROLES: readonly Role[] = ['discovery', 'enrichment', 'polling', 'consumer'];

export interface NodeOptions {
  readonly config: SiteConfig;
  readonly logger: Logger;
  /** The stages this node runs. Default all (the embedded pipeline). */
  readonly roles?: readonly Role[];
  /** A JSONL file for every published metrics group (in addition to the configured ones). */
  readonly out?: string;
}

/** Opens the bus and store the configuration selects. */
export async function openBackends(
  config: SiteConfig,
  logger: Logger,
): Promise<{ bus: MessageBus; store: KeyValueStore }> {
  const store: KeyValueStore =
    config.store.type === 'redis'
      ? await RedisStore.connect({ url: config.store.url, logger })
      : new MemoryStore();
  try {
    const bus: MessageBus =
      config.bus.type === 'kafka'
        ? new KafkaBus({
            brokers: config.bus.brokers ?? [],
            clientId: config.bus.client_id,
            logger,
            sessionTimeoutMs: config.bus.session_timeout_ms,
            maxBufferedMessages: config.bus.max_buffered_messages,
            lingerMs: config.bus.linger_ms,
          })
        : new MemoryBus({ partitions: config.bus.partitions, retention: config.bus.retention });
    return { bus, store };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** A snapshot of the pipeline's counters. */
export interface PipelineSnapshot {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly devices: number;
  /** Plugin runs that polled (success, error or timeout), polling and enrichment. */
  readonly polls: number;
  readonly metrics: number;
  readonly groups: number;
  /** Runs that failed or timed out, invalid resources and groups, discovery failures. */
  readonly errors: number;
  readonly timeouts: number;
  readonly written: number;
  /** Messages the in-process bus dropped because a consumer fell behind its retention. */
  readonly dropped: number;
}

type Cleanup = () => Promise<void> | void;

interface Parts {
  roles: ReadonlySet<Role>;
  simulator: SnmpSimulator | undefined;
  polling: PollingStage | undefined;
  discovery: DiscoveryStage | undefined;
  loader: PluginLoader;
  jsonl: JsonlConsumer[];
  influx: InfluxConsumer | undefined;
  engine: SnmpEngine;
  bus: MessageBus;
  store: KeyValueStore;
  logger: Logger;
  nodeId: string;
}

export class PanoptesNode {
  readonly roles: ReadonlySet<Role>;
  readonly nodeId: string;
  readonly simulator: SnmpSimulator | undefined;
  readonly loader: PluginLoader;
  readonly consumers: readonly JsonlConsumer[];
  readonly influx: InfluxConsumer | undefined;
  readonly bus: MessageBus;
  readonly store: KeyValueStore;
  readonly engine: SnmpEngine;
  private readonly pollingStage: PollingStage | undefined;
  private readonly discoveryStage: DiscoveryStage | undefined;
  private readonly logger: Logger;
  private pluginSubscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(parts: Parts) {
    this.roles = parts.roles;
    this.simulator = parts.simulator;
    this.pollingStage = parts.polling;
    this.discoveryStage = parts.discovery;
    this.loader = parts.loader;
    this.consumers = parts.jsonl;
    this.influx = parts.influx;
    this.engine = parts.engine;
    this.bus = parts.bus;
    this.store = parts.store;
    this.logger = parts.logger;
    this.nodeId = parts.nodeId;
  }

  /** The polling stage (enrichment and/or polling roles). */
  get polling(): PollingStage {
    if (this.pollingStage === undefined) throw new PanoptesError('USAGE', 'this node runs no polling stage');
    return this.pollingStage;
  }

  get discovery(): DiscoveryStage {
    if (this.discoveryStage === undefined)
      throw new PanoptesError('USAGE', 'this node runs no discovery stage');
    return this.discoveryStage;
  }

  /**
   * Builds and starts the node's stages; resolves when they run (polling has started). When a
   * step fails, what was already started is stopped again before the error is thrown.
   */
  static async start(options: NodeOptions): Promise<PanoptesNode> {
    const cleanups: Cleanup[] = [];
    try {
      return await PanoptesNode.build(options, cleanups);
    } catch (e) {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (inner) {
          options.logger.warn({ err: String(inner) }, 'cleanup after a failed start failed');
        }
      }
      throw e;
    }
  }

  private static async build(options: NodeOptions, cleanups: Cleanup[]): Promise<PanoptesNode> {
    const { config, logger } = options;
    const roles = new Set(options.roles ?? ALL_ROLES);
    const everything = ALL_ROLES.every((r) => roles.has(r));
    if (!everything && config.bus.type === 'memory') {
      throw new PanoptesError(
        'CONFIG_INVALID',
        `${config.file}: bus.type memory: a stage on its own needs bus.type kafka to reach the other stages ` +
          '(the in-process bus works only with panoptes run, every stage in one process)',
      );
    }
    if (!everything && config.store.type === 'memory' && !(roles.has('enrichment') && roles.has('polling'))) {
      throw new PanoptesError(
        'CONFIG_INVALID',
        `${config.file}: store.type memory: this node's stages share enrichment, locks and counter checkpoints ` +
          'with other processes through the store: use store.type redis',
      );
    }
    const keys = storeKeys(config.store.key_prefix);
    const topics = topicNames(config.bus.topic_delimiter);
    const { bus, store } = await openBackends(config, logger);
    cleanups.push(() => store.close());
    cleanups.push(() => bus.close());
    await storeSecrets(config, store, keys);

    let simulator: SnmpSimulator | undefined;
    if (config.simulator !== undefined && everything) {
      const started = await startConfiguredSimulator(config, logger);
      simulator = started;
      cleanups.push(() => started.close());
    }

    const runtime = await startPluginRuntime(config, {
      store,
      keys,
      logger,
      ...(simulator === undefined ? {} : { simulatorPort: simulator.port }),
      rescanIntervalMs: config.plugins.rescan_seconds * 1000,
    });
    cleanups.push(() => runtime.close());
    const { engine, enrichmentCache, contextFactory, loader } = runtime;
    const kinds = [...loader.plugins.values()].map((p) => p.kind);
    logger.info(
      {
        discovery: kinds.filter((k) => k === 'discovery').length,
        enrichment: kinds.filter((k) => k === 'enrichment').length,
        polling: kinds.filter((k) => k === 'polling').length,
        problems: loader.problems.size,
      },
      'plugins loaded',
    );
    if (loader.plugins.size === 0 && !(roles.size === 1 && roles.has('consumer'))) {
      logger.warn({ directories: config.plugins.directories }, 'no plugins loaded: nothing will be polled');
    }

    const jsonl: JsonlConsumer[] = [];
    let influx: InfluxConsumer | undefined;
    if (roles.has('consumer')) {
      const files = new Set(
        [config.output.jsonl, config.consumers.jsonl, options.out].filter(
          (f): f is string => f !== undefined,
        ),
      );
      let n = 0;
      for (const file of files) {
        const consumer = new JsonlConsumer({
          bus,
          topic: topics.processed(config.site),
          groupId: `${config.site}-jsonl${n === 0 ? '' : `-${n}`}`,
          file,
        });
        n++;
        await consumer.start();
        cleanups.push(() => consumer.stop());
        jsonl.push(consumer);
      }
      const ic = config.consumers.influx;
      if (ic !== undefined) {
        const consumer = new InfluxConsumer({
          bus,
          topic: topics.processed(config.site),
          deadLetterTopic: topics.processedDeadLetter(config.site),
          groupId: `${config.site}-influx`,
          url: ic.url,
          org: ic.org,
          bucket: ic.bucket,
          ...(ic.token === undefined ? {} : { token: ic.token }),
          batchSize: ic.batch_size,
          flushIntervalMs: ic.flush_interval_ms,
          logger,
        });
        await consumer.start();
        cleanups.push(() => consumer.stop());
        influx = consumer;
      }
    }

    const nodeId = config.polling.node_id ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    let polling: PollingStage | undefined;
    if (roles.has('polling') || roles.has('enrichment')) {
      const stage = new PollingStage({
        logger,
        site: config.site,
        bus,
        topics,
        store,
        keys,
        contextFactory,
        enrichmentCache,
        nodeId,
        mailboxSize: config.polling.mailbox_size,
        stopGraceMs: config.polling.stop_grace_seconds * 1000,
        enrichmentWaitMs: roles.has('enrichment') ? config.polling.enrichment_wait_seconds * 1000 : 0,
        heartbeat: config.polling.heartbeat && roles.has('polling'),
        distributedGuards: config.store.type !== 'memory',
        checkpointCounters: config.store.type !== 'memory',
        runEnrichment: roles.has('enrichment'),
        runPolling: roles.has('polling'),
        groupId: roles.has('polling') ? `${config.site}-pollers` : `${config.site}-enrichers`,
        ...(config.bus.global_topic ? { globalTopic: GLOBAL_METRICS_TOPIC } : {}),
      });
      stage.setPlugins(loader.plugins);
      cleanups.push(() => stage.stop());
      await stage.start();
      polling = stage;
    }

    let discovery: DiscoveryStage | undefined;
    let expected = 0;
    if (roles.has('discovery')) {
      const stage = new DiscoveryStage({
        logger,
        bus,
        topics,
        store,
        keys,
        contextFactory,
        site: config.site,
      });
      cleanups.push(() => stage.stop());
      stage.setPlugins(loader.plugins);
      await stage.settled();
      expected = [...stage.resources().values()].filter((r) => r.resource_site === config.site).length;
      discovery = stage;
    }
    if (polling !== undefined) {
      if (discovery !== undefined) {
        // In one process the polling stage has the first pass once it holds every resource.
        const own = config.polling.heartbeat && roles.has('polling') ? 1 : 0;
        const stage = polling;
        await waitFor(() => stage.resources >= expected + own, 10_000);
      }
      await polling.startPolling();
    }

    const node = new PanoptesNode({
      roles,
      simulator,
      polling,
      discovery,
      loader,
      jsonl,
      influx,
      engine,
      bus,
      store,
      logger,
      nodeId,
    });
    // Plugin files changed on disk: every stage takes the new set.
    node.pluginSubscription = loader.plugins$.subscribe((plugins) => {
      polling?.setPlugins(plugins);
      discovery?.setPlugins(plugins);
    });
    logger.info({ site: config.site, roles: [...roles], node: nodeId, devices: expected }, 'node running');
    if (everything) logger.info({ site: config.site, devices: expected }, 'pipeline running');
    return node;
  }

  snapshot(): PipelineSnapshot {
    const p = this.pollingStage?.polling.stats;
    const e = this.pollingStage?.enrichment.stats;
    const s = this.pollingStage?.stats;
    const runs = (x: typeof p): number => (x === undefined ? 0 : x.success + x.error + x.timeout);
    const failed = (x: typeof p): number => (x === undefined ? 0 : x.error + x.timeout);
    return {
      at: Date.now(),
      devices: this.pollingStage?.resources ?? this.discoveryStage?.resources().size ?? 0,
      polls: runs(p) + runs(e),
      metrics: s?.metricsPublished ?? 0,
      groups: s?.groupsPublished ?? 0,
      errors:
        failed(p) +
        failed(e) +
        (s === undefined ? 0 : s.resourcesInvalid + s.groupsInvalid) +
        (this.discoveryStage?.stats.failures ?? 0),
      timeouts: (p?.timeout ?? 0) + (e?.timeout ?? 0),
      written: this.consumers.reduce((sum, c) => sum + c.written, 0) + (this.influx?.stats.written ?? 0),
      dropped: this.bus instanceof MemoryBus ? this.bus.stats.droppedByRetention : 0,
    };
  }

  /** Prometheus samples of this node's counters (bounded labels: stage and kind). */
  metrics(): MetricSample[] {
    const out: MetricSample[] = [];
    const add = (
      name: string,
      help: string,
      type: 'counter' | 'gauge',
      value: number,
      labels?: Record<string, string>,
    ): void => {
      out.push({ name, help, type, value, ...(labels === undefined ? {} : { labels }) });
    };
    add('panoptes_up', 'Seconds since this node started.', 'gauge', (Date.now() - this.startedAt) / 1000);
    const d = this.discoveryStage?.stats;
    if (d !== undefined) {
      add('panoptes_discovery_runs_total', 'Discovery plugin runs.', 'counter', d.runs);
      add('panoptes_discovery_errors_total', 'Discovery runs that failed.', 'counter', d.failures);
      add('panoptes_discovery_sent_total', 'Resources published (new or changed).', 'counter', d.published);
      add(
        'panoptes_discovery_dropped_total',
        'Discovered resources dropped as invalid.',
        'counter',
        d.invalid,
      );
      add('panoptes_discovery_removed_total', 'Resources removed after their TTL.', 'counter', d.removed);
    }
    const ps = this.pollingStage;
    if (ps !== undefined) {
      add('panoptes_polling_resources', 'Resources this node holds.', 'gauge', ps.resources);
      add(
        'panoptes_polling_received_total',
        'Resource records received.',
        'counter',
        ps.stats.resourcesReceived,
      );
      add('panoptes_polling_sent_total', 'Metrics groups published.', 'counter', ps.stats.groupsPublished);
      add('panoptes_polling_metrics_sent_total', 'Metrics published.', 'counter', ps.stats.metricsPublished);
      add(
        'panoptes_polling_dropped_total',
        'Invalid resource records and metrics groups dropped.',
        'counter',
        ps.stats.resourcesInvalid + ps.stats.groupsInvalid,
      );
      for (const [kind, agent] of [
        ['polling', ps.polling],
        ['enrichment', ps.enrichment],
      ] as const) {
        for (const [status, n] of Object.entries(agent.stats)) {
          add('panoptes_plugin_runs_total', 'Plugin ticks by outcome.', 'counter', n, { kind, status });
        }
      }
      const t = this.engine.stats;
      add('panoptes_snmp_sent_total', 'SNMP datagrams sent, retries included.', 'counter', t.sent);
      add(
        'panoptes_snmp_timeouts_total',
        'SNMP requests that timed out after their retries.',
        'counter',
        t.timeouts,
      );
      add('panoptes_snmp_in_flight', 'SNMP requests in flight.', 'gauge', t.inFlight);
    }
    for (const c of this.consumers) {
      add('panoptes_consumer_sent_total', 'Records written by a consumer.', 'counter', c.written, {
        consumer: 'jsonl',
      });
    }
    if (this.influx !== undefined) {
      const i = this.influx.stats;
      add('panoptes_consumer_received_total', 'Records received by a consumer.', 'counter', i.received, {
        consumer: 'influx',
      });
      add('panoptes_consumer_sent_total', 'Records written by a consumer.', 'counter', i.written, {
        consumer: 'influx',
      });
      add(
        'panoptes_consumer_dropped_total',
        'Records sent to the dead-letter topic.',
        'counter',
        i.deadLettered,
        { consumer: 'influx' },
      );
      add('panoptes_consumer_errors_total', 'Failed writes (retried).', 'counter', i.writeErrors, {
        consumer: 'influx',
      });
    }
    if (this.bus instanceof KafkaBus) {
      const b = this.bus.stats;
      add('panoptes_bus_sent_total', 'Messages published to Kafka.', 'counter', b.published);
      add(
        'panoptes_bus_errors_total',
        'Failed publish requests and handler errors.',
        'counter',
        b.publishErrors + b.handlerErrors,
      );
      add(
        'panoptes_bus_dropped_total',
        'Messages skipped after their handler kept failing.',
        'counter',
        b.skipped,
      );
      add('panoptes_bus_received_total', 'Messages handled.', 'counter', b.delivered);
      add(
        'panoptes_bus_consumer_lag',
        'Messages behind the end of the assigned partitions.',
        'gauge',
        b.consumerLag,
      );
    } else if (this.bus instanceof MemoryBus) {
      add(
        'panoptes_bus_dropped_total',
        'Messages dropped by in-process retention.',
        'counter',
        this.bus.stats.droppedByRetention,
      );
    }
    return out;
  }

  /** Stops every stage, flushing: see the file comment. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.pluginSubscription?.unsubscribe();
    this.loader.close();
    await this.discoveryStage?.stop();
    await this.pollingStage?.stop();
    // Everything published is on the bus now; in one process, let the consumers write all of it.
    if (this.pollingStage !== undefined) {
      const published = this.pollingStage.stats.groupsPublished;
      for (const c of this.consumers) {
        if (!(await waitFor(() => c.written >= published, 10_000))) {
          this.logger.warn({ written: c.written, published }, 'consumer did not catch up before stopping');
        }
      }
    }
    for (const c of this.consumers) await c.stop();
    await this.influx?.stop();
    await this.engine.close();
    await this.simulator?.close();
    await this.bus.close();
    await this.store.close();
  }
}
