/**
 * bus.tls and bus.sasl of the site configuration as kafkajs options (kafkaSecurity), with the
 * files and variables they name: what goes to kafkajs, and the errors when a file or variable is
 * missing. The TLS handshakes themselves are in kafka-security.int.test.ts.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaSecurity } from '../../src/bus/kafka-security.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import type { SiteConfig } from '../../src/config/site-config.js';
import { PanoptesError } from '../../src/errors.js';
import { captureLogger } from '../support/capture-logger.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  pki = await makeTestPki();
  dir = await mkdtemp(join(tmpdir(), 'panoptes-kafka-security-'));
  await writeFile(join(dir, 'kafka.pass'), 's3cret-kafka\n');
  await writeFile(join(dir, 'empty.pass'), '\n');
});

afterAll(async () => {
  await pki?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function site(bus: string[]): SiteConfig {
  return parseSiteConfig(
    ['site: dc1', 'bus:', '  type: kafka', '  brokers: [kafka1:9093]', ...bus.map((l) => `  ${l}`)].join(
      '\n',
    ),
    join(dir, 'site.yaml'),
  );
}

function failure(run: () => unknown): PanoptesError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(PanoptesError);
    return e as PanoptesError;
  }
  throw new Error('expected a PanoptesError');
}

describe('kafkaSecurity: bus.tls and bus.sasl as kafkajs options', () => {
  it('gives nothing without bus.tls and bus.sasl (plaintext, as before)', () => {
    expect(kafkaSecurity(site([]))).toEqual({});
  });

  it('reads the CA, client certificate and key, and keeps verification on', () => {
    const security = kafkaSecurity(
      site([
        'tls:',
        `  ca_file: ${pki.caCert}`,
        `  cert_file: ${pki.clientCert}`,
        `  key_file: ${pki.clientKey}`,
        '  server_name: kafka.example.net',
      ]),
    );
    expect(security.sasl).toBeUndefined();
    expect(security.ssl).toEqual({
      rejectUnauthorized: true,
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
      servername: 'kafka.example.net',
    });
  });

  it('tls: {} is TLS with the system CAs; enabled: false is plaintext; insecure_skip_verify warns', () => {
    expect(kafkaSecurity(site(['tls: {}'])).ssl).toEqual({ rejectUnauthorized: true });
    expect(kafkaSecurity(site([`tls: {enabled: false, ca_file: ${pki.caCert}}`]))).toEqual({});
    const { logger, records } = captureLogger();
    expect(kafkaSecurity(site(['tls: {insecure_skip_verify: true}']), logger).ssl).toEqual({
      rejectUnauthorized: false,
    });
    expect(records.map((r) => r.msg)).toEqual([
      "bus.tls.insecure_skip_verify: the server's certificate is not verified (for labs only)",
    ]);
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`SASL ${mechanism}: username and the password of password_file (relative to the site file)`, () => {
      const security = kafkaSecurity(
        site(['tls: {}', `sasl: {mechanism: ${mechanism}, username: poller, password_file: kafka.pass}`]),
      );
      expect(security.sasl).toEqual({ mechanism, username: 'poller', password: 's3cret-kafka' });
    });
  }

  it('SASL password from password_env', () => {
    const security = kafkaSecurity(
      site(['sasl: {mechanism: scram-sha-512, username: poller, password_env: KAFKA_PW}']),
      undefined,
      { KAFKA_PW: 'from-env' },
    );
    expect(security).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'poller', password: 'from-env' },
    });
  });

  it('warns that PLAIN without TLS sends the password in clear text (and never logs it)', () => {
    const { logger, records } = captureLogger();
    kafkaSecurity(site(['sasl: {mechanism: plain, username: poller, password_file: kafka.pass}']), logger);
    expect(records.map((r) => r.msg)).toEqual([
      'bus.sasl: PLAIN without bus.tls sends the password in clear text; enable bus.tls or use SCRAM',
    ]);
    expect(JSON.stringify(records)).not.toContain('s3cret-kafka');
  });

  it("reads the upstream cluster's TLS and SASL from federation.upstream, apart from the bus's", () => {
    const config = parseSiteConfig(
      [
        'site: edge1',
        'federation:',
        '  upstream:',
        '    brokers: [central:9093]',
        '    sasl: {mechanism: plain, username: edge, password_file: kafka.pass}',
      ].join('\n'),
      join(dir, 'site.yaml'),
    );
    expect(config.federation?.spool_dir).toBe(join(dir, 'spool-edge1'));
    expect(kafkaSecurity(config)).toEqual({});
    const { logger, records } = captureLogger();
    const upstream = kafkaSecurity(config, logger, {}, 'federation.upstream');
    expect(upstream.sasl).toEqual({ mechanism: 'plain', username: 'edge', password: 's3cret-kafka' });
    expect(records.map((r) => r.msg)).toEqual([
      'federation.upstream.sasl: PLAIN without federation.upstream.tls sends the password in clear text; enable federation.upstream.tls or use SCRAM',
    ]);
    expect(JSON.stringify(records)).not.toContain('s3cret-kafka');
  });

  it('a missing password file: FILE_READ naming the site file, the key and the file', () => {
    const e = failure(() =>
      kafkaSecurity(site(['sasl: {mechanism: plain, username: poller, password_file: missing.pass}'])),
    );
    expect(e.code).toBe('FILE_READ');
    expect(e.message).toBe(
      `${join(dir, 'site.yaml')}: bus.sasl.password_file: cannot read ${join(dir, 'missing.pass')}: ` +
        `ENOENT: no such file or directory, open '${join(dir, 'missing.pass')}'`,
    );
  });

  it('an empty password file and an unset or empty variable are errors naming the key', () => {
    const file = join(dir, 'site.yaml');
    expect(
      failure(() => kafkaSecurity(site(['sasl: {mechanism: plain, username: u, password_file: empty.pass}'])))
        .message,
    ).toBe(`${file}: bus.sasl.password_file: ${join(dir, 'empty.pass')} is empty`);
    const sasl = site(['sasl: {mechanism: plain, username: u, password_env: PANOPTES_TEST_UNSET}']);
    const unset = failure(() => kafkaSecurity(sasl, undefined, {}));
    expect(unset.code).toBe('CONFIG_INVALID');
    expect(unset.message).toBe(
      `${file}: bus.sasl.password_env: the environment variable PANOPTES_TEST_UNSET is not set`,
    );
    expect(failure(() => kafkaSecurity(sasl, undefined, { PANOPTES_TEST_UNSET: '' })).message).toBe(
      `${file}: bus.sasl.password_env: the environment variable PANOPTES_TEST_UNSET is empty`,
    );
  });

  it('a missing CA file, and a key that does not match its certificate, fail the start', () => {
    const missing = failure(() => kafkaSecurity(site(['tls: {ca_file: nowhere/ca.pem}'])));
    expect(missing.code).toBe('FILE_READ');
    expect(missing.message).toContain(`bus.tls.ca_file: cannot read ${join(dir, 'nowhere/ca.pem')}`);
    const mismatch = failure(() =>
      kafkaSecurity(site(['tls:', `  cert_file: ${pki.clientCert}`, `  key_file: ${pki.rogueClientKey}`])),
    );
    expect(mismatch.code).toBe('CONFIG_INVALID');
    expect(mismatch.message).toMatch(
      new RegExp(
        `site\\.yaml: bus\\.tls: the CA, certificate or key \\(.*client\\.pem, .*rogue-client\\.key\\) is not usable: .*key values mismatch`,
      ),
    );
  });
});
