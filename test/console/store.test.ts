/**
 * ConsoleStore: what each chart takes from which group, device status from the status groups,
 * and the bounds: ring capacity from the interval, series and devices evicted least recently
 * updated first, pruning of series with nothing left in the history.
 */
import { describe, expect, it } from 'vitest';
import { chartPoints } from '../../src/console/charts.js';
import {
  ConsoleStore,
  MAX_POINTS_PER_SERIES,
  SERIES_OVERHEAD_BYTES,
  pollingStatusName,
} from '../../src/console/store.js';
import {
  cpuGroup,
  device,
  interfaceGroup,
  memoryGroup,
  otherGroup,
  statusGroup,
  temperatureGroup,
} from './groups.js';

const T = 1_800_000_000;
const store = (over: Partial<ConstructorParameters<typeof ConsoleStore>[0]> = {}): ConsoleStore =>
  new ConsoleStore({ historySeconds: 3600, maxSeries: 1000, maxDevices: 100, ...over });

describe('chartPoints', () => {
  const d = device('r1');

  it('charts the interface rate gauges, not the counters of the same name', () => {
    expect(chartPoints(interfaceGroup(d, 'Gi0/1', T, 8000, 4000))).toEqual([
      { chart: 'traffic', label: 'Gi0/1', values: [8000, 4000] },
    ]);
    // The first poll has counters only: no rate, no point.
    expect(chartPoints(interfaceGroup(d, 'Gi0/1', T, 0, 0, { first: true }))).toEqual([]);
  });

  it('reads CPU, memory as percent used, and temperatures; nothing from other groups', () => {
    expect(chartPoints(cpuGroup(d, 'CPU 0', T, 12))).toEqual([
      { chart: 'cpu', label: 'CPU 0', values: [12] },
    ]);
    expect(chartPoints(memoryGroup(d, T, 3, 12))).toEqual([{ chart: 'memory', label: 'real', values: [25] }]);
    expect(chartPoints(memoryGroup(d, T, 3, 0))).toEqual([]);
    expect(chartPoints(temperatureGroup(d, 'Board', T, 96.8))).toEqual([
      { chart: 'temperature', label: 'Board', values: [96.8] },
    ]);
    expect(chartPoints(otherGroup(d, T))).toEqual([]);
  });
});

describe('ConsoleStore', () => {
  it('lists devices with the last status of each plugin, the error named, and the age', () => {
    const s = store();
    const a = device('a');
    const b = device('b', '10.0.0.2');
    s.ingest(statusGroup(a, 'device-status', 'success', T));
    s.ingest(statusGroup(b, 'device-status', 'success', T - 20));
    s.ingest(statusGroup(b, 'device-status', 'timeout', T)); // the newer one counts
    s.ingest(statusGroup(b, 'device-metrics', 'partial', T));
    s.ingest(statusGroup(b, 'interface-polling', 'success', T));
    s.ingest(statusGroup(b, 'device-status', 'success', T - 10)); // late: older than what is held
    s.ingest(otherGroup(device('c'), T));
    const rows = new Map(s.devices(T + 5).map((r) => [r.id, r]));
    expect(rows.get('a')).toMatchObject({ status: 'ok', error: '', last_poll: T, endpoint: '127.0.0.1' });
    expect(rows.get('b')).toMatchObject({
      status: 'error',
      error: 'partial (device-metrics); timeout (device-status)',
      last_poll: T,
      endpoint: '10.0.0.2',
      class: 'network',
      subclass: 'switch',
      type: 'simulated',
    });
    // No status group yet: unknown, but listed.
    expect(rows.get('c')).toMatchObject({ status: 'unknown', last_poll: null, last_seen: T });
    // Nothing for three intervals: stale.
    expect(s.devices(T + 31).find((r) => r.id === 'a')?.status).toBe('stale');
  });

  it('names every polling status code', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 8, 7].map(pollingStatusName)).toEqual([
      'success',
      'auth failure',
      'network error',
      'timeout',
      'partial',
      'internal error',
      'missing data',
      'enrichment failure',
      'code 7',
    ]);
  });

  it("gives a device's charts over the history, interfaces in natural order, empty charts empty", () => {
    const s = store();
    const d = device('r1');
    for (let i = 0; i < 3; i++) {
      for (const name of ['Gi0/10', 'Gi0/2', 'Gi0/1'])
        s.ingest(interfaceGroup(d, name, T + i * 10, 1000 * i, 500 * i));
      s.ingest(cpuGroup(d, 'CPU 0', T + i * 10, 10 + i));
    }
    const detail = s.device('r1', T + 25);
    expect(detail?.charts.traffic.series.map((x) => x.label)).toEqual(['Gi0/1', 'Gi0/2', 'Gi0/10']);
    expect(detail?.charts.traffic.fields).toEqual(['in', 'out']);
    expect(detail?.charts.traffic.series[0]).toEqual({
      label: 'Gi0/1',
      times: [T, T + 10, T + 20],
      values: [
        [0, 1000, 2000],
        [0, 500, 1000],
      ],
    });
    expect(detail?.charts.cpu.series[0]?.values[0]).toEqual([10, 11, 12]);
    expect(detail?.charts.memory.series).toEqual([]);
    expect(detail?.charts.temperature).toMatchObject({ unit: '°F', series: [] });
    // Points older than the history are not given, though the ring may still hold them.
    expect(s.device('r1', T + 3600 + 15)?.charts.cpu.series[0]?.times).toEqual([T + 20]);
    expect(s.device('nope', T)).toBeUndefined();
  });

  it('sizes each ring to the history at its interval, and never grows it', () => {
    const s = store({ historySeconds: 600 });
    const d = device('r1');
    expect(s.capacityFor(10)).toBe(61);
    expect(s.capacityFor(60)).toBe(11);
    expect(s.capacityFor(0.001)).toBe(601);
    expect(store({ historySeconds: 86_400 }).capacityFor(1)).toBe(MAX_POINTS_PER_SERIES);
    for (let i = 0; i < 500; i++) s.ingest(cpuGroup(d, 'CPU 0', T + i * 10, i % 100));
    const stats = s.stats;
    expect(stats.series).toBe(1);
    expect(stats.points).toBe(61);
    expect(stats.bytes).toBe(61 * 8 + SERIES_OVERHEAD_BYTES);
    // The window moved: the newest 61 polls.
    expect(s.device('r1', T + 4990)?.charts.cpu.series[0]?.times[0]).toBe(T + 4390);
  });

  it('resizes a series whose interval changes, keeping its newest points', () => {
    const s = store({ historySeconds: 600 });
    const d = device('r1');
    for (let i = 0; i < 100; i++) s.ingest(interfaceGroup(d, 'Gi0/1', T + i * 10, i, i));
    expect(s.stats.points).toBe(61);
    s.ingest(interfaceGroup(d, 'Gi0/1', T + 1060, 7, 7, { interval: 60 }));
    expect(s.stats.points).toBe(11);
    expect(s.stats.bytes).toBe(11 * 12 + SERIES_OVERHEAD_BYTES);
    expect(s.device('r1', T + 1060)?.charts.traffic.series[0]?.values[0]?.slice(-2)).toEqual([99, 7]);
  });

  it('evicts the least recently updated series beyond max_series', () => {
    const s = store({ maxSeries: 3 });
    const d = device('r1');
    s.ingest(cpuGroup(d, 'A', T, 1));
    s.ingest(cpuGroup(d, 'B', T, 1));
    s.ingest(cpuGroup(d, 'C', T, 1));
    s.ingest(cpuGroup(d, 'A', T + 10, 2)); // A is fresh again: B is now the oldest
    s.ingest(cpuGroup(d, 'D', T + 10, 1));
    const labels = s.device('r1', T + 10)?.charts.cpu.series.map((x) => x.label);
    expect(labels).toEqual(['A', 'C', 'D']);
    expect(s.stats).toMatchObject({ series: 3, seriesEvicted: 1 });
    expect(s.devices(T + 10)[0]?.series).toBe(3);
  });

  it('evicts the least recently updated device, with its series, beyond max_devices', () => {
    const s = store({ maxDevices: 2 });
    s.ingest(cpuGroup(device('a'), 'CPU', T, 1));
    s.ingest(cpuGroup(device('b'), 'CPU', T, 1));
    s.ingest(statusGroup(device('a'), 'device-status', 'success', T + 1));
    s.ingest(cpuGroup(device('c'), 'CPU', T + 2, 1));
    expect(
      s
        .devices(T + 2)
        .map((r) => r.id)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(s.stats).toMatchObject({ devices: 2, series: 2, devicesEvicted: 1 });
    expect(s.device('b', T + 2)).toBeUndefined();
  });

  it('prune() frees the series with nothing in the history, keeps the devices', () => {
    const s = store({ historySeconds: 600 });
    s.ingest(cpuGroup(device('gone'), 'CPU', T, 1));
    s.ingest(cpuGroup(device('live'), 'CPU', T + 700, 1));
    s.prune(T + 700);
    expect(s.stats.series).toBe(1);
    expect(
      s
        .devices(T + 700)
        .map((r) => r.id)
        .sort(),
    ).toEqual(['gone', 'live']);
    expect(s.device('gone', T + 700)?.device.series).toBe(0);
  });

  it('counts a point read again (same timestamp) as refused, not stored twice', () => {
    const s = store();
    const g = cpuGroup(device('r1'), 'CPU', T, 5);
    s.ingest(g);
    s.ingest(g);
    expect(s.stats).toMatchObject({ points: 1, pointsRefused: 1, groups: 2 });
  });
});
