/**
 * ResourceActor: one per resource on this node. It owns the polling plugins that match the
 * resource, their schedule entries, what is in flight and the last results; nothing else touches
 * them. Guards (Panoptes' two, plus a lock and a reuse rule):
 *   - never the same plugin twice at once for this resource (in flight -> skipped_in_flight); a
 *     run stays in flight until its poll() has really returned, also after its timeout fired;
 *   - never sooner than execute_frequency after the last run (-> skipped_too_soon), checked
 *     against this actor's memory and, under the lock, the store's last-run key, so it also
 *     holds across nodes;
 *   - across nodes, a lease lock per plugin and resource (-> skipped_locked);
 *   - results younger than results_cache_age are published again instead of polling (-> cached).
 * A run's outcome and its end come back as messages, so the actor's state only changes inside
 * its own handler. The actor also owns each plugin's counter history: results pass through the
 * plugin's [transforms] (counter -> rate) before they are published, with a `status` group
 * (polling_status) for every run that polled, failed runs included, when the agent asks for it. Resource and plugin updates are not ordinary mail: they bypass the mailbox
 * limit (a dropped update would leave stale plugins polling) and coalesce into one pending update.
 *
 * Publishing does not block the actor: while a plugin's results wait for the bus (Kafka slow or
 * unreachable), its ticks are reported `deferred` (not polled, not queued), and a tick that
 * waited a whole period in the mailbox is `deferred` too, so after an outage the next slot
 * polls once instead of every queued tick running back to back.
 */
import { errorMessage } from '../errors.js';
import { pollingStatusGroup, resourceFingerprint } from '../model/index.js';
import type { MetricsGroup, PollingStatusName, Resource } from '../model/index.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import { CounterHistory } from '../streams/counter-rate.js';
import { applyRateTransforms } from '../streams/rate-transform.js';
import type { ScheduleEntry } from '../streams/schedule.js';
import { Actor } from './actor.js';
import { Keeper } from './keeper.js';
import type { GuardResult, PollingAgentPort } from './polling-agent-port.js';
import { outcomePollingStatus } from './run-status.js';
import type { RunOutcome, RunStatusKind } from './run-status.js';

export type ResourceMessage =
  | {
      readonly type: 'tick';
      readonly plugin: string;
      readonly dueAt: number;
      /** A catch-up tick: runs only if the plugin is overdue for this resource (see applyUpdate). */
      readonly catchUp?: boolean;
      /** Run now although this node ran it less than a period ago (the store's guard still applies). */
      readonly force?: boolean;
    }
  | { readonly type: 'update' }
  | {
      readonly type: 'done';
      readonly plugin: string;
      readonly run: number;
      readonly dueAt: number;
      readonly startedAt: number;
      readonly latenessMs: number;
      readonly outcome: RunOutcome;
    }
  | {
      readonly type: 'settled';
      readonly plugin: string;
      readonly run: number;
      readonly lockOwner: string | undefined;
    }
  | {
      /** A run passed its timeout and its plugin has not returned. */
      readonly type: 'overdue';
      readonly plugin: string;
      readonly run: number;
      readonly writeOff: () => void;
    }
  | {
      /** A publish finished (error: why it failed). */
      readonly type: 'published';
      readonly plugin: string;
      readonly status: RunStatusKind;
      readonly dueAt: number;
      readonly latenessMs: number;
      readonly durationMs: number;
      readonly groups: number;
      readonly error: string | undefined;
    };

interface PluginSlot {
  plugin: LoadedPlugin;
  entry: ScheduleEntry;
  /** The run in flight (its number), or 0. */
  inFlight: number;
  controller: AbortController | undefined;
  /** Due time of the last run started (epoch ms). */
  lastRunDue: number;
  cached: { at: number; groups: readonly MetricsGroup[] } | undefined;
  /** Last counter samples of this plugin's series, for rates. */
  history: CounterHistory;
  /** Whether a checkpoint was looked for (once, before the first transform). */
  restored: boolean;
  /** Publishes of this plugin's results still waiting for the bus. */
  publishing: number;
  /**
   * The run in flight passed its timeout without returning (its plugin ignores the abort signal):
   * when, and how to forget it. Ticks meanwhile publish a timeout status; one period after the
   * timeout the run is written off and the next tick starts a new one.
   */
  overdue: { since: number; writeOff: () => void } | undefined;
  /** What the plugin keeps open between runs for this resource (ctx.keep). */
  keeper: Keeper;
}

let runCounter = 0;

/** Publishes of one plugin's results that may wait for the bus at once (see mayPublish). */
export const MAX_PENDING_PUBLISHES = 10;

export class ResourceActor extends Actor<ResourceMessage> {
  private resource: Resource;
  private slots: PluginSlot[] = [];
  private pending: { resource: Resource; plugins: readonly LoadedPlugin[] } | undefined;

  constructor(
    resource: Resource,
    private readonly agent: PollingAgentPort,
  ) {
    super(resource.resource_id, agent.supervisor, { mailboxSize: agent.mailboxSize });
    this.resource = resource;
  }

  get current(): Resource {
    return this.pending?.resource ?? this.resource;
  }

  /** Plugin names scheduled for this resource. */
  get pluginNames(): string[] {
    return this.slots.map((s) => s.plugin.definition.name);
  }

  /** Replaces the resource and its matching plugins; never dropped, coalesced while queued. */
  update(resource: Resource, plugins: readonly LoadedPlugin[]): boolean {
    const queued = this.pending !== undefined;
    this.pending = { resource, plugins };
    return queued ? !this.isStopped : this.sendSelf({ type: 'update' });
  }

  /** Called by the schedule wheel (outside the actor): turns the due entry into a message. */
  onDue(entry: ScheduleEntry, dueAt: number): void {
    const slot = this.slots[entry.tag];
    if (slot === undefined || slot.entry !== entry) return;
    this.send({ type: 'tick', plugin: slot.plugin.definition.name, dueAt });
  }

  protected receive(message: ResourceMessage): void | Promise<void> {
    switch (message.type) {
      case 'update':
        this.applyUpdate();
        return undefined;
      case 'tick':
        return this.tick(message.plugin, message.dueAt, message.catchUp === true, message.force === true);
      case 'done':
        return this.done(message);
      case 'settled':
        this.settled(message);
        return undefined;
      case 'overdue':
        this.markOverdue(message);
        return undefined;
      case 'published':
        return this.published(message);
    }
  }

  private applyUpdate(): void {
    const update = this.pending;
    this.pending = undefined;
    if (update === undefined) return;
    const changed = resourceFingerprint(this.resource) !== resourceFingerprint(update.resource);
    this.resource = update.resource;
    const previous = new Map(this.slots.map((s) => [s.plugin.definition.name, s]));
    const next: PluginSlot[] = [];
    update.plugins.forEach((plugin, i) => {
      const old = previous.get(plugin.definition.name);
      previous.delete(plugin.definition.name);
      const sameTiming =
        old !== undefined &&
        old.entry.tag === i &&
        old.plugin.definition.executeFrequencySeconds === plugin.definition.executeFrequencySeconds;
      if (old !== undefined && !sameTiming) this.agent.unschedule(old.entry);
      // What the plugin kept (a subscription) is for this resource as it was and this version
      // of the plugin: either changed, it is closed and the next run opens it anew.
      let keeper = old?.keeper;
      if (keeper !== undefined && (changed || old?.plugin !== plugin)) {
        keeper.close(changed ? 'the resource changed' : 'the plugin changed');
        keeper = undefined;
      }
      next.push({
        plugin,
        entry: sameTiming ? old.entry : this.agent.schedule(this, plugin, i),
        inFlight: old?.inFlight ?? 0,
        controller: old?.controller,
        lastRunDue: old?.lastRunDue ?? Number.NEGATIVE_INFINITY,
        // Cached results belong to the plugin version that produced them.
        cached: old?.plugin === plugin ? old.cached : undefined,
        history: old?.history ?? new CounterHistory(),
        restored: old?.restored ?? false,
        publishing: old?.publishing ?? 0,
        overdue: old?.overdue,
        keeper: keeper ?? this.newKeeper(plugin),
      });
    });
    if (this.agent.immediateFirstRun === true || this.agent.catchUpOverdue === true) {
      // A plugin new to this resource runs at once (enrichment), or at once if it is overdue
      // (a resource taken over from a node that stopped), instead of waiting for its slot.
      const catchUp = this.agent.immediateFirstRun !== true;
      const now = this.agent.now();
      for (const slot of next) {
        if (slot.lastRunDue === Number.NEGATIVE_INFINITY && slot.inFlight === 0) {
          // A catch-up stands for the slot just passed, so the next slot is a full period later.
          const due = catchUp ? slot.entry.wheel.nextDue(slot.entry, now + 1) - slot.entry.periodMs : now;
          this.sendSelf({ type: 'tick', plugin: slot.plugin.definition.name, dueAt: due, catchUp });
        }
      }
    }
    for (const gone of previous.values()) {
      this.agent.unschedule(gone.entry);
      gone.controller?.abort(new Error(`plugin ${gone.plugin.definition.name} no longer applies`));
      gone.keeper.close('the plugin no longer applies to the resource');
    }
    this.slots = next;
  }

  private newKeeper(plugin: LoadedPlugin): Keeper {
    return new Keeper(`${plugin.definition.name} on ${this.id}`, this.agent.supervisor.logger);
  }

  private report(
    plugin: string,
    status: RunStatusKind,
    dueAt: number,
    latenessMs: number,
    extra: { durationMs?: number; groups?: number; error?: string } = {},
  ): void {
    this.agent.reportStatus({
      resourceId: this.resource.resource_id,
      plugin,
      status,
      dueAt,
      latenessMs,
      durationMs: extra.durationMs ?? 0,
      groups: extra.groups ?? 0,
      ...(extra.error === undefined ? {} : { error: extra.error }),
    });
  }

  /** Every plugin of this resource again now (see PollingAgent.rerunAll). */
  runAllNow(): void {
    const now = this.agent.now();
    for (const slot of this.slots)
      this.sendSelf({ type: 'tick', plugin: slot.plugin.definition.name, dueAt: now, force: true });
  }

  private async tick(pluginName: string, dueAt: number, catchUp = false, force = false): Promise<void> {
    const slot = this.slots.find((s) => s.plugin.definition.name === pluginName);
    if (slot === undefined) return;
    if (catchUp) {
      if (slot.lastRunDue !== Number.NEGATIVE_INFINITY || slot.inFlight !== 0) return;
      try {
        if (!(await this.agent.overdue?.(this.resource, slot.plugin, dueAt))) return;
      } catch (e) {
        // The slot's own tick comes anyway.
        this.agent.supervisor.logger.debug(
          { resource: this.id, plugin: pluginName, err: errorMessage(e) },
          'catch-up check failed; the next slot polls',
        );
        return;
      }
    }
    const now = this.agent.now();
    const lateness = Math.max(0, now - dueAt);
    const def = slot.plugin.definition;
    if (slot.inFlight !== 0 && slot.overdue !== undefined) {
      const overdueMs = now - slot.overdue.since;
      if (overdueMs >= def.executeFrequencySeconds * 1000) {
        this.writeOff(slot, overdueMs);
      } else if (this.mayPublish(slot)) {
        // Silence would hide the hung plugin: every tick it blocks says so.
        this.startPublish(slot, this.withStatus(slot, [], 'timeout'), {
          status: 'skipped_in_flight',
          dueAt,
          latenessMs: lateness,
          durationMs: 0,
          groups: 0,
          error: `the previous run has not returned ${Math.round(overdueMs / 1000)} s after its timeout`,
          what: 'publishing the status group',
        });
        return;
      }
    }
    if (slot.inFlight !== 0) {
      this.report(pluginName, 'skipped_in_flight', dueAt, lateness);
      return;
    }
    if (!this.mayPublish(slot)) {
      this.report(pluginName, 'deferred', dueAt, lateness, {
        error: 'the results of the previous run are still waiting for the bus',
      });
      return;
    }
    if (!catchUp && !force && lateness >= def.executeFrequencySeconds * 1000) {
      this.report(pluginName, 'deferred', dueAt, lateness, {
        error: `the tick waited ${Math.round(lateness / 1000)} s for the actor; the next slot polls`,
      });
      return;
    }
    if (!force && dueAt - slot.lastRunDue < def.executeFrequencySeconds * 1000) {
      this.report(pluginName, 'skipped_too_soon', dueAt, lateness);
      return;
    }
    if (slot.cached !== undefined && now - slot.cached.at < def.resultsCacheAgeSeconds * 1000) {
      slot.lastRunDue = dueAt;
      this.startPublish(slot, this.withStatus(slot, slot.cached.groups, 'success'), {
        status: 'cached',
        dueAt,
        latenessMs: lateness,
        durationMs: 0,
        groups: slot.cached.groups.length,
        what: 'publishing cached results',
      });
      return;
    }
    let guard: GuardResult;
    try {
      guard = await this.agent.acquire(this.resource, slot.plugin, dueAt);
    } catch (e) {
      this.report(pluginName, 'error', dueAt, lateness, { error: `guard: ${errorMessage(e)}` });
      return;
    }
    if (guard.status !== 'ok') {
      this.report(pluginName, guard.status, dueAt, lateness);
      return;
    }
    const run = ++runCounter;
    const controller = new AbortController();
    slot.inFlight = run;
    slot.controller = controller;
    slot.lastRunDue = dueAt;
    const resource = this.resource;
    const lockOwner = guard.lockOwner;
    const handle = this.agent.run(resource, slot.plugin, controller, slot.keeper);
    void handle.outcome.then((outcome) => {
      if (outcome.status !== 'success' && outcome.stillRunning === true) {
        this.sendSelf({ type: 'overdue', plugin: pluginName, run, writeOff: () => handle.writeOff() });
      }
      this.sendSelf({
        type: 'done',
        plugin: pluginName,
        run,
        dueAt,
        startedAt: now,
        latenessMs: lateness,
        outcome,
      });
    });
    void handle.settled.then(() => {
      // Stopped meanwhile: nobody will handle it, but the lock must not linger.
      if (!this.sendSelf({ type: 'settled', plugin: pluginName, run, lockOwner })) {
        void this.agent.release(resource, pluginName, lockOwner).catch((e: unknown) =>
          // The lease expires by itself.
          this.agent.supervisor.logger.debug(
            { resource: this.id, plugin: pluginName, err: errorMessage(e) },
            'releasing the lock of a stopped actor failed; it expires by itself',
          ),
        );
      }
    });
  }

  private async done(message: Extract<ResourceMessage, { type: 'done' }>): Promise<void> {
    const slot = this.slots.find((s) => s.plugin.definition.name === message.plugin);
    const durationMs = this.agent.now() - message.startedAt;
    const { outcome } = message;
    if (outcome.status !== 'success') {
      const failed = slot === undefined ? [] : this.withStatus(slot, [], outcomePollingStatus(outcome));
      if (failed.length > 0 && slot !== undefined && this.mayPublish(slot)) {
        // The run's status group; the run is reported as failed whatever its publish does.
        this.startPublish(slot, failed, {
          status: outcome.status,
          dueAt: message.dueAt,
          latenessMs: message.latenessMs,
          durationMs,
          groups: 0,
          error: outcome.error,
          what: 'publishing the status group',
        });
        return;
      }
      this.report(message.plugin, outcome.status, message.dueAt, message.latenessMs, {
        durationMs,
        error: outcome.error,
      });
      return;
    }
    if (slot === undefined) return; // the plugin no longer applies: its results are not published
    const def = slot.plugin.definition;
    if (!slot.restored && def.transforms.length > 0 && this.agent.restoreHistory !== undefined) {
      slot.restored = true;
      try {
        const saved = await this.agent.restoreHistory(this.resource, slot.plugin);
        if (saved !== undefined && slot.history.size === 0) slot.history = saved;
      } catch (e) {
        // No checkpoint: rates start from this sample, as for a new resource.
        this.agent.supervisor.logger.debug(
          { resource: this.id, plugin: def.name, err: errorMessage(e) },
          'counter checkpoint not readable; rates start from this sample',
        );
      }
    }
    const transformed = applyRateTransforms({
      resourceId: this.resource.resource_id,
      groups: outcome.groups,
      transforms: def.transforms,
      history: slot.history,
      ...(outcome.sysUpTime === undefined ? {} : { sysUpTime: outcome.sysUpTime }),
      ...(outcome.counters === undefined ? {} : { counters: outcome.counters }),
    });
    if (def.transforms.length > 0) {
      // Series silent for more than 3 intervals would only re-baseline: drop them.
      slot.history.prune(this.agent.now() / 1000 - 4 * def.executeFrequencySeconds);
      this.agent.saveHistory?.(this.resource, slot.plugin, slot.history);
    }
    // Kept only when they may be republished: results are the largest thing an actor could hold.
    slot.cached =
      def.resultsCacheAgeSeconds > 0 ? { at: this.agent.now(), groups: transformed.groups } : undefined;
    this.startPublish(slot, this.withStatus(slot, transformed.groups, outcomePollingStatus(outcome)), {
      status: 'success',
      dueAt: message.dueAt,
      latenessMs: message.latenessMs,
      durationMs,
      groups: outcome.groups.length,
      what: 'publishing',
    });
  }

  /**
   * Publishes without blocking the actor; the outcome comes back as a `published` message,
   * reported as `status` when it worked, as an error naming `what` when it did not.
   */
  private startPublish(
    slot: PluginSlot,
    groups: readonly MetricsGroup[],
    report: {
      status: RunStatusKind;
      dueAt: number;
      latenessMs: number;
      durationMs: number;
      groups: number;
      error?: string;
      what: string;
    },
  ): void {
    slot.publishing++;
    const plugin = slot.plugin.definition.name;
    const base = {
      type: 'published' as const,
      plugin,
      dueAt: report.dueAt,
      latenessMs: report.latenessMs,
      durationMs: report.durationMs,
      groups: report.groups,
    };
    void this.agent.publish(this.resource, slot.plugin, groups).then(
      () => this.deliver({ ...base, status: report.status, error: report.error }),
      (e: unknown) =>
        this.deliver({
          ...base,
          status: report.status === 'success' || report.status === 'cached' ? 'error' : report.status,
          error: `${report.what}: ${errorMessage(e)}`,
        }),
    );
  }

  /** The outcome of a publish; reported directly when the actor stopped meanwhile. */
  private deliver(message: Extract<ResourceMessage, { type: 'published' }>): void {
    if (!this.sendSelf(message)) {
      this.report(message.plugin, message.status, message.dueAt, message.latenessMs, {
        durationMs: message.durationMs,
        groups: message.groups,
        ...(message.error === undefined ? {} : { error: message.error }),
      });
    }
  }

  private published(message: Extract<ResourceMessage, { type: 'published' }>): void {
    const slot = this.slots.find((s) => s.plugin.definition.name === message.plugin);
    if (slot !== undefined) slot.publishing = Math.max(0, slot.publishing - 1);
    this.report(message.plugin, message.status, message.dueAt, message.latenessMs, {
      durationMs: message.durationMs,
      groups: message.groups,
      ...(message.error === undefined ? {} : { error: message.error }),
    });
  }

  /** The groups plus the run's `status` group, when the agent publishes them. */
  private withStatus(
    slot: PluginSlot,
    groups: readonly MetricsGroup[],
    status: PollingStatusName,
  ): readonly MetricsGroup[] {
    if (this.agent.statusGroups !== true) return groups;
    const def = slot.plugin.definition;
    const group = pollingStatusGroup(
      this.resource,
      def.name,
      status,
      def.executeFrequencySeconds,
      Math.round(this.agent.now()) / 1000,
    );
    return [...groups, group];
  }

  /** Runs in flight now (for idleness checks). */
  get runsInFlight(): number {
    let n = 0;
    for (const slot of this.slots) if (slot.inFlight !== 0 || slot.publishing > 0) n++;
    return n;
  }

  /** The counter history of a plugin (for checkpoints), if the plugin applies. */
  counterHistory(plugin: string): CounterHistory | undefined {
    return this.slots.find((s) => s.plugin.definition.name === plugin)?.history;
  }

  /**
   * Whether a run's results may be published now: always when none of this plugin's are
   * waiting; while some are (the bus is slow or away), only as long as the bus's buffer has room
   * (bus.max_buffered_messages) and at most MAX_PENDING_PUBLISHES per plugin, so an outage
   * shorter than the buffer loses no poll, and a longer one defers polls instead of growing.
   */
  private mayPublish(slot: PluginSlot): boolean {
    if (slot.publishing === 0) return true;
    return slot.publishing < MAX_PENDING_PUBLISHES && this.agent.publishRoom?.() === true;
  }

  private markOverdue(message: Extract<ResourceMessage, { type: 'overdue' }>): void {
    const slot = this.slots.find((s) => s.plugin.definition.name === message.plugin);
    if (slot === undefined || slot.inFlight !== message.run) return;
    slot.overdue = { since: this.agent.now(), writeOff: message.writeOff };
  }

  /**
   * Forgets the run in flight, which has not returned a period after its timeout: the slot is
   * free for the next run, and the hung one no longer holds the node's stop. Its result, if it
   * ever comes, is dropped; its lock expires by itself.
   */
  private writeOff(slot: PluginSlot, overdueMs: number): void {
    const def = slot.plugin.definition;
    slot.overdue?.writeOff();
    this.agent.supervisor.logger.warn(
      { resource: this.id, plugin: def.name, overdueSeconds: Math.round(overdueMs / 1000) },
      `${def.name} run on ${this.id} has not returned ${Math.round(overdueMs / 1000)} s after its ` +
        `timeout of ${def.timeoutSeconds} s (it ignores the abort signal): written off, the next run starts`,
    );
    slot.inFlight = 0;
    slot.controller = undefined;
    slot.overdue = undefined;
  }

  private settled(message: Extract<ResourceMessage, { type: 'settled' }>): void {
    const slot = this.slots.find((s) => s.plugin.definition.name === message.plugin);
    if (slot !== undefined && slot.inFlight === message.run) {
      slot.inFlight = 0;
      slot.controller = undefined;
      slot.overdue = undefined;
    }
    // Not awaited: a store that does not answer must not hold the actor (its mail, its
    // publishes); the lease expires by itself.
    const { plugin, lockOwner } = message;
    void this.agent
      .release(this.resource, plugin, lockOwner)
      .catch((e: unknown) =>
        this.agent.supervisor.logger.debug(
          { resource: this.id, plugin, err: errorMessage(e) },
          'releasing a lock failed; it expires by itself',
        ),
      );
  }

  protected override onStop(): void {
    for (const slot of this.slots) {
      this.agent.unschedule(slot.entry);
      slot.controller?.abort(new Error(`resource ${this.id} stopped`));
      slot.keeper.close('the resource is no longer polled here');
    }
    this.slots = [];
  }
}
