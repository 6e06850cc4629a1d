/**
 * The embedded pipeline: every stage in one process on the in-process bus and in-memory store,
 * optionally with the built-in SNMP simulator as the network.
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
import type { Subscription } from 'rxjs';
import { MemoryBus } from '../bus/memory-bus.js';
import { topicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import type { Logger } from '../log.js';
import { createContextFactory, storeEnrichmentLoader } from '../plugins/context.js';
import { PluginLoader } from '../plugins/loader.js';
import { SnmpSimulator } from '../sim/simulator.js';
import { SnmpEngine } from '../snmp/engine.js';
import { EnrichmentCache } from '../streams/enrichment-cache.js';
import { storeKeys } from '../store/keys.js';
import { MemoryStore } from '../store/memory-store.js';
import { DiscoveryStage } from './discovery-stage.js';
import { PollingStage } from './polling-stage.js';

export interface EmbeddedOptions {
  readonly config: SiteConfig;
  readonly logger: Logger;
  /** A JSONL file for every published metrics group (in addition to output.jsonl). */
  readonly out?: string;
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

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export class EmbeddedPipeline {
  readonly simulator: SnmpSimulator | undefined;
  readonly polling: PollingStage;
  readonly discovery: DiscoveryStage;
  readonly loader: PluginLoader;
  readonly consumers: readonly JsonlConsumer[];
  private readonly engine: SnmpEngine;
  private readonly bus: MemoryBus;
  private readonly store: MemoryStore;
  private readonly logger: Logger;
  private pluginSubscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(parts: {
    simulator: SnmpSimulator | undefined;
    polling: PollingStage;
    discovery: DiscoveryStage;
    loader: PluginLoader;
    consumers: JsonlConsumer[];
    engine: SnmpEngine;
    bus: MemoryBus;
    store: MemoryStore;
    logger: Logger;
  }) {
    this.simulator = parts.simulator;
    this.polling = parts.polling;
    this.discovery = parts.discovery;
    this.loader = parts.loader;
    this.consumers = parts.consumers;
    this.engine = parts.engine;
    this.bus = parts.bus;
    this.store = parts.store;
    this.logger = parts.logger;
  }

  /**
   * Builds and starts every stage; resolves when polling has started. When a step fails, what
   * was already started is stopped again before the error is thrown.
   */
  static async start(options: EmbeddedOptions): Promise<EmbeddedPipeline> {
    const cleanups: (() => Promise<void> | void)[] = [];
    try {
      return await EmbeddedPipeline.build(options, cleanups);
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

  private static async build(
    options: EmbeddedOptions,
    cleanups: (() => Promise<void> | void)[],
  ): Promise<EmbeddedPipeline> {
    const { config, logger } = options;
    const keys = storeKeys(config.store.key_prefix);
    const topics = topicNames(config.bus.topic_delimiter);
    const store = new MemoryStore();
    cleanups.push(() => store.close());
    for (const [name, bySite] of Object.entries(config.secrets)) {
      for (const [site, value] of Object.entries(bySite)) {
        await store.set(site === 'default' ? keys.secretDefault(name) : keys.secret(name, site), value);
      }
    }
    const bus = new MemoryBus({ partitions: config.bus.partitions, retention: config.bus.retention });
    cleanups.push(() => bus.close());

    let simulator: SnmpSimulator | undefined;
    if (config.simulator !== undefined) {
      const sim = config.simulator;
      simulator = await SnmpSimulator.start({
        host: sim.host,
        port: sim.port,
        ...(sim.devices > 0 ? { synthetic: { devices: sim.devices, interfaces: sim.interfaces } } : {}),
        ...(sim.recordings === undefined ? {} : { dataDir: sim.recordings }),
      });
      const started = simulator;
      cleanups.push(() => started.close());
      logger.info(
        {
          address: `${simulator.address}:${simulator.port}`,
          devices: sim.devices,
          interfaces: sim.interfaces,
          recordings: simulator.recordings,
        },
        'SNMP simulator started',
      );
    }

    const engine = new SnmpEngine({
      maxInFlight: config.snmp.max_in_flight,
      maxInFlightPerDevice: config.snmp.max_in_flight_per_device,
      decodeWorkers: config.snmp.decode_workers,
    });
    cleanups.push(() => engine.close());
    const enrichmentCache = new EnrichmentCache({ load: storeEnrichmentLoader(store, keys, logger) });
    const port = config.snmp.port ?? simulator?.port;
    const contextFactory = createContextFactory({
      logger,
      store,
      keys,
      snmp: engine,
      enrichmentCache,
      ...(config.snmp.community === undefined ? {} : { defaultCommunity: config.snmp.community }),
      sessionDefaults: {
        ...(port === undefined ? {} : { port }),
        timeoutMs: config.snmp.timeout_ms,
        retries: config.snmp.retries,
      },
    });

    const loader = new PluginLoader({
      directories: config.plugins.directories,
      logger,
      rescanIntervalMs: config.plugins.rescan_seconds * 1000,
    });
    cleanups.push(() => loader.close());
    await loader.scan();
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
    if (loader.plugins.size === 0) {
      logger.warn({ directories: config.plugins.directories }, 'no plugins loaded: nothing will be polled');
    }

    const consumers: JsonlConsumer[] = [];
    const files = new Set([config.output.jsonl, options.out].filter((f): f is string => f !== undefined));
    let n = 0;
    for (const file of files) {
      const consumer = new JsonlConsumer({
        bus,
        topic: topics.processed(config.site),
        groupId: `${config.site}-jsonl-${n++}`,
        file,
      });
      await consumer.start();
      cleanups.push(() => consumer.stop());
      consumers.push(consumer);
    }

    const nodeId = config.polling.node_id ?? randomUUID().slice(0, 8);
    const polling = new PollingStage({
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
      enrichmentWaitMs: config.polling.enrichment_wait_seconds * 1000,
      heartbeat: config.polling.heartbeat,
      distributedGuards: false,
    });
    polling.setPlugins(loader.plugins);
    cleanups.push(() => polling.stop());
    await polling.start();

    const discovery = new DiscoveryStage({
      logger,
      bus,
      topics,
      store,
      keys,
      contextFactory,
      site: config.site,
    });
    cleanups.push(() => discovery.stop());
    discovery.setPlugins(loader.plugins);
    await discovery.settled();
    // The polling stage has the first pass once it holds every resource of this site.
    const expected = [...discovery.resources().values()].filter(
      (r) => r.resource_site === config.site,
    ).length;
    const own = config.polling.heartbeat ? 1 : 0;
    await waitFor(() => polling.resources >= expected + own, 10_000);
    await polling.startPolling();

    const pipeline = new EmbeddedPipeline({
      simulator,
      polling,
      discovery,
      loader,
      consumers,
      engine,
      bus,
      store,
      logger,
    });
    // Plugin files changed on disk: every stage takes the new set.
    pipeline.pluginSubscription = loader.plugins$.subscribe((plugins) => {
      polling.setPlugins(plugins);
      discovery.setPlugins(plugins);
    });
    logger.info({ site: config.site, devices: expected, node: nodeId }, 'pipeline running');
    return pipeline;
  }

  snapshot(): PipelineSnapshot {
    const p = this.polling.polling.stats;
    const e = this.polling.enrichment.stats;
    const s = this.polling.stats;
    return {
      at: Date.now(),
      devices: this.polling.resources,
      polls: p.success + p.error + p.timeout + e.success + e.error + e.timeout,
      metrics: s.metricsPublished,
      groups: s.groupsPublished,
      errors:
        p.error +
        p.timeout +
        e.error +
        e.timeout +
        s.resourcesInvalid +
        s.groupsInvalid +
        this.discovery.stats.failures,
      timeouts: p.timeout + e.timeout,
      written: this.consumers.reduce((sum, c) => sum + c.written, 0),
      dropped: this.bus.stats.droppedByRetention,
    };
  }

  /** Stops every stage, flushing: see the file comment. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.pluginSubscription?.unsubscribe();
    this.loader.close();
    await this.discovery.stop();
    await this.polling.stop();
    // Everything published is in the bus now; let the consumers write all of it.
    const published = this.polling.stats.groupsPublished;
    for (const c of this.consumers) {
      if (!(await waitFor(() => c.written >= published, 10_000))) {
        this.logger.warn({ written: c.written, published }, 'consumer did not catch up before stopping');
      }
      await c.stop();
    }
    await this.engine.close();
    await this.simulator?.close();
    await this.bus.close();
    await this.store.close();
  }
}
