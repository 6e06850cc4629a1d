import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ScheduleService, ScheduleWheel, scheduleOffset, stableHash } from '../../src/streams/schedule.js';
import type { ScheduleEntry, ScheduleTarget } from '../../src/streams/schedule.js';

interface Firing {
  readonly key: string;
  readonly dueAt: number;
  readonly at: number;
}

/** A target that records every firing with the scheduler's time. */
function recorder(clock: { now(): number }): ScheduleTarget & { firings: Firing[] } {
  const firings: Firing[] = [];
  return {
    firings,
    onDue(entry: ScheduleEntry, dueAt: number): void {
      firings.push({ key: entry.key, dueAt, at: clock.now() });
    },
  };
}

/** A virtual scheduler whose clock starts at `start` and is advanced with `runUntil`. */
function virtualScheduler(start = 0): VirtualTimeScheduler & { runUntil(t: number): void } {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
  scheduler.frame = start;
  return Object.assign(scheduler, {
    runUntil(t: number): void {
      scheduler.maxFrames = t;
      scheduler.flush();
      scheduler.frame = Math.max(scheduler.frame, t);
    },
  });
}

const KEYS = Array.from(
  { length: 10_000 },
  (_, i) => `interface_polling\u0000device-${String(i).padStart(6, '0')}`,
);

describe('scheduleOffset', () => {
  it('is stable for the same key (a pure function of key, period and resolution)', () => {
    const first = KEYS.slice(0, 500).map((k) => scheduleOffset(k, 60_000, 10));
    const again = KEYS.slice(0, 500).map((k) => scheduleOffset(k, 60_000, 10));
    expect(again).toEqual(first);
    expect(stableHash('device-1')).toBe(stableHash('device-1'));
    expect(stableHash('device-1')).not.toBe(stableHash('device-2'));
    expect(scheduleOffset('x', 60_000, 10)).toBe((stableHash('x') % 6000) * 10);
    // Pinned values: a change here would move every schedule of every deployment on upgrade.
    expect(stableHash('')).toBe(2872998923);
    expect(stableHash('device-1')).toBe(489740702);
    expect(scheduleOffset('interface_polling\u0000switch1.dc1.example.com', 60_000, 10)).toBe(33_920);
    expect(scheduleOffset('device_status\u0000switch1.dc1.example.com', 300_000, 10)).toBe(29_920);
  });

  it('lies in [0, period) and on the resolution grid', () => {
    for (const [period, resolution] of [
      [60_000, 10],
      [300_000, 10],
      [1000, 1000],
      [15_000, 7],
      [10, 1],
    ] as const) {
      const offsets = KEYS.slice(0, 2000).map((key) => scheduleOffset(key, period, resolution));
      expect(offsets.filter((o) => !(o >= 0 && o < period && o % resolution === 0))).toEqual([]);
    }
    // A resolution coarser than the period leaves one slot.
    expect(scheduleOffset('k', 5, 10)).toBe(0);
  });

  it('is the same in a new wheel (a restart): entries keep their offsets', () => {
    const a = new ScheduleWheel(60_000, 10, virtualScheduler());
    const b = new ScheduleWheel(60_000, 10, virtualScheduler(123_456));
    const target = recorder({ now: () => 0 });
    for (const key of KEYS.slice(0, 1000)) {
      const ea = a.add(key, target);
      const eb = b.add(key, target);
      expect(eb.offsetMs).toBe(ea.offsetMs);
      expect(ea.offsetMs).toBe(scheduleOffset(key, 60_000, 10));
      expect(ea.periodMs).toBe(60_000);
    }
  });

  it('spreads 10k keys evenly over a 60 s period at 10 ms resolution', () => {
    const buckets = new Array<number>(60).fill(0);
    for (const key of KEYS) {
      const second = Math.floor(scheduleOffset(key, 60_000, 10) / 1000);
      buckets[second] = (buckets[second] ?? 0) + 1;
    }
    const mean = KEYS.length / 60;
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(mean * 0.8);
    expect(Math.max(...buckets)).toBeLessThanOrEqual(mean * 1.2);
    // Chi-square with 59 degrees of freedom: 99.6 is the 0.1 % critical value.
    const chi2 = buckets.reduce((sum, n) => sum + (n - mean) ** 2 / mean, 0);
    expect(chi2).toBeLessThan(99.6);
  });

  it('spreads keys that differ only in a trailing digit, and the two plugins of one resource', () => {
    const mean = 10_000 / 60;
    const buckets = new Array<number>(60).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const second = Math.floor(scheduleOffset(`p${i % 2}\u0000r${i >> 1}`, 60_000, 10) / 1000);
      buckets[second] = (buckets[second] ?? 0) + 1;
    }
    const chi2 = buckets.reduce((sum, n) => sum + (n - mean) ** 2 / mean, 0);
    expect(chi2).toBeLessThan(99.6);
    // Used slots: close to what 10k random picks among 6000 slots would use (6000 * (1 - e^(-10/6)) = 4866).
    const used = new Set(KEYS.map((k) => scheduleOffset(k, 60_000, 10))).size;
    expect(used).toBeGreaterThan(4600);
  });
});

describe('ScheduleWheel in virtual time', () => {
  it('fires each entry once per period at its offset: dueAt = k * period + offset, on time', () => {
    const scheduler = virtualScheduler(0);
    const wheel = new ScheduleWheel(1000, 10, scheduler);
    const target = recorder(scheduler);
    const entries = KEYS.slice(0, 50).map((key) => wheel.add(key, target));
    expect(wheel.size).toBe(50);
    wheel.start();
    scheduler.runUntil(3999);
    for (const entry of entries) {
      const mine = target.firings.filter((f) => f.key === entry.key);
      expect(mine.map((f) => f.dueAt)).toEqual([0, 1, 2, 3].map((k) => k * 1000 + entry.offsetMs));
      expect(mine.every((f) => f.at === f.dueAt)).toBe(true);
    }
    expect(target.firings).toHaveLength(200);
  });

  it('uses absolute time: due times are k * period + offset since the epoch, whenever the wheel starts', () => {
    const start = 1_700_000_012_345;
    const scheduler = virtualScheduler(start);
    const wheel = new ScheduleWheel(60_000, 10, scheduler);
    const target = recorder(scheduler);
    const entries = KEYS.slice(0, 100).map((key) => wheel.add(key, target));
    wheel.start();
    scheduler.runUntil(start + 60_000);
    expect(target.firings).toHaveLength(100);
    for (const entry of entries) {
      const firing = target.firings.find((f) => f.key === entry.key);
      expect(firing?.dueAt).toBe(wheel.nextDue(entry, start));
      expect((firing?.dueAt ?? -1) % 60_000).toBe(entry.offsetMs);
      expect(firing?.dueAt).toBeGreaterThanOrEqual(start);
      expect(firing?.at).toBe(firing?.dueAt);
    }
  });

  it('remove() stops an entry; the others keep firing; removing twice is harmless', () => {
    const scheduler = virtualScheduler(0);
    const target = recorder(scheduler);
    // Many entries per slot (resolution 100 -> 10 slots), so removal swaps entries within a slot.
    const coarse = new ScheduleWheel(1000, 100, scheduler);
    const all = KEYS.slice(0, 40).map((key) => coarse.add(key, target));
    coarse.start();
    scheduler.runUntil(999);
    expect(target.firings).toHaveLength(40);
    const removed = all.filter((_, i) => i % 3 === 0);
    for (const e of removed) coarse.remove(e);
    for (const e of removed) coarse.remove(e);
    expect(coarse.size).toBe(40 - removed.length);
    scheduler.runUntil(2999);
    const removedKeys = new Set(removed.map((e) => e.key));
    for (const e of all) {
      const count = target.firings.filter((f) => f.key === e.key).length;
      expect(count).toBe(removedKeys.has(e.key) ? 1 : 3);
    }
  });

  it('an entry removed or added by a target while its slot fires is handled safely', () => {
    const scheduler = virtualScheduler(0);
    const wheel = new ScheduleWheel(1000, 1000, scheduler); // one slot: every entry fires together
    const fired: string[] = [];
    const entries: ScheduleEntry[] = [];
    const target: ScheduleTarget = {
      onDue(entry) {
        fired.push(entry.key);
        if (entry.key === 'a') {
          wheel.remove(entries[1] as ScheduleEntry); // b, not yet told in this slot
          entries.push(wheel.add('d', target));
        }
      },
    };
    for (const key of ['a', 'b', 'c']) entries.push(wheel.add(key, target));
    wheel.start();
    scheduler.runUntil(0);
    expect(fired).toEqual(['a', 'c']);
    scheduler.runUntil(1000);
    expect(fired.slice(2).sort()).toEqual(['a', 'c', 'd']);
  });

  it('works with a TestScheduler run in virtual time', () => {
    const testScheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    testScheduler.run(({ flush }) => {
      const wheel = new ScheduleWheel(100, 10, testScheduler);
      const target = recorder(testScheduler);
      const entry = wheel.add('k', target);
      wheel.start();
      testScheduler.maxFrames = 450;
      flush();
      expect(target.firings.map((f) => f.dueAt)).toEqual(
        [0, 100, 200, 300, 400].map((t) => t + entry.offsetMs).filter((t) => t <= 450),
      );
      wheel.stop();
    });
  });

  it('can be stopped after a long run on a VirtualTimeScheduler advanced step by step', () => {
    const scheduler = virtualScheduler(0);
    const wheel = new ScheduleWheel(60_000, 10, scheduler);
    const target = recorder(scheduler);
    wheel.add('k', target);
    wheel.start();
    // 50 s of virtual time in 10 ms steps, as a test interleaving async work would advance it.
    for (let t = 0; t < 50_000; t += 10) scheduler.runUntil(t);
    expect(target.firings).toHaveLength(1);
    // Bug (with RxJS's VirtualAction): every rescheduling of the timer() action adds the new
    // action as a child of the previous one, so after ~2500 ticks unsubscribing recurses past the
    // stack limit and stop() throws UnsubscriptionError (PollingAgent.stop() too).
    expect(() => wheel.stop()).not.toThrow();
  });

  it('stop() ends the ticks; start() again resumes from now without replaying the gap', () => {
    const scheduler = virtualScheduler(0);
    const wheel = new ScheduleWheel(1000, 10, scheduler);
    const target = recorder(scheduler);
    const entry = wheel.add('k', target);
    wheel.start();
    wheel.start(); // idempotent
    scheduler.runUntil(1999);
    expect(target.firings).toHaveLength(2);
    wheel.stop();
    scheduler.runUntil(4999);
    expect(target.firings).toHaveLength(2);
    wheel.start();
    scheduler.runUntil(5999);
    expect(target.firings.map((f) => f.dueAt)).toEqual([0, 1000, 5000].map((t) => t + entry.offsetMs));
  });
});

describe('ScheduleWheel late ticks', () => {
  /** A wheel whose ticks the test calls by hand at chosen times (as if the event loop was blocked). */
  function manual(periodMs: number, resolutionMs: number) {
    const scheduler = virtualScheduler(0);
    const wheel = new ScheduleWheel(periodMs, resolutionMs, scheduler);
    const target = recorder(scheduler);
    wheel.start(); // sets the cursor; the scheduler is never flushed, so only manual ticks run
    return {
      wheel,
      target,
      tickAt: (t: number): void => {
        scheduler.frame = t;
        wheel.tick();
      },
    };
  }

  it('a late tick fires every missed slot once, each with its original due time', () => {
    const { wheel, target, tickAt } = manual(1000, 10);
    const entries = KEYS.slice(0, 200).map((key) => wheel.add(key, target));
    for (let t = 0; t <= 350; t += 10) tickAt(t);
    const before = target.firings.length;
    tickAt(780); // 430 ms late
    const late = target.firings.slice(before);
    const expected = entries.filter((e) => e.offsetMs > 350 && e.offsetMs <= 780);
    expect(late.map((f) => f.key).sort()).toEqual(expected.map((e) => e.key).sort());
    for (const f of late) {
      const entry = entries.find((e) => e.key === f.key);
      expect(f.dueAt).toBe(entry?.offsetMs);
      expect(f.at).toBe(780);
    }
    // Due times are in order, as if the ticks had come on time.
    expect(late.map((f) => f.dueAt)).toEqual([...late.map((f) => f.dueAt)].sort((a, b) => a - b));
    // Nothing fires twice afterwards.
    for (let t = 790; t < 1000; t += 10) tickAt(t);
    const firstPeriod = target.firings.filter((f) => f.dueAt < 1000);
    expect(new Set(firstPeriod.map((f) => f.key)).size).toBe(firstPeriod.length);
    expect(firstPeriod).toHaveLength(200);
  });

  it('a tick more than a period late fires each entry once, not once per missed period', () => {
    const { wheel, target, tickAt } = manual(1000, 10);
    const entries = KEYS.slice(0, 300).map((key) => wheel.add(key, target));
    for (let t = 0; t <= 350; t += 10) tickAt(t);
    const before = target.firings.length;
    tickAt(350 + 2500); // 2.5 periods late
    const late = target.firings.slice(before);
    const counts = new Map<string, number>();
    for (const f of late) counts.set(f.key, (counts.get(f.key) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBe(1);
    expect(counts.size).toBe(entries.length); // a whole period was missed: everyone is due once
    for (const f of late) {
      const entry = entries.find((e) => e.key === f.key);
      expect(f.dueAt % 1000).toBe(entry?.offsetMs);
      expect(f.dueAt).toBeGreaterThan(350);
      expect(f.dueAt).toBeLessThanOrEqual(2850);
    }
    // Then the wheel resumes at now: each entry is due once per period again, at increasing due times.
    for (let t = 2860; t <= 2850 + 3000; t += 10) tickAt(t);
    for (const entry of entries) {
      const dues = target.firings.filter((f) => f.key === entry.key).map((f) => f.dueAt);
      expect(new Set(dues).size).toBe(dues.length);
      expect(dues).toEqual([...dues].sort((a, b) => a - b));
      const after = dues.filter((d) => d >= 2850);
      expect(after.length).toBeGreaterThanOrEqual(3);
      expect(after.length).toBeLessThanOrEqual(4);
      for (let i = 1; i < after.length; i++) expect((after[i] ?? 0) - (after[i - 1] ?? 0)).toBe(1000);
    }
  });

  it('an early or repeated tick fires nothing new', () => {
    const { wheel, target, tickAt } = manual(1000, 10);
    KEYS.slice(0, 100).forEach((key) => wheel.add(key, target));
    tickAt(500);
    const n = target.firings.length;
    tickAt(500);
    tickAt(505);
    expect(target.firings).toHaveLength(n);
  });
});

describe('ScheduleService', () => {
  it('keeps one wheel per period, starts wheels created after start(), and stops them all', () => {
    const scheduler = virtualScheduler(0);
    const service = new ScheduleService(10, scheduler);
    const target = recorder(scheduler);
    const a = service.add('a', 1000, target, 7);
    service.start();
    const b = service.add('b', 2000, target);
    const a2 = service.add('a2', 1000, target);
    expect(a.wheel).toBe(a2.wheel);
    expect(a.wheel).not.toBe(b.wheel);
    expect(a.tag).toBe(7);
    expect(service.size).toBe(3);
    scheduler.runUntil(3999);
    const count = (key: string): number => target.firings.filter((f) => f.key === key).length;
    expect([count('a'), count('a2'), count('b')]).toEqual([4, 4, 2]);
    service.remove(a2);
    expect(service.size).toBe(2);
    service.stop();
    scheduler.runUntil(9999);
    expect([count('a'), count('a2'), count('b')]).toEqual([4, 4, 2]);
  });

  it('rounds a period to the resolution', () => {
    const wheel = new ScheduleWheel(1005, 10, virtualScheduler());
    expect(wheel.periodMs).toBe(1010);
    expect(new ScheduleWheel(5, 10, virtualScheduler()).periodMs).toBe(5);
  });
});

describe('ScheduleWheel entries added while it sleeps', () => {
  it('fires a new entry at its next slot after the add, not at a slot already gone by', () => {
    const scheduler = virtualScheduler();
    const wheel = new ScheduleWheel(60_000, 10, scheduler);
    const target = recorder(scheduler);
    const byOffset = KEYS.map((k) => ({ k, offset: scheduleOffset(k, 60_000, 10) })).sort(
      (a, b) => a.offset - b.offset,
    );
    const late = byOffset.at(-1) as { k: string; offset: number };
    const early = byOffset.find((e) => e.offset > 1000) as { k: string; offset: number };
    wheel.add(late.k, target);
    wheel.start();
    // The wheel sleeps until `late`; `early`'s slot of this period has gone by when it is added.
    scheduler.runUntil(early.offset + 500);
    wheel.add(early.k, target);
    scheduler.runUntil(120_000);
    const earlyFirings = target.firings.filter((f) => f.key === early.k);
    expect(earlyFirings.map((f) => f.dueAt)).toEqual([60_000 + early.offset]);
    for (const f of target.firings) expect(f.at).toBe(f.dueAt);
  });

  it('does not delay other entries when one is added while it fires', () => {
    const scheduler = virtualScheduler();
    const wheel = new ScheduleWheel(60_000, 10, scheduler);
    const firings: Firing[] = [];
    const byOffset = KEYS.map((k) => ({ k, offset: scheduleOffset(k, 60_000, 10) })).sort(
      (a, b) => a.offset - b.offset,
    );
    const [a, b] = [byOffset[0], byOffset[1]] as { k: string; offset: number }[];
    const last = byOffset.at(-1) as { k: string; offset: number };
    let added = false;
    const target: ScheduleTarget = {
      onDue(entry, dueAt) {
        firings.push({ key: entry.key, dueAt, at: scheduler.now() });
        if (!added) {
          added = true;
          wheel.add(last.k, target); // due much later than b
        }
      },
    };
    wheel.add((a as { k: string }).k, target);
    wheel.add((b as { k: string }).k, target);
    wheel.start();
    scheduler.runUntil(59_999);
    expect(firings.map((f) => f.key)).toEqual([a?.k, b?.k, last.k]);
    for (const f of firings) expect(f.at).toBe(f.dueAt);
  });
});
