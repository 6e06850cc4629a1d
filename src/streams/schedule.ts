/**
 * Schedules without a timer per actor: one timing wheel per execute frequency, whose slots hold
 * the (plugin, resource) pairs due at that point of the period, and one armed RxJS action per
 * wheel.
 *
 * A pair's offset within the period is a hash of its key, so load spreads evenly over the period
 * and the phase is the same after a restart (due times are absolute: k * period + offset since
 * the epoch). The wheel wakes only for slots that hold entries (the next one is armed after each
 * wake-up, and again when an entry is added before it): a light load does not pay a wake-up every
 * `resolutionMs`. A late wake-up fires every slot it passed, once, and each firing carries its
 * due time so lateness can be measured. The RxJS scheduler is injectable so tests run in virtual
 * time (VirtualTimeScheduler) and the clock is `scheduler.now()`.
 */
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike, Subscription } from 'rxjs';
import { fnv1a32 } from '../hash.js';

export interface ScheduleTarget {
  /** Called when the entry is due; `dueAt` is the slot's due time (epoch ms). */
  onDue(entry: ScheduleEntry, dueAt: number): void;
}

export interface ScheduleEntry {
  readonly key: string;
  readonly periodMs: number;
  /** Offset of the entry within its period, ms (a multiple of the wheel's resolution). */
  readonly offsetMs: number;
  readonly target: ScheduleTarget;
  /** Free for the target (e.g. the plugin's index). */
  readonly tag: number;
  readonly wheel: ScheduleWheel;
  slot: number;
  index: number;
}

/** 32-bit FNV-1a of a string, mixed (murmur3 finaliser) so nearby keys spread well. */
export function stableHash(key: string): number {
  let h = fnv1a32(key);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The offset of `key` within a period of `periodMs`, quantised to `resolutionMs`. */
export function scheduleOffset(key: string, periodMs: number, resolutionMs: number): number {
  const slots = Math.max(1, Math.floor(periodMs / resolutionMs));
  return (stableHash(key) % slots) * resolutionMs;
}

export class ScheduleWheel {
  readonly periodMs: number;
  readonly resolutionMs: number;
  private readonly scheduler: SchedulerLike;
  private readonly slots: ScheduleEntry[][];
  private cursor = 0;
  private started = false;
  /** The armed wake-up and the due time it is for. */
  private armed: Subscription | undefined;
  private armedFor = Infinity;
  /** Inside a wake-up's tick: entries added then are found by the arming that follows it. */
  private ticking = false;
  private count = 0;

  constructor(periodMs: number, resolutionMs: number, scheduler: SchedulerLike = asyncScheduler) {
    this.resolutionMs = Math.max(1, Math.min(resolutionMs, periodMs));
    this.periodMs = Math.max(this.resolutionMs, Math.round(periodMs / this.resolutionMs) * this.resolutionMs);
    this.scheduler = scheduler;
    this.slots = Array.from({ length: this.periodMs / this.resolutionMs }, () => []);
  }

  get size(): number {
    return this.count;
  }

  add(key: string, target: ScheduleTarget, tag = 0): ScheduleEntry {
    const offsetMs = scheduleOffset(key, this.periodMs, this.resolutionMs);
    const slot = offsetMs / this.resolutionMs;
    const list = this.slots[slot] as ScheduleEntry[];
    const entry: ScheduleEntry = {
      key,
      periodMs: this.periodMs,
      offsetMs,
      target,
      tag,
      wheel: this,
      slot,
      index: list.length,
    };
    list.push(entry);
    this.count++;
    if (this.started && !this.ticking) {
      // With no wake-up pending, the slots from the cursor up to now are empty and gone by: the
      // new entry is first due at its slot after now (as if a tick had run every resolutionMs).
      const now = this.scheduler.now();
      if (this.armedFor > now)
        this.cursor = Math.max(this.cursor, Math.ceil(now / this.resolutionMs) * this.resolutionMs);
      const due = this.nextDue(entry, this.cursor);
      if (due < this.armedFor) this.arm(due);
    }
    return entry;
  }

  remove(entry: ScheduleEntry): void {
    const list = this.slots[entry.slot];
    if (list?.[entry.index] !== entry) return;
    const last = list.pop() as ScheduleEntry;
    if (last !== entry) {
      list[entry.index] = last;
      last.index = entry.index;
    }
    entry.index = -1;
    this.count--;
  }

  /** The next due time of an entry at or after `now`. */
  nextDue(entry: ScheduleEntry, now: number): number {
    const base = Math.floor(now / this.periodMs) * this.periodMs + entry.offsetMs;
    return base >= now ? base : base + this.periodMs;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.scheduler.now();
    this.cursor = Math.ceil(now / this.resolutionMs) * this.resolutionMs;
    this.armNext();
  }

  stop(): void {
    this.started = false;
    this.disarm();
  }

  private disarm(): void {
    this.armed?.unsubscribe();
    this.armed = undefined;
    this.armedFor = Infinity;
  }

  /** The due time of the first slot at or after the cursor that holds entries; Infinity when none does. */
  private nextOccupied(): number {
    if (this.count === 0) return Infinity;
    const n = this.slots.length;
    const first = (this.cursor % this.periodMs) / this.resolutionMs;
    for (let k = 0; k < n; k++) {
      if ((this.slots[(first + k) % n] as ScheduleEntry[]).length > 0)
        return this.cursor + k * this.resolutionMs;
    }
    return Infinity;
  }

  private armNext(): void {
    const due = this.nextOccupied();
    if (due === Infinity) this.disarm();
    else this.arm(due);
  }

  /** Wakes at `due` (replacing the armed wake-up): fires the slots passed, arms the next. */
  private arm(due: number): void {
    this.armed?.unsubscribe();
    this.armedFor = due;
    this.armed = this.scheduler.schedule(
      () => {
        this.armed = undefined;
        this.armedFor = Infinity;
        this.ticking = true;
        try {
          this.tick();
        } finally {
          this.ticking = false;
        }
        if (this.started) this.armNext();
      },
      Math.max(0, due - this.scheduler.now()),
    );
  }

  /** Fires every slot whose due time has come (each at most once per call). */
  tick(): void {
    const now = this.scheduler.now();
    let steps = 0;
    while (this.cursor <= now && steps < this.slots.length) {
      const dueAt = this.cursor;
      const slot = (dueAt % this.periodMs) / this.resolutionMs;
      const list = this.slots[slot] as ScheduleEntry[];
      // Copy: a target may remove or add entries while being told.
      for (const entry of list.length > 0 ? [...list] : list) {
        if (entry.index >= 0) entry.target.onDue(entry, dueAt);
      }
      this.cursor += this.resolutionMs;
      steps++;
    }
    if (this.cursor <= now) {
      // More than a whole period behind (the process was suspended): resume from now.
      this.cursor = Math.ceil(now / this.resolutionMs) * this.resolutionMs;
    }
  }
}

/** One wheel per execute frequency. */
export class ScheduleService {
  private readonly wheels = new Map<number, ScheduleWheel>();
  private started = false;

  constructor(
    private readonly resolutionMs = 10,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  get size(): number {
    let n = 0;
    for (const w of this.wheels.values()) n += w.size;
    return n;
  }

  wheel(periodMs: number): ScheduleWheel {
    let wheel = this.wheels.get(periodMs);
    if (wheel === undefined) {
      wheel = new ScheduleWheel(periodMs, this.resolutionMs, this.scheduler);
      this.wheels.set(periodMs, wheel);
      if (this.started) wheel.start();
    }
    return wheel;
  }

  add(key: string, periodMs: number, target: ScheduleTarget, tag = 0): ScheduleEntry {
    return this.wheel(periodMs).add(key, target, tag);
  }

  remove(entry: ScheduleEntry): void {
    entry.wheel.remove(entry);
  }

  start(): void {
    this.started = true;
    for (const w of this.wheels.values()) w.start();
  }

  stop(): void {
    this.started = false;
    for (const w of this.wheels.values()) w.stop();
  }
}
