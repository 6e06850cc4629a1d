import { afterEach, describe, expect, it } from 'vitest';
import { MetricsServer, renderReadiness } from '../../src/stages/metrics-server.js';
import { silentLogger } from '../../src/log.js';
import { DependencyHealth, isReady } from '../../src/telemetry.js';
import { captureLogger } from '../support/capture-logger.js';

let server: MetricsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('DependencyHealth', () => {
  it('logs each change once: down with the reason, up again with how long it was down', () => {
    let now = 1_000;
    const { logger, records } = captureLogger();
    const h = new DependencyHealth('redis', logger, { now: () => now });
    expect(h.current).toBe('starting');
    h.up();
    h.up();
    now += 2_000;
    h.down('connection refused');
    h.down('connection refused again');
    now += 12_500;
    h.up();
    expect(records.map((r) => r.msg)).toEqual([
      'dependency reached: redis',
      'dependency down: redis: connection refused',
      'dependency up again: redis after 12.5 s down',
    ]);
    expect(h.status()).toMatchObject({ name: 'redis', state: 'up', since: now });
  });

  it('is ready when nothing is down or starting; degraded is ready', () => {
    const a = new DependencyHealth('a', silentLogger, { state: 'up' });
    const b = new DependencyHealth('b', silentLogger, { state: 'degraded' });
    expect(isReady([a.status(), b.status()])).toBe(true);
    b.down('x');
    expect(isReady([a.status(), b.status()])).toBe(false);
    expect(isReady([new DependencyHealth('c', silentLogger).status()])).toBe(false);
  });
});

describe('MetricsServer', () => {
  it('/healthz is liveness (200 through an outage); /readyz and /healthz?deep report each dependency', async () => {
    const kafka = new DependencyHealth('kafka', silentLogger, { state: 'up' });
    const redis = new DependencyHealth('redis', silentLogger, { state: 'up' });
    server = await MetricsServer.start({
      port: 0,
      collect: () => [{ name: 'panoptes_up', help: 'Up.', type: 'gauge', value: 1 }],
      health: () => undefined,
      dependencies: () => [kafka.status(), redis.status()],
    });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    redis.down('ECONNREFUSED 127.0.0.1:6379');
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('ok\n');
    for (const path of ['/readyz', '/healthz?deep']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as {
        ready: boolean;
        dependencies: { name: string; state: string; detail: string; since: string }[];
      };
      expect(body.ready).toBe(false);
      expect(body.dependencies.map((d) => [d.name, d.state])).toEqual([
        ['kafka', 'up'],
        ['redis', 'down'],
      ]);
      expect(body.dependencies[1]?.detail).toBe('ECONNREFUSED 127.0.0.1:6379');
      expect(Number.isNaN(Date.parse(body.dependencies[1]?.since ?? ''))).toBe(false);
    }
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('panoptes_up 1');
  });

  it('renderReadiness with no dependencies is ready', () => {
    expect(renderReadiness([])).toEqual({ ready: true, body: '{"ready":true,"dependencies":[]}\n' });
  });
});
