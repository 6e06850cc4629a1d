/**
 * Helpers for asynchronous code under test: a deferred promise, a way to let every pending
 * microtask run, a bounded wait for a condition, and virtual time built on vitest's fake timers
 * that advances in small steps and lets the code react after each one (actors handle their
 * messages in microtasks, so a tick and its consequences happen within one step).
 */
import { vi } from 'vitest';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves after every microtask queued so far, and every one they queue, has run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Settles until `condition` holds; fails after `turns` macrotask turns (never waits on a clock). */
export async function until(condition: () => boolean, what = 'condition', turns = 1000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await settle();
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True once the promise has settled (checked after letting pending microtasks run). */
export async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

/**
 * Fake setTimeout/setInterval and Date starting at `startMs`; setImmediate and microtasks stay
 * real so `settle()` still works. Undo with `vi.useRealTimers()`.
 */
export function useVirtualTime(startMs: number): void {
  vi.useFakeTimers({
    now: startMs,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
}

/** Advances virtual time by `ms` in steps of `stepMs`, settling before and after every step. */
export async function advance(ms: number, stepMs = 10): Promise<void> {
  await settle();
  // Timers due now (e.g. an RxJS timer with no initial delay) run at now, not at the first step.
  vi.advanceTimersByTime(0);
  await settle();
  for (let left = ms; left > 0;) {
    const step = Math.min(stepMs, left);
    vi.advanceTimersByTime(step);
    await settle();
    left -= step;
  }
}
