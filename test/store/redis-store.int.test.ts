import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { RedisStore, escapeGlob, redactUrl } from '../../src/store/redis-store.js';
import { freeTcpPort } from '../services/ports.js';
import { startRedis } from '../services/redis.js';
import type { RedisService } from '../services/redis.js';
import { storeContract } from './store-contract.js';

let redis: RedisService;
/** A plain client to look at (and break) the server behind the store's back. */
let raw: Redis;

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await raw.connect();
});

afterAll(async () => {
  await raw?.quit();
  await redis?.stop();
});

storeContract('RedisStore', async () => ({ store: await RedisStore.connect({ url: redis.url }) }));

/** A connected store, closed by the caller. */
function connectStore(): Promise<RedisStore> {
  return RedisStore.connect({ url: redis.url });
}

/** The calls counter of each command from INFO commandstats. */
async function commandCalls(): Promise<Record<string, number>> {
  const info = await raw.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) calls[m[1] ?? ''] = Number(m[2]);
  return calls;
}

async function rejection(promise: Promise<unknown>): Promise<PanoptesError> {
  const e: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PanoptesError);
  return e as PanoptesError;
}

describe('RedisStore on redis-server', () => {
  it('escapes every glob character of a prefix, and redacts URL passwords', () => {
    expect(escapeGlob('a*b?c[d]e\\f:g-h^i')).toBe('a\\*b\\?c\\[d\\]e\\\\f:g-h^i');
    expect(redactUrl('redis://:hunter2@10.0.0.1:6380/2')).toBe('redis://:***@10.0.0.1:6380/2');
    expect(redactUrl('redis://user:hunter2@host')).not.toContain('hunter2');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('keys() uses SCAN, never KEYS, and a glob prefix does not match other keys', async () => {
    const store = await connectStore();
    try {
      const p = `t:${randomUUID()}:`;
      await store.setMany([
        { key: `${p}[ab]*:1`, value: 'x' },
        { key: `${p}[ab]*:2`, value: 'x' },
        { key: `${p}a:3`, value: 'x' },
        { key: `${p}b-anything:4`, value: 'x' },
        { key: `${p}[ab]x:5`, value: 'x' },
      ]);
      await raw.config('RESETSTAT');
      expect((await store.keys(`${p}[ab]*`)).sort()).toEqual([`${p}[ab]*:1`, `${p}[ab]*:2`]);
      expect(await store.keys(`${p}?`)).toEqual([]);
      expect(await store.keys(`${p}\\`)).toEqual([]);
      const calls = await commandCalls();
      expect(calls['scan']).toBeGreaterThan(0);
      expect(calls['keys']).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('the lock scripts refuse a wrong owner: the lease is neither extended nor deleted', async () => {
    const store = await connectStore();
    try {
      const lock = `t:${randomUUID()}:lock`;
      await raw.set(lock, 'owner-a', 'PX', 10_000);
      for (const wrong of ['owner-b', '', "owner-a' or 1 --", 'OWNER-A', 'owner-a ']) {
        expect(await store.extendLock(lock, wrong, 600_000)).toBe(false);
        expect(await store.releaseLock(lock, wrong)).toBe(false);
      }
      expect(await raw.get(lock)).toBe('owner-a');
      expect(await raw.pttl(lock)).toBeLessThanOrEqual(10_000);
      // The scripts are reloaded when the server lost them (EVALSHA -> NOSCRIPT -> EVAL).
      await raw.script('FLUSH');
      expect(await store.extendLock(lock, 'owner-a', 600_000)).toBe(true);
      expect(await raw.pttl(lock)).toBeGreaterThan(500_000);
      await raw.script('FLUSH');
      expect(await store.releaseLock(lock, 'owner-a')).toBe(true);
      expect(await raw.exists(lock)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('another node cannot take, extend or release a held lock until it expires', async () => {
    const [nodeA, nodeB] = await Promise.all([connectStore(), connectStore()]);
    try {
      const lock = `t:${randomUUID()}:lock`;
      expect(await nodeA.acquireLock(lock, 'node-a', 200)).toBe(true);
      expect(await nodeB.acquireLock(lock, 'node-b', 200)).toBe(false);
      expect(await nodeB.extendLock(lock, 'node-b', 200)).toBe(false);
      expect(await nodeB.releaseLock(lock, 'node-b')).toBe(false);
      expect(await nodeB.get(lock)).toBe('node-a');
      await sleep(350);
      expect(await nodeB.acquireLock(lock, 'node-b', 5000)).toBe(true);
      expect(await nodeA.extendLock(lock, 'node-a', 5000)).toBe(false);
      expect(await nodeA.releaseLock(lock, 'node-a')).toBe(false);
      expect(await nodeA.get(lock)).toBe('node-b');
      expect(await nodeB.releaseLock(lock, 'node-b')).toBe(true);
    } finally {
      await Promise.all([nodeA.close(), nodeB.close()]);
    }
  });

  it('connect() to a closed port fails with STORE_ERROR naming the URL within the timeout', async () => {
    const port = await freeTcpPort();
    const url = `redis://127.0.0.1:${port}`;
    const started = Date.now();
    const e = await rejection(RedisStore.connect({ url, connectTimeoutMs: 400 }));
    const elapsed = Date.now() - started;
    expect(e.code).toBe('STORE_ERROR');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(url);
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.cause).toBeDefined();
    expect(elapsed).toBeLessThan(400 + 1000);
  });

  it('connect() never shows the password of the URL', async () => {
    const port = await freeTcpPort();
    const e = await rejection(
      RedisStore.connect({ url: `redis://:hunter2@127.0.0.1:${port}`, connectTimeoutMs: 200 }),
    );
    expect(e.message).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(inspect(e, { depth: 10 })).not.toContain('hunter2');
  });

  it('with an existing client: connect() waits for it, close() leaves it open', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      const store = await RedisStore.connect({ client });
      expect(client.status).toBe('ready');
      const key = `t:${randomUUID()}:k`;
      await store.set(key, 'v');
      await store.close();
      expect(client.status).toBe('ready');
      expect(await client.get(key)).toBe('v');
    } finally {
      await client.quit();
    }
  });

  it('refuses a client with a keyPrefix (keys come complete from storeKeys)', () => {
    const client = new Redis(redis.url, { lazyConnect: true, keyPrefix: 'x:' });
    try {
      expect(() => new RedisStore({ client })).toThrow(/keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it('the constructor connects in the background; close() quits the client it created', async () => {
    const store = new RedisStore({ url: redis.url });
    const key = `t:${randomUUID()}:k`;
    await store.set(key, 'v');
    expect(await store.get(key)).toBe('v');
    await store.close();
    await store.close();
    const e = await rejection(store.get(key));
    expect(e.code).toBe('STORE_ERROR');
    expect(e.message).toContain('GET');
    expect(e.message).toContain(key);
  });

  it('10,000 entries round-trip exactly through setMany and getMany (MGET, never one GET per key)', async () => {
    const store = await connectStore();
    try {
      const p = `t:${randomUUID()}:`;
      const specials = ['', 'é 🦄 中文', 'a\r\nb\0c', '$-1\r\n', '*1\r\n$3\r\nfoo\r\n', 'x'.repeat(10_000)];
      const entries = Array.from({ length: 10_000 }, (_, i) => ({
        key: `${p}${i}`,
        value: `${specials[i % specials.length] ?? ''}#${i}`,
        ...(i % 3 === 0 ? { ttlMs: 60_000 } : {}),
      }));
      await store.setMany(entries);
      await raw.config('RESETSTAT');
      const keys = entries.flatMap((e, i) => (i % 1000 === 0 ? [e.key, `${p}missing${i}`] : [e.key]));
      const values = await store.getMany(keys);
      expect(values.length).toBe(keys.length);
      const expected = entries.flatMap((e, i) => (i % 1000 === 0 ? [e.value, undefined] : [e.value]));
      expect(values).toEqual(expected);
      const calls = await commandCalls();
      expect(calls['get']).toBeUndefined();
      expect(calls['mget']).toBe(Math.ceil(keys.length / 1000));
      expect(await store.ttlMs(`${p}0`)).toBeGreaterThan(50_000);
      expect(await store.ttlMs(`${p}1`)).toBeUndefined();
      expect((await store.keys(p)).length).toBe(10_000);
    } finally {
      await store.close();
    }
  });

  it('a Redis failure is a STORE_ERROR naming the operation and key, never the value', async () => {
    const store = await connectStore();
    const secret = `community-${randomUUID()}`;
    const key = `t:${randomUUID()}:secrets:snmp:dc1`;
    try {
      await raw.config('SET', 'maxmemory-policy', 'noeviction');
      await raw.config('SET', 'maxmemory', '1');
      const failures = [
        await rejection(store.set(key, secret)),
        await rejection(store.set(key, secret, { ttlMs: 1000 })),
        await rejection(store.setMany([{ key, value: secret }])),
        await rejection(store.hset(key, { community: secret })),
      ];
      for (const e of failures) {
        expect(e.code).toBe('STORE_ERROR');
        expect(e.message).toMatch(/SET/);
        expect(e.message).toContain(key);
        expect(e.message).toMatch(/OOM/);
        expect(e.cause).toBeInstanceOf(Error);
        expect(inspect(e, { depth: 10 })).not.toContain(secret);
        expect(JSON.stringify(e.details)).not.toContain(secret);
      }
    } finally {
      await raw.config('SET', 'maxmemory', '0');
      await store.close();
    }
    expect(await raw.exists(key)).toBe(0);
  });
});
