/**
 * In-memory KeyValueStore for embedded runs and tests. Expiry is checked on access against an
 * injectable clock (so tests can run in virtual time) and swept periodically, so expired keys
 * do not pile up.
 */
import type { KeyValueStore, SetOptions, StoreEntry } from './store.js';

type Value = { kind: 'string'; value: string } | { kind: 'hash'; value: Map<string, string> };

interface Slot {
  data: Value;
  /** Epoch ms, or undefined for no expiry. */
  expiresAt: number | undefined;
}

export interface MemoryStoreOptions {
  /** Clock in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Sweep expired keys every this many ms (0 = never; access still honours expiry). Default 60000. */
  readonly sweepIntervalMs?: number;
}

export class MemoryStore implements KeyValueStore {
  private readonly data = new Map<string, Slot>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    const every = options.sweepIntervalMs ?? 60_000;
    this.sweeper = every > 0 ? setInterval(() => this.sweep(), every) : undefined;
    this.sweeper?.unref();
  }

  /** Number of live keys (expired ones not counted). */
  get size(): number {
    this.sweep();
    return this.data.size;
  }

  sweep(): void {
    const now = this.now();
    for (const [key, slot] of this.data)
      if (slot.expiresAt !== undefined && slot.expiresAt <= now) this.data.delete(key);
  }

  private live(key: string): Slot | undefined {
    const slot = this.data.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt !== undefined && slot.expiresAt <= this.now()) {
      this.data.delete(key);
      return undefined;
    }
    return slot;
  }

  private expiry(options: SetOptions | undefined): number | undefined {
    return options?.ttlMs === undefined ? undefined : this.now() + Math.max(0, options.ttlMs);
  }

  get(key: string): Promise<string | undefined> {
    const slot = this.live(key);
    return Promise.resolve(slot?.data.kind === 'string' ? slot.data.value : undefined);
  }

  set(key: string, value: string, options?: SetOptions): Promise<void> {
    this.data.set(key, { data: { kind: 'string', value }, expiresAt: this.expiry(options) });
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    const existed = this.live(key) !== undefined;
    this.data.delete(key);
    return Promise.resolve(existed);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    for (const e of entries)
      await this.set(e.key, e.value, e.ttlMs === undefined ? undefined : { ttlMs: e.ttlMs });
  }

  ttlMs(key: string): Promise<number | undefined> {
    const slot = this.live(key);
    return Promise.resolve(slot?.expiresAt === undefined ? undefined : slot.expiresAt - this.now());
  }

  keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for (const key of [...this.data.keys()])
      if (key.startsWith(prefix) && this.live(key) !== undefined) out.push(key);
    return Promise.resolve(out);
  }

  hget(key: string, field: string): Promise<string | undefined> {
    const slot = this.live(key);
    return Promise.resolve(slot?.data.kind === 'hash' ? slot.data.value.get(field) : undefined);
  }

  hset(key: string, fields: Readonly<Record<string, string>>, options?: SetOptions): Promise<void> {
    let slot = this.live(key);
    if (slot?.data.kind !== 'hash') {
      slot = { data: { kind: 'hash', value: new Map() }, expiresAt: undefined };
      this.data.set(key, slot);
    }
    const map = (slot.data as { kind: 'hash'; value: Map<string, string> }).value;
    for (const [f, v] of Object.entries(fields)) map.set(f, v);
    if (options?.ttlMs !== undefined) slot.expiresAt = this.expiry(options);
    return Promise.resolve();
  }

  hgetall(key: string): Promise<Record<string, string>> {
    const slot = this.live(key);
    return Promise.resolve(slot?.data.kind === 'hash' ? Object.fromEntries(slot.data.value) : {});
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    const slot = this.live(key);
    if (slot?.data.kind !== 'hash') return Promise.resolve(0);
    let n = 0;
    for (const f of fields) if (slot.data.value.delete(f)) n++;
    if (slot.data.value.size === 0) this.data.delete(key);
    return Promise.resolve(n);
  }

  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if (this.live(key) !== undefined) return Promise.resolve(false);
    this.data.set(key, { data: { kind: 'string', value: owner }, expiresAt: this.now() + ttlMs });
    return Promise.resolve(true);
  }

  extendLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const slot = this.live(key);
    if (slot?.data.kind !== 'string' || slot.data.value !== owner) return Promise.resolve(false);
    slot.expiresAt = this.now() + ttlMs;
    return Promise.resolve(true);
  }

  releaseLock(key: string, owner: string): Promise<boolean> {
    const slot = this.live(key);
    if (slot?.data.kind !== 'string' || slot.data.value !== owner) return Promise.resolve(false);
    this.data.delete(key);
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.data.clear();
    return Promise.resolve();
  }
}
