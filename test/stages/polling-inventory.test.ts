/** The polling stage against the store's inventory: a resource the topic lost is polled from the store's copy. */
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
    const stage = new PollingStage({
      logger,
      site: SITE,
      bus,
      topics,
      store,
      keys,
      contextFactory: createContextFactory({ logger, store, keys }),
      enrichmentCache: new EnrichmentCache({ load: () => Promise.resolve(undefined) }),
      nodeId: 'n1',
      mailboxSize: 100,
      stopGraceMs: 100,
      enrichmentWaitMs: 0,
      heartbeat: false,
      distributedGuards: false,
      inventoryCheckDelayMs: 50,
    });
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
});
