/**
 * Prometheus naming, the remote-write body, the scrape endpoint's store and the remote-write
 * consumer's answers to refusals, against a local HTTP server that decodes what it is sent.
 * (Real servers: prometheus.int.test.ts.)
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { ExpositionConsumer } from '../../src/consumers/exposition.js';
import {
  metricsGroupToSamples,
  sanitizeLabelName,
  sanitizeMetricName,
} from '../../src/consumers/prometheus-series.js';
import { RemoteWriteConsumer, encodeWriteRequest } from '../../src/consumers/remote-write.js';
import type { RemoteWriteConsumerOptions } from '../../src/consumers/remote-write.js';
import { silentLogger } from '../../src/log.js';
import { stringifyJson } from '../../src/model/json.js';
import { parseMetricsGroupText } from '../../src/model/metrics-group-text.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { captureLogger } from '../support/capture-logger.js';
import { COUNTER64_MAX, metricJson, metricsGroupJson, resourceJson } from '../model/fixtures.js';
import type { Json } from '../model/fixtures.js';

const TOPIC = 'dc1-processed';
const DLQ = 'dc1-dead-letter';

function group(overrides: Json = {}): MetricsGroup {
  const parsed = parseMetricsGroupText(stringifyJson(metricsGroupJson(overrides)));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** The remote-write messages, as this test reads them (its own copy of the definitions). */
const ReadRequest = protobuf
  .parse(
    `syntax = "proto3";
     message W { repeated S timeseries = 1; }
     message S { repeated L labels = 1; repeated P samples = 2; }
     message L { string name = 1; string value = 2; }
     message P { double value = 1; int64 timestamp = 2; }`,
  )
  .root.lookupType('W');

interface Decoded {
  timeseries: {
    labels: { name: string; value: string }[];
    samples: { value: number; timestamp: number }[];
  }[];
}

function decode(body: Buffer): Decoded {
  const raw = snappy.uncompressSync(body) as Buffer;
  return ReadRequest.toObject(ReadRequest.decode(raw), { longs: Number, defaults: true }) as Decoded;
}

describe('Prometheus naming', () => {
  it('names a counter <group>_<metric>_total and its rate <group>_<metric>, labels sorted', () => {
    const samples = metricsGroupToSamples(group());
    expect(samples.map((s) => [s.name, s.type, s.value])).toEqual([
      ['panoptes_interface_bits_in_total', 'counter', 1234],
      ['panoptes_interface_bits_in', 'gauge', 12.5],
    ]);
    expect(samples[0]?.labels).toEqual([
      ['alias', 'uplink'],
      ['interface_name', 'Gi1/0/1'],
      ['resource_class', 'network'],
      ['resource_id', 'switch1.dc1.example.com'],
      ['resource_site', 'dc1'],
      ['resource_subclass', 'switch'],
      ['resource_type', 'cisco'],
    ]);
    expect(samples[0]?.timestampMs).toBe(1700000060123);
  });

  it('keeps a Counter64 as bigint for the scrape endpoint; leaves out dimensions named like resource labels', () => {
    const [s] = metricsGroupToSamples(
      group({
        metrics: [metricJson({ metric_name: 'octets_total', metric_value: COUNTER64_MAX })],
        dimensions: [
          { dimension_name: 'resource_id', dimension_value: 'other' },
          { dimension_name: '__secret', dimension_value: 'x' },
        ],
      }),
    );
    expect(s?.name).toBe('panoptes_interface_octets_total'); // not _total_total
    expect(s?.value).toBe(COUNTER64_MAX);
    expect(s?.labels.find(([k]) => k === 'resource_id')?.[1]).toBe('switch1.dc1.example.com');
    expect(s?.labels.find(([k]) => k === 'dimension__secret')?.[1]).toBe('x');
  });

  it('sanitises names to Prometheus rules', () => {
    expect(sanitizeMetricName('panoptes_a-b.c')).toBe('panoptes_a_b_c');
    expect(sanitizeMetricName('9lives')).toBe('_9lives');
    expect(sanitizeLabelName('if.name')).toBe('if_name');
    expect(sanitizeLabelName('1st')).toBe('_1st');
    expect(sanitizeLabelName('__name__')).toBe('dimension__name__');
  });
});

describe('the remote-write body', () => {
  it('is snappy protobuf: one series per label set, labels sorted with __name__, samples in order', () => {
    const a = metricsGroupToSamples(group({ metrics_group_creation_timestamp: 1700000060 }));
    const b = metricsGroupToSamples(
      group({
        metrics_group_creation_timestamp: 1700000120,
        metrics: [metricJson({ metric_value: COUNTER64_MAX })],
      }),
    );
    const decoded = decode(encodeWriteRequest([...a, ...b]));
    expect(decoded.timeseries).toHaveLength(2);
    const counter = decoded.timeseries[0];
    expect(counter?.labels.map((l) => l.name)).toEqual([
      '__name__',
      'alias',
      'interface_name',
      'resource_class',
      'resource_id',
      'resource_site',
      'resource_subclass',
      'resource_type',
    ]);
    expect(counter?.labels[0]?.value).toBe('panoptes_interface_bits_in_total');
    expect(counter?.samples).toEqual([
      { value: 1234, timestamp: 1700000060000 },
      { value: Number(COUNTER64_MAX), timestamp: 1700000120000 }, // the nearest float64
    ]);
    expect(decoded.timeseries[1]?.samples).toEqual([{ value: 12.5, timestamp: 1700000060000 }]);
  });
});

describe('the scrape endpoint', () => {
  const text = (g: Json): BusMessage => ({
    topic: TOPIC,
    partition: 0,
    offset: '0',
    timestamp: 0,
    key: null,
    value: Buffer.from(stringifyJson(metricsGroupJson(g))),
    headers: {},
  });
  const T0 = 1700000060;

  it('serves the newest value per series with HELP and TYPE; an older record does not replace it', () => {
    let now = T0 * 1000;
    const e = new ExpositionConsumer({
      bus: new MemoryBus(),
      topic: TOPIC,
      groupId: 'x',
      port: 0,
      logger: silentLogger,
      now: () => now,
    });
    e.take(
      text({ metrics_group_creation_timestamp: T0, metrics: [metricJson({ metric_value: COUNTER64_MAX })] }),
    );
    e.take(text({ metrics_group_creation_timestamp: T0 - 60, metrics: [metricJson({ metric_value: 5 })] }));
    e.take(
      text({
        metrics_group_creation_timestamp: T0,
        dimensions: [{ dimension_name: 'alias', dimension_value: 'a "quoted" \\ alias' }],
        metrics: [metricJson({ metric_name: 'cpu', metric_type: 'gauge', metric_value: 0.5 })],
      }),
    );
    const out = e.render();
    expect(out).toContain('# TYPE panoptes_interface_bits_in_total counter\n');
    expect(out).toContain('# HELP panoptes_interface_bits_in_total ');
    expect(out).toContain(
      'panoptes_interface_bits_in_total{alias="uplink",interface_name="Gi1/0/1",resource_class="network",' +
        'resource_id="switch1.dc1.example.com",resource_site="dc1",resource_subclass="switch",resource_type="cisco"} ' +
        '18446744073709551615\n',
    );
    expect(out).toContain('# TYPE panoptes_interface_cpu gauge\n');
    expect(out).toContain('panoptes_interface_cpu{alias="a \\"quoted\\" \\\\ alias",');
    expect(e.series).toBe(2);
    // Two intervals (120 s) after the newest value, the series is gone.
    now = (T0 + 119) * 1000;
    expect(e.render()).toContain('18446744073709551615');
    now = (T0 + 121) * 1000;
    expect(e.render()).toBe('');
    expect(e.series).toBe(0);
    expect(e.stats.expired).toBe(2);
    // A record already two intervals old is not kept.
    e.take(text({ metrics_group_creation_timestamp: T0 }));
    expect(e.series).toBe(0);
  });

  it('holds at most max_series; counts invalid records and goes on', () => {
    const e = new ExpositionConsumer({
      bus: new MemoryBus(),
      topic: TOPIC,
      groupId: 'x',
      port: 0,
      maxSeries: 3,
      logger: silentLogger,
      now: () => T0 * 1000,
    });
    for (const id of ['a', 'b', 'c'])
      e.take(text({ metrics_group_creation_timestamp: T0, resource: resourceJson({ resource_id: id }) }));
    expect(e.series).toBe(3); // a's counter, a's gauge, b's counter
    expect(e.stats.refused).toBe(3);
    e.take({ ...text({}), value: Buffer.from('{not json') });
    expect(e.stats.invalid).toBe(1);
    expect(e.metrics().find((m) => m.name === 'panoptes_exposition_series')?.value).toBe(3);
  });

  it('serves /metrics over HTTP from the bus', async () => {
    const bus = new MemoryBus();
    const e = new ExpositionConsumer({ bus, topic: TOPIC, groupId: 'x', port: 0, logger: silentLogger });
    await e.start();
    try {
      const now = Date.now() / 1000;
      await bus.publish(TOPIC, [
        { key: 'k', value: stringifyJson(metricsGroupJson({ metrics_group_creation_timestamp: now })) },
      ]);
      for (let i = 0; i < 200 && e.series < 2; i++) await new Promise((r) => setTimeout(r, 5));
      const res = await fetch(e.url);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await res.text()).toMatch(/^panoptes_interface_bits_in\{.*\} 12\.5$/m);
      expect((await fetch(e.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await e.stop();
      await bus.close();
    }
  });
});

describe('RemoteWriteConsumer against a server that refuses some writes', () => {
  let server: Server;
  let url: string;
  const requests: { headers: IncomingHttpHeaders; decoded: Decoded }[] = [];
  /** How the server answers a decoded request: status and body. */
  let answer: (d: Decoded) => [number, string] = () => [204, ''];
  let bus: MemoryBus;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const decoded = decode(Buffer.concat(chunks));
        requests.push({ headers: req.headers, decoded });
        const [status, body] = answer(decoded);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/write`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  afterEach(async () => {
    requests.length = 0;
    answer = () => [204, ''];
    await bus.close();
  });

  const ids = (d: Decoded): string[] => [
    ...new Set(d.timeseries.map((s) => s.labels.find((l) => l.name === 'resource_id')?.value ?? '')),
  ];

  async function run(
    keys: readonly string[],
    options: Partial<RemoteWriteConsumerOptions> = {},
    started: (c: RemoteWriteConsumer) => void = () => undefined,
  ): Promise<RemoteWriteConsumer> {
    bus = new MemoryBus({ partitions: 2 });
    await bus.publish(
      TOPIC,
      keys.map((id) => ({
        key: id,
        value: stringifyJson(metricsGroupJson({ resource: resourceJson({ resource_id: id }) })),
      })),
    );
    const c = new RemoteWriteConsumer({
      bus,
      topic: TOPIC,
      deadLetterTopic: DLQ,
      groupId: 'rw',
      url,
      retryInitialMs: 10,
      retryMaxMs: 20,
      logger: silentLogger,
      ...options,
    });
    await c.start();
    started(c);
    for (let i = 0; i < 500 && c.stats.received < keys.length; i++)
      await new Promise((r) => setTimeout(r, 5));
    await c.stop();
    return c;
  }

  async function deadLetters(): Promise<BusMessage[]> {
    const got: BusMessage[] = [];
    const sub = await bus.subscribe({
      groupId: 'read-dlq',
      topics: [DLQ],
      fromBeginning: true,
      handler: (m) => {
        got.push(m);
        return Promise.resolve();
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    await sub.stop();
    return got;
  }

  it('sends the protocol headers and basic auth; a 4xx record is dead-lettered, the rest written', async () => {
    answer = (d) => (ids(d).includes('bad') ? [400, 'label value too long'] : [204, '']);
    const c = await run(['a', 'bad', 'b', 'c'], { basicAuth: { username: 'u', password: 'pw-secret' } });
    expect(c.stats).toMatchObject({ received: 4, written: 3, deadLettered: 1, stale: 0 });
    const h = requests[0]?.headers ?? {};
    expect(h['content-encoding']).toBe('snappy');
    expect(h['content-type']).toBe('application/x-protobuf');
    expect(h['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h['authorization']).toBe(`Basic ${Buffer.from('u:pw-secret').toString('base64')}`);
    const dead = await deadLetters();
    expect(dead.map((m) => m.key)).toEqual(['bad']);
    expect(dead[0]?.headers['reason']).toBe(`refused by ${url}: HTTP 400: label value too long`);
  });

  it('a record refused as out of order is stale: counted and skipped, not dead-lettered', async () => {
    answer = (d) => (ids(d).includes('old') ? [400, 'out of order sample'] : [204, '']);
    const c = await run(['old', 'new1', 'new2']);
    expect(c.stats).toMatchObject({ received: 3, written: 2, deadLettered: 0, stale: 1 });
    expect(await deadLetters()).toEqual([]);
  });

  it('retries 5xx and 429 until written; the bearer token never reaches the log', async () => {
    let failures = 0;
    answer = () => (failures++ < 3 ? [failures === 2 ? 429 : 503, 'bad token Bearer tok-secret'] : [204, '']);
    const { logger, records } = captureLogger();
    const c = await run(['a', 'b'], { bearerToken: 'tok-secret', logger });
    expect(c.stats).toMatchObject({ received: 2, written: 2, deadLettered: 0, writeErrors: 3 });
    expect(requests[0]?.headers['authorization']).toBe('Bearer tok-secret');
    expect(records.some((r) => r.msg === 'Prometheus write failed; retrying')).toBe(true);
    expect(JSON.stringify(records)).not.toContain('tok-secret');
  });

  it('a 401 for every record is the server refusing us: the breaker holds writes, nothing is dead-lettered', async () => {
    // Refused until the breaker opened (the token fixed then): a server that starts taking
    // records while the write is being split would get the records tried before dead-lettered.
    let consumer: RemoteWriteConsumer | undefined;
    answer = () => ((consumer?.stats.breakerOpened ?? 0) === 0 ? [401, 'unauthorized'] : [204, '']);
    const c = await run(
      Array.from({ length: 10 }, (_, i) => `d${i}`),
      {},
      (started) => (consumer = started),
    );
    expect(c.stats, JSON.stringify(c.stats)).toMatchObject({ received: 10, written: 10, deadLettered: 0 });
    expect(c.stats.breakerOpened).toBe(1);
  });
});
