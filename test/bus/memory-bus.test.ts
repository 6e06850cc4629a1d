import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BusMessage, TopicPartition } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { advance, deferred, hasSettled, settle, until, useVirtualTime } from '../support/virtual-time.js';

const text = (m: BusMessage): string | null => (m.value === null ? null : m.value.toString('utf8'));
/** A handler that records the text of every message into `list`. */
const into =
  (list: string[]) =>
  (m: BusMessage): Promise<void> => {
    list.push(text(m) ?? '');
    return Promise.resolve();
  };
const parts = (tps: readonly TopicPartition[]): number[] =>
  tps.map((tp) => tp.partition).sort((a, b) => a - b);

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

describe('MemoryBus partitions', () => {
  it("keeps each key's messages in order, in one partition, across publishes", async () => {
    const b = bus({ partitions: 4 });
    const keys = Array.from({ length: 12 }, (_, i) => `resource-${i}`);
    for (let round = 0; round < 5; round++) {
      await b.publish(
        'dc1-processed',
        keys.map((key) => ({ key, value: `${key}#${round}` })),
      );
    }
    const seen: BusMessage[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['dc1-processed'],
      fromBeginning: true,
      handler: (m) => {
        seen.push(m);
        return Promise.resolve();
      },
    });
    await until(() => seen.length === 60, '60 messages');
    const usedPartitions = new Set<number>();
    for (const key of keys) {
      const mine = seen.filter((m) => m.key === key);
      expect(mine.map(text)).toEqual([0, 1, 2, 3, 4].map((r) => `${key}#${r}`));
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      usedPartitions.add(mine[0]?.partition ?? -1);
      // Offsets increase within the partition.
      const offsets = mine.map((m) => Number(m.offset));
      expect(offsets).toEqual([...offsets].sort((a, c) => a - c));
    }
    // 12 keys spread over more than one of the 4 partitions.
    expect(usedPartitions.size).toBeGreaterThan(1);
    expect(b.endOffsets('dc1-processed').reduce((a, c) => a + c, 0)).toBe(60);
  });

  it('maps a key to the same partition in every bus and topic (stable hash)', async () => {
    const partitionsOf = async (topic: string): Promise<Map<string, number>> => {
      const b = bus({ partitions: 8 });
      await b.publish(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
      );
      const out = new Map<string, number>();
      await b.subscribe({
        groupId: 'g',
        topics: [topic],
        fromBeginning: true,
        handler: (m) => {
          out.set(m.key ?? '', m.partition);
          return Promise.resolve();
        },
      });
      await until(() => out.size === 20, '20 keys');
      return out;
    };
    const first = await partitionsOf('t1');
    expect(await partitionsOf('t2')).toEqual(first);
  });

  it('deals keyless messages round-robin', async () => {
    const b = bus({ partitions: 4 });
    await b.publish(
      't',
      Array.from({ length: 8 }, () => ({ key: null, value: 'x' })),
    );
    expect(b.endOffsets('t')).toEqual([2, 2, 2, 2]);
  });

  it('delivers tombstones (null value), buffers and headers as published', async () => {
    const b = bus({ partitions: 1 });
    const seen: BusMessage[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['dc1-resources'],
      handler: (m) => {
        seen.push(m);
        return Promise.resolve();
      },
    });
    await b.publish('dc1-resources', [
      { key: 'r1', value: '{"resource_id":"r1"}', headers: { source: 'test' } },
      { key: 'r1', value: null },
      { key: 'r2', value: Buffer.from([0, 255]) },
    ]);
    await until(() => seen.length === 3, '3 messages');
    expect(seen.map((m) => [m.key, m.offset])).toEqual([
      ['r1', '0'],
      ['r1', '1'],
      ['r2', '2'],
    ]);
    expect(text(seen[0] as BusMessage)).toBe('{"resource_id":"r1"}');
    expect(seen[0]?.headers).toEqual({ source: 'test' });
    expect(seen[1]?.value).toBeNull();
    expect(seen[1]?.headers).toEqual({});
    expect([...(seen[2]?.value ?? [])]).toEqual([0, 255]);
    expect(seen.every((m) => m.topic === 'dc1-resources' && m.partition === 0)).toBe(true);
  });
});

describe('MemoryBus consumer groups', () => {
  it('shares partitions between members and rebalances on join and on stop', async () => {
    const b = bus({ partitions: 4 });
    const events: string[] = [];
    const handled = { a: [] as BusMessage[], b: [] as BusMessage[] };
    const member = (name: 'a' | 'b') => ({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: (m: BusMessage) => {
        handled[name].push(m);
        return Promise.resolve();
      },
      onAssigned: (tps: readonly TopicPartition[]) => void events.push(`${name}+${parts(tps).join(',')}`),
      onRevoked: (tps: readonly TopicPartition[]) => void events.push(`${name}-${parts(tps).join(',')}`),
    });

    const subA = await b.subscribe(member('a'));
    expect(events).toEqual(['a+0,1,2,3']);
    expect(parts(subA.assignment())).toEqual([0, 1, 2, 3]);

    const subB = await b.subscribe(member('b'));
    expect(events).toEqual(['a+0,1,2,3', 'a-1,3', 'b+1,3']);
    expect(parts(subA.assignment())).toEqual([0, 2]);
    expect(parts(subB.assignment())).toEqual([1, 3]);

    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await b.publish(
      't',
      keys.map((key) => ({ key, value: key })),
    );
    await until(() => handled.a.length + handled.b.length === 40, '40 messages');
    expect(new Set(handled.a.map((m) => m.partition))).toEqual(new Set([0, 2]));
    expect(new Set(handled.b.map((m) => m.partition))).toEqual(new Set([1, 3]));

    await subB.stop();
    expect(events.slice(3)).toEqual(['b-1,3', 'a+1,3']);
    expect(parts(subA.assignment())).toEqual([0, 1, 2, 3]);
    expect(subB.assignment()).toEqual([]);

    // Everything published now goes to the remaining member, and nothing is delivered again.
    const before = handled.a.length;
    await b.publish(
      't',
      keys.map((key) => ({ key, value: `${key}'` })),
    );
    await until(() => handled.a.length === before + 40, '40 more messages');
    await settle();
    expect(handled.a.length + handled.b.length).toBe(80);
    await subA.stop();
    expect(events.at(-1)).toBe('a-0,1,2,3');
  });

  it('a member joining while a handler of a partition it takes over runs waits for it; nothing is delivered twice', async () => {
    const b = bus({ partitions: 2 });
    const gate = deferred();
    const partitionOf = new Map<string, number>();
    const byA: string[] = [];
    const byB: string[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async (m) => {
        partitionOf.set(m.key ?? '', m.partition);
        if (text(m) === 'slow') await gate.promise;
        byA.push(text(m) ?? '');
      },
    });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await b.publish(
      't',
      keys.map((key) => ({ key, value: `probe-${key}` })),
    );
    await until(() => byA.length === 20, 'probes');
    // A key of partition 1, the partition the second member will take over.
    const movingKey = keys.find((k) => partitionOf.get(k) === 1);
    expect(movingKey).toBeDefined();
    await b.publish('t', [{ key: movingKey ?? '', value: 'slow' }]);
    await settle();

    let joined = false;
    const joining = b.subscribe({ groupId: 'g', topics: ['t'], handler: into(byB) }).then((sub) => {
      joined = true;
      return sub;
    });
    await settle();
    expect(joined).toBe(false); // partition 1 is revoked only once its handler has finished
    gate.resolve();
    const subB = await joining;
    expect(parts(subB.assignment())).toEqual([1]);
    expect(byA.at(-1)).toBe('slow');

    await b.publish(
      't',
      keys.map((key) => ({ key, value: `after-${key}` })),
    );
    await until(() => byA.length + byB.length === 41, 'all messages');
    await settle();
    expect([...byA, ...byB].filter((v) => v === 'slow')).toEqual(['slow']);
    expect(byB.sort()).toEqual(
      keys
        .filter((k) => partitionOf.get(k) === 1)
        .map((k) => `after-${k}`)
        .sort(),
    );
  });

  it('commits an offset only after its handler resolved; the next member resumes there, losing or repeating nothing', async () => {
    const b = bus({ partitions: 1 });
    const tp = { topic: 't', partition: 0 };
    const gate = deferred();
    const first: string[] = [];
    const sub1 = await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: async (m) => {
        if (text(m) === 'm3') await gate.promise;
        first.push(text(m) ?? '');
      },
    });
    await b.publish(
      't',
      ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'].map((v) => ({ key: 'k', value: v })),
    );
    await until(() => first.length === 3, 'm0..m2');
    await settle();
    // m3's handler is still running: its offset is not committed.
    expect(b.committed('g', tp)).toBe(3);

    const stopping = sub1.stop();
    expect(await hasSettled(stopping)).toBe(false); // waits for the handler in flight
    expect(b.committed('g', tp)).toBe(3);
    gate.resolve();
    await stopping;
    expect(first).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(b.committed('g', tp)).toBe(4);

    await b.publish('t', [{ key: 'k', value: 'm6' }]);
    const second: string[] = [];
    // fromBeginning does not matter once the group has committed offsets.
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: into(second),
    });
    await until(() => second.length === 3, 'm4..m6');
    await settle();
    expect(second).toEqual(['m4', 'm5', 'm6']);
    expect(b.committed('g', tp)).toBe(7);
  });

  it('retries a failing handler with doubling back-off, then skips the message to onError; later messages flow', async () => {
    useVirtualTime(1_700_000_000_000);
    const b = bus({ partitions: 1, retryDelayMs: 100 });
    const attempts: number[] = [];
    const handled: string[] = [];
    const errors: [unknown, string | null][] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      maxAttempts: 3,
      handler: (m) => {
        if (text(m) === 'bad') {
          attempts.push(Date.now());
          return Promise.reject(new Error('cannot handle'));
        }
        handled.push(text(m) ?? '');
        return Promise.resolve();
      },
      onError: (e, m) => void errors.push([e, text(m)]),
    });
    const t0 = Date.now();
    await b.publish(
      't',
      ['ok1', 'bad', 'ok2'].map((value) => ({ key: 'k', value })),
    );
    await advance(1000);
    expect(attempts.map((t) => t - t0)).toEqual([0, 100, 300]);
    expect(errors).toHaveLength(1);
    expect((errors[0]?.[0] as Error).message).toBe('cannot handle');
    expect(errors[0]?.[1]).toBe('bad');
    expect(handled).toEqual(['ok1', 'ok2']);
    expect(b.stats).toMatchObject({ delivered: 2, handlerErrors: 3, skipped: 1 });
    expect(b.committed('g', { topic: 't', partition: 0 })).toBe(3);
  });

  it('a handler that fails and then succeeds is delivered once, without onError', async () => {
    useVirtualTime(1_700_000_000_000);
    const b = bus({ partitions: 1, retryDelayMs: 50 });
    let calls = 0;
    const onError = vi.fn();
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: () => (++calls < 3 ? Promise.reject(new Error('transient')) : Promise.resolve()),
      onError,
    });
    await b.publish('t', [{ key: 'k', value: 'v' }]);
    await advance(500);
    expect(calls).toBe(3);
    expect(onError).not.toHaveBeenCalled();
    expect(b.stats).toMatchObject({ delivered: 1, handlerErrors: 2, skipped: 0 });
  });

  it('a new group starts at the latest offset by default, at the earliest with fromBeginning', async () => {
    const b = bus({ partitions: 2 });
    await b.publish('t', [
      { key: 'a', value: 'old1' },
      { key: 'b', value: 'old2' },
    ]);
    const earliest: string[] = [];
    const latest: string[] = [];
    await b.subscribe({
      groupId: 'from-beginning',
      topics: ['t'],
      fromBeginning: true,
      handler: into(earliest),
    });
    await b.subscribe({
      groupId: 'latest',
      topics: ['t'],
      handler: into(latest),
    });
    await b.publish('t', [{ key: 'a', value: 'new1' }]);
    await until(() => earliest.length === 3 && latest.length === 1, 'deliveries');
    await settle();
    expect(earliest.sort()).toEqual(['new1', 'old1', 'old2']);
    expect(latest).toEqual(['new1']);
  });
});

describe('MemoryBus retention', () => {
  it('keeps at most `retention` messages per partition, dropping and counting the oldest', async () => {
    const b = bus({ partitions: 1, retention: 3 });
    await b.publish(
      't',
      ['m0', 'm1', 'm2', 'm3', 'm4'].map((value) => ({ key: 'k', value })),
    );
    expect(b.stats.droppedByRetention).toBe(2);
    expect(b.endOffsets('t')).toEqual([5]);
    const seen: BusMessage[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: (m) => {
        seen.push(m);
        return Promise.resolve();
      },
    });
    await until(() => seen.length === 3, '3 messages');
    expect(seen.map((m) => [m.offset, text(m)])).toEqual([
      ['2', 'm2'],
      ['3', 'm3'],
      ['4', 'm4'],
    ]);
  });

  it('a consumer that fell behind retention skips to the oldest retained message', async () => {
    const b = bus({ partitions: 1, retention: 3 });
    const gate = deferred();
    const seen: string[] = [];
    await b.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async (m) => {
        if (text(m) === 'm0') await gate.promise;
        seen.push(text(m) ?? '');
      },
    });
    await b.publish('t', [{ key: 'k', value: 'm0' }]);
    await settle();
    await b.publish(
      't',
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((value) => ({ key: 'k', value })),
    );
    gate.resolve();
    await until(() => seen.length === 4, '4 messages');
    await settle();
    expect(seen).toEqual(['m0', 'm4', 'm5', 'm6']);
    expect(b.stats.droppedByRetention).toBe(4);
  });

  it('rejects publishing after close', async () => {
    const b = bus();
    await b.close();
    await expect(b.publish('t', [{ key: 'k', value: 'v' }])).rejects.toThrow('bus is closed');
    await expect(
      b.subscribe({ groupId: 'g', topics: ['t'], handler: () => Promise.resolve() }),
    ).rejects.toThrow('bus is closed');
  });
});
