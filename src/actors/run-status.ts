/** What runs of polling plugins come to, as ResourceActors report them. */
import type { MetricsGroup } from '../model/index.js';

export type RunStatusKind =
  'success' | 'error' | 'timeout' | 'cached' | 'skipped_in_flight' | 'skipped_too_soon' | 'skipped_locked';

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
  | { readonly status: 'success'; readonly groups: readonly MetricsGroup[] }
  | { readonly status: 'error' | 'timeout'; readonly error: string };
