/**
 * A Panoptes node: the stages a process runs (discovery, enrichment, polling, consumer), on the
 * backends of the site configuration. `panoptes run` is a node with every stage, by default on
 * the in-process bus and in-memory store, optionally with the built-in SNMP simulator as the
 * network (the embedded pipeline); `panoptes discovery|enrichment|polling|consumer` are nodes
 * with one stage each, connected by Kafka and sharing Redis.
 *
 *   plugins (loader, rescanned) -> discovery stage -> <site>-resources -> polling stage
 *     (enrichment agent, polling agent: ResourceActors, rates, status groups)
 *     -> <site>-processed -> consumers (JSONL files, InfluxDB, Prometheus remote write, scrape endpoint)
 *
 * Each part is built by a function of its own (backends.ts, consumers.ts, polling.ts,
 * discovery.ts) and reports its own telemetry; the node joins them. Start order: backends,
 * simulator, plugins and SNMP engine, consumers, polling stage (joins the resource table),
 * discovery (first pass), first enrichment runs, then polling. Every part started is put on
 * one stop list, which stop() (and a start that fails part-way) runs backwards: discovery,
 * polling (runs in flight finish or are aborted after the grace period, their groups are
 * published), the consumers write everything published in this process, then the consumers,
 * plugins and engine, simulator, bus and store close.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Subscription } from 'rxjs';
import type { MessageBus } from '../bus/bus.js';
import { MemoryBus } from '../bus/memory-bus.js';
import { topicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import type { ExpositionConsumer } from '../consumers/exposition.js';
import type { InfluxConsumer } from '../consumers/influx-consumer.js';
import type { JsonlConsumer } from '../consumers/jsonl-consumer.js';
import type { LiveConsole } from '../console/live-console.js';
import type { RemoteWriteConsumer } from '../consumers/remote-write.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PluginLoader } from '../plugins/loader.js';
import type { SnmpSimulator } from '../sim/simulator.js';
import type { GnmiSimulator } from '../sim/gnmi-simulator.js';
import type { SnmpEngine } from '../snmp/engine.js';
import { SnmpEngineTelemetry } from '../snmp/engine-telemetry.js';
import { gnmiTelemetry } from '../gnmi/stream.js';
import type { DiscoveryStage } from '../stages/discovery-stage.js';
import {
  startConfiguredSimulator,
  startConfiguredGnmiSimulator,
  startPluginRuntime,
  storeSecrets,
} from '../stages/plugin-runtime.js';
import type { PollingStage } from '../stages/polling-stage.js';
import { storeKeys } from '../store/keys.js';
import { RedisStore } from '../store/redis-store.js';
import type { KeyValueStore } from '../store/store.js';
import { DependencyHealth } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { waitFor } from '../wait.js';
import { tuneHeapGrowth } from './heap.js';
import { openBackends } from './backends.js';
import { startConsumers } from './consumers.js';
import { startLiveConsole } from './live-console.js';
import { requireFederation, startFederation } from './forward.js';
import type { Forwarder } from '../federation/forwarder.js';
import type { ResourceMirror } from '../federation/mirror.js';
import { startDiscoveryStage } from './discovery.js';
import { checkResourcesTable } from './inventory.js';
import { startPollingStage } from './polling.js';
import { ALL_ROLES, checkRoles, isWholePipeline, runsPlugins } from './roles.js';
import type { Role } from './roles.js';

export { ALL_ROLES } from './roles.js';
export type { Role } from './roles.js';

export interface NodeOptions {
  readonly config: SiteConfig;
  readonly logger: Logger;
  /** The stages this node runs. Default all (the embedded pipeline). */
  readonly roles?: readonly Role[];
  /** A JSONL file for every published metrics group (in addition to the configured ones). */
  readonly out?: string;
  /** Aborting it cancels a start that waits for Redis or Kafka (the start then fails). */
  readonly signal?: AbortSignal;
  /**
   * Dependencies as the start sees them while it waits for them (for /readyz before the node
   * exists): see NodeStartup.
   */
  readonly startup?: NodeStartup;
}

/** The state of a node's start, for /readyz while it waits for its dependencies. */
export class NodeStartup {
  readonly redis: DependencyHealth;
  readonly node: DependencyHealth;

  constructor(logger: Logger) {
    this.redis = new DependencyHealth('redis', logger);
    this.node = new DependencyHealth('node', logger, { detail: 'starting' });
  }

  dependencies(): DependencyStatus[] {
    return [this.node.status(), this.redis.status()];
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

/** One started part, and how it stops. */
interface StopStep {
  readonly part: string;
  readonly stop: () => Promise<void> | void;
}

/** How long, in one process, the consumers get to write what the polling stage published, ms. */
const DRAIN_TIMEOUT_MS = 10_000;

interface Parts {
  roles: ReadonlySet<Role>;
  simulator: SnmpSimulator | undefined;
  gnmiSimulator: GnmiSimulator | undefined;
  polling: PollingStage | undefined;
  discovery: DiscoveryStage | undefined;
  loader: PluginLoader;
  jsonl: JsonlConsumer[];
  influx: InfluxConsumer | undefined;
  prometheus: RemoteWriteConsumer | undefined;
  exposition: ExpositionConsumer | undefined;
  liveConsole: LiveConsole | undefined;
  forwarder: Forwarder | undefined;
  mirror: ResourceMirror | undefined;
  engine: SnmpEngine;
  bus: MessageBus;
  store: KeyValueStore;
  logger: Logger;
  nodeId: string;
  stops: StopStep[];
}

export class PanoptesNode {
  readonly roles: ReadonlySet<Role>;
  readonly nodeId: string;
  readonly simulator: SnmpSimulator | undefined;
  /** The simulated devices over gNMI (simulator.gnmi.enabled, `panoptes run --gnmi`). */
  readonly gnmiSimulator: GnmiSimulator | undefined;
  readonly loader: PluginLoader;
  readonly consumers: readonly JsonlConsumer[];
  readonly influx: InfluxConsumer | undefined;
  /** The Prometheus remote-write consumer, when consumers.prometheus is configured. */
  readonly prometheus: RemoteWriteConsumer | undefined;
  /** The scrape endpoint, when consumers.prometheus_exposition is configured. */
  readonly exposition: ExpositionConsumer | undefined;
  /** The live console (a web page), when the node runs the consumer stage and console.port is set. */
  readonly liveConsole: LiveConsole | undefined;
  /** The forward stage, when federation.upstream is configured and the node runs it. */
  readonly forwarder: Forwarder | undefined;
  /** The resource mirror, when federation.mirror_resources is set and the node forwards. */
  readonly mirror: ResourceMirror | undefined;
  readonly bus: MessageBus;
  readonly store: KeyValueStore;
  readonly engine: SnmpEngine;
  private readonly pollingStage: PollingStage | undefined;
  private readonly discoveryStage: DiscoveryStage | undefined;
  private readonly logger: Logger;
  /** Every part started, in start order: stop() runs it backwards. */
  private readonly stops: StopStep[];
  private pluginSubscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private readonly snmpTelemetry: SnmpEngineTelemetry;
  private probeTimer: NodeJS.Timeout | undefined;

  private constructor(parts: Parts) {
    this.roles = parts.roles;
    this.simulator = parts.simulator;
    this.gnmiSimulator = parts.gnmiSimulator;
    this.pollingStage = parts.polling;
    this.discoveryStage = parts.discovery;
    this.loader = parts.loader;
    this.consumers = parts.jsonl;
    this.influx = parts.influx;
    this.prometheus = parts.prometheus;
    this.exposition = parts.exposition;
    this.liveConsole = parts.liveConsole;
    this.forwarder = parts.forwarder;
    this.mirror = parts.mirror;
    this.engine = parts.engine;
    this.bus = parts.bus;
    this.store = parts.store;
    this.logger = parts.logger;
    this.nodeId = parts.nodeId;
    this.stops = parts.stops;
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
   * step fails, what was already started is stopped again, backwards, before the error is thrown.
   */
  static async start(options: NodeOptions): Promise<PanoptesNode> {
    const stops: StopStep[] = [];
    try {
      return await PanoptesNode.build(options, stops);
    } catch (e) {
      await runStops(stops, options.logger);
      throw e;
    }
  }

  private static async build(options: NodeOptions, stops: StopStep[]): Promise<PanoptesNode> {
    const { config, logger } = options;
    const heapGrowth = tuneHeapGrowth();
    logger.debug(
      { heapGrowingPercent: heapGrowth ?? "V8's own" },
      'heap growth between full collections (see src/node/heap.ts)',
    );
    const roles = new Set(options.roles ?? ALL_ROLES);
    checkRoles(config, roles);
    if (roles.has('forward') && options.roles !== undefined) requireFederation(config);
    if (
      config.federation?.mirror_resources === true &&
      roles.has('discovery') &&
      options.roles !== undefined
    ) {
      throw new PanoptesError(
        'CONFIG_INVALID',
        `${config.file}: federation.mirror_resources: this site's resources come from the central site; ` +
          'run discovery there (a discovery stage here would publish to the same resources topic)',
      );
    }
    const everything = isWholePipeline(roles);
    const keys = storeKeys(config.store.key_prefix);
    const topics = topicNames(config.bus.topic_delimiter);

    const { bus, store } = await openBackends(config, logger, {
      needsStore: runsPlugins(roles),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.startup === undefined ? {} : { waiting: options.startup.redis }),
    });
    stops.push({ part: 'store', stop: () => store.close() });
    stops.push({ part: 'bus', stop: () => bus.close() });
    // Cancelled while waiting for Kafka (a subscription or the first publish): closing the bus
    // ends the wait. Only during the start: a running node stops in order.
    const cancel = (): void => {
      void bus
        .close()
        .catch((e: unknown) => logger.debug({ err: errorMessage(e) }, 'closing the bus failed'));
    };
    options.signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await PanoptesNode.assemble(options, stops, { roles, everything, keys, topics, bus, store });
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
  }

  private static async assemble(
    options: NodeOptions,
    stops: StopStep[],
    base: {
      roles: ReadonlySet<Role>;
      everything: boolean;
      keys: ReturnType<typeof storeKeys>;
      topics: ReturnType<typeof topicNames>;
      bus: MessageBus;
      store: KeyValueStore;
    },
  ): Promise<PanoptesNode> {
    const { config, logger } = options;
    const { roles, everything, keys, topics, bus, store } = base;
    await storeSecrets(config, store, keys);

    let simulator: SnmpSimulator | undefined;
    if (config.simulator !== undefined && everything) {
      const started = await startConfiguredSimulator(config, logger);
      simulator = started;
      stops.push({ part: 'simulator', stop: () => started.close() });
    }
    const gnmiSimulator =
      simulator === undefined ? undefined : await startConfiguredGnmiSimulator(config, simulator, logger);
    if (gnmiSimulator !== undefined)
      stops.push({ part: 'gNMI simulator', stop: () => gnmiSimulator.close() });

    const runtime = await startPluginRuntime(config, {
      store,
      keys,
      logger,
      ...(simulator === undefined ? {} : { simulatorPort: simulator.port }),
      ...(gnmiSimulator === undefined ? {} : { gnmiPort: gnmiSimulator.port }),
      rescanIntervalMs: config.plugins.rescan_seconds * 1000,
    });
    stops.push({ part: 'plugins and SNMP engine', stop: () => runtime.close() });
    const { loader } = runtime;
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
    if (loader.plugins.size === 0 && runsPlugins(roles)) {
      logger.warn({ directories: config.plugins.directories }, 'no plugins loaded: nothing will be polled');
    }

    let polling: PollingStage | undefined;
    // In one process, a stage reading <site>-processed gets to read what polling published
    // before it stops (its stop step runs after polling's): undefined once `reached` counts it
    // all, else what polling published, for the warning.
    const caughtUp = async (reached: () => number): Promise<{ published: number } | undefined> => {
      if (polling === undefined) return undefined;
      const published = polling.stats.groupsPublished;
      return (await waitFor(() => reached() >= published, DRAIN_TIMEOUT_MS)) ? undefined : { published };
    };
    const consumers = roles.has('consumer')
      ? await startConsumers(config, { bus, topics, logger, out: options.out }, (c) =>
          stops.push({ part: 'consumer', stop: () => c.stop() }),
        )
      : { jsonl: [], influx: undefined, prometheus: undefined, exposition: undefined };
    if (consumers.jsonl.length > 0) {
      // Stopped after polling, before the consumers: in one process, they write all it published.
      stops.push({
        part: 'consumers catching up',
        stop: async () => {
          for (const c of consumers.jsonl) {
            const behind = await caughtUp(() => c.written + c.invalid);
            if (behind !== undefined)
              logger.warn({ written: c.written, ...behind }, 'consumer did not catch up before stopping');
          }
        },
      });
    }

    // The console reads <site>-processed like a consumer; stopped before the other consumers.
    const liveConsole = roles.has('consumer')
      ? await startLiveConsole(config, { bus, topics, logger })
      : undefined;
    if (liveConsole !== undefined) stops.push({ part: 'console', stop: () => liveConsole.stop() });

    const federation = roles.has('forward')
      ? await startFederation(config, { bus, topics, logger }, (part, stop) => stops.push({ part, stop }))
      : undefined;
    const forwarder = federation?.forwarder;
    if (forwarder !== undefined) {
      // Stopped after polling: in one process, what it published reaches the spool or upstream.
      stops.push({
        part: 'forwarder catching up',
        stop: async () => {
          const behind = await caughtUp(() => forwarder.stats.received);
          if (behind !== undefined)
            logger.warn(
              { forwarded: forwarder.stats.received, ...behind },
              'forwarder did not catch up before stopping',
            );
        },
      });
    }

    if (runsPlugins(roles)) {
      // In the background: what it finds is only logged, and a cluster may take seconds to answer.
      void checkResourcesTable(bus, topics.resources(config.site), logger).catch((e: unknown) =>
        logger.warn({ err: errorMessage(e) }, 'checking the resources topic failed'),
      );
    }

    const nodeId = config.polling.node_id ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    if (roles.has('polling') || roles.has('enrichment')) {
      polling = await startPollingStage(
        config,
        { roles, bus, store, topics, keys, runtime, logger, nodeId },
        (stage) => stops.push({ part: 'polling stage', stop: () => stage.stop() }),
      );
    }

    let discovery: DiscoveryStage | undefined;
    let expected = 0;
    // An edge whose resources come from the centre (federation.mirror_resources) runs no discovery.
    const mirrored = config.federation?.mirror_resources === true;
    if (roles.has('discovery') && mirrored && kinds.includes('discovery')) {
      logger.warn(
        { discovery: kinds.filter((k) => k === 'discovery').length },
        "discovery plugins not run: federation.mirror_resources brings this site's resources from the central site",
      );
    }
    if (roles.has('discovery') && !mirrored) {
      const started = await startDiscoveryStage(
        config,
        { bus, store, topics, keys, runtime, logger },
        (stage) => stops.push({ part: 'discovery stage', stop: () => stage.stop() }),
      );
      discovery = started.stage;
      expected = started.resources;
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
      gnmiSimulator,
      polling,
      discovery,
      loader,
      jsonl: consumers.jsonl,
      influx: consumers.influx,
      prometheus: consumers.prometheus,
      exposition: consumers.exposition,
      liveConsole,
      forwarder,
      mirror: federation?.mirror,
      engine: runtime.engine,
      bus,
      store,
      logger,
      nodeId,
      stops,
    });
    // Plugin files changed on disk: every stage takes the new set.
    node.pluginSubscription = loader.plugins$.subscribe((plugins) => {
      polling?.setPlugins(plugins);
      discovery?.setPlugins(plugins);
    });
    node.startProbing(config.health.probe_interval_seconds * 1000);
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
      written:
        this.consumers.reduce((sum, c) => sum + c.written, 0) +
        (this.influx?.stats.written ?? 0) +
        (this.prometheus?.stats.written ?? 0),
      dropped: this.bus instanceof MemoryBus ? this.bus.stats.droppedByRetention : 0,
    };
  }

  /** The parts with telemetry of their own: bus, store, SNMP engine, stages, consumers. */
  private parts(): Telemetry[] {
    const out: Telemetry[] = [this.bus];
    if (this.store instanceof RedisStore) out.push(this.store);
    if (this.pollingStage !== undefined) out.push(this.snmpTelemetry, gnmiTelemetry, this.pollingStage);
    if (this.discoveryStage !== undefined) out.push(this.discoveryStage);
    out.push(...this.consumers);
    if (this.influx !== undefined) out.push(this.influx);
    if (this.prometheus !== undefined) out.push(this.prometheus);
    if (this.exposition !== undefined) out.push(this.exposition);
    if (this.liveConsole !== undefined) out.push(this.liveConsole);
    if (this.forwarder !== undefined) out.push(this.forwarder);
    if (this.mirror !== undefined) out.push(this.mirror);
    return out;
  }

  /** Liveness: undefined while alive, else why not (the upstream unreachable for too long). */
  liveness(): string | undefined {
    return this.forwarder?.liveness();
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

  /** Stops every part, flushing: see the file comment. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.probeTimer);
    this.pluginSubscription?.unsubscribe();
    this.loader.close();
    await runStops(this.stops, this.logger);
  }
}

/** Runs the stop list backwards; a part that fails to stop is logged and the rest still stop. */
async function runStops(stops: StopStep[], logger: Logger): Promise<void> {
  for (const step of stops.splice(0).reverse()) {
    try {
      await step.stop();
    } catch (e) {
      logger.warn({ part: step.part, err: errorMessage(e) }, 'stopping a part failed');
    }
  }
}
