import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from './redis.js';
import type { RedisService } from './redis.js';

describe('redis-server test service', () => {
  let redis: RedisService;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });

  afterAll(async () => {
    await client.quit();
    await redis.stop();
    expect(redis.process.running).toBe(false);
  });

  it('listens on a loopback port of its own', () => {
    expect(redis.host).toBe('127.0.0.1');
    expect(redis.port).not.toBe(6379);
  });

  it('stores and returns a value through ioredis, with a TTL', async () => {
    const key = `panoptes:test:${randomUUID()}`;
    expect(await client.get(key)).toBeNull();
    expect(await client.set(key, '18446744073709551615', 'EX', 60)).toBe('OK');
    expect(await client.get(key)).toBe('18446744073709551615');
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});
