/**
 * Every stage's own counters and health, for operators:
 * - `GET /metrics`: the Prometheus text format (version 0.0.4). Samples come from a callback at
 *   scrape time, so they are never stale; labels are of bounded cardinality (stage, plugin kind,
 *   topic), never per device.
 * - `GET /healthz`: liveness. 200 `ok` while the process serves requests, also through a
 *   dependency's outage (a process waiting for Redis or Kafka to come back is working as it
 *   should; an orchestrator must not restart it). 503 only when the liveness callback says so.
 * - `GET /readyz` (also `/healthz?deep`): readiness, JSON: each dependency (kafka, redis, tsdb,
 *   snmp) with its state, since when and what was seen; 200 when none is down, else 503.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PanoptesError } from '../errors.js';
import { isReady } from '../telemetry.js';
import type { DependencyStatus, MetricSample } from '../telemetry.js';

export type { MetricSample } from '../telemetry.js';

export interface MetricsServerOptions {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly collect: () => readonly MetricSample[];
  /** Liveness: undefined when alive, else why not. */
  readonly health: () => string | undefined;
  /** Readiness: the dependencies and their states. None given: always ready. */
  readonly dependencies?: () => readonly DependencyStatus[];
}

/** The /readyz body. */
export function renderReadiness(dependencies: readonly DependencyStatus[]): {
  ready: boolean;
  body: string;
} {
  const ready = isReady(dependencies);
  const body = JSON.stringify({
    ready,
    dependencies: dependencies.map((d) => ({
      name: d.name,
      state: d.state,
      since: new Date(d.since).toISOString(),
      detail: d.detail,
    })),
  });
  return { ready, body: `${body}\n` };
}

/** A label value in the text format: backslash, newline and double quote escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A sample value in the text format (NaN, +Inf, -Inf spelled as the format wants). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The samples in the Prometheus text format: HELP and TYPE once per name, then its samples. */
export function renderPrometheus(samples: readonly MetricSample[]): string {
  const byName = new Map<string, MetricSample[]>();
  for (const s of samples) {
    let list = byName.get(s.name);
    if (list === undefined) byName.set(s.name, (list = []));
    list.push(s);
  }
  let out = '';
  for (const [name, list] of byName) {
    const first = list[0] as MetricSample;
    out += `# HELP ${name} ${first.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${first.type}\n`;
    for (const s of list) {
      const labels = Object.entries(s.labels ?? {});
      const text =
        labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      out += `${name}${text} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}

export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: MetricsServerOptions): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      const [path, query] = (req.url ?? '/').split('?');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        let body: string;
        try {
          body = renderPrometheus(options.collect());
        } catch (e) {
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`collecting metrics failed: ${String(e)}\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        return;
      }
      if (path === '/readyz' || (path === '/healthz' && query !== undefined && /(^|&)deep\b/.test(query))) {
        let readiness: { ready: boolean; body: string };
        try {
          readiness = renderReadiness(options.dependencies?.() ?? []);
        } catch (e) {
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`checking readiness failed: ${String(e)}\n`);
          return;
        }
        res
          .writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(readiness.body);
        return;
      }
      if (path === '/healthz') {
        const problem = options.health();
        res
          .writeHead(problem === undefined ? 200 : 503, { 'content-type': 'text/plain' })
          .end(problem === undefined ? 'ok\n' : `${problem}\n`);
        return;
      }
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /metrics, /healthz or /readyz\n');
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new PanoptesError('SERVICE_START', `cannot listen on ${host}:${options.port}: ${e.message}`, {
            cause: e,
          }),
        ),
      );
      server.listen(options.port, host, () => resolve());
    });
    return new MetricsServer(server, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
