/** SeriesRing: fixed capacity, wrap-around, at-least-once duplicates refused, resizing. */
import { describe, expect, it } from 'vitest';
import { SeriesRing } from '../../src/console/ring.js';

describe('SeriesRing', () => {
  it('holds points oldest first until full', () => {
    const ring = new SeriesRing(4, 2);
    expect(ring.size).toBe(0);
    expect(ring.lastTime).toBeUndefined();
    expect(ring.read()).toEqual({ times: [], values: [[], []] });
    ring.push(100, [1, 10]);
    ring.push(110, [2, 20]);
    expect(ring.size).toBe(2);
    expect(ring.lastTime).toBe(110);
    expect(ring.read()).toEqual({
      times: [100, 110],
      values: [
        [1, 2],
        [10, 20],
      ],
    });
  });

  it('wraps around: the oldest point is overwritten, never more than capacity', () => {
    const ring = new SeriesRing(3, 1);
    for (let i = 0; i < 10; i++) ring.push(1000 + i * 10, [i]);
    expect(ring.size).toBe(3);
    expect(ring.read()).toEqual({ times: [1070, 1080, 1090], values: [[7, 8, 9]] });
    // Its memory is set at construction: 3 x (4 + 4) bytes.
    expect(ring.bytes).toBe(24);
  });

  it('refuses a point not newer than the newest (a record read again)', () => {
    const ring = new SeriesRing(3, 1);
    expect(ring.push(100.4, [1])).toBe(true);
    expect(ring.push(100.9, [2])).toBe(false); // the same second
    expect(ring.push(90, [3])).toBe(false);
    expect(ring.push(101, [4])).toBe(true);
    expect(ring.read().values[0]).toEqual([1, 4]);
  });

  it('keeps missing fields as null and float32 values at their own precision', () => {
    const ring = new SeriesRing(2, 2);
    ring.push(1, [96.8, NaN]);
    ring.push(2, [1e12, 3]);
    expect(ring.read()).toEqual({
      times: [1, 2],
      values: [
        [96.8, 1e12],
        [null, 3],
      ],
    });
  });

  it('reads only the points at or after `since`', () => {
    const ring = new SeriesRing(5, 1);
    for (let i = 0; i < 7; i++) ring.push(i * 10, [i]);
    expect(ring.read(45).times).toEqual([50, 60]);
    expect(ring.read(1000).times).toEqual([]);
  });

  it('resized() keeps the newest points that fit', () => {
    const ring = new SeriesRing(4, 1);
    for (let i = 0; i < 6; i++) ring.push(i, [i]);
    const smaller = ring.resized(2);
    expect(smaller.capacity).toBe(2);
    expect(smaller.read().values[0]).toEqual([4, 5]);
    const larger = ring.resized(8);
    expect(larger.read().values[0]).toEqual([2, 3, 4, 5]);
    larger.push(6, [6]);
    expect(larger.size).toBe(5);
  });

  it('rejects a capacity or field count that is not a positive integer', () => {
    expect(() => new SeriesRing(0, 1)).toThrow(/capacity must be a positive integer/);
    expect(() => new SeriesRing(2, 0)).toThrow(/fields must be a positive integer/);
  });
});
