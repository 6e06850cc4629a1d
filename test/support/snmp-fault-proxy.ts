/**
 * A UDP proxy on 127.0.0.1 in front of an SNMP agent serving many devices on one port (the
 * simulator: one community per device) that spoils the answers of the devices a test chooses,
 * to simulate broken or overloaded devices:
 *
 *   pass     the answer goes back unchanged;
 *   drop     no answer;
 *   garbage  the answer is cut to half its length and its last bytes inverted: the request-id at
 *            the start still matches, the BER lengths no longer do, so it cannot be decoded;
 *   delay    the answer goes back after `delayMs`.
 *
 * The action is chosen per answer from its community (read from the message header), so a device
 * is one community. Each client (address and port) gets its own upstream socket, so answers find
 * their way back; clients see every answer coming from the proxy's port.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

export type SnmpFaultAction = 'pass' | 'drop' | 'garbage' | { readonly delayMs: number };

export interface SnmpFaultProxyStats {
  requests: number;
  passed: number;
  dropped: number;
  garbled: number;
  delayed: number;
}

export interface SnmpFaultProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly stats: SnmpFaultProxyStats;
  /** What to do with the answers of each community from now on (undefined: pass). */
  setRule(rule: ((community: string) => SnmpFaultAction) | undefined): void;
  close(): Promise<void>;
}

/** Reads a BER length at `at`: [length, offset of the contents], or undefined. */
function berLength(b: Buffer, at: number): [number, number] | undefined {
  const first = b[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return [first, at + 1];
  const n = first & 0x7f;
  if (n === 0 || n > 4 || at + 1 + n > b.length) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (b[at + 1 + i] ?? 0);
  return [len, at + 1 + n];
}

/** The community of a v1/v2c message (SEQUENCE { INTEGER version, OCTET STRING community, ... }). */
export function snmpCommunity(b: Buffer): string | undefined {
  if (b[0] !== 0x30) return undefined;
  const seq = berLength(b, 1);
  if (seq === undefined || b[seq[1]] !== 0x02) return undefined;
  const version = berLength(b, seq[1] + 1);
  if (version === undefined) return undefined;
  const at = version[1] + version[0];
  if (b[at] !== 0x04) return undefined;
  const community = berLength(b, at + 1);
  if (community === undefined || community[1] + community[0] > b.length) return undefined;
  return b.toString('latin1', community[1], community[1] + community[0]);
}

/** Half the message, its last 16 bytes inverted. */
export function garble(b: Buffer): Buffer {
  const out = Buffer.from(b.subarray(0, Math.ceil(b.length / 2)));
  for (let i = Math.max(0, out.length - 16); i < out.length; i++) out[i] = (out[i] ?? 0) ^ 0xff;
  return out;
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

export async function startSnmpFaultProxy(target: { host: string; port: number }): Promise<SnmpFaultProxy> {
  const front = createSocket('udp4');
  await bind(front);
  const upstreams = new Map<string, Socket>();
  const pendingBinds: Promise<void>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const stats: SnmpFaultProxyStats = { requests: 0, passed: 0, dropped: 0, garbled: 0, delayed: 0 };
  let rule: ((community: string) => SnmpFaultAction) | undefined;
  let closed = false;

  const answer = (bytes: Buffer, port: number, address: string): void => {
    if (closed) return;
    const action = rule === undefined ? 'pass' : rule(snmpCommunity(bytes) ?? '');
    if (action === 'pass') {
      stats.passed++;
      front.send(bytes, port, address);
    } else if (action === 'drop') {
      stats.dropped++;
    } else if (action === 'garbage') {
      stats.garbled++;
      front.send(garble(bytes), port, address);
    } else {
      stats.delayed++;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!closed) front.send(bytes, port, address);
      }, action.delayMs);
      timers.add(timer);
    }
  };

  front.on('message', (msg, client) => {
    stats.requests++;
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket('udp4');
      upstream = socket;
      upstreams.set(key, socket);
      socket.on('message', (bytes) => answer(bytes, client.port, client.address));
      socket.on('error', () => undefined);
      pendingBinds.push(bind(socket).catch(() => undefined));
    }
    upstream.send(msg, target.port, target.host);
  });
  front.on('error', () => undefined);

  return {
    host: '127.0.0.1',
    port: front.address().port,
    stats,
    setRule(next) {
      rule = next;
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(pendingBinds);
      await Promise.all(
        [front, ...upstreams.values()].map((s) => new Promise<void>((r) => s.close(() => r()))),
      );
    },
  };
}
