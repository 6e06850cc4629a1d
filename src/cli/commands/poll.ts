/**
 * `panoptes poll --config SITE --resources FILE [--runs N] [--every SECONDS]`
 *
 * The place to try a new device or profile: for each resource, the enrichment plugins that
 * match it, then the polling plugins that match it, once (or N times, `--every` seconds apart,
 * so that counters become rates). Every metrics group, the `status` group of every run
 * included, is printed as one Panoptes JSON line on stdout; a summary goes to stderr, logs
 * (JSON) too. The simulator of the site configuration, if it has one, is started for the
 * command. Nothing is published or stored outside this process; `--enrichment-out FILE` writes
 * the enrichment groups made, one JSON per line, to look at what polling joined.
 *
 * Exit status: 0 when every poll succeeded (polling_status 0), 1 otherwise (the groups are
 * still printed) or when the configuration or resources are invalid, 2 for a usage error.
 */
import { writeFile } from 'node:fs/promises';
import { Keeper } from '../../actors/keeper.js';
import { PollingAgent } from '../../actors/polling-agent.js';
import { outcomePollingStatus } from '../../actors/run-status.js';
import { loadSiteConfig } from '../../config/site-config.js';
import type { SiteConfig } from '../../config/site-config.js';
import { errorMessage } from '../../errors.js';
import { createLogger } from '../../log.js';
import type { Logger } from '../../log.js';
import {
  metricsGroupToJson,
  parseResourceDocument,
  pollingStatusGroup,
  PollingStatus,
  stringifyJson,
} from '../../model/index.js';
import type { MetricsGroup, PollingStatusName, Resource } from '../../model/index.js';
import type { LoadedPlugin } from '../../plugins/loader.js';
import {
  startConfiguredGnmiSimulator,
  startConfiguredSimulator,
  startPluginRuntime,
  storeSecrets,
} from '../../stages/plugin-runtime.js';
import { CounterHistory } from '../../streams/counter-rate.js';
import { applyRateTransforms } from '../../streams/rate-transform.js';
import { storeKeys } from '../../store/keys.js';
import { MemoryStore } from '../../store/memory-store.js';
import type { PollCliOptions } from '../args.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';
import { readJsonInput } from '../read-input.js';

export interface PollSummary {
  readonly resources: number;
  readonly runs: number;
  readonly groups: number;
  /** Runs by polling status name. */
  readonly statuses: Readonly<Record<string, number>>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the command; returns the exit status. */
export async function runPoll(
  options: PollCliOptions,
  io: CliIo = processIo,
  logger?: Logger,
): Promise<number> {
  const log = logger ?? createLogger('panoptes-poll', process.env['PANOPTES_LOG_LEVEL'] ?? 'warn', 2);
  let config: SiteConfig;
  try {
    config = await loadSiteConfig(options.config);
  } catch (e) {
    io.err(`${errorMessage(e)}\n`);
    return EXIT.FAILED;
  }
  const read = await readJsonInput(options.resources, io);
  if (!read.ok) return read.exit;
  const doc = parseResourceDocument(read.value);
  if (doc.issues.length > 0) {
    for (const i of doc.issues) io.err(`${options.resources}: ${i.path}: ${i.message}\n`);
    return EXIT.FAILED;
  }

  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const store = new MemoryStore();
    cleanups.push(() => store.close());
    const keys = storeKeys(config.store.key_prefix);
    await storeSecrets(config, store, keys);
    let simulatorPort: number | undefined;
    let gnmiPort: number | undefined;
    if (config.simulator !== undefined) {
      const simulator = await startConfiguredSimulator(config, log);
      cleanups.push(() => simulator.close());
      simulatorPort = simulator.port;
      const gnmi = await startConfiguredGnmiSimulator(config, simulator, log);
      if (gnmi !== undefined) {
        cleanups.push(() => gnmi.close());
        gnmiPort = gnmi.port;
      }
    }
    const runtime = await startPluginRuntime(config, {
      store,
      keys,
      logger: log,
      ...(simulatorPort === undefined ? {} : { simulatorPort }),
      ...(gnmiPort === undefined ? {} : { gnmiPort }),
      rescanIntervalMs: 0,
    });
    cleanups.push(() => runtime.close());
    const { contextFactory, enrichmentCache, loader } = runtime;
    for (const [file, problem] of loader.problems) io.err(`${file}: ${errorMessage(problem)}\n`);
    const agent = new PollingAgent({
      logger: log,
      store,
      keys,
      contextFactory,
      publish: () => Promise.resolve(),
      distributedGuards: false,
      kinds: ['enrichment', 'polling'],
      enrichmentCache,
    });
    const plugins = [...loader.plugins.values()];
    const matching = (r: Resource, kind: 'enrichment' | 'polling'): LoadedPlugin[] =>
      plugins.filter((p) => p.kind === kind && (p.definition.filter === undefined || p.definition.filter(r)));

    const runs = options.runs ?? 1;
    const statuses: Record<string, number> = {};
    let groupsPrinted = 0;
    let runCount = 0;
    const histories = new Map<string, CounterHistory>();
    // What plugins keep between runs (a gNMI stream), per resource and plugin, as an actor would.
    const keepers = new Map<string, Keeper>();
    cleanups.push(() => {
      for (const k of keepers.values()) k.close('panoptes poll is done');
      return Promise.resolve();
    });
    const print = (groups: readonly MetricsGroup[]): void => {
      for (const g of groups) io.out(`${stringifyJson(metricsGroupToJson(g))}\n`);
      groupsPrinted += groups.length;
    };
    const enrichmentLines: string[] = [];
    for (const resource of doc.items) {
      for (const p of matching(resource, 'enrichment')) {
        const outcome = await agent.run(resource, p, new AbortController()).outcome;
        if (outcome.status !== 'success') {
          io.err(`${resource.resource_id}: enrichment ${p.definition.name}: ${outcome.error}\n`);
        }
      }
      if (options.enrichmentOut !== undefined) {
        const prefix = keys.enrichment(resource.resource_id, '');
        for (const key of (await store.keys(prefix)).sort()) {
          const text = await store.get(key);
          if (text === undefined) continue;
          enrichmentLines.push(
            `{"resource_id":${JSON.stringify(resource.resource_id)},"namespace":${JSON.stringify(key.slice(prefix.length))},"enrichment":${text}}\n`,
          );
        }
      }
    }
    if (options.enrichmentOut !== undefined) await writeFile(options.enrichmentOut, enrichmentLines.join(''));
    for (let n = 0; n < runs; n++) {
      if (n > 0) await sleep((options.every ?? 60) * 1000);
      for (const resource of doc.items) {
        for (const p of matching(resource, 'polling')) {
          const def = p.definition;
          const key = `${resource.resource_id}\u0000${def.name}`;
          let keeper = keepers.get(key);
          if (keeper === undefined)
            keepers.set(key, (keeper = new Keeper(`${def.name} on ${resource.resource_id}`, log)));
          const outcome = await agent.run(resource, p, new AbortController(), keeper).outcome;
          runCount++;
          const status: PollingStatusName = outcomePollingStatus(outcome);
          let groups: readonly MetricsGroup[] = [];
          if (outcome.status === 'success') {
            const history = histories.get(key) ?? new CounterHistory();
            histories.set(key, history);
            groups = applyRateTransforms({
              resourceId: resource.resource_id,
              groups: outcome.groups,
              transforms: def.transforms,
              history,
              ...(outcome.sysUpTime === undefined ? {} : { sysUpTime: outcome.sysUpTime }),
              ...(outcome.counters === undefined ? {} : { counters: outcome.counters }),
            }).groups;
          } else {
            io.err(`${resource.resource_id}: ${def.name}: ${outcome.error}\n`);
          }
          statuses[status] = (statuses[status] ?? 0) + 1;
          print([
            ...groups,
            pollingStatusGroup(
              resource,
              def.name,
              status,
              def.executeFrequencySeconds,
              Math.round(Date.now()) / 1000,
            ),
          ]);
        }
      }
    }
    const summary: PollSummary = {
      resources: doc.items.length,
      runs: runCount,
      groups: groupsPrinted,
      statuses,
    };
    const by = Object.entries(statuses)
      .map(([s, k]) => `${k} ${s} (${PollingStatus[s as PollingStatusName]})`)
      .join(', ');
    io.err(
      `polled ${summary.resources} resources: ${summary.runs} runs, ${summary.groups} groups; ${by || 'no run'}\n`,
    );
    if (runCount === 0) io.err('no polling plugin matches these resources\n');
    const failed = Object.entries(statuses).some(([s, k]) => s !== 'success' && k > 0);
    return failed || runCount === 0 ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    io.err(`${errorMessage(e)}\n`);
    return EXIT.FAILED;
  } finally {
    for (const c of cleanups.reverse())
      await Promise.resolve(c()).catch((e: unknown) => io.err(`cleanup failed: ${errorMessage(e)}\n`));
  }
}
