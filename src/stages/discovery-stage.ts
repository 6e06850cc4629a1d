/**
 * The discovery stage: runs every discovery plugin on its execute_frequency (the first time at
 * once) and turns what it finds into the resource table on `<site>-resources`:
 *
 * - a resource that is new or changed (anything but its creation timestamp) is published, key
 *   resource_id, and stored under the resource key with its `_resource_ttl`;
 * - a resource a plugin stops returning stays until its `_resource_ttl` has passed since it was
 *   last seen, then a tombstone (null value) removes it, so one bad inventory export does not
 *   make a fleet disappear;
 * - every resource a plugin returns is validated; an invalid one is logged with the plugin and
 *   its index and skipped, the rest go on; a plugin that throws keeps its previous resources.
 */
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';
import type { Subscription } from 'rxjs';
import { timer } from 'rxjs';
import type { MessageBus } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  parseResource,
  resourceFingerprint,
  resourceTtlSeconds,
  resourceToJson,
  stringifyJson,
} from '../model/index.js';
import type { Resource } from '../model/index.js';
import type { DiscoveryPlugin } from '../plugins/api.js';
import type { ContextFactory } from '../plugins/context.js';
import type { LoadedPlugin, PluginSet } from '../plugins/loader.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';

export interface DiscoveryStageOptions {
  readonly logger: Logger;
  readonly bus: MessageBus;
  readonly topics: TopicNames;
  readonly store: KeyValueStore;
  readonly keys: StoreKeys;
  readonly contextFactory: ContextFactory;
  /** The site whose pollers this stage feeds: resources of other sites are published but warned about. */
  readonly site: string;
  /**
   * Every this many seconds a run publishes every resource it found, changed or not, so the
   * resources topic holds the whole inventory again even where the cluster dropped older
   * records (retention on a topic that is not compacted). 0: changes only. Default 3600.
   */
  readonly republishSeconds?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

export interface DiscoveryStats {
  runs: number;
  failures: number;
  /** Resources published (new or changed). */
  published: number;
  /** Resources returned that failed validation. */
  invalid: number;
  /** Tombstones published for resources past their TTL. */
  removed: number;
  /** Resources published again unchanged by the full republish (discovery.republish_seconds). */
  republished: number;
}

interface Known {
  readonly resource: Resource;
  /** The resource's JSON without its creation timestamp, to tell changes. */
  readonly fingerprint: string;
  lastSeen: number;
}

export class DiscoveryStage implements Telemetry {
  readonly stats: DiscoveryStats = {
    runs: 0,
    failures: 0,
    published: 0,
    invalid: 0,
    removed: 0,
    republished: 0,
  };
  /** When each plugin's whole inventory was last published (epoch ms). */
  private readonly fullPublish = new Map<string, number>();
  private readonly options: DiscoveryStageOptions;
  private readonly now: () => number;
  private plugins = new Map<string, LoadedPlugin>();
  private readonly timers = new Map<string, Subscription>();
  /** Resources by plugin name, then resource id. */
  private readonly known = new Map<string, Map<string, Known>>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  metrics(): MetricSample[] {
    const d = this.stats;
    return new SampleList()
      .add('panoptes_discovery_runs_total', 'Discovery plugin runs.', 'counter', d.runs)
      .add('panoptes_discovery_errors_total', 'Discovery runs that failed.', 'counter', d.failures)
      .add('panoptes_discovery_sent_total', 'Resources published (new or changed).', 'counter', d.published)
      .add(
        'panoptes_discovery_dropped_total',
        'Discovered resources dropped as invalid.',
        'counter',
        d.invalid,
      )
      .add('panoptes_discovery_removed_total', 'Resources removed after their TTL.', 'counter', d.removed)
      .add(
        'panoptes_discovery_republished_total',
        'Unchanged resources published again by the full republish (discovery.republish_seconds).',
        'counter',
        d.republished,
      ).samples;
  }

  constructor(options: DiscoveryStageOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Every resource known now (from all plugins), by id. */
  resources(): Map<string, Resource> {
    const out = new Map<string, Resource>();
    for (const byId of this.known.values()) for (const [id, k] of byId) out.set(id, k.resource);
    return out;
  }

  /** The discovery plugins in force; new ones run at once, changed ones are rescheduled. */
  setPlugins(plugins: PluginSet, schedule = true): void {
    const next = new Map([...plugins].filter(([, p]) => p.kind === 'discovery'));
    for (const [name, sub] of this.timers) {
      if (next.get(name) !== this.plugins.get(name)) {
        sub.unsubscribe();
        this.timers.delete(name);
      }
    }
    this.plugins = next;
    if (!schedule || this.stopped) return;
    for (const [name, plugin] of next) {
      if (this.timers.has(name)) continue;
      const period = plugin.definition.executeFrequencySeconds * 1000;
      this.timers.set(
        name,
        timer(period, period).subscribe(() => void this.run(name)),
      );
      void this.run(name);
    }
  }

  /** Resolves when the runs going now have finished (e.g. the first pass after setPlugins). */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /** Runs one plugin (a run already going is waited for instead of started twice). */
  run(name: string): Promise<void> {
    const going = this.running.get(name);
    if (going !== undefined) return going;
    const run = this.doRun(name).finally(() => this.running.delete(name));
    this.running.set(name, run);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const sub of this.timers.values()) sub.unsubscribe();
    this.timers.clear();
    await Promise.all(this.running.values());
  }

  private async doRun(name: string): Promise<void> {
    const plugin = this.plugins.get(name);
    if (plugin === undefined || this.stopped) return;
    const { logger } = this.options;
    const def = plugin.definition;
    this.stats.runs++;
    const controller = new AbortController();
    const timeout = setTimeout(
      () => controller.abort(new Error(`discovery plugin ${name} timed out after ${def.timeoutSeconds} s`)),
      def.timeoutSeconds * 1000,
    );
    let found: readonly Resource[];
    try {
      const ctx = this.options.contextFactory(def, controller.signal);
      found = await Promise.race([
        (plugin.instance as DiscoveryPlugin).discover(ctx),
        new Promise<never>((_, reject) =>
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
            once: true,
          }),
        ),
      ]);
    } catch (e) {
      this.stats.failures++;
      logger.error({ plugin: name, err: errorMessage(e) }, 'discovery plugin failed; its resources are kept');
      return;
    } finally {
      clearTimeout(timeout);
    }
    if (!Array.isArray(found)) {
      this.stats.failures++;
      logger.error(
        { plugin: name },
        'discovery plugin returned no list of resources; its resources are kept',
      );
      return;
    }
    await this.publish(name, found);
  }

  private async publish(name: string, found: readonly Resource[]): Promise<void> {
    const { logger, bus, topics, store, keys, site } = this.options;
    const now = this.now();
    let byId = this.known.get(name);
    if (byId === undefined) this.known.set(name, (byId = new Map<string, Known>()));
    const changed: Resource[] = [];
    const seen = new Set<string>();
    const otherSites = new Map<string, number>();
    const current: Resource[] = [];
    found.forEach((candidate: unknown, index) => {
      // Plugins are code we do not control: check what they return like any input.
      const parsed =
        typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate)
          ? parseResource(resourceToJson(candidate as Resource), `${name}[${index}]`)
          : parseResource(candidate, `${name}[${index}]`);
      if (!parsed.ok) {
        this.stats.invalid++;
        logger.warn(
          { plugin: name, index, issues: parsed.issues.map((i) => `${i.path}: ${i.message}`) },
          'discovered resource is invalid; skipped',
        );
        return;
      }
      const resource = parsed.value;
      if (seen.has(resource.resource_id)) {
        logger.warn(
          { plugin: name, resource: resource.resource_id },
          'resource returned twice; the first is kept',
        );
        return;
      }
      seen.add(resource.resource_id);
      if (resource.resource_site !== site)
        otherSites.set(resource.resource_site, (otherSites.get(resource.resource_site) ?? 0) + 1);
      const fp = resourceFingerprint(resource);
      const known = byId.get(resource.resource_id);
      if (known !== undefined && known.fingerprint === fp) {
        known.lastSeen = now;
        current.push(known.resource);
        return;
      }
      byId.set(resource.resource_id, { resource, fingerprint: fp, lastSeen: now });
      changed.push(resource);
      current.push(resource);
    });
    for (const [other, count] of otherSites) {
      logger.warn(
        { plugin: name, site: other, resources: count },
        `resources of site ${other} go to ${topics.resources(other)}; this site's pollers do not poll them`,
      );
    }

    const expired: Resource[] = [];
    for (const [id, k] of byId) {
      if (!seen.has(id) && now - k.lastSeen > resourceTtlSeconds(k.resource) * 1000) {
        byId.delete(id);
        expired.push(k.resource);
      }
    }

    const bySite = new Map<string, { key: string; value: string | null }[]>();
    const add = (r: Resource, value: string | null): void => {
      let list = bySite.get(r.resource_site);
      if (list === undefined) bySite.set(r.resource_site, (list = []));
      list.push({ key: r.resource_id, value });
    };
    const republishMs = (this.options.republishSeconds ?? 3600) * 1000;
    const lastFull = this.fullPublish.get(name);
    const full = republishMs > 0 && (lastFull === undefined || now - lastFull >= republishMs);
    const outgoing = full ? current : changed;
    for (const r of outgoing) add(r, stringifyJson(resourceToJson(r)));
    for (const r of expired) add(r, null);
    try {
      for (const [s, messages] of bySite) await bus.publish(topics.resources(s), messages);
      // Every resource seen now is stored again, so its TTL counts from this sighting.
      await store.setMany(
        current.map((r) => ({
          key: keys.resource(r.resource_site, r.resource_id),
          value: stringifyJson(resourceToJson(r)),
          ttlMs: resourceTtlSeconds(r) * 1000,
        })),
      );
      for (const r of expired) await store.delete(keys.resource(r.resource_site, r.resource_id));
    } catch (e) {
      // Forget what was not published, so the next run tries again.
      for (const r of changed) byId.delete(r.resource_id);
      this.stats.failures++;
      logger.error({ plugin: name, err: errorMessage(e) }, 'publishing discovered resources failed');
      return;
    }
    this.stats.published += changed.length;
    this.stats.removed += expired.length;
    if (full) {
      this.fullPublish.set(name, now);
      this.stats.republished += current.length - changed.length;
    }
    logger.info(
      {
        plugin: name,
        resources: byId.size,
        changed: changed.length,
        removed: expired.length,
        ...(full ? { republishedAll: current.length } : {}),
      },
      'discovery run done',
    );
  }
}
