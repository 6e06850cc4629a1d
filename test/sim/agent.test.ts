/** The protocol engine without sockets: request bytes in, response bytes out, on a fixed clock. */
import { describe, expect, it } from 'vitest';
import { buildDevices, recordingTable, SimulatedAgent } from '../../src/sim/simulator.js';
import { syntheticCounters } from '../../src/sim/synthetic.js';
import { decodeMessage, encodeMessage } from '../../src/snmp/pdu.js';
import type { OutVarbind, SnmpMessage } from '../../src/snmp/pdu.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';

const START = 1_700_000_000_000;
const ELAPSED = 123_456;

const IF_X = '1.3.6.1.2.1.31.1.1.1';
const SYS_NAME = '1.3.6.1.2.1.1.5.0';

function agent(maxMessageSize?: number): SimulatedAgent {
  const recordings = new Map([
    [
      'rec',
      recordingTable(
        [
          '1.3.6.1.2.1.1.5.0|4|recorded',
          '1.3.6.1.2.1.1.3.0|67|42',
          '1.3.6.1.4.1.9.1|70|18446744073709551615',
        ].join('\n'),
        'rec.snmprec',
      ),
    ],
  ]);
  return new SimulatedAgent(buildDevices({ devices: 3, interfaces: 4 }, recordings), {
    startTime: START,
    clock: () => START + ELAPSED,
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
  });
}

interface Request {
  readonly version?: number;
  readonly community?: string;
  readonly pduType: number;
  readonly requestId?: number;
  readonly errorStatus?: number;
  readonly errorIndex?: number;
  readonly oids: readonly string[];
}

function request(r: Request): Buffer {
  const varbinds: OutVarbind[] = r.oids.map((oid) => ({ oid, type: SnmpTag.Null, value: null }));
  return encodeMessage(
    {
      version: r.version ?? 1,
      community: r.community ?? 'sim-00002',
      pduType: r.pduType,
      requestId: r.requestId ?? 4242,
      errorStatus: r.errorStatus ?? 0,
      errorIndex: r.errorIndex ?? 0,
    },
    varbinds,
  );
}

function ask(a: SimulatedAgent, r: Request): SnmpMessage {
  const out = a.respond(request(r));
  if (out === undefined) throw new Error('no response');
  return decodeMessage(out);
}

const get = (oids: readonly string[], extra: Partial<Request> = {}): Request => ({
  pduType: PduType.GetRequest,
  oids,
  ...extra,
});
const next = (oids: readonly string[], extra: Partial<Request> = {}): Request => ({
  pduType: PduType.GetNextRequest,
  oids,
  ...extra,
});
const bulk = (oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Request => ({
  pduType: PduType.GetBulkRequest,
  oids,
  errorStatus: nonRepeaters,
  errorIndex: maxRepetitions,
});

const names = (vbs: readonly Varbind[]): string[] => vbs.map((v) => v.oid);
const text = (v: Varbind | undefined): string => Buffer.from(v?.value as Uint8Array).toString('latin1');

describe('SimulatedAgent: response header', () => {
  it('answers with a Response PDU carrying the request-id, version and community', () => {
    const a = agent();
    for (const version of [0, 1]) {
      const m = ask(a, get([SYS_NAME], { version, requestId: 0x7fffffff }));
      expect(m.version).toBe(version);
      expect(m.pduType).toBe(PduType.Response);
      expect(m.requestId).toBe(0x7fffffff);
      expect(Buffer.from(m.community).toString()).toBe('sim-00002');
      expect(m.errorStatus).toBe(0);
      expect(text(m.varbinds[0])).toBe('sim-00002');
    }
  });
});

describe('SimulatedAgent: v2c', () => {
  it('computes counters and sysUpTime from the clock', () => {
    const m = ask(
      agent(),
      get([`${IF_X}.6.3`, `1.3.6.1.2.1.2.2.1.10.3`, '1.3.6.1.2.1.1.3.0', `${IF_X}.18.3`]),
    );
    const c = syntheticCounters(2, 3, ELAPSED);
    expect(m.varbinds.map((v) => [v.type, v.value])).toEqual([
      [SnmpTag.Counter64, c.ifHCInOctets],
      [SnmpTag.Counter32, Number(c.ifInOctets)],
      [SnmpTag.TimeTicks, 12_345],
      [SnmpTag.OctetString, Buffer.from('uplink-2-3')],
    ]);
  });

  it('answers noSuchInstance beside an existing instance, noSuchObject elsewhere', () => {
    const m = ask(
      agent(),
      get(['1.3.6.1.2.1.1.5.1', '1.3.6.1.2.1.1.9.0', '1.3.6.1.2.1.2.2.1.10.99', '1.3.6.1.2.1.2.2.1.12.1']),
    );
    expect(m.errorStatus).toBe(0);
    expect(m.varbinds.map((v) => [v.oid, v.type])).toEqual([
      ['1.3.6.1.2.1.1.5.1', SnmpTag.NoSuchInstance],
      ['1.3.6.1.2.1.1.9.0', SnmpTag.NoSuchObject],
      ['1.3.6.1.2.1.2.2.1.10.99', SnmpTag.NoSuchInstance],
      ['1.3.6.1.2.1.2.2.1.12.1', SnmpTag.NoSuchObject],
    ]);
  });

  it('GETNEXT finds the next OID from anywhere and ends with endOfMibView', () => {
    const m = ask(
      agent(),
      next(['1.3', '1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.2.2.1.10.99', `${IF_X}.18.4`, '2.1']),
    );
    expect(m.varbinds.map((v) => [v.oid, v.type])).toEqual([
      ['1.3.6.1.2.1.1.1.0', SnmpTag.OctetString],
      ['1.3.6.1.2.1.1.6.0', SnmpTag.OctetString],
      ['1.3.6.1.2.1.2.2.1.11.1', SnmpTag.Counter32],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      ['2.1', SnmpTag.EndOfMibView],
    ]);
  });

  it('GETBULK: non-repeaters first, then the repeaters interleaved row by row', () => {
    const m = ask(agent(), bulk(['1.3.6.1.2.1.1.2.0', '1.3.6.1.2.1.2.2.1.2', `${IF_X}.1`], 1, 3));
    expect(names(m.varbinds)).toEqual([
      '1.3.6.1.2.1.1.3.0',
      '1.3.6.1.2.1.2.2.1.2.1',
      `${IF_X}.1.1`,
      '1.3.6.1.2.1.2.2.1.2.2',
      `${IF_X}.1.2`,
      '1.3.6.1.2.1.2.2.1.2.3',
      `${IF_X}.1.3`,
    ]);
  });

  it('GETBULK: a repeater at the end repeats endOfMibView; stops after a round where all ended', () => {
    const m = ask(agent(), bulk([`${IF_X}.18.3`, `${IF_X}.15.3`], 0, 10));
    expect(m.varbinds.map((v) => [v.oid, v.type])).toEqual([
      [`${IF_X}.18.4`, SnmpTag.OctetString],
      [`${IF_X}.15.4`, SnmpTag.Gauge32],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      [`${IF_X}.18.1`, SnmpTag.OctetString],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      [`${IF_X}.18.2`, SnmpTag.OctetString],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      [`${IF_X}.18.3`, SnmpTag.OctetString],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      [`${IF_X}.18.4`, SnmpTag.OctetString],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
      [`${IF_X}.18.4`, SnmpTag.EndOfMibView],
    ]);
  });

  it('GETBULK: max-repetitions 0 or no repeaters returns only the non-repeaters', () => {
    expect(names(ask(agent(), bulk(['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.2.0'], 1, 0)).varbinds)).toEqual([
      '1.3.6.1.2.1.1.2.0',
    ]);
    expect(names(ask(agent(), bulk(['1.3.6.1.2.1.1.1.0'], 5, 10)).varbinds)).toEqual(['1.3.6.1.2.1.1.2.0']);
  });

  it('GETBULK: shortens the list to fit the maximum message size, and no shorter', () => {
    const full = ask(agent(), bulk(['1.3.6.1.2.1'], 0, 1000));
    expect(full.varbinds).toHaveLength(105);
    for (const max of [484, 485, 500, 537, 600, 1000, 1500, 2000]) {
      const a = agent(max);
      const out = a.respond(request(bulk(['1.3.6.1.2.1'], 0, 1000)));
      if (out === undefined) throw new Error('no response');
      expect(out.length).toBeLessThanOrEqual(max);
      const m = decodeMessage(out);
      expect(m.errorStatus).toBe(0);
      expect(m.varbinds.length).toBeLessThan(full.varbinds.length);
      expect(names(m.varbinds)).toEqual(names(full.varbinds).slice(0, m.varbinds.length));
      // With the next varbind it would not have fitted.
      const longer = encodeMessage(
        { version: 1, community: 'sim-00002', pduType: PduType.Response, requestId: 4242 },
        full.varbinds.slice(0, m.varbinds.length + 1),
      );
      expect(longer.length).toBeGreaterThan(max);
      expect(a.stats().tooBig).toBe(1);
    }
  });

  it('GET/GETNEXT that does not fit: tooBig, error-index 0, no varbinds', () => {
    const oids = Array.from({ length: 40 }, () => '1.3.6.1.2.1.1.1.0');
    const m = ask(agent(484), get(oids));
    expect([m.errorStatus, m.errorIndex, m.varbinds.length]).toEqual([1, 0, 0]);
  });

  it('walks a whole device with GETBULK, every OID once, in order', () => {
    const a = agent();
    const seen: string[] = [];
    let oid = '1.3';
    for (;;) {
      const m = ask(a, bulk([oid], 0, 7));
      const last = m.varbinds.at(-1);
      for (const v of m.varbinds) if (v.type !== SnmpTag.EndOfMibView) seen.push(v.oid);
      if (last === undefined || last.type === SnmpTag.EndOfMibView) break;
      oid = last.oid;
    }
    expect(seen).toHaveLength(7 + 1 + 17 * 4 + 7 * 4);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('SimulatedAgent: v1', () => {
  it('answers noSuchName with the index of the first missing varbind and echoes the request', () => {
    const oids = [SYS_NAME, '1.3.6.1.2.1.1.9.0', '1.3.6.1.2.1.1.5.1'];
    const m = ask(agent(), get(oids, { version: 0 }));
    expect([m.errorStatus, m.errorIndex]).toEqual([2, 2]);
    expect(m.varbinds.map((v) => [v.oid, v.type])).toEqual(oids.map((o) => [o, SnmpTag.Null]));
  });

  it('hides Counter64: GET gives noSuchName, GETNEXT skips to the next non-Counter64 OID', () => {
    const g = ask(agent(), get([`${IF_X}.1.1`, `${IF_X}.6.1`], { version: 0 }));
    expect([g.errorStatus, g.errorIndex]).toEqual([2, 2]);
    const n = ask(agent(), next([`${IF_X}.1.4`, `${IF_X}.6`], { version: 0 }));
    expect(n.errorStatus).toBe(0);
    expect(names(n.varbinds)).toEqual([`${IF_X}.15.1`, `${IF_X}.15.1`]);
  });

  it('answers GETNEXT past the end with noSuchName', () => {
    const m = ask(agent(), next([SYS_NAME, `${IF_X}.18.4`], { version: 0 }));
    expect([m.errorStatus, m.errorIndex]).toEqual([2, 2]);
  });

  it('drops GETBULK (there is none in v1)', () => {
    const a = agent();
    expect(a.respond(request({ ...bulk([SYS_NAME], 0, 5), version: 0 }))).toBeUndefined();
    expect(a.stats().dropped).toBe(1);
  });
});

describe('SimulatedAgent: recordings and drops', () => {
  it('serves a recording, Counter64 included, and hides its Counter64 from v1', () => {
    const a = agent();
    const m = ask(a, next(['1.3.6.1.2.1.1.3.0', '1.3.6.1.4'], { community: 'rec' }));
    expect(m.varbinds.map((v) => [v.oid, v.type, v.value])).toEqual([
      [SYS_NAME, SnmpTag.OctetString, Buffer.from('recorded')],
      ['1.3.6.1.4.1.9.1', SnmpTag.Counter64, 18_446_744_073_709_551_615n],
    ]);
    expect(ask(a, next(['1.3.6.1.2.1.1.5.0'], { community: 'rec', version: 0 })).errorStatus).toBe(2);
  });

  it('drops unknown communities, malformed packets and other PDUs, counting each', () => {
    const a = agent();
    expect(a.respond(request(get([SYS_NAME], { community: 'sim-00004' })))).toBeUndefined();
    expect(a.respond(request(get([SYS_NAME], { community: 'public' })))).toBeUndefined();
    expect(a.respond(Buffer.from([0x30, 0x03, 0x02, 0x01]))).toBeUndefined();
    expect(a.respond(request({ pduType: PduType.SetRequest, oids: [SYS_NAME] }))).toBeUndefined();
    expect(a.respond(request({ pduType: PduType.Response, oids: [SYS_NAME] }))).toBeUndefined();
    expect(a.respond(request(get([SYS_NAME])))).toBeDefined();
    expect(a.stats()).toMatchObject({
      requests: 6,
      responses: 1,
      varbinds: 1,
      unknownCommunity: 2,
      malformed: 1,
      dropped: 2,
    });
  });
});
