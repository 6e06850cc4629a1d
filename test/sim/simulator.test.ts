/**
 * The simulator on a real UDP socket (port 0), queried by the net-snmp npm package and by
 * net-snmp's C tools (snmpget, snmpwalk, snmpbulkwalk from /usr/bin).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import snmp from 'net-snmp';
import type { Varbind as NetSnmpVarbind } from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnmpSimulator } from '../../src/sim/simulator.js';
import { syntheticCounters } from '../../src/sim/synthetic.js';
import { snmpGet } from '../services/snmp-probe.js';

const run = promisify(execFile);

const START = Date.UTC(2024, 0, 1);
/** The fixed simulator's clock stands 3 days, 4 hours and 5.678 s after its start. */
const ELAPSED = ((3 * 24 + 4) * 3600 + 5) * 1000 + 678;
const IF_X = '1.3.6.1.2.1.31.1.1.1';

interface Line {
  readonly oid: string;
  readonly type: string;
  readonly value: string;
}

/**
 * Runs a net-snmp C tool with -On -Oe and parses `.OID = TYPE: value` lines. A walk that reaches
 * the end of the agent's MIB ends with `.OID = No more variables left in this MIB View ...` (v2c)
 * or `End of MIB` (v1, dropped here), as against any agent.
 */
async function tool(name: string, args: readonly string[]): Promise<Line[]> {
  const { stdout } = await run(name, ['-On', '-Oe', ...args], {
    env: { ...process.env, MIBS: '' },
    timeout: 20_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l !== '' && l !== 'End of MIB')
    .map((l) => {
      const m = /^\.([\d.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(l);
      if (m === null) throw new Error(`unexpected output line: ${l}`);
      return { oid: m[1] ?? '', type: m[2] ?? '', value: m[3] ?? '' };
    });
}

function session(port: number, community: string, version: 0 | 1 = snmp.Version2c): snmp.Session {
  return snmp.createSession('127.0.0.1', community, { port, version, timeout: 2_000, retries: 0 });
}

function getNext(s: snmp.Session, oids: string[]): Promise<NetSnmpVarbind[]> {
  return new Promise((resolve, reject) => {
    s.getNext(oids, (error, varbinds) => {
      if (error !== null && error !== undefined)
        reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(varbinds ?? []);
    });
  });
}

/** A Counter64 as net-snmp delivers it: a Buffer of big-endian bytes. */
function counter64(value: unknown): bigint {
  if (!Buffer.isBuffer(value)) throw new Error(`expected a Buffer, got ${typeof value}`);
  return value.length === 0 ? 0n : BigInt(`0x${value.toString('hex')}`);
}

/** Every OID of a synthetic device with `m` interfaces, in walk order. */
function expectedOids(m: number): string[] {
  const out: string[] = [];
  for (let c = 1; c <= 7; c++) out.push(`1.3.6.1.2.1.1.${c}.0`);
  out.push('1.3.6.1.2.1.2.1.0');
  for (const c of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 16, 17, 19, 20]) {
    for (let i = 1; i <= m; i++) out.push(`1.3.6.1.2.1.2.2.1.${c}.${i}`);
  }
  for (const c of [1, 6, 7, 10, 11, 15, 18]) for (let i = 1; i <= m; i++) out.push(`${IF_X}.${c}.${i}`);
  return out;
}

let fixed: SnmpSimulator;
let live: SnmpSimulator;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'panoptes-sim-'));
  await writeFile(
    join(dataDir, 'lab-router.snmprec'),
    [
      '# a recorded device',
      '1.3.6.1.2.1.1.1.0|4|Recorded router',
      '1.3.6.1.2.1.1.5.0|4|lab-router',
      '1.3.6.1.2.1.2.2.1.6.1|4x|001122334455',
      '1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1',
      '1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615',
      '',
    ].join('\n'),
  );
  fixed = await SnmpSimulator.start({
    port: 0,
    synthetic: { devices: 3, interfaces: 4 },
    dataDir,
    startTime: START,
    clock: () => START + ELAPSED,
  });
  live = await SnmpSimulator.start({ synthetic: { devices: 2, interfaces: 4 } });
});

afterAll(async () => {
  await fixed.close();
  await live.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('SnmpSimulator with net-snmp C tools', () => {
  it('snmpbulkwalk of 1.3.6.1.2.1 returns every expected OID in order and ends cleanly', async () => {
    const lines = await tool('snmpbulkwalk', [
      '-v2c',
      '-c',
      'sim-00001',
      `127.0.0.1:${fixed.port}`,
      '1.3.6.1.2.1',
    ]);
    const last = lines.at(-1);
    // The device has nothing after ifXTable: net-snmp prints the endOfMibView and exits 0.
    expect(last?.value).toMatch(/No more variables left in this MIB View/);
    expect(lines.slice(0, -1).map((l) => l.oid)).toEqual(expectedOids(4));
    const byOid = new Map(lines.slice(0, -1).map((l) => [l.oid, l]));
    expect(byOid.get('1.3.6.1.2.1.1.5.0')).toEqual({
      oid: '1.3.6.1.2.1.1.5.0',
      type: 'STRING',
      value: '"sim-00001"',
    });
    expect(byOid.get('1.3.6.1.2.1.1.2.0')?.value).toBe('.1.3.6.1.4.1.8072.3.2.10');
    expect(byOid.get('1.3.6.1.2.1.1.3.0')?.value).toMatch(new RegExp(`^\\(${Math.floor(ELAPSED / 10)}\\) `));
    expect(byOid.get('1.3.6.1.2.1.2.2.1.8.4')?.value).toBe('1');
    expect(byOid.get('1.3.6.1.2.1.2.2.1.6.2')).toMatchObject({
      type: 'Hex-STRING',
      value: '02 00 00 01 00 02 ',
    });
    expect(byOid.get(`${IF_X}.18.4`)?.value).toBe('"uplink-1-4"');
  });

  it('snmpget of sysName', async () => {
    const lines = await tool('snmpget', [
      '-v2c',
      '-c',
      'sim-00003',
      `127.0.0.1:${fixed.port}`,
      '1.3.6.1.2.1.1.5.0',
    ]);
    expect(lines).toEqual([{ oid: '1.3.6.1.2.1.1.5.0', type: 'STRING', value: '"sim-00003"' }]);
  });

  it('Counter64 values beyond 2^53 come through exactly', async () => {
    const lines = await tool('snmpget', [
      '-v2c',
      '-c',
      'sim-00003',
      `127.0.0.1:${fixed.port}`,
      `${IF_X}.6.4`,
      `${IF_X}.10.4`,
      '1.3.6.1.2.1.2.2.1.10.4',
    ]);
    const c = syntheticCounters(3, 4, ELAPSED);
    expect(c.ifHCInOctets).toBeGreaterThan(2n ** 53n);
    expect(lines.map((l) => `${l.type} ${l.value}`)).toEqual([
      `Counter64 ${c.ifHCInOctets}`,
      `Counter64 ${c.ifHCOutOctets}`,
      `Counter32 ${c.ifInOctets}`,
    ]);
  });

  it('snmpwalk -v1 skips the Counter64 columns', async () => {
    const lines = await tool('snmpwalk', ['-v1', '-c', 'sim-00001', `127.0.0.1:${fixed.port}`, IF_X]);
    const columns = [...new Set(lines.map((l) => l.oid.split('.').at(-2)))];
    expect(columns).toEqual(['1', '15', '18']);
    expect(lines.some((l) => l.type === 'Counter64')).toBe(false);
  });

  it('an unknown community gets no answer: snmpget times out', async () => {
    const failed = run(
      'snmpget',
      ['-v2c', '-t', '0.3', '-r', '0', '-c', 'sim-00004', `127.0.0.1:${fixed.port}`, '1.3.6.1.2.1.1.5.0'],
      {
        env: { ...process.env, MIBS: '' },
      },
    );
    await expect(failed).rejects.toMatchObject({
      stderr: expect.stringMatching(/Timeout: No Response/) as unknown,
    });
  });

  it('serves a .snmprec recording (community = file name)', async () => {
    const lines = await tool('snmpwalk', ['-v2c', '-c', 'lab-router', `127.0.0.1:${fixed.port}`, '1.3.6.1']);
    expect(lines.map((l) => [l.oid, l.type, l.value])).toEqual([
      ['1.3.6.1.2.1.1.1.0', 'STRING', '"Recorded router"'],
      ['1.3.6.1.2.1.1.5.0', 'STRING', '"lab-router"'],
      ['1.3.6.1.2.1.2.2.1.6.1', 'Hex-STRING', '00 11 22 33 44 55 '],
      ['1.3.6.1.2.1.4.20.1.1.10.0.0.1', 'IpAddress', '10.0.0.1'],
      [`${IF_X}.6.1`, 'Counter64', '18446744073709551615'],
      [`${IF_X}.6.1`, '', 'No more variables left in this MIB View (It is past the end of the MIB tree)'],
    ]);
    expect(fixed.recordings).toBe(1);
  });
});

describe('SnmpSimulator with the net-snmp package', () => {
  it('GET of sysName and an exact Counter64 (a Buffer of big-endian bytes)', async () => {
    const vbs = await snmpGet('127.0.0.1', fixed.port, 'sim-00002', [
      '1.3.6.1.2.1.1.5.0',
      `${IF_X}.6.3`,
      `${IF_X}.7.3`,
    ]);
    expect(vbs.map((v) => v.type)).toEqual([
      snmp.ObjectType.OctetString,
      snmp.ObjectType.Counter64,
      snmp.ObjectType.Counter64,
    ]);
    expect(String(vbs[0]?.value)).toBe('sim-00002');
    const c = syntheticCounters(2, 3, ELAPSED);
    expect(counter64(vbs[1]?.value)).toBe(c.ifHCInOctets);
    expect(counter64(vbs[2]?.value)).toBe(c.ifHCInUcastPkts);
  });

  it('v1 GETNEXT skips Counter64', async () => {
    const s = session(fixed.port, 'sim-00001', snmp.Version1);
    try {
      const vbs = await getNext(s, [`${IF_X}.1.4`, `${IF_X}.11`]);
      expect(vbs.map((v) => [v.oid, v.type])).toEqual([
        [`${IF_X}.15.1`, snmp.ObjectType.Gauge32],
        [`${IF_X}.15.1`, snmp.ObjectType.Gauge32],
      ]);
    } finally {
      s.close();
    }
  });

  it('an unknown community gets no answer: the request times out', async () => {
    await expect(snmpGet('127.0.0.1', fixed.port, 'sim-00099', ['1.3.6.1.2.1.1.5.0'], 300)).rejects.toThrow(
      /timed out/i,
    );
    expect(fixed.stats().unknownCommunity).toBeGreaterThanOrEqual(1);
  });

  it('ifHCInOctets.3 on sim-00002 advances at 1000*2*3 octets/s in real time', async () => {
    const sample = async (): Promise<{ at: number; value: bigint }> => {
      const before = Date.now();
      const t0 = performance.now();
      const [vb] = await snmpGet('127.0.0.1', live.port, 'sim-00002', [`${IF_X}.6.3`]);
      const t1 = performance.now();
      const after = Date.now();
      const value = counter64(vb?.value);
      // The value lies between what the model gives for the moments around the request.
      expect(value).toBeGreaterThanOrEqual(syntheticCounters(2, 3, before - live.startTime).ifHCInOctets);
      expect(value).toBeLessThanOrEqual(syntheticCounters(2, 3, after - live.startTime).ifHCInOctets);
      return { at: (t0 + t1) / 2, value };
    };
    const first = await sample();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const second = await sample();
    const rate = Number(second.value - first.value) / ((second.at - first.at) / 1000);
    // The bounds above pin each value to the model at the request's own moments; the rate over
    // one second only shows it advances in real time (3 test files run at once in npm test: a
    // request's midpoint can be tens of ms off when it was answered).
    expect(Math.abs(rate - 6000) / 6000).toBeLessThan(0.05);
  });
});
