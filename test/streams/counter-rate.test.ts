import { describe, expect, it } from 'vitest';
import {
  checkpointText,
  CounterHistory,
  historyFromCheckpointText,
  seriesKey,
  seriesKeyPrefix,
} from '../../src/streams/counter-rate.js';
import type { CounterSample } from '../../src/streams/counter-rate.js';

/** The whole series keys a history holds, from its checkpoint. */
function keysOf(h: CounterHistory): string[] {
  return h.toJSON().groups.flatMap(([prefix, entries]) => entries.map((e) => prefix + e[0]));
}

const S = 'series-1';
const base = { series: S, width: 64 as const, intervalSeconds: 60 };

function feed(
  h: CounterHistory,
  samples: readonly (Omit<CounterSample, 'series' | 'intervalSeconds' | 'width'> & { width?: 32 | 64 })[],
): unknown[] {
  return samples.map((s) => h.update({ ...base, ...s }));
}

describe('CounterHistory: rates', () => {
  it('gives no rate for the first sample, then (delta / elapsed) as a float per second', () => {
    const h = new CounterHistory();
    expect(h.update({ ...base, value: 1000n, timestamp: 100 })).toEqual({ kind: 'none', reason: 'first' });
    expect(h.update({ ...base, value: 1150n, timestamp: 160 })).toEqual({
      kind: 'rate',
      perSecond: 2.5,
      wrapped: false,
    });
    // Not truncated to an integer (Panoptes did).
    expect(h.update({ ...base, value: 1151n, timestamp: 220 })).toEqual({
      kind: 'rate',
      perSecond: 1 / 60,
      wrapped: false,
    });
  });

  it('keeps full precision for Counter64 values beyond 2^53: only the difference becomes a float', () => {
    const h = new CounterHistory();
    const start = 2n ** 60n + 6n;
    h.update({ ...base, value: start, timestamp: 0 });
    const r = h.update({ ...base, value: start + 8000n * 60n + 1n, timestamp: 60 });
    // As floats both values would round to the same number and the rate would be 0.
    expect(r).toEqual({ kind: 'rate', perSecond: (8000 * 60 + 1) / 60, wrapped: false });
  });

  it('accepts number values as well as bigint', () => {
    const h = new CounterHistory();
    h.update({ ...base, value: 10, timestamp: 0 });
    expect(h.update({ ...base, value: 70, timestamp: 60 })).toMatchObject({ kind: 'rate', perSecond: 1 });
  });
});

describe('CounterHistory: discontinuities', () => {
  it('re-baselines after a reboot (sysUpTime went down)', () => {
    const h = new CounterHistory();
    const results = feed(h, [
      { value: 5000n, timestamp: 0, sysUpTime: 100_000 },
      { value: 6000n, timestamp: 60, sysUpTime: 106_000 },
      { value: 50n, timestamp: 120, sysUpTime: 500 },
      { value: 110n, timestamp: 180, sysUpTime: 6500 },
    ]);
    expect(results[1]).toMatchObject({ kind: 'rate' });
    expect(results[2]).toEqual({ kind: 'none', reason: 'reboot' });
    expect(results[3]).toEqual({ kind: 'rate', perSecond: 1, wrapped: false });
  });

  it('re-baselines after a gap of more than 3 intervals', () => {
    const h = new CounterHistory();
    const results = feed(h, [
      { value: 0n, timestamp: 0 },
      { value: 600n, timestamp: 181 },
      { value: 660n, timestamp: 241 },
    ]);
    expect(results[1]).toEqual({ kind: 'none', reason: 'gap' });
    expect(results[2]).toEqual({ kind: 'rate', perSecond: 1, wrapped: false });
  });

  it('accepts exactly 3 intervals', () => {
    const h = new CounterHistory();
    const results = feed(h, [
      { value: 0n, timestamp: 0 },
      { value: 180n, timestamp: 180 },
    ]);
    expect(results[1]).toEqual({ kind: 'rate', perSecond: 1, wrapped: false });
  });

  it('treats a Counter64 that went down as a reset', () => {
    const h = new CounterHistory();
    const results = feed(h, [
      { value: 2n ** 63n, timestamp: 0 },
      { value: 10n, timestamp: 60 },
      { value: 70n, timestamp: 120 },
    ]);
    expect(results[1]).toEqual({ kind: 'none', reason: 'reset' });
    expect(results[2]).toEqual({ kind: 'rate', perSecond: 1, wrapped: false });
  });

  it('a Counter32 that went down wrapped once when the implied rate is plausible', () => {
    const h = new CounterHistory();
    const c32 = { ...base, width: 32 as const, maxRatePerSecond: 125_000_000 };
    h.update({ ...c32, value: 4_294_967_000, timestamp: 0 });
    const r = h.update({ ...c32, value: 704, timestamp: 60 });
    expect(r).toEqual({ kind: 'rate', perSecond: (296 + 704) / 60, wrapped: true });
  });

  it('a Counter32 that went down is a reset when one wrap would imply more than the maximum rate', () => {
    const h = new CounterHistory();
    // 10 Mb/s interface = 1,250,000 octets/s; a wrap would mean ~71 million octets/s.
    const c32 = { ...base, width: 32 as const, maxRatePerSecond: 1_250_000 };
    h.update({ ...c32, value: 100_000, timestamp: 0 });
    expect(h.update({ ...c32, value: 50, timestamp: 60 })).toEqual({ kind: 'none', reason: 'reset' });
  });

  it('a Counter32 wrap with no known maximum rate is taken as a wrap', () => {
    const h = new CounterHistory();
    const c32 = { ...base, width: 32 as const };
    h.update({ ...c32, value: 4_294_967_295, timestamp: 0 });
    expect(h.update({ ...c32, value: 59, timestamp: 60 })).toEqual({
      kind: 'rate',
      perSecond: 1,
      wrapped: true,
    });
  });

  it('gives no rate when time did not advance', () => {
    const h = new CounterHistory();
    h.update({ ...base, value: 1n, timestamp: 10 });
    expect(h.update({ ...base, value: 2n, timestamp: 10 })).toEqual({ kind: 'none', reason: 'time' });
  });

  it('follows a recorded sequence of a 32-bit interface counter through two wraps and a reboot', () => {
    // 100 Mb/s interface (12.5 MB/s max), polled every 60 s, carrying ~10 MB/s.
    const h = new CounterHistory();
    const c32 = { ...base, width: 32 as const, maxRatePerSecond: 12_500_000 };
    const recorded: [number, number, number][] = [
      // [timestamp, ifInOctets, sysUpTime]
      [0, 3_900_000_000, 1_000_000],
      [60, 205_032_704, 1_006_000], // wrapped: 3,900,000,000 + 600,000,000 - 2^32
      [120, 805_032_704, 1_012_000],
      [180, 1_405_032_704, 1_018_000],
      [240, 2_005_032_704, 1_024_000],
      [300, 2_605_032_704, 1_030_000],
      [360, 3_205_032_704, 1_036_000],
      [420, 3_805_032_704, 1_042_000],
      [480, 110_065_408, 1_048_000], // wrapped again
      [540, 12_000, 3_000], // rebooted
      [600, 600_012_000, 9_000],
    ];
    const rates = recorded.map(([timestamp, value, sysUpTime]) =>
      h.update({ ...c32, value, timestamp, sysUpTime }),
    );
    expect(rates[0]).toEqual({ kind: 'none', reason: 'first' });
    for (const i of [1, 2, 3, 4, 5, 6, 7, 8]) {
      expect(rates[i]).toMatchObject({ kind: 'rate', perSecond: 10_000_000, wrapped: i === 1 || i === 8 });
    }
    expect(rates[9]).toEqual({ kind: 'none', reason: 'reboot' });
    expect(rates[10]).toEqual({ kind: 'rate', perSecond: 10_000_000, wrapped: false });
  });
});

describe('CounterHistory: checkpoints and series keys', () => {
  it('round-trips through JSON with exact 64-bit values, so rates continue on another node', () => {
    const h = new CounterHistory();
    h.update({ ...base, value: 2n ** 64n - 100n, timestamp: 0, sysUpTime: 42 });
    const restored = CounterHistory.fromJSON(
      JSON.parse(JSON.stringify(h.toJSON())) as ReturnType<CounterHistory['toJSON']>,
    );
    expect(restored.size).toBe(1);
    expect(restored.update({ ...base, value: 2n ** 64n - 40n, timestamp: 60, sysUpTime: 6042 })).toEqual({
      kind: 'rate',
      perSecond: 1,
      wrapped: false,
    });
  });

  it('writes the shared key part of a group once, and timestamps only where they change', () => {
    const h = new CounterHistory();
    const dims = [{ name: 'interface_name', value: 'Gi0/1' }];
    const group = h.groupSeries(seriesKeyPrefix('r1', dims));
    for (const [metric, t, up] of [
      ['bits_in', 60, 100],
      ['bits_out', 60, 100],
      ['errors_in', 61, 100],
      ['errors_out', 61, undefined],
    ] as const) {
      h.rateIn(group, JSON.stringify(metric), 2n ** 63n + 1n, 64, undefined, undefined, t, 60, up);
    }
    const v = (2n ** 63n + 1n).toString();
    expect(h.toJSON()).toEqual({
      version: 2,
      groups: [
        [
          seriesKeyPrefix('r1', dims),
          [
            ['"bits_in"', v, 60, 100],
            ['"bits_out"', v],
            ['"errors_in"', v, 61, 100],
            ['"errors_out"', v, 61, null],
          ],
        ],
      ],
    });
    const back = historyFromCheckpointText(checkpointText(h));
    expect(back?.toJSON()).toEqual(h.toJSON());
    // Each series keeps its own timestamp and sysUpTime: a reboot is seen on the one that has it.
    const g = back?.groupSeries(seriesKeyPrefix('r1', dims));
    expect(g?.get('"errors_out"')).toEqual({ value: 2n ** 63n + 1n, timestamp: 61, sysUpTime: undefined });
    expect(g?.get('"bits_out"')).toEqual({ value: 2n ** 63n + 1n, timestamp: 60, sysUpTime: 100 });
  });

  it('reads version 1 checkpoints (older nodes) and leaves out malformed entries of either version', () => {
    const key = seriesKey('r1', 'bits_in', [{ name: 'interface_name', value: 'Gi0/1' }]);
    const v1 = JSON.stringify({
      version: 1,
      series: {
        [key]: { value: '1000', timestamp: 0, sysUpTime: 5 },
        bad: { value: '-1', timestamp: 0 },
        'no-time': { value: '1', timestamp: 'x' },
      },
    });
    const fromV1 = historyFromCheckpointText(v1);
    expect(fromV1?.size).toBe(1);
    expect(fromV1?.update({ ...base, series: key, value: 1060n, timestamp: 60, sysUpTime: 6005 })).toEqual({
      kind: 'rate',
      perSecond: 1,
      wrapped: false,
    });
    const v2 = JSON.stringify({
      version: 2,
      groups: [
        [
          'p:',
          [
            ['"a"', '5'],
            ['"b"', '7', 10, null],
            ['"c"', '1.5'],
            ['"d"', '9'],
          ],
        ],
        'not a group',
        ['q:', 'not entries'],
      ],
    });
    // "a" has no timestamp before it; "c" is not digits; "d" takes b's timestamp.
    expect(keysOf(historyFromCheckpointText(v2) ?? new CounterHistory()).sort()).toEqual(['p:"b"', 'p:"d"']);
    expect(historyFromCheckpointText('{"version":3,"groups":[]}')).toBeUndefined();
    expect(historyFromCheckpointText('null')).toBeUndefined();
    expect(() => historyFromCheckpointText('{')).toThrow(SyntaxError);
  });

  it('forget() drops a series', () => {
    const h = new CounterHistory();
    h.update({ ...base, value: 1n, timestamp: 0 });
    h.forget(S);
    expect(h.update({ ...base, value: 61n, timestamp: 60 })).toEqual({ kind: 'none', reason: 'first' });
  });

  it('series keys do not depend on dimension order and do not collide on separators', () => {
    const a = seriesKey('r1', 'bits_in', [
      { name: 'interface_name', value: 'Gi0/1' },
      { name: 'alias', value: 'x' },
    ]);
    const b = seriesKey('r1', 'bits_in', [
      { name: 'alias', value: 'x' },
      { name: 'interface_name', value: 'Gi0/1' },
    ]);
    expect(a).toBe(b);
    expect(seriesKey('r1', 'a', [{ name: 'b', value: 'c|d' }])).not.toBe(
      seriesKey('r1', 'a', [{ name: 'b|c', value: 'd' }]),
    );
    expect(seriesKey('r1', 'm', [])).not.toBe(seriesKey('r2', 'm', []));
  });

  it('keeps one series whether reached by its whole key or by group and metric, for any dimension text', () => {
    const dims = [{ name: 'alias', value: 'odd ]:"quote" \\ ]:' }];
    const key = seriesKey('r]:"1', 'interface.bits_in', dims);
    const h = new CounterHistory();
    h.update({ ...base, series: key, value: 100n, timestamp: 0 });
    const group = h.groupSeries(seriesKeyPrefix('r]:"1', dims));
    const metric = JSON.stringify('interface.bits_in');
    expect(h.rateIn(group, metric, 160n, 64, undefined, undefined, 60, 60, undefined)).toBe(1);
    expect(h.size).toBe(1);
    const restored = CounterHistory.fromJSON(h.toJSON());
    expect(keysOf(restored)).toEqual([key]);
    expect(restored.update({ ...base, series: key, value: 280n, timestamp: 120 })).toEqual({
      kind: 'rate',
      perSecond: 2,
      wrapped: false,
    });
    // A key that seriesKey did not make is kept whole.
    h.update({ ...base, series: 'plain', value: 1n, timestamp: 0 });
    expect(keysOf(CounterHistory.fromJSON(h.toJSON())).sort()).toEqual([key, 'plain'].sort());
  });
});

describe('CounterHistory: scaled Counter32 (bits from octets)', () => {
  const c32x8 = { ...base, width: 32 as const, scale: 8, intervalSeconds: 10 };

  it('wraps at 2^32 * scale: (2^32 - 1000) * 8 then 500 * 8 over 10 s is 1200 bits/s, wrapped', () => {
    const h = new CounterHistory();
    expect(h.update({ ...c32x8, value: (2 ** 32 - 1000) * 8, timestamp: 0 })).toEqual({
      kind: 'none',
      reason: 'first',
    });
    expect(h.update({ ...c32x8, value: 500 * 8, timestamp: 10 })).toEqual({
      kind: 'rate',
      perSecond: (1500 * 8) / 10,
      wrapped: true,
    });
  });

  it('takes bigint values the same way', () => {
    const h = new CounterHistory();
    h.update({ ...c32x8, value: (2n ** 32n - 1000n) * 8n, timestamp: 0 });
    expect(h.update({ ...c32x8, value: 4000n, timestamp: 10 })).toEqual({
      kind: 'rate',
      perSecond: 1200,
      wrapped: true,
    });
  });

  it('without the scale, the same values are not a plausible single wrap of a Counter32', () => {
    const h = new CounterHistory();
    const unscaled = { ...c32x8, scale: 1 };
    h.update({ ...unscaled, value: (2 ** 32 - 1000) * 8, timestamp: 0 });
    // delta + 2^32 is still negative: the counter was reset, not wrapped.
    expect(h.update({ ...unscaled, value: 500 * 8, timestamp: 10 })).toEqual({
      kind: 'none',
      reason: 'reset',
    });
  });

  it('a scaled wrap implying more than maxRatePerSecond is a reset', () => {
    const h = new CounterHistory();
    // 1 Gb/s interface; a wrap of a scaled counter from 8 * 100 would be ~3.4e9 bits/s.
    const limited = { ...c32x8, maxRatePerSecond: 1_000_000_000 };
    h.update({ ...limited, value: 100 * 8, timestamp: 0 });
    expect(h.update({ ...limited, value: 50 * 8, timestamp: 10 })).toEqual({ kind: 'none', reason: 'reset' });
    // The reset re-baselined the series: the next sample gives a plain rate from 50 * 8.
    expect(h.update({ ...limited, value: 150 * 8, timestamp: 20 })).toEqual({
      kind: 'rate',
      perSecond: 80,
      wrapped: false,
    });
  });

  it('a scaled wrap within maxRatePerSecond is a wrap', () => {
    const h = new CounterHistory();
    const limited = { ...c32x8, maxRatePerSecond: 1200 };
    h.update({ ...limited, value: (2 ** 32 - 1000) * 8, timestamp: 0 });
    expect(h.update({ ...limited, value: 500 * 8, timestamp: 10 })).toEqual({
      kind: 'rate',
      perSecond: 1200,
      wrapped: true,
    });
  });

  it('scale does not make a Counter64 wrap: a decrease is still a reset', () => {
    const h = new CounterHistory();
    const c64x8 = { ...c32x8, width: 64 as const };
    h.update({ ...c64x8, value: 8000n, timestamp: 0 });
    expect(h.update({ ...c64x8, value: 800n, timestamp: 10 })).toEqual({ kind: 'none', reason: 'reset' });
  });
});

describe('CounterHistory: maxRatePerSecond on an unscaled Counter32', () => {
  it('rejects an implausible wrap as a reset and accepts a plausible one', () => {
    const c32 = { ...base, width: 32 as const, intervalSeconds: 10, maxRatePerSecond: 1000 };
    const implausible = new CounterHistory();
    implausible.update({ ...c32, value: 2 ** 31, timestamp: 0 });
    expect(implausible.update({ ...c32, value: 10, timestamp: 10 })).toEqual({
      kind: 'none',
      reason: 'reset',
    });
    const plausible = new CounterHistory();
    plausible.update({ ...c32, value: 2 ** 32 - 5000, timestamp: 0 });
    expect(plausible.update({ ...c32, value: 5000, timestamp: 10 })).toEqual({
      kind: 'rate',
      perSecond: 1000,
      wrapped: true,
    });
  });
});

describe('CounterHistory: prune', () => {
  it('removes the series last sampled before the timestamp, returns how many, keeps the others', () => {
    const h = new CounterHistory();
    h.update({ ...base, series: 'old-1', value: 1n, timestamp: 100 });
    h.update({ ...base, series: 'old-2', value: 1n, timestamp: 199.5 });
    h.update({ ...base, series: 'edge', value: 1n, timestamp: 200 });
    h.update({ ...base, series: 'new', value: 1n, timestamp: 250 });
    expect(h.size).toBe(4);
    expect(h.prune(200)).toBe(2);
    expect(h.size).toBe(2);
    expect(keysOf(h).sort()).toEqual(['edge', 'new']);
    // Kept series continue their rates; pruned ones start again from a baseline.
    expect(h.update({ ...base, series: 'new', value: 61n, timestamp: 310 })).toEqual({
      kind: 'rate',
      perSecond: 1,
      wrapped: false,
    });
    expect(h.update({ ...base, series: 'old-2', value: 61n, timestamp: 259.5 })).toEqual({
      kind: 'none',
      reason: 'first',
    });
  });

  it('the timestamp is the last sample, not the first: a series sampled again stays', () => {
    const h = new CounterHistory();
    h.update({ ...base, value: 1n, timestamp: 0 });
    h.update({ ...base, value: 61n, timestamp: 60 });
    expect(h.prune(30)).toBe(0);
    expect(h.size).toBe(1);
    expect(h.prune(61)).toBe(1);
    expect(h.size).toBe(0);
  });

  it('returns 0 on an empty history', () => {
    expect(new CounterHistory().prune(Number.POSITIVE_INFINITY)).toBe(0);
  });
});
