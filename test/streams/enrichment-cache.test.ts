import { describe, expect, it } from 'vitest';
import type { EnrichmentGroup } from '../../src/model/index.js';
import { EnrichmentCache, enrichmentExpiry } from '../../src/streams/enrichment-cache.js';
import type { EnrichmentCacheOptions } from '../../src/streams/enrichment-cache.js';
import { deferred, settle } from '../support/virtual-time.js';
import type { Deferred } from '../support/virtual-time.js';

/** 1 January 2024, ms. */
const T0 = Date.UTC(2024, 0, 1);

function enrichment(namespace: string, overrides: Partial<EnrichmentGroup> = {}): EnrichmentGroup {
  return {
    namespace,
    enrichment_ttl: 3600,
    execute_frequency: 600,
    creation_timestamp: T0 / 1000,
    data: { '1': { interface_name: 'Gi0/1', speed: 1_000_000_000 } },
    ...overrides,
  };
}

/** A cache on a hand-moved clock whose loads are counted and answered from `stored`. */
class Fixture {
  clock = T0;
  readonly loads: string[] = [];
  readonly stored = new Map<string, EnrichmentGroup>();
  /** When set, loads wait for the test to answer them. */
  pending: Deferred<EnrichmentGroup | undefined>[] | undefined;
  readonly cache: EnrichmentCache;

  constructor(options: Partial<EnrichmentCacheOptions> = {}) {
    this.cache = new EnrichmentCache({
      now: () => this.clock,
      load: (resourceId, namespace) => {
        this.loads.push(`${resourceId}/${namespace}`);
        if (this.pending !== undefined) {
          const d = deferred<EnrichmentGroup | undefined>();
          this.pending.push(d);
          return d.promise;
        }
        return Promise.resolve(this.stored.get(`${resourceId}/${namespace}`));
      },
      ...options,
    });
  }

  store(resourceId: string, group: EnrichmentGroup): EnrichmentGroup {
    this.stored.set(`${resourceId}/${group.namespace}`, group);
    return group;
  }
}

describe('EnrichmentCache: freshness', () => {
  it('a hit within maxAgeMs does not read the store again; at maxAgeMs it does', async () => {
    const f = new Fixture({ maxAgeMs: 60_000 });
    const g = f.store('r1', enrichment('interface'));
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    f.clock += 59_999;
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toEqual(['r1/interface']);
    // Another node wrote a newer version meanwhile.
    const newer = f.store('r1', enrichment('interface', { creation_timestamp: f.clock / 1000 }));
    f.clock += 1;
    expect(await f.cache.get('r1', 'interface')).toBe(newer);
    expect(f.loads).toEqual(['r1/interface', 'r1/interface']);
    expect(f.cache.stats).toMatchObject({ hits: 1, misses: 2, loads: 2, expired: 1 });
  });

  it('the maxAgeMs window starts at the load, not at each hit', async () => {
    const f = new Fixture({ maxAgeMs: 10_000 });
    f.store('r1', enrichment('interface'));
    await f.cache.get('r1', 'interface');
    for (let i = 0; i < 4; i++) {
      f.clock += 3000;
      await f.cache.get('r1', 'interface');
    }
    // Hits at +3, +6, +9 s; a load at +12 s.
    expect(f.loads).toHaveLength(2);
  });

  it('never returns a group past its own TTL, even when the store still returns it', async () => {
    const f = new Fixture({ maxAgeMs: 60_000, missAgeMs: 5000 });
    // Created 3601 s ago with a TTL of 3600 s.
    f.store('r1', enrichment('interface', { creation_timestamp: (T0 - 3_601_000) / 1000 }));
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    expect(f.loads).toHaveLength(1);
    // It counts as a miss (remembered for missAgeMs), not as a group.
    f.clock += 4999;
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    expect(f.loads).toHaveLength(1);
  });

  it('a cached group is not handed out past its TTL, even within maxAgeMs', async () => {
    const f = new Fixture({ maxAgeMs: 60_000 });
    // 10 s of TTL left.
    const g = f.store('r1', enrichment('interface', { creation_timestamp: (T0 - 3_590_000) / 1000 }));
    expect(enrichmentExpiry(g)).toBe(T0 + 10_000);
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    f.clock = T0 + 9_999;
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toHaveLength(1);
    f.clock = T0 + 10_000;
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    expect(f.loads).toHaveLength(2);
  });

  it('remembers a miss for missAgeMs, then reads the store again', async () => {
    const f = new Fixture({ missAgeMs: 5000 });
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    f.clock += 4999;
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    expect(f.loads).toHaveLength(1);
    const g = f.store('r1', enrichment('interface'));
    f.clock += 1;
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toHaveLength(2);
  });

  it('keys are resource and namespace: each is loaded and cached on its own', async () => {
    const f = new Fixture();
    const a = f.store('r1', enrichment('interface'));
    const b = f.store('r1', enrichment('neighbor'));
    const c = f.store('r2', enrichment('interface'));
    expect(await f.cache.get('r1', 'interface')).toBe(a);
    expect(await f.cache.get('r1', 'neighbor')).toBe(b);
    expect(await f.cache.get('r2', 'interface')).toBe(c);
    expect(await f.cache.get('r1', 'interface')).toBe(a);
    expect(f.loads).toEqual(['r1/interface', 'r1/neighbor', 'r2/interface']);
    expect(f.cache.size).toBe(3);
  });
});

describe('EnrichmentCache: loads', () => {
  it('concurrent gets of one key share one load', async () => {
    const f = new Fixture();
    f.pending = [];
    const gets = [
      f.cache.get('r1', 'interface'),
      f.cache.get('r1', 'interface'),
      f.cache.get('r1', 'interface'),
    ];
    const other = f.cache.get('r1', 'neighbor');
    await settle();
    expect(f.loads).toEqual(['r1/interface', 'r1/neighbor']);
    const g = enrichment('interface');
    f.pending[0]?.resolve(g);
    f.pending[1]?.resolve(undefined);
    expect(await Promise.all(gets)).toEqual([g, g, g]);
    expect(await other).toBeUndefined();
    expect(f.cache.stats).toMatchObject({ loads: 2, misses: 4, hits: 0 });
    // And the result is cached.
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toHaveLength(2);
  });

  it('a load that rejects rejects every waiting get and is not cached', async () => {
    const f = new Fixture();
    f.pending = [];
    const first = f.cache.get('r1', 'interface');
    const second = f.cache.get('r1', 'interface');
    await settle();
    f.pending[0]?.reject(new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await expect(second).rejects.toThrow('store down');
    expect(f.cache.size).toBe(0);
    f.pending = undefined;
    const g = f.store('r1', enrichment('interface'));
    // Not remembered as a miss either: the next get loads again at once.
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toHaveLength(2);
  });

  it('put() is returned without a load', async () => {
    const f = new Fixture();
    f.store('r1', enrichment('interface', { data: { '1': { interface_name: 'old' } } }));
    const mine = enrichment('interface');
    f.cache.put('r1', mine);
    expect(await f.cache.get('r1', 'interface')).toBe(mine);
    expect(f.loads).toEqual([]);
    expect(f.cache.stats).toMatchObject({ hits: 1, loads: 0 });
  });

  it('put() replaces a cached entry and a remembered miss', async () => {
    const f = new Fixture();
    expect(await f.cache.get('r1', 'interface')).toBeUndefined();
    const g = enrichment('interface');
    f.cache.put('r1', g);
    expect(await f.cache.get('r1', 'interface')).toBe(g);
    expect(f.loads).toHaveLength(1);
  });

  it('invalidate() and clear() make the next get load', async () => {
    const f = new Fixture();
    f.store('r1', enrichment('interface'));
    await f.cache.get('r1', 'interface');
    f.cache.invalidate('r1', 'interface');
    await f.cache.get('r1', 'interface');
    f.cache.clear();
    expect(f.cache.size).toBe(0);
    await f.cache.get('r1', 'interface');
    expect(f.loads).toHaveLength(3);
  });
});

describe('EnrichmentCache: LRU', () => {
  it('evicts the least recently used entry at maxEntries', async () => {
    const f = new Fixture({ maxEntries: 3 });
    for (const r of ['a', 'b', 'c', 'd', 'e']) f.store(r, enrichment('interface'));
    for (const r of ['a', 'b', 'c']) await f.cache.get(r, 'interface');
    // Touch a: b is now the least recently used.
    await f.cache.get('a', 'interface');
    await f.cache.get('d', 'interface'); // evicts b
    expect(f.cache.size).toBe(3);
    expect(f.cache.stats.evicted).toBe(1);
    f.loads.length = 0;
    for (const r of ['a', 'c', 'd']) await f.cache.get(r, 'interface');
    expect(f.loads).toEqual([]);
    await f.cache.get('b', 'interface'); // reloaded; evicts the LRU of a, c, d: a
    expect(f.loads).toEqual(['b/interface']);
    await f.cache.get('a', 'interface');
    expect(f.loads).toEqual(['b/interface', 'a/interface']);
    expect(f.cache.stats.evicted).toBe(3);
    expect(f.cache.size).toBe(3);
  });

  it('put() counts as a use and evicts too', async () => {
    const f = new Fixture({ maxEntries: 2 });
    f.cache.put('a', enrichment('interface'));
    f.cache.put('b', enrichment('interface'));
    await f.cache.get('a', 'interface');
    f.cache.put('c', enrichment('interface')); // evicts b
    expect(f.cache.stats.evicted).toBe(1);
    await f.cache.get('a', 'interface');
    await f.cache.get('c', 'interface');
    expect(f.loads).toEqual([]);
    await f.cache.get('b', 'interface');
    expect(f.loads).toEqual(['b/interface']);
  });

  it('remembered misses take room like groups', async () => {
    const f = new Fixture({ maxEntries: 2 });
    for (const r of ['a', 'b', 'c']) await f.cache.get(r, 'interface');
    expect(f.cache.size).toBe(2);
    expect(f.cache.stats).toMatchObject({ evicted: 1, loads: 3 });
  });
});

describe('EnrichmentCache: stats', () => {
  it('counts hits, misses, loads, expired and evicted', async () => {
    const f = new Fixture({ maxEntries: 2, maxAgeMs: 1000, missAgeMs: 500 });
    f.store('r1', enrichment('interface'));
    await f.cache.get('r1', 'interface'); // miss + load
    await f.cache.get('r1', 'interface'); // hit
    await f.cache.get('r2', 'interface'); // miss + load (remembered miss)
    await f.cache.get('r2', 'interface'); // hit on the miss
    f.clock += 500;
    await f.cache.get('r2', 'interface'); // expired miss: miss + load
    f.clock += 500;
    await f.cache.get('r1', 'interface'); // expired: miss + load
    await f.cache.get('r3', 'interface'); // miss + load, evicts r2
    expect(f.cache.stats).toEqual({ hits: 2, misses: 5, loads: 5, expired: 2, evicted: 1 });
  });

  it('uses Date.now and the documented defaults when not given', async () => {
    let loads = 0;
    const g = enrichment('interface', { creation_timestamp: Date.now() / 1000 });
    const cache = new EnrichmentCache({
      load: () => {
        loads++;
        return Promise.resolve(g);
      },
    });
    expect(await cache.get('r1', 'interface')).toBe(g);
    expect(await cache.get('r1', 'interface')).toBe(g);
    expect(loads).toBe(1);
  });
});

describe('EnrichmentCache: writes during a store read', () => {
  it('a put while a read of the same key is in flight is not overwritten by the older value read', async () => {
    const f = new Fixture();
    f.pending = [];
    const reading = f.cache.get('r1', 'interface');
    const newer = enrichment('interface', { creation_timestamp: T0 / 1000 + 60 });
    f.cache.put('r1', newer);
    f.pending[0]?.resolve(enrichment('interface'));
    expect(await reading).toBe(newer);
    f.pending = undefined;
    expect(await f.cache.get('r1', 'interface')).toBe(newer);
    expect(f.loads).toEqual(['r1/interface']);
  });

  it('an invalidate while a read is in flight makes the next get read the store again', async () => {
    const f = new Fixture();
    f.pending = [];
    const reading = f.cache.get('r1', 'interface');
    f.cache.invalidate('r1', 'interface');
    f.pending[0]?.resolve(enrichment('interface'));
    await reading;
    f.pending = undefined;
    const fresh = f.store('r1', enrichment('interface', { creation_timestamp: T0 / 1000 + 5 }));
    expect(await f.cache.get('r1', 'interface')).toBe(fresh);
    expect(f.loads).toEqual(['r1/interface', 'r1/interface']);
  });
});
