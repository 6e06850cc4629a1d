/**
 * Session logic (walks, table walks, GET splitting, error-status handling) against a tiny
 * in-test agent on 127.0.0.1 that implements GET, GETNEXT and GETBULK over a sorted list of
 * varbinds, with switches for misbehaviour: tooBig above a size, OIDs that go backwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { SnmpEngine, answerMismatch } from '../../src/snmp/engine.js';
import { compareOids } from '../../src/snmp/oid.js';
import type { SnmpSession, SnmpSessionOptions } from '../../src/snmp/session.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';
import { FakeAgent } from '../support/fake-snmp-agent.js';
import type { ReceivedRequest } from '../support/fake-snmp-agent.js';

const E = '1.3.6.1.2.1.2.2.1';
const SYS_NAME = '1.3.6.1.2.1.1.5.0';

interface MibOptions {
  /** Answer tooBig when a response would carry more varbinds than this. */
  readonly maxVarbinds?: number;
  /** Rewrites the answer (to make the agent misbehave). */
  readonly mangle?: (answer: Varbind[], request: ReceivedRequest) => Varbind[];
}

/** A v1/v2c agent over `mib`. */
function mibHandler(mib: readonly Varbind[], options: MibOptions) {
  const sorted = [...mib].sort((a, b) => compareOids(a.oid, b.oid));
  const next = (oid: string): Varbind | undefined => sorted.find((vb) => compareOids(vb.oid, oid) > 0);
  const end = (oid: string): Varbind => ({ oid, type: SnmpTag.EndOfMibView, value: null });
  return (r: ReceivedRequest, agent: FakeAgent): void => {
    const m = r.message;
    const v1 = m.version === 0;
    const oids = m.varbinds.map((vb) => vb.oid);
    let out: Varbind[] = [];
    let errorStatus = 0;
    let errorIndex = 0;
    if (m.pduType === PduType.GetRequest || m.pduType === PduType.GetNextRequest) {
      oids.forEach((oid, i) => {
        const vb = m.pduType === PduType.GetRequest ? sorted.find((x) => x.oid === oid) : next(oid);
        if (vb !== undefined) out.push(vb);
        else if (v1 && errorStatus === 0) [errorStatus, errorIndex] = [2, i + 1];
        else if (m.pduType === PduType.GetRequest) out.push({ oid, type: SnmpTag.NoSuchObject, value: null });
        else out.push(end(oid));
      });
    } else if (m.pduType === PduType.GetBulkRequest) {
      const nonRepeaters = Math.min(m.errorStatus, oids.length);
      for (const oid of oids.slice(0, nonRepeaters)) out.push(next(oid) ?? end(oid));
      let last = oids.slice(nonRepeaters);
      for (let rep = 0; rep < m.errorIndex && last.length > 0; rep++) {
        const row = last.map((oid) => next(oid) ?? end(oid));
        out.push(...row);
        last = row.map((vb) => vb.oid);
        if (row.every((vb) => vb.type === SnmpTag.EndOfMibView)) break;
      }
    }
    if (options.maxVarbinds !== undefined && out.length > options.maxVarbinds)
      [errorStatus, errorIndex] = [1, 0];
    if (errorStatus !== 0) out = m.varbinds;
    else if (options.mangle !== undefined) out = options.mangle(out, r);
    void agent.reply(r, out, { errorStatus, errorIndex });
  };
}

const agents: FakeAgent[] = [];
const engines: SnmpEngine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function start(mib: readonly Varbind[], options: MibOptions = {}): Promise<FakeAgent> {
  const a = await FakeAgent.start(mibHandler(mib, options));
  agents.push(a);
  return a;
}

function session(a: FakeAgent, options: Partial<SnmpSessionOptions> = {}): SnmpSession {
  const engine = new SnmpEngine({ bindAddress: '127.0.0.1' });
  engines.push(engine);
  return engine.session({ host: a.host, port: a.port, timeoutMs: 1000, retries: 0, ...options });
}

const int = (oid: string, value: number): Varbind => ({ oid, type: SnmpTag.Integer32, value });

/** ifIndex (.1), ifInOctets (.10), ifInUcastPkts (.11) for interfaces 1, 2, 10, 100. */
const TABLE: Varbind[] = [1, 10, 11].flatMap((column) =>
  [1, 2, 10, 100].map((i) => int(`${E}.${column}.${i}`, column * 1000 + i)),
);
const MIB: Varbind[] = [int('1.3.6.1.2.1.1.7.0', 72), ...TABLE, int('1.3.6.1.4.1.1.0', 1)];

async function failure(p: Promise<unknown>): Promise<PanoptesError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PanoptesError);
    return e as PanoptesError;
  }
  throw new Error('expected a failure');
}

describe('walk', () => {
  it.each([
    { version: '2c' as const, maxRepetitions: 25 },
    { version: '2c' as const, maxRepetitions: 1 },
    { version: '1' as const, maxRepetitions: 25 },
  ])('$version, max-repetitions $maxRepetitions: a column walk stops at the column', async (opts) => {
    const a = await start(MIB);
    const s = session(a, opts);
    expect((await s.walk(`${E}.1`)).map((vb) => vb.value)).toEqual([1001, 1002, 1010, 1100]);
    expect((await s.walk(`${E}.10`)).map((vb) => vb.value)).toEqual([10001, 10002, 10010, 10100]);
    expect(await s.walk(E)).toEqual(TABLE);
    // A GETNEXT walk asks once per row plus once to see the end.
    if (opts.version === '1')
      expect(a.requests.filter((r) => r.message.version === 0).length).toBeGreaterThan(12);
  });

  it.each(['1' as const, '2c' as const])('v%s: walks to the end of the MIB and stops', async (version) => {
    const a = await start(MIB);
    const rows = await session(a, { version }).walk('1.3.6.1.4');
    expect(rows).toEqual([int('1.3.6.1.4.1.1.0', 1)]);
    expect(await session(a, { version }).walk('1.3')).toEqual(
      [...MIB].sort((x, y) => compareOids(x.oid, y.oid)),
    );
  });

  it('a walk of an instance returns the instance; of nothing, nothing', async () => {
    const a = await start(MIB);
    const s = session(a);
    expect(await s.walk('1.3.6.1.2.1.1.7.0')).toEqual([int('1.3.6.1.2.1.1.7.0', 72)]);
    expect(await s.walk('1.3.6.1.2.1.99')).toEqual([]);
    expect(await session(a, { version: '1' }).walk('1.3.6.1.2.1.99')).toEqual([]);
  });

  it('fails with SNMP_PROTOCOL when the agent returns an OID that does not increase', async () => {
    const a = await start(MIB, {
      // The first two varbinds of every GETBULK answer swapped: ...1.2 then ...1.1.
      mangle: (answer, r) =>
        r.message.pduType === PduType.GetBulkRequest && answer.length > 1
          ? [answer[1] ?? answer[0], answer[0], ...answer.slice(2)].filter((vb) => vb !== undefined)
          : answer,
    });
    const e = await failure(session(a).walk(E));
    expect(e.code).toBe('SNMP_PROTOCOL');
    expect(e.message).toContain(`returned OID ${E}.1.1 after ${E}.1.2 (not increasing)`);
  });

  it('fails with SNMP_PROTOCOL when a v1 agent answers GETNEXT with the OID it was asked', async () => {
    const a = await start(MIB, {
      // Correct for the first step, then it echoes the request back.
      mangle: (answer, r) =>
        r.message.pduType === PduType.GetNextRequest && r.message.varbinds[0]?.oid !== `${E}.1`
          ? answer.map((vb, i) => ({ ...vb, oid: r.message.varbinds[i]?.oid ?? vb.oid }))
          : answer,
    });
    const e = await failure(session(a, { version: '1' }).walk(`${E}.1`));
    expect(e.code).toBe('SNMP_PROTOCOL');
    // The answer is refused as an answer to that GETNEXT before the walk looks at it.
    expect(e.message).toContain(`varbind 1 does not follow ${E}.1.1`);
    expect(a.requests).toHaveLength(2);
  });

  it('halves max-repetitions while the agent answers tooBig', async () => {
    const a = await start(MIB, { maxVarbinds: 5 });
    const s = session(a, { maxRepetitions: 40 });
    expect(await s.walk(E)).toEqual(TABLE);
    const reps = a.requests.map((r) => r.message.errorIndex);
    expect(reps.slice(0, 4)).toEqual([40, 20, 10, 5]);
    expect(Math.max(...reps.slice(4))).toBeLessThanOrEqual(5);
  });

  it('stops with SNMP_PROTOCOL past maxWalkVarbinds', async () => {
    const a = await start(MIB);
    const e = await failure(session(a, { maxWalkVarbinds: 5, maxRepetitions: 2 }).walk(E));
    expect(e.code).toBe('SNMP_PROTOCOL');
  });
});

describe('walkEach', () => {
  it.each(['1' as const, '2c' as const])(
    'v%s: hands each answer to the sink as it arrives, in order, and resolves with the count',
    async (version) => {
      const a = await start(MIB);
      const batches: Varbind[][] = [];
      const n = await session(a, { version, maxRepetitions: 5 }).walkEach(E, (vbs) => batches.push([...vbs]));
      expect(n).toBe(TABLE.length);
      expect(batches.flat()).toEqual(TABLE);
      // One batch per answer: GETBULK answers of 5 (the last cut at the table's end), one per GETNEXT.
      expect(batches.map((b) => b.length)).toEqual(version === '1' ? TABLE.map(() => 1) : [5, 5, 2]);
      expect(await session(a, { version }).walk(E)).toEqual(batches.flat());
    },
  );

  it('a root that is an instance yields it once; a subtree with nothing calls no sink', async () => {
    const a = await start(MIB);
    const s = session(a);
    const seen: Varbind[] = [];
    expect(await s.walkEach('1.3.6.1.2.1.1.7.0', (vbs) => seen.push(...vbs))).toBe(1);
    expect(seen).toEqual([int('1.3.6.1.2.1.1.7.0', 72)]);
    expect(await s.walkEach('1.3.6.1.2.1.99', () => expect.fail('no varbinds to hand over'))).toBe(0);
  });

  it('stops at the error a sink throws, asking the agent nothing more', async () => {
    const a = await start(MIB);
    const s = session(a, { maxRepetitions: 2 });
    let calls = 0;
    await expect(
      s.walkEach(E, () => {
        calls++;
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    expect(a.requests).toHaveLength(1);
  });
});

describe('walkColumns', () => {
  it('walks columns of different lengths side by side, each to its own end', async () => {
    const mib = [...MIB, int(`${E}.11.1000`, 99), int(`${E}.11.1001`, 98)];
    for (const maxRepetitions of [1, 2, 3, 25]) {
      const a = await start(mib);
      const s = session(a, { maxRepetitions });
      const cols = await s.walkColumns([`${E}.1`, `${E}.11`, `${E}.10`]);
      expect([...cols.keys()]).toEqual([`${E}.1`, `${E}.11`, `${E}.10`]);
      expect(cols.get(`${E}.1`)?.map((vb) => vb.value)).toEqual([1001, 1002, 1010, 1100]);
      expect(cols.get(`${E}.10`)?.map((vb) => vb.value)).toEqual([10001, 10002, 10010, 10100]);
      expect(cols.get(`${E}.11`)?.map((vb) => vb.value)).toEqual([11001, 11002, 11010, 11100, 99, 98]);
    }
  });

  it('over SNMPv1 gives the same rows', async () => {
    const a = await start(MIB);
    const cols = await session(a, { version: '1' }).walkColumns([`${E}.10`, `${E}.1`]);
    expect(cols.get(`${E}.10`)).toEqual(TABLE.slice(4, 8));
    expect(cols.get(`${E}.1`)).toEqual(TABLE.slice(0, 4));
  });

  it('re-asks columns an agent left out of a truncated answer', async () => {
    // The agent drops the last varbind of every GETBULK answer with more than one.
    const a = await start(MIB, {
      mangle: (answer, r) =>
        r.message.pduType === PduType.GetBulkRequest && answer.length > 1 ? answer.slice(0, -1) : answer,
    });
    const cols = await session(a, { maxRepetitions: 4 }).walkColumns([`${E}.1`, `${E}.10`]);
    expect(cols.get(`${E}.1`)).toEqual(TABLE.slice(0, 4));
    expect(cols.get(`${E}.10`)).toEqual(TABLE.slice(4, 8));
  });
});

describe('get', () => {
  it('returns exceptions in v2c and fails with noSuchName (naming the OID) in v1', async () => {
    const a = await start(MIB);
    const v2 = await session(a).get(['1.3.6.1.2.1.1.7.0', SYS_NAME]);
    expect(v2).toEqual([
      int('1.3.6.1.2.1.1.7.0', 72),
      { oid: SYS_NAME, type: SnmpTag.NoSuchObject, value: null },
    ]);
    const e = await failure(session(a, { version: '1' }).get(['1.3.6.1.2.1.1.7.0', SYS_NAME]));
    expect(e.code).toBe('SNMP_ERROR_STATUS');
    expect(e.message).toContain(`noSuchName (error-status 2, error-index 2, ${SYS_NAME})`);
    expect(e.details['oid']).toBe(SYS_NAME);
  });

  it('splits a GET the agent answers tooBig into halves', async () => {
    const a = await start(MIB, { maxVarbinds: 3 });
    const oids = TABLE.map((vb) => vb.oid).slice(0, 10);
    const vbs = await session(a).get(oids);
    expect(vbs).toEqual(TABLE.slice(0, 10));
    expect(a.requests.every((r) => r.message.pduType === PduType.GetRequest)).toBe(true);
    expect(Math.max(...a.requests.map((r) => r.message.varbinds.length))).toBe(10);
  });

  it('GETBULK does not exist in SNMPv1', async () => {
    const a = await start(MIB);
    const e = await failure(session(a, { version: '1' }).getBulk(['1.3'], 0, 5));
    expect(e.code).toBe('USAGE');
    expect(a.requests).toHaveLength(0);
  });
});

describe('answers that do not match their request', () => {
  it('are never a success: wrong OIDs for a GET, another community, too many GETBULK varbinds', async () => {
    const wrongOid = await start(MIB, {
      mangle: (answer) => answer.map((vb) => ({ ...vb, oid: `${vb.oid}.9` })),
    });
    const e1 = await failure(session(wrongOid).get([`${E}.1.1`]));
    expect(e1.code).toBe('SNMP_PROTOCOL');
    expect(e1.message).toMatch(/does not match the request .*varbind 1 is/);
    const tooMany = await start(MIB, {
      mangle: (answer) => [...answer, ...answer, ...answer],
    });
    const e2 = await failure(session(tooMany).getBulk([E], 0, 2));
    expect(e2.code).toBe('SNMP_PROTOCOL');
    expect(e2.message).toMatch(/at most 2 asked/);
  });

  it('another community or version in the answer is a mismatch (answerMismatch)', () => {
    const msg = {
      version: 1,
      community: Buffer.from('public'),
      pduType: PduType.Response,
      requestId: 7,
      errorStatus: 0,
      errorIndex: 0,
      varbinds: [{ oid: `${E}.1.1`, type: 2 as const, value: 1 }],
    };
    const ask = [PduType.GetRequest, [`${E}.1.1`], 0, 0] as const;
    expect(answerMismatch(msg, 1, Buffer.from('public'), ...ask)).toBeUndefined();
    expect(answerMismatch(msg, 1, Buffer.from('secret'), ...ask)).toBe('another community in the answer');
    expect(answerMismatch(msg, 0, Buffer.from('public'), ...ask)).toMatch(/SNMP version 1 in the answer, 0/);
  });
});
