/**
 * redis-server on a free loopback port, no persistence. Optionally TLS only (`--port 0
 * --tls-port P`: no plaintext listener) with the certificates given, and with ACL users and a
 * password for the default user.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface RedisTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Whether clients must present a certificate signed by caFile. Default `optional`. */
  readonly authClients?: 'yes' | 'optional' | 'no';
  /** A client certificate the readiness probe presents when authClients is `yes`. */
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
}

export interface RedisStartOptions {
  /** Serve TLS only, with these files. */
  readonly tls?: RedisTlsFiles;
  /** ACL users with every permission (`on >password ~* &* +@all`). */
  readonly users?: readonly { readonly name: string; readonly password: string }[];
  /** Password of the default user (`--requirepass`). */
  readonly requirepass?: string;
}

export interface RedisService {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, or `rediss://...` with TLS. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Whether the server answers: PONG, or NOAUTH when it wants a password first. */
function ping(open: () => Socket): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const socket = open();
    let reply = '';
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH') ? true : undefined);
      }
    });
    socket.write('PING\r\n');
  });
}

export async function startRedis(options: RedisStartOptions = {}): Promise<RedisService> {
  const command = requireBinary('redis-server', 'redis-server');
  const port = await freeTcpPort();
  const workDir = await makeTempDir('redis');
  const { tls } = options;
  const listen =
    tls === undefined
      ? ['--port', String(port)]
      : [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.certFile,
          '--tls-key-file',
          tls.keyFile,
          '--tls-ca-cert-file',
          tls.caFile,
          '--tls-auth-clients',
          tls.authClients ?? 'optional',
        ];
  const auth = [
    ...(options.requirepass === undefined ? [] : ['--requirepass', options.requirepass]),
    ...(options.users ?? []).flatMap((u) => ['--user', u.name, 'on', `>${u.password}`, '~*', '&*', '+@all']),
  ];
  const proc = ManagedProcess.start({
    name: 'redis-server',
    command,
    args: [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', workDir, ...auth],
    workDir,
  });
  const open =
    tls === undefined
      ? () => connect({ host: '127.0.0.1', port })
      : () =>
          tlsConnect({
            host: '127.0.0.1',
            port,
            ca: readFileSync(tls.caFile),
            ...(tls.clientCertFile === undefined || tls.clientKeyFile === undefined
              ? {}
              : { cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }),
          });
  try {
    await proc.waitUntil('it answers PING', () => ping(open));
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    host: '127.0.0.1',
    port,
    url: `${tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    process: proc,
    stop: () => proc.stop(),
  };
}
