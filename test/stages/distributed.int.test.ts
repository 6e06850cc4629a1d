/**
 * Distributed mode end to end, every stage its own process of the built CLI, on real services:
 * redis-server, the Kafka-protocol test broker (3 brokers) and victoria-metrics, with 20
 * simulated devices. Discovery, enrichment, two polling nodes and an InfluxDB consumer.
 *
 *   1. every device/interface series arrives in VictoriaMetrics with correct rates;
 *   2. each device is polled by exactly one node per interval;
 *   3. a polling node killed (SIGKILL): its devices are taken over within the session timeout
 *      plus an interval, and their rates continue without a gap (counter checkpoints). The
 *      interval (10 s) is longer than the takeover (session timeout 6 s plus a rejoin), as in
 *      production (60 s, 10 s): a device is polled again at most 2 intervals after its last poll,
 *      within the 3 intervals after which a rate would re-baseline;
 *   4. VictoriaMetrics down for 10 s: no point is lost once it is back.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportedSeries } from '../services/index.js';
import { ROOT, scrape, startCluster } from '../support/cluster.js';
import type { Cluster, Stage } from '../support/cluster.js';

const DEVICES = 20;
const INTERFACES = 4;
const INTERVAL_S = 10;
const SESSION_MS = 6000;

let cluster: Cluster;
let pollers: Stage[];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function series(name: string): Promise<ExportedSeries[]> {
  await cluster.vm.flush();
  return cluster.vm.exportSeries(`{__name__="${name}"}`);
}

/** Largest gap between consecutive timestamps (ms) within [from, to]. */
function largestGap(timestamps: readonly number[], from: number, to: number): number {
  const ts = timestamps.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  let gap = ts.length === 0 ? Infinity : Math.max(ts[0]! - from, to - ts[ts.length - 1]!);
  for (let i = 1; i < ts.length; i++) gap = Math.max(gap, ts[i]! - ts[i - 1]!);
  return gap;
}

beforeAll(async () => {
  cluster = await startCluster({
    devices: DEVICES,
    interfaces: INTERFACES,
    intervalSeconds: INTERVAL_S,
    sessionTimeoutMs: SESSION_MS,
  });
  // All at once: each stage is ready once it joined its consumer group, and the test broker
  // holds a group's first join for 3 s and a later one for most of a session timeout, so one
  // after the other took about 20 s.
  const [, polling1, polling2] = await Promise.all([
    cluster.start('consumer'),
    cluster.start('polling', 'polling-1'),
    cluster.start('polling', 'polling-2'),
    cluster.start('enrichment'),
    cluster.start('discovery'),
  ]);
  pollers = [polling1, polling2];
  // Both pollers hold resources (20 devices + their own heartbeat resource).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const held = await Promise.all(
      pollers.map(async (p) => (await scrape(p)).get('panoptes_polling_resources') ?? 0),
    );
    if (held.every((h) => h > 1) && held.reduce((a, b) => a + b, 0) === DEVICES + 2) break;
    if (Date.now() > deadline) throw new Error(`pollers hold ${held.join(' + ')} resources`);
    await sleep(500);
  }
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

describe('distributed mode (separate processes on Kafka, Redis and VictoriaMetrics)', () => {
  it('delivers every device/interface series to VictoriaMetrics with correct rates', async () => {
    await sleep(3 * INTERVAL_S * 1000);
    const rates = await series('interface_bits_in__gauge');
    const seen = new Set<string>();
    for (const s of rates) {
      const d = Number(s.metric['resource_id']?.slice(4));
      const i = Number(s.metric['interface_name']?.slice(4));
      expect(s.metric).toMatchObject({
        resource_site: cluster.site,
        resource_class: 'network',
        alias: `uplink-${d}-${i}`,
        media_type: 'ethernetCsmacd',
      });
      for (const v of s.values) expect(Math.abs(v - 8000 * d * i) / (8000 * d * i)).toBeLessThan(0.01);
      seen.add(`${d}/${i}`);
    }
    const missing = [];
    for (let d = 1; d <= DEVICES; d++)
      for (let i = 1; i <= INTERFACES; i++) if (!seen.has(`${d}/${i}`)) missing.push(`${d}/${i}`);
    expect(
      missing,
      cluster.stages
        .map(
          (s) =>
            `${s.name}:\n${s.output
              .split('\n')
              .filter((l) => !l.includes('"level":30'))
              .slice(-15)
              .join('\n')}`,
        )
        .join('\n'),
    ).toEqual([]);
  }, 60_000);

  it('publishes Panoptes schema 0.2 JSON that the documented consumer API and its example read', async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'examples', 'consumer', 'print-interface-rates.mjs'),
        '--brokers',
        cluster.kafka.brokers.join(','),
        '--site',
        cluster.site,
        '--from-beginning',
        '--group',
        'example-test',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PANOPTES_LOG_LEVEL: 'warn' } },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const deadline = Date.now() + 30_000;
    while (!/sim-\d{5} Gi0\/\d in \d+ bit\/s out \d+ bit\/s/.test(out) && Date.now() < deadline)
      await sleep(200);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(out).toMatch(/sim-\d{5} Gi0\/\d in \d+ bit\/s out \d+ bit\/s/);
    expect(code).toBe(0);
    const [, d, i, bits] = /sim-(\d{5}) Gi0\/(\d) in (\d+) bit/.exec(out) ?? [];
    expect(
      Math.abs(Number(bits) - 8000 * Number(d) * Number(i)) / (8000 * Number(d) * Number(i)),
    ).toBeLessThan(0.01);
  }, 60_000);

  it('polls each device by exactly one node per interval', async () => {
    const status = (await series('status_polling_status__gauge')).filter(
      (s) => s.metric['plugin'] === 'interface-polling',
    );
    expect(status).toHaveLength(DEVICES);
    for (const s of status) {
      expect(new Set(s.values)).toEqual(new Set([0]));
      const ts = [...s.timestamps].sort((a, b) => a - b);
      // Two nodes polling one device would put two points in one interval.
      for (let i = 1; i < ts.length; i++)
        expect(ts[i]! - ts[i - 1]!).toBeGreaterThan(INTERVAL_S * 1000 * 0.5);
    }
  }, 60_000);

  it('takes over the devices of a killed polling node within session timeout + one interval, rates without a gap', async () => {
    const victim = pollers[0]!;
    const survivor = pollers[1]!;
    const killedAt = Date.now();
    await cluster.stopStage(victim, 'SIGKILL');
    // The survivor owns everything once the group noticed (session timeout) and re-read the table.
    const deadline = Date.now() + SESSION_MS + 30_000;
    while (((await scrape(survivor)).get('panoptes_polling_resources') ?? 0) < DEVICES + 1) {
      if (Date.now() > deadline) throw new Error('the survivor did not take over every device');
      await sleep(250);
    }
    const tookOverAfter = Date.now() - killedAt;
    expect(tookOverAfter, `took over after ${tookOverAfter} ms`).toBeLessThan(SESSION_MS + INTERVAL_S * 1000);
    await sleep(3 * INTERVAL_S * 1000);
    const end = Date.now();
    const counters = await series('interface_bits_in__counter');
    const gauges = await series('interface_bits_in__gauge');
    const key = (s: ExportedSeries): string => `${s.metric['resource_id']}/${s.metric['interface_name']}`;
    const gaugeTs = new Map(gauges.map((s) => [key(s), s.timestamps]));
    for (const c of counters) {
      const g = gaugeTs.get(key(c)) ?? [];
      // Every poll around the move has a rate: no re-baseline, so no gap in the rate series
      // longer than the takeover plus an interval.
      const gap = largestGap(g, killedAt - INTERVAL_S * 1000, end - INTERVAL_S * 1000);
      // The last poll before the kill (at most an interval earlier), then the takeover: an
      // overdue device is polled as soon as its new node has it.
      expect(gap, key(c)).toBeLessThanOrEqual(SESSION_MS + 2 * INTERVAL_S * 1000 + 4000);
      // And every counter point after the first has its rate (the new node restored the history).
      // Points polled in the last seconds may reach VictoriaMetrics between the two queries, so
      // both sides stop an interval before the end.
      const inWindow = (t: number): boolean => t > killedAt && t <= end - INTERVAL_S * 1000;
      const after = c.timestamps.filter(inWindow);
      const ratedAfter = g.filter(inWindow);
      expect(after.length, key(c)).toBeGreaterThan(0);
      expect(ratedAfter.length, key(c)).toBe(after.length);
    }
  }, 120_000);

  it('loses no point while VictoriaMetrics is down for 10 s', async () => {
    const before = Date.now();
    await cluster.vm.pause();
    await sleep(10_000);
    await cluster.vm.resume();
    const back = Date.now();
    await sleep(2 * INTERVAL_S * 1000);
    const status = (await series('status_polling_status__gauge')).filter(
      (s) => s.metric['plugin'] === 'interface-polling',
    );
    expect(status).toHaveLength(DEVICES);
    for (const s of status) {
      // Points from the outage were written after it: no hole longer than a poll interval (+ slack).
      expect(largestGap(s.timestamps, before, back + INTERVAL_S * 1000)).toBeLessThan(
        INTERVAL_S * 1000 * 1.6,
      );
    }
    const consumer = cluster.stages.find((s) => s.role === 'consumer')!;
    const m = await scrape(consumer);
    expect(m.get('panoptes_consumer_errors_total{consumer="influx"}')).toBeGreaterThan(0);
    expect(m.get('panoptes_consumer_dropped_total{consumer="influx"}')).toBe(0);
  }, 120_000);
});
