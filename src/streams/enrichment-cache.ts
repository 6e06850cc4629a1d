/**
 * The enrichment side of the join: an in-process LRU in front of the store's enrichment keys.
 *
 * - A group is never handed out past its own TTL (creation_timestamp + enrichment_ttl), whatever
 *   the store still holds.
 * - A cached entry is trusted for at most `maxAgeMs` (default 60 s), then read again, so a newer
 *   run of the enrichment plugin on another node is picked up.
 * - A miss is remembered for `missAgeMs` (default 5 s) so a resource without enrichment does not
 *   cost a store round trip on every poll.
 * - Concurrent lookups of one key share one store read.
 * - `put` is write-through for enrichment produced in this process.
 */
import type { EnrichmentGroup } from '../model/index.js';

export interface EnrichmentCacheOptions {
  /** Reads a group from the store (parsed), or undefined. */
  readonly load: (resourceId: string, namespace: string) => Promise<EnrichmentGroup | undefined>;
  /** Entries kept; the least recently used go first. Default 100000. */
  readonly maxEntries?: number;
  /** How long a found group is trusted before the store is read again, ms. Default 60000. */
  readonly maxAgeMs?: number;
  /** How long a miss is remembered, ms. Default 5000. */
  readonly missAgeMs?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

interface Entry {
  readonly group: EnrichmentGroup | undefined;
  /** Epoch ms after which the entry must not be used. */
  readonly until: number;
}

export interface EnrichmentCacheStats {
  hits: number;
  misses: number;
  loads: number;
  expired: number;
  evicted: number;
}

/** Epoch ms at which a group's TTL runs out. */
export function enrichmentExpiry(group: EnrichmentGroup): number {
  return (group.creation_timestamp + group.enrichment_ttl) * 1000;
}

export class EnrichmentCache {
  readonly stats: EnrichmentCacheStats = { hits: 0, misses: 0, loads: 0, expired: 0, evicted: 0 };
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<EnrichmentGroup | undefined>>();
  /**
   * Bumped by put/invalidate/clear: a store read that started before must not overwrite what
   * they did with the older value it read.
   */
  private generation = 0;
  private readonly touched = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly missAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: EnrichmentCacheOptions) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.missAgeMs = options.missAgeMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async get(resourceId: string, namespace: string): Promise<EnrichmentGroup | undefined> {
    const key = `${resourceId}\u0000${namespace}`;
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      if (now < entry.until) {
        this.entries.set(key, entry); // most recently used
        this.stats.hits++;
        return entry.group;
      }
      this.stats.expired++;
    }
    this.stats.misses++;
    let pending = this.loading.get(key);
    if (pending === undefined) {
      this.stats.loads++;
      const started = this.generation;
      pending = this.options.load(resourceId, namespace).then(
        (group) => {
          this.loading.delete(key);
          const touchedAt = this.touched.get(key);
          this.touched.delete(key);
          if (touchedAt !== undefined && touchedAt >= started) {
            // Changed while we read: what the cache holds now is newer.
            return this.valid(this.entries.get(key)?.group, this.now());
          }
          this.remember(key, group, this.now());
          return this.valid(group, this.now());
        },
        (e: unknown) => {
          this.loading.delete(key);
          throw e;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Stores a group produced in this process (write-through). */
  put(resourceId: string, group: EnrichmentGroup): void {
    const key = `${resourceId}\u0000${group.namespace}`;
    this.touch(key);
    this.remember(key, group, this.now());
  }

  invalidate(resourceId: string, namespace: string): void {
    const key = `${resourceId}\u0000${namespace}`;
    this.touch(key);
    this.entries.delete(key);
  }

  clear(): void {
    for (const key of this.loading.keys()) this.touch(key);
    this.entries.clear();
  }

  private touch(key: string): void {
    if (this.loading.has(key)) this.touched.set(key, this.generation);
    this.generation++;
    if (this.loading.size === 0) this.touched.clear();
  }

  private valid(group: EnrichmentGroup | undefined, now: number): EnrichmentGroup | undefined {
    return group !== undefined && now < enrichmentExpiry(group) ? group : undefined;
  }

  private remember(key: string, group: EnrichmentGroup | undefined, now: number): void {
    const usable = this.valid(group, now);
    const until =
      usable === undefined ? now + this.missAgeMs : Math.min(now + this.maxAgeMs, enrichmentExpiry(usable));
    this.entries.delete(key);
    this.entries.set(key, { group: usable, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.stats.evicted++;
    }
  }
}
