/**
 * What a ResourceActor needs from the node that hosts it. The PollingAgent implements it; tests
 * can implement it directly. Kept apart so actor and agent do not import each other.
 */
import type { Resource } from '../model/index.js';
import type { MetricsGroup } from '../model/index.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import type { ScheduleEntry, ScheduleTarget } from '../streams/schedule.js';
import type { RunOutcome, RunStatus } from './run-status.js';
import type { Supervisor } from './supervisor.js';

export type GuardResult =
  | { readonly status: 'ok'; readonly lockOwner: string | undefined }
  | { readonly status: 'skipped_too_soon' | 'skipped_locked' };

export interface PollingAgentPort {
  readonly supervisor: Supervisor;
  readonly mailboxSize: number;
  now(): number;
  schedule(target: ScheduleTarget, plugin: LoadedPlugin, tag: number): ScheduleEntry;
  unschedule(entry: ScheduleEntry): void;
  /** Cross-node guards: last-run key and lease lock. */
  acquire(resource: Resource, plugin: LoadedPlugin, dueAt: number): Promise<GuardResult>;
  release(resource: Resource, plugin: string, lockOwner: string | undefined): Promise<void>;
  /** Runs the plugin with its timeout; never rejects. */
  run(resource: Resource, plugin: LoadedPlugin, signal: AbortSignal): Promise<RunOutcome>;
  publish(resource: Resource, plugin: LoadedPlugin, groups: readonly MetricsGroup[]): Promise<void>;
  reportStatus(status: RunStatus): void;
}
