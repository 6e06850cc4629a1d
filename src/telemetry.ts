/**
 * What every component reports about itself, for operators: Prometheus samples for `/metrics`
 * and the state of each dependency it talks to for `/readyz`. Components own their telemetry
 * (the bus reports the bus, the SNMP engine the engine, each consumer itself); the node only
 * joins what its parts report.
 *
 * A dependency's state changes are logged once, when they happen: `dependency down` (warn) with
 * the reason, and `dependency up again` (info) with how long it was down. Those two lines are
 * how a log reader sees an outage begin and end.
 */
import type { Logger } from './log.js';

export interface MetricSample {
  /** Metric name, e.g. panoptes_polling_runs_total. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * up: answering. degraded: answering, but something is wrong that does not stop this process's
 * work (e.g. many devices time out). down: this process cannot do its work through it.
 * starting: not yet reached since the process started.
 */
export type DependencyState = 'up' | 'degraded' | 'down' | 'starting';

export interface DependencyStatus {
  /** e.g. kafka, redis, tsdb, snmp. */
  readonly name: string;
  readonly state: DependencyState;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /** What was seen last, for people (never a secret). */
  readonly detail: string;
}

/** Something with telemetry of its own. */
export interface Telemetry {
  metrics(): MetricSample[];
  /** The dependencies it watches; none when it has none. */
  dependencies?(): DependencyStatus[];
  /**
   * Asks its dependencies whether they answer (bounded in time, never rejects) and updates
   * their states; the node calls it every health.probe_interval_seconds.
   */
  probe?(): Promise<void>;
}

/** Collects samples with less ceremony. */
export class SampleList {
  readonly samples: MetricSample[] = [];

  add(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    value: number,
    labels?: Readonly<Record<string, string>>,
  ): this {
    this.samples.push({ name, help, type, value, ...(labels === undefined ? {} : { labels }) });
    return this;
  }
}

/**
 * The state of one dependency as a component sees it, with the time of the last change. Every
 * change is logged once (see the file comment); repeating the same state only refreshes detail.
 */
export class DependencyHealth {
  private state: DependencyState;
  private since: number;
  private detail: string;
  private readonly listeners: ((state: DependencyState, was: DependencyState) => void)[] = [];
  /** When it was last seen up (for "down for N s"). */
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly logger: Logger,
    options: { readonly state?: DependencyState; readonly detail?: string; readonly now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.state = options.state ?? 'starting';
    this.since = this.now();
    this.detail = options.detail ?? '';
  }

  get current(): DependencyState {
    return this.state;
  }

  up(detail = 'answering'): void {
    this.set('up', detail);
  }

  degraded(detail: string): void {
    this.set('degraded', detail);
  }

  down(detail: string): void {
    this.set('down', detail);
  }

  /** Calls `listener(state, was)` after every change of state. */
  onChange(listener: (state: DependencyState, was: DependencyState) => void): void {
    this.listeners.push(listener);
  }

  set(state: DependencyState, detail: string): void {
    this.detail = detail;
    if (state === this.state) return;
    const was = this.state;
    const now = this.now();
    const seconds = Math.round((now - this.since) / 100) / 10;
    this.state = state;
    this.since = now;
    const fields = { dependency: this.name, state, was, detail };
    if (state === 'down') this.logger.warn(fields, `dependency down: ${this.name}: ${detail}`);
    else if (state === 'degraded') this.logger.warn(fields, `dependency degraded: ${this.name}: ${detail}`);
    else if (was === 'starting') this.logger.info(fields, `dependency reached: ${this.name}`);
    else
      this.logger.info({ ...fields, seconds }, `dependency up again: ${this.name} after ${seconds} s ${was}`);
    for (const listener of this.listeners) listener(state, was);
  }

  status(): DependencyStatus {
    return { name: this.name, state: this.state, since: this.since, detail: this.detail };
  }
}

/** Ready when no dependency is down or still starting. */
export function isReady(dependencies: readonly DependencyStatus[]): boolean {
  return dependencies.every((d) => d.state === 'up' || d.state === 'degraded');
}
