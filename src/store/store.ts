/**
 * The key-value store interface. The in-memory store implements it for embedded runs and tests;
 * the Redis store (distributed mode) implements the same interface with the same semantics:
 * string values, optional TTL in milliseconds, hashes, batches, and lease locks whose value is
 * an owner token (acquired with SET NX PX; extended or released only by that owner).
 */

export interface SetOptions {
  /** Expire after this many milliseconds. Absent: no expiry. */
  readonly ttlMs?: number;
}

export interface StoreEntry {
  readonly key: string;
  readonly value: string;
  readonly ttlMs?: number;
}

export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: SetOptions): Promise<void>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /** Values in the order of the keys (undefined where missing). */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  setMany(entries: readonly StoreEntry[]): Promise<void>;
  /** Milliseconds left before the key expires; undefined when missing or without expiry. */
  ttlMs(key: string): Promise<number | undefined>;
  /** Keys starting with `prefix`, in no particular order. */
  keys(prefix: string): Promise<string[]>;

  hget(key: string, field: string): Promise<string | undefined>;
  hset(key: string, fields: Readonly<Record<string, string>>, options?: SetOptions): Promise<void>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, fields: readonly string[]): Promise<number>;

  /** SET key owner NX PX ttl: true when this owner now holds the lock. */
  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Pushes the expiry out, only if `owner` still holds the lock. */
  extendLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes the lock, only if `owner` holds it. */
  releaseLock(key: string, owner: string): Promise<boolean>;

  close(): Promise<void>;
}
