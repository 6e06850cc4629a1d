/** redis-server on a free loopback port, no persistence. */
import { connect } from 'node:net';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface RedisService {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

function ping(port: number): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG') ? true : undefined);
      }
    });
  });
}

export async function startRedis(): Promise<RedisService> {
  const command = requireBinary('redis-server', 'redis-server');
  const port = await freeTcpPort();
  const workDir = await makeTempDir('redis');
  const proc = ManagedProcess.start({
    name: 'redis-server',
    command,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      workDir,
    ],
    workDir,
  });
  try {
    await proc.waitUntil('it answers PING', () => ping(port));
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    process: proc,
    stop: () => proc.stop(),
  };
}
