/**
 * What a ResourceActor needs from the node that hosts it. The PollingAgent implements it; tests
 * can implement it directly. Kept apart so actor and agent do not import each other.
 */
import type { Resource } from '../model/index.js';
import type { Keeper } from './keeper.js';
import type { MetricsGroup } from '../model/index.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import type { CounterHistory } from '../streams/counter-rate.js';
import type { ScheduleEntry, ScheduleTarget } from '../streams/schedule.js';
import type { RunOutcome, RunStatus } from './run-status.js';
import type { Supervisor } from './supervisor.js';

export type GuardResult =
  | { readonly status: 'ok'; readonly lockOwner: string | undefined }
  | { readonly status: 'skipped_too_soon' | 'skipped_locked' };

export interface RunHandle {
  readonly outcome: Promise<RunOutcome>;
  readonly settled: Promise<void>;
  /**
   * Forgets a run that outlived its timeout and still has not returned: stop() no longer waits
   * for it, and nothing keeps it reachable from here.
   */
  writeOff(): void;
}

export interface PollingAgentPort {
  readonly supervisor: Supervisor;
  readonly mailboxSize: number;
  /** Publish a `status` group (polling_status) with every run. Absent: false. */
  readonly statusGroups?: boolean;
  /** Run a plugin as soon as it starts applying to a resource, then on its schedule. Absent: false. */
  readonly immediateFirstRun?: boolean;
  /** Run a plugin new to a resource at once when it is overdue (its last run, on any node, is a period old). */
  readonly catchUpOverdue?: boolean;
  now(): number;
  /** Whether the plugin's last run for the resource (any node) is at least a period before `at`. */
  overdue?(resource: Resource, plugin: LoadedPlugin, at: number): Promise<boolean>;
  schedule(target: ScheduleTarget, plugin: LoadedPlugin, tag: number): ScheduleEntry;
  unschedule(entry: ScheduleEntry): void;
  /** Cross-node guards: last-run key and lease lock. */
  acquire(resource: Resource, plugin: LoadedPlugin, dueAt: number): Promise<GuardResult>;
  release(resource: Resource, plugin: string, lockOwner: string | undefined): Promise<void>;
  /**
   * Starts the plugin. `outcome` resolves with the result, or at the plugin's timeout (aborting
   * `controller`); `settled` resolves when poll() has really returned. Neither rejects.
   */
  run(resource: Resource, plugin: LoadedPlugin, controller: AbortController, keeper?: Keeper): RunHandle;
  publish(resource: Resource, plugin: LoadedPlugin, groups: readonly MetricsGroup[]): Promise<void>;
  /** Whether more publishes may queue while earlier ones wait (the bus's buffer has room). Absent: no. */
  publishRoom?(): boolean;
  /** The saved counter history of a resource's plugin (another node's), if checkpoints are kept. */
  restoreHistory?(resource: Resource, plugin: LoadedPlugin): Promise<CounterHistory | undefined>;
  /** Saves a resource's plugin counter history (best effort: failures are logged). */
  saveHistory?(resource: Resource, plugin: LoadedPlugin, history: CounterHistory): void;
  reportStatus(status: RunStatus): void;
}
