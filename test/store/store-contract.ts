/**
 * The behaviour every KeyValueStore shares, run against each implementation (the in-memory store
 * on a virtual clock, the Redis store against a real redis-server on the real clock).
 *
 * `make` returns a fresh store per test and, for a store on a clock the test controls,
 * `advance(ms)`; without it the test sleeps. TTLs are short (150-300 ms) and checks on remaining
 * TTLs are ranges, so the suite works on a real clock. Every test puts its keys under a prefix of
 * its own, so stores sharing one server do not see each other's keys.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../src/store/store.js';

export interface ContractSubject {
  readonly store: KeyValueStore;
  /** Moves the store's clock on; absent for a store on the real clock. */
  readonly advance?: (ms: number) => Promise<void>;
}

export function storeContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`${name} (KeyValueStore contract)`, () => {
    const open: KeyValueStore[] = [];

    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    /** A fresh store, a unique key prefix, and a wait on the store's clock. */
    async function setup(): Promise<{
      store: KeyValueStore;
      p: string;
      wait: (ms: number) => Promise<void>;
    }> {
      const { store, advance } = await make();
      open.push(store);
      const wait = advance ?? ((ms: number) => sleep(ms));
      return { store, p: `contract:${randomUUID()}:`, wait };
    }

    describe('strings and TTL', () => {
      it('gets what was set, undefined for a missing key; delete reports whether the key existed', async () => {
        const { store, p } = await setup();
        expect(await store.get(`${p}k`)).toBeUndefined();
        await store.set(`${p}k`, 'v1');
        expect(await store.get(`${p}k`)).toBe('v1');
        await store.set(`${p}k`, 'v2');
        expect(await store.get(`${p}k`)).toBe('v2');
        expect(await store.delete(`${p}k`)).toBe(true);
        expect(await store.delete(`${p}k`)).toBe(false);
        expect(await store.get(`${p}k`)).toBeUndefined();
      });

      it('keeps values exactly: empty, unicode, CR/LF, long', async () => {
        const { store, p } = await setup();
        const values = ['', 'é ünï 中文 🦄', 'a\r\nb\n\0c', 'x'.repeat(100_000), '18446744073709551615'];
        for (const [i, v] of values.entries()) await store.set(`${p}${i}`, v);
        for (const [i, v] of values.entries()) expect(await store.get(`${p}${i}`)).toBe(v);
      });

      it('expires a key after its TTL; ttlMs counts down and is undefined once it is gone', async () => {
        const { store, p, wait } = await setup();
        await store.set(`${p}k`, 'v', { ttlMs: 150 });
        expect(await store.get(`${p}k`)).toBe('v');
        const left = await store.ttlMs(`${p}k`);
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(150);
        await wait(300);
        expect(await store.get(`${p}k`)).toBeUndefined();
        expect(await store.ttlMs(`${p}k`)).toBeUndefined();
        expect(await store.delete(`${p}k`)).toBe(false);
      });

      it('a key without TTL has no ttlMs; set without TTL clears an earlier TTL', async () => {
        const { store, p, wait } = await setup();
        await store.set(`${p}forever`, 'v');
        expect(await store.ttlMs(`${p}forever`)).toBeUndefined();
        expect(await store.ttlMs(`${p}missing`)).toBeUndefined();
        await store.set(`${p}k`, 'v', { ttlMs: 150 });
        await store.set(`${p}k`, 'v2');
        expect(await store.ttlMs(`${p}k`)).toBeUndefined();
        await wait(300);
        expect(await store.get(`${p}forever`)).toBe('v');
        expect(await store.get(`${p}k`)).toBe('v2');
      });

      it('setting a key again restarts its TTL', async () => {
        const { store, p, wait } = await setup();
        await store.set(`${p}k`, 'v', { ttlMs: 300 });
        await wait(200);
        expect(await store.ttlMs(`${p}k`)).toBeLessThanOrEqual(150);
        await store.set(`${p}k`, 'v', { ttlMs: 300 });
        expect(await store.ttlMs(`${p}k`)).toBeGreaterThan(200);
      });

      it('a TTL <= 0 means already expired: the write leaves no key; a fractional TTL is honoured', async () => {
        const { store, p } = await setup();
        await store.set(`${p}a`, 'old');
        await store.set(`${p}a`, 'new', { ttlMs: 0 });
        expect(await store.get(`${p}a`)).toBeUndefined();
        await store.set(`${p}b`, 'v', { ttlMs: -5 });
        expect(await store.get(`${p}b`)).toBeUndefined();
        await store.setMany([
          { key: `${p}c`, value: 'v', ttlMs: 0 },
          { key: `${p}d`, value: 'v', ttlMs: 10_000 },
        ]);
        expect(await store.getMany([`${p}c`, `${p}d`])).toEqual([undefined, 'v']);
        await store.hset(`${p}h`, { f: 'v' });
        await store.hset(`${p}h`, { g: 'v' }, { ttlMs: 0 });
        expect(await store.hgetall(`${p}h`)).toEqual({});
        await store.set(`${p}frac`, 'v', { ttlMs: 150.5 });
        expect(await store.get(`${p}frac`)).toBe('v');
        expect((await store.keys(p)).sort()).toEqual([`${p}d`, `${p}frac`]);
      });
    });

    describe('batches and prefixes', () => {
      it('getMany returns values in the order of the keys, undefined where missing or expired', async () => {
        const { store, p, wait } = await setup();
        await store.setMany([
          { key: `${p}a`, value: '1' },
          { key: `${p}b`, value: '2', ttlMs: 150 },
          { key: `${p}c`, value: '3', ttlMs: 10_000 },
        ]);
        expect(await store.getMany([`${p}c`, `${p}missing`, `${p}a`, `${p}b`])).toEqual([
          '3',
          undefined,
          '1',
          '2',
        ]);
        expect(await store.ttlMs(`${p}a`)).toBeUndefined();
        expect(await store.ttlMs(`${p}b`)).toBeGreaterThan(0);
        expect(await store.ttlMs(`${p}b`)).toBeLessThanOrEqual(150);
        await wait(300);
        expect(await store.getMany([`${p}a`, `${p}b`, `${p}c`])).toEqual(['1', undefined, '3']);
        expect(await store.getMany([])).toEqual([]);
      });

      it('setMany writes in order (the last of a repeated key wins); an empty batch is a no-op', async () => {
        const { store, p } = await setup();
        await store.setMany([]);
        await store.setMany([
          { key: `${p}k`, value: 'first' },
          { key: `${p}other`, value: 'x' },
          { key: `${p}k`, value: 'last' },
        ]);
        expect(await store.get(`${p}k`)).toBe('last');
        expect(await store.getMany([`${p}k`, `${p}k`])).toEqual(['last', 'last']);
      });

      it('getMany answers undefined for a hash key', async () => {
        const { store, p } = await setup();
        await store.hset(`${p}h`, { f: 'v' });
        await store.set(`${p}s`, 'v');
        expect(await store.getMany([`${p}h`, `${p}s`])).toEqual([undefined, 'v']);
      });

      it('keys(prefix) lists the live keys, strings and hashes, that start with the prefix', async () => {
        const { store, p, wait } = await setup();
        await store.set(`${p}resources:dc1:r1`, 'x');
        await store.set(`${p}resources:dc1:r2`, 'x', { ttlMs: 150 });
        await store.set(`${p}resources:dc10:r3`, 'x');
        await store.set(`${p}lock:p:r1`, 'x');
        await store.hset(`${p}resources:dc1:h`, { f: 'v' });
        expect((await store.keys(`${p}resources:dc1:`)).sort()).toEqual([
          `${p}resources:dc1:h`,
          `${p}resources:dc1:r1`,
          `${p}resources:dc1:r2`,
        ]);
        await wait(300);
        expect((await store.keys(`${p}resources:dc1:`)).sort()).toEqual([
          `${p}resources:dc1:h`,
          `${p}resources:dc1:r1`,
        ]);
        expect(await store.keys(`${p}nothing:`)).toEqual([]);
        expect((await store.keys(p)).length).toBe(4);
      });

      it('keys(prefix) takes glob characters in the prefix literally', async () => {
        const { store, p } = await setup();
        const prefix = `${p}a*b?[cd]\\e:`;
        await store.set(`${prefix}1`, 'x');
        await store.set(`${prefix}2`, 'x');
        // Each would match the prefix read as a glob pattern.
        await store.set(`${p}aXXbYce:3`, 'x');
        await store.set(`${p}a*b?d\\e:4`, 'x');
        await store.set(`${p}a*b?[cd]e:5`, 'x');
        await store.set(`${p}a*b?[cd]\\\\e:6`, 'x');
        expect((await store.keys(prefix)).sort()).toEqual([`${prefix}1`, `${prefix}2`]);
        expect(await store.keys(`${p}[`)).toEqual([]);
        expect((await store.keys(`${p}a*`)).length).toBe(5);
      });

      it('keys(prefix) finds every one of many keys, each once', async () => {
        const { store, p } = await setup();
        const n = 2500;
        await store.setMany(Array.from({ length: n }, (_, i) => ({ key: `${p}k${i}`, value: String(i) })));
        const found = await store.keys(p);
        expect(found.length).toBe(n);
        expect(new Set(found).size).toBe(n);
      });
    });

    describe('hashes', () => {
      it('hset merges fields, hget/hgetall read them, hdel counts and removes the key with the last field', async () => {
        const { store, p } = await setup();
        const h = `${p}h`;
        expect(await store.hgetall(h)).toEqual({});
        expect(await store.hget(h, 'a')).toBeUndefined();
        await store.hset(h, { a: '1', b: '2' });
        await store.hset(h, { b: '3', c: '4' });
        expect(await store.hget(h, 'b')).toBe('3');
        expect(await store.hget(h, 'missing')).toBeUndefined();
        expect(await store.hgetall(h)).toEqual({ a: '1', b: '3', c: '4' });
        expect(await store.hdel(h, ['a', 'missing'])).toBe(1);
        expect(await store.hgetall(h)).toEqual({ b: '3', c: '4' });
        expect(await store.hdel(h, [])).toBe(0);
        expect(await store.hdel(h, ['b', 'c'])).toBe(2);
        expect(await store.keys(h)).toEqual([]);
        expect(await store.hdel(h, ['b'])).toBe(0);
      });

      it('keeps odd field names and values exactly', async () => {
        const { store, p } = await setup();
        // Built from entries: `__proto__` in a literal would set the prototype, not a field.
        const fields: Record<string, string> = Object.fromEntries([
          ['', 'empty name'],
          ['é 🦄', ''],
          ['constructor', 'c'],
          ['__proto__', 'p'],
          ['a:b*c', 'v\r\n'],
        ]);
        await store.hset(`${p}h`, fields);
        expect(await store.hgetall(`${p}h`)).toEqual(fields);
        expect(Object.keys(await store.hgetall(`${p}h`)).sort()).toEqual(Object.keys(fields).sort());
        expect(await store.hget(`${p}h`, 'constructor')).toBe('c');
        expect(await store.hget(`${p}h`, '__proto__')).toBe('p');
      });

      it('a hash expires with its TTL; hset without TTL keeps it, hset with a TTL restarts it', async () => {
        const { store, p, wait } = await setup();
        const h = `${p}h`;
        await store.hset(h, { a: '1' }, { ttlMs: 200 });
        await wait(100);
        await store.hset(h, { b: '2' });
        const kept = await store.ttlMs(h);
        expect(kept).toBeGreaterThan(0);
        expect(kept).toBeLessThanOrEqual(100);
        await store.hset(h, { c: '3' }, { ttlMs: 200 });
        expect(await store.ttlMs(h)).toBeGreaterThan(100);
        expect(await store.hgetall(h)).toEqual({ a: '1', b: '2', c: '3' });
        await wait(300);
        expect(await store.hgetall(h)).toEqual({});
        expect(await store.hget(h, 'a')).toBeUndefined();
        expect(await store.ttlMs(h)).toBeUndefined();
      });

      it('string and hash reads do not see each other', async () => {
        const { store, p } = await setup();
        await store.set(`${p}s`, 'v');
        await store.hset(`${p}h`, { f: 'v' });
        expect(await store.hget(`${p}s`, 'f')).toBeUndefined();
        expect(await store.hgetall(`${p}s`)).toEqual({});
        expect(await store.hdel(`${p}s`, ['f'])).toBe(0);
        expect(await store.get(`${p}s`)).toBe('v');
        expect(await store.get(`${p}h`)).toBeUndefined();
      });

      it('a write replaces a key of the other type', async () => {
        const { store, p } = await setup();
        await store.set(`${p}k`, 'string', { ttlMs: 10_000 });
        await store.hset(`${p}k`, { f: 'v' });
        expect(await store.hgetall(`${p}k`)).toEqual({ f: 'v' });
        expect(await store.get(`${p}k`)).toBeUndefined();
        expect(await store.ttlMs(`${p}k`)).toBeUndefined();
        await store.set(`${p}k`, 'again');
        expect(await store.get(`${p}k`)).toBe('again');
        expect(await store.hgetall(`${p}k`)).toEqual({});
      });
    });

    describe('lease locks', () => {
      it('acquire is NX: a second owner cannot take a held lock, nor the same owner twice', async () => {
        const { store, p } = await setup();
        const lock = `${p}lock`;
        expect(await store.acquireLock(lock, 'owner-a', 1000)).toBe(true);
        expect(await store.acquireLock(lock, 'owner-b', 1000)).toBe(false);
        expect(await store.acquireLock(lock, 'owner-a', 1000)).toBe(false);
        expect(await store.get(lock)).toBe('owner-a');
        const left = await store.ttlMs(lock);
        expect(left).toBeGreaterThan(500);
        expect(left).toBeLessThanOrEqual(1000);
      });

      it('a lock cannot be taken over any existing key', async () => {
        const { store, p } = await setup();
        await store.set(`${p}s`, 'value');
        await store.hset(`${p}h`, { f: 'v' });
        expect(await store.acquireLock(`${p}s`, 'owner-a', 1000)).toBe(false);
        expect(await store.acquireLock(`${p}h`, 'owner-a', 1000)).toBe(false);
        expect(await store.get(`${p}s`)).toBe('value');
      });

      it('only the owner extends or releases the lock', async () => {
        const { store, p } = await setup();
        const lock = `${p}lock`;
        await store.acquireLock(lock, 'owner-a', 1000);
        expect(await store.extendLock(lock, 'owner-b', 60_000)).toBe(false);
        expect(await store.releaseLock(lock, 'owner-b')).toBe(false);
        expect(await store.get(lock)).toBe('owner-a');
        expect(await store.ttlMs(lock)).toBeLessThanOrEqual(1000);
        expect(await store.extendLock(lock, 'owner-a', 60_000)).toBe(true);
        expect(await store.ttlMs(lock)).toBeGreaterThan(50_000);
        expect(await store.acquireLock(lock, 'owner-b', 1000)).toBe(false);
        expect(await store.releaseLock(lock, 'owner-a')).toBe(true);
        expect(await store.get(lock)).toBeUndefined();
        expect(await store.releaseLock(lock, 'owner-a')).toBe(false);
        expect(await store.extendLock(lock, 'owner-a', 1000)).toBe(false);
        expect(await store.acquireLock(lock, 'owner-b', 1000)).toBe(true);
      });

      it('an expired lock can be taken by another owner; the old owner can then neither extend nor release it', async () => {
        const { store, p, wait } = await setup();
        const lock = `${p}lock`;
        await store.acquireLock(lock, 'owner-a', 150);
        await wait(300);
        expect(await store.extendLock(lock, 'owner-a', 1000)).toBe(false);
        expect(await store.acquireLock(lock, 'owner-b', 1000)).toBe(true);
        expect(await store.extendLock(lock, 'owner-a', 1000)).toBe(false);
        expect(await store.releaseLock(lock, 'owner-a')).toBe(false);
        expect(await store.get(lock)).toBe('owner-b');
      });

      it('extend and release refuse a hash under the lock key', async () => {
        const { store, p } = await setup();
        await store.hset(`${p}h`, { 'owner-a': 'owner-a' });
        expect(await store.extendLock(`${p}h`, 'owner-a', 1000)).toBe(false);
        expect(await store.releaseLock(`${p}h`, 'owner-a')).toBe(false);
        expect(await store.hgetall(`${p}h`)).toEqual({ 'owner-a': 'owner-a' });
      });

      it('a TTL <= 0 makes the lock expire at once', async () => {
        const { store, p } = await setup();
        const lock = `${p}lock`;
        expect(await store.acquireLock(lock, 'owner-a', 0)).toBe(true);
        expect(await store.get(lock)).toBeUndefined();
        await store.acquireLock(lock, 'owner-a', 1000);
        expect(await store.acquireLock(lock, 'owner-b', 0)).toBe(false);
        expect(await store.extendLock(lock, 'owner-b', 0)).toBe(false);
        expect(await store.get(lock)).toBe('owner-a');
        expect(await store.extendLock(lock, 'owner-a', 0)).toBe(true);
        expect(await store.get(lock)).toBeUndefined();
        expect(await store.acquireLock(lock, 'owner-b', 1000)).toBe(true);
      });
    });
  });
}
