/**
 * An HTTP proxy on 127.0.0.1 in front of one upstream server (the time-series server of a test
 * cluster) that answers the way a failing server would, for fault tests:
 *
 *   pass  forwards every request and its answer unchanged;
 *   503   answers 503 Service Unavailable without forwarding;
 *   400   answers 400 Bad Request without forwarding (a server refusing every body);
 *   slow  waits `delayMs` and then forwards the request anyway, also when the client gave up
 *         meanwhile, as a slow server still stores what it was sent.
 *
 * The mode applies to requests as they arrive; a delayed request keeps its delay when the mode
 * changes. Request bodies are read in full before answering, so the client never sees a reset.
 */
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type HttpFaultMode = 'pass' | '503' | '400' | 'slow';

export interface HttpFaultProxyStats {
  /** Requests received, by the mode in force when each arrived. */
  readonly requests: Record<HttpFaultMode, number>;
  /** Requests forwarded upstream (pass and slow). */
  forwarded: number;
  /** Forwarded requests whose client had already gone when the answer came. */
  clientGone: number;
  /** Forwarded requests that failed upstream (connection refused, reset). */
  upstreamErrors: number;
}

export interface HttpFaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly mode: HttpFaultMode;
  readonly stats: HttpFaultProxyStats;
  setMode(mode: HttpFaultMode, options?: { readonly delayMs?: number }): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export async function startHttpFaultProxy(upstream: string): Promise<HttpFaultProxy> {
  const target = new URL(upstream);
  let mode: HttpFaultMode = 'pass';
  let delayMs = 10_000;
  const timers = new Set<NodeJS.Timeout>();
  const stats: HttpFaultProxyStats = {
    requests: { pass: 0, '503': 0, '400': 0, slow: 0 },
    forwarded: 0,
    clientGone: 0,
    upstreamErrors: 0,
  };

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    stats.forwarded++;
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    const out = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.once('end', () => {
          if (res.destroyed || res.writableEnded) {
            stats.clientGone++;
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
        });
        answer.once('error', () => res.destroy());
      },
    );
    out.once('error', (e) => {
      stats.upstreamErrors++;
      if (!res.destroyed && !res.writableEnded)
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: upstream failed: ${e.message}\n`);
    });
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const now = mode;
    stats.requests[now]++;
    res.on('error', () => undefined);
    readBody(req).then(
      (body) => {
        switch (now) {
          case '503':
            res
              .writeHead(503, { 'content-type': 'application/json' })
              .end('{"error":"service unavailable (fault proxy)"}\n');
            return;
          case '400':
            res
              .writeHead(400, { 'content-type': 'application/json' })
              .end('{"code":"invalid","message":"bad request (fault proxy)"}\n');
            return;
          case 'slow': {
            const timer = setTimeout(() => {
              timers.delete(timer);
              forward(req, body, res);
            }, delayMs);
            timers.add(timer);
            return;
          }
          case 'pass':
            forward(req, body, res);
            return;
        }
      },
      () => res.destroy(),
    );
  });
  // A slow answer must not be cut by the server's own timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    stats,
    setMode(next, options = {}) {
      mode = next;
      if (options.delayMs !== undefined) delayMs = options.delayMs;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
