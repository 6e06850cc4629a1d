/**
 * A UDP proxy on 127.0.0.1 that forwards datagrams between clients and one upstream agent and
 * drops the ones a test chooses, to simulate packet loss in front of a real agent. Each client
 * (address and port) gets its own upstream socket, so answers find their way back; clients see
 * every answer coming from the proxy's port.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

export type Direction = 'request' | 'response';

/** Decides per datagram; `index` counts datagrams in that direction, from 1. */
export type DropRule = (direction: Direction, index: number, bytes: Buffer) => boolean;

export interface UdpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly forwarded: { request: number; response: number };
  readonly dropped: { request: number; response: number };
  close(): Promise<void>;
}

function bind(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

export async function startUdpProxy(
  target: { host: string; port: number },
  drop: DropRule,
): Promise<UdpProxy> {
  const front = createSocket('udp4');
  await bind(front);
  const upstreams = new Map<string, Socket>();
  const counts = { request: 0, response: 0 };
  const forwarded = { request: 0, response: 0 };
  const dropped = { request: 0, response: 0 };
  const pendingBinds: Promise<void>[] = [];

  const decide = (direction: Direction, bytes: Buffer): boolean => {
    counts[direction]++;
    const d = drop(direction, counts[direction], bytes);
    if (d) dropped[direction]++;
    else forwarded[direction]++;
    return d;
  };

  front.on('message', (msg, client) => {
    if (decide('request', msg)) return;
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket('udp4');
      upstream = socket;
      upstreams.set(key, socket);
      socket.on('message', (answer) => {
        if (decide('response', answer)) return;
        front.send(answer, client.port, client.address);
      });
      socket.on('error', () => undefined);
      pendingBinds.push(bind(socket).catch(() => undefined));
    }
    upstream.send(msg, target.port, target.host);
  });
  front.on('error', () => undefined);

  return {
    host: '127.0.0.1',
    port: front.address().port,
    forwarded,
    dropped,
    async close() {
      await Promise.all(pendingBinds);
      await Promise.all(
        [front, ...upstreams.values()].map((s) => new Promise<void>((r) => s.close(() => r()))),
      );
    },
  };
}
