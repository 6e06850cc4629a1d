/**
 * One subject of the gnmi benchmark, run as a process of its own so that its CPU time is its own
 * (the simulator runs in another process): a fleet of synthetic devices x 24 interfaces, every
 * interval, from the wire to rated `interface` groups, the way a polling node does it.
 *
 *   gnmi   a GnmiStream per device (its own GnmiClient and HTTP/2 connection, prefix target
 *          sim-DDDDD, SAMPLE every interval, the openconfig-interfaces mapping), opened at the
 *          device's slot in the interval as its resource actor would; half an interval after
 *          that slot, every interval, stream.collect() and applyRateTransforms() with the
 *          device's own CounterHistory, pruned as the resource actor prunes it.
 *   snmp   the interface-polling plugin (if-mib profile, enrichment joined) run by a
 *          PollingAgent as `panoptes poll` runs it, at the device's slot every interval, then
 *          the same rate transform and pruning. Interface enrichment runs once per device
 *          before anything is measured (hourly in a deployment).
 *   gnmi-plugin  the gnmi-telemetry plugin run by a PollingAgent the same way (it opens its
 *          stream on its first run and keeps it in the device's Keeper), then the rate transform.
 *
 * Both turn the same eight counters into rates. Cycles of the schedule: 0 is the warm-up (the
 * baseline of every series), 1..M are measured (process.cpuUsage over exactly those slots,
 * and the counts of what they gave), M+1 checks every rate of every interface against the
 * simulator's formulas (src/sim/synthetic.ts) within 1%; a failed check fails the subject.
 *
 *   node --expose-gc --import tsx bench/gnmi-subject.ts '<SubjectTask as JSON>'
 *
 * Writes JSON lines on stdout: `{"progress":TEXT}`, `{"mark":"start"|"end"}` when the measured
 * window opens and closes (the parent reads the simulator's CPU then), and last
 * `{"result":SubjectResult}`. Logs (warnings) go to stderr.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keeper } from '../src/actors/keeper.js';
import { PollingAgent } from '../src/actors/polling-agent.js';
import { parseSiteConfig } from '../src/config/site-config.js';
import { GnmiClient } from '../src/gnmi/client.js';
import { parseMapping } from '../src/gnmi/mapping.js';
import { GnmiStream, gnmiTelemetry } from '../src/gnmi/stream.js';
import { createLogger } from '../src/log.js';
import type { MetricsGroup, Resource } from '../src/model/index.js';
import { syntheticCommunity } from '../src/sim/synthetic.js';
import { startPluginRuntime } from '../src/stages/plugin-runtime.js';
import type { PluginRuntime } from '../src/stages/plugin-runtime.js';
import { CounterHistory } from '../src/streams/counter-rate.js';
import { applyRateTransforms } from '../src/streams/rate-transform.js';
import type { RateRule } from '../src/streams/rate-transform.js';
import { storeKeys } from '../src/store/keys.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { pluginFile, simulatedResources } from '../test/support/lab.js';

/** The counters both subjects turn into rates: those the gNMI plugin file's [transforms] names. */
export const RATE_COUNTERS = [
  'bits_in',
  'bits_out',
  'unicast_packets_in',
  'unicast_packets_out',
  'errors_in',
  'errors_out',
  'discards_in',
  'discards_out',
] as const;

export interface SubjectTask {
  /** gnmi: GnmiStreams driven directly; gnmi-plugin: the gnmi-telemetry plugin; snmp: interface-polling. */
  readonly kind: 'gnmi' | 'gnmi-plugin' | 'snmp';
  readonly devices: number;
  readonly interfaces: number;
  readonly intervalSeconds: number;
  /** Measured intervals (cycles 1..M of the schedule). */
  readonly intervals: number;
  /** The simulator's SNMP port (snmp) or gNMI port (gnmi), on 127.0.0.1. */
  readonly port: number;
  /** gnmi: how the target encodes values (JSON_IETF: a container per update; PROTO: a leaf per update). */
  readonly encoding?: 'JSON_IETF' | 'PROTO';
  /**
   * gnmi: every device over one HTTP/2 connection. grpc-js shares a connection between channels
   * to the same address with the same options (its global subchannel pool), and the simulator
   * serves every device at one address; so by default each client is given options of its own
   * (a TLS server name, unused in plaintext) to get a connection of its own, as devices at
   * addresses of their own do.
   */
  readonly sharedConnection?: boolean;
}

export interface SubjectResult {
  readonly cpuSeconds: number;
  readonly systemSeconds: number;
  /** CPU seconds of each measured interval. */
  readonly perInterval: readonly number[];
  readonly wallSeconds: number;
  /** gNMI Update messages (stream.stats.updates) or SNMP varbinds, over the window. */
  readonly updates: number;
  readonly notifications: number;
  /** Device runs (collects or polls) whose slot was in the window. */
  readonly runs: number;
  readonly failedRuns: number;
  readonly firstFailure?: string;
  readonly interfaceGroups: number;
  readonly expectedInterfaceGroups: number;
  readonly rates: number;
  readonly rateSkips: Readonly<Record<string, number>>;
  /** Runs that started more than 1 s after their slot (this process could not keep up). */
  readonly lateRuns: number;
  readonly reconnects: number;
  readonly malformed: number;
  readonly unusable: number;
  readonly baseRss: number;
  readonly baseHeap: number;
  readonly rss: number;
  readonly heap: number;
  /** Interfaces whose 8 rates the check cycle compared with the formulas. */
  readonly checked: number;
}

type Message = { progress: string } | { mark: 'start' | 'end' } | { result: SubjectResult };

const send = (m: Message): void => {
  process.stdout.write(`${JSON.stringify(m)}\n`);
};

const PLUGINS = fileURLToPath(new URL('../plugins/', import.meta.url));

function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function resources(devices: number): Resource[] {
  const now = Date.now() / 1000;
  return simulatedResources(devices, 'bench').map(
    (r) => ({ ...r, resource_creation_timestamp: now }) as unknown as Resource,
  );
}

/** The rate the simulator's formulas give for counter `name` of interface i of device d, per second. */
export function expectedRate(name: string, d: number, i: number): number {
  const di = d * i;
  switch (name) {
    case 'bits_in':
      return 8 * 1000 * di;
    case 'bits_out':
      return 8 * 500 * di;
    case 'unicast_packets_in':
      return 10 * di;
    case 'unicast_packets_out':
      return 5 * di;
    default:
      // errors and discards: one per second on the oper-down interfaces (every 7th).
      return i % 7 === 0 ? 1 : 0;
  }
}

/**
 * What is wrong with the rates of one interface group, or undefined. Within 1%; the error and
 * discard counters, one a second, count whole units, so they may be off by one count over the
 * interval.
 */
function rateProblem(group: MetricsGroup, d: number, intervalSeconds: number): string | undefined {
  const name = group.dimensions.find((x) => x.dimension_name === 'interface_name')?.dimension_value ?? '';
  const i = Number(/(\d+)$/.exec(name)?.[1] ?? NaN);
  if (!Number.isInteger(i)) return `an interface group without a Gi0/N name (${name})`;
  for (const counter of RATE_COUNTERS) {
    const m = group.metrics.find((x) => x.metric_name === counter && x.metric_type === 'gauge');
    if (m === undefined) return `${syntheticCommunity(d)} ${name}: no ${counter} rate`;
    const got = Number(m.metric_value);
    const want = expectedRate(counter, d, i);
    const tolerance = want >= 100 ? 0.01 * want : 1.5 / intervalSeconds;
    if (!(Math.abs(got - want) <= tolerance))
      return `${syntheticCommunity(d)} ${name}: ${counter} rate ${got}, the simulator's formula gives ${want}`;
  }
  return undefined;
}

interface RunResult {
  readonly groups: readonly MetricsGroup[];
  readonly rates: number;
  readonly skipped: Readonly<Record<string, number>>;
}

/** The interface groups of a rate transform's output, with its counts. */
function interfaceResult(out: ReturnType<typeof applyRateTransforms>): RunResult {
  return {
    groups: out.groups.filter((g) => g.metrics_group_type === 'interface'),
    rates: out.rates,
    skipped: out.skipped,
  };
}

interface Counters {
  cpu: NodeJS.CpuUsage;
  updates: number;
  notifications: number;
  wall: number;
}

/** The subject's moving parts, as the two kinds differ. */
interface Harness {
  /** Updates and notifications received so far. */
  counts(): { updates: number; notifications: number };
  /** Called at the slot of device k (0-based): its interface groups after the rate transform. */
  run(k: number): Promise<RunResult>;
  /**
   * Before cycle 0; resolves with when the slot of device 0 in cycle 0 is (epoch ms). gnmi: the
   * streams open at their devices' slots over the interval from now, cycle 0 half an interval later.
   */
  prepare(progress: (t: string) => void): Promise<number>;
  /** Stream figures (gnmi). */
  streamStats(): { reconnects: number; malformed: number; unusable: number };
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gnmiHarness(task: SubjectTask, transforms: readonly RateRule[]): Harness {
  const file = join(PLUGINS, 'gnmi', 'openconfig-interfaces.yaml');
  const mapping = parseMapping(readFileSync(file, 'utf8'), file);
  const logger = createLogger('gnmi-bench', process.env['GNMI_BENCH_LOG'] ?? 'warn', 2);
  const fleet = resources(task.devices);
  const streams: (GnmiStream | undefined)[] = fleet.map(() => undefined);
  const histories = fleet.map(() => new CounterHistory());
  const interval = task.intervalSeconds;
  let opening: Promise<void> = Promise.resolve();
  const open = (k: number): GnmiStream => {
    const id = (fleet[k] as Resource).resource_id;
    const client = new GnmiClient({
      target: `127.0.0.1:${task.port}`,
      insecure: true,
      ...(task.sharedConnection === true ? {} : { tls: { serverName: id } }),
    });
    return new GnmiStream({
      client,
      device: id,
      mappings: [mapping],
      sampleIntervalMs: interval * 1000,
      encoding: task.encoding ?? 'JSON_IETF',
      prefixTarget: id,
      logger,
    }).start();
  };
  return {
    counts: () => {
      let updates = 0;
      let notifications = 0;
      for (const s of streams) {
        updates += s?.stats.updates ?? 0;
        notifications += s?.stats.notifications ?? 0;
      }
      return { updates, notifications };
    },
    prepare: (progress) => {
      // Each stream opens at its device's slot (as the plugin's first run opens it), so the
      // targets' SAMPLE timers are spread over the interval as a fleet's are, and each collect
      // comes half an interval after its stream's samples.
      const step = (interval * 1000) / task.devices;
      const t0 = Date.now();
      opening = (async () => {
        for (let k = 0; k < fleet.length; k++) {
          const wait = t0 + k * step - Date.now();
          if (wait > 0) await sleep(wait);
          streams[k] = open(k);
          if (k % 250 === 249) progress(`gnmi: ${k + 1} of ${task.devices} streams open`);
        }
      })();
      return Promise.resolve(t0 + interval * 500);
    },
    run: async (k) => {
      const stream = streams[k];
      if (stream === undefined) {
        await opening;
        throw new Error(`${syntheticCommunity(k + 1)}: its stream is not open yet`);
      }
      const history = histories[k] as CounterHistory;
      const resource = fleet[k] as Resource;
      const now = Date.now() / 1000;
      const { groups, counters } = stream.collect(resource, now, interval);
      const out = applyRateTransforms({
        resourceId: resource.resource_id,
        groups,
        transforms,
        history,
        counters,
      });
      history.prune(now - 4 * interval);
      return interfaceResult(out);
    },
    streamStats: () => {
      const t = { reconnects: 0, malformed: 0, unusable: 0 };
      for (const s of streams) {
        t.reconnects += s?.stats.reconnects ?? 0;
        t.malformed += s?.stats.malformed ?? 0;
        t.unusable += s?.stats.unusable ?? 0;
      }
      return t;
    },
    close: async () => {
      await opening;
      for (const s of streams) s?.close('benchmark done');
    },
  };
}

/**
 * A polling plugin run by a PollingAgent as `panoptes poll` runs it (a Keeper per device for
 * what the plugin keeps between runs), then the rate transform: `snmp` (interface-polling,
 * after one interface enrichment per device) or `gnmi-plugin` (gnmi-telemetry).
 */
async function pluginHarness(task: SubjectTask): Promise<Harness> {
  const snmp = task.kind === 'snmp';
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-bench-gnmi-'));
  await mkdir(join(dir, 'plugins'));
  const network = "resource_filter = resource_class = 'network'";
  const every = `execute_frequency = ${task.intervalSeconds}\ntimeout = ${task.intervalSeconds - 1}\n${network}`;
  const rates = `[transforms]\nrates = rate:interface:${RATE_COUNTERS.join(',')}\n`;
  const files: Record<string, string> = snmp
    ? {
        'enrichment.panoptes-plugin': pluginFile(
          'interface-enrichment',
          'interface-enrichment.js',
          `execute_frequency = 3600\nnamespace = interface\n${network}`,
        ),
        'polling.panoptes-plugin': pluginFile(
          'interface-polling',
          'interface-polling.js',
          every,
          `[snmp]\nmax_repetitions = 520\n[enrichment]\npreload = interface-enrichment:interface\n${rates}`,
        ),
      }
    : {
        'polling.panoptes-plugin': pluginFile(
          'gnmi-telemetry',
          'gnmi-telemetry.js',
          every,
          `${rates}[options]\ninsecure = true\nmappings = openconfig-interfaces\n` +
            `encoding = ${task.encoding ?? 'JSON_IETF'}\n`,
        ),
      };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'plugins', name), text);
  const config = parseSiteConfig(
    [
      'site: bench',
      'plugins: {directories: [plugins], rescan_seconds: 0, builtin: false}',
      `snmp: {port: ${snmp ? task.port : 161}, timeout_ms: 5000, retries: 1, max_in_flight: 4000}`,
      '',
    ].join('\n'),
    join(dir, 'site.yaml'),
  );
  const logger = createLogger('gnmi-bench', process.env['GNMI_BENCH_LOG'] ?? 'warn', 2);
  const store = new MemoryStore();
  const keys = storeKeys(config.store.key_prefix);
  let runtime: PluginRuntime | undefined;
  try {
    runtime = await startPluginRuntime(config, { store, keys, logger, rescanIntervalMs: 0 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { engine, contextFactory, enrichmentCache, loader } = runtime;
  const agent = new PollingAgent({
    logger,
    store,
    keys,
    contextFactory,
    publish: () => Promise.resolve(),
    distributedGuards: false,
    kinds: ['enrichment', 'polling'],
    enrichmentCache,
  });
  const plugins = [...loader.plugins.values()];
  const enrichment = plugins.find((p) => p.kind === 'enrichment');
  const polling = plugins.find((p) => p.kind === 'polling');
  if (polling === undefined || (snmp && enrichment === undefined))
    throw new Error(`gnmi bench: the plugins did not load: ${[...loader.problems.values()].join('; ')}`);
  const fleet = resources(task.devices).map((r) =>
    snmp
      ? r
      : {
          ...r,
          resource_metadata: { gnmi_port: String(task.port), gnmi_target: r.resource_id },
        },
  );
  const histories = fleet.map(() => new CounterHistory());
  const keepers = fleet.map((r) => new Keeper(`${polling.definition.name} on ${r.resource_id}`, logger));
  const close = async (): Promise<void> => {
    for (const k of keepers) k.close('benchmark done');
    await runtime.close();
  };
  return {
    counts: () =>
      snmp
        ? { updates: engine.stats.varbinds, notifications: engine.stats.received }
        : { updates: gnmiTelemetry.totals.updates, notifications: gnmiTelemetry.totals.notifications },
    prepare: async (progress) => {
      if (enrichment === undefined) return Date.now() + 50;
      let done = 0;
      let next = 0;
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < fleet.length) {
            const r = fleet[next++] as Resource;
            const outcome = await agent.run(r, enrichment, new AbortController()).outcome;
            if (outcome.status !== 'success') failures.push(`${r.resource_id}: ${outcome.error}`);
            if (++done % 250 === 0)
              progress(`snmp: interface enrichment of ${done} of ${fleet.length} devices`);
          }
        }),
      );
      if (failures.length > 0)
        throw new Error(`gnmi bench: interface enrichment failed: ${failures.slice(0, 3).join('; ')}`);
      return Date.now() + 50;
    },
    run: async (k) => {
      const resource = fleet[k] as Resource;
      const history = histories[k] as CounterHistory;
      const outcome = await agent.run(resource, polling, new AbortController(), keepers[k]).outcome;
      if (outcome.status !== 'success') throw new Error(`${resource.resource_id}: ${outcome.error}`);
      const out = applyRateTransforms({
        resourceId: resource.resource_id,
        groups: outcome.groups,
        transforms: polling.definition.transforms,
        history,
        ...(outcome.sysUpTime === undefined ? {} : { sysUpTime: outcome.sysUpTime }),
        ...(outcome.counters === undefined ? {} : { counters: outcome.counters }),
      });
      history.prune(Date.now() / 1000 - 4 * task.intervalSeconds);
      return interfaceResult(out);
    },
    streamStats: () =>
      snmp
        ? { reconnects: 0, malformed: 0, unusable: 0 }
        : {
            reconnects: gnmiTelemetry.totals.reconnects,
            malformed: gnmiTelemetry.totals.malformed,
            unusable: gnmiTelemetry.totals.unusable,
          },
    close,
  };
}

async function runSubject(task: SubjectTask): Promise<SubjectResult> {
  const transforms: RateRule[] = [{ metricsGroupType: 'interface', counters: RATE_COUNTERS }];
  const progress = (t: string): void => send({ progress: t });
  const base = memory();
  const harness = task.kind === 'gnmi' ? gnmiHarness(task, transforms) : await pluginHarness(task);
  try {
    const startAt = await harness.prepare(progress);
    const n = task.devices;
    const intervalMs = task.intervalSeconds * 1000;
    const step = intervalMs / n;
    const lastCycle = task.intervals + 1;
    const snapshot = (): Counters => ({
      cpu: process.cpuUsage(),
      ...harness.counts(),
      wall: performance.now(),
    });
    let start: Counters | undefined;
    let end: Counters | undefined;
    const boundaries: NodeJS.CpuUsage[] = [];
    const result = {
      runs: 0,
      failedRuns: 0,
      firstFailure: undefined as string | undefined,
      interfaceGroups: 0,
      rates: 0,
      rateSkips: {} as Record<string, number>,
      lateRuns: 0,
      checked: 0,
      problems: [] as string[],
    };
    const pending = new Set<Promise<void>>();
    const measured = (cycle: number): boolean => cycle >= 1 && cycle <= task.intervals;
    const runOne = (k: number, cycle: number): void => {
      const p = harness
        .run(k)
        .then(({ groups, rates, skipped }) => {
          if (measured(cycle)) {
            result.interfaceGroups += groups.length;
            result.rates += rates;
            for (const [why, count] of Object.entries(skipped))
              result.rateSkips[why] = (result.rateSkips[why] ?? 0) + count;
          } else if (cycle === lastCycle) {
            if (groups.length !== task.interfaces)
              result.problems.push(
                `${syntheticCommunity(k + 1)}: ${groups.length} interface groups, not ${task.interfaces}`,
              );
            for (const g of groups) {
              const problem = rateProblem(g, k + 1, task.intervalSeconds);
              if (problem === undefined) result.checked++;
              else result.problems.push(problem);
            }
          }
        })
        .catch((e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          if (measured(cycle)) {
            result.failedRuns++;
            result.firstFailure ??= message;
          } else if (cycle === lastCycle) result.problems.push(`${syntheticCommunity(k + 1)}: ${message}`);
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    };
    await new Promise<void>((resolve) => {
      let slot = 0;
      const timer = setInterval(() => {
        const now = Date.now();
        while (startAt + slot * step <= now) {
          const cycle = Math.floor(slot / n);
          const k = slot % n;
          if (k === 0) {
            if (cycle === 1) {
              start = snapshot();
              send({ mark: 'start' });
            } else if (cycle > 1 && cycle <= lastCycle) boundaries.push(process.cpuUsage());
            if (cycle === lastCycle) {
              end = snapshot();
              send({ mark: 'end' });
            }
            if (cycle > lastCycle) {
              clearInterval(timer);
              resolve();
              return;
            }
            progress(
              cycle === 0
                ? `${task.kind}: warm-up interval (baselines)`
                : cycle === lastCycle
                  ? `${task.kind}: checking every rate`
                  : `${task.kind}: measuring interval ${cycle} of ${task.intervals}`,
            );
          }
          if (measured(cycle)) {
            result.runs++;
            if (now - (startAt + slot * step) > 1000) result.lateRuns++;
          }
          runOne(k, cycle);
          slot++;
        }
      }, 20);
    });
    await Promise.all([...pending]);
    if (start === undefined || end === undefined) throw new Error('gnmi bench: the window never closed');
    const window = { user: end.cpu.user - start.cpu.user, system: end.cpu.system - start.cpu.system };
    const marks = [start.cpu, ...boundaries];
    const perInterval = marks.slice(1).map((b, j) => {
      const a = marks[j] as NodeJS.CpuUsage;
      return (b.user - a.user + b.system - a.system) / 1e6;
    });
    const mem = memory();
    const s = harness.streamStats();
    if (result.problems.length > 0)
      throw new Error(
        `gnmi bench, ${task.kind}: the check of every rate failed (${result.problems.length} problems): ` +
          result.problems.slice(0, 5).join('; '),
      );
    return {
      cpuSeconds: (window.user + window.system) / 1e6,
      systemSeconds: window.system / 1e6,
      perInterval,
      wallSeconds: (end.wall - start.wall) / 1000,
      updates: end.updates - start.updates,
      notifications: end.notifications - start.notifications,
      runs: result.runs,
      failedRuns: result.failedRuns,
      ...(result.firstFailure === undefined ? {} : { firstFailure: result.firstFailure }),
      interfaceGroups: result.interfaceGroups,
      expectedInterfaceGroups: result.runs * task.interfaces,
      rates: result.rates,
      rateSkips: result.rateSkips,
      lateRuns: result.lateRuns,
      ...s,
      baseRss: base.rss,
      baseHeap: base.heap,
      rss: mem.rss,
      heap: mem.heap,
      checked: result.checked,
    };
  } finally {
    await harness.close();
  }
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const task = JSON.parse(process.argv[2] ?? '{}') as SubjectTask;
  try {
    send({ result: await runSubject(task) });
    process.exit(0);
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  }
}
