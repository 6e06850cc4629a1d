/**
 * The Redis KeyValueStore (distributed mode), on ioredis, with the semantics of the in-memory
 * store. Keys arrive complete (built by keys.ts); no ioredis keyPrefix is applied.
 *
 * - Strings: SET (PX for a TTL), GET, DEL, PTTL (-1 no expiry / -2 missing -> undefined).
 *   TTLs are rounded up to whole milliseconds; a TTL <= 0 means "already expired", so the write
 *   deletes the key, as the in-memory store does.
 * - Batches: getMany is MGET (in chunks of 1000 keys, in one pipeline); setMany is one pipeline
 *   of SETs. No MULTI: each command is atomic, the batch is not.
 * - keys(prefix): SCAN MATCH <prefix with its glob characters escaped>* COUNT 1000, never KEYS,
 *   so a large keyspace does not block the server.
 * - Hashes: HSET plus PEXPIRE in the same pipeline when a TTL is given. Reads of a key of the
 *   other type (GET on a hash, HGET on a string) answer "missing" instead of WRONGTYPE, and
 *   HSET over a string replaces it with a hash, as in the in-memory store.
 * - Lease locks: SET key owner NX PX ttl; extend and release run Lua scripts (EVALSHA, loaded
 *   on first use) that check the owner token before PEXPIRE or DEL, so only the owner can.
 *
 * Every Redis failure is a STORE_ERROR naming the operation and the key, with the ioredis error
 * as cause; the command arguments the cause carries are redacted, as values may be secrets.
 * RedisStore.connect() waits until the server answers (or fails within connectTimeoutMs); the
 * constructor returns at once and commands queue until the connection is ready.
 */
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { DependencyHealth } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import type { KeyValueStore, SetOptions, StoreEntry } from './store.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** SCAN COUNT hint and MGET chunk size. */
const BATCH = 1000;
/** Longest TTL sent to Redis (~285,000 years); longer ones (and Infinity, NaN) never expire in practice. */
const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;

export interface RedisStoreOptions {
  /** Default redis://127.0.0.1:6379. With `client`, only named in messages. */
  readonly url?: string;
  /** An existing ioredis client (without keyPrefix). The store does not close a client it did not create. */
  readonly client?: Redis;
  /** TCP connect timeout of a created client, and how long connect() waits for ready. Default 5000. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
  /** ACL user of a created client (a user in the URL wins). */
  readonly username?: string;
  /** Password of a created client (a password in the URL wins). Never logged. */
  readonly password?: string;
  /** TLS options of a created client; a rediss:// URL without them uses TLS with the system CAs. */
  readonly tls?: ConnectionOptions;
}

const EXTEND_LOCK_LUA = `
if redis.pcall('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

const RELEASE_LOCK_LUA = `
if redis.pcall('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** The commands defineCommand adds to the client. */
interface LockScripts {
  panoptesExtendLock(key: string, owner: string, ttlMs: number): Promise<number>;
  panoptesReleaseLock(key: string, owner: string): Promise<number>;
}

/** Whole milliseconds for PX/PEXPIRE, or 'expired' for a TTL <= 0. */
function px(ttlMs: number): number | 'expired' {
  if (Number.isNaN(ttlMs)) return MAX_TTL_MS;
  if (ttlMs <= 0) return 'expired';
  return Math.min(Math.ceil(ttlMs), MAX_TTL_MS);
}

/** The prefix as a literal SCAN MATCH pattern: glob characters escaped with a backslash. */
export function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, '\\$&');
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}

function isWrongType(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith('WRONGTYPE');
}

/**
 * ioredis attaches the failed command (name and arguments) to a reply error; the arguments may
 * hold a value, e.g. a secret being SET. Keeps the first argument (the key of most commands),
 * none of AUTH and HELLO (their arguments are credentials).
 */
function redactCommandArgs(e: unknown): unknown {
  if (typeof e !== 'object' || e === null || !('command' in e)) return e;
  const command = e.command;
  if (typeof command === 'object' && command !== null && 'args' in command && Array.isArray(command.args)) {
    const name = 'name' in command && typeof command.name === 'string' ? command.name.toLowerCase() : '';
    const keep = name === 'auth' || name === 'hello' ? -1 : 0;
    const args: unknown[] = command.args;
    command.args = args.map((a, i) => (i === keep ? a : '[redacted]'));
  }
  return e;
}

/**
 * A connection error that retrying cannot cure: credentials refused, or a server certificate
 * that does not verify. connect() gives up on it at once.
 */
function isPermanentConnectError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(e.message)) return true;
  const code = (e as NodeJS.ErrnoException).code;
  return (
    typeof code === 'string' &&
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID/.test(code)
  );
}

/** The first error in a pipeline's replies, with its index; throws if the pipeline was discarded. */
function pipelineReplies(replies: [Error | null, unknown][] | null): {
  values: unknown[];
  error?: { index: number; error: Error };
} {
  if (replies === null) throw new Error('pipeline was discarded');
  const values: unknown[] = [];
  let error: { index: number; error: Error } | undefined;
  replies.forEach(([err, value], index) => {
    if (err !== null && error === undefined) error = { index, error: err };
    values.push(value);
  });
  return error === undefined ? { values } : { values, error };
}

/** Resolves when the client is ready; rejects (the last connection error as cause) after timeoutMs. */
async function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new Error('the client was closed');
  let lastError: unknown;
  await new Promise<void>((resolve, reject) => {
    const finish = (failure?: string): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
      if (failure === undefined) resolve();
      else if (lastError === undefined) reject(new Error(failure));
      else reject(new Error(`${failure}: ${errorMessage(lastError)}`, { cause: lastError }));
    };
    const onReady = (): void => finish();
    const onError = (e: unknown): void => {
      lastError = redactCommandArgs(e);
      if (isPermanentConnectError(e)) finish('refused');
    };
    const onEnd = (): void => finish('connection closed');
    const timer = setTimeout(() => finish(`not ready within ${timeoutMs} ms`), timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
    if (client.status === 'wait') client.connect().catch(onError);
  });
}

/** How long probe() waits for PONG, ms. */
const PROBE_TIMEOUT_MS = 3000;

export class RedisStore implements KeyValueStore, Telemetry {
  /**
   * `redis`: up when the connection is ready and answers PING; down when it is lost (ioredis
   * reconnects by itself) or PING goes unanswered. Changes are logged once (telemetry.ts);
   * each reconnection error only at debug level.
   */
  readonly health: DependencyHealth;
  private readonly client: Redis;
  private readonly scripts: LockScripts;
  /** Where the client connects, password redacted. */
  readonly url: string;
  /** Whether close() quits the client (true when this store created it). */
  private ownsClient: boolean;
  private closed = false;

  constructor(options: RedisStoreOptions = {}) {
    if (options.client !== undefined) {
      const prefix = options.client.options.keyPrefix;
      if (prefix !== undefined && prefix !== '')
        throw new PanoptesError(
          'USAGE',
          'RedisStore: the ioredis client must not have a keyPrefix (keys come complete from storeKeys)',
        );
      this.client = options.client;
      this.ownsClient = false;
      const { host, port } = options.client.options;
      this.url = redactUrl(options.url ?? `redis://${host ?? '127.0.0.1'}:${port ?? 6379}`);
    } else {
      const url = options.url ?? DEFAULT_REDIS_URL;
      this.url = redactUrl(url);
      this.client = RedisStore.createClient(url, this.url, options, false);
      this.ownsClient = true;
    }
    const logger = options.logger ?? silentLogger;
    this.health = new DependencyHealth('redis', logger, {
      state: this.client.status === 'ready' ? 'up' : 'starting',
    });
    this.client.on('ready', () => this.health.up(`connected to ${this.url}`));
    this.client.on('error', (e: unknown) => {
      logger.debug({ url: this.url, err: errorMessage(e) }, 'Redis connection error');
      if (this.client.status !== 'ready') this.health.down(`${this.url}: ${errorMessage(e)}`);
    });
    this.client.on('close', () => {
      if (!this.closed) this.health.down(`connection to ${this.url} lost; reconnecting`);
    });
    this.client.defineCommand('panoptesExtendLock', { numberOfKeys: 1, lua: EXTEND_LOCK_LUA });
    this.client.defineCommand('panoptesReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK_LUA });
    this.scripts = this.client as Redis & LockScripts;
  }

  /**
   * A store whose connection is ready: waits for the server (retrying as ioredis does) up to
   * connectTimeoutMs, then throws STORE_ERROR naming the URL. With `client`, waits for that
   * client to be ready (connecting it if it is lazy) and leaves it open on failure.
   */
  static async connect(options: RedisStoreOptions = {}): Promise<RedisStore> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const url = options.url ?? DEFAULT_REDIS_URL;
    const owned = options.client === undefined;
    const client = options.client ?? RedisStore.createClient(url, redactUrl(url), options, true);
    const store = new RedisStore({ ...options, client });
    store.ownsClient = owned;
    try {
      await waitUntilReady(client, timeoutMs);
    } catch (e) {
      if (owned) client.disconnect();
      const user = options.username === undefined ? '' : ` as user ${options.username}`;
      throw new PanoptesError(
        'STORE_ERROR',
        `cannot connect to Redis at ${store.url}${user}: ${errorMessage(e)}`,
        {
          cause: e,
          details: { url: store.url },
          retryable: !(e instanceof Error && isPermanentConnectError(e.cause)),
        },
      );
    }
    options.logger?.info({ url: store.url }, 'connected to Redis');
    return store;
  }

  private static createClient(
    url: string,
    safeUrl: string,
    options: RedisStoreOptions,
    lazy: boolean,
  ): Redis {
    const client = new Redis(url, {
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      lazyConnect: lazy,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    // Without a listener ioredis prints every connection error to the console; ioredis keeps
    // reconnecting by itself, and commands fail (STORE_ERROR) once their retries run out.
    // (The store's health listener logs the outage once; see RedisStore.health.)
    client.on('error', (e: unknown) => {
      options.logger?.debug({ url: safeUrl, err: errorMessage(e) }, 'Redis connection error');
    });
    return client;
  }

  /** STORE_ERROR naming the operation and what it was applied to (never a value). */
  private failure(operation: string, subject: string, e: unknown): PanoptesError {
    if (e instanceof PanoptesError) return e;
    return new PanoptesError('STORE_ERROR', `Redis ${operation} of ${subject} failed: ${errorMessage(e)}`, {
      cause: redactCommandArgs(e),
      details: { operation, subject },
    });
  }

  private async attempt<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.failure(operation, `key ${JSON.stringify(key)}`, e);
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.attempt('GET', key, async () => {
      try {
        return (await this.client.get(key)) ?? undefined;
      } catch (e) {
        if (isWrongType(e)) return undefined;
        throw e;
      }
    });
  }

  set(key: string, value: string, options?: SetOptions): Promise<void> {
    return this.attempt('SET', key, async () => {
      const ttl = options?.ttlMs === undefined ? undefined : px(options.ttlMs);
      if (ttl === 'expired') await this.client.del(key);
      else if (ttl === undefined) await this.client.set(key, value);
      else await this.client.set(key, value, 'PX', ttl);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.attempt('DEL', key, async () => (await this.client.del(key)) > 0);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    try {
      const chunks: string[][] = [];
      for (let i = 0; i < keys.length; i += BATCH) chunks.push(keys.slice(i, i + BATCH));
      let replies: (string | null)[][];
      if (chunks.length === 1) {
        replies = [await this.client.mget(chunks[0] ?? [])];
      } else {
        const pipeline = this.client.pipeline();
        for (const chunk of chunks) pipeline.mget(chunk);
        const { values, error } = pipelineReplies(await pipeline.exec());
        if (error !== undefined) throw error.error;
        replies = values as (string | null)[][];
      }
      return replies.flat().map((v) => v ?? undefined);
    } catch (e) {
      throw this.failure('MGET', `${keys.length} key(s) from ${JSON.stringify(keys[0])}`, e);
    }
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let error: { index: number; error: Error } | undefined;
    try {
      const pipeline = this.client.pipeline();
      for (const e of entries) this.queueSet(pipeline, e);
      ({ error } = pipelineReplies(await pipeline.exec()));
    } catch (e) {
      throw this.failure(
        'SET pipeline',
        `${entries.length} key(s) from ${JSON.stringify(entries[0]?.key)}`,
        e,
      );
    }
    if (error !== undefined)
      throw this.failure('SET', `key ${JSON.stringify(entries[error.index]?.key)}`, error.error);
  }

  private queueSet(pipeline: ChainableCommander, entry: StoreEntry): void {
    const ttl = entry.ttlMs === undefined ? undefined : px(entry.ttlMs);
    if (ttl === 'expired') pipeline.del(entry.key);
    else if (ttl === undefined) pipeline.set(entry.key, entry.value);
    else pipeline.set(entry.key, entry.value, 'PX', ttl);
  }

  ttlMs(key: string): Promise<number | undefined> {
    return this.attempt('PTTL', key, async () => {
      const ms = await this.client.pttl(key);
      return ms < 0 ? undefined : ms;
    });
  }

  async keys(prefix: string): Promise<string[]> {
    const pattern = `${escapeGlob(prefix)}*`;
    const found = new Set<string>();
    try {
      let cursor = '0';
      do {
        const [next, batch] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', BATCH);
        for (const key of batch) found.add(key);
        cursor = next;
      } while (cursor !== '0');
    } catch (e) {
      throw this.failure('SCAN', `prefix ${JSON.stringify(prefix)}`, e);
    }
    return [...found];
  }

  hget(key: string, field: string): Promise<string | undefined> {
    return this.attempt('HGET', key, async () => {
      try {
        return (await this.client.hget(key, field)) ?? undefined;
      } catch (e) {
        if (isWrongType(e)) return undefined;
        throw e;
      }
    });
  }

  hset(key: string, fields: Readonly<Record<string, string>>, options?: SetOptions): Promise<void> {
    return this.attempt('HSET', key, async () => {
      const ttl = options?.ttlMs === undefined ? undefined : px(options.ttlMs);
      if (ttl === 'expired') {
        await this.client.del(key);
        return;
      }
      // Redis holds no empty hash: with no fields only the TTL is applied.
      if (Object.keys(fields).length === 0) {
        if (ttl !== undefined) await this.client.pexpire(key, ttl);
        return;
      }
      const write = async (replace: boolean): Promise<Error | undefined> => {
        const pipeline = this.client.pipeline();
        if (replace) pipeline.del(key);
        pipeline.hset(key, fields);
        if (ttl !== undefined) pipeline.pexpire(key, ttl);
        return pipelineReplies(await pipeline.exec()).error?.error;
      };
      let error = await write(false);
      // A string under the key: replace it with the hash, as the in-memory store does.
      if (error !== undefined && isWrongType(error)) error = await write(true);
      if (error !== undefined) throw error;
    });
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.attempt('HGETALL', key, async () => {
      try {
        return await this.client.hgetall(key);
      } catch (e) {
        if (isWrongType(e)) return {};
        throw e;
      }
    });
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    if (fields.length === 0) return Promise.resolve(0);
    return this.attempt('HDEL', key, async () => {
      try {
        return await this.client.hdel(key, ...fields);
      } catch (e) {
        if (isWrongType(e)) return 0;
        throw e;
      }
    });
  }

  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.attempt('lock acquire (SET NX)', key, async () => {
      const ttl = px(ttlMs);
      // Acquired and expired at once: succeeds only where nothing is held, and leaves nothing.
      if (ttl === 'expired') return (await this.client.exists(key)) === 0;
      return (await this.client.set(key, owner, 'PX', ttl, 'NX')) === 'OK';
    });
  }

  extendLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.attempt('lock extend (script)', key, async () => {
      const ttl = px(ttlMs);
      // PEXPIRE 0 deletes the key: the lock is extended into the past, as in the in-memory store.
      return (await this.scripts.panoptesExtendLock(key, owner, ttl === 'expired' ? 0 : ttl)) === 1;
    });
  }

  releaseLock(key: string, owner: string): Promise<boolean> {
    return this.attempt('lock release (script)', key, async () => {
      return (await this.scripts.panoptesReleaseLock(key, owner)) === 1;
    });
  }

  /** PING within PROBE_TIMEOUT_MS sets the health up, else down. */
  async probe(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PONG within ${PROBE_TIMEOUT_MS} ms`)),
            PROBE_TIMEOUT_MS,
          );
        }),
      ]);
      this.health.up(`answering at ${this.url}`);
    } catch (e) {
      this.health.down(`${this.url}: ${errorMessage(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    return [];
  }

  async close(): Promise<void> {
    if (this.closed || !this.ownsClient) return;
    this.closed = true;
    if (this.client.status === 'end') return;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
