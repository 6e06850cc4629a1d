/**
 * The security keys of the site configuration (bus.tls, bus.sasl, store credentials and TLS,
 * consumers.influx token sources, metrics.listen_host): values, resolved paths, and every
 * problem with its file, line, column and key path, never echoing a secret.
 */
import { describe, expect, it } from 'vitest';
import { prometheusCredentials } from '../../src/config/credentials.js';
import { ConfigError, parseSiteConfig } from '../../src/config/site-config.js';

const FILE = '/etc/panoptes/site.yaml';

function problems(lines: string[]): { error: ConfigError; lines: string[] } {
  try {
    parseSiteConfig(lines.join('\n'), FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const error = e as ConfigError;
    expect(error.code).toBe('CONFIG_INVALID');
    return { error, lines: error.message.split('\n') };
  }
  throw new Error('expected a ConfigError');
}

describe('site configuration: security keys', () => {
  it('takes bus.tls, bus.sasl, the store credentials and TLS, token sources; resolves paths', () => {
    const config = parseSiteConfig(
      [
        'site: dc1',
        'bus:',
        '  type: kafka',
        '  brokers: [kafka1.example.net:9093, "[::1]:9093"]',
        '  tls:',
        '    ca_file: pki/ca.pem',
        '    cert_file: pki/client.pem',
        '    key_file: /etc/ssl/private/client.key',
        '    server_name: kafka.example.net',
        '  sasl: {mechanism: scram-sha-512, username: poller, password_file: secrets/kafka}',
        'store:',
        '  type: redis',
        '  url: rediss://redis.example.net:6380/0',
        '  username: panoptes',
        '  password_env: REDIS_PASSWORD',
        '  tls: {ca_file: pki/ca.pem, insecure_skip_verify: true}',
        'consumers:',
        '  influx: {url: "https://influx:8086", token_file: secrets/influx}',
        'metrics: {listen_host: 0.0.0.0}',
      ].join('\n'),
      FILE,
    );
    expect(config.bus.tls).toEqual({
      enabled: true,
      ca_file: '/etc/panoptes/pki/ca.pem',
      cert_file: '/etc/panoptes/pki/client.pem',
      key_file: '/etc/ssl/private/client.key',
      server_name: 'kafka.example.net',
      insecure_skip_verify: false,
    });
    expect(config.bus.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'poller',
      password_file: '/etc/panoptes/secrets/kafka',
    });
    expect(config.store).toMatchObject({
      url: 'rediss://redis.example.net:6380/0',
      username: 'panoptes',
      password_env: 'REDIS_PASSWORD',
      tls: { enabled: true, ca_file: '/etc/panoptes/pki/ca.pem', insecure_skip_verify: true },
    });
    expect(config.consumers.influx?.token_file).toBe('/etc/panoptes/secrets/influx');
    expect(config.metrics.listen_host).toBe('0.0.0.0');
    expect(Object.isFrozen(config.bus.tls)).toBe(true);
    expect(parseSiteConfig('site: dc1\n', FILE).metrics).toEqual({ listen_host: '127.0.0.1' });
  });

  it('refuses an inline bus.sasl.password with file:line:column and key path, without echoing it', () => {
    const { error, lines } = problems([
      'site: dc1',
      'bus:',
      '  type: kafka',
      '  brokers: [k1:9092]',
      '  sasl:',
      '    mechanism: plain',
      '    username: poller',
      '    password: hunter2',
    ]);
    expect(lines).toEqual([
      `${FILE}:8:15: bus.sasl.password: must not be written in the configuration: put the password in a file (password_file) or an environment variable (password_env)`,
    ]);
    expect(error.issues[0]).toMatchObject({ path: 'bus.sasl.password', line: 8, column: 15 });
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses an inline store.password the same way', () => {
    const { error, lines } = problems(['site: dc1', 'store: {type: redis, password: "s3cret"}']);
    expect(lines).toEqual([
      `${FILE}:2:32: store.password: must not be written in the configuration: put the password in a file (password_file) or an environment variable (password_env)`,
    ]);
    expect(error.message).not.toContain('s3cret');
  });

  it('bus.sasl: one password source exactly, a known mechanism, a variable name', () => {
    expect(problems(['site: dc1', 'bus:', '  sasl: {mechanism: plain, username: u}']).lines).toEqual([
      `${FILE}:3:9: bus.sasl.password_file: is required: give password_file or password_env`,
    ]);
    const { lines } = problems([
      'site: dc1',
      'bus:',
      '  sasl: {mechanism: gssapi, username: u, password_file: f, password_env: "A-B"}',
    ]);
    expect(lines).toEqual([
      `${FILE}:3:21: bus.sasl.mechanism: must be "plain", "scram-sha-256" or "scram-sha-512"`,
      `${FILE}:3:74: bus.sasl.password_env: must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)`,
    ]);
    expect(
      problems([
        'site: dc1',
        'bus:',
        '  sasl: {mechanism: plain, username: u, password_file: f, password_env: P}',
      ]).lines,
    ).toEqual([`${FILE}:3:73: bus.sasl.password_env: give password_file or password_env, not both`]);
  });

  it('a client certificate needs its key and the other way round; unknown TLS keys are named', () => {
    expect(problems(['site: dc1', 'bus:', '  tls: {cert_file: c.pem}']).lines).toEqual([
      `${FILE}:3:8: bus.tls.key_file: is required with cert_file (the client certificate's key)`,
    ]);
    expect(problems(['site: dc1', 'store:', '  tls: {key_file: k.pem, verify: false}']).lines).toEqual([
      `${FILE}:3:34: store.tls.verify: unknown key`,
      `${FILE}:3:8: store.tls.cert_file: is required with key_file (the client certificate)`,
    ]);
  });

  it('store.url: redis:// or rediss:// only; a URL password besides password_file is one too many', () => {
    const { error, lines } = problems(['site: dc1', 'store: {url: "http://u:pw1@h:6379"}']);
    expect(lines).toEqual([`${FILE}:2:14: store.url: must be a redis:// or rediss:// URL`]);
    expect(error.message).not.toContain('pw1');
    const both = problems([
      'site: dc1',
      'store:',
      '  url: redis://panoptes:pw2@redis:6379',
      '  username: other',
      '  password_file: /run/secrets/redis',
    ]);
    expect(both.lines).toEqual([
      `${FILE}:3:8: store.url: has a password and password_file/password_env gives one too: keep one (the file or variable)`,
      `${FILE}:4:13: store.username: the URL names a user too: keep one`,
    ]);
    expect(both.error.message).not.toContain('pw2');
  });

  it('consumers.influx: one of token, token_file, token_env', () => {
    expect(
      problems([
        'site: dc1',
        'consumers:',
        '  influx: {url: "http://i:8086", token: abc, token_env: INFLUX_TOKEN}',
      ]).lines,
    ).toEqual([
      `${FILE}:3:57: consumers.influx.token_env: give one of token, token_file, token_env (token is given)`,
    ]);
  });

  it('consumers.prometheus: basic auth or a bearer token, from files or variables; paths resolved', () => {
    const config = parseSiteConfig(
      [
        'site: dc1',
        'consumers:',
        '  prometheus: {url: "http://p:9090/api/v1/write", username: u, password_file: secrets/prom}',
        '  prometheus_exposition: {port: 9464}',
      ].join('\n'),
      FILE,
    );
    expect(config.consumers.prometheus).toMatchObject({
      url: 'http://p:9090/api/v1/write',
      username: 'u',
      password_file: '/etc/panoptes/secrets/prom',
      batch_size: 500,
      flush_interval_ms: 1000,
      timeout_ms: 10000,
    });
    expect(config.consumers.prometheus_exposition).toEqual({
      port: 9464,
      host: '127.0.0.1',
      max_series: 1000000,
    });
    expect(
      problems([
        'site: dc1',
        'consumers:',
        '  prometheus: {url: "http://p", username: u, bearer_token_env: T}',
      ]).lines,
    ).toEqual([
      `${FILE}:3:43: consumers.prometheus.username: basic auth needs password_file or password_env too`,
      `${FILE}:3:64: consumers.prometheus.bearer_token_env: give basic auth (username, password) or a bearer token, not both`,
    ]);
    expect(
      problems([
        'site: dc1',
        'consumers:',
        '  prometheus: {url: "http://p", password_env: P, password_file: f}',
      ]).lines,
    ).toEqual([
      `${FILE}:3:47: consumers.prometheus.password_env: give one of password_file, password_env (password_file is given)`,
      `${FILE}:3:65: consumers.prometheus.password_file: basic auth needs username too`,
    ]);
  });

  it('consumers.prometheus credentials are read from the environment, naming the key when unset', () => {
    const site = (auth: string): ReturnType<typeof parseSiteConfig> =>
      parseSiteConfig(
        ['site: dc1', 'consumers:', `  prometheus: {url: "http://p", ${auth}}`].join('\n'),
        FILE,
      );
    expect(prometheusCredentials(site('username: u, password_env: P'), { P: 'pw' })).toEqual({
      basicAuth: { username: 'u', password: 'pw' },
    });
    expect(prometheusCredentials(site('bearer_token_env: T'), { T: 'tok' })).toEqual({ bearerToken: 'tok' });
    expect(() => prometheusCredentials(site('bearer_token_env: T'), {})).toThrow(
      `${FILE}: consumers.prometheus.bearer_token_env: the environment variable T is not set`,
    );
  });

  it('bus.brokers are host:port: credentials or a scheme in a broker are refused', () => {
    const { error, lines } = problems([
      'site: dc1',
      'bus: {type: kafka, brokers: ["user:pw3@k1:9092", "k2"]}',
    ]);
    expect(lines).toEqual([
      `${FILE}:2:30: bus.brokers[0]: must be host:port (credentials go in bus.sasl)`,
      `${FILE}:2:50: bus.brokers[1]: must be host:port (credentials go in bus.sasl)`,
    ]);
    expect(error.message).not.toContain('pw3');
  });
});
