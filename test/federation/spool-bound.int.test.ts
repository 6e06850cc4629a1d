/**
 * A spool bound smaller than the outage: `panoptes run` as its own process (an edge on the
 * in-process bus with the built-in simulator, federation.spool_max_bytes at its 64 KiB floor)
 * forwarding to a librdkafka mock cluster that is frozen (SIGSTOP) long enough for the edge to
 * produce several times the bound.
 *
 * Checked through the process's own /metrics and what reached the centre (each record named by
 * its forward id: the edge's local partition and offset): records were dropped and /metrics
 * counts them; the records missing at the centre are, in every local partition, one unbroken run
 * of offsets with records delivered after it (only the oldest spooled went, the newest arrived);
 * and their number is the dropped count, less at most the records of a publish that timed out
 * and was acknowledged after all (those were spooled too, and may be among the dropped).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka-bus.js';
import { FORWARD_ID_HEADER } from '../../src/federation/forwarder.js';
import { silentLogger } from '../../src/log.js';
import { freeTcpPort, startKafka } from '../services/index.js';
import type { KafkaService } from '../services/kafka.js';
import { CLI, ROOT, scrapePort } from '../support/cluster.js';
import { simulatedResources, writeLabPlugins } from '../support/lab.js';

const OUTAGE_MS = 12_000;
const BOUND = 64 * 1024;

let dir: string;
let central: KafkaService;
let centreBus: KafkaBus;
let edge: ChildProcess | undefined;
let output = '';
let metricsPort: number;
/** Forward ids received at the centre: `<site>/<epoch>/<partition>/<offset>`. */
const ids: string[] = [];
/** /metrics of the edge once the spool drained after the outage. */
let after = new Map<string, number>();
let peakSpoolBytes = 0;

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-spool-bound-'));
  central = await startKafka(1, { socketTimeoutMs: 300_000 });
  centreBus = new KafkaBus({ brokers: central.brokers, logger: silentLogger, waitForCluster: true });
  await centreBus.subscribe({
    groupId: 'check',
    topics: ['edge1-processed'],
    fromBeginning: true,
    handler: (m) => {
      ids.push(m.headers[FORWARD_ID_HEADER] ?? '');
      return Promise.resolve();
    },
  });
  await writeFile(join(dir, 'devices.json'), JSON.stringify(simulatedResources(20, 'edge1')));
  await writeLabPlugins(dir, { devicesFile: join(dir, 'devices.json'), intervalSeconds: 1 });
  await writeFile(
    join(dir, 'edge.yaml'),
    [
      'site: edge1',
      'plugins: {directories: [plugins], rescan_seconds: 0}',
      'simulator: {devices: 20, interfaces: 16}',
      'snmp: {timeout_ms: 400, retries: 0}',
      'federation:',
      `  upstream: {brokers: [${central.brokers.join(', ')}]}`,
      '  spool_dir: spool',
      `  spool_max_bytes: ${BOUND}`,
      '  send_timeout_ms: 1500',
      '  drain_records_per_second: 2000',
      '',
    ].join('\n'),
  );
  metricsPort = await freeTcpPort();
  edge = spawn(
    process.execPath,
    [CLI, 'run', '--config', join(dir, 'edge.yaml'), '--metrics-port', String(metricsPort)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PANOPTES_LOG_LEVEL: 'info' } },
  );
  const take = (b: Buffer): void => {
    output = (output + b.toString()).slice(-200_000);
  };
  edge.stdout?.on('data', take);
  edge.stderr?.on('data', take);
  await until('records at the centre', () => ids.length >= 50, 30_000);

  central.process.signal('SIGSTOP');
  try {
    const end = Date.now() + OUTAGE_MS;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1000));
      peakSpoolBytes = Math.max(
        peakSpoolBytes,
        (await scrapePort(metricsPort)).get('panoptes_forward_spool_bytes') ?? 0,
      );
    }
  } finally {
    central.process.signal('SIGCONT');
  }
  await until(
    'the spool to drain',
    async () => {
      after = await scrapePort(metricsPort);
      return (
        after.get('panoptes_forward_spool_records') === 0 && after.get('panoptes_forward_upstream_up') === 1
      );
    },
    60_000,
  );
  // A publish that timed out during the outage may be acknowledged a little after the drain
  // (counted then in duplicates_total): the figures are read once that count held still for 2 s.
  let duplicates = after.get('panoptes_forward_duplicates_total') ?? 0;
  let stillSince = Date.now();
  await until(
    'late acknowledgements to be counted',
    async () => {
      after = await scrapePort(metricsPort);
      const now = after.get('panoptes_forward_duplicates_total') ?? 0;
      if (now !== duplicates) {
        duplicates = now;
        stillSince = Date.now();
      }
      return Date.now() - stillSince >= 2000;
    },
    20_000,
  );
  // SIGTERM: the forwarder sends what polling published before the process exits.
  const exited = new Promise((r) => edge?.once('exit', r));
  edge.kill('SIGTERM');
  await exited;
  edge = undefined;
  // At least what the centre had acknowledged by the last scrape, then 3 s with nothing new.
  const acked =
    (after.get('panoptes_forward_forwarded_total') ?? 0) + (after.get('panoptes_forward_drained_total') ?? 0);
  await until('the centre to have what it acknowledged', () => new Set(ids).size >= acked, 60_000);
  let count = -1;
  let quietSince = Date.now();
  await until(
    'the centre to have everything',
    () => {
      if (ids.length !== count) {
        count = ids.length;
        quietSince = Date.now();
      }
      return Date.now() - quietSince >= 3000;
    },
    60_000,
  );
}, 180_000);

afterAll(async () => {
  edge?.kill('SIGKILL');
  central?.process.signal('SIGCONT');
  await centreBus?.close();
  await central?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('federation: a spool bound smaller than the outage', () => {
  it('drops only the oldest spooled records, and /metrics says how many', () => {
    const dropped = after.get('panoptes_forward_dropped_total') ?? 0;
    // Dropped yet delivered: records of a publish acknowledged after its timeout, and a probe's
    // record the bound dropped while the probe was in flight, acknowledged in time.
    const lateDelivered =
      (after.get('panoptes_forward_duplicates_total') ?? 0) +
      (after.get('panoptes_forward_dropped_delivered_total') ?? 0);
    // The outage produced several times the bound; the spool kept to it (one record may exceed it).
    expect(after.get('panoptes_forward_spooled_total') ?? 0).toBeGreaterThan(dropped);
    expect(dropped).toBeGreaterThan(100);
    expect(peakSpoolBytes).toBeGreaterThan(BOUND / 2);
    expect(peakSpoolBytes).toBeLessThanOrEqual(BOUND + 32 * 1024);

    const epochs = new Set(ids.map((id) => id.split('/')[1]));
    expect(epochs.size).toBe(1);
    const byPartition = new Map<number, Set<number>>();
    for (const id of ids) {
      const [, , partition, offset] = id.split('/');
      const p = Number(partition);
      if (!byPartition.has(p)) byPartition.set(p, new Set());
      byPartition.get(p)?.add(Number(offset));
    }
    let missing = 0;
    /** Records delivered inside a partition's run of missing ones. */
    let inside = 0;
    for (const [partition, offsets] of byPartition) {
      const max = Math.max(...offsets);
      const gaps: number[] = [];
      for (let o = 0; o <= max; o++) if (!offsets.has(o)) gaps.push(o);
      missing += gaps.length;
      if (gaps.length === 0) continue;
      // One run: the partition's oldest spooled records, with newer ones delivered after it.
      // Inside it only records of a publish that timed out and was acknowledged after all (the
      // spool dropped them too, as the oldest).
      const first = gaps[0] as number;
      const last = gaps[gaps.length - 1] as number;
      inside += last - first + 1 - gaps.length;
      expect(first, `partition ${partition}`).toBeGreaterThan(0);
      expect(last, `partition ${partition}`).toBeLessThan(max);
    }
    expect(missing).toBeGreaterThan(0);
    expect(missing).toBeLessThanOrEqual(dropped);
    expect(dropped - missing).toBeLessThanOrEqual(lateDelivered);
    expect(inside).toBeLessThanOrEqual(lateDelivered);
  });
});
