/** The V8 heap growth a node sets for itself: default, environment override, node's own flag. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_GROWING_PERCENT, heapGrowingPercent } from '../../src/node/heap.js';

describe('heapGrowingPercent', () => {
  it('is the default unless told otherwise', () => {
    expect(heapGrowingPercent({}, [])).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(heapGrowingPercent({ PANOPTES_HEAP_GROWING_PERCENT: ' ' }, ['--expose-gc'])).toBe(100);
  });

  it('takes PANOPTES_HEAP_GROWING_PERCENT; 0 leaves V8 alone', () => {
    expect(heapGrowingPercent({ PANOPTES_HEAP_GROWING_PERCENT: '50' }, [])).toBe(50);
    expect(heapGrowingPercent({ PANOPTES_HEAP_GROWING_PERCENT: '0' }, [])).toBeUndefined();
  });

  it("leaves node's own --heap-growing-percent in force", () => {
    expect(heapGrowingPercent({ PANOPTES_HEAP_GROWING_PERCENT: '50' }, ['--heap-growing-percent=30'])).toBe(
      undefined,
    );
    expect(heapGrowingPercent({}, ['--heap_growing_percent', '30'])).toBeUndefined();
  });

  it('names the variable and what it takes when the value is wrong', () => {
    for (const bad of ['-1', '1.5', 'lots', '1001']) {
      expect(() => heapGrowingPercent({ PANOPTES_HEAP_GROWING_PERCENT: bad }, [])).toThrow(
        `PANOPTES_HEAP_GROWING_PERCENT must be an integer from 0 to 1000 (0 = V8's own heuristic), not "${bad}"`,
      );
    }
  });
});
