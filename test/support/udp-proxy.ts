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

/** What a relay does with each datagram. */
export interface RelayHooks {
  /** Whether the request goes on to the target. */
  request(msg: Buffer): boolean;
  /** Called with each answer and the function that sends bytes back to the client that asked. */
  response(answer: Buffer, reply: (bytes: Buffer) => void): void;
}

export interface UdpRelay {
  readonly host: '127.0.0.1';
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The forwarding both proxies share: one front socket on 127.0.0.1, one upstream socket per
 * client (address and port) so answers find their way back, every answer sent from the front.
 */
export async function startUdpRelay(
  target: { host: string; port: number },
  hooks: RelayHooks,
): Promise<UdpRelay> {
  const front = createSocket('udp4');
  await bind(front);
  const upstreams = new Map<string, Socket>();
  const pendingBinds: Promise<void>[] = [];
  let closed = false;

  front.on('message', (msg, client) => {
    if (!hooks.request(msg)) return;
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket('udp4');
      upstream = socket;
      upstreams.set(key, socket);
      const reply = (bytes: Buffer): void => {
        if (!closed) front.send(bytes, client.port, client.address);
      };
      socket.on('message', (answer) => hooks.response(answer, reply));
      // A test proxy's socket errors (a client gone) are not the test's subject.
      socket.on('error', () => undefined);
      pendingBinds.push(bind(socket).catch(() => undefined));
    }
    upstream.send(msg, target.port, target.host);
  });
  front.on('error', () => undefined);

  return {
    host: '127.0.0.1',
    port: front.address().port,
    async close() {
      closed = true;
      await Promise.all(pendingBinds);
      await Promise.all(
        [front, ...upstreams.values()].map((s) => new Promise<void>((r) => s.close(() => r()))),
      );
    },
  };
}

export async function startUdpProxy(
  target: { host: string; port: number },
  drop: DropRule,
): Promise<UdpProxy> {
  const counts = { request: 0, response: 0 };
  const forwarded = { request: 0, response: 0 };
  const dropped = { request: 0, response: 0 };

  const decide = (direction: Direction, bytes: Buffer): boolean => {
    counts[direction]++;
    const d = drop(direction, counts[direction], bytes);
    if (d) dropped[direction]++;
    else forwarded[direction]++;
    return d;
  };

  const relay = await startUdpRelay(target, {
    request: (msg) => !decide('request', msg),
    response: (answer, reply) => {
      if (!decide('response', answer)) reply(answer);
    },
  });
  return { host: relay.host, port: relay.port, forwarded, dropped, close: () => relay.close() };
}
