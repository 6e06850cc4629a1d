import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { subscribeMetricsGroups } from '../../src/consumers/subscribe.js';
import { silentLogger } from '../../src/log.js';
import { metricsGroupToJson, stringifyJson } from '../../src/model/index.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { renderPrometheus } from '../../src/stages/metrics-server.js';
import { metricsGroupJson } from '../model/fixtures.js';
import { parseMetricsGroup } from '../../src/model/index.js';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('subscribeMetricsGroups (the consumer API)', () => {
  it('hands typed groups to the handler, exact bigints included, and skips invalid records', async () => {
    const bus = new MemoryBus();
    const parsed = parseMetricsGroup(metricsGroupJson());
    if (!parsed.ok) throw new Error('fixture');
    const big: MetricsGroup = {
      ...parsed.value,
      metrics: [
        {
          metric_name: 'octets',
          metric_value: 2n ** 64n - 1n,
          metric_type: 'counter',
          metric_creation_timestamp: 1,
        },
      ],
    };
    await bus.publish('dc1-processed', [
      { key: 'r1', value: stringifyJson(metricsGroupToJson(big)) },
      { key: 'r1', value: '{"not": "a group"}' },
      { key: 'r1', value: '{broken' },
    ]);
    const got: MetricsGroup[] = [];
    const invalid: string[] = [];
    const sub = await subscribeMetricsGroups({
      bus,
      site: 'dc1',
      groupId: 'mine',
      fromBeginning: true,
      logger: silentLogger,
      handler: (g) => {
        got.push(g);
      },
      onInvalid: (problem) => invalid.push(problem),
    });
    await until(() => got.length + invalid.length === 3);
    await sub.stop();
    expect(got).toHaveLength(1);
    expect(got[0]?.metrics[0]?.metric_value).toBe(2n ** 64n - 1n);
    expect(invalid).toHaveLength(2);
    expect(invalid[0]).toMatch(/^dc1-processed\[\d\]@1: \$.metrics_group_type: is required/);
    expect(invalid[1]).toMatch(/^dc1-processed\[\d\]@2:1:2: invalid JSON/);
    await bus.close();
  });

  it('retries a failing handler and reports the record after maxAttempts', async () => {
    const bus = new MemoryBus({ retryDelayMs: 1 });
    await bus.publish('dc1-processed', [{ key: 'r', value: stringifyJson(metricsGroupJson()) }]);
    let calls = 0;
    const errors: unknown[] = [];
    const sub = await subscribeMetricsGroups({
      bus,
      site: 'dc1',
      groupId: 'g',
      fromBeginning: true,
      maxAttempts: 3,
      logger: silentLogger,
      handler: () => {
        calls++;
        throw new Error('sink down');
      },
      onError: (e) => errors.push(e),
    });
    await until(() => errors.length === 1);
    await sub.stop();
    expect(calls).toBe(3);
    await bus.close();
  });

  it('needs a bus or Kafka brokers', async () => {
    await expect(
      subscribeMetricsGroups({ site: 'dc1', groupId: 'g', handler: () => undefined, logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('renderPrometheus', () => {
  it('writes HELP and TYPE once per name, labels escaped, special values spelled', () => {
    const text = renderPrometheus([
      {
        name: 'panoptes_runs_total',
        help: 'Runs.',
        type: 'counter',
        value: 3,
        labels: { kind: 'polling', status: 'ok' },
      },
      {
        name: 'panoptes_runs_total',
        help: 'Runs.',
        type: 'counter',
        value: 1,
        labels: { kind: 'a"b\\c\nd', status: 'x' },
      },
      { name: 'panoptes_lag', help: 'Lag.', type: 'gauge', value: Number.NaN },
    ]);
    expect(text).toBe(
      '# HELP panoptes_runs_total Runs.\n# TYPE panoptes_runs_total counter\n' +
        'panoptes_runs_total{kind="polling",status="ok"} 3\n' +
        'panoptes_runs_total{kind="a\\"b\\\\c\\nd",status="x"} 1\n' +
        '# HELP panoptes_lag Lag.\n# TYPE panoptes_lag gauge\npanoptes_lag NaN\n',
    );
  });
});
