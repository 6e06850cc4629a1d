/**
 * `panoptes gnmi capabilities|get|subscribe TARGET [PATH...] [options]`: a debugging client for
 * gNMI targets, as `panoptes snmp walk` is for SNMP agents. Values print one per line:
 *
 *   2026-12-04T16:30:00.123Z /interfaces/interface[name=Ethernet1]/state/counters/in-octets 1152921504606852397
 *
 * A JSON container value prints as one line with the JSON object. Exit 0 on success (or a
 * stream stopped by --count, --for or Ctrl-C), 1 when the target failed, 2 on a usage error.
 */
import { PanoptesError, isPanoptesError } from '../../errors.js';
import { GnmiClient, readTlsFiles } from '../../gnmi/client.js';
import type {
  Encoding,
  GnmiClientOptions,
  GnmiNotification,
  ListMode,
  SubscriptionMode,
} from '../../gnmi/client.js';
import { pathToString } from '../../gnmi/path.js';
import { valueText } from '../../gnmi/values.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';

export interface GnmiCliOptions {
  readonly insecure?: boolean;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsServerName?: string;
  readonly skipVerify?: boolean;
  readonly username?: string;
  readonly passwordEnv?: string;
  readonly encoding: string;
  readonly timeout: number;
  readonly mode?: string;
  readonly streamMode?: string;
  readonly interval?: number;
  readonly pollEvery?: number;
  readonly updatesOnly?: boolean;
  readonly count?: number;
  readonly for?: number;
}

/** `host:port` (the port is required: gNMI has no single well-known port). */
export function parseGnmiTarget(text: string): string {
  if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(text))
    throw new PanoptesError('USAGE', `invalid target "${text}": expected host:port, e.g. 127.0.0.1:6030`);
  return text;
}

export function clientOptions(target: string, o: GnmiCliOptions, env = process.env): GnmiClientOptions {
  let password: string | undefined;
  if (o.passwordEnv !== undefined) {
    password = env[o.passwordEnv];
    if (password === undefined || password === '')
      throw new PanoptesError(
        'USAGE',
        `--password-env: the environment variable ${o.passwordEnv} is not set`,
      );
  }
  if (o.insecure === true && (o.tlsCa !== undefined || o.tlsCert !== undefined || o.skipVerify === true))
    throw new PanoptesError('USAGE', '--insecure is plaintext: it takes no --tls-* or --skip-verify');
  return {
    target: parseGnmiTarget(target),
    timeoutMs: o.timeout,
    ...(o.insecure === true
      ? { insecure: true }
      : {
          tls: {
            ...readTlsFiles({ caFile: o.tlsCa, certFile: o.tlsCert, keyFile: o.tlsKey }),
            ...(o.tlsServerName === undefined ? {} : { serverName: o.tlsServerName }),
            ...(o.skipVerify === true ? { skipVerify: true } : {}),
          },
        }),
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(password === undefined ? {} : { password }),
  };
}

function time(ns: bigint): string {
  if (ns <= 0n) return '-';
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

function printNotification(io: CliIo, n: GnmiNotification): number {
  let lines = '';
  for (const u of n.updates)
    lines += `${time(n.timestampNs)} ${pathToString(u.path)} ${valueText(u.value)}\n`;
  for (const d of n.deletes) lines += `${time(n.timestampNs)} ${pathToString(d)} (deleted)\n`;
  io.out(lines);
  return n.updates.length + n.deletes.length;
}

export async function runGnmi(
  operation: 'capabilities' | 'get' | 'subscribe',
  target: string,
  paths: readonly string[],
  options: GnmiCliOptions,
  io: CliIo = processIo,
): Promise<number> {
  let client: GnmiClient | undefined;
  try {
    const encoding = options.encoding.toUpperCase() as Encoding;
    client = new GnmiClient(clientOptions(target, options));
    if (operation === 'capabilities') {
      const c = await client.capabilities();
      io.out(`gNMI version: ${c.version}\nencodings: ${c.encodings.join(', ')}\nmodels:\n`);
      for (const m of c.models) io.out(`  ${m}\n`);
      return EXIT.OK;
    }
    if (operation === 'get') {
      const { notifications, problems } = await client.get(paths, encoding);
      for (const n of notifications) printNotification(io, n);
      for (const p of problems) io.err(`# malformed: ${p}\n`);
      return EXIT.OK;
    }
    return await subscribe(client, paths, options, encoding, io);
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes gnmi ${operation}: ${e.message} [${e.code}]\n`);
    return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
  } finally {
    client?.close();
  }
}

function subscribe(
  client: GnmiClient,
  paths: readonly string[],
  o: GnmiCliOptions,
  encoding: Encoding,
  io: CliIo,
): Promise<number> {
  const mode = (o.mode ?? 'stream').toUpperCase() as ListMode;
  const streamMode = (o.streamMode ?? 'sample').toUpperCase() as SubscriptionMode;
  return new Promise<number>((resolve) => {
    let notifications = 0;
    const timers: NodeJS.Timeout[] = [];
    const finish = (code: number): void => {
      for (const t of timers) clearInterval(t);
      process.off('SIGINT', onSignal);
      resolve(code);
    };
    const onSignal = (): void => {
      sub.cancel();
      finish(EXIT.OK);
    };
    const sub = client.subscribe(
      {
        mode,
        encoding,
        ...(o.updatesOnly === true ? { updatesOnly: true } : {}),
        subscriptions: paths.map((path) => ({
          path,
          mode: streamMode,
          ...(streamMode === 'SAMPLE' ? { sampleIntervalMs: (o.interval ?? 10) * 1000 } : {}),
        })),
      },
      {
        notification: (n) => {
          printNotification(io, n);
          notifications++;
          if (o.count !== undefined && notifications >= o.count) {
            sub.cancel();
            finish(EXIT.OK);
          }
        },
        sync: () => io.out('# sync\n'),
        malformed: (p) => io.err(`# malformed: ${p}\n`),
        end: () => finish(EXIT.OK),
        error: (e) => {
          io.err(`panoptes gnmi subscribe: ${e.message} [${e.code}]\n`);
          finish(EXIT.FAILED);
        },
      },
    );
    process.once('SIGINT', onSignal);
    if (o.for !== undefined)
      timers.push(
        setTimeout(() => {
          sub.cancel();
          finish(EXIT.OK);
        }, o.for * 1000),
      );
    if (mode === 'POLL') timers.push(setInterval(() => sub.poll(), (o.pollEvery ?? 10) * 1000));
  });
}
