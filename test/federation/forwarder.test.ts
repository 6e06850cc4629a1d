/**
 * The forwarder's logic between two in-process buses, the upstream one behind a switch that
 * makes its publishes fail, hang or succeed late. The integration test
 * (forward.int.test.ts) runs it between two Kafka-protocol clusters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusMessage, MessageBus, OutgoingMessage, SubscribeOptions } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { FORWARD_ID_HEADER, Forwarder } from '../../src/federation/forwarder.js';
import { Spool } from '../../src/federation/spool.js';
import { silentLogger } from '../../src/log.js';
import type { DependencyStatus, MetricSample } from '../../src/telemetry.js';

type Mode = 'ok' | 'fail' | 'hang';

/** The upstream bus behind a switch. A hung publish can be released later (delivered or failed). */
class SwitchedBus implements MessageBus {
  mode: Mode = 'ok';
  readonly hung: { release: (deliver: boolean) => void }[] = [];
  constructor(readonly inner: MemoryBus) {}
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.mode === 'fail') throw new Error('connection refused');
    if (this.mode === 'hang') {
      return new Promise((resolve, reject) => {
        this.hung.push({
          release: (deliver) => {
            if (deliver) void this.inner.publish(topic, messages).then(resolve, reject);
            else reject(new Error('gave up'));
          },
        });
      });
    }
    return this.inner.publish(topic, messages);
  }
  subscribe(options: SubscribeOptions) {
    return this.inner.subscribe(options);
  }
  hasRoom(): boolean {
    return true;
  }
  partitionOf(topic: string, key: string) {
    return this.inner.partitionOf(topic, key);
  }
  prepareTable(topic: string) {
    return this.inner.prepareTable(topic);
  }
  async probe(): Promise<void> {}
  dependencies(): DependencyStatus[] {
    return [{ name: 'kafka', state: this.mode === 'ok' ? 'up' : 'down', since: 0, detail: this.mode }];
  }
  metrics(): MetricSample[] {
    return [];
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let dir: string;
let local: MemoryBus;
let central: MemoryBus;
let upstream: SwitchedBus;
let spool: Spool;
let forwarder: Forwarder | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'panoptes-forward-'));
  local = new MemoryBus({ partitions: 2 });
  central = new MemoryBus({ partitions: 2 });
  upstream = new SwitchedBus(central);
  spool = await Spool.open({ dir, maxBytes: 1_000_000 });
});

afterEach(async () => {
  await forwarder?.stop();
  forwarder = undefined;
  await spool.close();
  await local.close();
  await central.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(options: Partial<ConstructorParameters<typeof Forwarder>[0]> = {}): Forwarder {
  forwarder = new Forwarder({
    local,
    upstream,
    spool,
    site: 'edge1',
    sourceTopic: 'edge1-processed',
    targetTopics: ['edge1-processed'],
    sendTimeoutMs: 200,
    initialBackoffMs: 20,
    maxBackoffMs: 50,
    drainRecordsPerSecond: 100_000,
    epoch: 'e1',
    logger: silentLogger,
    ...options,
  });
  return forwarder;
}

/** Publishes `count` records per resource, values `<resource>:<n>` numbered from `from`. */
async function produce(resources: readonly string[], from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await local.publish(
      'edge1-processed',
      resources.map((r) => ({ key: r, value: `${r}:${n}` })),
    );
  }
}

/** Everything the central cluster received, read by a consumer group of its own. */
async function collect(topic: string, expected: number, timeoutMs = 5000): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await central.subscribe({
    groupId: `check-${Math.random()}`,
    topics: [topic],
    fromBeginning: true,
    handler: (m) => {
      got.push(m);
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (got.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50)); // anything beyond expected shows up too
  await sub.stop();
  return got;
}

/** Per resource, the numbers received in order (duplicates kept). */
function sequences(messages: readonly BusMessage[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of messages) {
    const [r, n] = (m.value?.toString() ?? '').split(':');
    out.set(r as string, [...(out.get(r as string) ?? []), Number(n)]);
  }
  return out;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Forwarder', () => {
  it('forwards directly while the upstream answers, with keys, headers and a forward id', async () => {
    const f = start({ targetTopics: ['edge1-processed', 'panoptes-metrics'] });
    await f.start();
    await local.publish('edge1-processed', [{ key: 'r1', value: 'r1:0', headers: { a: 'b' } }]);
    const [m] = await collect('edge1-processed', 1);
    expect(m?.key).toBe('r1');
    expect(m?.headers['a']).toBe('b');
    expect(m?.headers[FORWARD_ID_HEADER]).toMatch(/^edge1\/e1\/\d+\/0$/);
    expect((await collect('panoptes-metrics', 1)).map((x) => x.value?.toString())).toEqual(['r1:0']);
    expect(f.stats).toMatchObject({ received: 1, forwarded: 2, spooled: 0, duplicates: 0 });
    // Payload bytes: key 2 + value 4 + headers (a=b, the forward id) + each topic's name.
    const id = m?.headers[FORWARD_ID_HEADER] ?? '';
    const each = 2 + 4 + 2 + FORWARD_ID_HEADER.length + id.length;
    expect(f.stats.bytes).toBe(2 * each + 'edge1-processed'.length + 'panoptes-metrics'.length);
  });

  it('spools through an outage and delivers everything after it, in order per resource', async () => {
    const f = start();
    await f.start();
    const resources = ['r1', 'r2', 'r3'];
    await produce(resources, 0, 5);
    await until(() => f.stats.forwarded === 15);
    upstream.mode = 'fail';
    await produce(resources, 5, 20);
    await until(() => f.stats.received === 75);
    expect(f.stats.spooled).toBeGreaterThan(0);
    expect(spool.records).toBeGreaterThan(0);
    expect(f.dependencies()[0]?.state).toBe('down');
    const metric = (name: string): number | undefined => f.metrics().find((s) => s.name === name)?.value;
    expect(metric('panoptes_forward_upstream_up')).toBe(0);
    expect(metric('panoptes_forward_spool_records')).toBe(spool.records);
    upstream.mode = 'ok';
    await produce(resources, 25, 5);
    await until(() => spool.records === 0 && f.stats.received === 90);
    const got = await collect('edge1-processed', 90);
    for (const r of resources) {
      expect(sequences(got).get(r)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    }
    expect(f.stats.duplicates).toBe(0);
    expect(f.dependencies()[0]?.state).toBe('up');
  });

  it('counts as duplicates the records of a timed-out publish that was delivered after all', async () => {
    const f = start();
    await f.start();
    upstream.mode = 'hang';
    await produce(['r1'], 0, 1);
    await until(() => f.stats.spooled === 1); // timed out, spooled
    upstream.mode = 'ok';
    await produce(['r1'], 1, 1); // goes behind r1:0 in the spool
    await new Promise((r) => setTimeout(r, 100));
    // Nothing is sent while the timed-out publish has not settled.
    expect(f.stats.drained).toBe(0);
    upstream.hung[0]?.release(true);
    await until(() => spool.records === 0);
    const got = await collect('edge1-processed', 3);
    expect(sequences(got).get('r1')).toEqual([0, 0, 1]);
    expect(f.stats.duplicates).toBe(1);
    const ids = got.map((m) => m.headers[FORWARD_ID_HEADER]);
    expect(ids[0]).toBe(ids[1]); // the resent record keeps its id
  });

  it('drops the oldest spooled records beyond the bound, and says so in its metrics', async () => {
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
    // Compressed: a chunk of these short records takes some tens of bytes.
    spool = await Spool.open({ dir, maxBytes: 300 });
    const f = start();
    await f.start();
    upstream.mode = 'fail';
    await produce(['r1'], 0, 100);
    await until(() => f.stats.spooled === 100);
    expect(f.stats.dropped).toBeGreaterThan(0);
    // (The bound itself, chunk by chunk, is the spool's own test.)
    expect(f.metrics().find((s) => s.name === 'panoptes_forward_dropped_total')?.value).toBe(f.stats.dropped);
    upstream.mode = 'ok';
    await until(() => spool.records === 0);
    const got = sequences(await collect('edge1-processed', 100 - f.stats.dropped)).get('r1') ?? [];
    // What arrives is the newest records, in order, ending with the last one.
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => 100 - got.length + i));
    expect(got.length).toBe(100 - f.stats.dropped);
  });

  it('waits for a spool append still being written instead of spinning on it', async () => {
    // The spool counts the records of an append at once, but gives them out once written:
    // meanwhile the drain loop must wait (a loop of resolved promises would starve the very
    // callback that finishes the write).
    const writing = spool.append([
      { topic: 'edge1-processed', key: 'r1', value: Buffer.from('r1:0'), headers: {} },
    ]);
    const f = start();
    await f.start();
    await writing;
    await until(() => spool.records === 0);
    expect(sequences(await collect('edge1-processed', 1)).get('r1')).toEqual([0]);
    expect(f.stats.drained).toBe(1);
  });

  it('reports a liveness problem only after the upstream has been unreachable past the limit', async () => {
    let now = 1_000_000;
    const f = start({ unreachableAfterMs: 60_000, now: () => now });
    await f.start();
    upstream.mode = 'fail';
    await produce(['r1'], 0, 1);
    await until(() => f.stats.spooled === 1);
    expect(f.liveness()).toBeUndefined();
    now += 61_000;
    expect(f.liveness()).toMatch(/upstream cluster unreachable for 61 s \(1 records spooled\)/);
    upstream.mode = 'ok';
    await until(() => spool.records === 0);
    expect(f.liveness()).toBeUndefined();
  });

  it('is "starting" until a probe or a publish says how the upstream is', async () => {
    const f = start();
    await f.start();
    expect(f.dependencies()[0]?.state).toBe('starting');
    upstream.mode = 'fail';
    await f.probe();
    expect(f.dependencies()[0]).toMatchObject({ state: 'down', detail: 'upstream unreachable: fail' });
    upstream.mode = 'ok';
    await f.probe(); // after the first verdict, publishes decide
    expect(f.dependencies()[0]?.state).toBe('down');
    await f.stop();
    const g = start();
    await g.start();
    await g.probe();
    expect(g.dependencies()[0]?.state).toBe('up');
  });

  it('drains at the configured rate', async () => {
    const f = start({ drainRecordsPerSecond: 200, batchRecords: 20 });
    await f.start();
    upstream.mode = 'fail';
    await produce(['r1', 'r2'], 0, 50);
    await until(() => f.stats.received === 100);
    upstream.mode = 'ok';
    const t0 = Date.now();
    await until(() => spool.records === 0, 10_000);
    // 100 records at 200 per second: about half a second (the first batch goes at once).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  });
});
