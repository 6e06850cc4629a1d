/**
 * The synthetic gNMI targets (`panoptes simulate --gnmi-port`): the SNMP simulator's devices over
 * gNMI, read with the project's client. Values must be the synthetic model's at the
 * notification's timestamp, for the device the prefix's target names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GnmiClient, GnmiError } from '../../src/gnmi/client.js';
import type { GnmiNotification } from '../../src/gnmi/client.js';
import { pathToString } from '../../src/gnmi/path.js';
import { GnmiSimulator } from '../../src/sim/gnmi-simulator.js';
import { syntheticCounters } from '../../src/sim/synthetic.js';

let sim: GnmiSimulator;
let client: GnmiClient;

beforeAll(async () => {
  sim = await GnmiSimulator.start({ port: 0, devices: 5, interfaces: 8 });
  client = new GnmiClient({ target: sim.address, insecure: true, timeoutMs: 5000 });
});

afterAll(async () => {
  client.close();
  await sim.close();
});

function collect(target: string, encoding: 'PROTO' | 'JSON_IETF', ms: number): Promise<GnmiNotification[]> {
  const got: GnmiNotification[] = [];
  return new Promise((resolve, reject) => {
    const sub = client.subscribe(
      {
        prefix: { elem: [], target },
        subscriptions: [{ path: '/interfaces/interface/state/counters', sampleIntervalMs: 200 }],
        encoding,
      },
      { notification: (n) => got.push(n), error: reject },
    );
    setTimeout(() => {
      sub.cancel();
      resolve(got);
    }, ms);
  });
}

const elapsed = (n: GnmiNotification): number => Number(n.timestampNs / 1_000_000n) - sim.startMs;

describe('synthetic gNMI targets', () => {
  it('streams the synthetic counters of the device the target names (PROTO: one update per leaf)', async () => {
    const got = await collect('sim-00004', 'PROTO', 700);
    expect(got.length).toBeGreaterThanOrEqual(3 * 8);
    for (const n of got) {
      const name = n.prefix?.elem[1]?.key['name'] as string;
      const i = Number(name.slice(4));
      const c = syntheticCounters(4, i, elapsed(n));
      const value = (leaf: string): unknown =>
        n.updates.find((u) => u.path.elem.at(-1)?.name === leaf)?.value;
      expect(value('in-octets'), name).toBe(c.ifHCInOctets);
      expect(value('out-unicast-pkts'), name).toBe(Number(c.ifHCOutUcastPkts));
      expect(n.prefix?.target).toBe('sim-00004');
    }
  });

  it('JSON_IETF: one object per container, 64-bit counters as strings', async () => {
    const got = await collect('sim-00002', 'JSON_IETF', 300);
    const n = got.find((x) => x.prefix?.elem[1]?.key['name'] === 'Gi0/3') as GnmiNotification;
    const body = n.updates[0]?.value as Record<string, string>;
    expect(BigInt(body['in-octets'] as string)).toBe(syntheticCounters(2, 3, elapsed(n)).ifHCInOctets);
  });

  it('Get of health paths; an unknown device is an error naming it', async () => {
    const { notifications } = await client.get(['/components/component/state/temperature'], 'PROTO');
    expect(
      notifications.map((n) => [pathToString(n.updates[0]?.path ?? { elem: [] }), n.updates[0]?.value]),
    ).toEqual([
      ['/components/component[name=CPU Package]/state/temperature/instant', 47.5],
      ['/components/component[name=Board]/state/temperature/instant', 36],
    ]);
    const e = await client.get(['/'], 'PROTO', { elem: [], target: 'sim-00099' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GnmiError);
    expect((e as Error).message).toContain('no simulated device "sim-00099"');
  });
});
