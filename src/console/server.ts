/**
 * The live console's HTTP server (node:http, no framework): the page and its JSON.
 *
 *   GET /                          the page (src/console/page/index.html)
 *   GET /app.js, /style.css        its script and style (plain files, no build step)
 *   GET /uplot/uPlot.iife.min.js   the charting library, from the installed uplot package
 *   GET /uplot/uPlot.min.css
 *   GET /api/devices               {site, now, refresh_seconds, history_seconds, stats, devices: [DeviceSummary]}
 *   GET /api/devices/<id>          {site, now, ..., device: DeviceSummary, charts: {traffic, cpu, memory, temperature}}
 *                                  (id URL-encoded; 404 when the device is not held)
 *
 * Everything the page loads comes from this server (the Content-Security-Policy says so): it
 * works with no internet access. The files are read once, when the server starts, so a missing
 * one fails the start with its path instead of a 404 later; they are small (uPlot is 50 KB).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { PanoptesError, errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT } from '../package-root.js';
import type { ConsoleStore } from './store.js';

/**
 * The page's own files. They live beside the code in src/ and are not compiled: from dist/ they
 * are found through the package root, and package.json "files" ships the folder.
 */
export const CONSOLE_PAGE_DIR = join(PACKAGE_ROOT, 'src', 'console', 'page');

/** uPlot's dist folder, wherever npm put the package (resolved as Node resolves an import of it). */
function uplotDistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('uplot/package.json')), 'dist');
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const uplot = uplotDistDir();
  const files: [route: string, file: string, type: string][] = [
    ['/', join(CONSOLE_PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/app.js', join(CONSOLE_PAGE_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', join(CONSOLE_PAGE_DIR, 'style.css'), 'text/css; charset=utf-8'],
    ['/uplot/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/uplot/uPlot.min.css', join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const assets = new Map<string, Asset>();
  for (const [route, file, type] of files) {
    try {
      assets.set(route, { type, body: await readFile(file) });
    } catch (e) {
      throw new PanoptesError('FILE_READ', `console: cannot read the page file ${file}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  }
  assets.set('/index.html', assets.get('/') as Asset);
  return assets;
}

/**
 * Only this server's own files, no inline script, no other origin: a page that loads nothing from
 * the internet, and a device name in the data can never become markup that runs.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export interface ConsoleServerOptions {
  readonly store: ConsoleStore;
  readonly site: string;
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** How often the page refreshes, s. */
  readonly refreshSeconds: number;
  /** Extra counters for /api/devices (the consumer's). */
  readonly extraStats?: () => Readonly<Record<string, number>>;
  /** Epoch ms; Date.now by default (tests give their own clock). */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Requests answered, by kind (for /metrics). */
export interface ConsoleRequests {
  page: number;
  api: number;
  notFound: number;
  errors: number;
}

export class ConsoleServer {
  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    readonly requests: Readonly<ConsoleRequests>,
  ) {}

  /** The page's address, e.g. http://127.0.0.1:8089/ (an IPv6 host in brackets). */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}/`;
  }

  static async start(options: ConsoleServerOptions): Promise<ConsoleServer> {
    const assets = await loadAssets();
    const host = options.host ?? '127.0.0.1';
    const logger = options.logger ?? silentLogger;
    const requests: ConsoleRequests = { page: 0, api: 0, notFound: 0, errors: 0 };
    const server = createServer((req, res) => {
      try {
        handle(req, res, options, assets, requests);
      } catch (e) {
        // A bug answering one request must not take the node down.
        requests.errors++;
        logger.error({ url: req.url, err: errorMessage(e) }, 'console: answering a request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      }
    });
    // Browsers keep connections open; they must not hold up stop().
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new PanoptesError(
            'SERVICE_START',
            `console: cannot listen on ${host}:${options.port}: ${e.message}`,
            {
              cause: e,
            },
          ),
        ),
      );
      server.listen(options.port, host, () => resolve());
    });
    return new ConsoleServer(server, host, (server.address() as AddressInfo).port, requests);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  cache: string,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': cache,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ConsoleServerOptions,
  assets: ReadonlyMap<string, Asset>,
  requests: ConsoleRequests,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const asset = assets.get(path);
  if (asset !== undefined) {
    requests.page++;
    // The page's files change only with the package: no-cache makes the browser revalidate.
    send(req, res, 200, asset.type, asset.body, 'no-cache');
    return;
  }
  if (path === '/favicon.ico') {
    // No icon: an empty answer keeps a 404 out of the browser's console.
    res.writeHead(204, SECURITY_HEADERS).end();
    return;
  }
  const nowMs = (options.now ?? Date.now)();
  const now = nowMs / 1000;
  const json = (status: number, value: unknown): void => {
    requests.api++;
    send(req, res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, 'no-store');
  };
  const store = options.store;
  const head = {
    site: options.site,
    now,
    refresh_seconds: options.refreshSeconds,
    history_seconds: store.options.historySeconds,
  };
  if (path === '/api/devices') {
    json(200, { ...head, stats: { ...store.stats, ...options.extraStats?.() }, devices: store.devices(now) });
    return;
  }
  if (path.startsWith('/api/devices/')) {
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/api/devices/'.length));
    } catch {
      json(400, { error: `not a URL-encoded device id: ${path}` });
      return;
    }
    const detail = store.device(id, now);
    if (detail === undefined) json(404, { error: `no device ${JSON.stringify(id)} in the console` });
    else json(200, { ...head, ...detail });
    return;
  }
  requests.notFound++;
  send(req, res, 404, 'text/plain; charset=utf-8', 'not found: the console is at /\n', 'no-store');
}
