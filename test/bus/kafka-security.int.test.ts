/**
 * Kafka connection security against real peers.
 *
 * The test broker (librdkafka 2.0.2's mock cluster, started through kcat) speaks plaintext
 * Kafka only: its request handlers have no SaslHandshake or SaslAuthenticate (kafkajs reports
 * that the broker does not support the API), and its listeners have no TLS (a TLS ClientHello is
 * read as a Kafka request and the connection is reset). The first tests pin that down, so the
 * README's statement stays true, and check that the failure says so without the password.
 *
 * TLS is then tested at the connection level against a Node TLS server on 127.0.0.1 with
 * certificates made by openssl for the test: what the client presents, what it verifies, and the
 * server name it sends, with the options kafkaSecurity() makes from a site file, through kafkajs
 * and through KafkaBus.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { PeerCertificate, Server, TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka-bus.js';
import { kafkaSecurity } from '../../src/bus/kafka-security.js';
import type { KafkaSecurity } from '../../src/bus/kafka-security.js';
import { parseSiteConfig } from '../../src/config/site-config.js';
import { PanoptesError } from '../../src/errors.js';
import { captureLogger } from '../support/capture-logger.js';
import { startKafka } from '../services/kafka.js';
import type { KafkaService } from '../services/kafka.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';

const PASSWORD = `kafka-${randomUUID()}`;
const SERVER_NAME = 'kafka.panoptes.test';

let pki: TestPki;
let dir: string;

beforeAll(async () => {
  pki = await makeTestPki({ serverName: SERVER_NAME });
  dir = await mkdtemp(join(tmpdir(), 'panoptes-kafka-tls-'));
  await writeFile(join(dir, 'kafka.pass'), `${PASSWORD}\n`);
});

afterAll(async () => {
  await pki?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** kafkaSecurity() of a site file with these bus lines. */
function security(bus: string[]): KafkaSecurity {
  const config = parseSiteConfig(
    ['site: dc1', 'bus:', '  type: kafka', '  brokers: [127.0.0.1:9092]', ...bus.map((l) => `  ${l}`)].join(
      '\n',
    ),
    join(dir, 'site.yaml'),
  );
  return kafkaSecurity(config);
}

/** kafkajs with these options, one attempt: resolves to the connect error (undefined if none). */
async function connectOnce(brokers: readonly string[], options: KafkaSecurity): Promise<Error | undefined> {
  const kafka = new Kafka({
    clientId: 'panoptes-test',
    brokers: [...brokers],
    ...options,
    connectionTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  try {
    await producer.connect();
    return undefined;
  } catch (e) {
    return e as Error;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

describe('what the test broker (librdkafka 2.0.2 mock cluster) supports', () => {
  let kafka: KafkaService;

  beforeAll(async () => {
    kafka = await startKafka(1);
  });

  afterAll(async () => {
    await kafka?.stop();
  });

  it('plaintext without SASL: a produce round trip works', async () => {
    expect(await connectOnce(kafka.brokers, {})).toBeUndefined();
  });

  it('no SASL: KafkaBus with bus.sasl fails with BUS_ERROR saying so, without the password', async () => {
    const { logger, records } = captureLogger();
    const bus = new KafkaBus({
      brokers: kafka.brokers,
      logger,
      security: security(['sasl: {mechanism: scram-sha-256, username: poller, password_file: kafka.pass}']),
    });
    try {
      const e: unknown = await bus.publish(`t-${randomUUID()}`, [{ key: 'k', value: 'v' }]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(PanoptesError);
      const error = e as PanoptesError;
      expect(error.code).toBe('BUS_ERROR');
      expect(error.message).toContain(`cannot connect to Kafka at ${kafka.brokers.join(',')}`);
      expect(error.message).toContain('does not support the requested API version');
      expect(inspect(error, { depth: 20 }) + JSON.stringify(records)).not.toContain(PASSWORD);
    } finally {
      await bus.close();
    }
  });

  it('no TLS: a TLS client is reset by the broker', async () => {
    const e = await connectOnce(kafka.brokers, { ssl: { rejectUnauthorized: false } });
    expect(e?.message).toMatch(/ECONNRESET|socket disconnected|Connection error/);
  });
});

interface Handshake {
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  /** CN of the client's certificate, if it presented one. */
  readonly clientCn: string | undefined;
  /** The SNI name the client sent. */
  readonly servername: string | undefined;
}

/**
 * A TLS server with the test PKI's server certificate that asks for a client certificate,
 * records every completed handshake and every failed one, then closes the connection (it speaks
 * no Kafka).
 */
class TlsPeer {
  readonly handshakes: Handshake[] = [];
  readonly failures: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly broker: string,
  ) {}

  static async start(pki: TestPki, requireClientCert: boolean): Promise<TlsPeer> {
    const server = createServer({
      key: readFileSync(pki.serverKey),
      cert: readFileSync(pki.serverCert),
      ca: readFileSync(pki.caCert),
      requestCert: true,
      rejectUnauthorized: requireClientCert,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const peer = new TlsPeer(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('secureConnection', (socket: TLSSocket) => {
      const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
      const servername = (socket as TLSSocket & { servername?: string | false }).servername;
      peer.handshakes.push({
        authorized: socket.authorized,
        // A string code at run time (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), null when verified.
        authorizationError: socket.authorized ? undefined : String(socket.authorizationError),
        clientCn: 'subject' in cert && cert.subject !== undefined ? String(cert.subject.CN) : undefined,
        servername: typeof servername === 'string' ? servername : undefined,
      });
      socket.destroy();
    });
    server.on('tlsClientError', (e) => peer.failures.push(e.message));
    return peer;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('Kafka TLS handshakes with the options of bus.tls (Node TLS server on 127.0.0.1)', () => {
  let peer: TlsPeer;
  let strict: TlsPeer;

  beforeAll(async () => {
    [peer, strict] = await Promise.all([TlsPeer.start(pki, false), TlsPeer.start(pki, true)]);
  });

  afterAll(async () => {
    await Promise.all([peer?.close(), strict?.close()]);
  });

  const fresh = (p: TlsPeer): { handshakes: number; failures: number } => ({
    handshakes: p.handshakes.length,
    failures: p.failures.length,
  });

  it('presents the client certificate of cert_file/key_file, verifies the server with ca_file, sends server_name', async () => {
    const before = fresh(peer);
    await connectOnce(
      [peer.broker],
      security([
        'tls:',
        `  ca_file: ${pki.caCert}`,
        `  cert_file: ${pki.clientCert}`,
        `  key_file: ${pki.clientKey}`,
        `  server_name: ${SERVER_NAME}`,
      ]),
    );
    expect(peer.handshakes.slice(before.handshakes)).toEqual([
      {
        authorized: true,
        authorizationError: undefined,
        clientCn: 'panoptes-client',
        servername: SERVER_NAME,
      },
    ]);
  });

  it('without a client certificate: the handshake completes unauthenticated; a server that requires one refuses it', async () => {
    const before = fresh(peer);
    await connectOnce([peer.broker], security([`tls: {ca_file: ${pki.caCert}}`]));
    expect(peer.handshakes.slice(before.handshakes)).toMatchObject([
      { authorized: false, clientCn: undefined },
    ]);
    const strictBefore = fresh(strict);
    const e = await connectOnce([strict.broker], security([`tls: {ca_file: ${pki.caCert}}`]));
    expect(e).toBeDefined();
    expect(strict.handshakes.length).toBe(strictBefore.handshakes);
    expect(strict.failures.slice(strictBefore.failures).join('\n')).toMatch(/certificate/i);
  });

  it('a client certificate of another CA: the server finds it unverifiable, and one that requires a valid one refuses it', async () => {
    const rogue = security([
      'tls:',
      `  ca_file: ${pki.caCert}`,
      `  cert_file: ${pki.rogueClientCert}`,
      `  key_file: ${pki.rogueClientKey}`,
    ]);
    const before = fresh(peer);
    await connectOnce([peer.broker], rogue);
    const seen = peer.handshakes.slice(before.handshakes);
    expect(seen).toMatchObject([{ authorized: false, clientCn: 'rogue-client' }]);
    expect(seen[0]?.authorizationError).toMatch(/UNABLE_TO_(VERIFY|GET_ISSUER)/);
    const strictBefore = fresh(strict);
    expect(await connectOnce([strict.broker], rogue)).toBeDefined();
    expect(strict.handshakes.length).toBe(strictBefore.handshakes);
  });

  it('a server certificate the CA of ca_file did not sign is rejected by the client', async () => {
    const before = fresh(peer);
    const e = await connectOnce([peer.broker], security([`tls: {ca_file: ${pki.rogueCaCert}}`]));
    expect(e?.message).toMatch(/certificate/i);
    expect(peer.handshakes.length).toBe(before.handshakes);
  });

  it('a server_name the certificate does not name is rejected by the client', async () => {
    const before = fresh(peer);
    const e = await connectOnce(
      [peer.broker],
      security([`tls: {ca_file: ${pki.caCert}, server_name: other.test}`]),
    );
    expect(e?.message).toMatch(/altnames|other\.test/i);
    expect(peer.handshakes.length).toBe(before.handshakes);
  });

  it('insecure_skip_verify completes the handshake with a server it cannot verify', async () => {
    const before = fresh(peer);
    await connectOnce([peer.broker], security(['tls: {insecure_skip_verify: true}']));
    expect(peer.handshakes.length).toBe(before.handshakes + 1);
  });

  it('KafkaBus passes bus.tls to kafkajs: its connection presents the client certificate', async () => {
    const before = fresh(peer);
    const bus = new KafkaBus({
      brokers: [peer.broker],
      logger: captureLogger().logger,
      connectionTimeoutMs: 3000,
      probeTimeoutMs: 2000,
      closeTimeoutMs: 1000,
      security: security([
        'tls:',
        `  ca_file: ${pki.caCert}`,
        `  cert_file: ${pki.clientCert}`,
        `  key_file: ${pki.clientKey}`,
      ]),
    });
    try {
      // probe() connects (a metadata request), bounded by probeTimeoutMs; the peer speaks no
      // Kafka, so only the handshake is there to see.
      await bus.probe();
      expect(peer.handshakes.slice(before.handshakes)[0]).toMatchObject({
        authorized: true,
        clientCn: 'panoptes-client',
      });
    } finally {
      await bus.close();
    }
  });
});
