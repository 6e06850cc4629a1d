/**
 * Stages wait for their dependencies: each stage (discovery, enrichment, polling, consumer) is
 * started as a process of the built CLI while Redis, then Kafka, cannot be reached; none exits,
 * the ones that need it say they are not ready, and each is ready and at work within 10 s of
 * the dependency starting. The consumer needs no Redis: it is ready at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisOnPort } from '../support/fault-services.js';
import type { ManagedProcess } from '../services/managed-process.js';
import { scrape, startCluster } from '../support/cluster.js';
import type { Cluster, Stage, StageRole } from '../support/cluster.js';

const ROLES: readonly StageRole[] = ['discovery', 'enrichment', 'polling', 'consumer'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
let redisAgain: ManagedProcess | undefined;

afterEach(async () => {
  await cluster?.stop();
  await redisAgain?.stop();
  cluster = undefined;
  redisAgain = undefined;
});

async function readyz(stage: Stage): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${stage.metricsPort}/readyz`)).status;
  } catch {
    return 0;
  }
}

/** Waits until `metric` of the stage is above zero; the seconds it took. */
async function working(stage: Stage, metric: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const value = (await scrape(stage)).get(metric) ?? 0;
    if (value > 0) return (Date.now() - started) / 1000;
    await sleep(200);
  }
  throw new Error(`${stage.name}: ${metric} still 0 after ${timeoutMs} ms:\n${stage.output.slice(-3000)}`);
}

/** What shows each stage at work. */
const WORK: Record<StageRole, string> = {
  discovery: 'panoptes_discovery_sent_total',
  enrichment: 'panoptes_polling_sent_total',
  polling: 'panoptes_polling_sent_total',
  consumer: 'panoptes_consumer_sent_total{consumer="influx"}',
};

describe('stages started while a dependency is down', () => {
  it('Redis down: nobody exits, the stages that need it wait (not ready), all ready and working within 10 s of Redis starting', async () => {
    const c = (cluster = await startCluster({ devices: 4, interfaces: 2, intervalSeconds: 4 }));
    await c.redis.process.kill('SIGKILL');
    const t0 = Date.now();
    const stages = await Promise.all(ROLES.map((r) => c.start(r, undefined, { ready: false })));
    // The consumer needs no Redis: it gets ready while Redis is still down (how soon depends on
    // how busy the machine is: Kafka and the TSDB are probed first).
    const consumer = stages.find((s) => s.role === 'consumer');
    if (consumer === undefined) throw new Error('no consumer stage');
    await c.whenReady(consumer, 20_000);
    // The others are given 5 s at least, and must still wait.
    await sleep(Math.max(0, 5000 - (Date.now() - t0)));
    for (const s of stages) {
      expect(s.child.exitCode, `${s.name} exited:\n${s.output}`).toBeNull();
      if (s.role === 'consumer') expect(await readyz(s), s.name).toBe(200);
      else expect(await readyz(s), s.name).toBe(503);
    }
    redisAgain = await startRedisOnPort(c.redis.port);
    const started = Date.now();
    for (const s of stages) await c.whenReady(s, Math.max(0, 10_000 - (Date.now() - started)));
    const readyAfter = (Date.now() - started) / 1000;
    expect(readyAfter).toBeLessThanOrEqual(10);
    for (const s of stages) await working(s, WORK[s.role], Math.max(1000, 10_000 - (Date.now() - started)));
    expect((Date.now() - started) / 1000).toBeLessThanOrEqual(10.5);
    expect(stages.find((s) => s.role === 'polling')?.output).toMatch(/redis/i);
  }, 120_000);

  it('Kafka unreachable: nobody exits, nobody is ready, all ready and working within 10 s of Kafka answering', async () => {
    const c = (cluster = await startCluster({ devices: 4, interfaces: 2, intervalSeconds: 4 }));
    c.kafka.process.signal('SIGSTOP');
    let frozen = true;
    try {
      const stages = await Promise.all(ROLES.map((r) => c.start(r, undefined, { ready: false })));
      await sleep(6000);
      for (const s of stages) {
        expect(s.child.exitCode, `${s.name} exited:\n${s.output}`).toBeNull();
        expect(await readyz(s), s.name).toBe(503);
      }
      c.kafka.process.signal('SIGCONT');
      frozen = false;
      const started = Date.now();
      for (const s of stages) await c.whenReady(s, Math.max(0, 10_000 - (Date.now() - started)));
      expect((Date.now() - started) / 1000).toBeLessThanOrEqual(10);
      for (const s of stages) await working(s, WORK[s.role], Math.max(1000, 10_000 - (Date.now() - started)));
      expect((Date.now() - started) / 1000).toBeLessThanOrEqual(10.5);
    } finally {
      if (frozen) c.kafka.process.signal('SIGCONT');
    }
  }, 120_000);
});
