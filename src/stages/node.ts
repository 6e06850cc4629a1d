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
import { kafkaSecurity } from '../bus/kafka-security.js';
import { MemoryBus } from '../bus/memory-bus.js';
import { GLOBAL_METRICS_TOPIC, topicNames } from '../bus/topics.js';
import { influxToken } from '../config/credentials.js';
import type { SiteConfig } from '../config/site-config.js';
import { InfluxConsumer } from '../consumers/influx-consumer.js';
import { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { storeKeys } from '../store/keys.js';
import { MemoryStore } from '../store/memory-store.js';
import { redisSecurity } from '../store/redis-security.js';
import { RedisStore } from '../store/redis-store.js';
import type { KeyValueStore } from '../store/store.js';
import type { SnmpSimulator } from '../sim/simulator.js';
import type { SnmpEngine } from '../snmp/engine.js';
import type { PluginLoader } from '../plugins/loader.js';
import { DiscoveryStage } from './discovery-stage.js';
import { SnmpEngineTelemetry } from '../snmp/engine-telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { PollingStage } from './polling-stage.js';
import { startConfiguredSimulator, startPluginRuntime, storeSecrets } from './plugin-runtime.js';
import { waitFor } from '../wait.js';

export type Role = 'discovery' | 'enrichment' | 'polling' | 'consumer';

/** Enrichment after the store came back is spread over this long, ms. */
const REENRICH_SPREAD_MS = 10_000;
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
  // Every secret and TLS file is read before the first connection, so a missing one fails at once.
  const kafka = config.bus.type === 'kafka' ? kafkaSecurity(config, logger) : undefined;
  const redis = config.store.type === 'redis' ? redisSecurity(config, logger) : undefined;
  const store: KeyValueStore =
    redis !== undefined
      ? await RedisStore.connect({ url: config.store.url, logger, ...redis })
      : new MemoryStore();
  try {
    const bus: MessageBus =
      kafka !== undefined
        ? new KafkaBus({
            brokers: config.bus.brokers ?? [],
            clientId: config.bus.client_id,
            logger,
            sessionTimeoutMs: config.bus.session_timeout_ms,
            maxBufferedMessages: config.bus.max_buffered_messages,
            lingerMs: config.bus.linger_ms,
            security: kafka,
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
  private readonly snmpTelemetry: SnmpEngineTelemetry;
  private probeTimer: NodeJS.Timeout | undefined;

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
    this.snmpTelemetry = new SnmpEngineTelemetry(parts.engine, parts.logger);
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
          logger,
          deadLetterTopic: topics.deadLetter(config.site),
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
        const token = influxToken(config);
        const consumer = new InfluxConsumer({
          bus,
          topic: topics.processed(config.site),
          deadLetterTopic: topics.deadLetter(config.site),
          groupId: `${config.site}-influx`,
          url: ic.url,
          org: ic.org,
          bucket: ic.bucket,
          ...(token === undefined ? {} : { token }),
          batchSize: ic.batch_size,
          flushIntervalMs: ic.flush_interval_ms,
          // Within the process's shutdown grace, leaving time for the rest to stop.
          stopTimeoutMs: Math.max(1000, (config.shutdown_grace_seconds - 10) * 1000),
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
        maxResourceBytes: config.limits.max_resource_bytes,
        maxRecordBytes: config.limits.max_record_bytes,
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
    node.startProbing(config.health.probe_interval_seconds * 1000);
    if (store instanceof RedisStore && polling !== undefined && roles.has('enrichment')) {
      // Redis back after an outage may have lost its data (no persistence): enrich again now
      // rather than at the next scheduled run, spread over a few seconds.
      const stage = polling;
      store.health.onChange((state, was) => {
        if (state === 'up' && was === 'down')
          stage.enrichment.rerunAll(REENRICH_SPREAD_MS, 'the store is back after an outage');
      });
    }
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

  /** The parts with telemetry of their own: bus, store, SNMP engine, stages, consumers. */
  private parts(): Telemetry[] {
    const out: Telemetry[] = [];
    out.push(this.bus);
    if (this.store instanceof RedisStore) out.push(this.store);
    if (this.pollingStage !== undefined) out.push(this.snmpTelemetry, this.pollingStage);
    if (this.discoveryStage !== undefined) out.push(this.discoveryStage);
    out.push(...this.consumers);
    if (this.influx !== undefined) out.push(this.influx);
    return out;
  }

  /** Prometheus samples of this node: what each part reports (bounded labels: stage and kind). */
  metrics(): MetricSample[] {
    const out: MetricSample[] = [
      {
        name: 'panoptes_up',
        help: 'Seconds since this node started.',
        type: 'gauge',
        value: (Date.now() - this.startedAt) / 1000,
      },
    ];
    for (const part of this.parts()) out.push(...part.metrics());
    for (const d of this.dependencies()) {
      out.push({
        name: 'panoptes_dependency_up',
        help: 'Dependency state: 1 up, 0.5 degraded, 0 down or not reached yet.',
        type: 'gauge',
        value: d.state === 'up' ? 1 : d.state === 'degraded' ? 0.5 : 0,
        labels: { dependency: d.name },
      });
    }
    return out;
  }

  /** Every dependency of the node's parts, with its state and since when (for /readyz). */
  dependencies(): DependencyStatus[] {
    return this.parts().flatMap((p) => p.dependencies?.() ?? []);
  }

  /** Asks every part to check its dependencies now (they also are, every probe interval). */
  async probe(): Promise<void> {
    await Promise.all(this.parts().map((p) => p.probe?.() ?? Promise.resolve()));
  }

  private startProbing(intervalMs: number): void {
    let running = false;
    const tick = (): void => {
      if (running) return;
      running = true;
      this.probe()
        .catch((e: unknown) => this.logger.error({ err: errorMessage(e) }, 'health probe failed'))
        .finally(() => {
          running = false;
        });
    };
    tick();
    this.probeTimer = setInterval(tick, intervalMs);
    this.probeTimer.unref();
  }

  /** Stops every stage, flushing: see the file comment. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.probeTimer);
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
