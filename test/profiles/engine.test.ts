/**
 * The profile engine (src/profiles/engine.ts) on an in-memory device: what it fetches (one GET
 * for the scalars, each column walked once whatever profiles name it), what a failure costs
 * (only the groups built from what failed; every fetch failing rethrows the first error), and
 * the groups it builds (group `when`, row `where`, dimensions, metrics, aggregates and
 * functions, missing values).
 */
import { describe, expect, it } from 'vitest';
import { isPanoptesError } from '../../src/errors.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { NOT_SET, runProfiles } from '../../src/profiles/engine.js';
import type { ProfileRunResult } from '../../src/profiles/engine.js';
import { parseProfile } from '../../src/profiles/profile.js';
import type { Profile } from '../../src/profiles/profile.js';
import { SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';
import { MemorySnmpSession } from '../support/memory-snmp-session.js';
import type { MemorySessionOptions } from '../support/memory-snmp-session.js';
import { testResource } from '../support/profile-harness.js';

const MAX64 = 2n ** 64n - 1n;
const E = '1.3.6.1.4.1.99999'; // a private enterprise for the test device

const octets = (s: string): Uint8Array => new TextEncoder().encode(s);
const vb = (oid: string, type: Varbind['type'], value: Varbind['value']): Varbind => ({ oid, type, value });
const int = (oid: string, v: number): Varbind => vb(oid, SnmpTag.Integer32, v);
const str = (oid: string, s: string): Varbind => vb(oid, SnmpTag.OctetString, octets(s));

/**
 * The device: scalars (uptime, a Counter64 at 2^64 - 1, a description), and tables
 *   cpu   E.2.1.C.i   2 load, 3 name (the third CPU has no name, the second no load)
 *   temp  E.3.1.C.i   2 celsius, 3 descr
 *   peer  E.4.1.C.(type.a.b.c.d)   2 state, 3 remote address (4 octets), 4 mac
 *   fan   E.5.1.C.i   nothing at all
 */
const DEVICE: readonly Varbind[] = [
  vb('1.3.6.1.2.1.1.3.0', SnmpTag.TimeTicks, 123_456),
  vb(`${E}.1.1.0`, SnmpTag.Counter64, MAX64),
  str(`${E}.1.2.0`, 'Test OS 1.2.3, build 42'),
  int(`${E}.2.1.2.1`, 10),
  int(`${E}.2.1.2.3`, 50),
  str(`${E}.2.1.3.1`, 'cpu0'),
  str(`${E}.2.1.3.2`, 'cpu1'),
  str(`${E}.2.1.3.3`, ''),
  int(`${E}.3.1.2.1`, 40),
  int(`${E}.3.1.2.2`, 75),
  str(`${E}.3.1.3.1`, 'inlet'),
  str(`${E}.3.1.3.2`, 'exhaust'),
  int(`${E}.4.1.2.1.10.0.0.2`, 6),
  int(`${E}.4.1.2.1.10.0.0.1`, 6),
  int(`${E}.4.1.2.2.192.168.1.1`, 3),
  vb(`${E}.4.1.3.1.10.0.0.1`, SnmpTag.OctetString, Uint8Array.of(10, 0, 0, 1)),
  vb(`${E}.4.1.3.1.10.0.0.2`, SnmpTag.OctetString, Uint8Array.of(10, 0, 0, 2)),
  vb(`${E}.4.1.3.2.192.168.1.1`, SnmpTag.OctetString, Uint8Array.of(192, 168, 1, 1)),
  vb(`${E}.4.1.4.1.10.0.0.1`, SnmpTag.OctetString, Uint8Array.of(0, 0x1b, 0x2c, 0xff, 0, 1)),
  // Another subtree right after the fan table's columns, which walks must not take.
  int(`${E}.6.1.0`, 1),
];

const TABLES = `
scalars:
  uptime: 1.3.6.1.2.1.1.3.0
  big: ${E}.1.1.0
  descr: ${E}.1.2.0
tables:
  cpu:
    columns: {load: ${E}.2.1.2, name: ${E}.2.1.3}
  temp:
    columns: {celsius: ${E}.3.1.2, descr: ${E}.3.1.3}
  peer:
    columns: {state: ${E}.4.1.2, addr: ${E}.4.1.3, mac: ${E}.4.1.4}
  fan:
    columns: {speed: ${E}.5.1.2}
`;

function profile(name: string, body: string): Profile {
  return parseProfile(`profile: ${name}\n${body}`, `${name}.yaml`);
}

async function run(
  profiles: readonly Profile[],
  options: MemorySessionOptions = {},
  session = new MemorySnmpSession(DEVICE, options),
): Promise<ProfileRunResult> {
  return runProfiles(profiles, session, {
    resource: testResource({ resource_type: 'test', resource_metadata: { role: 'core' } }),
    interval: 30,
    now: () => 1_700_000_000_500,
  });
}

/** `type{dim=value,...}` -> metric -> value, for compact assertions. */
function series(groups: readonly MetricsGroup[]): Record<string, Record<string, number | bigint>> {
  const out: Record<string, Record<string, number | bigint>> = {};
  for (const g of groups) {
    const dims = g.dimensions.map((d) => `${d.dimension_name}=${d.dimension_value}`).join(',');
    const key = `${g.metrics_group_type}{${dims}}`;
    out[key] = { ...out[key], ...Object.fromEntries(g.metrics.map((m) => [m.metric_name, m.metric_value])) };
  }
  return out;
}

const HEALTH = profile(
  'health',
  `${TABLES}
groups:
  - type: cpu
    table: cpu
    dimensions: {cpu_name: name, cpu_no: index}
    metrics: {load: load}
  - type: environment
    table: temp
    dimensions: {sensor: descr}
    metrics: {temperature: celsius}
  - type: system
    metrics:
      uptime: uptime
      big: {value: big, type: counter}
`,
);

describe('runProfiles: groups', () => {
  it('makes one group per row of a table and one per poll without, with the run metadata', async () => {
    const r = await run([HEALTH]);
    expect(series(r.groups)).toEqual({
      'cpu{cpu_name=cpu0,cpu_no=1}': { load: 10 },
      'cpu{cpu_name=<not set>,cpu_no=3}': { load: 50 },
      'environment{sensor=inlet}': { temperature: 40 },
      'environment{sensor=exhaust}': { temperature: 75 },
      'system{}': { uptime: 123_456, big: MAX64 },
    });
    const g = r.groups[0] as MetricsGroup;
    expect(g.metrics_group_interval).toBe(30);
    expect(g.metrics_group_creation_timestamp).toBe(1_700_000_000.5);
    expect(g.metrics[0]?.metric_creation_timestamp).toBe(1_700_000_000.5);
    expect(g.metrics[0]?.metric_type).toBe('gauge');
    expect(g.resource.resource_type).toBe('test');
    const big = r.groups.at(-1)?.metrics.find((m) => m.metric_name === 'big');
    expect(big).toMatchObject({ metric_type: 'counter', metric_value: MAX64 });
    // cpu1 has no load: its group has no metric and is not sent, and the run is partial.
    expect(r.status).toBe('partial');
    expect(r.failures).toEqual([]);
  });

  it('a missing dimension is <not set>; a missing metric is left out and the run is partial', async () => {
    const p = profile(
      'missing',
      `${TABLES}
groups:
  - type: cpu
    table: cpu
    dimensions: {cpu_name: name, other: temp.descr, nothing: "''"}
    metrics: {load: load, load2: load * 2, const: 1}
`,
    );
    const r = await run([p]);
    expect(NOT_SET).toBe('<not set>');
    expect(series(r.groups)).toEqual({
      'cpu{cpu_name=cpu0,other=inlet,nothing=<not set>}': { load: 10, load2: 20, const: 1 },
      'cpu{cpu_name=cpu1,other=exhaust,nothing=<not set>}': { const: 1 },
      'cpu{cpu_name=<not set>,other=<not set>,nothing=<not set>}': { load: 50, load2: 100, const: 1 },
    });
    expect(r.status).toBe('partial');
  });

  it('keeps every digit of a Counter64 through arithmetic into the metric value', async () => {
    const p = profile(
      'big',
      `${TABLES}
groups:
  - type: counters
    metrics:
      plus: big + 1
      minus: big - 1
      times: big * 8
      text: number(text(big))
      half: big / 2
`,
    );
    const r = await run([p]);
    expect(r.status).toBe('success');
    expect(series(r.groups)['counters{}']).toEqual({
      plus: 2n ** 64n,
      minus: MAX64 - 1n,
      times: MAX64 * 8n,
      text: MAX64,
      half: Number(MAX64) / 2,
    });
  });

  it('division by zero is a missing value: the metric is left out', async () => {
    const p = profile(
      'div',
      `${TABLES}
groups:
  - type: ratios
    metrics: {ok: uptime / 2, bad: uptime / (uptime - uptime)}
`,
    );
    const r = await run([p]);
    expect(series(r.groups)).toEqual({ 'ratios{}': { ok: 61_728 } });
    expect(r.status).toBe('partial');
  });

  it('group when and row where choose what is built', async () => {
    const p = profile(
      'when',
      `${TABLES}
groups:
  - type: hot
    table: temp
    where: celsius > 50
    dimensions: {sensor: descr}
    metrics: {temperature: celsius}
  - type: never
    when: uptime < 100
    metrics: {x: 1}
  - type: core_only
    when: "meta.role == 'core' and resource.resource_type == 'test' and interval == 30"
    metrics: {x: 1}
  - type: peers_up
    table: peer
    where: "state == 6 and index =~ '^1\\\\.'"
    dimensions: {peer: ipv4(addr)}
    metrics: {state: state}
`,
    );
    const r = await run([p]);
    expect(series(r.groups)).toEqual({
      'hot{sensor=exhaust}': { temperature: 75 },
      'core_only{}': { x: 1 },
      'peers_up{peer=10.0.0.1}': { state: 6 },
      'peers_up{peer=10.0.0.2}': { state: 6 },
    });
    expect(r.status).toBe('success');
  });

  it('rows come in OID order, whatever order the device listed them in', async () => {
    const p = profile(
      'order',
      `${TABLES}
groups:
  - type: peer
    table: peer
    dimensions: {index: index}
    metrics: {state: state}
`,
    );
    const r = await run([p]);
    expect(r.groups.map((g) => g.dimensions[0]?.dimension_value)).toEqual([
      '1.10.0.0.1',
      '1.10.0.0.2',
      '2.192.168.1.1',
    ]);
  });

  it('aggregates and functions: count, sum, min, max, avg, find, map, if, coalesce, arc, arcs, ipv4, hex', async () => {
    const p = profile(
      'summary',
      `maps:
  bgp: {1: idle, 3: active, 6: established}
${TABLES}
groups:
  - type: summary
    dimensions:
      hottest: "temp.descr[find(temp.celsius, max(temp, celsius))]"
      os: "split(descr, ', ', 0)"
      first_cpu_name: "coalesce(cpu.name['3'], cpu.name['2'])"
    metrics:
      cpus: count(cpu)
      cpus_busy: count(cpu, load >= 50)
      load_sum: sum(cpu, load)
      load_min: min(cpu, load)
      load_max: max(cpu, load)
      load_avg: avg(cpu, load)
      fans: count(fan)
      fan_avg: avg(fan, speed)
      established: count(peer, map(bgp, state) == 'established')
      hot: if(max(temp, celsius) > 70, 1, 0)
  - type: peer
    table: peer
    dimensions:
      type: arc(index, 0)
      address: ipv4(arcs(index, 1, 4))
      remote: ipv4(addr)
      state: map(bgp, state, 'unknown')
      mac: coalesce(hex(mac), 'none')
      last_arc: arc(index, -1)
    metrics: {established: "if(state == 6, 1, 0)"}
`,
    );
    const r = await run([p]);
    const summary = r.groups.find((g) => g.metrics_group_type === 'summary') as MetricsGroup;
    expect(summary.dimensions).toEqual([
      { dimension_name: 'hottest', dimension_value: 'exhaust' },
      { dimension_name: 'os', dimension_value: 'Test OS 1.2.3' },
      { dimension_name: 'first_cpu_name', dimension_value: 'cpu1' },
    ]);
    expect(Object.fromEntries(summary.metrics.map((m) => [m.metric_name, m.metric_value]))).toEqual({
      cpus: 3,
      cpus_busy: 1,
      load_sum: 60,
      load_min: 10,
      load_max: 50,
      load_avg: 30,
      fans: 0,
      established: 2,
      hot: 1,
    });
    expect(series(r.groups.filter((g) => g.metrics_group_type === 'peer'))).toEqual({
      'peer{type=1,address=10.0.0.1,remote=10.0.0.1,state=established,mac=001b2cff0001,last_arc=1}': {
        established: 1,
      },
      'peer{type=1,address=10.0.0.2,remote=10.0.0.2,state=established,mac=none,last_arc=2}': {
        established: 1,
      },
      'peer{type=2,address=192.168.1.1,remote=192.168.1.1,state=active,mac=none,last_arc=1}': {
        established: 0,
      },
    });
    // The average of no fan is missing: left out, so the run is partial.
    expect(r.status).toBe('partial');
  });
});

describe('runProfiles: fetching', () => {
  it('gets every scalar in one GET and walks each column once, though two profiles name it', async () => {
    const other = profile(
      'other',
      `scalars:
  up: 1.3.6.1.2.1.1.3.0
tables:
  cpus:
    columns: {busy: ${E}.2.1.2, label: ${E}.2.1.3}
  sensors:
    columns: {celsius: ${E}.3.1.2}
groups:
  - type: cpu2
    table: cpus
    dimensions: {label: label}
    metrics: {busy: busy, up: up}
  - type: temp2
    table: sensors
    metrics: {celsius: celsius}
`,
    );
    const session = new MemorySnmpSession(DEVICE);
    const r = await run([HEALTH, other], {}, session);
    // health names 8 columns (cpu 2, temp 2, peer 3, fan 1); other names 3 of them again.
    const columns = new Set(
      [...HEALTH.tables.values(), ...other.tables.values()].flatMap((t) => [...t.columns.values()]),
    );
    expect(columns.size).toBe(8);
    expect(session.requests.walk).toBe(8);
    expect(session.requests.get).toBe(1);
    expect(series(r.groups)['cpu2{label=cpu0}']).toEqual({ busy: 10, up: 123_456 });
    expect(r.groups.filter((g) => g.metrics_group_type === 'temp2')).toHaveLength(2);
  });

  it('does not walk a table whose when is false, and that is no failure', async () => {
    const p = profile(
      'skip',
      `scalars:
  up: 1.3.6.1.2.1.1.3.0
tables:
  temp:
    columns: {celsius: ${E}.3.1.2}
    when: "resource.resource_type == 'other'"
groups:
  - type: temp
    table: temp
    metrics: {celsius: celsius}
  - type: up
    metrics: {up: up}
`,
    );
    const session = new MemorySnmpSession(DEVICE);
    const r = await run([p], {}, session);
    expect(session.requests.walk).toBe(0);
    expect(series(r.groups)).toEqual({ 'up{}': { up: 123_456 } });
    expect(r.status).toBe('success');
    expect(r.failures).toEqual([]);
  });

  it('a failing table costs only its groups: the run is partial and names the failure', async () => {
    const r = await run([HEALTH], { fail: [`${E}.3`] });
    expect(Object.keys(series(r.groups))).toEqual([
      'cpu{cpu_name=cpu0,cpu_no=1}',
      'cpu{cpu_name=<not set>,cpu_no=3}',
      'system{}',
    ]);
    expect(r.status).toBe('partial');
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(
      /^health: table temp: memory:161: no answer for 1\.3\.6\.1\.4\.1\.99999\.3\.1\.2/,
    );
  });

  it('failing scalars cost the groups that use them; the tables still make theirs', async () => {
    const r = await run([HEALTH], { fail: ['1.3.6.1.2.1.1.3.0'] });
    expect(r.groups.map((g) => g.metrics_group_type)).toEqual(['cpu', 'cpu', 'environment', 'environment']);
    expect(r.status).toBe('partial');
    expect(r.failures).toEqual([
      expect.stringMatching(/^scalars: memory:161: no answer for 1\.3\.6\.1\.2\.1\.1\.3\.0/),
    ]);
  });

  it('when every fetch fails, the first error is thrown (SNMP_TIMEOUT)', async () => {
    const error = await run([HEALTH], { fail: ['1.3.6.1'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPanoptesError(error) && error.code).toBe('SNMP_TIMEOUT');
    // The scalars are fetched first: theirs is the first error.
    expect((error as Error).message).toContain('no answer for 1.3.6.1.2.1.1.3.0');
    // A profile with tables only.
    const tablesOnly = profile(
      'tables-only',
      `tables:
  cpu: {columns: {load: ${E}.2.1.2}}
  temp: {columns: {celsius: ${E}.3.1.2}}
groups:
  - type: cpu
    table: cpu
    metrics: {load: load}
`,
    );
    await expect(run([tablesOnly], { fail: [E] })).rejects.toMatchObject({ code: 'SNMP_TIMEOUT' });
  });

  it('an empty table is a failure of its groups unless they are optional', async () => {
    const p = (optional: boolean): Profile =>
      profile(
        'fans',
        `${TABLES}
groups:
  - type: fan
    table: fan
    optional: ${optional}
    metrics: {speed: speed}
  - type: up
    metrics: {up: uptime}
`,
      );
    const required = await run([p(false)]);
    expect(required.status).toBe('partial');
    expect(required.failures).toEqual(['fans: fan groups: table fan has no rows']);
    expect(series(required.groups)).toEqual({ 'up{}': { up: 123_456 } });

    const optional = await run([p(true)]);
    expect(optional.status).toBe('success');
    expect(optional.failures).toEqual([]);
    expect(series(optional.groups)).toEqual({ 'up{}': { up: 123_456 } });
  });

  it('no group at all is missing data', async () => {
    const p = profile(
      'nothing',
      `tables:
  fan: {columns: {speed: ${E}.5.1.2}}
groups:
  - type: fan
    table: fan
    optional: true
    metrics: {speed: speed}
`,
    );
    const r = await run([p]);
    expect(r).toMatchObject({ groups: [], status: 'missingData', failures: [] });
  });

  it('a walk stops at the end of its column: the next subtree is not a row', async () => {
    const p = profile(
      'edge',
      `tables:
  fan: {columns: {speed: ${E}.5.1.2}}
  cpu: {columns: {load: ${E}.2.1.2}}
groups:
  - type: n
    metrics: {fans: count(fan), cpus: count(cpu)}
`,
    );
    const r = await run([p]);
    expect(series(r.groups)).toEqual({ 'n{}': { fans: 0, cpus: 2 } });
  });
});
