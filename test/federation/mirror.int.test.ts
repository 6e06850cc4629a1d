/**
 * Resources from the centre: an edge node (the whole pipeline on the in-process bus, the
 * built-in simulator) with federation.mirror_resources polls the devices that the central
 * cluster's `edge1-resources` names (a librdkafka mock cluster, written as central discovery
 * writes it), not those of its own discovery plugin; a tombstone at the centre stops the
 * polling of that device at the edge; and an edge restarted while the centre does not answer
 * (frozen with SIGSTOP) polls from its last copy.
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka-bus.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import type { SiteConfig } from '../../src/config/site-config.js';
import { silentLogger } from '../../src/log.js';
import { PanoptesNode } from '../../src/node/node.js';
import { startKafka } from '../services/kafka.js';
import type { KafkaService } from '../services/kafka.js';
import { captureLogger } from '../support/capture-logger.js';
import { simulatedResources, writeLabPlugins } from '../support/lab.js';

const RESOURCES = 'edge1-resources';

let dir: string;
let central: KafkaService;
let centreBus: KafkaBus;
let config: SiteConfig;
const nodes: PanoptesNode[] = [];
/** The four simulated devices: the centre names the first three for edge1, the edge's own file the fourth. */
const devices = simulatedResources(4, 'edge1');
const id = (k: number): string => devices[k]!['resource_id'] as string;

/** Resource ids of the groups the edge node publishes from now on (its local processed topic). */
async function watchPolled(node: PanoptesNode): Promise<Map<string, number>> {
  const polled = new Map<string, number>();
  await node.bus.subscribe({
    groupId: `check-${Math.random()}`,
    topics: ['edge1-processed'],
    handler: (m) => {
      if (m.key !== null) polled.set(m.key, (polled.get(m.key) ?? 0) + 1);
      return Promise.resolve();
    },
  });
  return polled;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-mirror-'));
  central = await startKafka(1, { socketTimeoutMs: 300_000 });
  centreBus = new KafkaBus({ brokers: central.brokers, logger: silentLogger, waitForCluster: true });
  await centreBus.publish(
    RESOURCES,
    devices.slice(0, 3).map((r) => ({ key: r['resource_id'] as string, value: JSON.stringify(r) })),
  );
  // The edge's own discovery plugin names only the fourth device: not run while mirroring.
  await writeFile(join(dir, 'devices.json'), JSON.stringify(devices.slice(3)));
  await writeLabPlugins(dir, {
    devicesFile: join(dir, 'devices.json'),
    intervalSeconds: 2,
    rates: ['bits_in'],
  });
  const yaml = [
    'site: edge1',
    'plugins: {directories: [plugins], rescan_seconds: 0}',
    'simulator: {devices: 4, interfaces: 2}',
    'snmp: {timeout_ms: 400, retries: 0}',
    'federation:',
    `  upstream: {brokers: [${central.brokers.join(', ')}]}`,
    '  mirror_resources: true',
    '  spool_dir: spool',
    '  send_timeout_ms: 2000',
  ].join('\n');
  config = parseSiteConfig(yaml, join(dir, 'site.yaml'));
}, 60_000);

afterAll(async () => {
  central?.process.signal('SIGCONT');
  for (const n of nodes) await n.stop();
  await centreBus?.close();
  await central?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('federation: resources mirrored from the central cluster', () => {
  it('polls the devices the centre names for the edge, and stops polling one the centre removed', async () => {
    const { logger, records } = captureLogger();
    const node = await PanoptesNode.start({ config, logger });
    nodes.push(node);
    expect(records.some((r) => /discovery plugins not run/.test(String(r['msg'])))).toBe(true);
    const polled = await watchPolled(node);
    await until(
      'groups of the three mirrored devices',
      () => [0, 1, 2].every((k) => (polled.get(id(k)) ?? 0) >= 2),
      30_000,
    );
    expect(polled.has(id(3))).toBe(false);
    expect(node.mirror?.stats.copied).toBe(3);

    await centreBus.publish(RESOURCES, [{ key: id(2), value: null }]);
    await until('the tombstone', () => node.mirror?.stats.removed === 1, 20_000);
    await sleep(1000); // a run that started before the removal may still publish
    const before = polled.get(id(2)) ?? 0;
    const others = polled.get(id(0)) ?? 0;
    await sleep(6000);
    expect(polled.get(id(2)) ?? 0).toBe(before);
    expect(polled.get(id(0)) ?? 0).toBeGreaterThan(others + 1);
    const metric = (name: string): number | undefined =>
      node.mirror?.metrics().find((s) => s.name === name)?.value;
    expect(metric('panoptes_mirror_resources')).toBe(2);
    await node.stop();
    nodes.splice(nodes.indexOf(node), 1);
  }, 90_000);

  it('restarted while the centre does not answer, polls the devices of its last copy', async () => {
    // The edge's own discovery file is gone too: only the last copy can name devices.
    await unlink(join(dir, 'devices.json'));
    central.process.signal('SIGSTOP');
    try {
      const startedAt = Date.now();
      const node = await PanoptesNode.start({ config, logger: silentLogger });
      nodes.push(node);
      // Starting does not wait for the centre.
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      const polled = await watchPolled(node);
      await until(
        'groups of the two devices of the last copy',
        () => [0, 1].every((k) => (polled.get(id(k)) ?? 0) >= 2),
        30_000,
      );
      expect(polled.has(id(2))).toBe(false);
      expect(polled.has(id(3))).toBe(false);
      expect(node.mirror?.stats).toMatchObject({ restored: 2, copied: 0 });
    } finally {
      central.process.signal('SIGCONT');
    }
  }, 90_000);
});
