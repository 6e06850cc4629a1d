/**
 * PollingAgent + ResourceActor in virtual time: the `status` group published with every run, the
 * `[transforms]` rates applied to a plugin's results, and agents that run enrichment plugins.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PollingAgent } from '../../src/actors/polling-agent.js';
import type { PollingAgentOptions } from '../../src/actors/polling-agent.js';
import { PanoptesError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { enrichmentGroupToJson, parseJson, parseMetricsGroup } from '../../src/model/index.js';
import type { EnrichmentGroup, Metric, MetricsGroup, Resource } from '../../src/model/index.js';
import type { EnrichmentPlugin, PluginContext, PollResult, PollingPlugin } from '../../src/plugins/api.js';
import { storeEnrichmentLoader } from '../../src/plugins/context.js';
import type { LoadedPlugin } from '../../src/plugins/loader.js';
import { parsePluginFile } from '../../src/plugins/plugin-file.js';
import type { PluginDefinition } from '../../src/plugins/plugin-file.js';
import { EnrichmentCache } from '../../src/streams/enrichment-cache.js';
import {
  metricsGroup,
  pluginSet,
  pollingDefinition,
  pollingPlugin,
  resource,
} from '../support/polling-fixtures.js';
import { RecordingAgent } from '../support/recording-agent.js';
import type { Published } from '../support/recording-agent.js';
import { advance, useVirtualTime } from '../support/virtual-time.js';

/** Midnight, 1 January 2024: a multiple of every period used here. */
const START = Date.UTC(2024, 0, 1);
const PERIOD = 60_000;

let agents: PollingAgent[] = [];

/** A recording agent with status groups on (the default). */
class Harness extends RecordingAgent {
  constructor(options: Partial<PollingAgentOptions> = {}) {
    super(options);
    agents.push(this.agent);
  }

  /** Runs the plugins on the resources for `periods` periods (less 10 ms: no tick of the next one). */
  async run(
    plugins: readonly LoadedPlugin[],
    resources: readonly Resource[],
    periods: number,
  ): Promise<void> {
    this.agent.setPlugins(pluginSet(...plugins));
    for (const r of resources) this.agent.upsertResource(r);
    this.agent.start();
    await advance(periods * PERIOD - 10);
  }

  of(plugin: string): Published[] {
    return this.published.filter((p) => p.plugin === plugin);
  }
}

beforeEach(() => {
  useVirtualTime(START);
});

afterEach(async () => {
  for (const agent of agents) {
    const stopping = agent.stop();
    await advance(1000);
    await stopping;
  }
  agents = [];
  vi.useRealTimers();
});

const statusGroupsOf = (groups: readonly MetricsGroup[]): MetricsGroup[] =>
  groups.filter((g) => g.metrics_group_type === 'status');

/** The polling_status of the one status group among `groups`. */
function pollingStatus(groups: readonly MetricsGroup[] | undefined): number | bigint | undefined {
  const status = statusGroupsOf(groups ?? []);
  expect(status).toHaveLength(1);
  return status[0]?.metrics.find((m) => m.metric_name === 'polling_status')?.metric_value;
}

describe('status groups', () => {
  it("every successful run publishes the plugin's groups plus one status group: plugin=<name>, polling_status 0", async () => {
    const h = new Harness();
    const r1 = resource('r1');
    let n = 0;
    await h.run(
      [pollingPlugin(pollingDefinition('if_poller'), (_ctx, r) => Promise.resolve([metricsGroup(r, ++n)]))],
      [r1],
      3,
    );
    const runs = h.of('if_poller');
    expect(runs).toHaveLength(3);
    runs.forEach((run, i) => {
      expect(run.groups).toHaveLength(2);
      expect(run.groups[0]).toEqual(metricsGroup(r1, i + 1));
      expect(run.groups[1]).toEqual({
        metrics_group_schema_version: '0.2',
        metrics_group_type: 'status',
        metrics_group_interval: 60,
        metrics_group_creation_timestamp: run.at / 1000,
        resource: r1,
        dimensions: [{ dimension_name: 'plugin', dimension_value: 'if_poller' }],
        metrics: [
          {
            metric_name: 'polling_status',
            metric_value: 0,
            metric_type: 'gauge',
            metric_creation_timestamp: run.at / 1000,
          },
        ],
      });
      expect(parseMetricsGroup(run.groups[1])).toMatchObject({ ok: true });
    });
    // The reported count is the plugin's groups.
    expect(h.statuses.map((s) => [s.status, s.groups])).toEqual([
      ['success', 1],
      ['success', 1],
      ['success', 1],
    ]);
  });

  it('a run with no groups still publishes its status group', async () => {
    const h = new Harness();
    await h.run([pollingPlugin(pollingDefinition('empty'), () => Promise.resolve([]))], [resource('r1')], 1);
    expect(h.published).toHaveLength(1);
    expect(h.published[0]?.groups.map((g) => g.metrics_group_type)).toEqual(['status']);
    expect(pollingStatus(h.published[0]?.groups)).toBe(0);
  });

  it('each resource and plugin gets its own status group', async () => {
    const h = new Harness();
    const poll = (): Promise<readonly MetricsGroup[]> => Promise.resolve([]);
    await h.run(
      [pollingPlugin(pollingDefinition('a'), poll), pollingPlugin(pollingDefinition('b'), poll)],
      [resource('r1'), resource('r2')],
      1,
    );
    const seen = h.published.map((p) => {
      const [g] = statusGroupsOf(p.groups);
      return `${g?.resource.resource_id}/${g?.dimensions[0]?.dimension_value}`;
    });
    expect(seen.sort()).toEqual(['r1/a', 'r1/b', 'r2/a', 'r2/b']);
  });

  it('a PollResult with status partial publishes its groups and polling_status 4', async () => {
    const h = new Harness();
    const r1 = resource('r1');
    await h.run(
      [
        pollingPlugin(pollingDefinition('p'), (_ctx, r): Promise<PollResult> =>
          Promise.resolve({ groups: [metricsGroup(r, 7)], status: 'partial' }),
        ),
      ],
      [r1],
      1,
    );
    expect(h.published[0]?.groups[0]).toEqual(metricsGroup(r1, 7));
    expect(pollingStatus(h.published[0]?.groups)).toBe(4);
    expect(h.statuses[0]).toMatchObject({ status: 'success', groups: 1 });
  });

  it.each([
    {
      what: 'PanoptesError SNMP_TIMEOUT',
      runStatus: 'timeout',
      code: 3,
      error: () => new PanoptesError('SNMP_TIMEOUT', 'no answer from 192.0.2.10'),
    },
    {
      what: 'PanoptesError SNMP_AUTH',
      runStatus: 'error',
      code: 1,
      error: () => new PanoptesError('SNMP_AUTH', 'unknown user name'),
    },
    {
      what: 'PanoptesError SNMP_NETWORK',
      runStatus: 'error',
      code: 2,
      error: () => new PanoptesError('SNMP_NETWORK', 'ENOTFOUND sw1'),
    },
    {
      what: 'PanoptesError SNMP_ERROR_STATUS',
      runStatus: 'error',
      code: 6,
      error: () => new PanoptesError('SNMP_ERROR_STATUS', 'noSuchName'),
    },
    {
      what: 'an errno ECONNREFUSED',
      runStatus: 'error',
      code: 2,
      error: () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    },
    { what: 'a plain Error', runStatus: 'error', code: 5, error: () => new Error('boom') },
  ] as const)(
    'a plugin that throws $what publishes only a status group ($runStatus, polling_status $code)',
    async ({ error, runStatus, code }) => {
      const h = new Harness();
      const thrown = error();
      await h.run([pollingPlugin(pollingDefinition('p'), () => Promise.reject(thrown))], [resource('r1')], 2);
      expect(h.statuses.map((s) => [s.status, s.error])).toEqual([
        [runStatus, thrown.message],
        [runStatus, thrown.message],
      ]);
      expect(h.published).toHaveLength(2);
      for (const p of h.published) {
        expect(p.groups).toHaveLength(1);
        expect(pollingStatus(p.groups)).toBe(code);
        expect(p.groups[0]?.dimensions).toEqual([{ dimension_name: 'plugin', dimension_value: 'p' }]);
        expect(parseMetricsGroup(p.groups[0])).toMatchObject({ ok: true });
      }
    },
  );

  it('a plugin that runs past its [main] timeout publishes polling_status 3', async () => {
    const h = new Harness();
    await h.run(
      [
        pollingPlugin(
          pollingDefinition('slow', { timeout: 5 }),
          (ctx) =>
            new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
            }),
        ),
      ],
      [resource('r1')],
      1,
    );
    expect(h.statuses[0]).toMatchObject({ status: 'timeout', durationMs: 5000 });
    expect(h.published).toHaveLength(1);
    expect(pollingStatus(h.published[0]?.groups)).toBe(3);
    // Published when the timeout fired.
    expect(h.published[0]?.groups[0]?.metrics_group_creation_timestamp).toBe(
      (h.statuses[0]?.dueAt ?? 0) / 1000 + 5,
    );
  });

  it('with statusGroups false, no status group is published, and a failed run publishes nothing', async () => {
    const h = new Harness({ statusGroups: false });
    await h.run(
      [
        pollingPlugin(pollingDefinition('ok'), (_ctx, r) => Promise.resolve([metricsGroup(r)])),
        pollingPlugin(pollingDefinition('bad'), () => Promise.reject(new Error('boom'))),
      ],
      [resource('r1')],
      1,
    );
    expect(h.of('ok').map((p) => p.groups.map((g) => g.metrics_group_type))).toEqual([['interface']]);
    expect(h.of('bad')).toEqual([]);
    expect(h.statuses.map((s) => `${s.plugin}:${s.status}`).sort()).toEqual(['bad:error', 'ok:success']);
  });
});

/** A plugin definition with a [transforms] section. */
function ratesDefinition(name: string, transforms: string): PluginDefinition {
  return parsePluginFile(
    [
      '[Core]',
      `Name = ${name}`,
      `Module = ./${name}.mjs`,
      '[main]',
      'execute_frequency = 60',
      '[transforms]',
      transforms,
    ].join('\n'),
    `/plugins/${name}.panoptes-plugin`,
  );
}

/** An interface group at the current (virtual) time. */
function interfaceGroup(
  r: Resource,
  name: string,
  metrics: readonly Omit<Metric, 'metric_creation_timestamp'>[],
): MetricsGroup {
  const ts = Date.now() / 1000;
  return {
    metrics_group_schema_version: '0.2',
    metrics_group_type: 'interface',
    metrics_group_interval: 60,
    metrics_group_creation_timestamp: ts,
    resource: r,
    dimensions: [{ dimension_name: 'interface_name', dimension_value: name }],
    metrics: metrics.map((m) => ({ ...m, metric_creation_timestamp: ts })),
  };
}

const gaugesOf = (g: MetricsGroup | undefined): Record<string, number | bigint> =>
  Object.fromEntries(
    (g?.metrics ?? []).filter((m) => m.metric_type === 'gauge').map((m) => [m.metric_name, m.metric_value]),
  );

describe('[transforms] rates', () => {
  it('a growing bits_in counter gets a bits_in gauge from the second run on, with the right rate', async () => {
    const h = new Harness();
    const r1 = resource('r1');
    let run = 0;
    const poll: PollingPlugin['poll'] = (_ctx, r) => {
      run++;
      return Promise.resolve([
        interfaceGroup(r, 'Gi0/1', [
          { metric_name: 'bits_in', metric_value: 1_000_000 + 6000 * run * run, metric_type: 'counter' },
          { metric_name: 'bits_out', metric_value: 500 * run, metric_type: 'counter' },
        ]),
        interfaceGroup(r, 'Gi0/2', [
          { metric_name: 'bits_in', metric_value: 60 * run, metric_type: 'counter' },
        ]),
      ]);
    };
    await h.run(
      [
        {
          definition: ratesDefinition('if_rates', 'rates = rate:interface:bits_in'),
          kind: 'polling',
          instance: { poll },
          version: 'v1',
        },
      ],
      [r1],
      4,
    );
    const runs = h.of('if_rates');
    expect(runs).toHaveLength(4);
    // bits_in of Gi0/1 grows by 6000 * (2k - 1) in run k: 18000, 30000, 42000 over 60 s.
    expect(runs.map((p) => gaugesOf(p.groups[0]))).toEqual([
      {},
      { bits_in: 300 },
      { bits_in: 500 },
      { bits_in: 700 },
    ]);
    // Gi0/2 is its own series.
    expect(runs.map((p) => gaugesOf(p.groups[1]))).toEqual([
      {},
      { bits_in: 1 },
      { bits_in: 1 },
      { bits_in: 1 },
    ]);
    for (const p of runs) {
      // The counters stay; bits_out has no rule; the status group comes last.
      expect(p.groups.map((g) => g.metrics_group_type)).toEqual(['interface', 'interface', 'status']);
      expect(
        p.groups[0]?.metrics.filter((m) => m.metric_type === 'counter').map((m) => m.metric_name),
      ).toEqual(['bits_in', 'bits_out']);
      for (const g of p.groups) expect(parseMetricsGroup(g)).toMatchObject({ ok: true });
    }
    const second = runs[1]?.groups[0];
    expect(second?.metrics.find((m) => m.metric_type === 'gauge')?.metric_creation_timestamp).toBe(
      (runs[1]?.at ?? 0) / 1000,
    );
    // One series per interface in the plugin's history.
    expect(h.agent.actor('r1')?.counterHistory('if_rates')?.size).toBe(2);
  });

  it('uses the counter hints and sysUpTime of a PollResult: a scaled Counter32 wrap, then a reboot', async () => {
    const h = new Harness();
    const TWO_32 = 2 ** 32;
    // ifInOctets at each run (10,000 octets/s), and sysUpTime; the device reboots before run 4.
    const octets = [TWO_32 - 300_000, 300_000, 900_000, 5_000, 605_000];
    const upTime = [1_000_000, 1_006_000, 1_012_000, 3_000, 9_000];
    let run = 0;
    const poll: PollingPlugin['poll'] = (_ctx, r): Promise<PollResult> => {
      const i = run++;
      const g = interfaceGroup(r, 'Gi0/1', [
        { metric_name: 'bits_in', metric_value: (octets[i] ?? 0) * 8, metric_type: 'counter' },
      ]);
      return Promise.resolve({
        groups: [g],
        sysUpTime: upTime[i] ?? 0,
        counters: new Map([[g, { bits_in: { width: 32, scale: 8, maxPerSecond: 1_000_000_000 } }]]),
      });
    };
    await h.run(
      [
        {
          definition: ratesDefinition('if_rates', 'rates = rate:interface:bits_in'),
          kind: 'polling',
          instance: { poll },
          version: 'v1',
        },
      ],
      [resource('r1')],
      5,
    );
    expect(h.of('if_rates').map((p) => gaugesOf(p.groups[0]))).toEqual([
      {},
      { bits_in: 80_000 }, // wrapped at 2^32 * 8
      { bits_in: 80_000 },
      {}, // rebooted
      { bits_in: 80_000 },
    ]);
  });

  it('without a hint a decrease is a reset: no rate', async () => {
    const h = new Harness();
    const values = [5000, 11_000, 20, 6020];
    let run = 0;
    const poll: PollingPlugin['poll'] = (_ctx, r) =>
      Promise.resolve([
        interfaceGroup(r, 'Gi0/1', [
          { metric_name: 'bits_in', metric_value: values[run++] ?? 0, metric_type: 'counter' },
        ]),
      ]);
    await h.run(
      [
        {
          definition: ratesDefinition('if_rates', 'rates = rate:interface:bits_in'),
          kind: 'polling',
          instance: { poll },
          version: 'v1',
        },
      ],
      [resource('r1')],
      4,
    );
    expect(h.of('if_rates').map((p) => gaugesOf(p.groups[0]))).toEqual([
      {},
      { bits_in: 100 },
      {},
      { bits_in: 100 },
    ]);
  });

  it('a failed run in between does not break the rates of the runs around it', async () => {
    const h = new Harness();
    let run = 0;
    const poll: PollingPlugin['poll'] = (_ctx, r) => {
      run++;
      if (run === 2) return Promise.reject(new PanoptesError('SNMP_TIMEOUT', 'no answer'));
      return Promise.resolve([
        interfaceGroup(r, 'Gi0/1', [
          { metric_name: 'bits_in', metric_value: 6000 * run, metric_type: 'counter' },
        ]),
      ]);
    };
    await h.run(
      [
        {
          definition: ratesDefinition('if_rates', 'rates = rate:interface:bits_in'),
          kind: 'polling',
          instance: { poll },
          version: 'v1',
        },
      ],
      [resource('r1')],
      3,
    );
    const runs = h.of('if_rates');
    expect(runs.map((p) => pollingStatus(p.groups))).toEqual([0, 3, 0]);
    // Run 3 is 120 s after run 1 (within 3 intervals): 12000 over 120 s.
    expect(gaugesOf(runs[2]?.groups[0])).toEqual({ bits_in: 100 });
  });
});

/** An enrichment plugin: interface names and speeds of a resource, in its [main] namespace. */
class InterfaceEnrichment implements EnrichmentPlugin {
  readonly calls: { resourceId: string; at: number }[] = [];
  namespace: string | undefined;

  enrich(ctx: PluginContext, r: Resource): Promise<readonly EnrichmentGroup[]> {
    this.calls.push({ resourceId: r.resource_id, at: Date.now() });
    return Promise.resolve([
      {
        namespace: this.namespace ?? ctx.config.namespace ?? 'interface',
        enrichment_ttl: ctx.config.enrichmentTtlSeconds,
        execute_frequency: ctx.config.executeFrequencySeconds,
        creation_timestamp: Date.now() / 1000,
        data: {
          '1': { interface_name: 'Gi0/1', speed: 10_000_000_000 },
          '2': { interface_name: 'Gi0/2', speed: 2n ** 64n - 1n },
        },
      },
    ]);
  }
}

function enrichmentPlugin(instance: EnrichmentPlugin, name = 'if_enrichment'): LoadedPlugin {
  return {
    definition: pollingDefinition(name, { namespace: 'interface', enrichment_ttl: 900 }),
    kind: 'enrichment',
    instance,
    version: 'v1',
  };
}

describe('enrichment agents', () => {
  it("with kinds ['enrichment'] runs enrichment plugins only, and stores their groups with their TTL", async () => {
    const loads: string[] = [];
    const cache = new EnrichmentCache({
      load: (id, ns) => {
        loads.push(`${id}/${ns}`);
        return Promise.resolve(undefined);
      },
    });
    const h = new Harness({ kinds: ['enrichment'], enrichmentCache: cache });
    const plugin = new InterfaceEnrichment();
    let polled = 0;
    const poller = pollingPlugin(pollingDefinition('if_poller'), () => {
      polled++;
      return Promise.resolve([]);
    });
    await h.run([enrichmentPlugin(plugin), poller], [resource('r1'), resource('r2')], 1);
    expect(polled).toBe(0);
    expect(h.agent.actor('r1')?.pluginNames).toEqual(['if_enrichment']);
    expect(plugin.calls.map((c) => c.resourceId).sort()).toEqual(['r1', 'r2']);
    expect(h.statuses.map((s) => s.status)).toEqual(['success', 'success']);

    const call = plugin.calls.find((c) => c.resourceId === 'r1');
    const key = h.keys.enrichment('r1', 'interface');
    expect(key).toBe('panoptes:enrichment:r1:interface');
    // Stored when the run ended (at the call: the plugin answers at once), for 900 s.
    expect(await h.store.ttlMs(key)).toBe(900_000 - (Date.now() - (call?.at ?? 0)));
    const expected: EnrichmentGroup = {
      namespace: 'interface',
      enrichment_ttl: 900,
      execute_frequency: 60,
      creation_timestamp: (call?.at ?? 0) / 1000,
      data: {
        '1': { interface_name: 'Gi0/1', speed: 10_000_000_000 },
        '2': { interface_name: 'Gi0/2', speed: 2n ** 64n - 1n },
      },
    };
    // The wire form, 64-bit value exact; read back by the store loader as the same group.
    expect(parseJson((await h.store.get(key)) ?? '')).toEqual(enrichmentGroupToJson(expected));
    expect(await storeEnrichmentLoader(h.store, h.keys, silentLogger)('r1', 'interface')).toEqual(expected);
    // Written through to the given cache: found there without a load.
    expect(await cache.get('r1', 'interface')).toEqual(expected);
    expect(await cache.get('r2', 'interface')).toMatchObject({ namespace: 'interface' });
    expect(loads).toEqual([]);
    expect(cache.stats).toMatchObject({ hits: 2, loads: 0 });

    // Stored groups expire with their TTL (once the resource is gone and nothing rewrites them).
    expect(await h.agent.removeResource('r1')).toBe(true);
    const lastWrite = Math.max(...plugin.calls.filter((c) => c.resourceId === 'r1').map((c) => c.at));
    await advance(lastWrite + 900_000 - 1 - Date.now(), 1000);
    expect(await h.store.get(key)).toBeDefined();
    await advance(1);
    expect(await h.store.get(key)).toBeUndefined();
  });

  it('the default kinds run polling plugins only', async () => {
    const h = new Harness();
    const plugin = new InterfaceEnrichment();
    await h.run([enrichmentPlugin(plugin)], [resource('r1')], 1);
    expect(plugin.calls).toEqual([]);
    expect(h.agent.actor('r1')?.pluginNames).toEqual([]);
    expect(await h.store.get(h.keys.enrichment('r1', 'interface'))).toBeUndefined();
  });

  it('an enrichment plugin returning an invalid group makes the run an error and stores nothing', async () => {
    const loads: string[] = [];
    const cache = new EnrichmentCache({
      load: (id, ns) => {
        loads.push(`${id}/${ns}`);
        return Promise.resolve(undefined);
      },
    });
    const h = new Harness({ kinds: ['enrichment'], enrichmentCache: cache });
    const valid = new InterfaceEnrichment();
    const mixed: EnrichmentPlugin = {
      async enrich(ctx, r) {
        const [good] = await valid.enrich(ctx, r);
        if (good === undefined) throw new Error('no group');
        return [good, { ...good, namespace: 'bad name' }];
      },
    };
    await h.run([enrichmentPlugin(mixed)], [resource('r1')], 2);
    expect(h.statuses.map((s) => s.status)).toEqual(['error', 'error']);
    expect(h.statuses[0]?.error).toContain('enrichment[1].namespace');
    expect(h.statuses[0]?.error).toContain('r1');
    // Not even the valid group of the run is stored, nor put in the cache.
    expect(await h.store.get(h.keys.enrichment('r1', 'interface'))).toBeUndefined();
    expect(await h.store.get(h.keys.enrichment('r1', 'bad name'))).toBeUndefined();
    expect(await cache.get('r1', 'interface')).toBeUndefined();
    expect(loads).toEqual(['r1/interface']);
  });
});
