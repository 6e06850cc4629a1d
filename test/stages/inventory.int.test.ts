/**
 * The inventory survives a resources topic that lost records: discovery publishes the devices,
 * a polling node reads them; then the older records are pushed out of `<site>-resources` (the
 * test broker keeps about 5 MB per partition: large tombstones of made-up keys fill it), and a
 * polling node starts afresh. Every device of the inventory must be polled within two intervals
 * of it being ready, from the store's copy where the topic no longer has the record.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka-bus.js';
import { parseJson, parseMetricsGroup } from '../../src/model/index.js';
import { silentLogger } from '../../src/log.js';
import { syntheticCommunity } from '../../src/sim/synthetic.js';
import { scrape, startCluster } from '../support/cluster.js';
import type { Cluster, Stage } from '../support/cluster.js';

const DEVICES = 8;
const INTERVAL = 8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
let bus: KafkaBus | undefined;

afterEach(async () => {
  await bus?.close();
  await cluster?.stop();
  cluster = undefined;
  bus = undefined;
});

async function metric(stage: Stage, name: string): Promise<number> {
  return (await scrape(stage)).get(name) ?? 0;
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

describe('the inventory when the resources topic lost records', () => {
  it('a polling node started afresh polls every device of the inventory within two intervals', async () => {
    const c = (cluster = await startCluster({ devices: DEVICES, interfaces: 2, intervalSeconds: INTERVAL }));
    const b = (bus = new KafkaBus({ brokers: c.kafka.brokers, logger: silentLogger, retryDelayMs: 20 }));
    const resources = `${c.site}-resources`;
    // Who was polled when: status groups on the processed topic.
    const polled = new Map<string, number[]>();
    const sub = await b.subscribe({
      groupId: 'inventory-test',
      topics: [`${c.site}-processed`],
      fromBeginning: true,
      handler: (m) => {
        if (m.value === null) return Promise.resolve();
        const parsed = parseMetricsGroup(parseJson(m.value.toString('utf8')));
        if (!parsed.ok) return Promise.resolve();
        const g = parsed.value;
        if (g.metrics_group_type === 'status') {
          const id = g.resource.resource_id;
          polled.set(id, [...(polled.get(id) ?? []), g.metrics_group_creation_timestamp * 1000]);
        }
        return Promise.resolve();
      },
    });

    const t = Date.now();
    const log = (what: string): void =>
      console.error(`inventory test +${((Date.now() - t) / 1000).toFixed(1)} s: ${what}`);
    const discovery = await c.start('discovery');
    const first = await c.start('polling');
    await until(
      async () => (await metric(first, 'panoptes_polling_resources')) >= DEVICES + 1,
      30_000,
      'the inventory',
    );
    await c.stopStage(discovery);
    await c.stopStage(first);
    log('inventory read; stages stopped');

    // Push the older records out of every partition of the resources topic: tombstones of
    // made-up keys, about 10 MB per partition (the keys spread evenly).
    const pad = 'y'.repeat(120);
    for (let batch = 0; batch < 40; batch++) {
      await b.publish(
        resources,
        Array.from({ length: 6000 }, (_, i) => ({ key: `filler-${batch}-${i}-${pad}`, value: null })),
      );
    }
    log('filler published');
    const second = await c.start('polling');
    log('second polling node ready');
    const readyAt = Date.now();
    const devices = Array.from({ length: DEVICES }, (_, k) => syntheticCommunity(k + 1));
    const missing = (): string[] =>
      devices.filter((d) => !(polled.get(d) ?? []).some((t) => t >= readyAt - 1000));
    await until(() => missing().length === 0, 2 * INTERVAL * 1000, 'every device polled').catch(
      () => undefined,
    );
    await sub.stop();
    expect(missing(), second.output.slice(-4000)).toEqual([]);
    // The topic had lost records (else this test shows nothing), and the node said so.
    expect(await metric(second, 'panoptes_polling_inventory_restored_total')).toBeGreaterThan(0);
    expect(second.output).toMatch(/resources of the store's inventory for this node's partitions are not in/);
  }, 180_000);
});
