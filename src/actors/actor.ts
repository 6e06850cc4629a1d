/**
 * Actors: a small class owning some state, with a bounded mailbox processed one message at a
 * time; nothing else touches the state. A handler may return a promise: the next message waits
 * for it. Failures go to the supervisor, which logs them with the actor's id and, after repeated
 * failures, pauses the actor with exponential back-off; the actor goes on afterwards.
 *
 * A full mailbox rejects the message (send returns false), counted and logged by the supervisor,
 * never growing without bound. stop() either drains the mailbox or cancels what is queued, and
 * in both cases waits for the message being handled and aborts `signal` for long-running work.
 */
import type { Supervisor } from './supervisor.js';

export interface ActorOptions {
  /** Messages waiting at most. Default 64. */
  readonly mailboxSize?: number;
}

export interface StopOptions {
  /** true: handle what is queued first; false (default): drop it (counted as cancelled). */
  readonly drain?: boolean;
}

export abstract class Actor<M> {
  readonly id: string;
  protected readonly supervisor: Supervisor;
  private readonly mailboxSize: number;
  private mailbox: M[] | undefined;
  private head = 0;
  private running = false;
  private stopped = false;
  private idle: Promise<void> | undefined;
  private idleResolve: (() => void) | undefined;
  private abort: AbortController | undefined;
  /** Ends a supervisor back-off pause early (set while pausing). */
  private wake: (() => void) | undefined;
  /** Consecutive failures, for the supervisor's back-off. */
  failures = 0;
  /** Epoch ms before which the actor does not process (supervisor back-off). */
  pausedUntil = 0;

  constructor(id: string, supervisor: Supervisor, options: ActorOptions = {}) {
    this.id = id;
    this.supervisor = supervisor;
    this.mailboxSize = options.mailboxSize ?? 64;
  }

  /** Aborted when the actor stops: pass it to long-running work. */
  protected get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.stopped) this.abort.abort(new Error(`actor ${this.id} stopped`));
    }
    return this.abort.signal;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while a handler runs or mail waits. */
  get busy(): boolean {
    return this.running;
  }

  get queued(): number {
    return this.mailbox === undefined ? 0 : this.mailbox.length - this.head;
  }

  /** Queues a message; false (and counted) when the mailbox is full or the actor stopped. */
  send(message: M): boolean {
    if (this.stopped) {
      this.supervisor.dropped(this, message, 'stopped');
      return false;
    }
    if (this.queued >= this.mailboxSize) {
      this.supervisor.dropped(this, message, 'mailbox full');
      return false;
    }
    this.enqueue(message);
    return true;
  }

  private enqueue(message: M): void {
    this.mailbox ??= [];
    this.mailbox.push(message);
    this.supervisor.stats.received++;
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.process());
    }
  }

  /**
   * Queues a message the actor sends itself (e.g. the end of work it started). Not bounded by
   * the mailbox size: such messages are bounded by the work in flight, and losing one would
   * leave the actor's state inconsistent. False only when the actor has stopped.
   */
  protected sendSelf(message: M): boolean {
    if (this.stopped) return false;
    this.enqueue(message);
    return true;
  }

  protected abstract receive(message: M): void | Promise<void>;

  /** Called once after the actor stopped (after the last handler finished). */
  protected onStop(): void | Promise<void> {
    return undefined;
  }

  private take(): M | undefined {
    const box = this.mailbox;
    if (box === undefined || this.head >= box.length) return undefined;
    const m = box[this.head] as M;
    this.head++;
    if (this.head >= box.length) {
      // Empty: release the array so idle actors cost almost nothing.
      this.mailbox = undefined;
      this.head = 0;
    }
    return m;
  }

  private async process(): Promise<void> {
    try {
      for (;;) {
        if (this.pausedUntil > 0) {
          const wait = this.pausedUntil - this.supervisor.now();
          if (wait > 0) {
            // stop() must not wait out a back-off: it wakes the pause.
            await Promise.race([this.supervisor.sleep(wait), new Promise<void>((r) => (this.wake = r))]);
            this.wake = undefined;
          }
          this.pausedUntil = 0;
        }
        if (this.stopped) break;
        const message = this.take();
        if (message === undefined) break;
        try {
          const r = this.receive(message);
          if (r !== undefined) await r;
          this.failures = 0;
          this.supervisor.stats.processed++;
        } catch (e) {
          this.supervisor.failed(this, message, e);
        }
      }
    } finally {
      this.running = false;
      if (this.queued > 0 && !this.stopped) {
        this.running = true;
        queueMicrotask(() => void this.process());
      } else if (this.idleResolve !== undefined) {
        this.idleResolve();
        this.idleResolve = undefined;
        this.idle = undefined;
      }
    }
  }

  /** Resolves when the mailbox is empty and no handler runs. */
  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.idle ??= new Promise((r) => (this.idleResolve = r));
    return this.idle;
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.stopped) return;
    if (options.drain === true) await this.whenIdle();
    this.stopped = true;
    this.wake?.();
    const cancelled = this.queued;
    this.mailbox = undefined;
    this.head = 0;
    if (cancelled > 0) this.supervisor.stats.cancelled += cancelled;
    this.abort?.abort(new Error(`actor ${this.id} stopped`));
    await this.whenIdle();
    await this.onStop();
  }
}
