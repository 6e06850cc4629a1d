/**
 * ResourceActor: one per resource on this node. It owns the polling plugins that match the
 * resource, their schedule entries, what is in flight and the last results; nothing else touches
 * them. Guards (Panoptes' two, plus a reuse rule):
 *   - never the same plugin twice at once for this resource (in flight -> skipped_in_flight);
 *   - never sooner than execute_frequency after the last run (-> skipped_too_soon), checked
 *     against this actor's memory and the store's last-run key, so it also holds across nodes;
 *   - across nodes, a lease lock per plugin and resource (-> skipped_locked);
 *   - results younger than results_cache_age are published again instead of polling (-> cached).
 * A run is bounded by the plugin's timeout; its end comes back as a message, so the actor's
 * state only ever changes inside its own handler.
 */
import type { MetricsGroup, Resource } from '../model/index.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import type { ScheduleEntry } from '../streams/schedule.js';
import { Actor } from './actor.js';
import type { PollingAgentPort } from './polling-agent-port.js';
import type { RunOutcome, RunStatusKind } from './run-status.js';

export type ResourceMessage =
  | { readonly type: 'tick'; readonly plugin: string; readonly dueAt: number }
  | { readonly type: 'update'; readonly resource: Resource; readonly plugins: readonly LoadedPlugin[] }
  | {
      readonly type: 'done';
      readonly plugin: string;
      readonly dueAt: number;
      readonly startedAt: number;
      readonly latenessMs: number;
      readonly lockOwner: string | undefined;
      readonly outcome: RunOutcome;
    };

interface PluginSlot {
  plugin: LoadedPlugin;
  entry: ScheduleEntry;
  inFlight: boolean;
  /** Due time of the last run started (epoch ms). */
  lastRunDue: number;
  cached: { at: number; groups: readonly MetricsGroup[] } | undefined;
}

export class ResourceActor extends Actor<ResourceMessage> {
  private resource: Resource;
  private slots: PluginSlot[] = [];

  constructor(
    resource: Resource,
    private readonly agent: PollingAgentPort,
  ) {
    super(resource.resource_id, agent.supervisor, { mailboxSize: agent.mailboxSize });
    this.resource = resource;
  }

  get current(): Resource {
    return this.resource;
  }

  /** Plugin names scheduled for this resource. */
  get pluginNames(): string[] {
    return this.slots.map((s) => s.plugin.definition.name);
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
        this.update(message.resource, message.plugins);
        return undefined;
      case 'tick':
        return this.tick(message.plugin, message.dueAt);
      case 'done':
        return this.done(message);
    }
  }

  private update(resource: Resource, plugins: readonly LoadedPlugin[]): void {
    this.resource = resource;
    const previous = new Map(this.slots.map((s) => [s.plugin.definition.name, s]));
    const next: PluginSlot[] = [];
    plugins.forEach((plugin, i) => {
      const old = previous.get(plugin.definition.name);
      previous.delete(plugin.definition.name);
      const sameTiming =
        old !== undefined &&
        old.entry.tag === i &&
        old.plugin.definition.executeFrequencySeconds === plugin.definition.executeFrequencySeconds;
      if (old !== undefined && !sameTiming) this.agent.unschedule(old.entry);
      next.push({
        plugin,
        entry: sameTiming ? old.entry : this.agent.schedule(this, plugin, i),
        inFlight: old?.inFlight ?? false,
        lastRunDue: old?.lastRunDue ?? Number.NEGATIVE_INFINITY,
        // Cached results belong to the plugin version that produced them.
        cached: old?.plugin === plugin ? old.cached : undefined,
      });
    });
    for (const gone of previous.values()) this.agent.unschedule(gone.entry);
    this.slots = next;
  }

  private report(
    slot: PluginSlot,
    status: RunStatusKind,
    dueAt: number,
    latenessMs: number,
    extra: { durationMs?: number; groups?: number; error?: string } = {},
  ): void {
    this.agent.reportStatus({
      resourceId: this.resource.resource_id,
      plugin: slot.plugin.definition.name,
      status,
      dueAt,
      latenessMs,
      durationMs: extra.durationMs ?? 0,
      groups: extra.groups ?? 0,
      ...(extra.error === undefined ? {} : { error: extra.error }),
    });
  }

  private async tick(pluginName: string, dueAt: number): Promise<void> {
    const slot = this.slots.find((s) => s.plugin.definition.name === pluginName);
    if (slot === undefined) return;
    const now = this.agent.now();
    const lateness = Math.max(0, now - dueAt);
    const def = slot.plugin.definition;
    const periodMs = def.executeFrequencySeconds * 1000;
    if (slot.inFlight) {
      this.report(slot, 'skipped_in_flight', dueAt, lateness);
      return;
    }
    if (dueAt - slot.lastRunDue < periodMs) {
      this.report(slot, 'skipped_too_soon', dueAt, lateness);
      return;
    }
    if (slot.cached !== undefined && now - slot.cached.at < def.resultsCacheAgeSeconds * 1000) {
      slot.lastRunDue = dueAt;
      await this.agent.publish(this.resource, slot.plugin, slot.cached.groups);
      this.report(slot, 'cached', dueAt, lateness, { groups: slot.cached.groups.length });
      return;
    }
    const guard = await this.agent.acquire(this.resource, slot.plugin, dueAt);
    if (guard.status !== 'ok') {
      this.report(slot, guard.status, dueAt, lateness);
      return;
    }
    slot.inFlight = true;
    slot.lastRunDue = dueAt;
    const startedAt = now;
    const lockOwner = guard.lockOwner;
    const resource = this.resource;
    void this.agent.run(resource, slot.plugin, this.signal).then((outcome) => {
      const delivered = this.sendSelf({
        type: 'done',
        plugin: pluginName,
        dueAt,
        startedAt,
        latenessMs: lateness,
        lockOwner,
        outcome,
      });
      // Stopped meanwhile: nobody will handle the result, but the lock must not linger.
      if (!delivered) void this.agent.release(resource, pluginName, lockOwner);
    });
  }

  private async done(message: Extract<ResourceMessage, { type: 'done' }>): Promise<void> {
    const slot = this.slots.find((s) => s.plugin.definition.name === message.plugin);
    const durationMs = this.agent.now() - message.startedAt;
    if (slot === undefined) {
      await this.agent.release(this.resource, message.plugin, message.lockOwner);
      return;
    }
    slot.inFlight = false;
    try {
      if (message.outcome.status === 'success') {
        const groups = message.outcome.groups;
        slot.cached = { at: this.agent.now(), groups };
        await this.agent.publish(this.resource, slot.plugin, groups);
        this.report(slot, 'success', message.dueAt, message.latenessMs, {
          durationMs,
          groups: groups.length,
        });
      } else {
        this.report(slot, message.outcome.status, message.dueAt, message.latenessMs, {
          durationMs,
          error: message.outcome.error,
        });
      }
    } finally {
      await this.agent.release(this.resource, message.plugin, message.lockOwner);
    }
  }

  protected override onStop(): void {
    for (const slot of this.slots) this.agent.unschedule(slot.entry);
    this.slots = [];
  }
}
