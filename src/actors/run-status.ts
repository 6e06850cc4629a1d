/** What runs of polling plugins come to, as ResourceActors report them. */
import { isPanoptesError } from '../errors.js';
import type { MetricsGroup, PollingStatusName } from '../model/index.js';
import type { CounterHint } from '../streams/counter-rate.js';

/**
 * `deferred`: the tick could not run when it came (its results of the previous run still wait
 * for the bus, or the tick waited a whole period in the mailbox); the next slot polls.
 */
export type RunStatusKind =
  | 'success'
  | 'error'
  | 'timeout'
  | 'cached'
  | 'skipped_in_flight'
  | 'skipped_too_soon'
  | 'skipped_locked'
  | 'deferred';

/** What one scheduled tick of one plugin for one resource came to. */
export interface RunStatus {
  readonly resourceId: string;
  readonly plugin: string;
  readonly status: RunStatusKind;
  /** When the tick was due (epoch ms). */
  readonly dueAt: number;
  /** How late the actor acted on the tick, ms. */
  readonly latenessMs: number;
  readonly durationMs: number;
  readonly groups: number;
  readonly error?: string;
}

export type RunOutcome =
  | {
      readonly status: 'success';
      readonly groups: readonly MetricsGroup[];
      /** The polling status the plugin reported (default success). */
      readonly pollingStatus?: PollingStatusName;
      readonly sysUpTime?: number;
      readonly counters?: ReadonlyMap<MetricsGroup, Readonly<Record<string, CounterHint>>>;
    }
  | {
      readonly status: 'error' | 'timeout';
      readonly error: string;
      /** The polling status the failure stands for (default: timeout, or internal error). */
      readonly pollingStatus?: PollingStatusName;
      /** A timeout whose plugin has not returned (it ignores its abort signal): the run goes on. */
      readonly stillRunning?: true;
    };

/** The polling status a run's outcome is published with (a failure without one: timeout or internal error). */
export function outcomePollingStatus(outcome: RunOutcome): PollingStatusName {
  if (outcome.status === 'success') return outcome.pollingStatus ?? 'success';
  return outcome.pollingStatus ?? (outcome.status === 'timeout' ? 'timeout' : 'internalError');
}

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
]);

/** The polling status a failed run stands for, from the error it threw. */
export function pollingStatusOf(error: unknown): PollingStatusName {
  if (isPanoptesError(error)) {
    switch (error.code) {
      case 'SNMP_TIMEOUT':
        return 'timeout';
      case 'SNMP_AUTH':
        return 'authFailure';
      case 'SNMP_NETWORK':
        return 'networkError';
      case 'SNMP_ERROR_STATUS':
        return 'missingData';
      case 'GNMI':
        return gnmiStatus(error.details?.['grpcCode']);
      default:
        return 'internalError';
    }
  }
  const errno = (error as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) return 'networkError';
  return 'internalError';
}

/** A failed gNMI call's polling status, by its gRPC status code. */
function gnmiStatus(code: unknown): PollingStatusName {
  switch (code) {
    case 7: // PERMISSION_DENIED
    case 16: // UNAUTHENTICATED
      return 'authFailure';
    case 4: // DEADLINE_EXCEEDED
      return 'timeout';
    case 5: // NOT_FOUND
    case 12: // UNIMPLEMENTED
      return 'missingData';
    default:
      return 'networkError';
  }
}
