/**
 * The site configuration's `bus.tls` and `bus.sasl` as kafkajs `ssl` and `sasl` options: TLS
 * files and the SASL password are read here, when the node starts (see config/credentials.ts for
 * the errors). The result goes to KafkaBusOptions.security; it holds the password, so it is
 * handed to kafkajs and nothing else (never logged).
 *
 *   bus:
 *     tls: { ca_file: ca.pem, cert_file: client.pem, key_file: client.key }
 *     sasl: { mechanism: scram-sha-512, username: panoptes, password_file: /run/secrets/kafka }
 */
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { readSecret, readTlsOptions, secretSource } from '../config/credentials.js';
import type { Environment } from '../config/credentials.js';
import type { SiteConfig } from '../config/site-config.js';
import { PanoptesError } from '../errors.js';
import type { Logger } from '../log.js';

/** kafkajs connection security: TLS options (with TLS on) and SASL credentials. */
export interface KafkaSecurity {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
}

/**
 * The kafkajs options of a site's `bus.tls` and `bus.sasl` (or, with `section`
 * `federation.upstream`, the upstream cluster's); empty when it has neither.
 */
export function kafkaSecurity(
  config: SiteConfig,
  logger?: Logger,
  env: Environment = process.env,
  section: 'bus' | 'federation.upstream' = 'bus',
): KafkaSecurity {
  const { tls, sasl } = section === 'bus' ? config.bus : (config.federation?.upstream ?? {});
  const ssl = readTlsOptions(config.file, `${section}.tls`, tls, logger);
  let credentials: SASLOptions | undefined;
  if (sasl !== undefined) {
    const password = readSecret(
      secretSource(config.file, `${section}.sasl`, 'password', {
        file: sasl.password_file,
        env: sasl.password_env,
      }),
      env,
    );
    // The schema requires one of password_file and password_env.
    if (password === undefined)
      throw new PanoptesError(
        'CONFIG_INVALID',
        `${config.file}: ${section}.sasl: give password_file or password_env`,
      );
    credentials = { mechanism: sasl.mechanism, username: sasl.username, password };
    if (sasl.mechanism === 'plain' && ssl === undefined)
      logger?.warn(
        { key: `${section}.sasl.mechanism` },
        `${section}.sasl: PLAIN without ${section}.tls sends the password in clear text; enable ${section}.tls or use SCRAM`,
      );
  }
  return {
    ...(ssl === undefined ? {} : { ssl }),
    ...(credentials === undefined ? {} : { sasl: credentials }),
  };
}
