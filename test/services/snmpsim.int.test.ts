import snmp from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snmpGet } from './snmp-probe.js';
import { startSnmpsim } from './snmpsim.js';
import type { SnmpsimService } from './snmpsim.js';

const RECORDING = [
  '1.3.6.1.2.1.1.1.0|4|Panoptes test switch',
  '1.3.6.1.2.1.1.3.0|67|123456',
  '1.3.6.1.2.1.1.5.0|4|switch-01',
  '1.3.6.1.2.1.2.2.1.2.1|4|GigabitEthernet0/1',
  '1.3.6.1.2.1.2.2.1.10.1|65|4294967295',
  '1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615',
].join('\n');

/** net-snmp hands Counter64 values over as big-endian bytes. */
function counter64(value: unknown): bigint {
  if (!Buffer.isBuffer(value)) throw new Error(`expected a Buffer, got ${typeof value}`);
  return value.length === 0 ? 0n : BigInt(`0x${value.toString('hex')}`);
}

describe('snmpsimd test service (serves .snmprec recordings)', () => {
  let sim: SnmpsimService;

  beforeAll(async () => {
    sim = await startSnmpsim({
      recordings: { 'switch-01': RECORDING, other: '1.3.6.1.2.1.1.5.0|4|other-device' },
    });
  });

  afterAll(async () => {
    await sim.stop();
  });

  it('serves the values of a recording, selected by community', async () => {
    const vbs = await snmpGet(sim.host, sim.port, 'switch-01', [
      '1.3.6.1.2.1.1.5.0',
      '1.3.6.1.2.1.2.2.1.10.1',
      '1.3.6.1.2.1.31.1.1.1.6.1',
    ]);
    expect(String(vbs[0]?.value)).toBe('switch-01');
    expect(vbs[1]?.type).toBe(snmp.ObjectType.Counter32);
    expect(vbs[1]?.value).toBe(4294967295);
    expect(vbs[2]?.type).toBe(snmp.ObjectType.Counter64);
    expect(counter64(vbs[2]?.value)).toBe(18446744073709551615n);
  });

  it('serves a second recording under its own community', async () => {
    const vbs = await snmpGet(sim.host, sim.port, 'other', ['1.3.6.1.2.1.1.5.0']);
    expect(String(vbs[0]?.value)).toBe('other-device');
  });
});
