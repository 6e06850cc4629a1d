import { describe, expect, it, vi } from 'vitest';
import { Actor } from '../../src/actors/actor.js';
import type { ActorOptions } from '../../src/actors/actor.js';
import { ActorRegistry } from '../../src/actors/registry.js';
import { Supervisor } from '../../src/actors/supervisor.js';
import type { SupervisorOptions } from '../../src/actors/supervisor.js';
import { silentLogger } from '../../src/log.js';
import { LEVEL, captureLogger } from '../support/capture-logger.js';
import { advance, deferred, hasSettled, settle, until, useVirtualTime } from '../support/virtual-time.js';

/** The messages of the test actor: a typed union, handled by an exhaustive switch. */
type TestMessage =
  | { readonly type: 'record'; readonly n: number }
  | { readonly type: 'wait'; readonly n: number; readonly until: Promise<void> }
  | { readonly type: 'fail'; readonly n: number }
  | { readonly type: 'waitThenReadSignal'; readonly until: Promise<void> };

class TestActor extends Actor<TestMessage> {
  readonly handled: number[] = [];
  readonly started: number[] = [];
  active = 0;
  maxActive = 0;
  stops = 0;
  /** The signal a handler saw, after it waited. */
  signalSeen: AbortSignal | undefined;

  constructor(id: string, supervisor: Supervisor, options?: ActorOptions) {
    super(id, supervisor, options);
  }

  get actorSignal(): AbortSignal {
    return this.signal;
  }

  protected async receive(message: TestMessage): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      switch (message.type) {
        case 'record':
          this.started.push(message.n);
          this.handled.push(message.n);
          return;
        case 'wait':
          this.started.push(message.n);
          await message.until;
          this.handled.push(message.n);
          return;
        case 'fail':
          this.started.push(message.n);
          throw new Error(`failure ${message.n}`);
        case 'waitThenReadSignal':
          await message.until;
          this.signalSeen = this.signal;
          return;
      }
    } finally {
      this.active--;
    }
  }

  protected override onStop(): void {
    this.stops++;
  }
}

/** A synchronous actor, to show that handlers may also return nothing. */
class SyncActor extends Actor<number> {
  readonly handled: number[] = [];
  protected receive(message: number): void {
    this.handled.push(message);
  }
}

function supervisor(options: Partial<SupervisorOptions> = {}): Supervisor {
  return new Supervisor({ logger: silentLogger, now: () => 1_700_000_000_000, ...options });
}

const record = (n: number): TestMessage => ({ type: 'record', n });
const fail = (n: number): TestMessage => ({ type: 'fail', n });

describe('Actor mailbox', () => {
  it('handles messages in the order sent', async () => {
    const actor = new TestActor('a1', supervisor());
    for (let n = 0; n < 20; n++) expect(actor.send(record(n))).toBe(true);
    await actor.whenIdle();
    expect(actor.handled).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(actor.queued).toBe(0);
  });

  it('handles synchronous handlers too, in order', async () => {
    const sup = supervisor();
    const actor = new SyncActor('sync', sup);
    [3, 1, 2].forEach((n) => actor.send(n));
    await actor.whenIdle();
    expect(actor.handled).toEqual([3, 1, 2]);
    expect(sup.stats).toMatchObject({ received: 3, processed: 3, failed: 0 });
  });

  it('handles one message at a time: the next waits for an async handler to finish', async () => {
    const sup = supervisor();
    const actor = new TestActor('a1', sup);
    const gates = [deferred(), deferred(), deferred()];
    gates.forEach((g, n) => actor.send({ type: 'wait', n, until: g.promise }));
    actor.send(record(3));
    await settle();
    expect(actor.started).toEqual([0]);
    expect(actor.queued).toBe(3);
    // Finishing them out of order changes nothing: the second has not started yet.
    gates[2]?.resolve();
    gates[1]?.resolve();
    await settle();
    expect(actor.started).toEqual([0]);
    gates[0]?.resolve();
    await actor.whenIdle();
    expect(actor.handled).toEqual([0, 1, 2, 3]);
    expect(actor.maxActive).toBe(1);
    expect(sup.stats).toMatchObject({ received: 4, processed: 4 });
  });

  it('rejects a message when the mailbox is full: send returns false, the drop is counted and logged, the mailbox never grows', async () => {
    const { logger, records } = captureLogger();
    const sup = supervisor({ logger });
    const actor = new TestActor('full-actor', sup, { mailboxSize: 3 });
    const gate = deferred();
    expect(actor.send({ type: 'wait', n: 0, until: gate.promise })).toBe(true);
    await settle(); // message 0 is being handled, not queued
    const accepted: boolean[] = [];
    let maxQueued = 0;
    for (let n = 1; n <= 10; n++) {
      accepted.push(actor.send(record(n)));
      maxQueued = Math.max(maxQueued, actor.queued);
    }
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(maxQueued).toBe(3);
    expect(sup.stats.dropped).toBe(7);
    const warnings = records.filter((r) => r.level === LEVEL.warn);
    // Logged, but not once per dropped message.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThan(7);
    expect(warnings[0]).toMatchObject({ actor: 'full-actor', reason: 'mailbox full', message: 'record' });
    gate.resolve();
    await actor.whenIdle();
    expect(actor.handled).toEqual([0, 1, 2, 3]);
    // Room again.
    expect(actor.send(record(11))).toBe(true);
    await actor.whenIdle();
    expect(actor.handled.at(-1)).toBe(11);
  });

  it('logs the first dropped message even when the clock is still below 10 s (e.g. virtual time from 0)', () => {
    const { logger, records } = captureLogger();
    const sup = supervisor({ logger, now: () => 0 });
    const actor = new TestActor('early', sup, { mailboxSize: 1 });
    actor.send(record(1));
    expect(actor.send(record(2))).toBe(false);
    expect(sup.stats.dropped).toBe(1);
    // Regression (fixed): lastDropLog defaults to 0, so `now - 0 >= 10_000` is false until the clock passes 10 s.
    expect(records.filter((r) => r.level === LEVEL.warn)).toHaveLength(1);
  });

  it('logs drops at most once per actor per 10 s, but counts every one', () => {
    const { logger, records } = captureLogger();
    let now = 1_700_000_000_000;
    const sup = supervisor({ logger, now: () => now });
    const a = new TestActor('a', sup, { mailboxSize: 1 });
    const b = new TestActor('b', sup, { mailboxSize: 1 });
    a.send(record(0));
    b.send(record(0));
    const warned = (): string[] =>
      records.filter((r) => r.level === LEVEL.warn).map((r) => String(r['actor']));
    for (let i = 0; i < 5; i++) a.send(record(1));
    b.send(record(1));
    expect(warned()).toEqual(['a', 'b']);
    now += 9_999;
    a.send(record(2));
    expect(warned()).toEqual(['a', 'b']);
    now += 1;
    a.send(record(3));
    expect(warned()).toEqual(['a', 'b', 'a']);
    expect(sup.stats.dropped).toBe(8);
  });

  it('the default mailbox holds 64 messages', () => {
    const sup = supervisor();
    const actor = new TestActor('a', sup);
    let accepted = 0;
    for (let n = 0; n < 100; n++) if (actor.send(record(n))) accepted++;
    expect(accepted).toBe(64);
    expect(sup.stats.dropped).toBe(36);
  });
});

describe('Actor failures and the supervisor', () => {
  it("logs a throwing handler with the actor's id and goes on with the next message", async () => {
    const { logger, records } = captureLogger();
    const sup = supervisor({ logger });
    const actor = new TestActor('device-42', sup);
    actor.send(record(1));
    actor.send(fail(2));
    actor.send(record(3));
    await actor.whenIdle();
    expect(actor.handled).toEqual([1, 3]);
    expect(sup.stats).toMatchObject({ received: 3, processed: 2, failed: 1, backoffs: 0 });
    const errors = records.filter((r) => r.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      actor: 'device-42',
      msg: 'actor handler failed',
      message: 'fail',
      failures: 1,
      backoffMs: 0,
      err: { message: 'failure 2' },
    });
    // The consecutive-failure count was reset by the success.
    expect(actor.failures).toBe(0);
  });

  it('backs off exponentially after consecutive failures past the threshold, capped, and a success resets it', async () => {
    const clock = { now: 1_000_000 };
    const sleeps: number[] = [];
    const sup = supervisor({
      failureThreshold: 2,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      now: () => clock.now,
      sleep: (ms) => {
        sleeps.push(ms);
        clock.now += ms;
        return Promise.resolve();
      },
    });
    expect([1, 2, 3, 4, 5, 6, 7].map((f) => sup.backoffMs(f))).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
    const actor = new TestActor('flaky', sup);
    for (let n = 1; n <= 7; n++) actor.send(fail(n));
    actor.send(record(8));
    actor.send(fail(9));
    actor.send(fail(10));
    actor.send(record(11));
    await actor.whenIdle();
    // Pauses after failures 2..7, none after the success and the first failure after it.
    expect(sleeps).toEqual([100, 200, 400, 800, 1000, 1000, 100]);
    expect(actor.handled).toEqual([8, 11]);
    expect(sup.stats).toMatchObject({ failed: 9, processed: 2, backoffs: 7 });
    expect(actor.failures).toBe(0);
  });

  it('handles nothing while paused, and carries on when the pause ends', async () => {
    let clock = 5_000_000;
    const pauses: { ms: number; end: () => void }[] = [];
    const sup = supervisor({
      failureThreshold: 1,
      backoffBaseMs: 2000,
      now: () => clock,
      sleep: (ms) => {
        const d = deferred();
        pauses.push({ ms, end: d.resolve });
        return d.promise;
      },
    });
    const actor = new TestActor('paused', sup);
    actor.send(fail(1));
    actor.send(record(2));
    await settle();
    expect(pauses.map((p) => p.ms)).toEqual([2000]);
    expect(actor.pausedUntil).toBe(clock + 2000);
    expect(actor.handled).toEqual([]);
    expect(actor.queued).toBe(1);
    clock += 2000;
    pauses[0]?.end();
    await actor.whenIdle();
    expect(actor.handled).toEqual([2]);
  });

  it('by default pauses on the real clock: Date.now and setTimeout (here faked)', async () => {
    useVirtualTime(1_700_000_000_000);
    try {
      const sup = new Supervisor({ logger: silentLogger, failureThreshold: 1, backoffBaseMs: 500 });
      const actor = new TestActor('default-clock', sup);
      actor.send(fail(1));
      actor.send(record(2));
      await advance(490);
      expect(actor.handled).toEqual([]);
      expect(actor.pausedUntil).toBe(1_700_000_000_500);
      await advance(10);
      expect(actor.handled).toEqual([2]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Actor stop', () => {
  it('stop({ drain: true }) handles everything queued first', async () => {
    const sup = supervisor();
    const actor = new TestActor('drain', sup);
    const gate = deferred();
    actor.send({ type: 'wait', n: 0, until: gate.promise });
    for (let n = 1; n <= 3; n++) actor.send(record(n));
    const stopped = actor.stop({ drain: true });
    expect(await hasSettled(stopped)).toBe(false);
    gate.resolve();
    await stopped;
    expect(actor.handled).toEqual([0, 1, 2, 3]);
    expect(sup.stats.cancelled).toBe(0);
    expect(actor.isStopped).toBe(true);
    expect(actor.stops).toBe(1);
  });

  it('stop() cancels what is queued (counted), waits for the running handler, aborts the signal', async () => {
    const sup = supervisor();
    const actor = new TestActor('cancel', sup);
    const signal = actor.actorSignal;
    const gate = deferred();
    actor.send({ type: 'wait', n: 0, until: gate.promise });
    for (let n = 1; n <= 3; n++) actor.send(record(n));
    await settle();
    const stopped = actor.stop();
    expect(sup.stats.cancelled).toBe(3);
    expect(actor.queued).toBe(0);
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toContain('actor cancel stopped');
    expect(await hasSettled(stopped)).toBe(false);
    expect(actor.stops).toBe(0); // onStop runs after the last handler
    gate.resolve();
    await stopped;
    expect(actor.handled).toEqual([0]);
    expect(actor.stops).toBe(1);
    expect(actor.active).toBe(0);
  });

  it('a stopped actor rejects messages (counted as dropped) and stopping again does nothing', async () => {
    const sup = supervisor();
    const actor = new TestActor('stopped', sup);
    await actor.stop();
    expect(actor.send(record(1))).toBe(false);
    expect(sup.stats.dropped).toBe(1);
    await actor.stop({ drain: true });
    expect(actor.stops).toBe(1);
    expect(actor.handled).toEqual([]);
  });

  it('a handler still running when stop() is called sees an aborted signal, even if it first reads it late', async () => {
    const actor = new TestActor('late-reader', supervisor());
    const gate = deferred();
    actor.send({ type: 'waitThenReadSignal', until: gate.promise });
    await settle();
    const stopped = actor.stop();
    gate.resolve();
    await stopped;
    // Regression (fixed): `signal` creates its AbortController lazily and stop() only aborts one that exists,
    // so a handler that reads `this.signal` after stop() began gets a fresh, never-aborted signal.
    expect(actor.signalSeen?.aborted).toBe(true);
  });

  it('stop() does not wait out a back-off pause (it only waits for a running handler)', async () => {
    const pause = deferred();
    const sup = supervisor({ failureThreshold: 1, backoffBaseMs: 60_000, sleep: () => pause.promise });
    const actor = new TestActor('backing-off', sup);
    actor.send(fail(1));
    actor.send(record(2));
    await settle(); // the actor now sleeps for 60 s (virtual: until `pause` resolves)
    const stopped = actor.stop();
    expect(sup.stats.cancelled).toBe(1);
    // Regression (fixed): stop() awaits whenIdle(), and the actor stays "running" for the whole pause.
    const promptly = await hasSettled(stopped);
    pause.resolve();
    await stopped;
    expect(promptly).toBe(true);
  });
});

describe('ActorRegistry', () => {
  it('creates an actor once per key, stops one by key, and stops all', async () => {
    const sup = supervisor();
    const registry = new ActorRegistry<TestActor>();
    let created = 0;
    const make = (key: string): TestActor => {
      created++;
      return new TestActor(key, sup);
    };
    const a = registry.getOrCreate('a', make);
    expect(registry.getOrCreate('a', make)).toBe(a);
    const b = registry.getOrCreate('b', make);
    const c = registry.getOrCreate('c', make);
    expect(created).toBe(3);
    expect(registry.size).toBe(3);
    expect([...registry.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(registry.get('b')).toBe(b);

    b.send(record(1));
    expect(await registry.stop('b')).toBe(true);
    expect(b.isStopped).toBe(true);
    expect(registry.get('b')).toBeUndefined();
    expect(registry.size).toBe(2);
    expect(await registry.stop('b')).toBe(false);
    expect(await registry.stop('missing')).toBe(false);

    // A new actor under a stopped key.
    const b2 = registry.getOrCreate('b', make);
    expect(b2).not.toBe(b);
    expect(created).toBe(4);

    const gate = deferred();
    c.send({ type: 'wait', n: 1, until: gate.promise });
    c.send(record(2));
    await settle();
    const all = registry.stopAll({ drain: true });
    expect(registry.size).toBe(0);
    expect(await hasSettled(all)).toBe(false);
    gate.resolve();
    await all;
    expect(c.handled).toEqual([1, 2]);
    expect([a, b2, c].every((x) => x.isStopped && x.stops === 1)).toBe(true);
    expect([...registry.values()]).toEqual([]);
  });

  it('stopAll without drain cancels queued messages of every actor', async () => {
    const sup = supervisor();
    const registry = new ActorRegistry<TestActor>();
    const actors = ['x', 'y'].map((k) => registry.getOrCreate(k, (key) => new TestActor(key, sup)));
    for (const actor of actors) for (let n = 0; n < 5; n++) actor.send(record(n));
    await registry.stopAll();
    expect(sup.stats.cancelled).toBe(10);
    await until(() => actors.every((a) => a.isStopped), 'stopped');
    expect(actors.flatMap((a) => a.handled)).toEqual([]);
  });
});
