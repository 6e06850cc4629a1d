import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deviceNumberFromCommunity,
  Kind,
  syntheticCommunity,
  syntheticCounters,
  syntheticMac,
  syntheticOperStatus,
  syntheticSysUpTime,
  syntheticTable,
  SYNTHETIC_START,
  writeSyntheticValue,
  SYNTHETIC_HEALTH,
} from '../../src/sim/synthetic.js';
import type { SyntheticCounters } from '../../src/sim/synthetic.js';
import { BerReader, BerWriter } from '../../src/snmp/ber.js';
import { compareOids } from '../../src/snmp/oid.js';
import { SnmpTag } from '../../src/snmp/types.js';

const TWO_60 = 1_152_921_504_606_846_976n;
const TWO_32 = 4_294_967_296n;

describe('synthetic device names', () => {
  it('pads the device number to five digits and parses it back', () => {
    expect(syntheticCommunity(1)).toBe('sim-00001');
    expect(syntheticCommunity(42)).toBe('sim-00042');
    expect(syntheticCommunity(99_999)).toBe('sim-99999');
    expect(deviceNumberFromCommunity('sim-00042')).toBe(42);
    expect(deviceNumberFromCommunity('sim-99999')).toBe(99_999);
  });

  it('rejects communities of another form or out of range', () => {
    for (const c of ['sim-00000', 'sim-0042', 'sim-000042', 'sim-0004x', 'SIM-00042', 'public', '']) {
      expect(deviceNumberFromCommunity(c)).toBeUndefined();
    }
    expect(deviceNumberFromCommunity('sim-00011', 10)).toBeUndefined();
    expect(deviceNumberFromCommunity('sim-00010', 10)).toBe(10);
  });

  it('derives a locally administered MAC from device and ifIndex', () => {
    expect([...syntheticMac(0x012345, 0x0607)]).toEqual([0x02, 0x01, 0x23, 0x45, 0x06, 0x07]);
  });
});

describe('syntheticCounters', () => {
  it('starts at 2^60 + d*i octets and d*i packets', () => {
    const c = syntheticCounters(2, 3, 0);
    expect(c.ifHCInOctets).toBe(TWO_60 + 6n);
    expect(c.ifHCOutOctets).toBe(TWO_60 + 6n);
    expect(c.ifHCInUcastPkts).toBe(6n);
    expect(c.ifHCOutUcastPkts).toBe(6n);
    expect(c.ifInOctets).toBe(6n);
    expect(c.ifInErrors).toBe(0n);
  });

  it('gives exact values 1.5 s after the start (d=2, i=3)', () => {
    const c = syntheticCounters(2, 3, 1500);
    expect(c.ifHCInOctets).toBe(1_152_921_504_606_855_982n); // 2^60 + 6 + 9000
    expect(c.ifHCOutOctets).toBe(1_152_921_504_606_851_482n); // 2^60 + 6 + 4500
    expect(c.ifHCInUcastPkts).toBe(96n); // 6 + 90
    expect(c.ifHCOutUcastPkts).toBe(51n); // 6 + 45
    expect(c.ifInUcastPkts).toBe(96n);
    expect(c.ifOutUcastPkts).toBe(51n);
  });

  it('advances at exactly 1000*d*i octets/s in and 500*d*i out, without float drift', () => {
    const d = 99_999;
    const i = 65_535;
    const t = 30 * 86_400_000 + 7; // 30 days and 7 ms: the products are far beyond 2^53
    const di = BigInt(d * i);
    const c = syntheticCounters(d, i, t);
    expect(c.ifHCInOctets).toBe(TWO_60 + di + di * BigInt(t));
    expect(c.ifHCOutOctets).toBe(TWO_60 + di + (di * BigInt(t)) / 2n);
    expect(c.ifHCInUcastPkts).toBe(di + (10n * di * BigInt(t)) / 1000n);
    const later = syntheticCounters(d, i, t + 1000);
    expect(later.ifHCInOctets - c.ifHCInOctets).toBe(1000n * di);
    expect(later.ifHCOutOctets - c.ifHCOutOctets).toBe(500n * di);
    expect(later.ifHCInUcastPkts - c.ifHCInUcastPkts).toBe(10n * di);
    expect(later.ifHCOutUcastPkts - c.ifHCOutUcastPkts).toBe(5n * di);
  });

  it('floors partial seconds: 1 ms of 5 packets/s adds nothing, 200 ms adds one', () => {
    expect(syntheticCounters(1, 1, 199).ifHCOutUcastPkts).toBe(1n);
    expect(syntheticCounters(1, 1, 200).ifHCOutUcastPkts).toBe(2n);
  });

  it('keeps the 32-bit counters as the 64-bit value mod 2^32, so they wrap', () => {
    // d=100, i=24: 2.4 MB/s; ifInOctets passes 2^32 between 1789 s and 1790 s.
    const before = syntheticCounters(100, 24, 1_789_000);
    const after = syntheticCounters(100, 24, 1_790_000);
    expect(before.ifInOctets).toBe(2400n + 2400n * 1_789_000n);
    expect(after.ifInOctets).toBe((2400n + 2400n * 1_790_000n) % TWO_32);
    expect(after.ifInOctets).toBe(1_035_104n);
    expect(after.ifInOctets < before.ifInOctets).toBe(true);
    for (const c of [before, after]) {
      expect(c.ifInOctets).toBe(c.ifHCInOctets % TWO_32);
      expect(c.ifOutOctets).toBe(c.ifHCOutOctets % TWO_32);
      expect(c.ifInUcastPkts).toBe(c.ifHCInUcastPkts % TWO_32);
    }
  });

  it('has every 7th interface oper-down, counting errors and discards at 1/s only there', () => {
    const down = [1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 21, 22].filter((i) => syntheticOperStatus(i) === 2);
    expect(down).toEqual([7, 14, 21]);
    expect(SYNTHETIC_START.DOWN_EVERY).toBe(7);
    const onDown = syntheticCounters(3, 14, 5_999);
    expect([onDown.ifInErrors, onDown.ifInDiscards, onDown.ifOutErrors, onDown.ifOutDiscards]).toEqual([
      5n,
      5n,
      5n,
      5n,
    ]);
    const onUp = syntheticCounters(3, 13, 5_999);
    expect([onUp.ifInErrors, onUp.ifInDiscards, onUp.ifOutErrors, onUp.ifOutDiscards]).toEqual([
      0n,
      0n,
      0n,
      0n,
    ]);
  });

  it('counts sysUpTime in hundredths of a second', () => {
    expect(syntheticSysUpTime(0)).toBe(0);
    expect(syntheticSysUpTime(12_345)).toBe(1234);
    expect(syntheticSysUpTime(2 ** 32 * 10 + 50)).toBe(5);
  });
});

/** Decodes a value TLV written by writeSyntheticValue. */
function decodeValue(w: BerWriter): { tag: number; value: bigint } {
  const r = new BerReader(w.result());
  const start = r.pos;
  const { tag, length } = r.header();
  const value =
    tag === SnmpTag.Counter64
      ? r.unsigned64Content(length, start)
      : BigInt(r.unsigned32Content(length, start));
  expect(r.remaining).toBe(0);
  return { tag, value };
}

const COUNTER_KINDS: readonly [number, keyof SyntheticCounters, number][] = [
  [Kind.HCInOctets, 'ifHCInOctets', SnmpTag.Counter64],
  [Kind.HCOutOctets, 'ifHCOutOctets', SnmpTag.Counter64],
  [Kind.HCInUcastPkts, 'ifHCInUcastPkts', SnmpTag.Counter64],
  [Kind.HCOutUcastPkts, 'ifHCOutUcastPkts', SnmpTag.Counter64],
  [Kind.InOctets, 'ifInOctets', SnmpTag.Counter32],
  [Kind.OutOctets, 'ifOutOctets', SnmpTag.Counter32],
  [Kind.InUcastPkts, 'ifInUcastPkts', SnmpTag.Counter32],
  [Kind.OutUcastPkts, 'ifOutUcastPkts', SnmpTag.Counter32],
  [Kind.InErrors, 'ifInErrors', SnmpTag.Counter32],
  [Kind.InDiscards, 'ifInDiscards', SnmpTag.Counter32],
  [Kind.OutErrors, 'ifOutErrors', SnmpTag.Counter32],
  [Kind.OutDiscards, 'ifOutDiscards', SnmpTag.Counter32],
];

describe('writeSyntheticValue (the fast path) agrees with syntheticCounters', () => {
  it('for any device, interface and elapsed time up to ~35 years', () => {
    const w = new BerWriter(64);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99_999 }),
        fc.integer({ min: 1, max: 65_535 }),
        fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 2 ** 40 })),
        (d, i, t) => {
          const expected = syntheticCounters(d, i, t);
          for (const [kind, name, tag] of COUNTER_KINDS) {
            w.reset();
            writeSyntheticValue(w, kind, d, i, t);
            expect(decodeValue(w)).toEqual({ tag, value: expected[name] });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('syntheticTable', () => {
  it('lists the system group, ifNumber, ifTable and ifXTable in OID order', () => {
    const t = syntheticTable(4);
    expect(t.size).toBe(7 + 1 + 17 * 4 + 7 * 4);
    for (let k = 1; k < t.size; k++)
      expect(compareOids(t.oids[k - 1] ?? '', t.oids[k] ?? '')).toBeLessThan(0);
    expect(t.oids[0]).toBe('1.3.6.1.2.1.1.1.0');
    expect(t.oids[8]).toBe('1.3.6.1.2.1.2.2.1.1.1');
    expect(t.oids.at(-1)).toBe('1.3.6.1.2.1.31.1.1.1.18.4');
    expect(t.oids.filter((_, k) => t.counter64[k] === 1)).toHaveLength(16);
  });

  it('with the health set: HOST-RESOURCES between ifTable and ifXTable, UCD-SNMP and LM-SENSORS last', () => {
    const t = syntheticTable(4, true);
    expect(t.size).toBe(7 + 1 + 17 * 4 + 7 * 4 + SYNTHETIC_HEALTH.length);
    for (let k = 1; k < t.size; k++)
      expect(compareOids(t.oids[k - 1] ?? '', t.oids[k] ?? '')).toBeLessThan(0);
    expect(t.oids[7 + 1 + 17 * 4]).toBe('1.3.6.1.2.1.25.2.3.1.1.1');
    expect(t.oids.at(-1)).toBe('1.3.6.1.4.1.2021.13.16.2.1.3.2');
  });

  it('lets SNMPv1 skip from ifName to ifHighSpeed past the Counter64 columns', () => {
    const t = syntheticTable(4);
    const after = t.index.get('1.3.6.1.2.1.31.1.1.1.1.4') ?? -1;
    expect(t.oids[t.nextV1[after + 1] ?? -1]).toBe('1.3.6.1.2.1.31.1.1.1.15.1');
  });
});
