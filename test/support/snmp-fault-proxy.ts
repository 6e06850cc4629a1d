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
import { startUdpRelay } from './udp-proxy.js';

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

export async function startSnmpFaultProxy(target: { host: string; port: number }): Promise<SnmpFaultProxy> {
  const timers = new Set<NodeJS.Timeout>();
  const stats: SnmpFaultProxyStats = { requests: 0, passed: 0, dropped: 0, garbled: 0, delayed: 0 };
  let rule: ((community: string) => SnmpFaultAction) | undefined;

  const relay = await startUdpRelay(target, {
    request: () => {
      stats.requests++;
      return true;
    },
    response: (bytes, reply) => {
      const action = rule === undefined ? 'pass' : rule(snmpCommunity(bytes) ?? '');
      if (action === 'pass') {
        stats.passed++;
        reply(bytes);
      } else if (action === 'drop') {
        stats.dropped++;
      } else if (action === 'garbage') {
        stats.garbled++;
        reply(garble(bytes));
      } else {
        stats.delayed++;
        const timer = setTimeout(() => {
          timers.delete(timer);
          reply(bytes);
        }, action.delayMs);
        timers.add(timer);
      }
    },
  });

  return {
    host: relay.host,
    port: relay.port,
    stats,
    setRule(next) {
      rule = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await relay.close();
    },
  };
}
