import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GnmiNotification } from '../../src/gnmi/client.js';
import { GnmiGroups, parseMapping } from '../../src/gnmi/mapping.js';
import { parsePath } from '../../src/gnmi/path.js';
import type { GnmiValue } from '../../src/gnmi/values.js';
import { parseResource } from '../../src/model/index.js';
import type { Resource } from '../../src/model/index.js';
import { resourceJson, valueOf } from '../model/fixtures.js';

const FILE = fileURLToPath(new URL('../../plugins/gnmi/openconfig-interfaces.yaml', import.meta.url));
const mapping = parseMapping(readFileSync(FILE, 'utf8'), FILE);
const resource: Resource = valueOf(parseResource(resourceJson()));

const at = (seconds: number): bigint => BigInt(seconds) * 1_000_000_000n;

/** A notification as the client hands it over: prefix joined, values decoded. */
function notification(seconds: number, prefix: string, updates: Record<string, GnmiValue>): GnmiNotification {
  const p = parsePath(prefix);
  return {
    timestampNs: at(seconds),
    prefix: p,
    updates: Object.entries(updates).map(([leaf, value]) => ({
      path: { elem: [...p.elem, ...(leaf === '' ? [] : parsePath(leaf).elem)] },
      value,
    })),
    deletes: [],
  };
}

describe('gNMI mappings', () => {
  it('the built-in OpenConfig interfaces mapping parses', () => {
    expect(mapping.name).toBe('openconfig-interfaces');
    expect(mapping.subscriptions.map((s) => s.path)).toEqual([
      '/interfaces/interface/state/counters',
      '/interfaces/interface/state',
      '/interfaces/interface/ethernet/state',
    ]);
    expect(mapping.groups[0]?.metrics.map((m) => m.name)).toContain('bits_in');
  });

  it('reports a bad mapping with file, line, column and key path', () => {
    const bad = [
      'name: x',
      'subscriptions: [{ path: "/a[k" }]',
      'groups:',
      '  - type: interface',
      '    instance: /interfaces/interface[name=*]',
      '    dimensions: { interface_name: { key: interface.nokey } }',
      '    metrics: { bits_in: { leaf: a, type: count } }',
    ].join('\n');
    expect(() => parseMapping(bad, '/m.yaml')).toThrow(
      [
        '/m.yaml:2:25: subscriptions[0].path: gNMI path "/a[k": expected key=value in brackets at character 5',
        '/m.yaml:7:42: groups[0].metrics.bits_in.type: must be counter or gauge',
      ].join('\n'),
    );
    expect(() =>
      parseMapping(bad.replace('"/a[k"', '/a').replace('type: count', 'type: counter'), '/m.yaml'),
    ).toThrow(
      '/m.yaml:6:42: groups[0].dimensions.interface_name.key: the instance path /interfaces/interface[name=*] has no key interface.nokey',
    );
  });

  it('builds one interface group per interface from per-leaf (PROTO) and JSON container updates', () => {
    const problems: string[] = [];
    const groups = new GnmiGroups(mapping, (p) => problems.push(p));
    groups.accept(
      notification(100, '/interfaces/interface[name=Ethernet1]/state/counters', {
        'in-octets': 2n ** 60n,
        'out-octets': 1000,
        'in-unicast-pkts': 5,
      }),
    );
    // JSON_IETF: a container as one object, module-prefixed names, 64-bit integers as strings.
    groups.accept(
      notification(101, '/interfaces/interface[name=Ethernet2]/state', {
        '': {
          'openconfig-interfaces:oper-status': 'DOWN',
          'openconfig-interfaces:description': 'uplink',
          'openconfig-interfaces:counters': { 'in-octets': '18446744073709551615', 'out-octets': '7' },
        },
      }),
    );
    groups.accept(notification(102, '/interfaces/interface[name=Ethernet1]/state', { 'oper-status': 'UP' }));
    groups.accept(notification(103, '/interfaces/interface[name=Ethernet1]/state', { mtu: 'jumbo' }));
    groups.accept(
      notification(104, '/interfaces/interface[name=Ethernet1]/ethernet/state', {
        'port-speed': 'openconfig-if-ethernet:SPEED_10GB',
      }),
    );
    groups.accept(
      notification(104, '/interfaces/interface[name=Ethernet1]/state', {
        type: 'iana-if-type:ethernetCsmacd',
        'admin-status': 'UP',
      }),
    );
    const out = groups.collect(resource, 110, 10);
    expect(out).toHaveLength(2);
    const e1 = out.find((g) => g.dimensions[0]?.dimension_value === 'Ethernet1');
    const e2 = out.find((g) => g.dimensions[0]?.dimension_value === 'Ethernet2');
    expect(e1?.metrics).toEqual([
      {
        metric_name: 'bits_in',
        metric_value: 2n ** 63n,
        metric_type: 'counter',
        metric_creation_timestamp: 100,
      },
      { metric_name: 'bits_out', metric_value: 8000, metric_type: 'counter', metric_creation_timestamp: 100 },
      {
        metric_name: 'unicast_packets_in',
        metric_value: 5,
        metric_type: 'counter',
        metric_creation_timestamp: 100,
      },
      { metric_name: 'oper_state', metric_value: 1, metric_type: 'gauge', metric_creation_timestamp: 102 },
      { metric_name: 'admin_state', metric_value: 1, metric_type: 'gauge', metric_creation_timestamp: 104 },
      {
        metric_name: 'oper_admin_state_mismatch',
        metric_value: 0,
        metric_type: 'gauge',
        metric_creation_timestamp: 104,
      },
      {
        metric_name: 'configured_speed',
        metric_value: 10_000_000_000,
        metric_type: 'gauge',
        metric_creation_timestamp: 104,
      },
    ]);
    // The speed and type by their identities' names, without module prefixes; what a target
    // does not send is <not set>, as the SNMP plugin writes it.
    expect(e1?.dimensions).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Ethernet1' },
      { dimension_name: 'description', dimension_value: 'Ethernet1' },
      { dimension_name: 'media_type', dimension_value: 'ethernetCsmacd' },
      { dimension_name: 'port_speed', dimension_value: '10000000000' },
      { dimension_name: 'configured_speed', dimension_value: '10000000000' },
      { dimension_name: 'parent_interface_name', dimension_value: '<not set>' },
      { dimension_name: 'parent_interface_media_type', dimension_value: '<not set>' },
      { dimension_name: 'parent_interface_port_speed', dimension_value: '<not set>' },
      { dimension_name: 'parent_interface_configured_speed', dimension_value: '<not set>' },
    ]);
    expect(e1).toMatchObject({
      metrics_group_type: 'interface',
      metrics_group_interval: 10,
      metrics_group_creation_timestamp: 110,
    });
    expect(e2?.dimensions.slice(0, 4)).toEqual([
      { dimension_name: 'interface_name', dimension_value: 'Ethernet2' },
      { dimension_name: 'alias', dimension_value: 'uplink' },
      { dimension_name: 'description', dimension_value: 'Ethernet2' },
      { dimension_name: 'media_type', dimension_value: '<not set>' },
    ]);
    expect(e2?.metrics.find((m) => m.metric_name === 'bits_in')?.metric_value).toBe(
      18446744073709551615n * 8n,
    );
    expect(e2?.metrics.find((m) => m.metric_name === 'oper_state')?.metric_value).toBe(2);
    // mtu "jumbo" is not a number: counted, reported, left out.
    expect(groups.stats.unusable).toBe(1);
    expect(problems).toEqual(['openconfig-interfaces: interface.mtu (state/mtu): cannot use "jumbo"']);
  });

  it('counts updates under no group; a delete of an instance drops it', () => {
    const groups = new GnmiGroups(mapping);
    groups.accept(notification(1, '/system/state', { hostname: 'r1' }));
    expect(groups.stats.unmatched).toBe(1);
    groups.accept(notification(1, '/interfaces/interface[name=e1]/state/counters', { 'in-octets': 1 }));
    expect(groups.collect(resource, 2, 10)).toHaveLength(1);
    groups.accept({
      timestampNs: at(2),
      prefix: undefined,
      updates: [],
      deletes: [parsePath('/interfaces/interface[name=e1]')],
    });
    expect(groups.collect(resource, 3, 10)).toHaveLength(0);
  });

  it('keeps only the leaves a group reads; a later container replaces their values', () => {
    const groups = new GnmiGroups(mapping);
    const counters = (octets: string): Record<string, GnmiValue> => ({
      '': {
        'openconfig-interfaces:in-octets': octets,
        'in-pkts': '7',
        'in-fcs-errors': '0',
        'carrier-transitions': '3',
      },
    });
    groups.accept(notification(10, '/interfaces/interface[name=e1]/state/counters', counters('100')));
    groups.accept(
      notification(10, '/interfaces/interface[name=e1]/state', {
        '': { name: 'e1', enabled: true, ifindex: 4, 'oper-status': 'UP', counters: { 'in-octets': '100' } },
      }),
    );
    // in-octets and oper-status: in-pkts, in-fcs-errors, carrier-transitions, name, enabled and
    // ifindex are read by no dimension or metric.
    expect(groups.leavesHeld()).toBe(2);
    groups.accept(notification(20, '/interfaces/interface[name=e1]/state/counters', counters('300')));
    // A leaf per update, its path's elements with module prefixes.
    groups.accept(
      notification(20, '/interfaces/interface[name=e1]', {
        'openconfig-interfaces:state/counters/openconfig-interfaces:out-octets': '50',
        'state/openconfig-interfaces:in-pkts': '9',
      }),
    );
    expect(groups.leavesHeld()).toBe(3);
    const [g] = groups.collect(resource, 21, 10);
    const bits = g?.metrics.find((m) => m.metric_name === 'bits_in');
    expect(bits).toMatchObject({ metric_value: 2400, metric_creation_timestamp: 20 });
    expect(g?.metrics.find((m) => m.metric_name === 'bits_out')).toMatchObject({ metric_value: 400 });
    expect(g?.metrics.find((m) => m.metric_name === 'oper_state')).toMatchObject({
      metric_value: 1,
      metric_creation_timestamp: 10,
    });
  });
});
