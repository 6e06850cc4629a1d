/** bench/soak.bench.ts: the trend of the soak samples and the rows it writes. */
import { describe, expect, it } from 'vitest';
import { soakSamples } from '../../bench/charts.js';
import { soakRows, trend } from '../../bench/soak.bench.js';

describe('soak trend', () => {
  it('finds the slope per hour of a line and calls noise around a flat line flat', () => {
    const growing = Array.from({ length: 30 }, (_, i) => ({
      minute: i,
      value: 100 + 0.5 * i + (i % 2) * 0.2,
    }));
    const t = trend(growing);
    expect(t.slope).toBeCloseTo(30, 0);
    expect(t.flat).toBe(false);
    const flat = Array.from({ length: 30 }, (_, i) => ({ minute: i, value: 100 + (i % 3) - 1 }));
    const f = trend(flat);
    expect(Math.abs(f.slope)).toBeLessThan(2);
    expect(f.noise).toBeGreaterThan(0.5);
    expect(f.flat).toBe(true);
  });

  it('writes one subject per sample and the trends after the warm-up; the chart reads the samples back', () => {
    const samples = Array.from({ length: 20 }, (_, i) => ({
      minute: i,
      rssMiB: 300 + i * 2,
      heapMiB: 120,
      handles: 40,
      lag: 0,
      groups: 1000 * i,
    }));
    const rows = soakRows(samples, { devices: 10, interval: 60, minutes: 19, every: 60 });
    const get = (subject: string, metric: string): number | undefined =>
      rows.find((r) => r.subject === subject && r.metric === metric)?.value;
    expect(get('minute 3', 'rss')).toBe(306);
    expect(get('run', 'warm-up samples left out')).toBe(2);
    expect(get('trend', 'rss slope')).toBeCloseTo(120, 5);
    expect(get('trend', 'rss flat')).toBe(0);
    expect(get('trend', 'heap flat')).toBe(1);
    const back = soakSamples({ file: 'soak.json', machine: {}, rows });
    expect(back.map((s) => s.minute)).toEqual(samples.map((s) => s.minute));
    expect(back[19]?.values.get('groups')).toBe(19_000);
  });
});
