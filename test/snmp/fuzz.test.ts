/**
 * Hostile input. The decoder must either return a message or throw PanoptesError SNMP_DECODE,
 * quickly, for random bytes, every truncation, single-byte mutations and corrupted length fields
 * of valid responses; peekRequestId must return undefined or a number and never throw. The
 * transport must drop such packets, count them, and still complete the request when the real
 * answer comes.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { decodeMessage, encodeMessage, peekRequestId } from '../../src/snmp/pdu.js';
import type { EncodeOptions, OutVarbind, SnmpMessage } from '../../src/snmp/pdu.js';
import { SnmpTransport } from '../../src/snmp/transport.js';
import type { MessageDecoder } from '../../src/snmp/transport.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';
import { arbMessage } from './arbitraries.js';

const RESPONSE: EncodeOptions = {
  version: 1,
  community: 'public',
  pduType: PduType.Response,
  requestId: 4242,
};

/** Valid responses of several shapes: short, long-form lengths, every value type. */
const SAMPLES: readonly Buffer[] = [
  encodeMessage(RESPONSE, [
    { oid: '1.3.6.1.2.1.1.1.0', type: SnmpTag.OctetString, value: Buffer.from('Linux sim 6.1') },
  ]),
  encodeMessage({ ...RESPONSE, requestId: -77, version: 0 }, [
    { oid: '1.3.6.1.2.1.1.3.0', type: SnmpTag.TimeTicks, value: 4294967295 },
    { oid: '1.3.6.1.2.1.1.2.0', type: SnmpTag.ObjectIdentifier, value: '1.3.6.1.4.1.4294967295.2' },
    { oid: '1.3.6.1.2.1.4.20.1.1.10.0.0.1', type: SnmpTag.IpAddress, value: '10.0.0.1' },
    { oid: '1.3.6.1.2.1.31.1.1.1.6.1', type: SnmpTag.Counter64, value: 2n ** 64n - 1n },
    { oid: '1.3.6.1.2.1.2.2.1.10.1', type: SnmpTag.Counter32, value: 123456 },
    { oid: '1.3.6.1.2.1.2.2.1.5.1', type: SnmpTag.Gauge32, value: 1_000_000_000 },
    { oid: '1.3.6.1.2.1.2.2.1.7.1', type: SnmpTag.Integer32, value: -2147483648 },
    { oid: '1.3.6.1.4.1.2021.1.0', type: SnmpTag.Opaque, value: Buffer.from('9f780441200000', 'hex') },
    { oid: '1.3.6.1.2.1.1.9.0', type: SnmpTag.Null, value: null },
    { oid: '1.3.6.1.2.1.1.8.0', type: SnmpTag.NoSuchInstance, value: null },
    { oid: '1.3.6.1.2.1.1.10.0', type: SnmpTag.EndOfMibView, value: null },
  ]),
  encodeMessage({ ...RESPONSE, requestId: 0x7fffffff }, [
    { oid: '1.3.6.1.2.1.2.2.1.2.1', type: SnmpTag.OctetString, value: Buffer.alloc(300, 0x41) },
    { oid: '1.3.6.1.2.1.2.2.1.6.1', type: SnmpTag.OctetString, value: Buffer.from('000c29ff0001', 'hex') },
  ]),
];

interface Outcome {
  readonly ok: boolean;
  readonly ms: number;
}

/** Decodes, checking the contract: a message, or PanoptesError SNMP_DECODE; never anything else. */
function decodeChecked(bytes: Uint8Array): Outcome {
  const started = performance.now();
  let ok = false;
  let decoded: SnmpMessage | undefined;
  try {
    decoded = decodeMessage(bytes);
    ok = true;
  } catch (e) {
    if (!(e instanceof PanoptesError) || e.code !== 'SNMP_DECODE') {
      throw new Error(
        `decodeMessage(${Buffer.from(bytes).toString('hex')}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      );
    }
  }
  const ms = performance.now() - started;
  let id: number | undefined;
  expect(() => {
    id = peekRequestId(bytes);
  }).not.toThrow();
  if (id !== undefined) expect(Number.isInteger(id)).toBe(true);
  // Whatever decodes in full has the request-id that peekRequestId reads.
  if (decoded !== undefined) expect(id).toBe(decoded.requestId);
  return { ok, ms };
}

/** Offsets and sizes of every length field in a valid message (walking constructed TLVs). */
function lengthFields(buf: Uint8Array): { at: number; size: number; length: number }[] {
  const out: { at: number; size: number; length: number }[] = [];
  const walk = (start: number, end: number): void => {
    let pos = start;
    while (pos < end) {
      const tag = buf[pos] ?? 0;
      const at = pos + 1;
      const first = buf[at] ?? 0;
      let size = 1;
      let length = first;
      if (first & 0x80) {
        size = 1 + (first & 0x7f);
        length = 0;
        for (let i = 1; i < size; i++) length = length * 256 + (buf[at + i] ?? 0);
      }
      out.push({ at, size, length });
      const content = at + size;
      if (tag === 0x30 || (tag >= 0xa0 && tag <= 0xa8)) walk(content, content + length);
      pos = content + length;
    }
  };
  walk(0, buf.length);
  return out;
}

function splice(buf: Uint8Array, at: number, remove: number, insert: readonly number[]): Buffer {
  return Buffer.concat([buf.subarray(0, at), Buffer.from(insert), buf.subarray(at + remove)]);
}

const LENGTH_CORRUPTIONS: readonly (readonly number[])[] = [
  [0x80], // indefinite
  [0x84, 0xff, 0xff, 0xff, 0xff], // 4 GiB
  [0x84, 0x7f, 0xff, 0xff, 0xff],
  [0x84, 0x00, 0x00, 0x00, 0x00],
  [0x85, 0x00, 0x00, 0x00, 0x00, 0x01], // 5 length bytes
  [0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xff],
  [0x81], // long form with its byte missing
  [0x82, 0xff, 0xff],
  [0x83, 0x01, 0x00, 0x00],
  [0x7f],
  [0x00],
];

describe('decodeMessage on hostile input', () => {
  it('decodes every sample (the corpus is valid)', () => {
    for (const s of SAMPLES) expect(decodeChecked(s).ok).toBe(true);
  });

  it('survives random byte strings', () => {
    let maxMs = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        maxMs = Math.max(maxMs, decodeChecked(bytes).ms);
      }),
      { numRuns: 3000 },
    );
    expect(maxMs).toBeLessThan(250);
  });

  it('survives random bytes after a plausible SEQUENCE/version/community prefix', () => {
    const prefixes = SAMPLES.map((s) => s.subarray(0, 13));
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
        decodeChecked(Buffer.concat([prefix, tail]));
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects every truncation of a valid response', () => {
    for (const s of SAMPLES) {
      for (let n = 0; n < s.length; n++) {
        expect(decodeChecked(s.subarray(0, n)).ok, `truncated to ${n} of ${s.length} bytes`).toBe(false);
      }
    }
  });

  it('survives every single-byte mutation of the small samples (6 values per position)', () => {
    let decoded = 0;
    let rejected = 0;
    for (const s of SAMPLES.slice(0, 2)) {
      for (let i = 0; i < s.length; i++) {
        for (const v of [0x00, 0x01, 0x7f, 0x80, 0x84, 0xff]) {
          const m = Buffer.from(s);
          m[i] = v;
          if (decodeChecked(m).ok) decoded++;
          else rejected++;
        }
      }
    }
    // Both outcomes occur: a mutated value byte still decodes, a mutated length does not.
    expect(decoded).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });

  it('survives random mutations, insertions and deletions of random valid messages', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(arbMessage, fc.array(edit, { minLength: 1, maxLength: 4 }), (m, edits) => {
        let bytes: Buffer = encodeMessage(m, m.varbinds);
        for (const e of edits) {
          const at = bytes.length === 0 ? 0 : e.at % bytes.length;
          if (e.kind === 'set') bytes[at] = e.value;
          else if (e.kind === 'insert') bytes = splice(bytes, at, 0, [e.value]);
          else bytes = splice(bytes, at, 1, []);
        }
        decodeChecked(bytes);
      }),
      { numRuns: 1500 },
    );
  });

  it('rejects corrupted length fields (huge, indefinite, too many bytes, past the buffer)', () => {
    let cases = 0;
    for (const s of SAMPLES) {
      const fields = lengthFields(s);
      expect(fields.length).toBeGreaterThan(8);
      for (const { at, size, length } of fields) {
        for (const corrupt of LENGTH_CORRUPTIONS) {
          decodeChecked(splice(s, at, size, corrupt));
          cases++;
        }
        // One more than is there, and (for the outer SEQUENCEs) far more.
        const longer = length + 1;
        decodeChecked(splice(s, at, size, [0x82, (longer >> 8) & 0xff, longer & 0xff]));
        decodeChecked(splice(s, at, size, [0x83, 0x10, 0x00, 0x00]));
        cases += 2;
      }
      // The outer SEQUENCE claiming more than the datagram holds is never accepted.
      expect(decodeChecked(splice(s, 1, fields[0]?.size ?? 1, [0x84, 0xff, 0xff, 0xff, 0xff])).ok).toBe(
        false,
      );
      expect(decodeChecked(splice(s, 1, fields[0]?.size ?? 1, [0x80])).ok).toBe(false);
    }
    expect(cases).toBeGreaterThan(300);
  });

  it('handles a datagram-sized message of many tiny varbinds quickly', () => {
    const varbinds: OutVarbind[] = Array.from({ length: 5000 }, (_, i) => ({
      oid: `1.3.6.1.${i}`,
      type: SnmpTag.Null,
      value: null,
    }));
    const wire = encodeMessage(RESPONSE, varbinds);
    expect(wire.length).toBeLessThan(65_536);
    const started = performance.now();
    expect(decodeMessage(wire).varbinds).toHaveLength(5000);
    const truncated = decodeChecked(wire.subarray(0, wire.length - 1));
    expect(truncated.ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

// ---- the transport drops and counts what does not decode ----------------------------------------

const sockets: Socket[] = [];
const transports: SnmpTransport[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function bindAgent(
  onRequest: (request: SnmpMessage, raw: Buffer, from: RemoteInfo) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    sockets.push(s);
    s.on('error', reject);
    s.on('message', (msg, rinfo) => onRequest(decodeMessage(msg), msg, rinfo));
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function send(s: Socket, bytes: Uint8Array, to: RemoteInfo): Promise<void> {
  return new Promise((resolve, reject) =>
    s.send(bytes, to.port, to.address, (e) => (e ? reject(e) : resolve())),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ANSWER: OutVarbind = { oid: '1.3.6.1.2.1.1.5.0', type: SnmpTag.OctetString, value: Buffer.from('ok') };

function answerTo(requestId: number, pduType: number = PduType.Response): Buffer {
  return encodeMessage({ ...RESPONSE, requestId, pduType }, [ANSWER]);
}

/** A Response with the right request-id whose varbind value has an unknown tag. */
function brokenAnswerTo(requestId: number): Buffer {
  const wire = answerTo(requestId);
  wire[wire.length - 4] = 0x99; // tag of the value '04 02 6f 6b'
  return wire;
}

/** Decodes in-process but through the transport's decoder path (as the worker pool does). */
function inProcessDecoder(): MessageDecoder & { batches: number } {
  const decoder = {
    batches: 0,
    decode(messages: readonly Uint8Array[]): Promise<(SnmpMessage | Error)[]> {
      decoder.batches++;
      return Promise.resolve(
        messages.map((m) => {
          try {
            return decodeMessage(m);
          } catch (e) {
            return e instanceof Error ? e : new Error(String(e));
          }
        }),
      );
    },
    close: () => Promise.resolve(),
  };
  return decoder;
}

const GARBAGE: readonly Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('hello, not SNMP'),
  Buffer.from('3084ffffffff', 'hex'),
  Buffer.from('3080020101', 'hex'),
  Buffer.from([0x30, 0x03, 0x02, 0x01]),
];

for (const mode of ['inline', 'decoder'] as const) {
  describe(`SnmpTransport with ${mode} decoding drops hostile answers`, () => {
    it('counts garbage as malformed and a foreign request-id as unknown, then completes on the real answer', async () => {
      const decoder = mode === 'decoder' ? inProcessDecoder() : undefined;
      const transport = new SnmpTransport({
        bindAddress: '127.0.0.1',
        sockets: 1,
        ...(decoder === undefined ? {} : { decoder }),
      });
      transports.push(transport);
      const requests: number[] = [];
      const agent = await bindAgent((request, _raw, from) => {
        requests.push(request.requestId);
        void (async () => {
          for (const g of GARBAGE) await send(agent, g, from);
          await send(agent, answerTo(request.requestId + 1), from);
          await send(agent, answerTo(request.requestId ^ 0x40000000), from);
          await send(agent, SAMPLES[1] ?? Buffer.alloc(0), from);
          await send(agent, brokenAnswerTo(request.requestId), from);
          await sleep(60);
          // The right request-id in a GetRequest PDU is not an answer either.
          await send(agent, answerTo(request.requestId, PduType.GetRequest), from);
          await sleep(60);
          await send(agent, answerTo(request.requestId), from);
        })();
      });
      const { port } = agent.address();
      const message = await transport.request(
        { host: '127.0.0.1', port },
        (id) =>
          encodeMessage({ ...RESPONSE, pduType: PduType.GetRequest, requestId: id }, [
            { oid: ANSWER.oid, type: SnmpTag.Null, value: null },
          ]),
        { timeoutMs: 5000, retries: 0 },
      );
      expect(requests).toHaveLength(1);
      expect(message.requestId).toBe(requests[0]);
      expect(message.varbinds[0]?.oid).toBe(ANSWER.oid);
      expect(Buffer.from((message.varbinds[0]?.value as Uint8Array | null) ?? []).toString()).toBe('ok');
      // 5 garbage + 1 broken varbind + 1 GetRequest PDU do not decode as an answer.
      expect(transport.stats.malformed).toBe(GARBAGE.length + 2);
      // Two foreign request-ids and the unrelated sample.
      expect(transport.stats.unknownRequestId).toBe(3);
      expect(transport.stats.received).toBe(GARBAGE.length + 6);
      expect(transport.stats.sent).toBe(1);
      expect(transport.stats.timeouts).toBe(0);
      if (decoder !== undefined) expect(decoder.batches).toBeGreaterThanOrEqual(3);
    });

    it('a good answer right behind a corrupt one with the same request-id still completes the request', async () => {
      const decoder = mode === 'decoder' ? inProcessDecoder() : undefined;
      const transport = new SnmpTransport({
        bindAddress: '127.0.0.1',
        sockets: 1,
        ...(decoder === undefined ? {} : { decoder }),
      });
      transports.push(transport);
      let requests = 0;
      const agent = await bindAgent((request, _raw, from) => {
        requests++;
        // Back to back: both are in the socket before the transport looks at the first.
        agent.send(brokenAnswerTo(request.requestId), from.port, from.address);
        agent.send(answerTo(request.requestId), from.port, from.address);
      });
      const { port } = agent.address();
      const started = Date.now();
      const message = await transport.request(
        { host: '127.0.0.1', port },
        (id) =>
          encodeMessage({ ...RESPONSE, pduType: PduType.GetRequest, requestId: id }, [
            { oid: ANSWER.oid, type: SnmpTag.Null, value: null },
          ]),
        // A retry would also recover; one long attempt shows whether the good answer was used.
        { timeoutMs: 1000, retries: 1 },
      );
      expect(message.varbinds[0]?.oid).toBe(ANSWER.oid);
      expect(transport.stats.malformed).toBe(1);
      expect(transport.stats.sent).toBe(1);
      expect(requests).toBe(1);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });
}
