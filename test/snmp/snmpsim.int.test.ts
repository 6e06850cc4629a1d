/**
 * The SNMP engine and `panoptes snmp` against snmpsimd serving recordings written here: a switch
 * with the system group, ifTable, ipAddrTable, ifXTable for 30 sparse interface indexes and every
 * value type. A walk of the whole recording must print it back line for line.
 *
 * The only normalisation: the recording spells a few OctetStrings/Opaques another valid way (hex
 * of printable text, Opaque as text); canonical() rewrites exactly those to the form the CLI
 * prints (printable ASCII as text, anything else as 4x lowercase hex, Opaque as 68x). OIDs, tags
 * and all numbers are compared as written.
 *
 * What snmpsim 0.4.5 (pysnmp 4.4.12) does with SNMPv1 and Counter64: it answers a v1 GETNEXT or
 * GET that lands on a Counter64 with genErr (RFC 3584 4.2.2.1 would skip the Counter64 and go
 * on to the next object), so a v1 walk across an HC counter fails with SNMP_ERROR_STATUS, while
 * v1 walks of subtrees without Counter64 work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSnmp } from '../../src/cli/commands/snmp.js';
import type { SnmpCliOptions } from '../../src/cli/args.js';
import { SnmpEngine } from '../../src/snmp/engine.js';
import { isUnder } from '../../src/snmp/oid.js';
import type { SnmpSessionOptions } from '../../src/snmp/session.js';
import { formatSnmprec, parseSnmprecLine } from '../../src/snmp/snmprec.js';
import type { Varbind } from '../../src/snmp/types.js';
import { startSnmpsim } from '../services/snmpsim.js';
import type { SnmpsimService } from '../services/snmpsim.js';
import { startUdpProxy } from '../support/udp-proxy.js';
import {
  IF_ALIAS,
  IF_DESCR,
  IF_ENTRY,
  IF_HC_IN_OCTETS,
  IF_TABLE,
  IF_X_ENTRY,
  canonical,
  deviceRecording,
  oidOf,
} from './device-recording.js';
import { normaliseValue } from './arbitraries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const WORKER = join(ROOT, 'dist', 'src', 'snmp', 'decode-worker.js');

const DEVICE = deviceRecording({ nonCanonical: true });
const EXPECTED = DEVICE.map(canonical);
const SMALL = deviceRecording({ indexes: [1, 2, 10, 100] });

/** ifIndex (.1) and ifInOctets (.10), .11: a text prefix test would put .10 under .1. */
const ARCS = [
  '1.3.6.1.2.1.1.1.0|4|arc test',
  `${IF_ENTRY}.1.1|2|1`,
  `${IF_ENTRY}.1.2|2|2`,
  `${IF_ENTRY}.1.10|2|10`,
  `${IF_ENTRY}.10.1|65|11`,
  `${IF_ENTRY}.10.2|65|12`,
  `${IF_ENTRY}.10.3|65|13`,
  `${IF_ENTRY}.10.4|65|14`,
  `${IF_ENTRY}.10.10|65|110`,
  `${IF_ENTRY}.10.11|65|111`,
  `${IF_ENTRY}.11.1|65|21`,
  `${IF_ENTRY}.100.1|2|100`,
];

let sim: SnmpsimService;
let target: string;

beforeAll(async () => {
  if (!existsSync(WORKER) || !existsSync(CLI)) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 120_000,
    });
  }
  sim = await startSnmpsim({
    recordings: { device: DEVICE.join('\n'), small: SMALL.join('\n'), arcs: ARCS.join('\n') },
  });
  target = `127.0.0.1:${sim.port}`;
});

afterAll(async () => {
  await sim.stop();
});

interface Captured {
  readonly status: number;
  readonly out: string[];
  readonly err: string;
}

const CLI_DEFAULTS: SnmpCliOptions = {
  community: 'device',
  snmpVersion: '2c',
  maxRepetitions: 25,
  timeout: 2000,
  retries: 1,
  decodeWorkers: 0,
};

async function snmp(
  operation: 'get' | 'walk',
  oids: readonly string[],
  options: Partial<SnmpCliOptions> = {},
  to = target,
): Promise<Captured> {
  let out = '';
  let err = '';
  const status = await runSnmp(
    operation,
    to,
    oids,
    { ...CLI_DEFAULTS, ...options },
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
  );
  return { status, out: out === '' ? [] : out.replace(/\n$/, '').split('\n'), err };
}

function under(lines: readonly string[], root: string): string[] {
  return lines.filter((l) => isUnder(root, oidOf(l)));
}

function sessionOptions(community: string, extra: Partial<SnmpSessionOptions> = {}): SnmpSessionOptions {
  return { host: '127.0.0.1', port: sim.port, community, timeoutMs: 2000, retries: 1, ...extra };
}

function lines(varbinds: readonly Varbind[]): (string | undefined)[] {
  return varbinds.map(formatSnmprec);
}

describe('the recording', () => {
  it('is a realistic switch: 30 interfaces, every tag, Counter64 beyond 2^53', () => {
    expect(DEVICE.length).toBeGreaterThan(1200);
    expect(under(DEVICE, `${IF_ENTRY}.1`)).toHaveLength(30);
    expect(under(DEVICE, IF_HC_IN_OCTETS)).toHaveLength(30);
    const tags = new Set(DEVICE.map((l) => l.split('|')[1]));
    for (const tag of ['2', '4', '4x', '5', '6', '64', '65', '66', '67', '68', '68x', '70']) {
      expect(tags, `tag ${tag}`).toContain(tag);
    }
    expect(DEVICE).toContain(`${IF_HC_IN_OCTETS}.1|70|18446744073709551615`);
    expect(DEVICE).toContain(`${IF_HC_IN_OCTETS}.2|70|9007199254740993`);
  });

  it('reads back through our snmprec parser and formatter as its canonical lines', () => {
    const back = DEVICE.map((l, i) => formatSnmprec(parseSnmprecLine(l, 'device', i + 1)));
    expect(back).toEqual(EXPECTED);
  });
});

describe('panoptes snmp walk (v2c) reproduces the recording', () => {
  it('walks the whole recording from 1.3.6 line for line', async () => {
    const r = await snmp('walk', ['1.3.6']);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toHaveLength(EXPECTED.length);
    expect(r.out).toEqual(EXPECTED);
  });

  it.each([7, 1000])('gives the same lines with --max-repetitions %i', async (maxRepetitions) => {
    const r = await snmp('walk', ['.1.3.6'], { maxRepetitions });
    expect(r.status).toBe(0);
    expect(r.out).toEqual(EXPECTED);
  });

  it('walks several roots in order, each ending exactly at its subtree', async () => {
    const roots = ['1.3.6.1.2.1.1', IF_DESCR, IF_ALIAS, '1.3.6.1.4.1.99999'];
    const r = await snmp('walk', roots);
    expect(r.status).toBe(0);
    expect(r.out).toEqual(roots.flatMap((root) => under(EXPECTED, root)));
  });

  it('walking an instance prints that instance; an empty subtree prints nothing', async () => {
    const leaf = await snmp('walk', ['1.3.6.1.2.1.1.5.0']);
    expect(leaf.status).toBe(0);
    expect(leaf.out).toEqual(['1.3.6.1.2.1.1.5.0|4|sim-switch-01.example.net']);
    const empty = await snmp('walk', ['1.3.6.1.2.1.99']);
    expect(empty.status).toBe(0);
    expect(empty.out).toEqual([]);
  });

  it('the built command line prints the same lines', () => {
    const roots = ['1.3.6.1.2.1.1', IF_HC_IN_OCTETS];
    const r = spawnSync(process.execPath, [CLI, 'snmp', 'walk', target, ...roots, '-c', 'device'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${roots.flatMap((root) => under(EXPECTED, root)).join('\n')}\n`);
  });

  it('GET prints values, and exceptions on stderr with exit 0', async () => {
    const r = await snmp('get', [
      '1.3.6.1.2.1.1.5.0',
      `${IF_HC_IN_OCTETS}.1`,
      '1.3.6.1.2.1.1.5.1',
      `${IF_X_ENTRY}.18.2`,
    ]);
    expect(r.status).toBe(0);
    expect(r.out).toEqual([
      '1.3.6.1.2.1.1.5.0|4|sim-switch-01.example.net',
      `${IF_HC_IN_OCTETS}.1|70|18446744073709551615`,
      `${IF_X_ENTRY}.18.2|4x|${Buffer.from('café – bureau 2').toString('hex')}`,
    ]);
    expect(r.err).toMatch(/^1\.3\.6\.1\.2\.1\.1\.5\.1: nosuch(instance|object)\n$/i);
  });

  it('a wrong community times out with exit 1', async () => {
    const r = await snmp('get', ['1.3.6.1.2.1.1.5.0'], { community: 'nobody', timeout: 200, retries: 0 });
    expect(r.status).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toMatch(/SNMP_TIMEOUT/);
  });
});

describe('SNMPv1 (GETNEXT walks)', () => {
  const small = { community: 'small', snmpVersion: '1' as const };

  it('walks ifTable exactly as v2c does', async () => {
    const v1 = await snmp('walk', [IF_TABLE], small);
    const v2 = await snmp('walk', [IF_TABLE], { community: 'small' });
    expect(v1.status).toBe(0);
    expect(v1.out).toEqual(under(SMALL, IF_TABLE));
    expect(v1.out).toEqual(v2.out);
  });

  it('walks ifXTable columns that stop before or start after the Counter64 columns', async () => {
    const roots = [`${IF_X_ENTRY}.1`, `${IF_X_ENTRY}.15`, `${IF_X_ENTRY}.18`];
    const r = await snmp('walk', roots, small);
    expect(r.status).toBe(0);
    expect(r.out).toEqual(roots.flatMap((root) => under(SMALL, root)));
  });

  it('snmpsim answers genErr where a v1 GETNEXT reaches a Counter64, so the walk fails', async () => {
    const r = await snmp('walk', [IF_X_ENTRY], small);
    expect(r.status).toBe(1);
    expect(r.out).toEqual([]);
    // The request that failed asked for the last ifOutBroadcastPkts (.5) row: its successor is HC.
    expect(r.err).toMatch(/genErr .*1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.5\.100.*\[SNMP_ERROR_STATUS\]/);
    const v2 = await snmp('walk', [IF_X_ENTRY], { community: 'small' });
    expect(under(v2.out, IF_HC_IN_OCTETS)).toHaveLength(4);
  });

  it('a v1 GET of a Counter64 fails with genErr; of a missing OID with noSuchName', async () => {
    const hc = await snmp('get', [`${IF_HC_IN_OCTETS}.1`], small);
    expect(hc.status).toBe(1);
    expect(hc.err).toMatch(/genErr/);
    const missing = await snmp('get', ['1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.1.5.1'], small);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/noSuchName \(error-status 2, error-index 2, 1\.3\.6\.1\.2\.1\.1\.5\.1\)/);
  });
});

describe('subtrees end by arcs, not by text', () => {
  it('a walk of ...2.2.1.1 returns only the .1 column, not .10 or .100', async () => {
    for (const options of [{}, { maxRepetitions: 1 }, { snmpVersion: '1' as const }]) {
      const r = await snmp('walk', [`${IF_ENTRY}.1`], { community: 'arcs', ...options });
      expect(r.status).toBe(0);
      expect(r.out).toEqual([`${IF_ENTRY}.1.1|2|1`, `${IF_ENTRY}.1.2|2|2`, `${IF_ENTRY}.1.10|2|10`]);
    }
    const ten = await snmp('walk', [`${IF_ENTRY}.10`], { community: 'arcs' });
    expect(ten.out).toEqual(ARCS.slice(4, 10));
  });

  it('walkColumns of .1 and .10 keeps each column to itself though they end at different rows', async () => {
    const engine = new SnmpEngine({ bindAddress: '127.0.0.1' });
    try {
      for (const maxRepetitions of [1, 2, 25]) {
        const session = engine.session(sessionOptions('arcs', { maxRepetitions }));
        const columns = await session.walkColumns([`${IF_ENTRY}.1`, `${IF_ENTRY}.10`]);
        expect([...columns.keys()]).toEqual([`${IF_ENTRY}.1`, `${IF_ENTRY}.10`]);
        expect(lines(columns.get(`${IF_ENTRY}.1`) ?? [])).toEqual(ARCS.slice(1, 4));
        expect(lines(columns.get(`${IF_ENTRY}.10`) ?? [])).toEqual(ARCS.slice(4, 10));
      }
    } finally {
      await engine.close();
    }
  });
});

describe('SnmpEngine sessions against the device recording', () => {
  it('walkColumns of ifDescr, ifHCInOctets and ifAlias returns exactly their rows', async () => {
    const engine = new SnmpEngine({ bindAddress: '127.0.0.1' });
    try {
      // Repetitions per column: 1, 8, 20. (snmpsim 0.4.5 caps a GETBULK answer at about 64
      // varbinds and, asked for more rows of 3 columns than fit, never answers and spins.)
      for (const maxRepetitions of [4, 25, 60]) {
        const session = engine.session(sessionOptions('device', { maxRepetitions }));
        const columns = await session.walkColumns([IF_DESCR, IF_HC_IN_OCTETS, IF_ALIAS]);
        for (const column of [IF_DESCR, IF_HC_IN_OCTETS, IF_ALIAS]) {
          const rows = columns.get(column) ?? [];
          expect(rows, `${column} with max-repetitions ${maxRepetitions}`).toHaveLength(30);
          expect(lines(rows)).toEqual(under(EXPECTED, column));
        }
        const hc = columns.get(IF_HC_IN_OCTETS) ?? [];
        expect(hc[0]?.value).toBe(18446744073709551615n);
        expect(hc[1]?.value).toBe(9007199254740993n);
      }
      expect(engine.stats.malformed).toBe(0);
      expect(engine.stats.timeouts).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('the decode worker pool (decodeWorkers: 1) yields the same varbinds as inline decoding', async () => {
    const inline = new SnmpEngine({ bindAddress: '127.0.0.1' });
    const pooled = new SnmpEngine({ bindAddress: '127.0.0.1', decodeWorkers: 1 });
    try {
      const normalise = (vbs: readonly Varbind[]): unknown[] =>
        vbs.map((vb) => ({ ...vb, value: normaliseValue(vb.value) }));
      const [a, b] = await Promise.all([
        inline.session(sessionOptions('device')).walk('1.3.6'),
        pooled.session(sessionOptions('device', { timeoutMs: 5000 })).walk('1.3.6'),
      ]);
      expect(b).toHaveLength(EXPECTED.length);
      expect(normalise(b)).toEqual(normalise(a));
      expect(lines(b)).toEqual(EXPECTED);
      const cols = await pooled
        .session(sessionOptions('device', { timeoutMs: 5000 }))
        .walkColumns([IF_DESCR, IF_HC_IN_OCTETS]);
      expect(lines(cols.get(IF_HC_IN_OCTETS) ?? [])).toEqual(under(EXPECTED, IF_HC_IN_OCTETS));
      expect(pooled.stats.malformed).toBe(0);
      expect(pooled.stats.received).toBeGreaterThan(0);
    } finally {
      await Promise.all([inline.close(), pooled.close()]);
    }
  });

  it('a walk through a lossy link (dropped requests and answers) still returns every row', async () => {
    const dropRequests = new Set([2, 5]);
    const dropResponses = new Set([3, 8]);
    const proxy = await startUdpProxy({ host: '127.0.0.1', port: sim.port }, (direction, index) =>
      direction === 'request' ? dropRequests.has(index) : dropResponses.has(index),
    );
    const engine = new SnmpEngine({ bindAddress: '127.0.0.1' });
    try {
      const session = engine.session({
        host: '127.0.0.1',
        port: proxy.port,
        community: 'device',
        timeoutMs: 200,
        retries: 3,
      });
      const rows = await session.walk(IF_X_ENTRY);
      expect(lines(rows)).toEqual(under(EXPECTED, IF_X_ENTRY));
      expect(proxy.dropped).toEqual({ request: 2, response: 2 });
      expect(engine.stats.retries).toBe(4);
      expect(engine.stats.timeouts).toBe(0);
    } finally {
      await engine.close();
      await proxy.close();
    }
  });
});
