/**
 * `consumer`: metrics groups from Kafka into VictoriaMetrics per CPU-second of the consumer.
 *
 * The groups (interface groups of synthetic devices, 24 per device, each with 8 counters, their
 * 8 rate gauges and 3 gauges) are produced to the Kafka-protocol test broker first; then the
 * InfluxDB consumer reads them from the beginning and writes them to victoria-metrics through
 * the InfluxDB v2 write API. The test broker keeps only about 5 MB per partition, so the groups
 * go in chunks of CHUNK: one chunk is produced (by kcat, another process), then the consumer reads and writes it while this
 * process does nothing else; CPU time of this process is counted only while the consumer works
 * (producing is not counted, the consumer's idle fetches between records are). The consumer is
 * started after the first chunk is produced, outside the count; victoria-metrics runs
 * as its own process. Environment: CONSUMER_GROUPS (default 20000; the quick run 5000).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaBus } from '../src/bus/kafka-bus.js';
import { topicNames } from '../src/bus/topics.js';
import { tuneHeapGrowth } from '../src/node/heap.js';
import { InfluxConsumer } from '../src/consumers/influx-consumer.js';
import { silentLogger } from '../src/log.js';
import { METRICS_GROUP_SCHEMA_VERSION, metricsGroupToJsonText } from '../src/model/index.js';
import type { Metric, MetricsGroup } from '../src/model/index.js';
import { INTERFACE_COUNTERS } from '../plugins/interface-polling.js';
import { startKafka } from '../test/services/kafka.js';
import { requireBinary } from '../test/services/managed-process.js';
import { startVictoriaMetrics } from '../test/services/victoria-metrics.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';

function group(n: number, now: number): MetricsGroup {
  const d = Math.floor(n / 24) + 1;
  const i = (n % 24) + 1;
  const t = now / 1000;
  const metrics: Metric[] = [];
  for (const name of INTERFACE_COUNTERS) {
    metrics.push({
      metric_name: name,
      metric_value: 2n ** 60n + BigInt(n),
      metric_type: 'counter',
      metric_creation_timestamp: t,
    });
    metrics.push({
      metric_name: name,
      metric_value: 8000 * d * i,
      metric_type: 'gauge',
      metric_creation_timestamp: t,
    });
  }
  for (const name of ['admin_state', 'oper_state', 'configured_speed']) {
    metrics.push({ metric_name: name, metric_value: 1, metric_type: 'gauge', metric_creation_timestamp: t });
  }
  const id = `sim-${String(d).padStart(5, '0')}`;
  return {
    metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
    metrics_group_type: 'interface',
    metrics_group_interval: 60,
    metrics_group_creation_timestamp: t,
    resource: {
      resource_id: id,
      resource_site: 'bench',
      resource_endpoint: '127.0.0.1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'simulated',
      resource_creation_timestamp: t,
      resource_creation_plugin: 'discovery-json',
      resource_metadata: {},
    },
    dimensions: [
      { dimension_name: 'interface_name', dimension_value: `Gi0/${i}` },
      { dimension_name: 'alias', dimension_value: `uplink-${d}-${i}` },
      { dimension_name: 'description', dimension_value: `GigabitEthernet0/${i}` },
      { dimension_name: 'media_type', dimension_value: 'ethernetCsmacd' },
      { dimension_name: 'port_speed', dimension_value: '1000000000' },
    ],
    metrics,
  };
}

/** Groups produced, then consumed, at a time: well under the test broker's 5 MB per partition. */
const CHUNK = 500;

/**
 * Produces records from another process (kcat), so this process's CPU time is the consumer's
 * alone. One record per line, key and value separated by a tab (the JSON text holds neither).
 */
async function produceWithKcat(
  brokers: readonly string[],
  topic: string,
  records: readonly { key: string; value: string }[],
  dir: string,
): Promise<void> {
  const file = join(dir, 'chunk.txt');
  await writeFile(file, records.map((r) => `${r.key}\t${r.value}\n`).join(''));
  const kcat = spawn(
    requireBinary('kcat', 'kcat'),
    ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-l', file],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  kcat.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    kcat.on('error', reject);
    kcat.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`kcat -P exited with ${code}: ${stderr.trim()}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function main(
  options: { quick?: boolean; progress?: (text: string) => void } = {},
): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  // As a node running the consumer role sets it for itself (src/node/heap.ts).
  tuneHeapGrowth();
  const total = options.quick ? 5_000 : Number(process.env['CONSUMER_GROUPS'] ?? 20_000);
  const [kafka, vm] = await Promise.all([startKafka(3), startVictoriaMetrics()]);
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-consumer-bench-'));
  const bus = new KafkaBus({ brokers: kafka.brokers, logger: silentLogger, maxBufferedMessages: 50_000 });
  const site = `bench${randomUUID().slice(0, 8)}`;
  const topics = topicNames();
  const rows: BenchRow[] = [];
  try {
    const consumer = new InfluxConsumer({
      bus,
      topic: topics.processed(site),
      deadLetterTopic: topics.deadLetter(site),
      groupId: `${site}-influx`,
      url: vm.url,
      org: 'bench',
      bucket: 'bench',
      logger: silentLogger,
    });
    const now = Date.now() - 60_000;
    let cpuMicros = 0;
    let wall = 0;
    const deadline = Date.now() + 600_000;
    for (let n = 0; n < total && Date.now() < deadline; n += CHUNK) {
      const end = Math.min(total, n + CHUNK);
      const batch: { key: string; value: string }[] = [];
      for (let k = n; k < end; k++) {
        const g = group(k, now);
        batch.push({ key: g.resource.resource_id, value: metricsGroupToJsonText(g) });
      }
      await produceWithKcat(kafka.brokers, topics.processed(site), batch, dir);
      // Started once the topic exists; its group join is not counted.
      if (n === 0) await consumer.start();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const chunkDeadline = Date.now() + 120_000;
      while (consumer.stats.received < end && Date.now() < chunkDeadline) await sleep(5);
      const used = process.cpuUsage(cpu0);
      cpuMicros += used.user + used.system;
      wall += (performance.now() - t0) / 1000;
      progress(
        `consumed ${consumer.stats.received} of ${total} groups (${consumer.stats.writeErrors} failed writes, ` +
          `bus delivered ${bus.stats.delivered}, lag ${bus.stats.consumerLag}, handler errors ${bus.stats.handlerErrors})`,
      );
      if (consumer.stats.received < end) break;
    }
    await consumer.stop();
    const cpu = cpuMicros / 1e6;
    const received = consumer.stats.received;
    const metrics = received * (INTERFACE_COUNTERS.length * 2 + 3);
    const row = (metric: string, value: number, unit: string): BenchRow => ({
      bench: 'consumer',
      subject: 'influx consumer',
      metric,
      value,
      unit,
    });
    rows.push(
      row('groups per CPU-second', received / cpu, 'groups/CPU-s'),
      row('metrics per CPU-second', metrics / cpu, 'metrics/CPU-s'),
      row('groups per second (wall)', received / wall, 'groups/s'),
      row('groups written', consumer.stats.written, 'groups'),
      row('write errors', consumer.stats.writeErrors, 'writes'),
      row('writes', consumer.stats.batches, 'writes'),
    );
    if (received < total) {
      throw new Error(
        `only ${received} of ${total} groups arrived (the test broker may have deleted the rest)`,
      );
    }
  } finally {
    await bus.close();
    await Promise.all([kafka.stop(), vm.stop(), rm(dir, { recursive: true, force: true })]);
  }
  printTable(rows, 'influx consumer');
  const file = writeResults('consumer', rows, {
    groups: total,
    metricsPerGroup: INTERFACE_COUNTERS.length * 2 + 3,
  });
  console.log(`\nwrote ${file}`);
}
