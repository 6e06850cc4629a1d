/**
 * The live console end to end in one process: records published on the in-process bus reach
 * the store (bad ones skipped and counted, never stopping the rest), and the HTTP API serves
 * the page, uPlot and the JSON (a server on port 0, fetched with Node's fetch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { LiveConsole } from '../../src/console/live-console.js';
import { ConsoleServer } from '../../src/console/server.js';
import { ConsoleStore } from '../../src/console/store.js';
import { metricsGroupToJsonText } from '../../src/model/metrics-group.js';
import type { MetricsGroup } from '../../src/model/metrics-group.js';
import { waitFor } from '../../src/wait.js';
import { cpuGroup, device, interfaceGroup, statusGroup, temperatureGroup } from './groups.js';

const SITE = 'lab';
const TOPIC = `${SITE}-processed`;
const config = {
  port: 0,
  host: '127.0.0.1',
  history_seconds: 3600,
  max_series: 1000,
  max_devices: 100,
  refresh_seconds: 2,
};

let bus: MemoryBus;
let live: LiveConsole;
const now = Date.now() / 1000;

async function publish(groups: readonly MetricsGroup[], extra: string[] = []): Promise<void> {
  await bus.publish(TOPIC, [
    ...groups.map((g) => ({ key: g.resource.resource_id, value: metricsGroupToJsonText(g) })),
    ...extra.map((value) => ({ key: 'bad', value })),
  ]);
}

async function get(path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(new URL(path, live.url));
  return { status: r.status, headers: r.headers, body: await r.text() };
}

beforeAll(async () => {
  bus = new MemoryBus({ partitions: 2 });
  live = await LiveConsole.start({
    bus,
    topic: TOPIC,
    site: SITE,
    groupId: `${SITE}-console`,
    config,
    fromBeginning: true,
  });
  const r1 = device('r1 / core');
  const r2 = device('r2', '10.0.0.2');
  await publish(
    [
      statusGroup(r1, 'device-status', 'success', now - 12),
      interfaceGroup(r1, 'Gi0/1', now - 20, 0, 0, { first: true }),
      interfaceGroup(r1, 'Gi0/1', now - 10, 8000, 4000),
      interfaceGroup(r1, 'Gi0/1', now, 8100, 4100),
      cpuGroup(r1, 'CPU 0', now - 10, 12),
      cpuGroup(r1, 'CPU 0', now, 14),
      temperatureGroup(r1, 'Board', now, 96.8),
      statusGroup(r2, 'device-status', 'timeout', now - 3),
    ],
    ['not json', '{"metrics_group_type": "cpu"}'],
  );
  await waitFor(() => live.received >= 10, 5000);
});

afterAll(async () => {
  await live.stop();
  await bus.close();
});

describe('LiveConsole (in-process bus, HTTP API on port 0)', () => {
  it('reads every record, skipping and counting those that are not metrics groups', () => {
    expect(live.received).toBe(10);
    expect(live.skipped).toBe(2);
    expect(live.store.stats).toMatchObject({ devices: 2, series: 3 });
    expect(live.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('GET /api/devices: every device with status, error and poll time; the counters', async () => {
    const r = await get('/api/devices');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const body = JSON.parse(r.body) as {
      site: string;
      now: number;
      refresh_seconds: number;
      stats: Record<string, number>;
      devices: { id: string; status: string; error: string; last_poll: number; endpoint: string }[];
    };
    expect(body.site).toBe(SITE);
    expect(body.refresh_seconds).toBe(2);
    expect(Math.abs(body.now - Date.now() / 1000)).toBeLessThan(60);
    expect(body.stats).toMatchObject({ devices: 2, series: 3, received: 10, skipped: 2 });
    const byId = new Map(body.devices.map((d) => [d.id, d]));
    expect(byId.get('r1 / core')).toMatchObject({ status: 'ok', error: '' });
    expect(byId.get('r2')).toMatchObject({
      status: 'error',
      error: 'timeout (device-status)',
      endpoint: '10.0.0.2',
    });
    expect(byId.get('r2')?.last_poll).toBeCloseTo(now - 3, 3);
  });

  it("GET /api/devices/<id>: the device's charts, URL-encoded ids, 404 and 400", async () => {
    const r = await get(`/api/devices/${encodeURIComponent('r1 / core')}`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as {
      device: { id: string };
      charts: Record<
        string,
        { unit: string; series: { label: string; times: number[]; values: number[][] }[] }
      >;
    };
    expect(body.device.id).toBe('r1 / core');
    expect(body.charts['traffic']?.series).toEqual([
      {
        label: 'Gi0/1',
        times: [Math.floor(now - 10), Math.floor(now)],
        values: [
          [8000, 8100],
          [4000, 4100],
        ],
      },
    ]);
    expect(body.charts['cpu']?.series[0]?.values[0]).toEqual([12, 14]);
    expect(body.charts['temperature']?.series[0]?.values[0]).toEqual([96.8]);
    expect(body.charts['memory']?.series).toEqual([]);

    const missing = await get('/api/devices/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no device "nope" in the console' });
    expect((await get('/api/devices/%E0%A4%A')).status).toBe(400);
  });

  it('serves the page, its files and uPlot from this server only (CSP), nothing else', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(page.body).toContain('<script src="/uplot/uPlot.iife.min.js" defer></script>');
    // No address of another origin anywhere in the page.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const uplot = await get('/uplot/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(uplot.body).toContain('uPlot');
    expect((await get('/uplot/uPlot.min.css')).body).toContain('.uplot');
    expect((await get('/app.js')).body).toContain("'use strict'");
    expect((await get('/style.css')).status).toBe(200);
    expect((await get('/favicon.ico')).status).toBe(204);
    expect((await get('/../package.json')).status).toBe(404);
    expect((await get('/nothing')).status).toBe(404);
    const post = await fetch(new URL('/api/devices', live.url), { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('reports its own metrics: records, series, bytes, requests', () => {
    const samples = new Map(live.metrics().map((s) => [`${s.name}${s.labels?.['kind'] ?? ''}`, s.value]));
    expect(samples.get('panoptes_console_received_total')).toBe(10);
    expect(samples.get('panoptes_console_skipped_total')).toBe(2);
    expect(samples.get('panoptes_console_series')).toBe(3);
    expect(samples.get('panoptes_console_bytes')).toBe(live.store.stats.bytes);
    expect(samples.get('panoptes_console_evicted_totalseries')).toBe(0);
    expect(samples.get('panoptes_console_requests_total')).toBeGreaterThan(5);
  });
});

describe('ConsoleServer', () => {
  it('fails to start with the address when the port is taken', async () => {
    const store = new ConsoleStore({ historySeconds: 60, maxSeries: 1, maxDevices: 1 });
    const first = await ConsoleServer.start({ store, site: SITE, port: 0, refreshSeconds: 5 });
    try {
      await expect(
        ConsoleServer.start({ store, site: SITE, port: first.port, refreshSeconds: 5 }),
      ).rejects.toThrow(`console: cannot listen on 127.0.0.1:${first.port}: listen EADDRINUSE`);
    } finally {
      await first.close();
    }
  });
});
