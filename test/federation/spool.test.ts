import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordBytes, Spool } from '../../src/federation/spool.js';
import type { SpooledRecord } from '../../src/federation/spool.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'panoptes-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function rec(key: string | null, n: number, size = 100): SpooledRecord {
  return { topic: 'edge-processed', key, value: Buffer.alloc(size, n % 256), headers: { n: String(n) } };
}

/** A record whose value does not compress: its chunk's size is about its own. */
function noise(n: number, size = 1000): SpooledRecord {
  return { topic: 'edge-processed', key: `k${n % 3}`, value: randomBytes(size), headers: { n: String(n) } };
}

const numbers = (spool: Spool): number[] => spool.peek(1000).map((e) => Number(e.record.headers['n']));

describe('Spool', () => {
  it('gives records back oldest first, as they came, in batches bounded by count and bytes', async () => {
    const spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    await spool.append([rec('a', 1), rec('b', 2), rec(null, 3)]);
    await spool.append([rec('c', 4)]);
    expect(spool.records).toBe(4);
    const first = spool.peek(2);
    expect(first.map((e) => e.record.headers['n'])).toEqual(['1', '2']);
    expect(first[0]?.record).toEqual(rec('a', 1));
    expect(spool.peek(3)[2]?.record.key).toBeNull();
    // By bytes: one record's worth gives one (and at least one even when it is larger).
    expect(spool.peek(10, recordBytes(rec('a', 1)) + 1)).toHaveLength(1);
    expect(spool.peek(10, 1)).toHaveLength(1);
    await spool.remove(first);
    expect(spool.records).toBe(2);
    expect(numbers(spool)).toEqual([3, 4]);
    await spool.remove(spool.peek(10));
    expect(spool.records).toBe(0);
    expect(spool.bytes).toBe(0);
    expect(spool.oldestSpooledAt).toBeUndefined();
    await spool.close();
  });

  it('keeps its records compressed: similar records take a fraction of their bytes', async () => {
    const spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    const group = (n: number): SpooledRecord => ({
      topic: 'edge1-processed',
      key: `sim-${n % 10}`,
      value: Buffer.from(
        JSON.stringify({
          resource: { resource_id: `sim-${n % 10}`, resource_class: 'network', resource_subclass: 'switch' },
          dimensions: [{ dimension_name: 'interface_name', dimension_value: `Gi0/${n}` }],
          metrics: [{ metric_name: 'bits_in', metric_value: n * 1000, metric_type: 'counter' }],
        }),
      ),
      headers: { panoptes_forward_id: `edge1/e1/0/${n}` },
    });
    const records = Array.from({ length: 200 }, (_, n) => group(n));
    await spool.append(records);
    const payload = records.reduce((sum, r) => sum + recordBytes(r), 0);
    expect(spool.bytes).toBeGreaterThan(0);
    expect(spool.bytes).toBeLessThan(payload * 0.2);
    expect(spool.peek(1000).map((e) => e.record)).toEqual(records);
    await spool.close();
  });

  it('keeps its records across a restart, and where the sender got to', async () => {
    let spool = await Spool.open({ dir, maxBytes: 1_000_000, now: () => 5_000 });
    await spool.append([rec('a', 1), rec('b', 2)]);
    await spool.remove(spool.peek(1));
    await spool.close();
    spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    expect(spool.records).toBe(1);
    expect(spool.oldestSpooledAt).toBe(5_000);
    await spool.append([rec('c', 3)]);
    expect(numbers(spool)).toEqual([2, 3]);
    await spool.close();
  });

  it('keeps what comes after it was emptied, across two restarts', async () => {
    let spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    await spool.append([rec('a', 1), rec('b', 2), rec('c', 3)]);
    await spool.remove(spool.peek(10));
    await spool.close();
    spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    expect(spool.records).toBe(0);
    await spool.append([rec('d', 4)]);
    await spool.close();
    spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    expect(spool.records).toBe(1);
    expect(numbers(spool)).toEqual([4]);
    await spool.close();
  });

  it('drops the oldest records beyond the bound and counts them', async () => {
    const size = 1000;
    let t = 0;
    const spool = await Spool.open({ dir, maxBytes: 5.5 * size, now: () => ++t });
    let dropped = 0;
    for (let n = 1; n <= 8; n++) dropped += await spool.append([noise(n, size)]);
    expect(spool.bytes).toBeLessThanOrEqual(5.5 * size);
    expect(spool.records).toBeGreaterThanOrEqual(4);
    expect(dropped).toBe(8 - spool.records);
    expect(spool.dropped).toBe(dropped);
    // The newest, in order; the oldest held is the first kept chunk.
    const kept = numbers(spool);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 9 - kept.length + i));
    expect(spool.oldestSpooledAt).toBe(kept[0]);
    await spool.remove(spool.peek(10));
    expect(spool.records).toBe(0);
    expect(spool.bytes).toBe(0);
    await spool.close();
  });

  it('counts only the records not yet sent of a chunk it drops', async () => {
    const spool = await Spool.open({ dir, maxBytes: 3000 });
    await spool.append([noise(1), noise(2), noise(3)]);
    await spool.remove(spool.peek(2));
    expect(spool.records).toBe(1);
    // The next chunk takes the spool past its bound: the first chunk goes, with one record unsent.
    expect(await spool.append([noise(4), noise(5)])).toBe(1);
    expect(spool.dropped).toBe(1);
    expect(numbers(spool)).toEqual([4, 5]);
    await spool.close();
  });

  it('says how many removed entries it had dropped meanwhile (a probe not kept from the bound)', async () => {
    const spool = await Spool.open({ dir, maxBytes: 2500 });
    await spool.append([noise(1), noise(2)]);
    const probe = spool.peek(1);
    // Not marked as being sent: the bound drops the chunk holding it.
    expect(await spool.append([noise(3), noise(4)])).toBe(2);
    expect(await spool.remove(probe)).toBe(1);
    expect(numbers(spool)).toEqual([3, 4]);
    expect(await spool.remove(spool.peek(10))).toBe(0);
    expect(spool.records).toBe(0);
    await spool.close();
  });

  it('keeps the chunks of a batch being sent past the bound until the send is over', async () => {
    const spool = await Spool.open({ dir, maxBytes: 2500 });
    await spool.append([noise(1), noise(2)]);
    const batch = spool.peek(10);
    spool.sending(batch);
    expect(await spool.append([noise(3)])).toBe(0);
    expect(spool.bytes).toBeGreaterThan(2500);
    await spool.remove(batch); // acknowledged: sent, not dropped
    spool.sending(undefined);
    expect(spool.dropped).toBe(0);
    expect(numbers(spool)).toEqual([3]);
    // Not being sent: the same bound drops it.
    await spool.append([noise(4), noise(5)]);
    expect(spool.dropped).toBe(1);
    expect(numbers(spool)).toEqual([4, 5]);
    await spool.close();
  });

  it('counts each dropped record once when appends overlap (two partitions spooling at once)', async () => {
    const spool = await Spool.open({ dir, maxBytes: 10_500 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, k) =>
        spool.append(Array.from({ length: 5 }, (_, i) => noise(k * 5 + i))),
      ),
    );
    const dropped = results.reduce((a, b) => a + b, 0);
    expect(spool.dropped).toBe(dropped);
    expect(dropped + spool.records).toBe(30);
    expect(spool.records).toBe(10);
    // The newest ten, oldest first; and the same after a restart (the disk agrees).
    const kept = numbers(spool);
    expect(kept).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    await spool.close();
    const again = await Spool.open({ dir, maxBytes: 10_500 });
    expect(numbers(again)).toEqual(kept);
    await again.close();
  });

  it('refuses a bound that is not positive', async () => {
    await expect(Spool.open({ dir, maxBytes: 0 })).rejects.toThrow(/maxBytes must be > 0/);
  });
});
