/**
 * What a polling plugin keeps open between runs for one resource (a gNMI subscription): opened
 * by a run through ctx.keep(open), owned by the resource's actor, which closes it when the plugin
 * stops applying to the resource, when the resource changes (the next run opens a new one with
 * the new endpoint and metadata) and when the actor stops.
 */
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export interface Kept {
  /** Releases what the value holds (streams, sockets, timers). Must not throw. */
  close(reason: string): void;
}

export class Keeper {
  private value: Kept | undefined;
  private closedFor: string | undefined;

  constructor(
    private readonly what: string,
    private readonly logger?: Logger,
  ) {}

  /**
   * The value kept for this resource and plugin, opened by `open` on first use. After close(),
   * a run still in flight gets an error saying why; the next run has a new keeper.
   */
  keep<T extends Kept>(open: () => T): T {
    if (this.closedFor !== undefined)
      throw new PanoptesError(
        'PLUGIN_FAILED',
        `${this.what}: closed (${this.closedFor}); the next run opens it again`,
      );
    // One value per keeper: a plugin keeps one thing per resource (its own type each time).
    this.value ??= open();
    return this.value as T;
  }

  get holding(): boolean {
    return this.value !== undefined;
  }

  close(reason: string): void {
    if (this.closedFor !== undefined) return;
    this.closedFor = reason;
    const value = this.value;
    this.value = undefined;
    try {
      value?.close(reason);
    } catch (e) {
      this.logger?.warn({ what: this.what, err: errorMessage(e) }, 'closing what a plugin kept failed');
    }
  }
}
