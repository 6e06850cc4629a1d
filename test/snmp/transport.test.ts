/**
 * SnmpTransport against small fake agents (node:dgram sockets on 127.0.0.1): timeouts and
 * retries with the same request-id, late answers, answers from the wrong port, the per-device
 * and global in-flight limits, and close(). Real timers with small timeouts; every wait is
 * bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { encodeRequest } from '../../src/snmp/pdu.js';
import type { SnmpMessage } from '../../src/snmp/pdu.js';
import { SnmpTransport } from '../../src/snmp/transport.js';
import type { RequestTiming, TransportOptions } from '../../src/snmp/transport.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';
import { FakeAgent, OpenCounter } from '../support/fake-snmp-agent.js';
import type { ReceivedRequest, RequestHandler } from '../support/fake-snmp-agent.js';

const SYS_NAME = '1.3.6.1.2.1.1.5.0';

const agents: FakeAgent[] = [];
const transports: SnmpTransport[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function agent(handler: RequestHandler, shared?: OpenCounter): Promise<FakeAgent> {
  const a = await FakeAgent.start(handler, shared);
  agents.push(a);
  return a;
}

function transport(options: TransportOptions = {}): SnmpTransport {
  const t = new SnmpTransport({ bindAddress: '127.0.0.1', sockets: 1, ...options });
  transports.push(t);
  return t;
}

function get(t: SnmpTransport, a: FakeAgent, timing: RequestTiming, oid = SYS_NAME): Promise<SnmpMessage> {
  return t.request(
    { host: a.host, port: a.port },
    (requestId) =>
      encodeRequest({ version: 1, community: 'public', pduType: PduType.GetRequest, requestId }, [oid]),
    timing,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The text of the first varbind of an answer. */
function text(m: SnmpMessage): string {
  const v = m.varbinds[0]?.value;
  return v instanceof Uint8Array ? Buffer.from(v).toString() : String(v);
}

function reply(a: FakeAgent, r: ReceivedRequest, value: string, delayMs = 0): void {
  const send = (): void => {
    void a.reply(r, [{ oid: SYS_NAME, type: SnmpTag.OctetString, value: Buffer.from(value) }]);
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

async function timeoutError(p: Promise<unknown>): Promise<PanoptesError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PanoptesError);
    return e as PanoptesError;
  }
  throw new Error('expected the request to fail');
}

describe('timeouts and retries', () => {
  it.each([
    { drop: 0, retries: 0 },
    { drop: 1, retries: 1 },
    { drop: 2, retries: 2 },
    { drop: 2, retries: 4 },
  ])(
    'an agent dropping the first $drop request(s) is answered with retries $retries',
    async ({ drop, retries }) => {
      const a = await agent((r, self) => {
        if (r.index <= drop) self.drop();
        else reply(self, r, `answer to attempt ${r.index}`);
      });
      const t = transport();
      const m = await get(t, a, { timeoutMs: 80, retries });
      expect(text(m)).toBe(`answer to attempt ${drop + 1}`);
      expect(a.requests).toHaveLength(drop + 1);
      // Every attempt is the same datagram: same request-id, same bytes.
      const first = a.requests[0];
      for (const r of a.requests) {
        expect(r.message.requestId).toBe(first?.message.requestId);
        expect(r.raw.equals(first?.raw ?? Buffer.alloc(0))).toBe(true);
      }
      expect(m.requestId).toBe(first?.message.requestId);
      expect(t.stats.sent).toBe(drop + 1);
      expect(t.stats.retries).toBe(drop);
      expect(t.stats.timeouts).toBe(0);
      expect(t.stats.inFlight).toBe(0);
    },
  );

  it.each([
    { drop: 1, retries: 0 },
    { drop: 3, retries: 2 },
    { drop: Infinity, retries: 1 },
  ])(
    'an agent dropping the first $drop request(s) with retries $retries: SNMP_TIMEOUT after exactly retries+1 sends',
    async ({ drop, retries }) => {
      const a = await agent((r, self) => {
        if (r.index <= drop) self.drop();
        else reply(self, r, 'too late');
      });
      const t = transport();
      const timeoutMs = 60;
      const started = Date.now();
      const e = await timeoutError(get(t, a, { timeoutMs, retries }));
      const elapsed = Date.now() - started;
      expect(e.code).toBe('SNMP_TIMEOUT');
      expect(e.retryable).toBe(true);
      expect(e.message).toContain(`127.0.0.1:${a.port}`);
      expect(e.message).toContain(`${retries + 1} attempt(s) of ${timeoutMs} ms`);
      expect(e.details['attempts']).toBe(retries + 1);
      // Timers may fire a little early on some platforms; never much.
      expect(elapsed).toBeGreaterThanOrEqual((retries + 1) * timeoutMs - 5);
      expect(a.requests).toHaveLength(retries + 1);
      await sleep(2 * timeoutMs);
      expect(a.requests).toHaveLength(retries + 1); // nothing more is sent after giving up
      expect(t.stats.sent).toBe(retries + 1);
      expect(t.stats.retries).toBe(retries);
      expect(t.stats.timeouts).toBe(1);
      expect(t.stats.inFlight).toBe(0);
    },
  );

  it('a late answer to the first attempt completes the request; the answer to the retry is then unknown', async () => {
    const timeoutMs = 100;
    const a = await agent((r, self) => {
      // Each attempt is answered 1.6 timeouts later: attempt 1 at 160 ms, after attempt 2 went out.
      if (r.index <= 2) reply(self, r, `late answer to attempt ${r.index}`, timeoutMs * 1.6);
      else self.drop();
    });
    const t = transport();
    const m = await get(t, a, { timeoutMs, retries: 3 });
    expect(text(m)).toBe('late answer to attempt 1');
    expect(a.requests.length).toBeGreaterThanOrEqual(2);
    expect(a.requests[1]?.message.requestId).toBe(a.requests[0]?.message.requestId);
    expect(t.stats.retries).toBeGreaterThanOrEqual(1);
    expect(t.stats.timeouts).toBe(0);
    // The late answer to attempt 2 arrives for a request that is already complete.
    await sleep(timeoutMs * 3);
    expect(t.stats.unknownRequestId).toBe(1);
    expect(t.stats.received).toBe(2);
  });

  it('each attempt waits its own timeout', async () => {
    const a = await agent((_r, self) => self.drop());
    const t = transport();
    const timeoutMs = 120;
    const started = Date.now();
    await timeoutError(get(t, a, { timeoutMs, retries: 2 }));
    const gaps = a.requests.slice(1).map((r, i) => r.at - (a.requests[i]?.at ?? 0));
    expect(gaps).toHaveLength(2);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(timeoutMs - 10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * timeoutMs - 5);
  });
});

describe('answers are matched by source and request-id', () => {
  it('ignores an answer from another port of the same host (stats.wrongSource)', async () => {
    const a = await agent(async (r, self) => {
      const other = await self.otherSocket();
      // The impostor answers first, with the right request-id.
      await self.reply(r, [{ oid: SYS_NAME, type: SnmpTag.OctetString, value: Buffer.from('impostor') }], {
        via: other,
      });
      reply(self, r, 'genuine', 50);
    });
    const t = transport();
    const m = await get(t, a, { timeoutMs: 2000, retries: 0 });
    expect(text(m)).toBe('genuine');
    expect(t.stats.wrongSource).toBe(1);
    expect(t.stats.received).toBe(2);
  });

  it('times out when only the wrong port answers', async () => {
    const a = await agent(async (r, self) => {
      const other = await self.otherSocket();
      await self.reply(r, undefined, { via: other });
    });
    const t = transport();
    const e = await timeoutError(get(t, a, { timeoutMs: 150, retries: 1 }));
    expect(e.code).toBe('SNMP_TIMEOUT');
    expect(t.stats.wrongSource).toBe(2);
  });

  it('gives concurrent requests distinct request-ids and hands each its own answer', async () => {
    const seen: ReceivedRequest[] = [];
    const a = await agent((r, self) => {
      seen.push(r);
      if (seen.length < 3) return;
      // Answer in reverse order of arrival, each with the OID it asked for.
      for (const req of [...seen].reverse()) {
        const oid = req.message.varbinds[0]?.oid ?? '';
        void self.reply(req, [{ oid, type: SnmpTag.OctetString, value: Buffer.from(`for ${oid}`) }]);
      }
    });
    const t = transport({ maxInFlightPerDevice: 3 });
    const oids = ['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.4.0', '1.3.6.1.2.1.1.6.0'];
    const answers = await Promise.all(oids.map((oid) => get(t, a, { timeoutMs: 2000, retries: 0 }, oid)));
    expect(answers.map(text)).toEqual(oids.map((oid) => `for ${oid}`));
    expect(new Set(seen.map((r) => r.message.requestId)).size).toBe(3);
  });
});

describe('in-flight limits', () => {
  it('sends one request at a time to a device by default, in FIFO order, while another device proceeds', async () => {
    const holdMs = 80;
    const slow = await agent((r, self) => reply(self, r, `slow ${r.index}`, holdMs));
    const fast = await agent((r, self) => reply(self, r, `fast ${r.index}`));
    const t = transport();
    const timing = { timeoutMs: 3000, retries: 0 };
    const order: string[] = [];
    const track = (p: Promise<SnmpMessage>): Promise<void> =>
      p.then((m) => {
        order.push(text(m));
      });
    const started = Date.now();
    const slowOnes = Array.from({ length: 4 }, () => track(get(t, slow, timing)));
    expect(t.stats.inFlight).toBe(1);
    expect(t.stats.queued).toBe(3);
    const fastOne = track(get(t, fast, timing));
    expect(t.stats.inFlight).toBe(2);
    await fastOne;
    const fastDone = Date.now() - started;
    await Promise.all(slowOnes);
    expect(slow.maxOpen).toBe(1);
    expect(slow.requests).toHaveLength(4);
    // The fast device was not queued behind the slow one.
    expect(order[0]).toBe('fast 1');
    expect(fastDone).toBeLessThan(holdMs * 4);
    expect(order.slice(1)).toEqual(['slow 1', 'slow 2', 'slow 3', 'slow 4']);
    // Each slow request started only after the previous one was answered.
    for (let i = 1; i < 4; i++) {
      expect(slow.requests[i]?.at ?? 0).toBeGreaterThanOrEqual((slow.requests[i - 1]?.at ?? 0) + holdMs - 10);
    }
    expect(t.stats.queued).toBe(0);
    expect(t.stats.inFlight).toBe(0);
  });

  it('honours maxInFlightPerDevice: 2', async () => {
    const a = await agent((r, self) => reply(self, r, `n${r.index}`, 40));
    const t = transport({ maxInFlightPerDevice: 2 });
    await Promise.all(Array.from({ length: 6 }, () => get(t, a, { timeoutMs: 3000, retries: 0 })));
    expect(a.maxOpen).toBe(2);
    expect(a.requests).toHaveLength(6);
  });

  it('a dead device delays only its own requests', async () => {
    const timeoutMs = 250;
    const dead = await agent((_r, self) => self.drop());
    const alive = await agent((r, self) => reply(self, r, 'up'));
    const t = transport();
    let deadSettled = 0;
    const deadOnes = Array.from({ length: 3 }, () =>
      get(t, dead, { timeoutMs, retries: 0 })
        .then(
          () => 'answered',
          (e: unknown) => (e instanceof PanoptesError ? e.code : 'other'),
        )
        .finally(() => {
          deadSettled++;
        }),
    );
    for (let i = 0; i < 5; i++) expect(text(await get(t, alive, { timeoutMs: 3000, retries: 0 }))).toBe('up');
    // All five answers came before the first of the dead device's requests timed out.
    expect(deadSettled).toBe(0);
    expect(await Promise.all(deadOnes)).toEqual(['SNMP_TIMEOUT', 'SNMP_TIMEOUT', 'SNMP_TIMEOUT']);
    // The dead device's own requests waited for each other: three timeouts in a row.
    expect(dead.requests).toHaveLength(3);
    const gaps = dead.requests.slice(1).map((r, i) => r.at - (dead.requests[i]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(timeoutMs - 10);
  });

  it('honours the global cap maxInFlight over all devices', async () => {
    const shared = new OpenCounter();
    const devices = await Promise.all(
      Array.from({ length: 4 }, () => agent((r, self) => reply(self, r, `d${self.port}`, 40), shared)),
    );
    const t = transport({ maxInFlight: 2, maxInFlightPerDevice: 4 });
    const requests = devices.flatMap((d) => [0, 1].map(() => get(t, d, { timeoutMs: 3000, retries: 0 })));
    expect(t.stats.inFlight).toBe(2);
    expect(t.stats.queued).toBe(6);
    const answers = await Promise.all(requests);
    expect(shared.maxOpen).toBe(2);
    expect(answers.map(text)).toEqual(devices.flatMap((d) => [`d${d.port}`, `d${d.port}`]));
    expect(devices.map((d) => d.requests.length)).toEqual([2, 2, 2, 2]);
    expect(t.stats.queued).toBe(0);
    expect(t.stats.inFlight).toBe(0);
  });
});

describe('close()', () => {
  it('rejects requests in flight, queued per device and queued globally', async () => {
    const a = await agent((_r, self) => self.drop());
    const b = await agent((_r, self) => self.drop());
    const t = transport({ maxInFlight: 1 });
    const timing = { timeoutMs: 5000, retries: 0 };
    const settled = [get(t, a, timing), get(t, a, timing), get(t, b, timing)].map((p) =>
      p.then(
        () => 'answered',
        (e: unknown) => (e instanceof PanoptesError ? `${e.code}: ${e.message}` : String(e)),
      ),
    );
    await sleep(30);
    expect(a.requests).toHaveLength(1);
    const started = Date.now();
    await t.close();
    const results = await Promise.all(settled);
    expect(Date.now() - started).toBeLessThan(1000);
    for (const r of results) expect(r).toMatch(/^SNMP_TIMEOUT: .*closed/);
    expect(b.requests).toHaveLength(0);
    await sleep(20);
    expect(a.requests).toHaveLength(1);
  });

  it('rejects new requests after close, and closing twice is harmless', async () => {
    const a = await agent((r, self) => reply(self, r, 'x'));
    const t = transport();
    expect(text(await get(t, a, { timeoutMs: 2000, retries: 0 }))).toBe('x');
    await t.close();
    await t.close();
    const e = await timeoutError(get(t, a, { timeoutMs: 2000, retries: 0 }));
    expect(e.code).toBe('SNMP_TIMEOUT');
    expect(e.message).toMatch(/closed/);
    expect(a.requests).toHaveLength(1);
  });

  it('settles a request whose host name was still being resolved when close() was called', async () => {
    const t = transport();
    // A name, not an address: the transport looks it up (asynchronously) before sending.
    const pending = t.request(
      { host: 'localhost', port: 9 },
      (requestId) =>
        encodeRequest({ version: 1, community: 'public', pduType: PduType.GetRequest, requestId }, [
          SYS_NAME,
        ]),
      { timeoutMs: 5000, retries: 0 },
    );
    const outcome = pending.then(
      () => 'answered',
      (e: unknown) => (e instanceof PanoptesError ? e.code : 'other error'),
    );
    await t.close();
    const result = await Promise.race([outcome, sleep(1000).then(() => 'still pending 1 s after close()')]);
    expect(result).toBe('SNMP_TIMEOUT');
  });
});
