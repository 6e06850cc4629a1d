/**
 * A throwaway PKI for TLS tests, made with the `openssl` command in a temporary directory: a CA,
 * a server certificate for `localhost` and 127.0.0.1 (and the extra name given), a client
 * certificate, and a second CA that nobody trusts with a client certificate of its own. Keys are
 * EC P-256 (fast to make); certificates are valid for a day.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, requireBinary } from './managed-process.js';

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** CN `panoptes-client`, signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed none of the above. */
  readonly rogueCaCert: string;
  /** CN `rogue-client`, signed by the rogue CA. */
  readonly rogueClientCert: string;
  readonly rogueClientKey: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTestPki(options: { serverName?: string } = {}): Promise<TestPki> {
  const openssl = requireBinary('openssl', 'openssl');
  const dir = await makeTempDir('pki');
  const path = (name: string): string => join(dir, name);
  const openSsl = (args: string[]): Promise<unknown> => run(openssl, args, { cwd: dir });

  const makeCa = (name: string, cn: string): Promise<unknown> =>
    openSsl([
      'req',
      '-x509',
      ...KEY,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.pem`),
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ]);
  const makeLeaf = async (name: string, ca: string, cn: string, extensions: string[]): Promise<void> => {
    await openSsl([
      'req',
      ...KEY,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
      ...extensions.flatMap((e) => ['-addext', e]),
    ]);
    await openSsl([
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path(`${ca}.pem`),
      '-CAkey',
      path(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      path(`${name}.pem`),
      '-days',
      '1',
      '-copy_extensions',
      'copyall',
    ]);
  };

  try {
    await makeCa('ca', 'Panoptes test CA');
    await makeCa('rogue-ca', 'Rogue test CA');
    const names = [
      'DNS:localhost',
      'IP:127.0.0.1',
      ...(options.serverName === undefined ? [] : [`DNS:${options.serverName}`]),
    ];
    await makeLeaf('server', 'ca', 'localhost', [
      `subjectAltName=${names.join(',')}`,
      'extendedKeyUsage=serverAuth',
    ]);
    await makeLeaf('client', 'ca', 'panoptes-client', ['extendedKeyUsage=clientAuth']);
    await makeLeaf('rogue-client', 'rogue-ca', 'rogue-client', ['extendedKeyUsage=clientAuth']);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    caCert: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    rogueCaCert: path('rogue-ca.pem'),
    rogueClientCert: path('rogue-client.pem'),
    rogueClientKey: path('rogue-client.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
