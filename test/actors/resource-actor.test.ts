/**
 * ResourceActor against a hand-written PollingAgentPort: the test decides when ticks come (calling
 * onDue as the schedule wheel would), what the cross-node guards answer and when runs end.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Keeper } from '../../src/actors/keeper.js';
import type { GuardResult, PollingAgentPort, RunHandle } from '../../src/actors/polling-agent-port.js';
import { ResourceActor } from '../../src/actors/resource-actor.js';
import type { RunOutcome, RunStatus, RunStatusKind } from '../../src/actors/run-status.js';
import { Supervisor } from '../../src/actors/supervisor.js';
import { silentLogger } from '../../src/log.js';
import type { MetricsGroup, Resource } from '../../src/model/index.js';
import type { LoadedPlugin } from '../../src/plugins/loader.js';
import { ScheduleWheel } from '../../src/streams/schedule.js';
import type { ScheduleEntry, ScheduleTarget } from '../../src/streams/schedule.js';
import { metricsGroup, pollingDefinition, pollingPlugin, resource } from '../support/polling-fixtures.js';
import { deferred, settle } from '../support/virtual-time.js';
import type { Deferred } from '../support/virtual-time.js';

const START = Date.UTC(2024, 0, 1);
const PERIOD = 60_000;

interface Run {
  readonly plugin: string;
  readonly signal: AbortSignal;
  readonly outcome: Deferred<RunOutcome>;
  readonly keeper: Keeper | undefined;
}

class StubPort implements PollingAgentPort {
  clock = START;
  readonly supervisor = new Supervisor({ logger: silentLogger, now: () => this.clock });
  readonly wheels = new Map<number, ScheduleWheel>();
  readonly scheduled: ScheduleEntry[] = [];
  readonly unscheduled: ScheduleEntry[] = [];
  readonly acquired: { plugin: string; dueAt: number }[] = [];
  readonly released: { plugin: string; owner: string | undefined }[] = [];
  readonly runs: Run[] = [];
  readonly published: { plugin: string; groups: readonly MetricsGroup[] }[] = [];
  readonly statuses: RunStatus[] = [];
  guard: () => Promise<GuardResult> = () =>
    Promise.resolve({ status: 'ok', lockOwner: `owner-${this.acquired.length}` });

  constructor(readonly mailboxSize = 16) {}

  now(): number {
    return this.clock;
  }

  schedule(target: ScheduleTarget, plugin: LoadedPlugin, tag: number): ScheduleEntry {
    const period = plugin.definition.executeFrequencySeconds * 1000;
    let wheel = this.wheels.get(period);
    if (wheel === undefined) {
      wheel = new ScheduleWheel(period, 10, new VirtualTimeScheduler()); // never started: ticks come from the test
      this.wheels.set(period, wheel);
    }
    const entry = wheel.add(plugin.definition.name, target, tag);
    this.scheduled.push(entry);
    return entry;
  }

  unschedule(entry: ScheduleEntry): void {
    entry.wheel.remove(entry);
    this.unscheduled.push(entry);
  }

  acquire(_resource: Resource, plugin: LoadedPlugin, dueAt: number): Promise<GuardResult> {
    this.acquired.push({ plugin: plugin.definition.name, dueAt });
    return this.guard();
  }

  release(_resource: Resource, plugin: string, lockOwner: string | undefined): Promise<void> {
    this.released.push({ plugin, owner: lockOwner });
    return Promise.resolve();
  }

  run(_resource: Resource, plugin: LoadedPlugin, controller: AbortController, keeper?: Keeper): RunHandle {
    const outcome = deferred<RunOutcome>();
    this.runs.push({ plugin: plugin.definition.name, signal: controller.signal, outcome, keeper });
    // In this stub the poll has returned as soon as its outcome is known.
    return {
      outcome: outcome.promise,
      settled: outcome.promise.then(() => undefined),
      writeOff: () => undefined,
    };
  }

  publish(_resource: Resource, plugin: LoadedPlugin, groups: readonly MetricsGroup[]): Promise<void> {
    this.published.push({ plugin: plugin.definition.name, groups });
    return Promise.resolve();
  }

  reportStatus(status: RunStatus): void {
    this.statuses.push(status);
  }

  /** The live schedule entry of a plugin. */
  entry(plugin: string): ScheduleEntry {
    const live = this.scheduled.filter((e) => e.key === plugin && e.index >= 0);
    if (live.length !== 1) throw new Error(`${live.length} live entries for ${plugin}`);
    return live[0] as ScheduleEntry;
  }

  kinds(plugin?: string): RunStatusKind[] {
    return this.statuses.filter((s) => plugin === undefined || s.plugin === plugin).map((s) => s.status);
  }
}

const noPoll = (): Promise<readonly MetricsGroup[]> => Promise.resolve([]);
const plugin = (
  name: string,
  main: Readonly<Record<string, string | number>> = {},
  version = 'v1',
): LoadedPlugin => pollingPlugin(pollingDefinition(name, main), noPoll, version);

async function actorWith(
  port: StubPort,
  plugins: readonly LoadedPlugin[],
  r: Resource = resource('r1'),
): Promise<ResourceActor> {
  const actor = new ResourceActor(r, port);
  actor.update(r, plugins);
  await actor.whenIdle();
  return actor;
}

/** Delivers a tick as the wheel would, at the port's clock, and lets the actor handle it. */
async function tick(port: StubPort, actor: ResourceActor, name: string, dueAt: number): Promise<void> {
  port.clock = Math.max(port.clock, dueAt);
  actor.onDue(port.entry(name), dueAt);
  await settle();
}

const success = (r: Resource, n = 1): RunOutcome => ({ status: 'success', groups: [metricsGroup(r, n)] });

describe('ResourceActor', () => {
  it('schedules each of its plugins, tagged with its index', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a'), plugin('b', { execute_frequency: 300 })]);
    expect(actor.pluginNames).toEqual(['a', 'b']);
    expect(port.scheduled.map((e) => [e.key, e.tag, e.periodMs])).toEqual([
      ['a', 0, 60_000],
      ['b', 1, 300_000],
    ]);
    expect(actor.id).toBe('r1');
  });

  it('runs a due plugin, then reports success, publishes its groups and releases its lock', async () => {
    const port = new StubPort();
    const r = resource('r1');
    const actor = await actorWith(port, [plugin('a')], r);
    port.clock = START + 5;
    actor.onDue(port.entry('a'), START);
    await settle();
    expect(port.acquired).toEqual([{ plugin: 'a', dueAt: START }]);
    expect(port.runs.map((x) => x.plugin)).toEqual(['a']);
    expect(port.statuses).toEqual([]);
    port.clock = START + 1234;
    const outcome = success(r);
    port.runs[0]?.outcome.resolve(outcome);
    await settle();
    expect(port.statuses).toEqual([
      {
        resourceId: 'r1',
        plugin: 'a',
        status: 'success',
        dueAt: START,
        latenessMs: 5,
        durationMs: 1229,
        groups: 1,
      },
    ]);
    expect(port.published).toEqual([
      { plugin: 'a', groups: outcome.status === 'success' ? outcome.groups : [] },
    ]);
    expect(port.released).toEqual([{ plugin: 'a', owner: 'owner-1' }]);
  });

  it('never runs the same plugin twice at once: ticks while it runs are skipped_in_flight; other plugins run', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a'), plugin('b')]);
    await tick(port, actor, 'a', START);
    await tick(port, actor, 'a', START + PERIOD);
    await tick(port, actor, 'b', START + PERIOD);
    await tick(port, actor, 'a', START + 2 * PERIOD);
    expect(port.runs.map((x) => x.plugin)).toEqual(['a', 'b']);
    expect(port.kinds('a')).toEqual(['skipped_in_flight', 'skipped_in_flight']);
    port.runs[0]?.outcome.resolve({ status: 'success', groups: [] });
    await settle();
    await tick(port, actor, 'a', START + 3 * PERIOD);
    expect(port.runs.map((x) => x.plugin)).toEqual(['a', 'b', 'a']);
    expect(port.acquired).toHaveLength(3);
  });

  it('never runs sooner than execute_frequency after the last run (skipped_too_soon, before asking the store)', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a')]);
    await tick(port, actor, 'a', START);
    port.runs[0]?.outcome.resolve({ status: 'success', groups: [] });
    await settle();
    await tick(port, actor, 'a', START); // the same tick again
    await tick(port, actor, 'a', START + 30_000); // early
    await tick(port, actor, 'a', START + PERIOD - 10);
    expect(port.kinds()).toEqual(['success', 'skipped_too_soon', 'skipped_too_soon', 'skipped_too_soon']);
    expect(port.acquired).toHaveLength(1);
    await tick(port, actor, 'a', START + PERIOD);
    expect(port.runs).toHaveLength(2);
  });

  it('reports what the cross-node guards say (skipped_locked, skipped_too_soon) and does not run', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a')]);
    port.guard = () => Promise.resolve({ status: 'skipped_locked' });
    await tick(port, actor, 'a', START);
    port.guard = () => Promise.resolve({ status: 'skipped_too_soon' });
    await tick(port, actor, 'a', START + PERIOD);
    expect(port.kinds()).toEqual(['skipped_locked', 'skipped_too_soon']);
    expect(port.runs).toEqual([]);
    expect(port.released).toEqual([]);
    // A skipped tick is not a run: the next one is not "too soon".
    port.guard = () => Promise.resolve({ status: 'ok', lockOwner: 'me' });
    await tick(port, actor, 'a', START + 2 * PERIOD);
    expect(port.runs).toHaveLength(1);
  });

  it('republishes results younger than results_cache_age without polling (cached)', async () => {
    const port = new StubPort();
    const r = resource('r1');
    const actor = await actorWith(port, [plugin('a', { results_cache_age: 100 })], r);
    await tick(port, actor, 'a', START);
    port.runs[0]?.outcome.resolve(success(r));
    await settle();
    await tick(port, actor, 'a', START + PERIOD);
    expect(port.kinds()).toEqual(['success', 'cached']);
    expect(port.runs).toHaveLength(1);
    expect(port.acquired).toHaveLength(1);
    expect(port.published[1]?.groups).toBe(port.published[0]?.groups);
    expect(port.statuses[1]).toMatchObject({ status: 'cached', groups: 1, durationMs: 0 });
    // The cached run counts as a run for the min-interval guard ...
    await tick(port, actor, 'a', START + PERIOD + 1000);
    expect(port.kinds().at(-1)).toBe('skipped_too_soon');
    // ... and results older than results_cache_age are polled again.
    await tick(port, actor, 'a', START + 2 * PERIOD);
    expect(port.runs).toHaveLength(2);
  });

  it('reports error and timeout outcomes with their message and releases the lock', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a'), plugin('b')]);
    await tick(port, actor, 'a', START);
    await tick(port, actor, 'b', START);
    port.runs[0]?.outcome.resolve({ status: 'error', error: 'boom' });
    port.runs[1]?.outcome.resolve({ status: 'timeout', error: 'too slow' });
    await settle();
    expect(port.statuses.map((s) => [s.plugin, s.status, s.error, s.groups])).toEqual([
      ['a', 'error', 'boom', 0],
      ['b', 'timeout', 'too slow', 0],
    ]);
    expect(port.released.map((x) => x.plugin)).toEqual(['a', 'b']);
    expect(port.published).toEqual([]);
  });

  it('update: keeps the entry of an unchanged plugin, reschedules a changed frequency, unschedules a removed plugin', async () => {
    const port = new StubPort();
    const a = plugin('a');
    const actor = await actorWith(port, [a, plugin('b'), plugin('c')]);
    const entryA = port.entry('a');
    const entryB = port.entry('b');
    const entryC = port.entry('c');
    actor.update(actor.current, [a, plugin('b', { execute_frequency: 300 }, 'v2')]);
    await actor.whenIdle();
    expect(actor.pluginNames).toEqual(['a', 'b']);
    expect(port.entry('a')).toBe(entryA);
    expect(port.entry('b')).not.toBe(entryB);
    expect(port.entry('b').periodMs).toBe(300_000);
    expect(port.unscheduled).toContain(entryB);
    expect(port.unscheduled).toContain(entryC);
    expect(entryC.index).toBe(-1);
    // A late tick of a removed entry is ignored.
    actor.onDue(entryC, START);
    actor.onDue(entryB, START);
    await settle();
    expect(port.statuses).toEqual([]);
    expect(port.runs).toEqual([]);
  });

  it('update with a new version of a plugin drops results cached by the old one', async () => {
    const port = new StubPort();
    const r = resource('r1');
    const actor = await actorWith(port, [plugin('a', { results_cache_age: 600 })], r);
    await tick(port, actor, 'a', START);
    port.runs[0]?.outcome.resolve(success(r));
    await settle();
    actor.update(r, [plugin('a', { results_cache_age: 600 }, 'v2')]);
    await tick(port, actor, 'a', START + PERIOD);
    expect(port.kinds()).toEqual(['success']);
    expect(port.runs).toHaveLength(2);
  });

  it('a run that ends after its plugin was removed releases its lock and reports nothing', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a')]);
    await tick(port, actor, 'a', START);
    actor.update(actor.current, []);
    await actor.whenIdle();
    port.runs[0]?.outcome.resolve({ status: 'success', groups: [] });
    await settle();
    expect(port.statuses).toEqual([]);
    expect(port.released).toEqual([{ plugin: 'a', owner: 'owner-1' }]);
  });

  it('stop: aborts the signal of runs in flight, unschedules everything, and releases the lock when the run ends', async () => {
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a'), plugin('b')]);
    await tick(port, actor, 'a', START);
    const run = port.runs[0] as Run;
    expect(run.signal.aborted).toBe(false);
    await actor.stop();
    expect(run.signal.aborted).toBe(true);
    expect(port.unscheduled.map((e) => e.key).sort()).toEqual(['a', 'b']);
    expect(port.released).toEqual([]);
    run.outcome.resolve({ status: 'error', error: 'aborted' });
    await settle();
    expect(port.released).toEqual([{ plugin: 'a', owner: 'owner-1' }]);
    expect(port.statuses).toEqual([]);
  });

  it('drops ticks beyond its mailbox (counted) but never the end of a run', async () => {
    const port = new StubPort(2);
    const r = resource('r1');
    const actor = await actorWith(port, [plugin('a'), plugin('b')], r);
    await tick(port, actor, 'a', START); // a is running
    const blocked = deferred<GuardResult>();
    port.guard = () => blocked.promise;
    await tick(port, actor, 'b', START); // the actor waits in b's guard
    for (let k = 1; k <= 5; k++) actor.onDue(port.entry('b'), START + k * PERIOD);
    expect(actor.queued).toBe(2);
    expect(port.supervisor.stats.dropped).toBe(3);
    // a's run ends while the mailbox is full: its 'done' and 'settled' are still queued.
    port.runs[0]?.outcome.resolve(success(r));
    await settle();
    expect(actor.queued).toBe(4);
    blocked.resolve({ status: 'skipped_locked' });
    await actor.whenIdle();
    expect(port.kinds('a')).toEqual(['success']);
    expect(port.released.map((x) => x.plugin)).toEqual(['a']);
  });
});

describe('what a plugin keeps between runs (ctx.keep)', () => {
  /** A kept value that records why it was closed. */
  const opened: { closed: string | undefined }[] = [];
  const open = (): { closed: string | undefined; close(reason: string): void } => {
    const v = {
      closed: undefined as string | undefined,
      close(reason: string): void {
        v.closed = reason;
      },
    };
    opened.push(v);
    return v;
  };

  /** Runs plugin `a` once at `dueAt`, opening (or reusing) what it keeps; returns the run. */
  async function runOnce(port: StubPort, actor: ResourceActor, dueAt: number): Promise<Run> {
    await tick(port, actor, 'a', dueAt);
    const run = port.runs[port.runs.length - 1] as Run;
    run.keeper?.keep(open);
    run.outcome.resolve({ status: 'success', groups: [] });
    await settle();
    await actor.whenIdle();
    return run;
  }

  it('keeps one value across runs, closes it when the resource changes, the plugin goes or the actor stops', async () => {
    opened.length = 0;
    const port = new StubPort();
    const a = plugin('a');
    const r = resource('r1');
    const actor = await actorWith(port, [a], r);
    const first = await runOnce(port, actor, START);
    await runOnce(port, actor, START + PERIOD);
    expect(opened.length).toBe(1);
    expect(port.runs[1]?.keeper).toBe(first.keeper);

    // Rediscovered as it was (a new object, a new creation time): kept.
    actor.update(resource('r1', { resource_creation_timestamp: 1_800_000_000 }), [a]);
    await actor.whenIdle();
    await runOnce(port, actor, START + 2 * PERIOD);
    expect(opened.length).toBe(1);
    expect(opened[0]?.closed).toBeUndefined();

    // A new endpoint: closed, the next run opens a new one.
    actor.update(resource('r1', { resource_endpoint: '192.0.2.99' }), [a]);
    await actor.whenIdle();
    expect(opened[0]?.closed).toBe('the resource changed');
    expect(() => first.keeper?.keep(open)).toThrow(/closed \(the resource changed\)/);
    await runOnce(port, actor, START + 3 * PERIOD);
    expect(opened.length).toBe(2);

    // New metadata: closed too.
    actor.update(
      resource('r1', { resource_endpoint: '192.0.2.99', resource_metadata: { gnmi_port: '6030' } }),
      [a],
    );
    await actor.whenIdle();
    expect(opened[1]?.closed).toBe('the resource changed');
    await runOnce(port, actor, START + 4 * PERIOD);

    // The plugin no longer applies: closed.
    actor.update(
      resource('r1', { resource_endpoint: '192.0.2.99', resource_metadata: { gnmi_port: '6030' } }),
      [],
    );
    await actor.whenIdle();
    expect(opened[2]?.closed).toBe('the plugin no longer applies to the resource');

    // The actor stops: closed.
    actor.update(r, [a]);
    await actor.whenIdle();
    await runOnce(port, actor, START + 5 * PERIOD);
    expect(opened.length).toBe(4);
    await actor.stop();
    expect(opened[3]?.closed).toBe('the resource is no longer polled here');
  });

  it('closes it when the plugin changes (a new version of its file)', async () => {
    opened.length = 0;
    const port = new StubPort();
    const actor = await actorWith(port, [plugin('a', {}, 'v1')]);
    await runOnce(port, actor, START);
    actor.update(resource('r1'), [plugin('a', {}, 'v2')]);
    await actor.whenIdle();
    expect(opened[0]?.closed).toBe('the plugin changed');
  });
});
