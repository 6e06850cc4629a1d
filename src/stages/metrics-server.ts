/**
 * Every stage's own counters, for operators: `GET /metrics` in the Prometheus text format
 * (version 0.0.4) and `GET /healthz` (200 `ok`, or 503 with the reason). Samples come from a
 * callback at scrape time, so they are never stale; labels are of bounded cardinality (stage,
 * plugin kind, topic), never per device.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PanoptesError } from '../errors.js';

export interface MetricSample {
  /** Metric name, e.g. panoptes_polling_runs_total. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface MetricsServerOptions {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly collect: () => readonly MetricSample[];
  /** undefined when healthy, else why not. */
  readonly health: () => string | undefined;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
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
      const path = (req.url ?? '/').split('?')[0];
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
      if (path === '/healthz') {
        const problem = options.health();
        res
          .writeHead(problem === undefined ? 200 : 503, { 'content-type': 'text/plain' })
          .end(problem === undefined ? 'ok\n' : `${problem}\n`);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
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
