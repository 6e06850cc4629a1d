/** Failed runs are logged: one warning naming resource, plugin, target and reason, rate-limited per resource and plugin. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAILURE_LOG_INTERVAL_MS, PollingAgent } from '../../src/actors/polling-agent.js';
import { PanoptesError } from '../../src/errors.js';
import { createContextFactory } from '../../src/plugins/context.js';
import { storeKeys } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { LEVEL, captureLogger } from '../support/capture-logger.js';
import type { LogRecord } from '../support/capture-logger.js';
import { pollingDefinition, pollingPlugin, resource } from '../support/polling-fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An agent on an in-memory store that publishes nowhere, and the records it logs. */
function quietAgent(): { agent: PollingAgent; records: LogRecord[] } {
  const { logger, records } = captureLogger();
  const store = new MemoryStore();
  const keys = storeKeys();
  const agent = new PollingAgent({
    logger,
    store,
    keys,
    contextFactory: createContextFactory({ logger, store, keys }),
    publish: () => Promise.resolve(),
    distributedGuards: false,
  });
  return { agent, records };
}

function agentWith(error: () => Error): {
  run: (id: string) => Promise<unknown>;
  warnings: () => Record<string, unknown>[];
} {
  const { agent, records } = quietAgent();
  const plugin = pollingPlugin(pollingDefinition('device-metrics'), () => Promise.reject(error()));
  return {
    run: (id) =>
      agent.run(resource(id, { resource_endpoint: `${id}.example.net` }), plugin, new AbortController())
        .outcome,
    warnings: () => records.filter((r) => r.level === LEVEL.warn && /run failed/.test(r.msg)),
  };
}

describe('failed runs are logged', () => {
  it.each([
    [
      'a timeout',
      () => new PanoptesError('SNMP_TIMEOUT', 'no answer from sw1:161 after 2 attempts'),
      'timeout',
    ],
    [
      'an error status',
      () => new PanoptesError('SNMP_ERROR_STATUS', 'sw1:161 answered genErr'),
      'missingData',
    ],
    ['an undecodable answer', () => new PanoptesError('SNMP_DECODE', 'bad BER at byte 12'), 'internalError'],
  ])('%s: one warning with resource, plugin, target and reason', async (_what, error, status) => {
    const a = agentWith(error);
    await a.run('sw1');
    const [w, ...rest] = a.warnings();
    expect(rest).toEqual([]);
    expect(w).toMatchObject({
      resource: 'sw1',
      plugin: 'device-metrics',
      target: 'sw1.example.net',
      status,
      reason: error().message,
    });
  });

  it('at most once per resource and plugin per interval, then with the count left out', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2024, 0, 1));
    const a = agentWith(() => new PanoptesError('SNMP_TIMEOUT', 'no answer'));
    await a.run('sw1');
    await a.run('sw1');
    await a.run('sw1');
    await a.run('sw2');
    expect(a.warnings().map((w) => w['resource'])).toEqual(['sw1', 'sw2']);
    vi.setSystemTime(Date.UTC(2024, 0, 1) + FAILURE_LOG_INTERVAL_MS);
    await a.run('sw1');
    const last = a.warnings().at(-1);
    expect(last).toMatchObject({ resource: 'sw1', suppressedSinceLast: 2 });
  });

  it('a success after a logged failure is logged once ("succeeds again"), not after every flap', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2024, 0, 1));
    const { agent, records } = quietAgent();
    const status = (s: 'success' | 'timeout'): void =>
      agent.reportStatus({
        resourceId: 'sw1',
        plugin: 'device-metrics',
        status: s,
        dueAt: Date.now(),
        latenessMs: 0,
        durationMs: 1,
        groups: 0,
      });
    const plugin = pollingPlugin(pollingDefinition('device-metrics'), () =>
      Promise.reject(new PanoptesError('SNMP_TIMEOUT', 'no answer')),
    );
    const fail = (): Promise<unknown> =>
      agent.run(resource('sw1'), plugin, new AbortController()).outcome.then(() => status('timeout'));
    const again = (): Record<string, unknown>[] => records.filter((r) => /succeeds again/.test(r.msg));
    status('success');
    expect(again()).toEqual([]);
    return (async () => {
      await fail();
      status('success');
      expect(again()).toHaveLength(1);
      expect(again()[0]).toMatchObject({ resource: 'sw1', plugin: 'device-metrics', level: 30 });
      // A flap within the log interval: its failure is not logged, so neither is its end.
      await fail();
      status('success');
      expect(again()).toHaveLength(1);
    })();
  });
});
