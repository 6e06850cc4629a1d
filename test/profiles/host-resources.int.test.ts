/**
 * The host-resources profile's `disk` groups against net-snmp's own `snmpdf`, on the Linux host
 * walk (test/fixtures/panoptes/linux-full-walk.snmprec) served by snmpsimd. Panoptes has no result
 * for a host, so snmpdf is the independent reference: it reads the same hrStorageTable and
 * prints each row's size and used space in kB (hrStorageSize/Used x hrStorageAllocationUnits / 1024).
 *
 * The Debian snmp package has no MIB files, and snmpdf finds hrStorageTable by name: a stub
 * HOST-RESOURCES-MIB that defines only that table is written for it.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsGroup } from '../../src/model/index.js';
import { makeTempDir, requireBinary } from '../services/managed-process.js';
import { startSnmpsim } from '../services/snmpsim.js';
import type { SnmpsimService } from '../services/snmpsim.js';
import { FIXTURES, pollRecording } from '../support/profile-harness.js';

const run = promisify(execFile);

const COMMUNITY = 'linux-full-walk';

/** Just hrStorageTable (RFC 2790), enough for snmpdf to resolve the names it asks for. */
const STUB_MIB = `HOST-RESOURCES-MIB DEFINITIONS ::= BEGIN
host OBJECT IDENTIFIER ::= { iso 3 6 1 2 1 25 }
hrStorage OBJECT IDENTIFIER ::= { host 2 }
hrStorageTable OBJECT-TYPE
    SYNTAX SEQUENCE OF HrStorageEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "stub"
    ::= { hrStorage 3 }
hrStorageEntry OBJECT-TYPE
    SYNTAX HrStorageEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "stub"
    INDEX { hrStorageIndex }
    ::= { hrStorageTable 1 }
HrStorageEntry ::= SEQUENCE {
    hrStorageIndex INTEGER,
    hrStorageType OBJECT IDENTIFIER,
    hrStorageDescr OCTET STRING,
    hrStorageAllocationUnits INTEGER,
    hrStorageSize INTEGER,
    hrStorageUsed INTEGER,
    hrStorageAllocationFailures Counter32
}
${[
  ['hrStorageIndex', 'INTEGER', 1],
  ['hrStorageType', 'OBJECT IDENTIFIER', 2],
  ['hrStorageDescr', 'OCTET STRING', 3],
  ['hrStorageAllocationUnits', 'INTEGER', 4],
  ['hrStorageSize', 'INTEGER', 5],
  ['hrStorageUsed', 'INTEGER', 6],
  ['hrStorageAllocationFailures', 'Counter32', 7],
]
  .map(
    ([name, syntax, n]) =>
      `${name} OBJECT-TYPE SYNTAX ${syntax} MAX-ACCESS read-only STATUS current DESCRIPTION "stub" ::= { hrStorageEntry ${n} }`,
  )
  .join('\n')}
END
`;

interface DfRow {
  readonly sizeKb: number;
  readonly usedKb: number;
}

/** snmpdf's table: `Description  Size (kB)  Used  Available  Used%`, descriptions may have blanks. */
function parseSnmpdf(text: string): Map<string, DfRow> {
  const rows = new Map<string, DfRow>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.*?)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(-?\d+)%\s*$/.exec(line);
    if (m === null) continue;
    rows.set(m[1] as string, { sizeKb: Number(m[2]), usedKb: Number(m[3]) });
  }
  return rows;
}

describe('host-resources disk groups = snmpdf (net-snmp) on the Linux host walk', () => {
  let sim: SnmpsimService | undefined;
  let mibDir: string | undefined;
  let df: Map<string, DfRow>;
  let disks: Map<string, MetricsGroup>;

  beforeAll(async () => {
    const snmpdf = requireBinary('snmpdf', 'snmp');
    const recording = await readFile(join(FIXTURES, 'linux-full-walk.snmprec'), 'utf8');
    sim = await startSnmpsim({ recordings: { [COMMUNITY]: recording } });
    mibDir = await makeTempDir('host-mib');
    await writeFile(join(mibDir, 'HOST-RESOURCES-MIB.txt'), STUB_MIB);
    const { stdout } = await run(
      snmpdf,
      ['-v2c', '-c', COMMUNITY, '-t', '5', '-r', '1', `${sim.host}:${sim.port}`],
      {
        env: { ...process.env, MIBDIRS: mibDir, MIBS: 'HOST-RESOURCES-MIB', SNMPCONFPATH: mibDir },
      },
    );
    df = parseSnmpdf(stdout);

    const groups = await pollRecording('linux-full-walk.snmprec', {
      profiles: ['host-resources'],
      resource: { resource_class: 'system', resource_subclass: 'host' },
    });
    disks = new Map();
    for (const g of groups) {
      if (g.metrics_group_type !== 'disk') continue;
      const d = g.dimensions.find((x) => x.dimension_name === 'storage_description');
      if (d !== undefined) disks.set(d.dimension_value, g);
    }
  });

  afterAll(async () => {
    await sim?.stop();
    if (mibDir !== undefined) await rm(mibDir, { recursive: true, force: true });
  });

  it('snmpdf lists the storage rows', () => {
    expect(df.size).toBe(8);
  });

  it('has one disk group per snmpdf row, and no other', () => {
    expect([...disks.keys()].sort()).toEqual([...df.keys()].sort());
  });

  it('reports the sizes and used space snmpdf reports (bytes / 1024 = kB)', () => {
    const mismatches: string[] = [];
    for (const [descr, row] of df) {
      const g = disks.get(descr);
      const value = (name: string): number =>
        Number(g?.metrics.find((m) => m.metric_name === name)?.metric_value ?? Number.NaN);
      const size = value('storage_total_bytes') / 1024;
      const used = value('storage_used_bytes') / 1024;
      // snmpdf divides in integers: allow its truncation.
      if (!(Math.abs(size - row.sizeKb) < 1) || !(Math.abs(used - row.usedKb) < 1)) {
        mismatches.push(`${descr}: ours ${size}/${used} kB, snmpdf ${row.sizeKb}/${row.usedKb} kB`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
