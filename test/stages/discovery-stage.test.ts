import { afterEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { topicNames } from '../../src/bus/topics.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { parseJson, parseResource } from '../../src/model/index.js';
import type { Resource } from '../../src/model/index.js';
import type { DiscoveryPlugin } from '../../src/plugins/api.js';
import { createContextFactory } from '../../src/plugins/context.js';
import type { LoadedPlugin } from '../../src/plugins/loader.js';
import { parsePluginFile } from '../../src/plugins/plugin-file.js';
import { DiscoveryStage } from '../../src/stages/discovery-stage.js';
import { storeKeys } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { LEVEL, captureLogger } from '../support/capture-logger.js';

const SITE = 'dc1';
const T0 = 1_700_000_000_000;
const topics = topicNames();
const keys = storeKeys();

/** A resource built from wire JSON through parseResource, as a plugin would. */
function res(id: string, overrides: Record<string, unknown> = {}): Resource {
  const parsed = parseResource({
    resource_id: id,
    resource_site: SITE,
    resource_endpoint: '192.0.2.10',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'inventory',
    resource_metadata: { _resource_ttl: '60', model: 'C9300' },
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function definition(name: string): LoadedPlugin['definition'] {
  // A long frequency: the timer never fires during a test; runs are started by hand.
  return parsePluginFile(
    ['[Core]', `Name = ${name}`, `Module = ./${name}.mjs`, '[main]', 'execute_frequency = 3600'].join('\n'),
    `/plugins/${name}.panoptes-plugin`,
  );
}

interface Harness {
  stage: DiscoveryStage;
  bus: MemoryBus;
  store: MemoryStore;
  clock: { now: number };
  /** What the plugin returns on its next run (a function may throw). */
  plugin: { next: readonly Resource[] | (() => readonly Resource[]); calls: number };
  loaded: LoadedPlugin;
}

const stages: DiscoveryStage[] = [];
const buses: MemoryBus[] = [];

afterEach(async () => {
  for (const s of stages.splice(0)) await s.stop();
  for (const b of buses.splice(0)) await b.close();
});

function harness(logger: Logger = silentLogger, name = 'inventory', republishSeconds?: number): Harness {
  const clock = { now: T0 };
  const bus = new MemoryBus({ partitions: 2 });
  const store = new MemoryStore({ now: () => clock.now, sweepIntervalMs: 0 });
  const plugin: Harness['plugin'] = { next: [], calls: 0 };
  const instance: DiscoveryPlugin = {
    discover: () => {
      plugin.calls++;
      const next = plugin.next;
      return Promise.resolve().then(() => (typeof next === 'function' ? next() : next));
    },
  };
  const loaded: LoadedPlugin = { definition: definition(name), kind: 'discovery', instance, version: 'v1' };
  const stage = new DiscoveryStage({
    logger,
    bus,
    topics,
    store,
    keys,
    contextFactory: createContextFactory({ logger, store, keys }),
    site: SITE,
    now: () => clock.now,
    ...(republishSeconds === undefined ? {} : { republishSeconds }),
  });
  stages.push(stage);
  buses.push(bus);
  return { stage, bus, store, clock, plugin, loaded };
}

function published(bus: MemoryBus, topic: string): number {
  return bus.endOffsets(topic).reduce((a, b) => a + b, 0);
}

/** Every message of a topic so far (read with a fresh group from the beginning), in offset order per partition. */
async function messages(bus: MemoryBus, topic: string): Promise<BusMessage[]> {
  const want = published(bus, topic);
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({
    groupId: `reader-${Math.random()}`,
    topics: [topic],
    fromBeginning: true,
    handler: (m) => {
      got.push(m);
      return Promise.resolve();
    },
  });
  for (let i = 0; i < 200 && got.length < want; i++) await new Promise((r) => setTimeout(r, 2));
  await sub.stop();
  expect(got).toHaveLength(want);
  return got;
}

function valueOf(m: BusMessage): unknown {
  return m.value === null ? null : parseJson(m.value.toString('utf8'));
}

describe('DiscoveryStage', () => {
  it('publishes new resources keyed by resource_id and stores them with their _resource_ttl', async () => {
    const h = harness();
    const a = res('a.example.com');
    const b = res('b.example.com', { resource_metadata: { _resource_ttl: '120' } });
    h.plugin.next = [a, b];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();

    expect(h.plugin.calls).toBe(1);
    expect(h.stage.stats).toMatchObject({ runs: 1, failures: 0, published: 2, invalid: 0, removed: 0 });
    const got = await messages(h.bus, 'dc1-resources');
    const byKey = new Map(got.map((m) => [m.key, valueOf(m)]));
    expect([...byKey.keys()].sort()).toEqual(['a.example.com', 'b.example.com']);
    expect(byKey.get('a.example.com')).toEqual({
      resource_id: 'a.example.com',
      resource_site: 'dc1',
      resource_endpoint: '192.0.2.10',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'cisco',
      resource_creation_timestamp: 1_700_000_000,
      resource_creation_plugin: 'inventory',
      resource_metadata: { _resource_ttl: '60', model: 'C9300' },
    });

    const keyA = keys.resource('dc1', 'a.example.com');
    expect(keyA).toBe('panoptes:resources:dc1:a.example.com');
    expect(parseJson((await h.store.get(keyA)) ?? 'null')).toEqual(byKey.get('a.example.com'));
    expect(await h.store.ttlMs(keyA)).toBe(60_000);
    expect(await h.store.ttlMs(keys.resource('dc1', 'b.example.com'))).toBe(120_000);
    expect(h.stage.resources().size).toBe(2);
  });

  it('does not republish a resource whose only change is its creation timestamp, republishes a changed one', async () => {
    const h = harness();
    h.plugin.next = [res('a'), res('b')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    expect(published(h.bus, 'dc1-resources')).toBe(2);

    h.clock.now += 10_000;
    h.plugin.next = [
      res('a', { resource_creation_timestamp: 1_700_000_010 }),
      res('b', { resource_creation_timestamp: 1_700_000_010 }),
    ];
    await h.stage.run('inventory');
    expect(published(h.bus, 'dc1-resources')).toBe(2);
    expect(h.stage.stats).toMatchObject({ runs: 2, published: 2 });

    h.clock.now += 10_000;
    h.plugin.next = [res('a'), res('b', { resource_endpoint: '192.0.2.99' })];
    await h.stage.run('inventory');
    expect(published(h.bus, 'dc1-resources')).toBe(3);
    expect(h.stage.stats.published).toBe(3);
    const got = await messages(h.bus, 'dc1-resources');
    const bs = got.filter((m) => m.key === 'b').map((m) => valueOf(m) as Record<string, unknown>);
    expect(bs.map((v) => v['resource_endpoint'])).toEqual(['192.0.2.10', '192.0.2.99']);
    const stored = parseJson((await h.store.get(keys.resource('dc1', 'b'))) ?? 'null');
    expect(stored).toMatchObject({ resource_endpoint: '192.0.2.99' });
    expect(await h.store.ttlMs(keys.resource('dc1', 'b'))).toBe(60_000);
  });

  it('publishes the whole inventory again every republish_seconds, changed or not (0: changes only)', async () => {
    const h = harness(silentLogger, 'inventory', 300);
    h.plugin.next = [res('a'), res('b')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    expect(published(h.bus, 'dc1-resources')).toBe(2);
    h.clock.now += 200_000;
    await h.stage.run('inventory');
    expect(published(h.bus, 'dc1-resources')).toBe(2);
    h.clock.now += 100_000;
    await h.stage.run('inventory');
    // 300 s after the last full publish: both again, although neither changed.
    expect(published(h.bus, 'dc1-resources')).toBe(4);
    expect(h.stage.stats).toMatchObject({ published: 2, republished: 2 });
    const got = await messages(h.bus, 'dc1-resources');
    expect(got.map((m) => m.key).sort()).toEqual(['a', 'a', 'b', 'b']);
    h.clock.now += 100_000;
    await h.stage.run('inventory');
    expect(published(h.bus, 'dc1-resources')).toBe(4);

    const off = harness(silentLogger, 'inventory', 0);
    off.plugin.next = [res('a')];
    off.stage.setPlugins(new Map([['inventory', off.loaded]]));
    await off.stage.settled();
    off.clock.now += 10 * 86_400_000;
    await off.stage.run('inventory');
    expect(published(off.bus, 'dc1-resources')).toBe(1);
  });

  it('keeps a vanished resource until its _resource_ttl has passed since last seen, then tombstones it', async () => {
    const h = harness();
    h.plugin.next = [res('a'), res('b')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();

    // b is seen again 30 s later, then the plugin stops returning it.
    h.clock.now += 30_000;
    await h.stage.run('inventory');
    const lastSeen = h.clock.now;
    h.plugin.next = [res('a')];

    h.clock.now = lastSeen + 59_999;
    await h.stage.run('inventory');
    expect(published(h.bus, 'dc1-resources')).toBe(2);
    expect(h.stage.stats.removed).toBe(0);
    expect(h.stage.resources().has('b')).toBe(true);

    h.clock.now = lastSeen + 60_001;
    await h.stage.run('inventory');
    expect(h.stage.stats.removed).toBe(1);
    expect(h.stage.resources().has('b')).toBe(false);
    expect(h.stage.resources().has('a')).toBe(true);
    const got = await messages(h.bus, 'dc1-resources');
    const tombstones = got.filter((m) => m.value === null);
    expect(tombstones.map((m) => m.key)).toEqual(['b']);
    expect(await h.store.get(keys.resource('dc1', 'b'))).toBeUndefined();

    // Only one tombstone: the next run does not remove it again.
    h.clock.now += 1000;
    await h.stage.run('inventory');
    expect(h.stage.stats.removed).toBe(1);
  });

  it('deletes the store key of an expired resource', async () => {
    const h = harness();
    // The store entry lives a week; the resource is forgotten 60 s after last seen.
    h.plugin.next = [res('a', { resource_metadata: { _resource_ttl: '60' } })];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    await h.store.set(keys.resource('dc1', 'a'), 'marker');
    h.plugin.next = [];
    h.clock.now += 61_000;
    await h.stage.run('inventory');
    expect(h.stage.stats.removed).toBe(1);
    expect(await h.store.get(keys.resource('dc1', 'a'))).toBeUndefined();
  });

  it('keeps the stored resource of a resource that is still being discovered', async () => {
    const h = harness();
    h.plugin.next = [res('a')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    // Seen unchanged every 30 s for two minutes: it never went away, so it must stay stored.
    for (let i = 0; i < 4; i++) {
      h.clock.now += 30_000;
      await h.stage.run('inventory');
    }
    expect(h.stage.resources().has('a')).toBe(true);
    expect(await h.store.get(keys.resource('dc1', 'a'))).toBeDefined();
  });

  it('skips, logs and counts an invalid resource; the valid ones are published', async () => {
    const { logger, records } = captureLogger();
    const h = harness(logger);
    const bad: Resource = { ...res('bad'), resource_site: 'bad site!' };
    h.plugin.next = [res('a'), bad, res('c')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();

    expect(h.stage.stats).toMatchObject({ invalid: 1, published: 2, failures: 0 });
    const got = await messages(h.bus, 'dc1-resources');
    expect(got.map((m) => m.key).sort()).toEqual(['a', 'c']);
    expect(h.bus.endOffsets('bad site!-resources').reduce((x, y) => x + y, 0)).toBe(0);
    const warning = records.find((r) => r.msg === 'discovered resource is invalid; skipped');
    expect(warning).toMatchObject({ level: LEVEL.warn, plugin: 'inventory', index: 1 });
    expect(JSON.stringify(warning?.['issues'])).toContain('resource_site');
  });

  it('counts a non-resource value from a plugin as invalid instead of failing the run', async () => {
    const { logger } = captureLogger();
    const h = harness(logger);
    h.plugin.next = [null as unknown as Resource, res('a')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]), false);
    await expect(h.stage.run('inventory')).resolves.toBeUndefined();
    expect(h.stage.stats).toMatchObject({ invalid: 1, published: 1 });
  });

  it('keeps the first of two resources with the same id returned in one run', async () => {
    const { logger, records } = captureLogger();
    const h = harness(logger);
    h.plugin.next = [
      res('a', { resource_endpoint: '192.0.2.1' }),
      res('a', { resource_endpoint: '192.0.2.2' }),
    ];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    expect(h.stage.stats.published).toBe(1);
    const got = await messages(h.bus, 'dc1-resources');
    expect(got).toHaveLength(1);
    expect(valueOf(got[0] as BusMessage)).toMatchObject({ resource_endpoint: '192.0.2.1' });
    expect(h.stage.resources().get('a')?.resource_endpoint).toBe('192.0.2.1');
    expect(records.some((r) => r.level === LEVEL.warn && r['resource'] === 'a')).toBe(true);
  });

  it('counts a plugin that throws as a failure and keeps its resources (no tombstones)', async () => {
    const { logger, records } = captureLogger();
    const h = harness(logger);
    h.plugin.next = [res('a'), res('b')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();

    h.plugin.next = () => {
      throw new Error('inventory export broken');
    };
    h.clock.now += 3_600_000; // well past the TTL
    await h.stage.run('inventory');
    expect(h.stage.stats).toMatchObject({ runs: 2, failures: 1, removed: 0, published: 2 });
    expect(published(h.bus, 'dc1-resources')).toBe(2);
    expect([...h.stage.resources().keys()].sort()).toEqual(['a', 'b']);
    const err = records.find((r) => r.level === LEVEL.error);
    expect(err).toMatchObject({ plugin: 'inventory' });
    expect(err?.['err']).toContain('inventory export broken');
  });

  it("publishes a resource of another site on that site's topic and warns naming the site", async () => {
    const { logger, records } = captureLogger();
    const h = harness(logger);
    h.plugin.next = [res('a'), res('x', { resource_site: 'dc2' })];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();

    expect((await messages(h.bus, 'dc1-resources')).map((m) => m.key)).toEqual(['a']);
    const other = await messages(h.bus, 'dc2-resources');
    expect(other.map((m) => m.key)).toEqual(['x']);
    expect(valueOf(other[0] as BusMessage)).toMatchObject({ resource_site: 'dc2' });
    expect(await h.store.get(keys.resource('dc2', 'x'))).toBeDefined();
    const warning = records.find((r) => r.level === LEVEL.warn && r['site'] === 'dc2');
    expect(warning?.msg).toContain('dc2');
    expect(warning?.msg).toContain('dc2-resources');
    expect(warning).toMatchObject({ plugin: 'inventory', resources: 1 });
  });

  it('runs no more after stop()', async () => {
    const h = harness();
    h.plugin.next = [res('a')];
    h.stage.setPlugins(new Map([['inventory', h.loaded]]));
    await h.stage.settled();
    expect(h.plugin.calls).toBe(1);

    await h.stage.stop();
    await h.stage.run('inventory');
    h.stage.setPlugins(new Map([['inventory', { ...h.loaded, version: 'v2' }]]));
    await h.stage.settled();
    expect(h.plugin.calls).toBe(1);
    expect(h.stage.stats.runs).toBe(1);
  });

  it('ignores plugins that are not discovery plugins', async () => {
    const h = harness();
    const polling: LoadedPlugin = {
      definition: definition('poller'),
      kind: 'polling',
      instance: { poll: () => Promise.resolve([]) },
      version: 'v1',
    };
    h.stage.setPlugins(new Map([['poller', polling]]));
    await h.stage.settled();
    await h.stage.run('poller');
    expect(h.stage.stats.runs).toBe(0);
  });
});
