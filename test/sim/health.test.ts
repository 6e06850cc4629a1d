/**
 * The synthetic devices' health set, polled over UDP by the engine with the built-in profiles
 * that select them by sysObjectID: what `npm start` shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsGroup } from '../../src/model/index.js';
import { ProfileCatalog } from '../../src/profiles/catalog.js';
import { runProfiles } from '../../src/profiles/engine.js';
import { SnmpSimulator } from '../../src/sim/simulator.js';
import { SYS_OBJECT_ID, syntheticCommunity } from '../../src/sim/synthetic.js';
import { SnmpEngine } from '../../src/snmp/engine.js';
import { MIB_OBJECTS, resolveMibName, scalar } from '../../src/snmp/mibs.js';
import { BUILTIN_PROFILES, testResource } from '../support/profile-harness.js';

let sim: SnmpSimulator;
let engine: SnmpEngine;

beforeAll(async () => {
  sim = await SnmpSimulator.start({ synthetic: { devices: 2, interfaces: 2, health: true } });
  engine = new SnmpEngine();
});

afterAll(async () => {
  await engine.close();
  await sim.close();
});

function values(groups: readonly MetricsGroup[], type: string): Record<string, number | bigint> {
  const out: Record<string, number | bigint> = {};
  for (const g of groups.filter((x) => x.metrics_group_type === type)) {
    const dims = g.dimensions.map((d) => d.dimension_value).join('/');
    for (const m of g.metrics) out[`${dims}:${m.metric_name}`] = m.metric_value;
  }
  return out;
}

describe('synthetic device health', () => {
  it('is chosen by sysObjectID and reads as CPU, memory, disk, load and temperature groups', async () => {
    const { catalog, problems } = await ProfileCatalog.load([BUILTIN_PROFILES]);
    expect(problems).toEqual([]);
    const profiles = catalog.bySysObjectId(SYS_OBJECT_ID).map((p) => p.name);
    expect(profiles.sort()).toEqual(['host-resources', 'ucd-snmp']);
    const session = engine.session({ host: '127.0.0.1', port: sim.port, community: syntheticCommunity(2) });
    const result = await runProfiles(
      profiles.map((n) => catalog.get(n)).filter((p) => p !== undefined),
      session,
      { resource: testResource({ resource_id: syntheticCommunity(2) }), interval: 10 },
    );
    expect(result.failures).toEqual([]);
    expect(result.status).toBe('success');
    const { groups } = result;
    expect(values(groups, 'cpu')).toEqual({
      'ctrl/196608/Simulated CPU 0:cpu_utilization': 12,
      'ctrl/196609/Simulated CPU 1:cpu_utilization': 18,
    });
    expect(values(groups, 'memory')).toEqual({
      // used = total - available - buffers - cache, in bytes
      'real:memory_total': 8_388_608 * 1024,
      'real:memory_used': (8_388_608 - 3_145_728 - 524_288 - 1_572_864) * 1024,
      'swap:memory_total': 2_097_152 * 1024,
      'swap:memory_used': (2_097_152 - 2_031_616) * 1024,
    });
    expect(values(groups, 'disk')['hrStorageFixedDisk//:storage_used_bytes']).toBe(6_291_456 * 4096);
    expect(values(groups, 'environment')).toEqual({
      'CPU Package:temperature_fahrenheit': 117.5,
      'Board:temperature_fahrenheit': 96.8,
    });
    expect(values(groups, 'load')[':load_average_1m']).toBe(0.42);
  });

  it('is not answered unless asked for (benchmarks and protocol tests see interfaces only)', async () => {
    const plain = await SnmpSimulator.start({ synthetic: { devices: 1, interfaces: 2 } });
    try {
      const session = engine.session({
        host: '127.0.0.1',
        port: plain.port,
        community: syntheticCommunity(1),
      });
      const [vb] = await session.get([scalar('memTotalReal')]);
      expect(vb?.value).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

describe('MIB object names', () => {
  it('resolve to their OIDs, with instance arcs; unknown names do not', () => {
    expect(resolveMibName('sysUpTime.0')).toBe('1.3.6.1.2.1.1.3.0');
    expect(resolveMibName('hrStorageDescr')).toBe(MIB_OBJECTS.hrStorageDescr);
    expect(resolveMibName('ifHCInOctets.7')).toBe('1.3.6.1.2.1.31.1.1.1.6.7');
    expect(resolveMibName('hrStorageDescription')).toBeUndefined();
    expect(resolveMibName('1.3.6.1')).toBeUndefined();
  });
});
