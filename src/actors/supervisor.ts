/**
 * The supervisor of a family of actors: counts what they receive, process, drop and fail; logs
 * failures with the actor's id; and backs a repeatedly failing actor off exponentially
 * (base * 2^(failures - threshold), capped), after which it carries on with its next message.
 */
import type { Logger } from '../log.js';

export interface SupervisorOptions {
  readonly logger: Logger;
  /** Consecutive failures tolerated before backing off. Default 3. */
  readonly failureThreshold?: number;
  /** First back-off, ms. Default 1000. */
  readonly backoffBaseMs?: number;
  /** Longest back-off, ms. Default 60000. */
  readonly backoffMaxMs?: number;
  /** Clock (epoch ms) and sleep, replaceable for virtual-time tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the supervisor needs of an actor. */
export interface Supervised {
  readonly id: string;
  failures: number;
  pausedUntil: number;
}

export interface ActorStats {
  received: number;
  processed: number;
  failed: number;
  dropped: number;
  cancelled: number;
  backoffs: number;
}

export class Supervisor {
  readonly stats: ActorStats = {
    received: 0,
    processed: 0,
    failed: 0,
    dropped: 0,
    cancelled: 0,
    backoffs: 0,
  };
  readonly logger: Logger;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  private readonly threshold: number;
  private readonly base: number;
  private readonly max: number;
  /** Drops are logged at most once per actor per this many ms, so a flood cannot flood the log. */
  private readonly lastDropLog = new Map<string, number>();

  constructor(options: SupervisorOptions) {
    this.logger = options.logger;
    this.threshold = options.failureThreshold ?? 3;
    this.base = options.backoffBaseMs ?? 1000;
    this.max = options.backoffMaxMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Back-off after `failures` consecutive failures (0 below the threshold). */
  backoffMs(failures: number): number {
    if (failures < this.threshold) return 0;
    return Math.min(this.max, this.base * 2 ** (failures - this.threshold));
  }

  failed(actor: Supervised, message: unknown, error: unknown): void {
    this.stats.failed++;
    actor.failures++;
    const backoff = this.backoffMs(actor.failures);
    if (backoff > 0) {
      this.stats.backoffs++;
      actor.pausedUntil = this.now() + backoff;
    }
    this.logger.error(
      {
        actor: actor.id,
        err: error,
        failures: actor.failures,
        backoffMs: backoff,
        message: describe(message),
      },
      'actor handler failed',
    );
  }

  dropped(actor: Supervised, message: unknown, reason: string): void {
    this.stats.dropped++;
    const now = this.now();
    const last = this.lastDropLog.get(actor.id);
    if (last === undefined || now - last >= 10_000) {
      this.lastDropLog.set(actor.id, now);
      this.logger.warn({ actor: actor.id, reason, message: describe(message) }, 'actor message dropped');
    }
  }
}

function describe(message: unknown): unknown {
  if (typeof message === 'object' && message !== null && 'type' in message) return message.type;
  return typeof message;
}
