/**
 * The SNMP engine's own telemetry: its transport counters for /metrics, and `snmp` in /readyz,
 * degraded (never down: a dead device is not this process's fault) when at least
 * DEGRADED_TIMEOUT_RATIO of the requests finished since the previous probe timed out, with at
 * least MIN_REQUESTS of them. Degradation and recovery are logged once (telemetry.ts), so an
 * SNMP outage shows in the log as it begins and ends.
 */
import type { Logger } from '../log.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import type { SnmpEngine } from './engine.js';

export const DEGRADED_TIMEOUT_RATIO = 0.5;
const MIN_REQUESTS = 10;

export class SnmpEngineTelemetry implements Telemetry {
  readonly health: DependencyHealth;
  private lastTimeouts = 0;
  private lastReceived = 0;

  constructor(
    private readonly engine: SnmpEngine,
    logger: Logger,
  ) {
    this.health = new DependencyHealth('snmp', logger, { state: 'up', detail: 'no requests yet' });
  }

  /** Judges the requests finished since the last call. */
  probe(): Promise<void> {
    const s = this.engine.stats;
    const timeouts = s.timeouts - this.lastTimeouts;
    const received = s.received - this.lastReceived;
    this.lastTimeouts = s.timeouts;
    this.lastReceived = s.received;
    const total = timeouts + received;
    if (total < MIN_REQUESTS) return Promise.resolve();
    const ratio = timeouts / total;
    const detail = `${timeouts} of ${total} requests timed out since the last check (${Math.round(ratio * 100)}%)`;
    if (ratio >= DEGRADED_TIMEOUT_RATIO) this.health.degraded(detail);
    else this.health.up(detail);
    return Promise.resolve();
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    const t = this.engine.stats;
    return new SampleList()
      .add('panoptes_snmp_sent_total', 'SNMP datagrams sent, retries included.', 'counter', t.sent)
      .add('panoptes_snmp_retries_total', 'SNMP requests sent again after no answer.', 'counter', t.retries)
      .add(
        'panoptes_snmp_timeouts_total',
        'SNMP requests that timed out after their retries.',
        'counter',
        t.timeouts,
      )
      .add('panoptes_snmp_received_total', 'SNMP answers received.', 'counter', t.received)
      .add('panoptes_snmp_malformed_total', 'SNMP answers that did not decode.', 'counter', t.malformed)
      .add(
        'panoptes_snmp_unexpected_total',
        'SNMP answers with an unknown request-id or from the wrong address.',
        'counter',
        t.unknownRequestId + t.wrongSource,
      )
      .add('panoptes_snmp_in_flight', 'SNMP requests in flight.', 'gauge', t.inFlight)
      .add('panoptes_snmp_queued', 'SNMP requests waiting for a slot.', 'gauge', t.queued).samples;
  }
}
