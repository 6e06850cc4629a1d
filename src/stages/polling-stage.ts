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
}

export interface PollingStageStats {
  /** Resource records received (upserts and tombstones). */
  resourcesReceived: number;
  /** Resource records that did not parse. */
  resourcesInvalid: number;
  /** Metrics groups published. */
  groupsPublished: number;
  /** Metrics in the groups published. */
  metricsPublished: number;
  /** Metrics groups dropped because they failed validation. */
  groupsInvalid: number;
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

export class PollingStage {
  readonly stats: PollingStageStats = {
    resourcesReceived: 0,
    resourcesInvalid: 0,
    groupsPublished: 0,
    metricsPublished: 0,
    groupsInvalid: 0,
  };
  readonly enrichment: PollingAgent;
  readonly polling: PollingAgent;
  private readonly options: PollingStageOptions;
  private subscription: Subscription | undefined;
  private readonly resourceIds = new Set<string>();
  /** Which partition each resource came from, to drop them when the partition is revoked. */
  private readonly partitionOf = new Map<string, string>();
  private stopping = false;

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
    });
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
    await this.subscription?.stop();
    await Promise.all([this.polling.stop(), this.enrichment.stop()]);
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
      this.resourceIds.delete(message.key);
      this.partitionOf.delete(message.key);
      await Promise.all([
        this.enrichment.removeResource(message.key),
        this.polling.removeResource(message.key),
      ]);
      return;
    }
    let parsed;
    try {
      parsed = parseResource(parseJson(message.value.toString('utf8'), where), where);
    } catch (e) {
      parsed = { ok: false as const, issues: [{ path: where, message: String(e) }] };
    }
    if (!parsed.ok) {
      this.stats.resourcesInvalid++;
      this.options.logger.warn(
        { record: where, key: message.key, issues: parsed.issues.map((i) => `${i.path}: ${i.message}`) },
        'resource record is invalid; skipped',
      );
      return;
    }
    this.partitionOf.set(parsed.value.resource_id, `${message.topic}[${message.partition}]`);
    this.upsert(parsed.value, true);
  }

  private async publish(
    resource: Resource,
    plugin: LoadedPlugin,
    groups: readonly MetricsGroup[],
  ): Promise<void> {
    const { bus, topics, site, logger } = this.options;
    const messages: { key: string; value: string }[] = [];
    let metrics = 0;
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
      metrics += group.metrics.length;
      messages.push({ key: resource.resource_id, value: metricsGroupToJsonText(parsed.value) });
    });
    if (messages.length === 0) return;
    await bus.publish(topics.processed(site), messages);
    if (this.options.globalTopic !== undefined) await bus.publish(this.options.globalTopic, messages);
    this.stats.groupsPublished += messages.length;
    this.stats.metricsPublished += metrics;
  }
}
