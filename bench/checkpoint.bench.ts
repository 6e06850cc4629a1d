/**
 * `checkpoint`: what a Redis store adds to every interface polling run, at 20,000 devices.
 *
 * With a Redis store (distributed mode) a node saves a plugin's counter history after every run
 * (`keys.counters(resource, plugin)`, PollingAgent.saveHistory) so that another node taking the
 * resource over keeps its rates; the pipeline benchmark runs on the in-memory store and does not
 * pay it. This benchmark builds the history the interface plugin keeps for each of
 * CHECKPOINT_DEVICES devices (default 20000; 24 interfaces, the plugin's 8 counters, the
 * interface dimensions), then:
 *
 *   encode          the checkpoint text of every device (checkpointText), no store
 *   save            text and SET PX of every device to redis-server, one after the other as the
 *                   runs of a lightly loaded node do (each waits for its reply)
 *   restore         GET and historyFromCheckpointText of every device (a take-over)
 *
 * after one warm-up round, CHECKPOINT_ROUNDS rounds each (default 3). Reported: CPU of this
 * process (user + system) per device, redis-server's CPU per SET (from /proc), the text's bytes,
 * Redis' used memory per device, and what saving costs at 20,000 devices every 60 s in cores,
 * poller and redis-server together.
 */
import { Redis } from 'ioredis';
import { startRedis } from '../test/services/redis.js';
import { INTERFACE_COUNTERS, INTERFACE_DIMENSIONS } from '../plugins/interface-polling.js';
import { storeKeys } from '../src/store/keys.js';
import { RedisStore } from '../src/store/redis-store.js';
import {
  checkpointText,
  CounterHistory,
  historyFromCheckpointText,
  seriesKeyPrefix,
} from '../src/streams/counter-rate.js';
import { processCpu } from './lib/simulator.js';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';

const INTERFACES = 24;
const INTERVAL_S = 60;
const PLUGIN = 'interface-polling';

/** A dimension value of the kind the interface plugin writes for interface i of device d. */
function dimensionValue(name: string, d: number, i: number): string {
  switch (name) {
    case 'interface_name':
      return `GigabitEthernet0/${i}`;
    case 'alias':
      return `uplink-${d}-${i}`;
    case 'description':
      return `GigabitEthernet0/${i}`;
    case 'media_type':
      return 'ethernetCsmacd';
    case 'port_speed':
    case 'configured_speed':
      return '1000000000';
    default:
      return 'n/a';
  }
}

/** The interface plugin's counter history of one device after two runs. */
export function deviceHistory(d: number, now: number): CounterHistory {
  const history = new CounterHistory();
  const resourceId = `sim-${String(d).padStart(5, '0')}`;
  for (let i = 1; i <= INTERFACES; i++) {
    const dims = INTERFACE_DIMENSIONS.map((name) => ({ name, value: dimensionValue(name, d, i) }));
    const group = history.groupSeries(seriesKeyPrefix(resourceId, dims));
    for (const [k, counter] of INTERFACE_COUNTERS.entries()) {
      const metric = JSON.stringify(counter);
      const base = 2n ** 40n + BigInt(d * 1_000_003 + i * 7_919 + k);
      for (const [run, t] of [now - INTERVAL_S, now].entries()) {
        history.rateIn(group, metric, base + BigInt(run * 1_250_000), 64, 8, undefined, t, INTERVAL_S, 1e8);
      }
    }
  }
  return history;
}

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

function redisCpu(pid: number): number {
  const c = processCpu(pid);
  return c.user + c.system;
}

function usedMemory(info: string): number {
  const m = /^used_memory:(\d+)/m.exec(info);
  if (m?.[1] === undefined) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

export async function main(): Promise<void> {
  const devices = Math.max(1, Math.round(Number(process.env['CHECKPOINT_DEVICES'] ?? 20_000)));
  const rounds = Math.max(1, Math.round(Number(process.env['CHECKPOINT_ROUNDS'] ?? 3)));
  const now = Math.floor(Date.now() / 1000);
  const histories = Array.from({ length: devices }, (_, d) => deviceHistory(d + 1, now));
  const series = histories.reduce((n, h) => n + h.size, 0);
  const keys = storeKeys();
  const redis = await startRedis();
  const pid = redis.process.pid;
  if (pid === undefined) throw new Error('redis-server has no pid');
  const store = await RedisStore.connect({ url: redis.url });
  const admin = new Redis(redis.url);
  const rows: BenchRow[] = [];
  const row = (subject: string, metric: string, value: number, unit: string): void => {
    rows.push({ bench: 'checkpoint', subject, metric, value, unit });
  };
  try {
    const key = (d: number): string => keys.counters(`sim-${String(d + 1).padStart(5, '0')}`, PLUGIN);
    const ttlMs = 4 * INTERVAL_S * 1000;
    let bytes = 0;
    const encode = (): void => {
      bytes = 0;
      for (const h of histories) bytes += checkpointText(h).length;
    };
    const save = async (): Promise<void> => {
      for (const [d, h] of histories.entries()) await store.set(key(d), checkpointText(h), { ttlMs });
    };
    let restored = 0;
    const restore = async (): Promise<void> => {
      restored = 0;
      for (let d = 0; d < devices; d++) {
        const text = await store.get(key(d));
        if (text !== undefined) restored += historyFromCheckpointText(text)?.size ?? 0;
      }
    };
    const before = usedMemory(await admin.info('memory'));
    // Warm-up: every key exists after it, so Redis' memory is read once it holds them all.
    encode();
    await save();
    await restore();
    if (restored !== series) throw new Error(`restored ${restored} series of ${series}`);
    const after = usedMemory(await admin.info('memory'));
    const measure = async (run: () => void | Promise<void>): Promise<{ own: number; redis: number }> => {
      const c0 = cpuNow();
      const r0 = redisCpu(pid);
      for (let r = 0; r < rounds; r++) await run();
      return { own: (cpuNow() - c0) / (rounds * devices), redis: (redisCpu(pid) - r0) / (rounds * devices) };
    };
    const enc = await measure(encode);
    const saved = await measure(save);
    const back = await measure(restore);
    const us = 1e6;
    row('encode', 'CPU per device (this process)', enc.own * us, 'us');
    row('save', 'CPU per device (this process)', saved.own * us, 'us');
    row('save', 'CPU per device (redis-server)', saved.redis * us, 'us');
    row('restore', 'CPU per device (this process)', back.own * us, 'us');
    row('restore', 'CPU per device (redis-server)', back.redis * us, 'us');
    row('save', 'checkpoint text per device', bytes / devices, 'bytes');
    row('save', 'Redis used memory per device', (after - before) / devices, 'bytes');
    row(
      'save',
      `cores at 20,000 devices every ${INTERVAL_S} s`,
      ((saved.own + saved.redis) * 20_000) / INTERVAL_S,
      'cores',
    );
    printTable(rows, 'save');
    const file = writeResults('checkpoint', rows, {
      devices,
      rounds,
      seriesPerDevice: series / devices,
      interfaces: INTERFACES,
      counters: INTERFACE_COUNTERS.length,
    });
    console.log(`\nwrote ${file}`);
  } finally {
    admin.disconnect();
    await store.close();
    await redis.stop();
  }
}
