/**
 * The site configuration's Redis credentials and TLS as RedisStore options: `store.username`,
 * the password from `store.password_file` or `store.password_env` (read here, when the node
 * starts), and `store.tls` (which turns TLS on, also for a redis:// URL; a rediss:// URL without
 * it uses TLS with the system's CAs). A password written in `store.url` still works, with a
 * warning: the URL is easily copied into places a file is not.
 *
 *   store:
 *     type: redis
 *     url: rediss://redis.example.net:6380
 *     username: panoptes
 *     password_file: /run/secrets/redis
 *     tls: { ca_file: ca.pem }
 */
import type { ConnectionOptions } from 'node:tls';
import { readSecret, readTlsOptions, secretSource } from '../config/credentials.js';
import type { Environment } from '../config/credentials.js';
import type { SiteConfig } from '../config/site-config.js';
import type { Logger } from '../log.js';

/** The RedisStoreOptions a site's `store` section adds to its URL. */
export interface RedisSecurity {
  readonly username?: string;
  readonly password?: string;
  readonly tls?: ConnectionOptions;
}

function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

export function redisSecurity(
  config: SiteConfig,
  logger?: Logger,
  env: Environment = process.env,
): RedisSecurity {
  const store = config.store;
  if (urlHasPassword(store.url))
    logger?.warn(
      { key: 'store.url' },
      'store.url holds the Redis password: it is better in a file (store.password_file) or an environment variable (store.password_env)',
    );
  const password = readSecret(
    secretSource(config.file, 'store', 'password', { file: store.password_file, env: store.password_env }),
    env,
  );
  const tls = readTlsOptions(config.file, 'store.tls', store.tls, logger);
  return {
    ...(store.username === undefined ? {} : { username: store.username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };
}
