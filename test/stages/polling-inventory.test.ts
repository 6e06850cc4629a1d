/**
 * The polling stage and its resource table: a resource the topic lost is polled from the store's
 * copy; a bad resource record is refused once (logged, dead-lettered), however often it is read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { topicNames } from '../../src/bus/topics.js';
import { parseResource, resourceToJson } from '../../src/model/index.js';
import type { Resource } from '../../src/model/index.js';
import { createContextFactory } from '../../src/plugins/context.js';
import { PollingStage } from '../../src/stages/polling-stage.js';
import { storeKeys } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { EnrichmentCache } from '../../src/streams/enrichment-cache.js';
import type { Logger } from '../../src/log.js';
import { LEVEL, captureLogger } from '../support/capture-logger.js';

const SITE = 'dc1';
const topics = topicNames();
const keys = storeKeys();

function res(id: string, site = SITE): Resource {
  const parsed = parseResource({
    resource_id: id,
    resource_site: site,
    resource_endpoint: '192.0.2.10',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'inventory',
    resource_metadata: {},
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A polling stage on the given bus and store, without heartbeat, guards or enrichment waits. */
function pollingStage(o: {
  logger: Logger;
  bus: MemoryBus;
  store: MemoryStore;
  nodeId: string;
  inventoryCheckDelayMs?: number;
}): PollingStage {
  return new PollingStage({
    logger: o.logger,
    site: SITE,
    bus: o.bus,
    topics,
    store: o.store,
    keys,
    contextFactory: createContextFactory({ logger: o.logger, store: o.store, keys }),
    enrichmentCache: new EnrichmentCache({ load: () => Promise.resolve(undefined) }),
    nodeId: o.nodeId,
    mailboxSize: 100,
    stopGraceMs: 100,
    enrichmentWaitMs: 0,
    heartbeat: false,
    distributedGuards: false,
    ...(o.inventoryCheckDelayMs === undefined ? {} : { inventoryCheckDelayMs: o.inventoryCheckDelayMs }),
  });
}

describe('PollingStage and the store inventory', () => {
  it("polls a resource the topic no longer holds from the store's copy, says so, and leaves removed ones removed", async () => {
    const { logger, records } = captureLogger();
    const bus = new MemoryBus({ partitions: 4 });
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    cleanup.push(() => bus.close());
    const inventory = ['a', 'b', 'lost-1', 'lost-2', 'removed'].map((id) => res(id));
    await store.setMany(
      inventory.map((r) => ({
        key: keys.resource(SITE, r.resource_id),
        value: JSON.stringify(resourceToJson(r)),
      })),
    );
    // A broken copy is never taken.
    await store.set(keys.resource(SITE, 'broken'), '{"resource_id": "broken"');
    const topic = topics.resources(SITE);
    await bus.publish(topic, [
      { key: 'a', value: JSON.stringify(resourceToJson(res('a'))) },
      { key: 'b', value: JSON.stringify(resourceToJson(res('b'))) },
      { key: 'removed', value: JSON.stringify(resourceToJson(res('removed'))) },
      { key: 'removed', value: null },
    ]);
    const stage = pollingStage({ logger, bus, store, nodeId: 'n1', inventoryCheckDelayMs: 50 });
    cleanup.push(() => stage.stop());
    await stage.start();
    await until(() => stage.resources === 4, 5000, 'the lost resources taken from the store');
    const metric = (name: string): number | undefined => stage.metrics().find((m) => m.name === name)?.value;
    expect(metric('panoptes_polling_inventory_missing')).toBe(3); // lost-1, lost-2, broken
    expect(metric('panoptes_polling_inventory_restored_total')).toBe(2);
    const warned = records.filter((r) => r.level === LEVEL.warn && /store's inventory/.test(r.msg));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ missing: 3, restored: 2 });
    // A check with nothing missing any more clears the gauge... except the broken copy.
    await stage.checkInventory();
    expect(metric('panoptes_polling_inventory_missing')).toBe(1);
    expect(metric('panoptes_polling_inventory_restored_total')).toBe(2);
  });

  it('refuses each bad resource record once (logged, dead-lettered with reason and origin), also when a rebalance reads it again', async () => {
    const { logger, records } = captureLogger();
    const bus = new MemoryBus({ partitions: 4 });
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    cleanup.push(() => bus.close());
    const topic = topics.resources(SITE);
    const bad = [
      { key: 'json', value: '{"resource_id": ' },
      { key: 'schema', value: JSON.stringify({ resource_id: 'schema', resource_class: 42 }) },
      {
        key: 'big',
        value: JSON.stringify(resourceToJson(res('big'))).replace(
          '"resource_metadata":{}',
          `"resource_metadata":{"pad":"${'x'.repeat(70_000)}"}`,
        ),
      },
      { key: 'elsewhere', value: JSON.stringify(resourceToJson(res('elsewhere', 'dc2'))) },
    ];
    await bus.publish(topic, [...bad, { key: 'good', value: JSON.stringify(resourceToJson(res('good'))) }]);
    const stage = (nodeId: string, log = logger): PollingStage =>
      pollingStage({ logger: log, bus, store, nodeId });
    const first = stage('n1');
    cleanup.push(() => first.stop());
    await first.start();
    await until(() => first.stats.resourcesInvalid >= 4 && first.resources === 1, 5000, 'the table read');
    // A second node joins and leaves: the first gets partitions back and reads them again.
    const second = stage('n2', captureLogger().logger);
    await second.start();
    await until(() => first.stats.resourcesInvalid + second.stats.resourcesInvalid > 4, 5000, 'a re-read');
    await second.stop();
    await until(() => first.stats.resourcesInvalid > 4, 5000, 'the first node reading its partitions again');
    await new Promise((r) => setTimeout(r, 100));
    // The first node logged each bad record once, though it read them twice.
    const refused = records.filter((r) => /^resource record refused/.test(r.msg)).map((r) => r['key']);
    expect([...refused].sort()).toEqual(['big', 'elsewhere', 'json', 'schema']);
    const dead: { key: string | null; headers: Record<string, string> }[] = [];
    const sub = await bus.subscribe({
      groupId: 'reader',
      topics: [topics.deadLetter(SITE)],
      fromBeginning: true,
      handler: (m) => {
        dead.push({ key: m.key, headers: { ...m.headers } });
        return Promise.resolve();
      },
    });
    await until(() => dead.length >= 4, 5000, 'the dead letters');
    await sub.stop();
    expect(first.metrics().find((m) => m.name === 'panoptes_polling_dead_lettered_total')?.value).toBe(4);
    expect(new Set(dead.map((d) => d.key))).toEqual(new Set(['big', 'elsewhere', 'json', 'schema']));
    expect(dead.every((d) => d.headers['stage'] === 'polling')).toBe(true);
    const reasons = new Map(dead.map((d) => [d.key, d.headers['reason']]));
    expect(reasons.get('json')).toMatch(/invalid JSON/);
    expect(reasons.get('schema')).toMatch(/resource_class/);
    expect(reasons.get('big')).toMatch(/max_resource_bytes/);
    expect(reasons.get('elsewhere')).toMatch(/belongs to site dc2/);
    for (const d of dead) {
      expect(d.headers['source_topic']).toBe(topic);
      expect(d.headers['source_offset']).toMatch(/^\d+$/);
    }
    expect(first.resources).toBe(1);
  });
});
