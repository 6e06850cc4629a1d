/**
 * The SNMP engine against net-snmp's real agent, snmpd, checked against net-snmp's own C tools:
 * our walks of the system group and ifTable list the same OIDs, with the same types, as
 * `snmpbulkwalk -On -Oe -Ot`, and the same values where values do not move (descriptions, types,
 * MTUs, addresses); counters and sysUpTime move, so for those only presence and type are
 * compared. Then GET with missing OIDs, a timeout against a port with no agent, and SNMPv3
 * (USM authPriv SHA/AES and MD5/DES, authNoPriv) against a second snmpd with its own users.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSnmp } from '../../src/cli/commands/snmp.js';
import type { SnmpCliOptions } from '../../src/cli/args.js';
import { PanoptesError } from '../../src/errors.js';
import { SnmpEngine } from '../../src/snmp/engine.js';
import { isUnder } from '../../src/snmp/oid.js';
import type { SnmpSessionOptions, V3Credentials } from '../../src/snmp/session.js';
import { SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';
import { freeUdpPort } from '../services/ports.js';
import { startSnmpd } from '../services/snmpd.js';
import type { SnmpdService } from '../services/snmpd.js';
import { V3_USERS, startSnmpdV3 } from '../support/snmpd-v3.js';
import type { SnmpdV3Service } from '../support/snmpd-v3.js';

const SYSTEM = '1.3.6.1.2.1.1';
const IF_TABLE = '1.3.6.1.2.1.2.2';
const IF_HC_IN_OCTETS = '1.3.6.1.2.1.31.1.1.1.6';
const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const SYS_LOCATION = '1.3.6.1.2.1.1.6.0';

let agent: SnmpdService;
let v3agent: SnmpdV3Service;
let engine: SnmpEngine;

beforeAll(async () => {
  [agent, v3agent] = await Promise.all([startSnmpd(), startSnmpdV3()]);
  engine = new SnmpEngine({ bindAddress: '127.0.0.1' });
});

afterAll(async () => {
  await engine?.close();
  await Promise.all([agent?.stop(), v3agent?.stop()]);
});

// ---- net-snmp's C tools -------------------------------------------------------------------------

function netSnmp(tool: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      [...args],
      // MIBS= : numeric output only, no MIB files read. latin1 keeps the bytes of strings.
      { env: { ...process.env, MIBS: '' }, encoding: 'latin1', timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

interface NetSnmpRow {
  readonly oid: string;
  readonly type: number;
  /** The value as our varbinds carry it, as text: numbers in decimal, bytes as hex, OIDs dotted. */
  readonly value: string;
}

const TYPE_WORDS: Readonly<Record<string, number>> = {
  STRING: SnmpTag.OctetString,
  'Hex-STRING': SnmpTag.OctetString,
  INTEGER: SnmpTag.Integer32,
  OID: SnmpTag.ObjectIdentifier,
  Counter32: SnmpTag.Counter32,
  Gauge32: SnmpTag.Gauge32,
  Counter64: SnmpTag.Counter64,
  IpAddress: SnmpTag.IpAddress,
  Timeticks: SnmpTag.TimeTicks,
};

/** Parses `snmpbulkwalk -On -Oe -Ot` output (with continuation lines of long Hex-STRINGs). */
function parseNetSnmp(output: string): NetSnmpRow[] {
  const entries: string[] = [];
  for (const line of output.split('\n')) {
    if (/^\.\d[\d.]* = /.test(line)) entries.push(line);
    else if (line !== '' && entries.length > 0) entries[entries.length - 1] += `\n${line}`;
  }
  return entries.map((entry) => {
    const m = /^\.([\d.]+) = ([\s\S]*)$/.exec(entry);
    if (m === null) throw new Error(`cannot parse ${JSON.stringify(entry)}`);
    const oid = m[1] ?? '';
    const rest = m[2] ?? '';
    if (rest === '""') return { oid, type: SnmpTag.OctetString, value: '' };
    if (/^\d+$/.test(rest)) return { oid, type: SnmpTag.TimeTicks, value: rest }; // -Ot
    const typed = /^([A-Za-z0-9-]+): ([\s\S]*)$/.exec(rest);
    const word = typed?.[1] ?? '';
    const type = TYPE_WORDS[word];
    if (typed === null || type === undefined) throw new Error(`unknown value in ${JSON.stringify(entry)}`);
    const text = typed[2] ?? '';
    let value: string;
    if (word === 'STRING') {
      const quoted = /^"([\s\S]*)"$/.exec(text)?.[1] ?? text;
      value = Buffer.from(quoted.replace(/\\(["\\])/g, '$1'), 'latin1').toString('hex');
    } else if (word === 'Hex-STRING') {
      value = text.replace(/\s+/g, '').toLowerCase();
    } else if (word === 'OID') {
      value = text.replace(/^\./, '');
    } else {
      value = text.trim();
    }
    return { oid, type, value };
  });
}

function ours(vb: Varbind): NetSnmpRow {
  const v = vb.value;
  return {
    oid: vb.oid,
    type: vb.type,
    value: v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v),
  };
}

function bulkwalk(root: string, extra: readonly string[] = []): Promise<NetSnmpRow[]> {
  return netSnmp('snmpbulkwalk', [
    '-v2c',
    '-c',
    agent.community,
    '-On',
    '-Oe',
    '-Ot',
    ...extra,
    `${agent.host}:${agent.port}`,
    root,
  ]).then(parseNetSnmp);
}

function session(extra: Partial<SnmpSessionOptions> = {}): ReturnType<SnmpEngine['session']> {
  return engine.session({
    host: agent.host,
    port: agent.port,
    community: agent.community,
    timeoutMs: 2000,
    retries: 1,
    ...extra,
  });
}

/** Columns (or scalars) whose values do not move between two walks a moment apart. */
const STABLE: readonly string[] = [
  '1.3.6.1.2.1.1.1', // sysDescr
  '1.3.6.1.2.1.1.2', // sysObjectID
  '1.3.6.1.2.1.1.4', // sysContact
  '1.3.6.1.2.1.1.5', // sysName
  '1.3.6.1.2.1.1.6', // sysLocation
  '1.3.6.1.2.1.1.7', // sysServices
  '1.3.6.1.2.1.1.9', // sysORTable
  ...[1, 2, 3, 4, 5, 6, 7, 22].map((c) => `${IF_TABLE}.1.${c}`), // index, descr, type, mtu, speed, mac, admin, specific
];

function compareWithNetSnmp(mine: readonly Varbind[], theirs: readonly NetSnmpRow[]): void {
  const a = mine.map(ours);
  expect(a.map((r) => r.oid)).toEqual(theirs.map((r) => r.oid));
  expect(a.map((r) => `${r.oid} ${r.type}`)).toEqual(theirs.map((r) => `${r.oid} ${r.type}`));
  const stable = (r: NetSnmpRow): boolean => STABLE.some((root) => isUnder(root, r.oid));
  expect(a.filter(stable)).toEqual(theirs.filter(stable));
}

// ---- v1/v2c against snmpd ------------------------------------------------------------------------

describe('walks agree with net-snmp snmpbulkwalk', () => {
  it('the system group: same OIDs and types, same stable values', async () => {
    const [mine, theirs] = await Promise.all([session().walk(SYSTEM), bulkwalk(SYSTEM)]);
    expect(theirs.length).toBeGreaterThan(20);
    compareWithNetSnmp(mine, theirs);
    const location = mine.find((vb) => vb.oid === SYS_LOCATION);
    expect(Buffer.from(location?.value as Uint8Array).toString()).toBe(agent.sysLocation);
    const uptime = mine.find((vb) => vb.oid === SYS_UPTIME);
    expect(uptime?.type).toBe(SnmpTag.TimeTicks);
    expect(typeof uptime?.value).toBe('number');
  });

  it('ifTable: same rows and types; stable columns equal; counters present as Counter32', async () => {
    const [mine, theirs] = await Promise.all([session().walk(IF_TABLE), bulkwalk(IF_TABLE)]);
    expect(theirs.length).toBeGreaterThanOrEqual(22);
    compareWithNetSnmp(mine, theirs);
    const inOctets = mine.filter((vb) => isUnder(`${IF_TABLE}.1.10`, vb.oid));
    expect(inOctets.length).toBeGreaterThan(0);
    for (const vb of inOctets) expect(vb.type).toBe(SnmpTag.Counter32);
  });

  it('ifHCInOctets: the same rows, as Counter64 bigints', async () => {
    const [mine, theirs] = await Promise.all([session().walk(IF_HC_IN_OCTETS), bulkwalk(IF_HC_IN_OCTETS)]);
    expect(mine.map((vb) => vb.oid)).toEqual(theirs.map((r) => r.oid));
    expect(theirs.length).toBeGreaterThan(0);
    for (const vb of mine) {
      expect(vb.type).toBe(SnmpTag.Counter64);
      expect(typeof vb.value).toBe('bigint');
    }
  });

  it('the same OIDs with max-repetitions 3, over SNMPv1, and as a table walk', async () => {
    const theirs = await bulkwalk(IF_TABLE);
    const small = await session({ maxRepetitions: 3 }).walk(IF_TABLE);
    expect(small.map((vb) => vb.oid)).toEqual(theirs.map((r) => r.oid));
    const v1 = await session({ version: '1' }).walk(IF_TABLE);
    expect(v1.map((vb) => vb.oid)).toEqual(theirs.map((r) => r.oid));
    const columns = [2, 3, 10].map((c) => `${IF_TABLE}.1.${c}`);
    const table = await session().walkColumns(columns);
    for (const column of columns) {
      expect((table.get(column) ?? []).map((vb) => vb.oid)).toEqual(
        theirs.filter((r) => isUnder(column, r.oid)).map((r) => r.oid),
      );
    }
  });
});

// ---- panoptes snmp get / walk -------------------------------------------------------------------

interface Captured {
  readonly status: number;
  readonly out: string;
  readonly err: string;
}

async function cli(
  operation: 'get' | 'walk',
  target: string,
  oids: readonly string[],
  options: Partial<SnmpCliOptions> = {},
): Promise<Captured> {
  let out = '';
  let err = '';
  const status = await runSnmp(
    operation,
    target,
    oids,
    {
      community: agent.community,
      snmpVersion: '2c',
      maxRepetitions: 25,
      timeout: 2000,
      retries: 1,
      decodeWorkers: 0,
      ...options,
    },
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
  );
  return { status, out, err };
}

describe('panoptes snmp against snmpd', () => {
  it('GET of several OIDs, some missing: values on stdout, exceptions on stderr, exit 0', async () => {
    const target = `${agent.host}:${agent.port}`;
    const r = await cli('get', target, [
      SYS_LOCATION,
      '1.3.6.1.2.1.1.1.1', // sysDescr.1: the object exists, this instance does not
      '.1.3.6.1.2.1.1.4.0',
      '1.3.6.1.4.1.99999.1.0', // no such object
    ]);
    expect(r.status).toBe(0);
    expect(r.out).toBe(`${SYS_LOCATION}|4|${agent.sysLocation}\n1.3.6.1.2.1.1.4.0|4|${agent.sysContact}\n`);
    const errLines = r.err.trimEnd().split('\n');
    expect(errLines).toHaveLength(2);
    expect(errLines[0]).toMatch(/^1\.3\.6\.1\.2\.1\.1\.1\.1: nosuchinstance$/i);
    expect(errLines[1]).toMatch(/^1\.3\.6\.1\.4\.1\.99999\.1\.0: nosuchobject$/i);
  });

  it('prints exceptions as documented: `OID: noSuchInstance` / `OID: noSuchObject`', async () => {
    // src/cli/commands/snmp.ts: "Exceptions ... go to stderr as `OID: noSuchInstance`".
    const r = await cli('get', `${agent.host}:${agent.port}`, ['1.3.6.1.2.1.1.1.1', '1.3.6.1.4.1.99999.1.0']);
    expect(r.status).toBe(0);
    expect(r.err).toBe('1.3.6.1.2.1.1.1.1: noSuchInstance\n1.3.6.1.4.1.99999.1.0: noSuchObject\n');
  });

  it('walk prints the same OIDs as snmpbulkwalk', async () => {
    const [r, theirs] = await Promise.all([
      cli('walk', `${agent.host}:${agent.port}`, [SYSTEM]),
      bulkwalk(SYSTEM),
    ]);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, l.indexOf('|')))).toEqual(theirs.map((t) => t.oid));
    expect(lines).toContain(`${SYS_LOCATION}|4|${agent.sysLocation}`);
  });

  it('times out against a port with no agent: exit 1 and an SNMP_TIMEOUT message', async () => {
    const port = await freeUdpPort();
    const started = Date.now();
    const get = await cli('get', `127.0.0.1:${port}`, [SYS_DESCR], { timeout: 150, retries: 1 });
    expect(get.status).toBe(1);
    expect(get.out).toBe('');
    expect(get.err).toBe(
      `panoptes snmp get: no answer from 127.0.0.1:${port} after 2 attempt(s) of 150 ms [SNMP_TIMEOUT]\n`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const walk = await cli('walk', `127.0.0.1:${port}`, [SYSTEM], { timeout: 100, retries: 0 });
    expect(walk.status).toBe(1);
    expect(walk.err).toMatch(/^panoptes snmp walk: no answer from .* \[SNMP_TIMEOUT\]\n$/);
  });

  it('a wrong community gets no answer (exit 1, SNMP_TIMEOUT)', async () => {
    const r = await cli('get', `${agent.host}:${agent.port}`, [SYS_DESCR], {
      community: 'wrong',
      timeout: 150,
      retries: 0,
    });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/\[SNMP_TIMEOUT\]/);
  });
});

// ---- SNMPv3 -----------------------------------------------------------------------------------

function v3session(
  v3: V3Credentials,
  extra: Partial<SnmpSessionOptions> = {},
): ReturnType<SnmpEngine['session']> {
  return engine.session({
    host: v3agent.host,
    port: v3agent.port,
    version: '3',
    timeoutMs: 1000,
    retries: 1,
    v3,
    ...extra,
  });
}

const SHA_AES: V3Credentials = {
  user: V3_USERS.shaAes.name,
  level: 'authPriv',
  authProtocol: 'sha',
  authKey: V3_USERS.shaAes.authKey,
  privProtocol: 'aes',
  privKey: V3_USERS.shaAes.privKey,
};

async function failure(p: Promise<unknown>): Promise<{ error: PanoptesError; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PanoptesError);
    return { error: e as PanoptesError, ms: Date.now() - started };
  }
  throw new Error('expected a failure');
}

function v3walk(root: string): Promise<NetSnmpRow[]> {
  const u = V3_USERS.shaAes;
  return netSnmp('snmpbulkwalk', [
    '-v3',
    '-l',
    'authPriv',
    '-u',
    u.name,
    '-a',
    u.authProtocol,
    '-A',
    u.authKey,
    '-x',
    u.privProtocol,
    '-X',
    u.privKey,
    '-On',
    '-Oe',
    '-Ot',
    `${v3agent.host}:${v3agent.port}`,
    root,
  ]).then(parseNetSnmp);
}

describe('SNMPv3 (USM) through SnmpEngine.session', () => {
  it('authPriv SHA/AES: GET of sysDescr and sysLocation', async () => {
    const s = v3session(SHA_AES);
    try {
      const vbs = await s.get([SYS_DESCR, SYS_LOCATION]);
      expect(vbs.map((vb) => vb.oid)).toEqual([SYS_DESCR, SYS_LOCATION]);
      expect(vbs[0]?.type).toBe(SnmpTag.OctetString);
      const [v2descr] = await session().get([SYS_DESCR]);
      expect(Buffer.from(vbs[0]?.value as Uint8Array).toString()).toBe(
        Buffer.from(v2descr?.value as Uint8Array).toString(),
      );
      // Our second agent, not the first.
      expect(Buffer.from(vbs[1]?.value as Uint8Array).toString()).toBe(v3agent.sysLocation);
    } finally {
      await s.close();
    }
  });

  it('authPriv SHA/AES: a walk of the system group equals snmpbulkwalk -v3', async () => {
    const s = v3session(SHA_AES, { maxRepetitions: 10 });
    try {
      const [mine, theirs] = await Promise.all([s.walk(SYSTEM), v3walk(SYSTEM)]);
      expect(theirs.length).toBeGreaterThan(20);
      compareWithNetSnmp(mine, theirs);
      // A table walk over v3 re-interleaves net-snmp's per-column answers correctly.
      const columns = ['1.3.6.1.2.1.1.9.1.2', '1.3.6.1.2.1.1.9.1.3'];
      const table = await s.walkColumns(columns);
      for (const column of columns) {
        expect((table.get(column) ?? []).map(ours)).toEqual(theirs.filter((r) => isUnder(column, r.oid)));
      }
    } finally {
      await s.close();
    }
  });

  it('authPriv MD5/AES and authNoPriv SHA users work too', async () => {
    const md5 = v3session({
      user: V3_USERS.md5Aes.name,
      level: 'authPriv',
      authProtocol: 'md5',
      authKey: V3_USERS.md5Aes.authKey,
      privProtocol: 'aes',
      privKey: V3_USERS.md5Aes.privKey,
    });
    const authOnly = v3session({
      user: V3_USERS.authOnly.name,
      level: 'authNoPriv',
      authProtocol: 'sha',
      authKey: V3_USERS.authOnly.authKey,
    });
    try {
      for (const s of [md5, authOnly]) {
        const [vb] = await s.get([SYS_LOCATION]);
        expect(Buffer.from(vb?.value as Uint8Array).toString()).toBe(v3agent.sysLocation);
      }
    } finally {
      await Promise.all([md5.close(), authOnly.close()]);
    }
  });

  it('DES privacy (offered by --priv-protocol des) works, or fails with an error that says DES is unavailable', async () => {
    // Node 20's OpenSSL 3 has DES-CBC only in its legacy provider; net-snmp then throws
    // ERR_OSSL_EVP_UNSUPPORTED. Either outcome below is acceptable; an opaque OpenSSL message
    // reported as an agent error-status is not.
    const s = v3session({
      user: V3_USERS.md5Des.name,
      level: 'authPriv',
      authProtocol: 'md5',
      authKey: V3_USERS.md5Des.authKey,
      privProtocol: 'des',
      privKey: V3_USERS.md5Des.privKey,
    });
    try {
      const outcome = await s.get([SYS_LOCATION]).then(
        (vbs) => `value ${Buffer.from(vbs[0]?.value as Uint8Array).toString()}`,
        (e: unknown) => (e instanceof PanoptesError ? `${e.code}: ${e.message}` : String(e)),
      );
      if (outcome.startsWith('value ')) expect(outcome).toBe(`value ${v3agent.sysLocation}`);
      else expect(outcome).toMatch(/^(?!SNMP_ERROR_STATUS)[A-Z_]+: .*\bDES\b/);
    } finally {
      await s.close();
    }
  });

  it('a wrong auth key fails quickly with a clear error, not a hang', async () => {
    const s = v3session({ ...SHA_AES, authKey: 'not-the-key' }, { timeoutMs: 1000, retries: 1 });
    try {
      const { error, ms } = await failure(s.get([SYS_DESCR]));
      expect(error.code).toBe('SNMP_AUTH');
      expect(error.message).toContain(`127.0.0.1:${v3agent.port}`);
      expect(error.message).toMatch(/wrong digest/i);
      expect(ms).toBeLessThan(2000);
    } finally {
      await s.close();
    }
  });

  it('an unknown user and a too-low security level fail with clear errors', async () => {
    const unknown = v3session({ ...SHA_AES, user: 'nobody' });
    const tooLow = v3session({
      user: V3_USERS.shaAes.name,
      level: 'authNoPriv',
      authProtocol: 'sha',
      authKey: V3_USERS.shaAes.authKey,
    });
    try {
      const unknownUser = (await failure(unknown.get([SYS_DESCR]))).error;
      expect(unknownUser.message).toMatch(/unknown user/i);
      expect(unknownUser.code).toBe('SNMP_AUTH');
      const low = await failure(tooLow.get([SYS_DESCR]));
      expect(low.error.code).toBe('SNMP_ERROR_STATUS');
      expect(low.error.message).toMatch(/authorizationError/);
    } finally {
      await Promise.all([unknown.close(), tooLow.close()]);
    }
  });

  it('a wrong privacy key ends in SNMP_TIMEOUT within timeout x attempts', async () => {
    const s = v3session({ ...SHA_AES, privKey: 'not-the-priv-key' }, { timeoutMs: 300, retries: 1 });
    try {
      const { error, ms } = await failure(s.get([SYS_DESCR]));
      expect(error.code).toBe('SNMP_TIMEOUT');
      expect(ms).toBeLessThan(3000);
    } finally {
      await s.close();
    }
  });

  it('panoptes snmp get -v 3 prints the value', async () => {
    const u = V3_USERS.shaAes;
    const r = await cli('get', `${v3agent.host}:${v3agent.port}`, [SYS_LOCATION], {
      snmpVersion: '3',
      securityName: u.name,
      authProtocol: 'sha',
      authKey: u.authKey,
      privProtocol: 'aes',
      privKey: u.privKey,
    });
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toBe(`${SYS_LOCATION}|4|${v3agent.sysLocation}\n`);
  });
});
