import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics } from './victoria-metrics.js';
import type { ExportedSeries, VictoriaMetricsService } from './victoria-metrics.js';

describe('victoria-metrics test service (InfluxDB v2 write API)', () => {
  let vm: VictoriaMetricsService;

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });

  afterAll(async () => {
    await vm.stop();
  });

  it('stores points written by @influxdata/influxdb-client and exports them', async () => {
    const influx = new InfluxDB({ url: vm.url, token: 'unused' });
    const write = influx.getWriteApi('panoptes', 'metrics', 'ms');
    const t0 = Date.now() - 10_000;
    write.writePoint(
      new Point('interface')
        .tag('resource_id', 'sim-00001')
        .tag('interface_name', 'Gi0/1')
        .floatField('bits_in__gauge', 8000.5)
        .intField('errors_in__counter', 42)
        .timestamp(t0),
    );
    write.writePoint(
      new Point('interface')
        .tag('resource_id', 'sim-00001')
        .tag('interface_name', 'Gi0/1')
        .floatField('bits_in__gauge', 16001)
        .intField('errors_in__counter', 43)
        .timestamp(t0 + 1_000),
    );
    await write.close();

    let series: ExportedSeries[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await vm.flush();
      series = await vm.exportSeries('{__name__=~"interface_.*"}');
      if (series.length === 2 && series.every((s) => s.values.length === 2)) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const byName = new Map(series.map((s) => [s.metric['__name__'], s]));
    const gauge = byName.get('interface_bits_in__gauge');
    const counter = byName.get('interface_errors_in__counter');
    expect(gauge?.values).toEqual([8000.5, 16001]);
    expect(gauge?.timestamps).toEqual([t0, t0 + 1_000]);
    expect(gauge?.metric['resource_id']).toBe('sim-00001');
    expect(gauge?.metric['interface_name']).toBe('Gi0/1');
    expect(counter?.values).toEqual([42, 43]);
  });
});
