import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { garble, snmpCommunity, startSnmpFaultProxy } from '../support/snmp-fault-proxy.js';
import type { SnmpFaultProxy } from '../support/snmp-fault-proxy.js';

/** A v2c-shaped message: SEQUENCE { INTEGER 1, OCTET STRING community, 4 bytes of payload }. */
function message(community: string): Buffer {
  const c = Buffer.from(community, 'latin1');
  const body = Buffer.concat([
    Buffer.from([0x02, 0x01, 0x01, 0x04, c.length]),
    c,
    Buffer.from([0xa0, 0x02, 0x05, 0x00]),
  ]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** An agent that echoes every request, the proxy in front and a client; `ask` waits at most `ms`. */
async function setup(): Promise<{
  proxy: SnmpFaultProxy;
  ask: (msg: Buffer, ms: number) => Promise<Buffer | undefined>;
}> {
  const agent = await bound();
  agent.on('message', (msg, from) => agent.send(msg, from.port, from.address));
  const proxy = await startSnmpFaultProxy({ host: '127.0.0.1', port: agent.address().port });
  const client = await bound();
  closing.push(
    () => proxy.close(),
    () => new Promise<void>((r) => agent.close(() => r())),
    () => new Promise<void>((r) => client.close(() => r())),
  );
  const ask = (msg: Buffer, ms: number): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        client.off('message', onMessage);
        resolve(undefined);
      }, ms);
      const onMessage = (answer: Buffer): void => {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve(answer);
      };
      client.on('message', onMessage);
      client.send(msg, proxy.port, proxy.host);
    });
  return { proxy, ask };
}

describe('SNMP fault proxy', () => {
  it('reads the community of a v1/v2c message and nothing from other bytes', () => {
    expect(snmpCommunity(message('sim-00007'))).toBe('sim-00007');
    expect(snmpCommunity(Buffer.from([0x31, 0x00]))).toBeUndefined();
    expect(snmpCommunity(message('x').subarray(0, 6))).toBeUndefined();
  });

  it('garbles to half the length with the last bytes inverted', () => {
    const m = message('public-community-long-enough');
    const g = garble(m);
    expect(g.length).toBe(Math.ceil(m.length / 2));
    expect(g[0]).toBe(m[0]);
    expect(g[g.length - 1]).toBe((m[g.length - 1] ?? 0) ^ 0xff);
  });

  it('passes, drops, garbles and delays answers per community, and counts each', async () => {
    const { proxy, ask } = await setup();
    expect(await ask(message('ok'), 1000)).toEqual(message('ok'));
    proxy.setRule((c) =>
      c === 'dead' ? 'drop' : c === 'bad' ? 'garbage' : c === 'slow' ? { delayMs: 300 } : 'pass',
    );
    expect(await ask(message('dead'), 300)).toBeUndefined();
    expect(await ask(message('bad'), 1000)).toEqual(garble(message('bad')));
    const asked = Date.now();
    expect(await ask(message('slow'), 2000)).toEqual(message('slow'));
    expect(Date.now() - asked).toBeGreaterThanOrEqual(250);
    expect(await ask(message('ok'), 1000)).toEqual(message('ok'));
    proxy.setRule(undefined);
    expect(await ask(message('dead'), 1000)).toEqual(message('dead'));
    expect(proxy.stats).toEqual({ requests: 6, passed: 3, dropped: 1, garbled: 1, delayed: 1 });
  });
});
