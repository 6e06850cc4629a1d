import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { JsonlConsumer } from '../../src/consumers/jsonl-consumer.js';
import { isPanoptesError } from '../../src/errors.js';

const TOPIC = 'dc1-processed';
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

function consumer(file: string): JsonlConsumer {
  return new JsonlConsumer({ bus, topic: TOPIC, groupId: 'jsonl', file });
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(done()).toBe(true);
}

async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

describe('JsonlConsumer', () => {
  it('writes one line per message, in order per key, text unchanged', async () => {
    const file = join(dir, 'out', 'metrics.jsonl');
    const sent: { key: string; value: string }[] = [];
    for (let n = 0; n < 10; n++) {
      for (const key of ['r1', 'r2', 'r3']) {
        // Spacing and key order that a re-serialisation would change.
        sent.push({ key, value: `{"r":"${key}", "n":${n},"v":1.50}` });
      }
    }
    const big = '{"metric_name":"bits_in","metric_value":18446744073709551615,"n":99}';
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
      const mine = got.filter((l) => l.startsWith(`{"r":"${key}"`));
      expect(mine).toEqual(sent.filter((m) => m.key === key && m.value !== big).map((m) => m.value));
    }
    expect(got).toContain(big);
    expect(got.indexOf(big)).toBeGreaterThan(got.lastIndexOf('{"r":"r1", "n":9,"v":1.50}'));
  });

  it('writes a value containing newlines on one line', async () => {
    const file = join(dir, 'metrics.jsonl');
    const pretty = JSON.stringify({ a: 1, b: [1, 2] }, null, 2);
    expect(pretty).toContain('\n');
    await bus.publish(TOPIC, [
      { key: 'r1', value: pretty },
      { key: 'r1', value: '{"after":true}' },
    ]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 2);
    await c.stop();
    const got = await lines(file);
    expect(got).toHaveLength(2);
    expect(JSON.parse(got[0] ?? '')).toEqual({ a: 1, b: [1, 2] });
    expect(got[1]).toBe('{"after":true}');
  });

  it('skips tombstones', async () => {
    const file = join(dir, 'metrics.jsonl');
    await bus.publish(TOPIC, [
      { key: 'r1', value: '{"n":1}' },
      { key: 'r1', value: null },
      { key: 'r1', value: '{"n":2}' },
    ]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 2);
    await c.stop();
    expect(await lines(file)).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('appends to an existing file', async () => {
    const file = join(dir, 'metrics.jsonl');
    await writeFile(file, '{"earlier":1}\n{"earlier":2}\n');
    await bus.publish(TOPIC, [{ key: 'r1', value: '{"new":1}' }]);
    const c = consumer(file);
    await c.start();
    await until(() => c.written === 1);
    await c.stop();

    // A second consumer (new group: reads from the beginning) appends again.
    const again = new JsonlConsumer({ bus, topic: TOPIC, groupId: 'jsonl-2', file });
    await again.start();
    await until(() => again.written === 1);
    await again.stop();
    expect(await lines(file)).toEqual(['{"earlier":1}', '{"earlier":2}', '{"new":1}', '{"new":1}']);
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
