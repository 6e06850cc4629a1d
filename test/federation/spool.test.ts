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

function rec(key: string, n: number, size = 100): SpooledRecord {
  return { topic: 'edge-processed', key, value: Buffer.alloc(size, n % 256), headers: { n: String(n) } };
}

describe('Spool', () => {
  it('gives records back oldest first, in batches bounded by count and bytes, and forgets removed ones', async () => {
    const spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    await spool.append([rec('a', 1), rec('b', 2), rec('a', 3)]);
    await spool.append([rec('c', 4)]);
    expect(spool.records).toBe(4);
    expect(spool.bytes).toBe(4 * recordBytes(rec('a', 1)));
    expect(spool.holds('a')).toBe(true);
    expect(spool.holds('z')).toBe(false);
    const first = spool.peek(2);
    expect(first.map((e) => e.record.headers['n'])).toEqual(['1', '2']);
    expect(first[0]?.record.value.equals(rec('a', 1).value)).toBe(true);
    // By bytes: one record's worth gives one (and at least one even when it is larger).
    expect(spool.peek(10, recordBytes(rec('a', 1)) + 1)).toHaveLength(1);
    expect(spool.peek(10, 1)).toHaveLength(1);
    await spool.remove(first);
    expect(spool.records).toBe(2);
    expect(spool.holds('b')).toBe(false);
    expect(spool.holds('a')).toBe(true);
    expect(spool.peek(10).map((e) => e.record.headers['n'])).toEqual(['3', '4']);
    await spool.close();
  });

  it('keeps its records across a restart, and continues their order', async () => {
    let spool = await Spool.open({ dir, maxBytes: 1_000_000, now: () => 5_000 });
    await spool.append([rec('a', 1), rec('b', 2)]);
    await spool.remove(spool.peek(1));
    await spool.close();
    spool = await Spool.open({ dir, maxBytes: 1_000_000 });
    expect(spool.records).toBe(1);
    expect(spool.oldestSpooledAt).toBe(5_000);
    await spool.append([rec('c', 3)]);
    expect(spool.peek(10).map((e) => e.record.headers['n'])).toEqual(['2', '3']);
    await spool.close();
  });

  it('drops the oldest records beyond the bound and counts them', async () => {
    const size = recordBytes(rec('a', 0));
    let t = 0;
    const spool = await Spool.open({ dir, maxBytes: 5 * size, now: () => ++t });
    let dropped = 0;
    for (let n = 1; n <= 8; n++) dropped += await spool.append([rec(n % 2 === 0 ? 'e' : 'o', n)]);
    expect(dropped).toBe(3);
    expect(spool.dropped).toBe(3);
    expect(spool.records).toBe(5);
    expect(spool.bytes).toBeLessThanOrEqual(5 * size);
    expect(spool.peek(10).map((e) => e.record.headers['n'])).toEqual(['4', '5', '6', '7', '8']);
    expect(spool.oldestSpooledAt).toBe(4);
    await spool.remove(spool.peek(10));
    expect(spool.records).toBe(0);
    expect(spool.bytes).toBe(0);
    expect(spool.oldestSpooledAt).toBeUndefined();
    expect(spool.holds('o')).toBe(false);
    await spool.close();
  });

  it('counts each dropped record once when appends overlap (two partitions spooling at once)', async () => {
    const size = recordBytes(rec('a', 10)); // the kept ones have two-digit numbers
    const spool = await Spool.open({ dir, maxBytes: 10 * size });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, k) =>
        spool.append(Array.from({ length: 5 }, (_, i) => rec(k % 2 === 0 ? 'e' : 'o', k * 5 + i))),
      ),
    );
    const dropped = results.reduce((a, b) => a + b, 0);
    expect(spool.records).toBe(10);
    expect(dropped).toBe(20);
    expect(spool.dropped).toBe(20);
    // The newest ten, oldest first; and the same after a restart (the disk agrees).
    const kept = spool.peek(100).map((e) => Number(e.record.headers['n']));
    expect(kept).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    await spool.close();
    const again = await Spool.open({ dir, maxBytes: 10 * size });
    expect(again.peek(100).map((e) => Number(e.record.headers['n']))).toEqual(kept);
    await again.close();
  });

  it('refuses a bound that is not positive', async () => {
    await expect(Spool.open({ dir, maxBytes: 0 })).rejects.toThrow(/maxBytes must be > 0/);
  });
});
