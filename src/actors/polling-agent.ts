/**
 * The polling agent of a node: a ResourceActor per resource it owns, the schedule wheels that
 * tick them, the polling plugins they match (by compiled resource filter), the cross-node guards
 * in the store, the plugin runner with its timeout, and the publisher of the results.
 * Statuses of every tick are emitted on `status$` and counted in `stats`.
 */
import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { ValidationError, errorMessage, isPanoptesError } from '../errors.js';
import type { Logger } from '../log.js';
import { enrichmentGroupToJson, parseEnrichmentGroup, stringifyJson } from '../model/index.js';
import type { EnrichmentGroup, MetricsGroup, PollingStatusName, Resource } from '../model/index.js';
import { asPollResult } from '../plugins/api.js';
import type { EnrichmentPlugin, PluginKind, PollingPlugin } from '../plugins/api.js';
import type { ContextFactory } from '../plugins/context.js';
import type { LoadedPlugin, PluginSet } from '../plugins/loader.js';
import { ScheduleService } from '../streams/schedule.js';
import type { ScheduleEntry, ScheduleTarget } from '../streams/schedule.js';
import type { EnrichmentCache } from '../streams/enrichment-cache.js';
import { checkpointText, historyFromCheckpointText } from '../streams/counter-rate.js';
import type { CounterHistory } from '../streams/counter-rate.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';
import type { GuardResult, PollingAgentPort, RunHandle } from './polling-agent-port.js';
import { ActorRegistry } from './registry.js';
import { ResourceActor } from './resource-actor.js';
import { pollingStatusOf } from './run-status.js';
import type { RunOutcome, RunStatus, RunStatusKind } from './run-status.js';
import { Supervisor } from './supervisor.js';
import type { Keeper } from './keeper.js';
import { waitFor } from '../wait.js';

export interface PollingAgentOptions {
  readonly logger: Logger;
  readonly store: KeyValueStore;
  readonly keys: StoreKeys;
  readonly contextFactory: ContextFactory;
  /** Where results go (the bus, in a pipeline). */
  readonly publish: (
    resource: Resource,
    plugin: LoadedPlugin,
    groups: readonly MetricsGroup[],
  ) => Promise<void>;
  /** Whether the publisher's buffer has room for more while earlier publishes wait. Default: no. */
  readonly publishRoom?: () => boolean;
  /** Identifies this node in lock tokens. Default a random UUID. */
  readonly nodeId?: string;
  /** RxJS scheduler for the schedule streams (virtual time in tests). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Schedule resolution, ms. Default 10. */
  readonly resolutionMs?: number;
  /** Mailbox size of each ResourceActor. Default 16. */
  readonly mailboxSize?: number;
  /** Check the store's last-run key and lease lock (off for a single embedded node). Default true. */
  readonly distributedGuards?: boolean;
  /** How long stop() waits for polls that ignore their abort signal. Default 5000 ms. */
  readonly stopGraceMs?: number;
  /**
   * Which plugins this agent runs: polling plugins (results published), enrichment plugins
   * (results stored under the enrichment keys with their TTL), or both. Default ['polling'].
   */
  readonly kinds?: readonly PluginKind[];
  /** Publish a `status` group (gauge polling_status) with every run's results. Default true. */
  readonly statusGroups?: boolean;
  /** Enrichment written by this agent also goes here (write-through for in-process readers). */
  readonly enrichmentCache?: EnrichmentCache;
  /**
   * Run each plugin as soon as it applies to a resource, then on its schedule (enrichment, so
   * polling finds it). Default false: the first run waits for the resource's slot.
   */
  readonly immediateFirstRun?: boolean;
  /**
   * Keep each plugin's counter history in the store (`counters` key, after every run) and
   * restore it for a resource new on this node, so rates continue when a resource moves.
   * Default false.
   */
  readonly checkpointCounters?: boolean;
  /**
   * Run a plugin at once for a resource new on this node when its last run (any node, from the
   * store's last-run key) is a period old or more: a resource taken over from a node that died
   * is polled now, not at its next slot, so its rates continue. Needs distributedGuards. Default false.
   */
  readonly catchUpOverdue?: boolean;
}

export type PollingStats = Record<RunStatusKind, number>;

/** Failed runs of one resource and plugin are logged at most this often. */
export const FAILURE_LOG_INTERVAL_MS = 300_000;

/** How long the cross-node guards may take before a run goes ahead without them, ms. */
export const GUARD_TIMEOUT_MS = 3000;

/** The same while the store is known to be unavailable (after a run went ahead without it), ms. */
export const GUARD_OUTAGE_WAIT_MS = 300;

export class PollingAgent implements PollingAgentPort {
  /** Runs that went ahead without the store's guards (store failing or slow). */
  guardFallbacks = 0;
  /** Runs written off: still not returned a period after their timeout (see ResourceActor). */
  writtenOff = 0;
  private guardOutage: { since: number; runs: number } | undefined;
  private deferrals: { since: number; count: number } | undefined;
  readonly supervisor: Supervisor;
  readonly mailboxSize: number;
  readonly status$ = new Subject<RunStatus>();
  readonly stats: PollingStats = {
    success: 0,
    error: 0,
    timeout: 0,
    cached: 0,
    skipped_in_flight: 0,
    skipped_too_soon: 0,
    skipped_locked: 0,
    deferred: 0,
  };
  private readonly options: PollingAgentOptions;
  private readonly schedules: ScheduleService;
  private readonly actors = new ActorRegistry<ResourceActor>();
  private readonly nodeId: string;
  private readonly clock: () => number;
  private polling: LoadedPlugin[] = [];
  private readonly guards: boolean;
  private readonly kinds: ReadonlySet<PluginKind>;
  /**
   * Failed runs per resource and plugin: when one was last logged, how many were left out since,
   * and whether a success is still to be logged (the failure that began the episode was).
   */
  private readonly failureLog = new Map<string, { at: number; suppressed: number; announced: boolean }>();
  readonly statusGroups: boolean;
  readonly immediateFirstRun: boolean;
  readonly catchUpOverdue: boolean;
  /** settled promises of the polls running now. */
  private readonly running = new Set<Promise<void>>();

  constructor(options: PollingAgentOptions) {
    this.options = options;
    const scheduler = options.scheduler;
    this.clock = scheduler === undefined ? Date.now : () => scheduler.now();
    this.schedules = new ScheduleService(options.resolutionMs ?? 10, scheduler);
    this.supervisor = new Supervisor({ logger: options.logger, now: this.clock });
    this.mailboxSize = options.mailboxSize ?? 16;
    this.nodeId = options.nodeId ?? randomUUID();
    this.guards = options.distributedGuards ?? true;
    this.kinds = new Set(options.kinds ?? ['polling']);
    this.statusGroups = options.statusGroups ?? true;
    this.immediateFirstRun = options.immediateFirstRun ?? false;
    this.catchUpOverdue = (options.catchUpOverdue ?? false) && this.guards;
  }

  get size(): number {
    return this.actors.size;
  }

  now(): number {
    return this.clock();
  }

  actor(resourceId: string): ResourceActor | undefined {
    return this.actors.get(resourceId);
  }

  start(): void {
    this.schedules.start();
  }

  /** The plugins in force (of this agent's kinds); every actor re-matches its resource against them. */
  setPlugins(plugins: PluginSet): void {
    this.polling = [...plugins.values()].filter((p) => this.kinds.has(p.kind));
    for (const actor of this.actors.values()) actor.update(actor.current, this.matching(actor.current));
  }

  matching(resource: Resource): LoadedPlugin[] {
    return this.polling.filter((p) => p.definition.filter === undefined || p.definition.filter(resource));
  }

  /**
   * Runs every plugin of every resource again, spread over `spreadMs` (e.g. enrichment after the
   * store came back, possibly empty). This node's too-soon guard is skipped; the store's
   * last-run key still applies, so a store that kept its data is not asked twice. Returns the
   * number of resources.
   */
  rerunAll(spreadMs: number, reason: string): number {
    const actors = [...this.actors.values()];
    this.options.logger.info({ resources: actors.length, spreadMs, reason }, 'running every plugin again');
    actors.forEach((actor, i) => {
      const timer = setTimeout(
        () => actor.runAllNow(),
        actors.length <= 1 ? 0 : (spreadMs * i) / actors.length,
      );
      timer.unref();
    });
    return actors.length;
  }

  /** Adds or refreshes a resource this node owns. */
  upsertResource(resource: Resource): void {
    const actor = this.actors.getOrCreate(resource.resource_id, () => new ResourceActor(resource, this));
    actor.update(resource, this.matching(resource));
  }

  async removeResource(resourceId: string): Promise<boolean> {
    return this.actors.stop(resourceId);
  }

  /**
   * Waits until no actor has mail, a handler running or a run in flight (e.g. the first runs
   * of enrichment after start). True when idle, false when `timeoutMs` passed first.
   */
  whenIdle(timeoutMs: number): Promise<boolean> {
    return waitFor(() => {
      if (this.running.size > 0) return false;
      for (const actor of this.actors.values()) if (actor.busy || actor.runsInFlight > 0) return false;
      return true;
    }, timeoutMs);
  }

  /**
   * Stops scheduling and every actor; polls in flight are aborted and waited for (at most
   * stopGraceMs for plugins that ignore their abort signal, which are then logged).
   */
  async stop(): Promise<void> {
    this.schedules.stop();
    await this.actors.stopAll();
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>(
        (r) => (timer = setTimeout(() => r('timeout'), this.options.stopGraceMs ?? 5000)),
      );
      const all = Promise.all([...this.running]).then(() => 'done' as const);
      if ((await Promise.race([all, grace])) === 'timeout') {
        this.options.logger.warn(
          { polls: this.running.size },
          'polls still running after stop (they ignore their abort signal)',
        );
      }
      clearTimeout(timer);
    }
    this.status$.complete();
  }

  schedule(target: ScheduleTarget, plugin: LoadedPlugin, tag: number): ScheduleEntry {
    const d = plugin.definition;
    return this.schedules.add(
      `${d.name}\u0000${(target as ResourceActor).id}`,
      d.executeFrequencySeconds * 1000,
      target,
      tag,
    );
  }

  unschedule(entry: ScheduleEntry): void {
    this.schedules.remove(entry);
  }

  /**
   * The cross-node guards (lease lock, then the last-run key under it), bounded by
   * GUARD_TIMEOUT_MS. When the store fails or does not answer in time, the run goes ahead on
   * this node's own guards (the actor's in-flight and too-soon checks; the resource's partition
   * has one owner), instead of not running at all: polling goes on through a store outage. The
   * first such run is logged, and the first one after the store answers again.
   */
  async acquire(resource: Resource, plugin: LoadedPlugin, dueAt: number): Promise<GuardResult> {
    if (!this.guards) return { status: 'ok', lockOwner: undefined };
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const inStore = this.acquireInStore(resource, plugin, dueAt);
    // A lock the store grants after the run went ahead without it is released at once.
    void inStore.then(
      (late) => {
        if (timedOut && late.status === 'ok')
          void this.release(resource, plugin.definition.name, late.lockOwner).catch((e: unknown) =>
            this.options.logger.debug({ err: errorMessage(e) }, 'releasing a late lock failed'),
          );
      },
      () => undefined, // reported by the race below
    );
    try {
      const result = await Promise.race([
        inStore,
        new Promise<never>((_, reject) => {
          // Once the store is known not to answer, runs do not each wait the whole timeout.
          const waitMs = this.guardOutage === undefined ? GUARD_TIMEOUT_MS : GUARD_OUTAGE_WAIT_MS;
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`the store did not answer within ${waitMs} ms`));
          }, waitMs);
        }),
      ]);
      if (this.guardOutage !== undefined) {
        this.options.logger.info(
          {
            runsWithoutStoreGuards: this.guardOutage.runs,
            seconds: Math.round((this.clock() - this.guardOutage.since) / 1000),
          },
          'store answers again: cross-node guards are back',
        );
        this.guardOutage = undefined;
      }
      return result;
    } catch (e) {
      this.guardFallbacks++;
      if (this.guardOutage === undefined) {
        this.guardOutage = { since: this.clock(), runs: 0 };
        this.options.logger.warn(
          { err: errorMessage(e), resource: resource.resource_id, plugin: plugin.definition.name },
          "store unavailable: runs go ahead on this node's own guards until it answers",
        );
      }
      this.guardOutage.runs++;
      return { status: 'ok', lockOwner: undefined };
    } finally {
      clearTimeout(timer);
    }
  }

  private async acquireInStore(
    resource: Resource,
    plugin: LoadedPlugin,
    dueAt: number,
  ): Promise<GuardResult> {
    const { store, keys } = this.options;
    const d = plugin.definition;
    const periodMs = d.executeFrequencySeconds * 1000;
    const owner = `${this.nodeId}:${randomUUID()}`;
    const lockKey = keys.lock(d.name, resource.resource_id);
    if (!(await store.acquireLock(lockKey, owner, d.timeoutSeconds * 1000 + 5000)))
      return { status: 'skipped_locked' };
    // Checked under the lock, so two nodes cannot both pass it for the same due time.
    try {
      const last = await store.get(keys.last(d.name, resource.resource_id));
      if (last !== undefined && dueAt - Number(last) < periodMs) {
        await store.releaseLock(lockKey, owner);
        return { status: 'skipped_too_soon' };
      }
      // Kept for a few periods: it also tells a node taking the resource over that it is overdue.
      await store.set(keys.last(d.name, resource.resource_id), String(dueAt), { ttlMs: periodMs * 5 });
    } catch (e) {
      await store
        .releaseLock(lockKey, owner)
        .catch((r: unknown) =>
          this.options.logger.debug(
            { key: lockKey, err: errorMessage(r) },
            'releasing a lock failed; it expires by itself',
          ),
        );
      throw e;
    }
    return { status: 'ok', lockOwner: owner };
  }

  async release(resource: Resource, plugin: string, lockOwner: string | undefined): Promise<void> {
    if (lockOwner === undefined) return;
    await this.options.store.releaseLock(this.options.keys.lock(plugin, resource.resource_id), lockOwner);
  }

  run(resource: Resource, plugin: LoadedPlugin, controller: AbortController, keeper?: Keeper): RunHandle {
    const d = plugin.definition;
    const ctx = this.options.contextFactory(d, controller.signal, keeper);
    const ran = (async (): Promise<RunOutcome> => {
      try {
        if (plugin.kind === 'enrichment') {
          const groups = await (plugin.instance as EnrichmentPlugin).enrich(ctx, resource);
          await this.storeEnrichment(resource, groups);
          return { status: 'success', groups: [] };
        }
        const result = asPollResult(await (plugin.instance as PollingPlugin).poll(ctx, resource));
        return {
          status: 'success',
          groups: result.groups,
          ...(result.status === undefined ? {} : { pollingStatus: result.status }),
          ...(result.sysUpTime === undefined ? {} : { sysUpTime: result.sysUpTime }),
          ...(result.counters === undefined ? {} : { counters: result.counters }),
        };
      } catch (e) {
        const pollingStatus = pollingStatusOf(e);
        this.warnFailure(ctx.logger, resource, plugin, pollingStatus, e);
        if (isPanoptesError(e) && e.code === 'SNMP_TIMEOUT')
          return { status: 'timeout', error: e.message, pollingStatus };
        return { status: 'error', error: errorMessage(e), pollingStatus };
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<RunOutcome>((resolve) => {
      timer = setTimeout(() => {
        const error = `plugin ran longer than its timeout of ${d.timeoutSeconds} s`;
        controller.abort(new Error(`plugin ${d.name} timed out after ${d.timeoutSeconds} s`));
        this.warnFailure(ctx.logger, resource, plugin, 'timeout', new Error(error));
        resolve({ status: 'timeout', error, stillRunning: true });
      }, d.timeoutSeconds * 1000);
    });
    const settled = ran.then(() => {
      clearTimeout(timer);
      this.running.delete(settled);
    });
    this.running.add(settled);
    return {
      outcome: Promise.race([ran, timedOut]),
      settled,
      writeOff: () => {
        this.running.delete(settled);
        this.writtenOff++;
      },
    };
  }

  /**
   * One warning per failed run (timeout, SNMP error status, undecodable answer, plugin error),
   * naming resource, plugin, target and reason; at most one per resource and plugin per
   * FAILURE_LOG_INTERVAL_MS, the next one saying how many were left out meanwhile.
   */
  private warnFailure(
    logger: Logger,
    resource: Resource,
    plugin: LoadedPlugin,
    status: PollingStatusName,
    error: unknown,
  ): void {
    const key = `${resource.resource_id}\u0000${plugin.definition.name}`;
    const now = this.clock();
    const last = this.failureLog.get(key);
    if (last !== undefined && now - last.at < FAILURE_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.failureLog.set(key, { at: now, suppressed: 0, announced: true });
    logger.warn(
      {
        resource: resource.resource_id,
        plugin: plugin.definition.name,
        target: resource.resource_endpoint,
        status,
        reason: errorMessage(error),
        ...(last !== undefined && last.suppressed > 0 ? { suppressedSinceLast: last.suppressed } : {}),
      },
      `${plugin.kind} run failed: ${errorMessage(error)}`,
    );
  }

  /** A success after a logged failure says so (once per logged failure). */
  private noteSuccess(status: RunStatus): void {
    const entry = this.failureLog.get(`${status.resourceId}\u0000${status.plugin}`);
    if (entry === undefined || !entry.announced) return;
    entry.announced = false;
    this.options.logger.info(
      { resource: status.resourceId, plugin: status.plugin, failedRunsLeftOut: entry.suppressed },
      `${status.plugin} on ${status.resourceId} succeeds again`,
    );
  }

  async overdue(resource: Resource, plugin: LoadedPlugin, at: number): Promise<boolean> {
    if (!this.guards) return false;
    const last = await this.options.store.get(
      this.options.keys.last(plugin.definition.name, resource.resource_id),
    );
    return last !== undefined && at - Number(last) >= plugin.definition.executeFrequencySeconds * 1000;
  }

  async restoreHistory(resource: Resource, plugin: LoadedPlugin): Promise<CounterHistory | undefined> {
    if (this.options.checkpointCounters !== true) return undefined;
    const key = this.options.keys.counters(resource.resource_id, plugin.definition.name);
    // Bounded like the guards: a store that does not answer must not hold the actor.
    let timer: NodeJS.Timeout | undefined;
    const text = await Promise.race([
      this.options.store.get(key),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the store did not answer within ${GUARD_TIMEOUT_MS} ms`)),
          GUARD_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (text === undefined) return undefined;
    try {
      return historyFromCheckpointText(text);
    } catch {
      this.options.logger.warn({ key }, 'counter checkpoint is not valid JSON; ignored');
      return undefined;
    }
  }

  saveHistory(resource: Resource, plugin: LoadedPlugin, history: CounterHistory): void {
    if (this.options.checkpointCounters !== true) return;
    const d = plugin.definition;
    const key = this.options.keys.counters(resource.resource_id, d.name);
    // Kept long enough for another node to take over; past 3 intervals it would only re-baseline.
    const ttlMs = Math.max(60_000, 4 * d.executeFrequencySeconds * 1000);
    this.options.store.set(key, checkpointText(history), { ttlMs }).catch((e: unknown) => {
      this.options.logger.warn({ key, err: errorMessage(e) }, 'saving the counter checkpoint failed');
    });
  }

  /** Stores enrichment groups under their keys with their TTL (and in the cache, if any). */
  private async storeEnrichment(resource: Resource, groups: readonly EnrichmentGroup[]): Promise<void> {
    const { store, keys } = this.options;
    groups.forEach((g, i) => {
      const parsed = parseEnrichmentGroup(enrichmentGroupToJson(g), `enrichment[${i}]`);
      if (!parsed.ok)
        throw new ValidationError('MODEL_INVALID', `enrichment of ${resource.resource_id}`, parsed.issues);
    });
    await store.setMany(
      groups.map((g) => ({
        key: keys.enrichment(resource.resource_id, g.namespace),
        value: stringifyJson(enrichmentGroupToJson(g)),
        ttlMs: g.enrichment_ttl * 1000,
      })),
    );
    for (const g of groups) this.options.enrichmentCache?.put(resource.resource_id, g);
  }

  publish(resource: Resource, plugin: LoadedPlugin, groups: readonly MetricsGroup[]): Promise<void> {
    return this.options.publish(resource, plugin, groups);
  }

  publishRoom(): boolean {
    return this.options.publishRoom?.() ?? false;
  }

  reportStatus(status: RunStatus): void {
    this.stats[status.status]++;
    if (status.status === 'success') this.noteSuccess(status);
    // Deferred polls are logged as they begin (the first) and end (the first success after).
    if (status.status === 'deferred') {
      if (this.deferrals === undefined) {
        this.deferrals = { since: this.clock(), count: 0 };
        this.options.logger.warn(
          { resource: status.resourceId, plugin: status.plugin, reason: status.error },
          `polls deferred: ${status.error ?? 'could not run'}`,
        );
      }
      this.deferrals.count++;
    } else if (status.status === 'success' && this.deferrals !== undefined) {
      this.options.logger.info(
        { deferred: this.deferrals.count, seconds: Math.round((this.clock() - this.deferrals.since) / 1000) },
        `polling resumed after ${this.deferrals.count} deferred polls`,
      );
      this.deferrals = undefined;
    }
    this.status$.next(status);
  }
}
