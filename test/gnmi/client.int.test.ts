/**
 * The gNMI client against the Python test target (test/services/gnmi/target.py, on Debian's
 * python3-grpcio, its own compiled definitions): Capabilities, Get, Subscribe in STREAM/SAMPLE,
 * ONCE and POLL, every value encoding, malformed updates, a dropped stream, credentials, and TLS
 * with a CA and with a client certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGnmi } from '../../src/cli/commands/gnmi.js';
import type { GnmiCliOptions } from '../../src/cli/commands/gnmi.js';
import { GnmiClient, GnmiError, readTlsFiles } from '../../src/gnmi/client.js';
import type { Encoding, GnmiNotification, ListMode, SubscriptionSpec } from '../../src/gnmi/client.js';
import { pathToString } from '../../src/gnmi/path.js';
import { startGnmiTarget } from '../services/index.js';
import type { GnmiTargetService } from '../services/index.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';

const D = 3;
let plain: GnmiTargetService;
let tls: GnmiTargetService;
let mtls: GnmiTargetService;
let pki: TestPki;

beforeAll(async () => {
  pki = await makeTestPki();
  [plain, tls, mtls] = await Promise.all([
    startGnmiTarget({ device: D, interfaces: 8, username: 'noc', password: 'pw-1' }),
    startGnmiTarget({ interfaces: 2, tls: { certFile: pki.serverCert, keyFile: pki.serverKey } }),
    startGnmiTarget({
      interfaces: 2,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), tls?.stop(), mtls?.stop()]);
  await pki?.remove();
});

const client = (overrides: Partial<ConstructorParameters<typeof GnmiClient>[0]> = {}): GnmiClient =>
  new GnmiClient({
    target: plain.target,
    insecure: true,
    username: 'noc',
    password: 'pw-1',
    timeoutMs: 5000,
    ...overrides,
  });

/** ifHCInOctets of the formulas: 2^60 + d*i + floor(1000*d*i*t/1000), t ms since the epoch. */
const inOctets = (i: number, atMs: number): bigint => {
  const di = BigInt(D * i);
  return 2n ** 60n + di + (1000n * di * BigInt(atMs - plain.epochMs)) / 1000n;
};

interface Collected {
  notifications: GnmiNotification[];
  syncs: number;
  malformed: string[];
  error?: GnmiError;
  ended: boolean;
}

/** Subscribes, runs `during` once the first sync arrived, and collects until `untilMs` passed. */
async function collect(
  c: GnmiClient,
  subscriptions: readonly SubscriptionSpec[],
  options: { mode?: ListMode; encoding?: Encoding; untilMs: number; during?: (poll: () => void) => void },
): Promise<Collected> {
  const out: Collected = { notifications: [], syncs: 0, malformed: [], ended: false };
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      sub.cancel();
      resolve();
    }, options.untilMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const sub = c.subscribe(
      { subscriptions, mode: options.mode ?? 'STREAM', encoding: options.encoding ?? 'PROTO' },
      {
        notification: (n) => out.notifications.push(n),
        sync: () => {
          out.syncs++;
          if (out.syncs === 1) options.during?.(() => sub.poll());
        },
        malformed: (p) => out.malformed.push(p),
        end: () => {
          out.ended = true;
          done();
        },
        error: (e) => {
          out.error = e;
          done();
        },
      },
    );
  });
  return out;
}

const leaf = (n: GnmiNotification, name: string): unknown =>
  n.updates.find((u) => u.path.elem[u.path.elem.length - 1]?.name === name)?.value;

describe('gNMI client against the Python target', () => {
  it('Capabilities: version, encodings, models', async () => {
    const c = client();
    expect(await c.capabilities()).toEqual({
      version: '0.8.0',
      encodings: ['JSON', 'PROTO', 'JSON_IETF'],
      models: ['openconfig-interfaces@3.0.0'],
    });
    c.close();
  });

  it('Get with JSON_IETF: a container as one JSON object, 64-bit counters exact (strings per RFC 7951)', async () => {
    const c = client();
    const { notifications, problems } = await c.get(['/interfaces/interface[name=Ethernet5]/state/counters']);
    expect(problems).toEqual([]);
    expect(notifications).toHaveLength(1);
    const n = notifications[0] as GnmiNotification;
    expect(pathToString(n.updates[0]?.path ?? { elem: [] })).toBe(
      '/interfaces/interface[name=Ethernet5]/state/counters',
    );
    const body = n.updates[0]?.value as Record<string, unknown>;
    const atMs = Number(n.timestampNs / 1_000_000n);
    expect(BigInt(body['openconfig-interfaces:in-octets'] as string)).toBe(inOctets(5, atMs));
    c.close();
  });

  it('Subscribe STREAM/SAMPLE with PROTO values: every interval, all 8 interfaces, values on the formula', async () => {
    const c = client();
    const got = await collect(
      c,
      [{ path: '/interfaces/interface/state/counters', mode: 'SAMPLE', sampleIntervalMs: 500 }],
      {
        untilMs: 1800,
      },
    );
    c.close();
    expect(got.error).toBeUndefined();
    expect(got.syncs).toBe(1);
    expect(got.malformed).toEqual([]);
    // The initial values then one set per 500 ms: at least 3 rounds of 8 interfaces.
    expect(got.notifications.length).toBeGreaterThanOrEqual(24);
    for (const n of got.notifications) {
      const name = n.prefix?.elem[1]?.key['name'] as string;
      const i = Number(name.slice('Ethernet'.length));
      const atMs = Number(n.timestampNs / 1_000_000n);
      expect(leaf(n, 'in-octets'), name).toBe(inOctets(i, atMs));
      expect(typeof leaf(n, 'in-unicast-pkts')).toBe('number');
    }
  });

  it('Subscribe ONCE: the values once, the sync, then the stream ends', async () => {
    const c = client();
    const got = await collect(c, [{ path: '/components/component/state/temperature' }], {
      mode: 'ONCE',
      encoding: 'JSON',
      untilMs: 5000,
    });
    c.close();
    expect(got.ended).toBe(true);
    expect(got.syncs).toBe(1);
    expect(got.notifications).toHaveLength(1);
    expect(got.notifications[0]?.updates[0]?.value).toEqual({ instant: 41.5 });
  });

  it('Subscribe POLL: values at the start and at every poll, each followed by a sync', async () => {
    const c = client();
    const got = await collect(
      c,
      [{ path: '/components/component[name=CPU0]/cpu/utilization/state/instant' }],
      {
        mode: 'POLL',
        untilMs: 1500,
        during: (poll) => {
          setTimeout(poll, 200);
          setTimeout(poll, 400);
        },
      },
    );
    c.close();
    expect(got.syncs).toBe(3);
    expect(got.notifications.map((n) => leaf(n, 'instant'))).toEqual([12 + D, 12 + D, 12 + D]);
  });

  it('malformed updates (no value, bad JSON) are reported one by one; the stream and the good values go on', async () => {
    plain.setKnobs({ malformed: true });
    const c = client();
    const got = await collect(
      c,
      [{ path: '/interfaces/interface[name=Ethernet1]/state/counters', sampleIntervalMs: 300 }],
      {
        untilMs: 1000,
      },
    );
    c.close();
    plain.setKnobs({});
    expect(got.error).toBeUndefined();
    expect(got.notifications.length).toBeGreaterThanOrEqual(3);
    expect(got.malformed.length).toBe(2 * got.notifications.length);
    expect(got.malformed).toContain(
      '/interfaces/interface[name=Ethernet1]/state/counters/broken: update without a value',
    );
    expect(got.malformed.some((m) => m.includes('broken-json: json_val is not JSON'))).toBe(true);
    for (const n of got.notifications) expect(typeof leaf(n, 'in-octets')).toBe('bigint');
  });

  it('a dropped stream ends in an error event with the gRPC status (the caller reconnects)', async () => {
    const c = client();
    const got = await collect(c, [{ path: '/interfaces/interface/state/counters', sampleIntervalMs: 300 }], {
      untilMs: 5000,
      during: () => setTimeout(() => plain.setKnobs({ drop: true }), 200),
    });
    plain.setKnobs({});
    c.close();
    expect(got.error).toBeInstanceOf(GnmiError);
    expect(got.error?.message).toMatch(/UNAVAILABLE: stream dropped by the test/);
    expect(got.error?.retryable).toBe(true);
  });

  it('wrong credentials: UNAUTHENTICATED, and the password is not in the message', async () => {
    const c = client({ password: 'wrong-pw' });
    const e = await c.capabilities().catch((x: unknown) => x);
    c.close();
    expect(e).toBeInstanceOf(GnmiError);
    expect((e as GnmiError).message).toMatch(/UNAUTHENTICATED/);
    expect((e as GnmiError).message).not.toContain('wrong-pw');
  });

  it('TLS with the CA file; refused without it', async () => {
    const c = new GnmiClient({
      target: tls.target,
      tls: { ...readTlsFiles({ caFile: pki.caCert }), serverName: 'localhost' },
    });
    expect((await c.capabilities()).version).toBe('0.8.0');
    c.close();
    const untrusted = new GnmiClient({ target: tls.target, timeoutMs: 3000 });
    await expect(untrusted.capabilities()).rejects.toThrow(GnmiError);
    untrusted.close();
    const skip = new GnmiClient({ target: tls.target, tls: { skipVerify: true } });
    expect((await skip.capabilities()).version).toBe('0.8.0');
    skip.close();
  });

  it('mutual TLS: with the client certificate; refused without it or with another CA', async () => {
    const ca = readTlsFiles({ caFile: pki.caCert });
    const ok = new GnmiClient({
      target: mtls.target,
      tls: {
        ...readTlsFiles({ caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey }),
        serverName: 'localhost',
      },
    });
    const got = await collect(ok, [{ path: '/interfaces/interface/state/counters', sampleIntervalMs: 300 }], {
      untilMs: 800,
    });
    ok.close();
    expect(got.error).toBeUndefined();
    expect(got.notifications.length).toBeGreaterThanOrEqual(2);
    for (const tlsFiles of [
      ca,
      readTlsFiles({ caFile: pki.caCert, certFile: pki.rogueClientCert, keyFile: pki.rogueClientKey }),
    ]) {
      const refused = new GnmiClient({
        target: mtls.target,
        tls: { ...tlsFiles, serverName: 'localhost' },
        timeoutMs: 3000,
      });
      await expect(refused.capabilities()).rejects.toThrow(GnmiError);
      refused.close();
    }
  });

  it('panoptes gnmi subscribe prints one line per value and the sync; capabilities; a usage error exits 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const base: GnmiCliOptions = {
      insecure: true,
      username: 'noc',
      passwordEnv: 'GNMI_TEST_PASSWORD',
      encoding: 'proto',
      timeout: 5000,
    };
    process.env['GNMI_TEST_PASSWORD'] = 'pw-1';
    const code = await runGnmi(
      'subscribe',
      plain.target,
      ['/interfaces/interface[name=Ethernet2]/state/counters/in-octets'],
      { ...base, mode: 'stream', streamMode: 'sample', interval: 0.3, count: 3 },
      io,
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const lines = out.join('').trim().split('\n');
    expect(lines).toContain('# sync');
    const values = lines.filter((l) => !l.startsWith('#'));
    expect(values).toHaveLength(3);
    for (const line of values) {
      const m = /^(\S+) (\S+) (\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, at, path, value] = m as RegExpExecArray;
      expect(path).toBe('/interfaces/interface[name=Ethernet2]/state/counters/in-octets');
      expect(BigInt(value as string)).toBe(inOctets(2, Date.parse(at as string)));
    }
    out.length = 0;
    expect(await runGnmi('capabilities', plain.target, [], base, io)).toBe(0);
    expect(out.join('')).toContain('gNMI version: 0.8.0');
    expect(await runGnmi('get', 'no-port', ['/'], base, io)).toBe(2);
    expect(err.join('')).toContain('invalid target "no-port": expected host:port');
    delete process.env['GNMI_TEST_PASSWORD'];
  });
});
