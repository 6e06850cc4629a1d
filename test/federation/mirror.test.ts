/**
 * The resource mirror's logic between two in-process buses: the centre's table copied to the
 * edge, tombstones included, and the last copy published at start while the centre does not
 * answer. The integration test (mirror.int.test.ts) runs it against a Kafka-protocol cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusMessage, MessageBus, Subscription } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { MirrorCache, ResourceMirror } from '../../src/federation/mirror.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { silentLogger } from '../../src/log.js';
import { PanoptesNode } from '../../src/node/node.js';

const TOPIC = 'edge1-resources';
const DAY_MS = 86_400_000;

let dir: string;
let central: MemoryBus;
let local: MemoryBus;
let cache: MirrorCache;
const running: ResourceMirror[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'panoptes-mirror-'));
  central = new MemoryBus({ partitions: 2 });
  local = new MemoryBus({ partitions: 2 });
  cache = await MirrorCache.open(join(dir, 'resources'));
});

afterEach(async () => {
  for (const m of running.splice(0)) await m.stop();
  await cache.close();
  await local.close();
  await central.close();
  rmSync(dir, { recursive: true, force: true });
});

function resource(id: string, ttlSeconds?: number): string {
  return JSON.stringify({
    resource_id: id,
    resource_site: 'edge1',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'simulated',
    resource_creation_plugin: 'discovery-json',
    resource_metadata: ttlSeconds === undefined ? {} : { _resource_ttl: String(ttlSeconds) },
  });
}

async function startMirror(upstream: MessageBus, now?: () => number): Promise<ResourceMirror> {
  const mirror = new ResourceMirror({
    upstream,
    local,
    sourceTopic: TOPIC,
    targetTopic: TOPIC,
    groupId: 'edge1-resource-mirror',
    cache,
    logger: silentLogger,
    ...(now === undefined ? {} : { now }),
  });
  running.push(mirror);
  await mirror.start();
  return mirror;
}

/** The local table as a reader of it sees it: the last record per key (tombstones remove). */
async function localTable(expectedRecords: number): Promise<Map<string, string>> {
  const got: BusMessage[] = [];
  const sub = await local.subscribe({
    groupId: `check-${Math.random()}`,
    topics: [TOPIC],
    fromBeginning: true,
    handler: (m) => {
      got.push(m);
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + 5000;
  while (got.length < expectedRecords && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  const table = new Map<string, string>();
  for (const m of got) {
    if (m.key === null) continue;
    if (m.value === null) table.delete(m.key);
    else table.set(m.key, m.value.toString());
  }
  return table;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A centre that never answers: subscribing waits (as a Kafka bus waiting for its cluster does). */
function unreachable(): MessageBus & { pending: number } {
  const bus = Object.create(central) as MessageBus & { pending: number };
  bus.pending = 0;
  bus.subscribe = () => {
    bus.pending++;
    return new Promise<Subscription>(() => undefined);
  };
  return bus;
}

describe('resource mirror', () => {
  it('copies the centre table to the local topic, tombstones included, and keeps a copy', async () => {
    await central.publish(TOPIC, [
      { key: 'a', value: resource('a') },
      { key: 'b', value: resource('b') },
      { key: 'c', value: resource('c') },
    ]);
    const mirror = await startMirror(central);
    await until(() => mirror.stats.copied === 3);
    await central.publish(TOPIC, [
      { key: 'b', value: null },
      { key: 'a', value: resource('a', 600), headers: { origin: 'central' } },
    ]);
    await until(() => mirror.stats.copied === 5);
    const table = await localTable(5);
    expect([...table.keys()].sort()).toEqual(['a', 'c']);
    expect(table.get('a')).toBe(resource('a', 600));
    expect(mirror.stats.removed).toBe(1);
    expect(cache.entries().map((e) => e.key)).toEqual(['a', 'c']);
    expect(cache.entries()[0]?.headers).toEqual({ origin: 'central' });
    const metric = (name: string): number | undefined => mirror.metrics().find((s) => s.name === name)?.value;
    expect(metric('panoptes_mirror_resources')).toBe(2);
    expect(metric('panoptes_mirror_copied_total')).toBe(5);
    expect(metric('panoptes_mirror_removed_total')).toBe(1);
    expect(metric('panoptes_mirror_last_copy_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('publishes the last copy at start while the centre does not answer, without what is past its TTL', async () => {
    const t0 = Date.now();
    await cache.apply(
      [
        { key: 'fresh', value: resource('fresh'), headers: {} },
        { key: 'short', value: resource('short', 3600), headers: {} },
        { key: 'old', value: resource('old'), headers: {} },
      ],
      t0 - 2 * 3600_000,
    );
    await cache.apply([{ key: 'old', value: resource('old'), headers: {} }], t0 - 8 * DAY_MS);
    const centre = unreachable();
    const mirror = await startMirror(centre, () => t0);
    expect(centre.pending).toBe(1); // start() did not wait for the centre
    const table = await localTable(1);
    // 'short' (1 h TTL) and 'old' (default 7 days) were not seen from the centre within their TTL.
    expect([...table.keys()]).toEqual(['fresh']);
    expect(mirror.stats).toMatchObject({ restored: 1, expired: 2, copied: 0 });
    expect(cache.entries().map((e) => e.key)).toEqual(['fresh']);
    // Stopping does not wait for the centre either.
    await mirror.stop();
  });

  it('starts with an empty local table when nothing was cached, and fills it once the centre answers', async () => {
    const mirror = await startMirror(central);
    expect(mirror.stats.restored).toBe(0);
    await central.publish(TOPIC, [{ key: 'x', value: resource('x') }]);
    await until(() => mirror.stats.copied === 1);
    expect([...(await localTable(1)).keys()]).toEqual(['x']);
  });

  it('makes `panoptes discovery` refuse an edge whose resources come from the centre', async () => {
    const config = parseSiteConfig(
      [
        'site: edge1',
        'bus: {type: kafka, brokers: [127.0.0.1:1]}',
        'store: {type: redis}',
        'federation: {upstream: {brokers: [127.0.0.1:2]}, mirror_resources: true}',
      ].join('\n'),
      join(dir, 'edge.yaml'),
    );
    await expect(PanoptesNode.start({ config, logger: silentLogger, roles: ['discovery'] })).rejects.toThrow(
      /edge\.yaml: federation\.mirror_resources: this site's resources come from the central site/,
    );
  });
});
