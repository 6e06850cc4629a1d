/**
 * The InfluxDB consumer against a real victoria-metrics (InfluxDB v2 write API) and the
 * in-process bus: points and labels as stored, dead-lettering, batching, an outage of the server
 * (stopped and started again on the same port and data) and stopping.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { topicNames } from '../../src/bus/topics.js';
import { InfluxConsumer } from '../../src/consumers/influx-consumer.js';
import type { InfluxConsumerOptions } from '../../src/consumers/influx-consumer.js';
import { silentLogger } from '../../src/log.js';
import { stringifyJson } from '../../src/model/json.js';
import { freeTcpPort } from '../services/ports.js';
import { startVictoriaMetrics } from '../services/victoria-metrics.js';
import type { ExportedSeries, VictoriaMetricsService } from '../services/victoria-metrics.js';
import { captureLogger, LEVEL } from '../support/capture-logger.js';
import { COUNTER64_MAX, metricJson, metricsGroupJson, resourceJson } from '../model/fixtures.js';
import type { Json } from '../model/fixtures.js';

const TOPICS = topicNames();
const TOPIC = TOPICS.processed('dc1');
const DLQ = TOPICS.deadLetter('dc1');
const TOKEN = 'influx-token-must-not-be-logged';

let vm: VictoriaMetricsService;
let bus: MemoryBus;
const consumers: InfluxConsumer[] = [];

beforeAll(async () => {
  vm = await startVictoriaMetrics();
});

afterAll(async () => {
  await vm.stop();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  await bus.close();
});

function consumer(overrides: Partial<InfluxConsumerOptions> = {}): InfluxConsumer {
  const c = new InfluxConsumer({
    bus,
    topic: TOPIC,
    deadLetterTopic: DLQ,
    groupId: 'influx',
    url: vm.url,
    org: 'panoptes',
    bucket: 'metrics',
    token: TOKEN,
    flushIntervalMs: 100,
    retryInitialMs: 100,
    retryMaxMs: 400,
    logger: silentLogger,
    ...overrides,
  });
  consumers.push(c);
  return c;
}

/** A metrics group's wire text (bigint values as exact integer literals). */
function groupText(overrides: Json): string {
  return stringifyJson(metricsGroupJson(overrides));
}

/** Epoch seconds with millisecond resolution, a few minutes ago (victoria-metrics keeps recent data). */
const BASE_S = Math.floor(Date.now() / 1000) - 600;

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Series matching `match` once `ready` holds for them (victoria-metrics shows writes after a flush). */
async function exported(
  match: string,
  ready: (series: ExportedSeries[]) => boolean,
): Promise<ExportedSeries[]> {
  let series: ExportedSeries[] = [];
  await until(
    `series ${match}`,
    async () => {
      await vm.flush();
      series = await vm.exportSeries(match);
      return ready(series);
    },
    15_000,
  );
  return series;
}

function byName(series: readonly ExportedSeries[], resourceId?: string): Map<string, ExportedSeries> {
  return new Map(
    series
      .filter((s) => resourceId === undefined || s.metric['resource_id'] === resourceId)
      .map((s) => [s.metric['__name__'] ?? '', s]),
  );
}

/** Points of every series: (name, resource, timestamp) -> values, duplicates kept. */
function points(series: readonly ExportedSeries[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of series) {
    s.timestamps.forEach((t, i) => {
      const key = `${s.metric['__name__']} ${s.metric['resource_id']} ${t}`;
      out.set(key, [...(out.get(key) ?? []), s.values[i] as number]);
    });
  }
  return out;
}

function committedAll(groupId = 'influx'): number[] {
  return bus
    .endOffsets(TOPIC)
    .map((_, partition) => bus.committed(groupId, { topic: TOPIC, partition }) ?? 0);
}

async function readTopic(topic: string, count: number): Promise<BusMessage[]> {
  const seen: BusMessage[] = [];
  const sub = await bus.subscribe({
    groupId: `reader-${topic}-${Math.random()}`,
    topics: [topic],
    fromBeginning: true,
    handler: (m) => {
      seen.push(m);
      return Promise.resolve();
    },
  });
  await until(`${count} messages on ${topic}`, () => seen.length >= count);
  await sub.stop();
  return seen;
}

describe('InfluxConsumer with victoria-metrics', () => {
  it('writes each group as one point: measurement_field series, dimension and resource labels, exact values', async () => {
    bus = new MemoryBus({ partitions: 4 });
    const resources = ['sw1', 'sw2', 'sw3', 'sw4', 'sw5', 'sw6'];
    const messages = resources.flatMap((id, r) =>
      [0, 1].map((n) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_interface',
          metrics_group_creation_timestamp: BASE_S + n * 60 + r / 1000,
          resource: resourceJson({ resource_id: id, resource_endpoint: `192.0.2.${r + 1}` }),
          dimensions: [
            { dimension_name: 'interface_name', dimension_value: 'Gi1/0/1' },
            { dimension_name: 'descr', dimension_value: 'to core, port=1' },
          ],
          metrics: [
            // A counter and its rate gauge share the name.
            metricJson({ metric_name: 'bits_in', metric_type: 'counter', metric_value: 1000 * (n + 1) + r }),
            metricJson({ metric_name: 'bits_in', metric_type: 'gauge', metric_value: 8000.5 + n }),
            // Counter64 beyond 2^53, and beyond 2^63 (written as unsigned).
            metricJson({ metric_name: 'octets_in', metric_value: 2n ** 53n + 1n + BigInt(n) }),
            metricJson({ metric_name: 'octets_max', metric_value: COUNTER64_MAX }),
          ],
        }),
      })),
    );
    await bus.publish(TOPIC, messages);
    expect(bus.endOffsets(TOPIC).filter((n) => n > 0).length).toBeGreaterThan(1); // several partitions

    const c = consumer();
    await c.start();
    await until('all written', () => c.stats.written === messages.length);
    expect(c.stats).toMatchObject({ received: 12, written: 12, deadLettered: 0, writeErrors: 0 });
    // Partition batches were gathered into fewer writes than groups.
    expect(c.stats.batches).toBeLessThan(messages.length);
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());

    const series = await exported(
      '{__name__=~"itest_interface_.*"}',
      (s) => s.length === 4 * resources.length && s.every((x) => x.values.length === 2),
    );
    const sw3 = byName(series, 'sw3');
    expect([...sw3.keys()].sort()).toEqual([
      'itest_interface_bits_in__counter',
      'itest_interface_bits_in__gauge',
      'itest_interface_octets_in__counter',
      'itest_interface_octets_max__counter',
    ]);
    const counter = sw3.get('itest_interface_bits_in__counter');
    const { __name__: _name, ...labels } = counter?.metric ?? {};
    expect(labels).toEqual({
      descr: 'to core, port=1',
      interface_name: 'Gi1/0/1',
      resource_class: 'network',
      resource_endpoint: '192.0.2.3',
      resource_id: 'sw3',
      resource_site: 'dc1',
      resource_subclass: 'switch',
      resource_type: 'cisco',
    });
    const t0 = (BASE_S + 0.002) * 1000;
    expect(counter?.timestamps).toEqual([t0, t0 + 60_000]);
    expect(counter?.values).toEqual([1002, 2002]);
    expect(sw3.get('itest_interface_bits_in__gauge')?.values).toEqual([8000.5, 8001.5]);
    // victoria-metrics stores float64: the nearest double of each exact integer we sent.
    expect(sw3.get('itest_interface_octets_in__counter')?.values).toEqual([
      Number(2n ** 53n + 1n),
      Number(2n ** 53n + 2n),
    ]);
    // 2^64 - 1 went out as `18446744073709551615u` and was accepted; victoria-metrics keeps values
    // as a decimal with an int64 mantissa, so this one comes back as 18446744073709548000.
    const max = sw3.get('itest_interface_octets_max__counter')?.values ?? [];
    expect(max).toHaveLength(2);
    for (const v of max)
      expect(Math.abs(v - Number(COUNTER64_MAX)) / Number(COUNTER64_MAX)).toBeLessThan(1e-15);
  });

  it('dead-letters invalid records with the original value and the reason; the valid ones still arrive', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const valid = (id: string): string =>
      groupText({
        metrics_group_type: 'itest_dlq',
        metrics_group_creation_timestamp: BASE_S,
        resource: resourceJson({ resource_id: id }),
      });
    const badJson = '{"metrics_group_type": "itest_dlq", ';
    const badSchema = groupText({
      metrics_group_type: 'itest_dlq',
      metrics: [metricJson({ metric_type: 'rate' })],
    });
    await bus.publish(TOPIC, [
      { key: 'a', value: valid('a') },
      { key: 'a', value: badJson, headers: { trace: 't-1' } },
      { key: 'b', value: badSchema },
      { key: 'b', value: valid('b') },
      { key: 'a', value: null },
      { key: 'a', value: valid('c') },
    ]);
    const c = consumer();
    await c.start();
    await until('all handled', () => c.stats.received === 6);
    expect(c.stats).toMatchObject({ received: 6, written: 3, deadLettered: 3 });

    const dead = await readTopic(DLQ, 3);
    expect(dead).toHaveLength(3);
    const json = dead.find((m) => m.value?.toString('utf8') === badJson);
    expect(json?.key).toBe('a');
    expect(json?.headers['trace']).toBe('t-1'); // original headers kept
    expect(json?.headers['source_topic']).toBe(TOPIC);
    expect(json?.headers['reason']).toMatch(
      new RegExp(
        `^${TOPIC}\\[${json?.headers['source_partition']}\\]@${json?.headers['source_offset']}:1:\\d+: invalid JSON`,
      ),
    );
    const schema = dead.find((m) => m.value?.toString('utf8') === badSchema);
    expect(schema?.headers['reason']).toContain('$.metrics[0].metric_type: must be "counter" or "gauge"');
    const tombstone = dead.find((m) => m.value === null);
    expect(tombstone?.key).toBe('a');
    expect(tombstone?.headers['reason']).toBe('no value (tombstone)');
    // source_partition and source_offset name the record on the processed topic.
    const source = new Map((await readTopic(TOPIC, 6)).map((m) => [`${m.partition}@${m.offset}`, m]));
    for (const m of dead) {
      expect(m.headers['source_topic']).toBe(TOPIC);
      const original = source.get(`${m.headers['source_partition']}@${m.headers['source_offset']}`);
      expect(original?.value?.toString('utf8')).toBe(m.value?.toString('utf8'));
      expect(original?.key).toBe(m.key);
    }

    const series = await exported('{__name__="itest_dlq_bits_in__counter"}', (s) => s.length === 3);
    expect(series.map((s) => s.metric['resource_id']).sort()).toEqual(['a', 'b', 'c']);
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
  });

  it('loses nothing while victoria-metrics is down; offsets advance only after the write succeeded', async () => {
    bus = new MemoryBus({ partitions: 3 });
    const { logger, records } = captureLogger();
    const c = consumer({ logger });
    await c.start();
    const group = (id: string, n: number): { key: string; value: string } => ({
      key: id,
      value: groupText({
        metrics_group_type: 'itest_outage',
        metrics_group_creation_timestamp: BASE_S + n * 10,
        resource: resourceJson({ resource_id: id }),
        metrics: [metricJson({ metric_name: 'bits_in', metric_value: n })],
      }),
    });
    await bus.publish(TOPIC, [group('r1', 0), group('r2', 0)]);
    await until('first points written', () => c.stats.written === 2);
    await until('first offsets committed', () => committedAll().reduce((a, n) => a + n, 0) === 2);
    const before = committedAll();

    await vm.process.kill();
    const down = Date.now();
    const during = [1, 2, 3, 4].flatMap((n) => [group('r1', n), group('r2', n), group('r3', n)]);
    await bus.publish(TOPIC, during);
    await until('write failures', () => c.stats.writeErrors >= 3);
    expect(committedAll()).toEqual(before);
    expect(c.stats.written).toBe(2);
    // Down for about 3 s; offsets never move meanwhile.
    while (Date.now() - down < 3_000) {
      await new Promise((r) => setTimeout(r, 200));
      expect(committedAll()).toEqual(before);
    }

    await vm.resume(); // the same port and data, answering /health again
    await until('points written after the restart', () => c.stats.written >= 14);
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
    expect(c.stats.received).toBe(14);

    const series = await exported(
      '{__name__="itest_outage_bits_in__counter"}',
      (s) => [...points(s).keys()].length === 14,
    );
    const got = points(series);
    for (const id of ['r1', 'r2', 'r3']) {
      for (const n of id === 'r3' ? [1, 2, 3, 4] : [0, 1, 2, 3, 4]) {
        const key = `itest_outage_bits_in__counter ${id} ${(BASE_S + n * 10) * 1000}`;
        expect(new Set(got.get(key))).toEqual(new Set([n]));
      }
    }

    // Every failure was a warning naming the server, never the token.
    const warnings = records.filter(
      (r) => r.level === LEVEL.warn && r.msg === 'InfluxDB write failed; retrying',
    );
    expect(warnings.length).toBe(c.stats.writeErrors);
    expect(warnings[0]?.['url']).toBe(`${vm.url}/api/v2/write`);
    expect(warnings[0]?.['err']).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });

  it('stop() writes buffered points at once and commits them', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const c = consumer({ flushIntervalMs: 60_000, lingerMs: 60_000, batchSize: 1000 });
    await c.start();
    await bus.publish(
      TOPIC,
      ['s1', 's2', 's3'].map((id) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_stop',
          metrics_group_creation_timestamp: BASE_S,
          resource: resourceJson({ resource_id: id }),
        }),
      })),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(c.stats.written).toBe(0); // waiting for the flush interval
    expect(committedAll()).toEqual([0, 0]);
    const t0 = Date.now();
    await c.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(c.stats).toMatchObject({ received: 3, written: 3, batches: 1 });
    expect(committedAll().join()).toBe(bus.endOffsets(TOPIC).join());
    await exported('{__name__="itest_stop_bits_in__counter"}', (s) => s.length === 3);
  });

  it('writes a partial batch once no more points arrive (lingerMs), long before the interval', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const c = consumer({ flushIntervalMs: 60_000, batchSize: 1000 });
    await c.start();
    await bus.publish(
      TOPIC,
      ['l1', 'l2', 'l3'].map((id) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_linger',
          metrics_group_creation_timestamp: BASE_S,
          resource: resourceJson({ resource_id: id }),
        }),
      })),
    );
    const t0 = Date.now();
    await until('3 written', () => c.stats.written === 3);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await until('committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
    await c.stop();
  });

  it('writes a full batch without waiting for the interval; the rest waits for it (or for stop)', async () => {
    bus = new MemoryBus({ partitions: 1 });
    const c = consumer({ flushIntervalMs: 60_000, lingerMs: 60_000, batchSize: 10 });
    await bus.publish(
      TOPIC,
      Array.from({ length: 45 }, (_, i) => ({
        key: `b${i % 8}`,
        value: groupText({
          metrics_group_type: 'itest_batch',
          metrics_group_creation_timestamp: BASE_S + i,
          resource: resourceJson({ resource_id: `b${i % 8}` }),
        }),
      })),
    );
    await c.start();
    await until('40 written', () => c.stats.written === 40);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.stats).toMatchObject({ written: 40, batches: 4 });
    expect(committedAll()).toEqual([40]);
    await c.stop();
    expect(c.stats).toMatchObject({ received: 45, written: 45, batches: 5 });
    expect(committedAll()).toEqual([45]);
  });

  it('stopping while the server is unreachable gives up after stopTimeoutMs without committing; the next consumer writes it', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const refused = `http://127.0.0.1:${await freeTcpPort()}`;
    const c = consumer({ url: refused, stopTimeoutMs: 300 });
    await c.start();
    await bus.publish(
      TOPIC,
      ['u1', 'u2'].map((id) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_giveup',
          metrics_group_creation_timestamp: BASE_S,
          resource: resourceJson({ resource_id: id }),
        }),
      })),
    );
    await until('a failed write', () => c.stats.writeErrors >= 1);
    const t0 = Date.now();
    await c.stop();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(c.stats.written).toBe(0);
    expect(committedAll()).toEqual([0, 0]);

    const next = consumer();
    await next.start();
    await until('written by the next consumer', () => next.stats.written === 2);
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
  });
});

describe('InfluxConsumer against a server that refuses some points', () => {
  let server: Server;
  let url: string;
  const requests: { headers: IncomingHttpHeaders; url: string; lines: string[] }[] = [];
  /** While true, every write is answered 400 (a server-side fault). */
  let refuseAll = false;

  beforeAll(async () => {
    // Answers 400 (as InfluxDB does for a parse error or field type conflict) to any body
    // containing "poison", 204 otherwise.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        requests.push({ headers: req.headers, url: req.url ?? '', lines: body.split('\n') });
        if (refuseAll || body.includes('poison')) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 'invalid', message: 'unable to parse points: poison' }));
        } else {
          res.writeHead(204);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the token, org, bucket and precision; dead-letters only the refused messages', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const { logger, records } = captureLogger();
    const c = consumer({ url, org: 'my org', bucket: 'b&1', logger });
    const ids = ['p1', 'p2', 'poison', 'p3', 'p4'];
    await bus.publish(
      TOPIC,
      ids.map((id) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_refused',
          resource: resourceJson({ resource_id: id }),
        }),
      })),
    );
    await c.start();
    await until('all handled', () => c.stats.received === 5);
    expect(c.stats).toMatchObject({ received: 5, written: 4, deadLettered: 1 });

    expect(requests[0]?.url).toBe('/api/v2/write?org=my%20org&bucket=b%261&precision=ms');
    expect(requests[0]?.headers['authorization']).toBe(`Token ${TOKEN}`);
    expect(requests[0]?.headers['content-type']).toBe('text/plain; charset=utf-8');
    // The combined write was refused, then each message was written on its own.
    const written = requests
      .filter((r) => !r.lines.some((l) => l.includes('poison')))
      .flatMap((r) => r.lines);
    expect(new Set(written.map((l) => /resource_id=(\w+)/.exec(l)?.[1])).size).toBe(4);

    const dead = await readTopic(DLQ, 1);
    expect(dead[0]?.key).toBe('poison');
    expect(dead[0]?.headers['reason']).toBe(
      `refused by ${url}/api/v2/write: HTTP 400: unable to parse points: poison`,
    );
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });

  it('a 400 for every record is a server fault: the breaker opens, nothing is dead-lettered, all is written once it accepts again', async () => {
    bus = new MemoryBus({ partitions: 2 });
    const { logger, records } = captureLogger();
    const c = consumer({ url, logger });
    refuseAll = true;
    const ids = Array.from({ length: 12 }, (_, i) => `d${i}`);
    await bus.publish(
      TOPIC,
      ids.map((id) => ({
        key: id,
        value: groupText({
          metrics_group_type: 'itest_breaker',
          resource: resourceJson({ resource_id: id }),
        }),
      })),
    );
    await c.start();
    await until('breaker open', () => c.stats.breakerOpened === 1);
    expect(c.health.current).toBe('down');
    expect(c.dependencies()[0]?.detail).toMatch(/refuses every record/);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.stats.deadLettered).toBe(0);
    expect(c.stats.written).toBe(0);
    refuseAll = false;
    await until('all written', () => c.stats.written === 12);
    expect(c.stats).toMatchObject({ deadLettered: 0, breakerOpened: 1 });
    expect(c.health.current).toBe('up');
    expect(records.some((r) => /refuses every record/.test(String(r['msg'])))).toBe(true);
    expect(records.some((r) => /accepts records again/.test(String(r['msg'])))).toBe(true);
    await until('offsets committed', () => committedAll().join() === bus.endOffsets(TOPIC).join());
  });
});
