import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { JsonlConsumer } from '../../src/consumers/jsonl-consumer.js';
import { isPanoptesError } from '../../src/errors.js';
import { metricJson, metricsGroupJson, resourceJson } from '../model/fixtures.js';

const TOPIC = 'dc1-processed';
const DEAD = 'dc1-dead-letter';
let dir: string;
let bus: MemoryBus;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsonl-consumer-'));
  bus = new MemoryBus({ partitions: 3 });
});

afterEach(async () => {
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

function consumer(file: string, groupId = 'jsonl'): JsonlConsumer {
  return new JsonlConsumer({ bus, topic: TOPIC, groupId, file, deadLetterTopic: DEAD });
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(done()).toBe(true);
}

async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** A valid metrics group's text for resource `key`, number n, in a spacing re-serialising would change. */
function group(key: string, n: number): string {
  const text = JSON.stringify(
    metricsGroupJson({
      resource: resourceJson({ resource_id: key }),
      metrics_group_creation_timestamp: 1700000000 + n,
    }),
  );
  return text.replace('"metrics_group_type":', '"metrics_group_type" :');
}

async function readDead(): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({
    groupId: `dead-${Math.random()}`,
    topics: [DEAD],
    fromBeginning: true,
    handler: (m) => {
      got.push(m);
      return Promise.resolve();
    },
  });
  await new Promise((r) => setTimeout(r, 20));
  await sub.stop();
  return got;
}

describe('JsonlConsumer', () => {
  it('writes one line per message, in order per key, text unchanged (Counter64 digits kept)', async () => {
    const file = join(dir, 'out', 'metrics.jsonl');
    const sent: { key: string; value: string }[] = [];
    for (let n = 0; n < 10; n++)
      for (const key of ['r1', 'r2', 'r3']) sent.push({ key, value: group(key, n) });
    const big = JSON.stringify(
      metricsGroupJson({
        metrics: [metricJson({ metric_value: 1 })],
        resource: resourceJson({ resource_id: 'r1' }),
      }),
    ).replace('"metric_value":1', '"metric_value":18446744073709551615');
    sent.push({ key: 'r1', value: big });
    await bus.publish(TOPIC, sent.slice(0, 15));

    const c = consumer(file);
    await c.start();
    await bus.publish(TOPIC, sent.slice(15)); // some before start, some after
    await until(() => c.written === sent.length);
    await c.stop();

    const got = await lines(file);
    expect(got).toHaveLength(sent.length);
    expect([...got].sort()).toEqual(sent.map((m) => m.value).sort());
    for (const key of ['r1', 'r2', 'r3']) {
      const mine = got.filter((l) => l.includes(`"resource_id":"${key}"`) && l !== big);
      expect(mine).toEqual(sent.filter((m) => m.key === key && m.value !== big).map((m) => m.value));
    }
    expect(got).toContain(big);
    expect(c.health.current).toBe('up');
  });

  it('writes a pretty-printed group on one line', async () => {
    const file = join(dir, 'metrics.jsonl');
    const pretty = JSON.stringify(metricsGroupJson(), null, 2);
    expect(pretty).toContain('\n');
    await bus.publish(TOPIC, [
      { key: 'r1', value: pretty },
      { key: 'r1', value: group('r1', 1) },
    ]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 2);
    await c.stop();
    const got = await lines(file);
    expect(got).toHaveLength(2);
    expect(JSON.parse(got[0] ?? '')).toEqual(metricsGroupJson());
    expect(got[1]).toBe(group('r1', 1));
  });

  it('never writes invalid records: they go to the dead-letter topic with the reason and origin', async () => {
    const file = join(dir, 'metrics.jsonl');
    await bus.publish(TOPIC, [
      { key: 'r1', value: group('r1', 1) },
      { key: 'r1', value: 'not json {' },
      { key: 'r1', value: JSON.stringify({ metrics_group_type: 'x' }) },
      { key: 'r1', value: null },
      { key: 'r1', value: group('r1', 2) },
    ]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 2 && c.invalid === 3);
    await c.stop();
    expect(await lines(file)).toEqual([group('r1', 1), group('r1', 2)]);
    const dead = await readDead();
    expect(dead.map((m) => m.value?.toString() ?? null)).toEqual([
      'not json {',
      JSON.stringify({ metrics_group_type: 'x' }),
      null,
    ]);
    expect(dead[0]?.headers).toMatchObject({ stage: 'jsonl', source_topic: TOPIC, source_offset: '1' });
    expect(dead[1]?.headers['reason']).toMatch(/metrics group/);
  });

  it('appends to an existing file', async () => {
    const file = join(dir, 'metrics.jsonl');
    await writeFile(file, '{"earlier":1}\n{"earlier":2}\n');
    await bus.publish(TOPIC, [{ key: 'r1', value: group('r1', 1) }]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 1);
    await c.stop();

    // A second consumer (new group: reads from the beginning) appends again.
    const again = consumer(file, 'jsonl-2');
    await again.start();
    await until(() => again.written === 1);
    await again.stop();
    expect(await lines(file)).toEqual(['{"earlier":1}', '{"earlier":2}', group('r1', 1), group('r1', 1)]);
  });

  it('a disk that refuses writes (/dev/full): health goes down, nothing is skipped or committed', async () => {
    const c = consumer('/dev/full');
    await bus.publish(TOPIC, [{ key: 'r1', value: group('r1', 1) }]);
    await c.start();
    await until(() => c.writeErrors >= 2);
    expect(c.health.current).toBe('down');
    expect(c.dependencies()[0]?.detail).toMatch(/ENOSPC|no space/i);
    expect(c.written).toBe(0);
    expect(bus.stats.skipped).toBe(0);
    const stopping = c.stop();
    await stopping;
  });

  it('fails start() with FILE_READ naming the file when the path is a directory', async () => {
    const c = consumer(dir);
    const error = await c.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPanoptesError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'FILE_READ' });
    expect((error as Error).message).toContain(dir);
    await c.stop();
  });

  it('stop() before start() does nothing', async () => {
    await expect(consumer(join(dir, 'never.jsonl')).stop()).resolves.toBeUndefined();
  });
});
