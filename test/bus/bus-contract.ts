/**
 * What every MessageBus promises (src/bus/bus.ts), as one suite run against each bus: the
 * in-process bus (bus-contract-memory.test.ts) and the Kafka bus on the test broker
 * (bus-contract-kafka.int.test.ts). Each test uses fresh topics and groups, and every wait is
 * bounded.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BusMessage, MessageBus, TopicPartition } from '../../src/bus/bus.js';

export interface BusUnderTest {
  /** A new bus (the suite closes it). */
  make(): MessageBus;
  /** How long a delivery may take, ms. */
  readonly waitMs: number;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits `ms` and checks nothing more arrived (for "not delivered again"). */
async function quiet(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

const text = (m: BusMessage): string | null => (m.value === null ? null : m.value.toString('utf8'));

export function busContract(name: string, subject: BusUnderTest): void {
  const { waitMs } = subject;

  async function withBus<T>(f: (bus: MessageBus) => Promise<T>): Promise<T> {
    const bus = subject.make();
    try {
      return await f(bus);
    } finally {
      await bus.close();
    }
  }

  describe(`MessageBus contract: ${name}`, () => {
    it('delivers what was published: key, value, headers, a tombstone as null, in the partition partitionOf names', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        await bus.publish(topic, [
          { key: 'k1', value: '{"a":1}', headers: { origin: 'contract' } },
          { key: 'k2', value: Buffer.from('{"b":2}') },
          { key: 'k1', value: null },
        ]);
        const got: BusMessage[] = [];
        const sub = await bus.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          handler: (m) => {
            got.push(m);
            return Promise.resolve();
          },
        });
        await until(() => got.length >= 3, waitMs, 'three messages');
        await sub.stop();
        const k1 = got.filter((m) => m.key === 'k1');
        expect(k1.map(text)).toEqual(['{"a":1}', null]);
        expect(k1[0]?.headers['origin']).toBe('contract');
        expect(got.find((m) => m.key === 'k2')?.value?.toString()).toBe('{"b":2}');
        for (const m of got) {
          expect(m.topic).toBe(topic);
          expect(m.partition).toBe(await bus.partitionOf(topic, m.key ?? ''));
          expect(m.offset).toMatch(/^\d+$/);
          expect(m.timestamp).toBeGreaterThan(Date.now() - 600_000);
        }
        expect(BigInt(k1[1]?.offset ?? '0')).toBeGreaterThan(BigInt(k1[0]?.offset ?? '0'));
      }));

    it("keeps one key's messages in order", () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        const n = 60;
        await bus.publish(
          topic,
          Array.from({ length: n }, (_, i) => ({ key: `k${i % 4}`, value: String(i) })),
        );
        const seen = new Map<string, number[]>();
        const sub = await bus.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          handler: (m) => {
            const list = seen.get(m.key ?? '') ?? [];
            list.push(Number(text(m)));
            seen.set(m.key ?? '', list);
            return Promise.resolve();
          },
        });
        await until(() => [...seen.values()].reduce((a, l) => a + l.length, 0) >= n, waitMs, 'every message');
        await sub.stop();
        for (const [key, list] of seen) {
          expect(list, key).toEqual([...list].sort((a, b) => a - b));
          expect(list).toHaveLength(n / 4);
        }
      }));

    it('shares a group: each message handled by one member; another group gets every message', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        const group = `g-${randomUUID()}`;
        const a: string[] = [];
        const b: string[] = [];
        const other: string[] = [];
        const assigned = { a: [] as TopicPartition[], b: [] as TopicPartition[] };
        const member = (into: string[], which: 'a' | 'b') =>
          bus.subscribe({
            groupId: group,
            topics: [topic],
            fromBeginning: true,
            handler: (m) => {
              into.push(text(m) ?? '');
              return Promise.resolve();
            },
            onAssigned: (tps) => {
              assigned[which].push(...tps);
            },
          });
        // The topic exists before the members join, so both see its partitions.
        await bus.publish(topic, [{ key: 'seed', value: 'seed' }]);
        const subA = await member(a, 'a');
        const subB = await member(b, 'b');
        await until(
          () => subA.assignment().length > 0 && subB.assignment().length > 0,
          waitMs,
          'both members assigned',
        );
        const subOther = await bus.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          handler: (m) => {
            other.push(text(m) ?? '');
            return Promise.resolve();
          },
        });
        const values = Array.from({ length: 40 }, (_, i) => `v${i}`);
        await bus.publish(
          topic,
          values.map((v, i) => ({ key: `key-${i}`, value: v })),
        );
        await until(() => a.length + b.length >= 41 && other.length >= 41, waitMs, 'every message');
        await quiet(200);
        await Promise.all([subA.stop(), subB.stop(), subOther.stop()]);
        const shared = [...a, ...b];
        expect(new Set(shared)).toEqual(new Set(['seed', ...values]));
        // Published once the group had settled, each value is handled by exactly one member.
        // 'seed' may come twice: the first member can handle it before the second joins, and
        // the rebalance can hand its partition over before that offset was committed
        // (at-least-once, as the bus promises).
        expect(shared.filter((v) => v !== 'seed').sort()).toEqual([...values].sort());
        expect(shared.filter((v) => v === 'seed').length).toBeLessThanOrEqual(2);
        expect(a.length).toBeGreaterThan(0);
        expect(b.length).toBeGreaterThan(0);
        expect([...other].sort()).toEqual(['seed', ...values].sort());
        const partitionsA = new Set(subA.assignment().map((tp) => tp.partition));
        expect(assigned.a.length).toBeGreaterThan(0);
        expect(partitionsA.size).toBe(0); // stopped members own nothing
      }));

    it('retries a failing handler, skips the message after maxAttempts, reports it, and goes on', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        await bus.publish(topic, [
          { key: 'same', value: 'good-1' },
          { key: 'same', value: 'bad' },
          { key: 'same', value: 'good-2' },
        ]);
        const handled: string[] = [];
        let badAttempts = 0;
        const errors: string[] = [];
        const sub = await bus.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          maxAttempts: 3,
          handler: (m) => {
            if (text(m) === 'bad') {
              badAttempts++;
              return Promise.reject(new Error('refused'));
            }
            handled.push(text(m) ?? '');
            return Promise.resolve();
          },
          onError: (e, m) => errors.push(`${text(m) ?? ''}: ${e instanceof Error ? e.message : String(e)}`),
        });
        await until(() => handled.length >= 2, waitMs, 'the good messages');
        await sub.stop();
        expect(handled).toEqual(['good-1', 'good-2']);
        expect(badAttempts).toBe(3);
        expect(errors).toEqual(['bad: refused']);
      }));

    it('commits after the handler: a member joining later reads only what was not handled', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        const group = `g-${randomUUID()}`;
        await bus.publish(topic, [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ]);
        const first: string[] = [];
        const sub1 = await bus.subscribe({
          groupId: group,
          topics: [topic],
          fromBeginning: true,
          handler: (m) => {
            first.push(text(m) ?? '');
            return Promise.resolve();
          },
        });
        await until(() => first.length >= 2, waitMs, 'the first two');
        await sub1.stop();
        await bus.publish(topic, [{ key: 'c', value: '3' }]);
        const second: string[] = [];
        const sub2 = await bus.subscribe({
          groupId: group,
          topics: [topic],
          fromBeginning: true,
          handler: (m) => {
            second.push(text(m) ?? '');
            return Promise.resolve();
          },
        });
        await until(() => second.length >= 1, waitMs, 'the third');
        await quiet(300);
        await sub2.stop();
        expect(first.sort()).toEqual(['1', '2']);
        expect(second).toEqual(['3']);
      }));

    it('reads a table from its start for every member that gains it, whatever was committed', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        const group = `g-${randomUUID()}`;
        await bus.publish(topic, [
          { key: 'r1', value: 'one' },
          { key: 'r2', value: 'two' },
        ]);
        const read = (into: string[]) =>
          bus.subscribe({
            groupId: group,
            topics: [topic],
            fromBeginning: true,
            readFromStartOnAssign: true,
            handler: (m) => {
              into.push(text(m) ?? '');
              return Promise.resolve();
            },
          });
        const first: string[] = [];
        const sub1 = await read(first);
        await until(() => first.length >= 2, waitMs, 'the table');
        await sub1.stop();
        const again: string[] = [];
        const sub2 = await read(again);
        await until(() => again.length >= 2, waitMs, 'the table again');
        await sub2.stop();
        expect(again.sort()).toEqual(['one', 'two']);
      }));

    it('hands batches of one partition, in order, at most maxBatchSize, committed after each', () =>
      withBus(async (bus) => {
        const topic = `c-${randomUUID()}`;
        await bus.publish(
          topic,
          Array.from({ length: 30 }, (_, i) => ({ key: 'one-key', value: String(i) })),
        );
        const batches: number[][] = [];
        const sub = await bus.subscribe({
          groupId: `g-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          maxBatchSize: 8,
          handleBatch: (ms) => {
            batches.push(ms.map((m) => Number(text(m))));
            expect(new Set(ms.map((m) => m.partition)).size).toBe(1);
            return Promise.resolve();
          },
        });
        await until(() => batches.flat().length >= 30, waitMs, 'every message');
        await sub.stop();
        expect(batches.flat()).toEqual(Array.from({ length: 30 }, (_, i) => i));
        for (const b of batches) expect(b.length).toBeLessThanOrEqual(8);
      }));

    it('refuses a subscription with both or neither of handler and handleBatch', () =>
      withBus(async (bus) => {
        await expect(bus.subscribe({ groupId: 'g', topics: ['t'] })).rejects.toThrow(
          /exactly one of handler and handleBatch/,
        );
      }));

    it('reports its telemetry: well-formed samples, dependencies with a state; close() twice is fine', async () => {
      const bus = subject.make();
      await bus.publish(`c-${randomUUID()}`, [{ key: 'k', value: 'v' }]);
      await bus.probe?.();
      const samples = bus.metrics();
      expect(samples.length).toBeGreaterThan(0);
      for (const s of samples) {
        expect(s.name).toMatch(/^panoptes_[a-z0-9_]+$/);
        expect(s.help.length).toBeGreaterThan(0);
        expect(['counter', 'gauge']).toContain(s.type);
        expect(Number.isFinite(s.value)).toBe(true);
      }
      for (const d of bus.dependencies?.() ?? []) {
        expect(['up', 'degraded', 'down', 'starting']).toContain(d.state);
        expect(d.since).toBeGreaterThan(0);
      }
      await bus.close();
      await bus.close();
    });
  });
}
