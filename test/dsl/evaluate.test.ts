import { describe, it, expect } from 'vitest';
import { compileFilter, compileNode, evaluateFilter, parseFilter } from '../../src/dsl/index.js';
import type { FilterableResource, ResourcePredicate } from '../../src/dsl/index.js';
import { eq, meta, resource } from './helpers.js';

const RESOURCES: readonly FilterableResource[] = [
  resource(
    {
      resource_id: 'sw1',
      resource_site: 'dc1',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'cisco',
      resource_endpoint: '192.0.2.10',
      resource_creation_plugin: 'discovery_from_file',
    },
    { os: 'ios', Model: 'C9300', env: 'prod' },
  ),
  resource(
    {
      resource_id: 'sw2',
      resource_site: 'dc2',
      resource_class: 'network',
      resource_subclass: 'switch',
      resource_type: 'juniper',
      resource_endpoint: '192.0.2.11',
      resource_creation_plugin: 'discovery_from_file',
    },
    { os: 'junos', env: 'Prod' },
  ),
  resource(
    {
      resource_id: 'rt1',
      resource_site: 'dc1',
      resource_class: 'network',
      resource_subclass: 'router',
      resource_type: 'cisco',
      resource_endpoint: 'rt1.example.com',
      resource_creation_plugin: 'snmp_discovery',
    },
    { os: 'ios-xe' },
  ),
  resource(
    {
      resource_id: 'srv1',
      resource_site: 'dc2',
      resource_class: 'system',
      resource_subclass: 'server',
      resource_type: 'linux',
      resource_endpoint: '198.51.100.5',
      resource_creation_plugin: 'snmp_discovery',
    },
    {},
  ),
  resource(
    {
      resource_id: 'SW3',
      resource_site: 'DC1',
      resource_class: 'Network',
      resource_subclass: 'Switch',
      resource_type: 'Cisco',
      resource_endpoint: '192.0.2.12',
      resource_creation_plugin: 'Discovery_From_File',
    },
    { os: '', model: 'c9300' },
  ),
  resource(
    {
      resource_id: "it's",
      resource_site: 'dc3',
      resource_class: 'storage',
      resource_subclass: 'array',
      resource_type: 'netapp',
      resource_endpoint: 'a\\b',
      resource_creation_plugin: 'manual',
    },
    { note: '50%_off', quote: 'say "hi"' },
  ),
];

const ALL = RESOURCES.map((r) => r.resource_id).sort();

type Engine = (query: string) => ResourcePredicate;

const ENGINES: readonly (readonly [string, Engine])[] = [
  ['compileFilter', (query) => compileFilter(query)],
  [
    'evaluateFilter(parseFilter(q), r)',
    (query) => {
      const ast = parseFilter(query);
      return (r) => evaluateFilter(ast, r);
    },
  ],
];

function select(engine: Engine, query: string): string[] {
  const predicate = engine(query);
  return RESOURCES.filter((r) => predicate(r))
    .map((r) => r.resource_id)
    .sort();
}

function allBut(...ids: string[]): string[] {
  return ALL.filter((id) => !ids.includes(id));
}

/** [query, the ids it selects]. */
type Case = readonly [string, readonly string[]];

const RESOURCE_FIELD_CASES: readonly Case[] = [
  ["resource_site = 'dc1'", ['rt1', 'sw1']],
  ["resource_site != 'dc1'", allBut('rt1', 'sw1')],
  ["resource_site EQ 'dc2'", ['srv1', 'sw2']],
  ["resource_site NE 'dc2'", allBut('srv1', 'sw2')],
  ["resource_class = 'network'", ['rt1', 'sw1', 'sw2']],
  ["resource_subclass = 'switch'", ['sw1', 'sw2']],
  ["resource_type = 'cisco'", ['rt1', 'sw1']],
  ["resource_id = 'sw1'", ['sw1']],
  ["resource_id = 'nope'", []],
  ["resource_id != 'nope'", ALL],
  ["resource_endpoint = '192.0.2.10'", ['sw1']],
  ["resource_creation_plugin = 'snmp_discovery'", ['rt1', 'srv1']],
  ["resource_endpoint LIKE '192.0.2.%'", ['SW3', 'sw1', 'sw2']],
  ["resource_endpoint LIKE '192.0.2.1_'", ['SW3', 'sw1', 'sw2']],
  ["resource_endpoint LIKE '192.0.2.1'", []],
  ["resource_endpoint NOT LIKE '192.0.2.%'", allBut('SW3', 'sw1', 'sw2')],
  ["resource_id LIKE 'sw_'", ['sw1', 'sw2']],
  ["resource_id LIKE '%1'", ['rt1', 'srv1', 'sw1']],
  ["resource_id IN ('sw1', 'rt1', 'nope')", ['rt1', 'sw1']],
  ["resource_id NOT IN ('sw1', 'rt1', 'nope')", allBut('rt1', 'sw1')],
  ["resource_type IN ('cisco')", ['rt1', 'sw1']],
  ["resource_class = 'network' AND resource_metadata.os LIKE 'ios%'", ['rt1', 'sw1']],
  ["resource_site = 'dc1' OR resource_type = 'linux'", ['rt1', 'srv1', 'sw1']],
  ["resource_site = 'dc1' OR resource_site = 'dc2' AND resource_type = 'linux'", ['rt1', 'srv1', 'sw1']],
  ["(resource_site = 'dc1' OR resource_site = 'dc2') AND resource_type = 'cisco'", ['rt1', 'sw1']],
  ["NOT resource_site = 'dc1' AND resource_class = 'network'", ['sw2']],
  ["NOT (resource_site = 'dc1' AND resource_class = 'network')", allBut('rt1', 'sw1')],
  ["NOT NOT resource_site = 'dc1'", ['rt1', 'sw1']],
];

const VALUE_CASES: readonly Case[] = [
  // values are case-sensitive, in every operator
  ["resource_site = 'DC1'", ['SW3']],
  ["resource_class = 'Network'", ['SW3']],
  ["resource_class != 'Network'", allBut('SW3')],
  ["resource_class LIKE 'net%'", ['rt1', 'sw1', 'sw2']],
  ["resource_class LIKE 'NET%'", []],
  ["resource_class IN ('NETWORK')", []],
  ["resource_type NOT IN ('cisco')", allBut('rt1', 'sw1')],
  ["resource_metadata.env = 'prod'", ['sw1']],
  ["resource_metadata.env = 'Prod'", ['sw2']],
  // ...while keywords and field names are not
  ["RESOURCE_SITE eq 'dc1'", ['rt1', 'sw1']],
  ["Resource_Id In ('sw1') oR resource_ID like 'rt%'", ['rt1', 'sw1']],
  // escapes in values
  ["resource_id = 'it\\'s'", ["it's"]],
  ['resource_id = "it\'s"', ["it's"]],
  ["resource_endpoint = 'a\\b'", ["it's"]],
  ["resource_endpoint = 'a\\\\b'", ["it's"]],
  ['resource_metadata.quote = \'say \\"hi\\"\'', ["it's"]],
  ['resource_metadata.quote = "say \\"hi\\""', ["it's"]],
  ["resource_metadata.note LIKE '50\\%\\_%'", ["it's"]],
  ["resource_metadata.note LIKE '50__off'", ["it's"]],
  ["resource_metadata.note LIKE '50\\%x%'", []],
  ["resource_metadata.note LIKE '50\\_%'", []],
  ["resource_endpoint LIKE 'a\\b'", ["it's"]],
  ["resource_endpoint LIKE '_\\\\b'", ["it's"]],
  // '\\_' in the query text is \_ after the string escapes: a literal _ for LIKE
  ["resource_endpoint LIKE '_\\\\_'", []],
  ["resource_metadata.note LIKE '50%\\\\_off'", ["it's"]],
];

const METADATA_CASES: readonly Case[] = [
  // keys are case-sensitive
  ["resource_metadata.Model = 'C9300'", ['sw1']],
  ["resource_metadata.model = 'C9300'", []],
  ["resource_metadata.model = 'c9300'", ['SW3']],
  ["resource_metadata.MODEL = 'C9300'", []],
  ["resource_METADATA.Model = 'C9300'", ['sw1']],
  ["RESOURCE_METADATA.model != 'c9300'", allBut('SW3')],
  // a metadata key the resource lacks: =, EQ, LIKE, IN are false ...
  ["resource_metadata.env = 'prod'", ['sw1']],
  ["resource_metadata.env EQ 'prod'", ['sw1']],
  ["resource_metadata.env LIKE '%'", ['sw1', 'sw2']],
  ["resource_metadata.env LIKE '%rod'", ['sw1', 'sw2']],
  ["resource_metadata.env IN ('prod', 'Prod')", ['sw1', 'sw2']],
  ["resource_metadata.missing = ''", []],
  ["resource_metadata.missing LIKE '%'", []],
  ["resource_metadata.missing IN ('', 'x')", []],
  // ... and !=, NE, NOT LIKE, NOT IN are true
  ["resource_metadata.env != 'prod'", allBut('sw1')],
  ["resource_metadata.env NE 'prod'", allBut('sw1')],
  ["resource_metadata.env NOT LIKE '%'", allBut('sw1', 'sw2')],
  ["resource_metadata.env NOT LIKE '%rod'", allBut('sw1', 'sw2')],
  ["resource_metadata.env NOT IN ('prod', 'Prod')", allBut('sw1', 'sw2')],
  ["resource_metadata.missing != ''", ALL],
  ["resource_metadata.missing NOT LIKE '%'", ALL],
  ["resource_metadata.missing NOT IN ('', 'x')", ALL],
  // an empty value is present, not missing
  ["resource_metadata.os = ''", ['SW3']],
  ["resource_metadata.os LIKE ''", ['SW3']],
  ["resource_metadata.os LIKE '%'", allBut('srv1', "it's")],
  ["resource_metadata.os != ''", allBut('SW3')],
  ["resource_metadata.os NOT LIKE '_%'", ['SW3', 'srv1', "it's"]],
  // NOT x is the exact complement of x
  ["NOT resource_metadata.env = 'prod'", allBut('sw1')],
  ["NOT resource_metadata.env != 'prod'", ['sw1']],
  ["NOT resource_metadata.env LIKE '%'", allBut('sw1', 'sw2')],
  ["NOT resource_metadata.env NOT LIKE '%'", ['sw1', 'sw2']],
  ["NOT resource_metadata.env IN ('prod')", allBut('sw1')],
  ["NOT resource_metadata.env NOT IN ('prod')", ['sw1']],
  // names of Object.prototype members are keys like any other: absent unless the resource has them
  ["resource_metadata.toString != 'x'", ALL],
  ["resource_metadata.constructor LIKE '%'", []],
  ["resource_metadata.hasOwnProperty IN ('x')", []],
  ["resource_metadata.__proto__ NOT IN ('x')", ALL],
  ["resource_metadata.__proto__ LIKE '%'", []],
];

const ALIAS_CASES: readonly Case[] = [
  ["resource_plugin = 'snmp_discovery'", ['rt1', 'srv1']],
  ["RESOURCE_PLUGIN != 'snmp_discovery'", allBut('rt1', 'srv1')],
  ["resource_plugin LIKE 'discovery%'", ['sw1', 'sw2']],
  ["resource_plugin IN ('manual')", ["it's"]],
];

describe.each(ENGINES)('%s', (_name, engine) => {
  it.each(RESOURCE_FIELD_CASES)('resource fields: %s', (query, ids) => {
    expect(select(engine, query)).toEqual([...ids].sort());
  });

  it.each(VALUE_CASES)('values and escapes: %s', (query, ids) => {
    expect(select(engine, query)).toEqual([...ids].sort());
  });

  it.each(METADATA_CASES)('metadata: %s', (query, ids) => {
    expect(select(engine, query)).toEqual([...ids].sort());
  });

  it.each(ALIAS_CASES)('alias: %s', (query, ids) => {
    expect(select(engine, query)).toEqual([...ids].sort());
    const canonical = query.replace(/resource_plugin/i, 'resource_creation_plugin');
    expect(select(engine, canonical)).toEqual([...ids].sort());
  });

  it('NOT (q) selects exactly the complement of q, for every case above', () => {
    for (const [query] of [...RESOURCE_FIELD_CASES, ...VALUE_CASES, ...METADATA_CASES, ...ALIAS_CASES]) {
      const selected = select(engine, query);
      expect(select(engine, `NOT (${query})`), query).toEqual(ALL.filter((id) => !selected.includes(id)));
    }
  });
});

describe('evaluateFilter and compileNode on single resources', () => {
  it('read a metadata value that is present and treat an absent key as missing', () => {
    const withKey = resource({}, { k: 'v' });
    const without = resource({}, {});
    const node = eq(meta('k'), 'v');
    expect(evaluateFilter(node, withKey)).toBe(true);
    expect(evaluateFilter(node, without)).toBe(false);
    expect(compileNode(node)(withKey)).toBe(true);
    expect(compileNode(node)(without)).toBe(false);
  });

  it('do not read inherited properties of the metadata object as keys', () => {
    const r = resource({}, Object.create({ inherited: 'v' }) as Record<string, string>);
    for (const query of ["resource_metadata.inherited = 'v'", "resource_metadata.inherited LIKE '%'"]) {
      expect(compileFilter(query)(r), query).toBe(false);
      expect(evaluateFilter(parseFilter(query), r), query).toBe(false);
    }
    expect(compileFilter("resource_metadata.inherited != 'v'")(r)).toBe(true);
  });

  it('match a metadata key named __proto__ when the resource has it as an own key', () => {
    const metadata = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const r = resource({}, metadata);
    expect(compileFilter("resource_metadata.__proto__ = 'x'")(r)).toBe(true);
    expect(evaluateFilter(parseFilter("resource_metadata.__proto__ = 'x'"), r)).toBe(true);
  });
});
