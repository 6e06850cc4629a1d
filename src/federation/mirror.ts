/**
 * Resources from the centre: the central site's discovery output for an edge
 * (`<edge>-resources` on the central cluster, where central discovery puts every resource whose
 * resource_site is the edge) copied to the edge's own `<edge>-resources`, so one inventory feeds
 * every site and the edge runs no discovery of its own.
 *
 * - The upstream topic is a table: the mirror reads it from its start whenever it gains a
 *   partition, and publishes every record to the local topic unchanged (key, value, headers; a
 *   tombstone stays a tombstone). Records are handled in batches; a batch that cannot be
 *   published locally is retried until it can.
 * - The last copy is kept on local disk (an LMDB database beside the spool): an edge that
 *   restarts while the centre cannot be reached publishes it to the local topic at start, so an
 *   in-process bus (which forgets everything on restart) still has its inventory and polling
 *   goes on through the outage. Entries not seen from the centre for longer than their
 *   resource's TTL are left out then (central discovery republishes every resource it still
 *   sees, by default each hour).
 * - Subscribing waits for the central cluster in the background; start() never blocks on it.
 */
import { mkdir } from 'node:fs/promises';
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { parseJson } from '../model/json.js';
import { DEFAULT_RESOURCE_TTL_SECONDS, parseResource, resourceTtlSeconds } from '../model/resource.js';
import { SampleList } from '../telemetry.js';
import type { MetricSample, Telemetry } from '../telemetry.js';

/** One cached resource record: its text as the centre published it and when it was last seen. */
interface CachedResource {
  readonly v: string;
  readonly h: Readonly<Record<string, string>>;
  /** Epoch ms of the last copy from the centre. */
  readonly a: number;
}

/** The mirror's local copy of the centre's resource table (key: resource id). */
export class MirrorCache {
  private constructor(private readonly db: RootDatabase<CachedResource, string>) {}

  static async open(dir: string): Promise<MirrorCache> {
    try {
      await mkdir(dir, { recursive: true });
      return new MirrorCache(open<CachedResource, string>({ path: dir, encoding: 'msgpack' }));
    } catch (e) {
      throw new PanoptesError('USAGE', `resource mirror: cannot open ${dir}: ${errorMessage(e)}`);
    }
  }

  /** Writes what a batch from the centre said: a value replaces, null removes. On disk when it resolves. */
  async apply(
    records: readonly { key: string; value: string | null; headers: Readonly<Record<string, string>> }[],
    at: number,
  ): Promise<void> {
    await this.db.transaction(() => {
      for (const r of records) {
        if (r.value === null) void this.db.remove(r.key);
        else void this.db.put(r.key, { v: r.value, h: r.headers, a: at });
      }
    });
  }

  /** Every cached record, by resource id. */
  entries(): { key: string; value: string; headers: Readonly<Record<string, string>>; seenAt: number }[] {
    const out = [];
    for (const { key, value } of this.db.getRange())
      out.push({ key, value: value.v, headers: value.h, seenAt: value.a });
    return out;
  }

  get size(): number {
    return this.db.getCount();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export interface ResourceMirrorOptions {
  /** The central cluster's bus. */
  readonly upstream: MessageBus;
  /** The edge's bus. */
  readonly local: MessageBus;
  /** On the central cluster, e.g. `edge1-resources`. */
  readonly sourceTopic: string;
  /** On the edge's bus, e.g. `edge1-resources`. */
  readonly targetTopic: string;
  /** Consumer group on the central cluster. */
  readonly groupId: string;
  readonly cache: MirrorCache;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface ResourceMirrorStats {
  /** Records copied from the centre (values and tombstones). */
  copied: number;
  /** Of them, tombstones (resources the centre removed). */
  removed: number;
  /** Cached records published at start, before the centre answered. */
  restored: number;
  /** Cached records left out at start: not seen from the centre within their TTL. */
  expired: number;
}

export class ResourceMirror implements Telemetry {
  readonly stats: ResourceMirrorStats = { copied: 0, removed: 0, restored: 0, expired: 0 };
  private subscription: Subscription | undefined;
  private subscribing: Promise<void> | undefined;
  private stopped = false;
  private lastCopyAt: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ResourceMirrorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Publishes the cached copy locally, then starts reading the centre's table in the background. */
  async start(): Promise<void> {
    if (this.subscribing !== undefined) throw new PanoptesError('USAGE', 'resource mirror: started twice');
    await this.restore();
    const { upstream, sourceTopic, groupId, logger } = this.options;
    this.subscribing = upstream
      .subscribe({
        groupId,
        topics: [sourceTopic],
        fromBeginning: true,
        readFromStartOnAssign: true,
        maxAttempts: Infinity,
        handleBatch: (messages) => this.copy(messages),
      })
      .then(async (s) => {
        if (this.stopped) await s.stop();
        else {
          this.subscription = s;
          logger.info(
            { from: sourceTopic, to: this.options.targetTopic },
            'mirroring resources from the centre',
          );
        }
      })
      .catch((e: unknown) => {
        if (!this.stopped)
          logger.error({ from: sourceTopic, err: errorMessage(e) }, 'cannot read resources from the centre');
      });
  }

  /** The cached copy to the local topic, leaving out what the centre has not confirmed within its TTL. */
  private async restore(): Promise<void> {
    const { cache, local, targetTopic, logger } = this.options;
    const now = this.now();
    const messages = [];
    const expired: string[] = [];
    for (const e of cache.entries()) {
      const ttlMs = cachedTtlSeconds(e.value) * 1000;
      if (now - e.seenAt > ttlMs) expired.push(e.key);
      else messages.push({ key: e.key, value: e.value, headers: e.headers });
    }
    if (expired.length > 0) {
      await cache.apply(
        expired.map((key) => ({ key, value: null, headers: {} })),
        now,
      );
      this.stats.expired += expired.length;
    }
    if (messages.length > 0) await local.publish(targetTopic, messages);
    this.stats.restored += messages.length;
    if (messages.length > 0 || expired.length > 0)
      logger.info(
        { to: targetTopic, resources: messages.length, expired: expired.length },
        'resources from the last copy of the centre published locally',
      );
  }

  /** One batch from the centre: to the local topic, then to the cache. */
  private async copy(messages: readonly BusMessage[]): Promise<void> {
    const records = [];
    for (const m of messages) {
      if (m.key === null) continue; // a table record without a key names no resource
      records.push({
        key: m.key,
        value: m.value === null ? null : m.value.toString('utf8'),
        headers: m.headers,
      });
    }
    if (records.length === 0) return;
    await this.options.local.publish(this.options.targetTopic, records);
    const at = this.now();
    await this.options.cache.apply(records, at);
    this.lastCopyAt = at;
    this.stats.copied += records.length;
    this.stats.removed += records.filter((r) => r.value === null).length;
  }

  /** Stops reading; a subscription still waiting for the centre is stopped when it completes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
  }

  metrics(): MetricSample[] {
    const s = this.stats;
    return new SampleList()
      .add(
        'panoptes_mirror_resources',
        'Resources in the local copy of the centre table.',
        'gauge',
        this.options.cache.size,
      )
      .add(
        'panoptes_mirror_copied_total',
        'Resource records copied from the centre (with tombstones).',
        'counter',
        s.copied,
      )
      .add(
        'panoptes_mirror_removed_total',
        'Tombstones copied from the centre (resources removed).',
        'counter',
        s.removed,
      )
      .add(
        'panoptes_mirror_restored_total',
        'Cached resources published locally at start.',
        'counter',
        s.restored,
      )
      .add(
        'panoptes_mirror_expired_total',
        'Cached resources left out at start (past their TTL).',
        'counter',
        s.expired,
      )
      .add(
        'panoptes_mirror_last_copy_timestamp_seconds',
        'When a record was last copied from the centre (0: not yet since start).',
        'gauge',
        this.lastCopyAt === undefined ? 0 : this.lastCopyAt / 1000,
      ).samples;
  }
}

/** A cached record's resource TTL; the default for one that is not a valid resource (its pollers report it). */
function cachedTtlSeconds(text: string): number {
  try {
    const parsed = parseResource(parseJson(text));
    return parsed.ok ? resourceTtlSeconds(parsed.value) : DEFAULT_RESOURCE_TTL_SECONDS;
  } catch {
    return DEFAULT_RESOURCE_TTL_SECONDS;
  }
}
