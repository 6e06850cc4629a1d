import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BusMessage, SubscribeOptions } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { isPanoptesError } from '../../src/errors.js';
import { advance, deferred, hasSettled, settle, until, useVirtualTime } from '../support/virtual-time.js';

const text = (m: BusMessage): string => (m.value === null ? '<null>' : m.value.toString('utf8'));
const texts = (batch: readonly BusMessage[]): string[] => batch.map(text);
const TP = { topic: 't', partition: 0 };

const buses: MemoryBus[] = [];
function bus(options: ConstructorParameters<typeof MemoryBus>[0] = {}): MemoryBus {
  const b = new MemoryBus(options);
  buses.push(b);
  return b;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

async function publish(b: MemoryBus, values: readonly string[], key = 'k'): Promise<void> {
  await b.publish(
    't',
    values.map((value) => ({ key, value })),
  );
}

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('MemoryBus batch handlers', () => {
  it('hands over up to maxBatchSize messages of one partition, in order', async () => {
    const b = bus({ partitions: 3 });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let round = 0; round < 7; round++) {
      await b.publish(
        't',
        keys.map((key) => ({ key, value: `${key}#${round}` })),
      );
    }
    const batches: BusMessage[][] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 4,
      handleBatch: (batch) => {
        batches.push([...batch]);
        return Promise.resolve();
      },
    });
    await until(() => batches.flat().length === 42, '42 messages');
    await settle();
    expect(batches.flat()).toHaveLength(42);
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThanOrEqual(1);
      expect(batch.length).toBeLessThanOrEqual(4);
      // One partition per batch, consecutive offsets.
      expect(new Set(batch.map((m) => m.partition)).size).toBe(1);
      const offsets = batch.map((m) => Number(m.offset));
      expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
    }
    // Everything was already there, so the batches are full except each partition's last.
    const byPartition = new Map<number, BusMessage[][]>();
    for (const batch of batches) {
      const p = batch[0]?.partition ?? -1;
      byPartition.set(p, [...(byPartition.get(p) ?? []), batch]);
    }
    for (const list of byPartition.values()) {
      expect(list.slice(0, -1).every((batch) => batch.length === 4)).toBe(true);
    }
    // Each key's messages in publish order.
    for (const key of keys) {
      const mine = batches.flat().filter((m) => m.key === key);
      expect(texts(mine)).toEqual([0, 1, 2, 3, 4, 5, 6].map((r) => `${key}#${r}`));
    }
    for (const [p, list] of byPartition)
      expect(b.committed('g', { topic: 't', partition: p })).toBe(list.flat().length);
  });

  it('defaults to batches of at most 500', async () => {
    const b = bus({ partitions: 1 });
    await publish(b, range(0, 1200));
    const sizes: number[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handleBatch: (batch) => {
        sizes.push(batch.length);
        return Promise.resolve();
      },
    });
    await until(() => sizes.reduce((a, n) => a + n, 0) === 1200, '1200 messages');
    expect(sizes).toEqual([500, 500, 200]);
  });

  it('commits the offsets of a batch only after it resolved', async () => {
    const b = bus({ partitions: 1 });
    const gates = [deferred(), deferred()];
    const batches: string[][] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 3,
      handleBatch: async (batch) => {
        batches.push(texts(batch));
        await gates[batches.length - 1]?.promise;
      },
    });
    await publish(b, range(0, 5));
    await until(() => batches.length === 1, 'first batch');
    expect(batches[0]).toEqual(['m0', 'm1', 'm2']);
    await settle();
    expect(b.committed('g', TP)).toBeUndefined();
    gates[0]?.resolve();
    await until(() => batches.length === 2, 'second batch');
    expect(b.committed('g', TP)).toBe(3);
    expect(batches[1]).toEqual(['m3', 'm4']);
    await settle();
    expect(b.committed('g', TP)).toBe(3);
    gates[1]?.resolve();
    await until(() => b.committed('g', TP) === 5, 'commit of the second batch');
  });

  it('retries a failing batch whole, the same messages, even if more arrived meanwhile', async () => {
    useVirtualTime(1_700_000_000_000);
    const b = bus({ partitions: 1, retryDelayMs: 100 });
    const calls: string[][] = [];
    const errors: BusMessage[] = [];
    await publish(b, range(0, 3));
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 10,
      handleBatch: (batch) => {
        calls.push(texts(batch));
        return calls.length <= 2 ? Promise.reject(new Error('sink down')) : Promise.resolve();
      },
      onError: (_e, m) => void errors.push(m),
    });
    await advance(0);
    expect(calls).toEqual([['m0', 'm1', 'm2']]);
    await publish(b, range(3, 5));
    await advance(1000);
    expect(calls).toEqual([
      ['m0', 'm1', 'm2'],
      ['m0', 'm1', 'm2'],
      ['m0', 'm1', 'm2'],
      ['m3', 'm4'],
    ]);
    expect(errors).toEqual([]);
    expect(b.committed('g', TP)).toBe(5);
    expect(b.stats).toMatchObject({ delivered: 5, handlerErrors: 2, skipped: 0 });
  });

  it('with maxAttempts 2 skips a failing batch, calling onError per message; later batches flow', async () => {
    useVirtualTime(1_700_000_000_000);
    const b = bus({ partitions: 1, retryDelayMs: 100 });
    const calls: string[][] = [];
    const errors: [string, string][] = [];
    await publish(b, range(0, 3));
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 10,
      maxAttempts: 2,
      handleBatch: (batch) => {
        calls.push(texts(batch));
        return batch.some((m) => text(m) === 'm1')
          ? Promise.reject(new Error('bad batch'))
          : Promise.resolve();
      },
      onError: (e, m) => void errors.push([(e as Error).message, text(m)]),
    });
    await advance(50);
    await publish(b, range(3, 5));
    await advance(1000);
    expect(calls).toEqual([
      ['m0', 'm1', 'm2'],
      ['m0', 'm1', 'm2'],
      ['m3', 'm4'],
    ]);
    expect(errors).toEqual([
      ['bad batch', 'm0'],
      ['bad batch', 'm1'],
      ['bad batch', 'm2'],
    ]);
    expect(b.committed('g', TP)).toBe(5);
    expect(b.stats).toMatchObject({ delivered: 2, handlerErrors: 2, skipped: 3 });
  });

  it('with maxAttempts Infinity retries until the batch succeeds', async () => {
    useVirtualTime(1_700_000_000_000);
    const b = bus({ partitions: 1, retryDelayMs: 10 });
    let calls = 0;
    const errors: BusMessage[] = [];
    await publish(b, range(0, 2));
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxAttempts: Infinity,
      handleBatch: () => (++calls <= 12 ? Promise.reject(new Error('down')) : Promise.resolve()),
      onError: (_e, m) => void errors.push(m),
    });
    // Back-off doubles from 10 ms and is capped at 5 s: 12 failures take well under a minute.
    await advance(60_000, 100);
    expect(calls).toBe(13);
    expect(errors).toEqual([]);
    expect(b.committed('g', TP)).toBe(2);
  });

  it('does not commit a batch that failed while the subscription stopped; a new member reads it again', async () => {
    const b = bus({ partitions: 1 });
    const gate = deferred();
    const first: string[][] = [];
    const sub1 = await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 2,
      maxAttempts: Infinity,
      handleBatch: async (batch) => {
        first.push(texts(batch));
        if (first.length === 2) await gate.promise;
      },
    });
    await publish(b, range(0, 5));
    await until(() => first.length === 2, 'two batches');
    expect(b.committed('g', TP)).toBe(2);

    const stopping = sub1.stop();
    expect(await hasSettled(stopping)).toBe(false); // waits for the batch in flight
    gate.reject(new Error('sink gone'));
    await stopping;
    expect(first).toEqual([
      ['m0', 'm1'],
      ['m2', 'm3'],
    ]); // not retried after the stop
    expect(b.committed('g', TP)).toBe(2);

    const second: string[][] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      maxBatchSize: 2,
      handleBatch: (batch) => {
        second.push(texts(batch));
        return Promise.resolve();
      },
    });
    await until(() => second.flat().length === 3, 'm2..m4');
    expect(second.flat()).toEqual(['m2', 'm3', 'm4']);
    expect(b.committed('g', TP)).toBe(5);
  });

  it('commits a batch that resolves while the subscription stops', async () => {
    const b = bus({ partitions: 1 });
    const gate = deferred();
    const seen: string[][] = [];
    const sub = await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 10,
      handleBatch: async (batch) => {
        seen.push(texts(batch));
        await gate.promise;
      },
    });
    await publish(b, range(0, 3));
    await until(() => seen.length === 1, 'batch');
    const stopping = sub.stop();
    expect(await hasSettled(stopping)).toBe(false);
    gate.resolve();
    await stopping;
    expect(b.committed('g', TP)).toBe(3);
  });

  it('a batch in flight when its partition moves to a joining member finishes first; nothing is handed over twice', async () => {
    const b = bus({ partitions: 2 });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const gate = deferred();
    const first: BusMessage[] = [];
    const second: BusMessage[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      maxBatchSize: 100,
      maxAttempts: Infinity,
      handleBatch: async (batch) => {
        await gate.promise;
        first.push(...batch);
      },
    });
    await b.publish(
      't',
      keys.map((key) => ({ key, value: `${key}#0` })),
    );
    expect(b.endOffsets('t').every((n) => n > 0)).toBe(true); // both partitions hold messages
    await settle();
    // The joining member takes partition 1, whose batch is still in flight in the first member.
    const joined = b.subscribe({
      groupId: 'g',
      topics: ['t'],
      maxBatchSize: 100,
      handleBatch: (batch) => {
        second.push(...batch);
        return Promise.resolve();
      },
    });
    expect(await hasSettled(joined)).toBe(false);
    gate.resolve();
    const sub2 = await joined;
    expect(sub2.assignment()).toEqual([{ topic: 't', partition: 1 }]);
    expect(b.committed('g', { topic: 't', partition: 1 })).toBe(b.endOffsets('t')[1]);
    await b.publish(
      't',
      keys.map((key) => ({ key, value: `${key}#1` })),
    );
    await until(() => first.length + second.length === 20, 'all twenty');
    await settle();
    const all = [...first, ...second].map(text).sort();
    expect(new Set(all).size).toBe(20);
    expect(second.every((m) => m.partition === 1 && text(m).endsWith('#1'))).toBe(true);
  });

  it('subscribe needs exactly one of handler and handleBatch (USAGE)', async () => {
    const b = bus();
    const base: SubscribeOptions = { groupId: 'g', topics: ['t'] };
    const both: SubscribeOptions = {
      ...base,
      handler: () => Promise.resolve(),
      handleBatch: () => Promise.resolve(),
    };
    for (const options of [base, both]) {
      const error: unknown = await b.subscribe(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPanoptesError(error) && error.code).toBe('USAGE');
    }
    // Nothing joined the group: a valid member gets every partition.
    const sub = await b.subscribe({ ...base, handleBatch: () => Promise.resolve() });
    expect(sub.assignment()).toHaveLength(4);
  });
});
