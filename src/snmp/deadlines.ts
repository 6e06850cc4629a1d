/**
 * Request timeouts without a Node timer per request.
 *
 * Entries armed with the same timeout are queued in the order they were armed, so their
 * deadlines are in order too; one Node timer is set for the earliest deadline over all queues
 * (a poller uses one or two distinct timeouts). Cancelling an entry only clears its queue slot;
 * the timer goes through cleared slots when it fires. In steady polling no timer is created or
 * cleared per request: arming is a clock read and two array stores, cancelling one store.
 *
 * The timer is unreferenced while nothing is armed, so an idle transport does not keep the
 * process alive, as with one timer per request.
 *
 * Time comes from performance.now(), plus a correction that only ever grows: when the timer
 * fires more than a millisecond before the deadline it was set for by that clock (fake timers in
 * tests advance setTimeout time but not performance.now()), the clock is moved forward to it, so
 * a timer that fires always expires what it was set for.
 */

/** What the queues hold; the two fields belong to DeadlineQueues. */
export interface Deadline {
  /** The queue holding the entry while it is armed. */
  deadlineQueue: DeadlineQueue<Deadline> | undefined;
  /** Its position there (absolute, see DeadlineQueue.base). */
  deadlineSlot: number;
}

/** Entries armed with one timeout, oldest first. */
export class DeadlineQueue<T extends Deadline> {
  entries: (T | undefined)[] = [];
  deadlines: number[] = [];
  /** Index in the arrays of the oldest entry not yet taken out. */
  head = 0;
  /** Absolute position of index 0 (grows when the arrays are compacted). */
  base = 0;

  constructor(readonly timeoutMs: number) {}

  /** Deadline of the oldest entry still armed, Infinity if none; drops cleared slots on the way. */
  firstDeadline(): number {
    while (this.head < this.entries.length && this.entries[this.head] === undefined) this.head++;
    this.compact();
    return this.head < this.entries.length ? (this.deadlines[this.head] ?? Infinity) : Infinity;
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      // Empty: start again at the front of the same arrays.
      this.base += this.head;
      this.entries.length = 0;
      this.deadlines.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.base += this.head;
      this.entries = this.entries.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
  }
}

export class DeadlineQueues<T extends Deadline> {
  /** By timeout; a queue left empty when the timer fires is dropped. */
  private readonly queues = new Map<number, DeadlineQueue<T>>();
  /** The queue used last (sessions mostly share one timeout). */
  private lastQueue: DeadlineQueue<T> | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the timer is set for (Infinity: no timer). */
  private timerAt = Infinity;
  private timerRefed = false;
  /** Entries armed and not cancelled or expired. */
  private live = 0;
  private skew = 0;
  private readonly fire = (): void => this.onTimer();

  /** `expire` is called for each entry whose deadline passed, after it was taken out. */
  constructor(private readonly expire: (entry: T) => void) {}

  now(): number {
    return performance.now() + this.skew;
  }

  /** Arms `entry` to expire `timeoutMs` from now. */
  arm(entry: T, timeoutMs: number): void {
    const queue = this.queueFor(timeoutMs);
    const deadline = this.now() + timeoutMs;
    // Slots cleared at the front go first: answers mostly come in the order of the requests,
    // so the queue stays about as long as the number of requests outstanding.
    queue.firstDeadline();
    entry.deadlineQueue = queue;
    entry.deadlineSlot = queue.base + queue.entries.length;
    queue.entries.push(entry);
    queue.deadlines.push(deadline);
    this.live++;
    if (deadline < this.timerAt) this.setTimer(deadline);
    else if (!this.timerRefed) {
      this.timer?.ref();
      this.timerRefed = true;
    }
  }

  /** Disarms `entry` (nothing happens if it is not armed). */
  cancel(entry: T): void {
    const queue = entry.deadlineQueue;
    if (queue === undefined) return;
    entry.deadlineQueue = undefined;
    queue.entries[entry.deadlineSlot - queue.base] = undefined;
    this.live--;
    if (this.live === 0 && this.timerRefed) {
      this.timer?.unref();
      this.timerRefed = false;
    }
  }

  /** Stops the timer; armed entries stay armed and never expire. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private queueFor(timeoutMs: number): DeadlineQueue<T> {
    if (this.lastQueue?.timeoutMs === timeoutMs) return this.lastQueue;
    let q = this.queues.get(timeoutMs);
    if (q === undefined) {
      q = new DeadlineQueue<T>(timeoutMs);
      this.queues.set(timeoutMs, q);
    }
    this.lastQueue = q;
    return q;
  }

  private setTimer(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - this.now())));
    this.timerRefed = this.live > 0;
    if (!this.timerRefed) this.timer.unref();
  }

  private onTimer(): void {
    const firedFor = this.timerAt;
    this.timer = undefined;
    this.timerAt = Infinity;
    this.timerRefed = false;
    let now = this.now();
    if (firedFor - now > 1) {
      this.skew += firedFor - now;
      now = firedFor;
    }
    // Up to a millisecond early counts as due: Node's timers run on a millisecond clock.
    const due = now + 1;
    const expired: T[] = [];
    for (const queue of this.queues.values()) {
      while (queue.firstDeadline() <= due) {
        const entry = queue.entries[queue.head] as T;
        queue.entries[queue.head] = undefined;
        queue.head++;
        entry.deadlineQueue = undefined;
        this.live--;
        expired.push(entry);
      }
    }
    // Expiring may arm entries again (retries): the next timer is set after all of them. One
    // callback that throws must not leave the others unexpired and the timer unset.
    let failure: Error | undefined;
    for (const entry of expired) {
      try {
        this.expire(entry);
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    let next = Infinity;
    for (const [timeoutMs, queue] of this.queues) {
      const first = queue.firstDeadline();
      if (first === Infinity && queue.entries.length === 0) {
        this.queues.delete(timeoutMs);
        if (this.lastQueue === queue) this.lastQueue = undefined;
      }
      next = Math.min(next, first);
    }
    if (next < this.timerAt) this.setTimer(next);
    if (failure !== undefined) throw failure;
  }
}
