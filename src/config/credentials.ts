/**
 * Secrets and TLS material named by the site configuration, read when a node starts: passwords
 * and tokens from a file (`*_file`) or an environment variable (`*_env`), never from the
 * configuration itself; CA, certificate and key files for TLS. A file that cannot be read, an
 * empty one, or an unset variable is an error naming the configuration file, the key and the
 * file or variable, never the secret.
 *
 * The configuration holds only where secrets are; the values live in the objects handed to the
 * clients (kafkajs, ioredis, the InfluxDB client) and in nothing that is logged.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { PanoptesError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SiteConfig, TlsConfig } from './site-config.js';

/** Where a secret comes from, and the keys that said so (for messages). */
export interface SecretSource {
  /** The configuration file, named in every message. */
  readonly configFile: string;
  /** Absolute path of a file holding the secret, and its key path (e.g. `bus.sasl.password_file`). */
  readonly file?: { readonly path: string; readonly key: string };
  /** An environment variable holding the secret, and its key path. */
  readonly env?: { readonly name: string; readonly key: string };
}

/** The environment read by `*_env` keys; tests pass their own. */
export type Environment = Readonly<Record<string, string | undefined>>;

function readConfiguredFile(configFile: string, key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new PanoptesError('FILE_READ', `${configFile}: ${key}: cannot read ${path}: ${errorMessage(e)}`, {
      cause: e,
      details: { file: configFile, key, path },
    });
  }
}

/**
 * The secret of a file or environment variable, or undefined when the source names neither. A
 * file's trailing line break(s) are not part of it (`echo pass > file` writes one).
 */
export function readSecret(source: SecretSource, env: Environment = process.env): string | undefined {
  const { configFile } = source;
  if (source.file !== undefined) {
    const { path, key } = source.file;
    const value = readConfiguredFile(configFile, key, path)
      .toString('utf8')
      .replace(/[\r\n]+$/, '');
    if (value === '')
      throw new PanoptesError('CONFIG_INVALID', `${configFile}: ${key}: ${path} is empty`, {
        details: { file: configFile, key, path },
      });
    return value;
  }
  if (source.env !== undefined) {
    const { name, key } = source.env;
    const value = env[name];
    if (value === undefined || value === '')
      throw new PanoptesError(
        'CONFIG_INVALID',
        `${configFile}: ${key}: the environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`,
        { details: { file: configFile, key, variable: name } },
      );
    return value;
  }
  return undefined;
}

/** The secret source of a section with `<name>_file` and `<name>_env` keys at `section`. */
export function secretSource(
  configFile: string,
  section: string,
  name: string,
  values: { readonly file?: string | undefined; readonly env?: string | undefined },
): SecretSource {
  return {
    configFile,
    ...(values.file === undefined ? {} : { file: { path: values.file, key: `${section}.${name}_file` } }),
    ...(values.env === undefined ? {} : { env: { name: values.env, key: `${section}.${name}_env` } }),
  };
}

/**
 * Node TLS client options for a `tls` section at `section` (e.g. `store.tls`), or undefined when
 * there is none or it is disabled. The files are read now, and the certificate and key are
 * checked to be usable together, so a wrong file fails the start instead of every connection.
 */
export function readTlsOptions(
  configFile: string,
  section: string,
  tls: TlsConfig | undefined,
  logger?: Logger,
): ConnectionOptions | undefined {
  if (tls === undefined || !tls.enabled) return undefined;
  const options: ConnectionOptions = { rejectUnauthorized: !tls.insecure_skip_verify };
  if (tls.ca_file !== undefined)
    options.ca = readConfiguredFile(configFile, `${section}.ca_file`, tls.ca_file);
  if (tls.cert_file !== undefined)
    options.cert = readConfiguredFile(configFile, `${section}.cert_file`, tls.cert_file);
  if (tls.key_file !== undefined)
    options.key = readConfiguredFile(configFile, `${section}.key_file`, tls.key_file);
  if (tls.server_name !== undefined) options.servername = tls.server_name;
  try {
    createSecureContext({
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
    });
  } catch (e) {
    const files = [tls.ca_file, tls.cert_file, tls.key_file].filter((f) => f !== undefined).join(', ');
    throw new PanoptesError(
      'CONFIG_INVALID',
      `${configFile}: ${section}: the CA, certificate or key (${files}) is not usable: ${errorMessage(e)}`,
      { cause: e, details: { file: configFile, key: section } },
    );
  }
  if (tls.insecure_skip_verify)
    logger?.warn(
      { key: `${section}.insecure_skip_verify` },
      `${section}.insecure_skip_verify: the server's certificate is not verified (for labs only)`,
    );
  return options;
}

/** The InfluxDB consumer's API token: `token_file`, `token_env` or the inline `token`. */
export function influxToken(config: SiteConfig, env: Environment = process.env): string | undefined {
  const influx = config.consumers.influx;
  if (influx === undefined) return undefined;
  return (
    readSecret(
      secretSource(config.file, 'consumers.influx', 'token', {
        file: influx.token_file,
        env: influx.token_env,
      }),
      env,
    ) ?? influx.token
  );
}

/** The remote-write consumer's credentials: basic auth, a bearer token, or none. */
export function prometheusCredentials(
  config: SiteConfig,
  env: Environment = process.env,
): { basicAuth?: { username: string; password: string }; bearerToken?: string } {
  const p = config.consumers.prometheus;
  if (p === undefined) return {};
  const section = 'consumers.prometheus';
  const password = readSecret(
    secretSource(config.file, section, 'password', { file: p.password_file, env: p.password_env }),
    env,
  );
  if (p.username !== undefined && password !== undefined)
    return { basicAuth: { username: p.username, password } };
  const token = readSecret(
    secretSource(config.file, section, 'bearer_token', {
      file: p.bearer_token_file,
      env: p.bearer_token_env,
    }),
    env,
  );
  return token === undefined ? {} : { bearerToken: token };
}
