/**
 * RedisStore against a real redis-server that serves TLS only and has ACL users: the site
 * configuration's store.username, store.password_file / password_env and store.tls, read by
 * redisSecurity() as a node does at start. Certificates are made with openssl for the test.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { PanoptesError } from '../../src/errors.js';
import { redisSecurity } from '../../src/store/redis-security.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { RedisStoreOptions } from '../../src/store/redis-store.js';
import { captureLogger } from '../support/capture-logger.js';
import { startRedis } from '../services/redis.js';
import type { RedisService } from '../services/redis.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';

const USER = 'panoptes';
const PASSWORD = `pw-${randomUUID()}`;
const DEFAULT_PASSWORD = `default-${randomUUID()}`;

let pki: TestPki;
let dir: string;
/** TLS only, client certificates optional. */
let redis: RedisService;
/** TLS only, client certificates required. */
let mtls: RedisService;

beforeAll(async () => {
  pki = await makeTestPki();
  dir = await mkdtemp(join(tmpdir(), 'panoptes-redis-security-'));
  await writeFile(join(dir, 'redis.pass'), `${PASSWORD}\n`);
  await writeFile(join(dir, 'wrong.pass'), 'not-the-password\n');
  const tls = { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert };
  [redis, mtls] = await Promise.all([
    startRedis({ tls, users: [{ name: USER, password: PASSWORD }], requirepass: DEFAULT_PASSWORD }),
    startRedis({
      tls: { ...tls, authClients: 'yes', clientCertFile: pki.clientCert, clientKeyFile: pki.clientKey },
      users: [{ name: USER, password: PASSWORD }],
      requirepass: DEFAULT_PASSWORD,
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([redis?.stop(), mtls?.stop()]);
  await pki?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The store options a node derives from a site file's `store` section (YAML lines). */
function fromConfig(
  store: string[],
  env: Record<string, string> = {},
  logger = captureLogger().logger,
): RedisStoreOptions & { url: string } {
  const text = ['site: dc1', 'store:', '  type: redis', ...store.map((l) => `  ${l}`)].join('\n');
  const config = parseSiteConfig(text, join(dir, 'site.yaml'));
  return { url: config.store.url, logger, connectTimeoutMs: 3000, ...redisSecurity(config, logger, env) };
}

async function rejection(promise: Promise<unknown>): Promise<PanoptesError> {
  const e: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PanoptesError);
  return e as PanoptesError;
}

async function roundTrip(store: RedisStore): Promise<void> {
  const key = `t:${randomUUID()}`;
  await store.set(key, 'over tls');
  expect(await store.get(key)).toBe('over tls');
}

describe('RedisStore over TLS with ACL users (redis-server --tls-port)', () => {
  it('connects as an ACL user with password_file and the CA of store.tls, and reads and writes', async () => {
    const store = await RedisStore.connect(
      fromConfig([
        `url: ${redis.url}`,
        `username: ${USER}`,
        'password_file: redis.pass', // relative to the site file
        `tls: {ca_file: ${pki.caCert}}`,
      ]),
    );
    try {
      await roundTrip(store);
      expect(store.url).toBe(redis.url);
    } finally {
      await store.close();
    }
  });

  it('store.tls turns TLS on for a redis:// URL too; password_env for the default user', async () => {
    const store = await RedisStore.connect(
      fromConfig(
        [`url: redis://127.0.0.1:${redis.port}`, 'password_env: REDIS_PW', `tls: {ca_file: ${pki.caCert}}`],
        { REDIS_PW: DEFAULT_PASSWORD },
      ),
    );
    try {
      await roundTrip(store);
    } finally {
      await store.close();
    }
  });

  it('a password in the URL still works, with a warning that does not show it', async () => {
    const { logger, records } = captureLogger();
    const url = `rediss://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;
    const store = await RedisStore.connect(
      fromConfig([`url: ${url}`, `tls: {ca_file: ${pki.caCert}}`], {}, logger),
    );
    try {
      await roundTrip(store);
      expect(store.url).toBe(`rediss://${USER}:***@127.0.0.1:${redis.port}`);
    } finally {
      await store.close();
    }
    expect(records.some((r) => r.msg.includes('store.url holds the Redis password'))).toBe(true);
    expect(JSON.stringify(records)).not.toContain(PASSWORD);
  });

  it('a wrong password fails at once, naming the address and user but not the password', async () => {
    const { logger, records } = captureLogger();
    const started = Date.now();
    const e = await rejection(
      RedisStore.connect({
        ...fromConfig(
          [
            `url: ${redis.url}`,
            `username: ${USER}`,
            'password_file: wrong.pass',
            `tls: {ca_file: ${pki.caCert}}`,
          ],
          {},
          logger,
        ),
        connectTimeoutMs: 10_000,
      }),
    );
    expect(Date.now() - started).toBeLessThan(5000); // not the connect timeout: a retry cannot help
    expect(e.code).toBe('STORE_ERROR');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`cannot connect to Redis at ${redis.url} as user ${USER}`);
    expect(e.message).toContain('WRONGPASS');
    const everything = inspect(e, { depth: 20 }) + JSON.stringify(records);
    expect(everything).not.toContain('not-the-password');
    expect(everything).not.toContain(PASSWORD);
  });

  it('a wrong password of the default user (AUTH with the password alone) is not shown either', async () => {
    const e = await rejection(
      RedisStore.connect({
        url: redis.url,
        password: 'only-the-password',
        tls: { ca: readFileSync(pki.caCert) },
        connectTimeoutMs: 3000,
      }),
    );
    expect(e.message).toContain('WRONGPASS');
    expect(inspect(e, { depth: 20 })).not.toContain('only-the-password');
  });

  it('a plaintext client is refused by the TLS port', async () => {
    const e = await rejection(
      RedisStore.connect({
        url: `redis://127.0.0.1:${redis.port}`,
        username: USER,
        password: PASSWORD,
        connectTimeoutMs: 1500,
      }),
    );
    expect(e.code).toBe('STORE_ERROR');
    expect(e.message).toContain(`cannot connect to Redis at redis://127.0.0.1:${redis.port}`);
    expect(inspect(e, { depth: 20 })).not.toContain(PASSWORD);
  });

  it('a server certificate from a CA the client does not trust is refused at once', async () => {
    const started = Date.now();
    const e = await rejection(
      RedisStore.connect({
        ...fromConfig([
          `url: ${redis.url}`,
          `username: ${USER}`,
          'password_file: redis.pass',
          `tls: {ca_file: ${pki.rogueCaCert}}`,
        ]),
        connectTimeoutMs: 10_000,
      }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/certificate/i);
  });

  it('insecure_skip_verify connects to a server it cannot verify, and says so in a warning', async () => {
    const { logger, records } = captureLogger();
    const store = await RedisStore.connect(
      fromConfig(
        [
          `url: ${redis.url}`,
          `username: ${USER}`,
          'password_file: redis.pass',
          'tls: {insecure_skip_verify: true}',
        ],
        {},
        logger,
      ),
    );
    try {
      await roundTrip(store);
    } finally {
      await store.close();
    }
    expect(records.some((r) => r.msg.includes('store.tls.insecure_skip_verify'))).toBe(true);
  });

  describe('a server that requires client certificates (--tls-auth-clients yes)', () => {
    it('accepts the client certificate of store.tls.cert_file/key_file', async () => {
      const store = await RedisStore.connect(
        fromConfig([
          `url: ${mtls.url}`,
          `username: ${USER}`,
          'password_file: redis.pass',
          'tls:',
          `  ca_file: ${pki.caCert}`,
          `  cert_file: ${pki.clientCert}`,
          `  key_file: ${pki.clientKey}`,
        ]),
      );
      try {
        await roundTrip(store);
      } finally {
        await store.close();
      }
    });

    for (const [what, cert] of [
      ['no client certificate', undefined],
      ['a client certificate of another CA', 'rogue'],
    ] as const) {
      it(`refuses ${what}`, async () => {
        const e = await rejection(
          RedisStore.connect(
            fromConfig([
              `url: ${mtls.url}`,
              `username: ${USER}`,
              'password_file: redis.pass',
              'tls:',
              `  ca_file: ${pki.caCert}`,
              ...(cert === undefined
                ? []
                : [`  cert_file: ${pki.rogueClientCert}`, `  key_file: ${pki.rogueClientKey}`]),
            ]),
          ),
        );
        expect(e.code).toBe('STORE_ERROR');
        expect(e.message).toContain(`cannot connect to Redis at ${mtls.url}`);
        if (cert === undefined) expect(e.message).toMatch(/certificate required/);
      });
    }
  });
});
