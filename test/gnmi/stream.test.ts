/**
 * GnmiStream's own rules, on a scripted client: back-off doubling with jitter between half the
 * delay and the delay, reset once a new stream delivers; values forgotten when a stream is lost;
 * collect() errors naming the state; close() ends everything.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GnmiClient, GnmiError, SubscriptionHandlers } from '../../src/gnmi/client.js';
import { parseMapping } from '../../src/gnmi/mapping.js';
import { parsePath } from '../../src/gnmi/path.js';
import { GnmiStream } from '../../src/gnmi/stream.js';
import { silentLogger } from '../../src/log.js';
import { resource } from '../support/polling-fixtures.js';

const mapping = parseMapping(
  [
    'name: t',
    'subscriptions: [{ path: /interfaces/interface/state/counters }]',
    'groups:',
    '  - type: interface',
    '    instance: /interfaces/interface[name=*]',
    '    dimensions: { interface_name: { key: interface.name } }',
    '    metrics: { bits_in: { leaf: state/counters/in-octets, type: counter, scale: 8 } }',
  ].join('\n'),
  '/t.yaml',
);

/** A client whose streams the test drives. */
function scriptedClient(): { client: GnmiClient; streams: SubscriptionHandlers[]; closed: () => boolean } {
  const streams: SubscriptionHandlers[] = [];
  let closed = false;
  const client = {
    target: '192.0.2.1:6030',
    subscribe: (_o: unknown, h: SubscriptionHandlers) => {
      streams.push(h);
      return { poll: () => undefined, cancel: () => undefined };
    },
    close: () => {
      closed = true;
    },
  } as unknown as GnmiClient;
  return { client, streams, closed: () => closed };
}

const sample = (h: SubscriptionHandlers, ms: number, octets: number): void =>
  h.notification({
    timestampNs: BigInt(ms) * 1_000_000n,
    prefix: undefined,
    updates: [{ path: parsePath('/interfaces/interface[name=e1]/state/counters/in-octets'), value: octets }],
    deletes: [],
  });

const lostWith = (code: number): GnmiError =>
  ({ message: `gNMI x: UNAVAILABLE`, grpcCode: code }) as unknown as GnmiError;

describe('GnmiStream', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reconnects after 1/2..1 of a delay doubling to its cap, and starts over once data flows', () => {
    const { client, streams } = scriptedClient();
    const draws = [0, 1, 0, 0.5, 0];
    const stream = new GnmiStream({
      client,
      device: 'r1',
      mappings: [mapping],
      sampleIntervalMs: 10_000,
      logger: silentLogger,
      backoff: { initialMs: 1000, maxMs: 4000 },
      random: () => draws.shift() ?? 0,
      now: () => Date.now(),
    }).start();
    expect(streams).toHaveLength(1);
    const delays: number[] = [];
    for (let k = 0; k < 4; k++) {
      const before = Date.now();
      streams[streams.length - 1]?.error?.(lostWith(14));
      expect(stream.state).toBe('waiting');
      const n = streams.length;
      while (streams.length === n) vi.advanceTimersByTime(50);
      delays.push(Date.now() - before);
    }
    // 1000 x 0.5, 2000 x 1, 4000 x 0.5, 4000 x 0.75 (capped), each within a 50 ms step.
    const expected = [500, 2000, 2000, 3000];
    delays.forEach((d, k) => expect(Math.abs(d - (expected[k] as number))).toBeLessThanOrEqual(50));
    expect(stream.stats.reconnects).toBe(4);
    // Data on the new stream: streaming again, and the next loss starts from 1000 x draw again.
    sample(streams[4] as SubscriptionHandlers, Date.now(), 100);
    expect(stream.state).toBe('streaming');
    const before = Date.now();
    streams[4]?.error?.(lostWith(14));
    while (streams.length === 5) vi.advanceTimersByTime(50);
    expect(Date.now() - before).toBeLessThanOrEqual(550);
    stream.close();
  });

  it("forgets a lost stream's values, and says why collect() has nothing", () => {
    const { client, streams, closed } = scriptedClient();
    const stream = new GnmiStream({
      client,
      device: 'r1',
      mappings: [mapping],
      sampleIntervalMs: 10_000,
      logger: silentLogger,
      random: () => 0,
    }).start();
    const r = resource('r1');
    sample(streams[0] as SubscriptionHandlers, Date.now(), 100);
    const first = stream.collect(r, Date.now() / 1000, 10);
    expect(first.groups).toHaveLength(1);
    expect(first.counters.get(first.groups[0] as never)).toEqual({ bits_in: { width: 64, scale: 8 } });
    // Nothing new, but the stream is up and spoke just now: an empty interval, no error.
    expect(stream.collect(r, Date.now() / 1000, 10).groups).toEqual([]);
    sample(streams[0] as SubscriptionHandlers, Date.now(), 200);
    streams[0]?.error?.(lostWith(16));
    expect(() => stream.collect(r, Date.now() / 1000, 10)).toThrow(
      /not streaming \(gNMI x: UNAVAILABLE\); reconnecting in \d s \(attempt 1\)/,
    );
    try {
      stream.collect(r, Date.now() / 1000, 10);
    } catch (e) {
      expect((e as { details: Record<string, unknown> }).details['grpcCode']).toBe(16);
    }
    // Up again but silent for two intervals: a timeout.
    vi.advanceTimersByTime(1000);
    sample(streams[1] as SubscriptionHandlers, Date.now(), 300);
    stream.collect(r, Date.now() / 1000, 10);
    vi.advanceTimersByTime(20_000);
    expect(() => stream.collect(r, Date.now() / 1000, 10)).toThrow(/sent nothing for 20 s/);
    stream.close();
    expect(closed()).toBe(true);
    expect(stream.state).toBe('closed');
  });

  it('takes a SAMPLE stream silent for three intervals as stalled and reopens it', () => {
    const { client, streams } = scriptedClient();
    const stream = new GnmiStream({
      client,
      device: 'r1',
      mappings: [mapping],
      sampleIntervalMs: 2000,
      logger: silentLogger,
      random: () => 0,
    }).start();
    sample(streams[0] as SubscriptionHandlers, Date.now(), 1);
    // Checked every interval: at 6 s it has been silent for exactly three, at 8 s for more.
    vi.advanceTimersByTime(6000);
    expect(stream.stats.reconnects).toBe(0);
    vi.advanceTimersByTime(2000);
    expect(stream.stats.reconnects).toBe(1);
    vi.advanceTimersByTime(500);
    expect(streams).toHaveLength(2);
    stream.close();
  });
});
