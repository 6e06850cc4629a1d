/**
 * A fleet poll: 1,000 simulated devices and one that never answers, polled at once through the
 * shared-socket engine. The dead device must cost only its own timeout: every live device
 * answers long before the dead one gives up, and the dead one fails with SNMP_TIMEOUT after
 * its attempts, not before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanoptesError } from '../../src/errors.js';
import { SnmpSimulator } from '../../src/sim/simulator.js';
import { syntheticCommunity } from '../../src/sim/synthetic.js';
import { SnmpEngine } from '../../src/snmp/engine.js';
import { SnmpTag } from '../../src/snmp/types.js';

const SYS_NAME = '1.3.6.1.2.1.1.5.0';
const IF_DESCR = '1.3.6.1.2.1.2.2.1.2';
const DEVICES = 1000;
const TIMEOUT_MS = 1500;
const RETRIES = 1;

describe('polling 1,000 devices with one dead device', () => {
  let sim: SnmpSimulator;

  beforeAll(async () => {
    sim = await SnmpSimulator.start({ port: 0, synthetic: { devices: DEVICES, interfaces: 4 } });
  });

  afterAll(async () => {
    await sim.close();
  });

  for (const maxInFlight of [2000, 50]) {
    it(`the dead device delays only itself (global in-flight cap ${maxInFlight})`, async () => {
      const engine = new SnmpEngine({ maxInFlight });
      const t0 = performance.now();
      const poll = async (community: string): Promise<{ ms: number; names: string[]; rows: number }> => {
        const session = engine.session({
          host: '127.0.0.1',
          port: sim.port,
          community,
          timeoutMs: TIMEOUT_MS,
          retries: RETRIES,
        });
        const [name] = await session.get([SYS_NAME]);
        const rows = await session.walk(IF_DESCR);
        return {
          ms: performance.now() - t0,
          names: [Buffer.from((name?.value as Uint8Array | undefined) ?? []).toString()],
          rows: rows.length,
        };
      };
      // The dead device is first in line, so it takes its slots before anyone else.
      const dead = poll('no-such-device').then(
        () => ({ ok: true as const, ms: performance.now() - t0, error: undefined }),
        (e: unknown) => ({ ok: false as const, ms: performance.now() - t0, error: e }),
      );
      const live = await Promise.all(
        Array.from({ length: DEVICES }, (_, i) => poll(syntheticCommunity(i + 1))),
      );
      const liveDone = performance.now() - t0;
      const deadResult = await dead;
      await engine.close();

      live.forEach((r, i) => {
        expect(r.names[0]).toBe(syntheticCommunity(i + 1));
        expect(r.rows).toBe(4);
      });
      // Every live device finished before the dead one could even have used up its first timeout.
      expect(liveDone).toBeLessThan(TIMEOUT_MS);
      expect(deadResult.ok).toBe(false);
      expect(deadResult.error).toBeInstanceOf(PanoptesError);
      expect((deadResult.error as PanoptesError).code).toBe('SNMP_TIMEOUT');
      // ... and the dead one gave up after its own attempts, no sooner and not much later.
      expect(deadResult.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * (RETRIES + 1) - 20);
      expect(deadResult.ms).toBeLessThan(TIMEOUT_MS * (RETRIES + 1) + 2000);
      expect(engine.stats.timeouts).toBe(1);
    });
  }

  it('answers stay typed: Counter64 beyond 2^53 arrives as an exact bigint', async () => {
    const engine = new SnmpEngine();
    const session = engine.session({ host: '127.0.0.1', port: sim.port, community: syntheticCommunity(7) });
    const [hc] = await session.get(['1.3.6.1.2.1.31.1.1.1.6.3']);
    await engine.close();
    expect(hc?.type).toBe(SnmpTag.Counter64);
    expect(typeof hc?.value).toBe('bigint');
    expect(hc?.value as bigint).toBeGreaterThanOrEqual(2n ** 60n + 21n);
  });
});
