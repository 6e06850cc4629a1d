/**
 * The polling stage of a node: it reads the resource table from `<site>-resources` (consumer
 * group `<site>-pollers`, from the beginning), keeps a ResourceActor per resource in two agents
 * (enrichment plugins, run at once for a new resource then on schedule, writing the enrichment
 * store; polling plugins, publishing metrics groups), and publishes every group to
 * `<site>-processed`, key resource_id.
 *
 * - Polling starts after the first enrichment runs have finished (at most
 *   `enrichmentWaitMs`), so first polls find their enrichment.
 * - The node adds a resource for itself (class system, subclass internal, type heartbeat), which
 *   the heartbeat plugin matches.
 * - A resource record that does not parse is logged with its partition and offset and skipped; a
 *   metrics group a plugin returns that fails validation is logged and dropped, the rest of the
 *   run is published.
 */
import { deadLetterRecord } from '../bus/dead-letter.js';
import { errorMessage } from '../errors.js';
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';
import { hostname } from 'node:os';
import type { BusMessage, MessageBus, Subscription, TopicPartition } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import type { Logger } from '../log.js';
import { deepFreeze } from '../freeze.js';
import {
  checkMetricsGroup,
  metricsGroupToJsonText,
  parseJson,
  parseResource,
  rememberValidResource,
} from '../model/index.js';
import type { MetricsGroup, Resource } from '../model/index.js';
import type { ContextFactory } from '../plugins/context.js';
import type { LoadedPlugin, PluginSet } from '../plugins/loader.js';
import { PollingAgent } from '../actors/polling-agent.js';
import type { EnrichmentCache } from '../streams/enrichment-cache.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';

export interface PollingStageOptions {
  readonly logger: Logger;
  readonly site: string;
  readonly bus: MessageBus;
  readonly topics: TopicNames;
  readonly store: KeyValueStore;
  readonly keys: StoreKeys;
  readonly contextFactory: ContextFactory;
  readonly enrichmentCache: EnrichmentCache;
  readonly nodeId: string;
  readonly mailboxSize: number;
  readonly stopGraceMs: number;
  /** How long polling waits for the first enrichment runs. */
  readonly enrichmentWaitMs: number;
  /** Add the node's own resource (for the heartbeat plugin). */
  readonly heartbeat: boolean;
  /** Check the store's last-run key and lease locks (needed when several nodes share a store). */
  readonly distributedGuards: boolean;
  /** Which plugins this node runs. Default both. */
  readonly runEnrichment?: boolean;
  readonly runPolling?: boolean;
  /** Consumer group on the resources topic. Default `<site>-pollers`. */
  readonly groupId?: string;
  /**
   * Save each plugin's counter history to the store after every run and restore it when a
   * resource arrives, so a resource that moves to another node keeps its rates. Default false.
   */
  readonly checkpointCounters?: boolean;
  /** Also publish every metrics group to this topic (Panoptes' global `panoptes-metrics`). */
  readonly globalTopic?: string;
  /** A resource record larger than this is refused (dead-lettered), bytes. Default 65536. */
  readonly maxResourceBytes?: number;
  /** A metrics group larger than this (JSON) is not published (logged, counted), bytes. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /**
   * After the partitions change, read this long before comparing what this node holds with the
   * store's inventory for its partitions (see checkInventory), ms. Default 5000.
   */
  readonly inventoryCheckDelayMs?: number;
  /** And again this often, ms. Default 300 000. */
  readonly inventoryCheckIntervalMs?: number;
}

/** A resource removed by a tombstone is not taken back from the store's copy for this long, ms. */
const REMOVED_MEMORY_MS = 600_000;

/** Bad resource records already reported (topic, partition, offset), so a re-read does not repeat them. */
const MAX_REMEMBERED_REJECTIONS = 100_000;

export interface PollingStageStats {
  /** Resource records received (upserts and tombstones). */
  resourcesReceived: number;
  /** Resource records that did not parse. */
  resourcesInvalid: number;
  /** Metrics groups published. */
  groupsPublished: number;
  /** Metrics in the groups published. */
  metricsPublished: number;
  /** Metrics groups dropped because they failed validation or were too large. */
  groupsInvalid: number;
  /** Resource records dead-lettered (invalid, too large, another site's). */
  resourcesDeadLettered: number;
}

/** The resource a polling node adds for itself. */
export function pollerResource(site: string, nodeId: string, now = Date.now()): Resource {
  return {
    resource_id: `panoptes-poller-${nodeId}`,
    resource_site: site,
    resource_endpoint: hostname(),
    resource_class: 'system',
    resource_subclass: 'internal',
    resource_type: 'heartbeat',
    resource_creation_timestamp: now / 1000,
    resource_creation_plugin: 'panoptes',
    resource_metadata: {},
  };
}

export class PollingStage implements Telemetry {
  readonly stats: PollingStageStats = {
    resourcesReceived: 0,
    resourcesInvalid: 0,
    groupsPublished: 0,
    metricsPublished: 0,
    groupsInvalid: 0,
    resourcesDeadLettered: 0,
  };
  /** Bad resource records already reported, by topic[partition]@offset. */
  private readonly rejected = new Set<string>();
  readonly enrichment: PollingAgent;
  readonly polling: PollingAgent;
  private readonly options: PollingStageOptions;
  private subscription: Subscription | undefined;
  private readonly resourceIds = new Set<string>();
  /** Which partition each resource came from, to drop them when the partition is revoked. */
  private readonly partitionOf = new Map<string, string>();
  private stopping = false;
  /** Resources removed by a tombstone (when), so the inventory check does not take them back. */
  private readonly removedAt = new Map<string, number>();
  private inventoryTimer: NodeJS.Timeout | undefined;
  private inventoryInterval: NodeJS.Timeout | undefined;
  private checkingInventory: Promise<void> | undefined;
  /** Resources of the store's inventory for this node's partitions missing from the topic, last check. */
  private inventoryMissing = 0;
  private inventoryAdopted = 0;

  metrics(): MetricSample[] {
    const out = new SampleList()
      .add('panoptes_polling_resources', 'Resources this node holds.', 'gauge', this.resources)
      .add(
        'panoptes_polling_received_total',
        'Resource records received.',
        'counter',
        this.stats.resourcesReceived,
      )
      .add('panoptes_polling_sent_total', 'Metrics groups published.', 'counter', this.stats.groupsPublished)
      .add(
        'panoptes_polling_metrics_sent_total',
        'Metrics published.',
        'counter',
        this.stats.metricsPublished,
      )
      .add(
        'panoptes_polling_dropped_total',
        'Invalid resource records and metrics groups dropped.',
        'counter',
        this.stats.resourcesInvalid + this.stats.groupsInvalid,
      )
      .add(
        'panoptes_polling_dead_lettered_total',
        'Resource records sent to the dead-letter topic (invalid, too large, another site).',
        'counter',
        this.stats.resourcesDeadLettered,
      )
      .add(
        'panoptes_polling_guard_fallbacks_total',
        "Runs that went ahead on this node's own guards because the store did not answer.",
        'counter',
        this.polling.guardFallbacks + this.enrichment.guardFallbacks,
      )
      .add(
        'panoptes_polling_inventory_missing',
        "Resources of the store's inventory for this node's partitions that the resources topic no longer holds (last check).",
        'gauge',
        this.inventoryMissing,
      )
      .add(
        'panoptes_polling_inventory_restored_total',
        "Resources polled from the store's copy because the resources topic no longer held them.",
        'counter',
        this.inventoryAdopted,
      )
      .add(
        'panoptes_polling_runs_written_off_total',
        'Plugin runs that had not returned a period after their timeout (they ignore the abort signal); the next run started without them.',
        'counter',
        this.polling.writtenOff + this.enrichment.writtenOff,
      );
    for (const [kind, agent] of [
      ['polling', this.polling],
      ['enrichment', this.enrichment],
    ] as const) {
      for (const [status, n] of Object.entries(agent.stats)) {
        out.add('panoptes_plugin_runs_total', 'Plugin ticks by outcome.', 'counter', n, { kind, status });
      }
    }
    return out.samples;
  }

  constructor(options: PollingStageOptions) {
    this.options = options;
    const common = {
      logger: options.logger,
      store: options.store,
      keys: options.keys,
      contextFactory: options.contextFactory,
      nodeId: options.nodeId,
      mailboxSize: options.mailboxSize,
      stopGraceMs: options.stopGraceMs,
      distributedGuards: options.distributedGuards,
      checkpointCounters: options.checkpointCounters ?? false,
      catchUpOverdue: options.checkpointCounters ?? false,
      publish: (resource: Resource, plugin: LoadedPlugin, groups: readonly MetricsGroup[]) =>
        this.publish(resource, plugin, groups),
      publishRoom: () => this.options.bus.hasRoom(),
    };
    this.enrichment = new PollingAgent({
      ...common,
      kinds: ['enrichment'],
      immediateFirstRun: true,
      enrichmentCache: options.enrichmentCache,
    });
    this.polling = new PollingAgent({ ...common, kinds: ['polling'] });
  }

  /** Resources this node holds (the node's own included). */
  get resources(): number {
    return this.resourceIds.size;
  }

  setPlugins(plugins: PluginSet): void {
    const none: PluginSet = new Map();
    this.enrichment.setPlugins(this.options.runEnrichment === false ? none : plugins);
    this.polling.setPlugins(this.options.runPolling === false ? none : plugins);
  }

  /** Joins the resource table and starts enrichment; call startPolling() when ready. */
  async start(): Promise<void> {
    const { bus, topics, site } = this.options;
    this.enrichment.start();
    if (this.options.heartbeat) this.upsert(pollerResource(site, this.options.nodeId));
    this.subscription = await bus.subscribe({
      groupId: this.options.groupId ?? `${site}-pollers`,
      topics: [topics.resources(site)],
      fromBeginning: true,
      // The resources topic is a table: each new owner of a partition reads all of it.
      readFromStartOnAssign: true,
      handler: (m) => this.onResource(m),
      onRevoked: (tps) => this.onRevoked(tps),
      onAssigned: (tps) => this.onAssigned(tps),
    });
    this.inventoryInterval = setInterval(
      () => this.scheduleInventoryCheck(0),
      this.options.inventoryCheckIntervalMs ?? 300_000,
    );
    this.inventoryInterval.unref();
  }

  /** Starts polling once the first enrichment runs are done (or the wait ran out). */
  async startPolling(): Promise<void> {
    const idle = await this.enrichment.whenIdle(this.options.enrichmentWaitMs);
    if (!idle) {
      this.options.logger.warn(
        { waitedMs: this.options.enrichmentWaitMs },
        'first enrichment runs still going; polling starts anyway',
      );
    }
    this.polling.start();
  }

  async stop(): Promise<void> {
    // Leaving the group revokes every partition: the agents stop all actors below anyway.
    this.stopping = true;
    clearTimeout(this.inventoryTimer);
    clearInterval(this.inventoryInterval);
    await this.subscription?.stop();
    await this.checkingInventory;
    await Promise.all([this.polling.stop(), this.enrichment.stop()]);
  }

  /** Partitions this node now owns (at start, or taken over from a node that left). */
  private onAssigned(partitions: readonly TopicPartition[]): void {
    if (this.stopping) return;
    const names = partitions.map((tp) => `${tp.topic}[${tp.partition}]`);
    this.options.logger.info(
      { partitions: names },
      `partitions assigned: ${names.join(', ')}; polling their resources`,
    );
    this.scheduleInventoryCheck(this.options.inventoryCheckDelayMs ?? 5000);
  }

  private scheduleInventoryCheck(delayMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.inventoryTimer);
    this.inventoryTimer = setTimeout(() => {
      if (this.stopping || this.checkingInventory !== undefined) return;
      this.checkingInventory = this.checkInventory()
        .catch((e: unknown) =>
          this.options.logger.warn({ err: errorMessage(e) }, 'comparing with the store inventory failed'),
        )
        .finally(() => (this.checkingInventory = undefined));
    }, delayMs);
    this.inventoryTimer.unref();
  }

  /**
   * Compares the resources this node holds with the store's inventory (the resources discovery
   * last stored, with their TTL) for the partitions it owns. One the topic no longer holds (a
   * cluster that dropped older records) is said (log, /metrics) and polled from the store's
   * copy, until discovery publishes it again.
   */
  async checkInventory(): Promise<void> {
    const { store, keys, site, bus, topics, logger } = this.options;
    const topic = topics.resources(site);
    const owned = new Set(
      (this.subscription?.assignment() ?? []).filter((tp) => tp.topic === topic).map((tp) => tp.partition),
    );
    if (owned.size === 0) {
      this.inventoryMissing = 0;
      return;
    }
    const prefix = keys.resourcesOfSite(site);
    const now = Date.now();
    for (const [id, at] of this.removedAt) if (now - at > REMOVED_MEMORY_MS) this.removedAt.delete(id);
    const missing: { id: string; partition: number }[] = [];
    for (const key of await store.keys(prefix)) {
      const id = key.slice(prefix.length);
      if (this.resourceIds.has(id) || this.removedAt.has(id)) continue;
      const partition = await bus.partitionOf(topic, id);
      if (owned.has(partition)) missing.push({ id, partition });
    }
    this.inventoryMissing = missing.length;
    if (missing.length === 0 || this.stopping) return;
    const texts = await store.getMany(missing.map((m) => keys.resource(site, m.id)));
    let restored = 0;
    missing.forEach((m, i) => {
      const text = texts[i];
      if (text === undefined || this.resourceIds.has(m.id)) return;
      const where = keys.resource(site, m.id);
      let parsed;
      try {
        parsed = parseResource(parseJson(text, where), where);
      } catch {
        return;
      }
      if (!parsed.ok || parsed.value.resource_site !== site || parsed.value.resource_id !== m.id) return;
      this.partitionOf.set(m.id, `${topic}[${m.partition}]`);
      this.upsert(parsed.value, true);
      restored++;
    });
    this.inventoryAdopted += restored;
    logger.warn(
      {
        topic,
        partitions: [...owned],
        missing: missing.length,
        restored,
        examples: missing.slice(0, 5).map((m) => m.id),
      },
      `${missing.length} resources of the store's inventory for this node's partitions are not in ${topic} ` +
        "(the cluster dropped their records?): polled from the store's copy; discovery publishes them " +
        'again within discovery.republish_seconds',
    );
  }

  /** Stops the actors of the resources of partitions this node no longer owns. */
  private async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.stopping) return;
    const lost = new Set(partitions.map((tp) => `${tp.topic}[${tp.partition}]`));
    const ids = [...this.partitionOf].filter(([, p]) => lost.has(p)).map(([id]) => id);
    for (const id of ids) {
      this.partitionOf.delete(id);
      this.resourceIds.delete(id);
    }
    await Promise.all(
      ids.flatMap((id) => [this.enrichment.removeResource(id), this.polling.removeResource(id)]),
    );
    this.options.logger.info(
      { partitions: [...lost], resources: ids.length },
      'partitions revoked; their resources stopped',
    );
  }

  /** `parsed`: the resource comes straight from parseResource, so it need not be validated again. */
  private upsert(input: Resource, parsed = false): void {
    // Frozen and remembered as valid: plugins cannot change it, and the groups they return for
    // it skip the resource's schema check.
    const resource = deepFreeze(input);
    rememberValidResource(resource, { parsed });
    this.resourceIds.add(resource.resource_id);
    this.enrichment.upsertResource(resource);
    this.polling.upsertResource(resource);
  }

  private async onResource(message: BusMessage): Promise<void> {
    this.stats.resourcesReceived++;
    const where = `${message.topic}[${message.partition}]@${message.offset}`;
    if (message.value === null) {
      if (message.key === null) return;
      this.removedAt.set(message.key, Date.now());
      this.resourceIds.delete(message.key);
      this.partitionOf.delete(message.key);
      await Promise.all([
        this.enrichment.removeResource(message.key),
        this.polling.removeResource(message.key),
      ]);
      return;
    }
    const maxBytes = this.options.maxResourceBytes ?? 65_536;
    if (message.value.length > maxBytes) {
      await this.reject(
        message,
        where,
        `resource record is ${message.value.length} bytes, more than limits.max_resource_bytes (${maxBytes})`,
      );
      return;
    }
    let parsed;
    try {
      parsed = parseResource(parseJson(message.value.toString('utf8'), where), where);
    } catch (e) {
      parsed = { ok: false as const, issues: [{ path: where, message: errorMessage(e) }] };
    }
    if (!parsed.ok) {
      await this.reject(
        message,
        where,
        `resource record is invalid: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      );
      return;
    }
    if (parsed.value.resource_site !== this.options.site) {
      await this.reject(
        message,
        where,
        `resource ${parsed.value.resource_id} belongs to site ${parsed.value.resource_site}, not ${this.options.site}`,
      );
      return;
    }
    this.partitionOf.set(parsed.value.resource_id, `${message.topic}[${message.partition}]`);
    this.removedAt.delete(parsed.value.resource_id);
    this.upsert(parsed.value, true);
  }

  /**
   * A resource record this node will not poll: logged and dead-lettered the first time this
   * process reads it (the table is read again at every rebalance), counted every time.
   */
  private async reject(message: BusMessage, where: string, reason: string): Promise<void> {
    this.stats.resourcesInvalid++;
    if (this.rejected.has(where)) return;
    if (this.rejected.size >= MAX_REMEMBERED_REJECTIONS) this.rejected.clear();
    this.rejected.add(where);
    const { bus, topics, site, logger } = this.options;
    logger.warn(
      { record: where, key: message.key, reason: reason.slice(0, 1000) },
      `resource record refused: ${reason.slice(0, 300)}`,
    );
    try {
      await bus.publish(topics.deadLetter(site), [deadLetterRecord({ message, reason }, 'polling')]);
      this.stats.resourcesDeadLettered++;
    } catch (e) {
      logger.error(
        { record: where, err: errorMessage(e) },
        'could not dead-letter a refused resource record',
      );
    }
  }

  private async publish(
    resource: Resource,
    plugin: LoadedPlugin,
    groups: readonly MetricsGroup[],
  ): Promise<void> {
    const { bus, topics, site, logger } = this.options;
    const messages: { key: string; value: string }[] = [];
    let metrics = 0;
    const maxBytes = this.options.maxRecordBytes ?? 1024 * 1024;
    groups.forEach((group, i) => {
      // Plugins are code we do not control: what they return is checked like any input.
      const parsed = checkMetricsGroup(group, `${plugin.definition.name}[${i}]`);
      if (!parsed.ok) {
        this.stats.groupsInvalid++;
        logger.warn(
          {
            plugin: plugin.definition.name,
            resource: resource.resource_id,
            issues: parsed.issues.map((x) => `${x.path}: ${x.message}`),
          },
          'metrics group is invalid; dropped',
        );
        return;
      }
      const text = metricsGroupToJsonText(parsed.value);
      if (text.length > maxBytes) {
        this.stats.groupsInvalid++;
        logger.warn(
          {
            plugin: plugin.definition.name,
            resource: resource.resource_id,
            group: group.metrics_group_type,
            bytes: text.length,
            limit: maxBytes,
          },
          'metrics group larger than limits.max_record_bytes; dropped',
        );
        return;
      }
      metrics += group.metrics.length;
      messages.push({ key: resource.resource_id, value: text });
    });
    if (messages.length === 0) return;
    await bus.publish(topics.processed(site), messages);
    if (this.options.globalTopic !== undefined) await bus.publish(this.options.globalTopic, messages);
    this.stats.groupsPublished += messages.length;
    this.stats.metricsPublished += metrics;
  }
}
