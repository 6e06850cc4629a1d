import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { storeContract } from './store-contract.js';

/** A store on a clock the test moves by hand. */
function storeAt(start = 1_000_000): { store: MemoryStore; clock: { now: number } } {
  const clock = { now: start };
  return { store: new MemoryStore({ now: () => clock.now, sweepIntervalMs: 0 }), clock };
}

afterEach(() => {
  vi.useRealTimers();
});

// The shared KeyValueStore behaviour, on a virtual clock.
storeContract('MemoryStore', () => {
  const { store, clock } = storeAt();
  return Promise.resolve({
    store,
    advance: (ms: number) => {
      clock.now += ms;
      return Promise.resolve();
    },
  });
});

describe('MemoryStore strings and TTL', () => {
  it('gets what was set, undefined for a missing key, and delete reports whether the key existed', async () => {
    const { store } = storeAt();
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', 'v1');
    expect(await store.get('k')).toBe('v1');
    await store.set('k', 'v2');
    expect(await store.get('k')).toBe('v2');
    expect(await store.delete('k')).toBe(true);
    expect(await store.delete('k')).toBe(false);
    expect(await store.get('k')).toBeUndefined();
  });

  it('expires a key exactly ttlMs after it was set, on the injected clock', async () => {
    const { store, clock } = storeAt();
    await store.set('k', 'v', { ttlMs: 1000 });
    expect(await store.ttlMs('k')).toBe(1000);
    clock.now += 999;
    expect(await store.get('k')).toBe('v');
    expect(await store.ttlMs('k')).toBe(1);
    clock.now += 1;
    expect(await store.get('k')).toBeUndefined();
    expect(await store.ttlMs('k')).toBeUndefined();
    expect(await store.delete('k')).toBe(false);
  });

  it('a key without TTL never expires and has no ttlMs; set without TTL clears an earlier TTL', async () => {
    const { store, clock } = storeAt();
    await store.set('forever', 'v');
    expect(await store.ttlMs('forever')).toBeUndefined();
    await store.set('k', 'v', { ttlMs: 10 });
    await store.set('k', 'v2');
    clock.now += 1_000_000_000;
    expect(await store.get('forever')).toBe('v');
    expect(await store.get('k')).toBe('v2');
  });

  it('setting a key again restarts its TTL', async () => {
    const { store, clock } = storeAt();
    await store.set('k', 'v', { ttlMs: 1000 });
    clock.now += 800;
    await store.set('k', 'v', { ttlMs: 1000 });
    clock.now += 800;
    expect(await store.get('k')).toBe('v');
    clock.now += 200;
    expect(await store.get('k')).toBeUndefined();
  });

  it('uses Date.now by default (works with fake timers)', async () => {
    vi.useFakeTimers({ now: 5_000_000 });
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    await store.set('k', 'v', { ttlMs: 50 });
    vi.advanceTimersByTime(49);
    expect(await store.get('k')).toBe('v');
    vi.advanceTimersByTime(1);
    expect(await store.get('k')).toBeUndefined();
    await store.close();
  });
});

describe('MemoryStore batches and prefixes', () => {
  it('getMany returns values in the order of the keys, undefined where missing or expired', async () => {
    const { store, clock } = storeAt();
    await store.setMany([
      { key: 'a', value: '1' },
      { key: 'b', value: '2', ttlMs: 100 },
      { key: 'c', value: '3', ttlMs: 1000 },
    ]);
    expect(await store.getMany(['c', 'missing', 'a', 'b'])).toEqual(['3', undefined, '1', '2']);
    expect(await store.ttlMs('a')).toBeUndefined();
    expect(await store.ttlMs('b')).toBe(100);
    clock.now += 100;
    expect(await store.getMany(['a', 'b', 'c'])).toEqual(['1', undefined, '3']);
    expect(await store.getMany([])).toEqual([]);
  });

  it('keys(prefix) lists the live keys that start with the prefix', async () => {
    const { store, clock } = storeAt();
    await store.set('panoptes:resources:dc1:r1', 'x');
    await store.set('panoptes:resources:dc1:r2', 'x', { ttlMs: 10 });
    await store.set('panoptes:resources:dc10:r3', 'x');
    await store.set('panoptes:lock:p:r1', 'x');
    await store.hset('panoptes:resources:dc1:h', { f: 'v' });
    expect((await store.keys('panoptes:resources:dc1:')).sort()).toEqual([
      'panoptes:resources:dc1:h',
      'panoptes:resources:dc1:r1',
      'panoptes:resources:dc1:r2',
    ]);
    clock.now += 10;
    expect((await store.keys('panoptes:resources:dc1:')).sort()).toEqual([
      'panoptes:resources:dc1:h',
      'panoptes:resources:dc1:r1',
    ]);
    expect(await store.keys('nothing:')).toEqual([]);
    expect((await store.keys('')).length).toBe(4);
  });
});

describe('MemoryStore hashes', () => {
  it('hset merges fields, hget/hgetall read them, hdel removes them and the key with the last one', async () => {
    const { store } = storeAt();
    expect(await store.hgetall('h')).toEqual({});
    expect(await store.hget('h', 'a')).toBeUndefined();
    await store.hset('h', { a: '1', b: '2' });
    await store.hset('h', { b: '3', c: '4' });
    expect(await store.hget('h', 'b')).toBe('3');
    expect(await store.hgetall('h')).toEqual({ a: '1', b: '3', c: '4' });
    expect(await store.hdel('h', ['a', 'missing'])).toBe(1);
    expect(await store.hgetall('h')).toEqual({ b: '3', c: '4' });
    expect(await store.hdel('h', ['b', 'c'])).toBe(2);
    expect(await store.keys('h')).toEqual([]);
    expect(await store.hdel('h', ['b'])).toBe(0);
  });

  it('a hash expires with its TTL; hset without TTL keeps the existing one', async () => {
    const { store, clock } = storeAt();
    await store.hset('h', { a: '1' }, { ttlMs: 1000 });
    clock.now += 500;
    await store.hset('h', { b: '2' });
    expect(await store.ttlMs('h')).toBe(500);
    clock.now += 499;
    expect(await store.hgetall('h')).toEqual({ a: '1', b: '2' });
    clock.now += 1;
    expect(await store.hgetall('h')).toEqual({});
    expect(await store.hget('h', 'a')).toBeUndefined();
  });

  it('string and hash reads do not see each other', async () => {
    const { store } = storeAt();
    await store.set('s', 'v');
    await store.hset('h', { f: 'v' });
    expect(await store.hget('s', 'f')).toBeUndefined();
    expect(await store.hgetall('s')).toEqual({});
    expect(await store.get('h')).toBeUndefined();
  });
});

describe('MemoryStore lease locks', () => {
  it('acquire is NX: a second owner cannot take a held lock, nor can the same owner twice', async () => {
    const { store } = storeAt();
    expect(await store.acquireLock('lock', 'owner-a', 1000)).toBe(true);
    expect(await store.acquireLock('lock', 'owner-b', 1000)).toBe(false);
    expect(await store.acquireLock('lock', 'owner-a', 1000)).toBe(false);
    expect(await store.get('lock')).toBe('owner-a');
    expect(await store.ttlMs('lock')).toBe(1000);
  });

  it('only the owner extends or releases the lock', async () => {
    const { store, clock } = storeAt();
    await store.acquireLock('lock', 'owner-a', 1000);
    clock.now += 900;
    expect(await store.extendLock('lock', 'owner-b', 5000)).toBe(false);
    expect(await store.releaseLock('lock', 'owner-b')).toBe(false);
    expect(await store.get('lock')).toBe('owner-a');
    expect(await store.ttlMs('lock')).toBe(100);
    expect(await store.extendLock('lock', 'owner-a', 5000)).toBe(true);
    expect(await store.ttlMs('lock')).toBe(5000);
    clock.now += 4999;
    expect(await store.acquireLock('lock', 'owner-b', 1000)).toBe(false);
    expect(await store.releaseLock('lock', 'owner-a')).toBe(true);
    expect(await store.get('lock')).toBeUndefined();
    expect(await store.releaseLock('lock', 'owner-a')).toBe(false);
    expect(await store.acquireLock('lock', 'owner-b', 1000)).toBe(true);
  });

  it('an expired lock can be taken by another owner; the old owner can then neither extend nor release it', async () => {
    const { store, clock } = storeAt();
    await store.acquireLock('lock', 'owner-a', 1000);
    clock.now += 1000;
    expect(await store.extendLock('lock', 'owner-a', 1000)).toBe(false);
    expect(await store.acquireLock('lock', 'owner-b', 1000)).toBe(true);
    expect(await store.extendLock('lock', 'owner-a', 1000)).toBe(false);
    expect(await store.releaseLock('lock', 'owner-a')).toBe(false);
    expect(await store.get('lock')).toBe('owner-b');
  });
});

describe('MemoryStore size and sweep', () => {
  it('size counts live keys only; sweep removes expired ones', async () => {
    const { store, clock } = storeAt();
    await store.setMany([
      { key: 'a', value: '1', ttlMs: 100 },
      { key: 'b', value: '2', ttlMs: 200 },
      { key: 'c', value: '3' },
    ]);
    await store.hset('h', { f: 'v' }, { ttlMs: 100 });
    expect(store.size).toBe(4);
    clock.now += 100;
    expect(store.size).toBe(2);
    clock.now += 100;
    store.sweep();
    expect(store.size).toBe(1);
    expect(await store.keys('')).toEqual(['c']);
  });

  it('sweeps periodically on its interval, so expired keys nobody reads do not pile up', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryStore({ sweepIntervalMs: 1000 });
    // Reach the private map only to observe the sweep; size itself would sweep.
    const raw = (store as unknown as { data: Map<string, unknown> }).data;
    for (let i = 0; i < 100; i++) await store.set(`k${i}`, 'v', { ttlMs: 500 });
    await store.set('keep', 'v');
    expect(raw.size).toBe(101);
    vi.advanceTimersByTime(999);
    expect(raw.size).toBe(101);
    vi.advanceTimersByTime(1);
    expect(raw.size).toBe(1);
    await store.close();
  });

  it('close clears everything and stops the sweeper', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryStore({ sweepIntervalMs: 1000 });
    await store.set('k', 'v');
    expect(vi.getTimerCount()).toBe(1);
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(await store.get('k')).toBeUndefined();
  });
});
