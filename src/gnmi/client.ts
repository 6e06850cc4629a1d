/**
 * A gNMI client (dial-in) on @grpc/grpc-js: Capabilities, Get and Subscribe (STREAM with SAMPLE,
 * ON_CHANGE or TARGET_DEFINED subscriptions; POLL; ONCE), with the project's own copy of the
 * gNMI messages (gnmi.proto beside this file, loaded by @grpc/proto-loader).
 *
 * - Credentials: `username`/`password` go as the gRPC metadata gNMI targets read (never logged).
 * - Transport: TLS with the system's or a given CA, an optional client certificate (mutual TLS),
 *   an optional server name; `skipVerify` accepts any server certificate (labs); `insecure`
 *   speaks plaintext HTTP/2 (labs, simulators).
 * - Updates arrive as GnmiNotification: the prefix joined to each update's path, the alias (if
 *   the target used one) resolved, every value decoded (values.ts). An update whose value is
 *   malformed is reported apart (`malformed`) and the rest of the notification goes on.
 * - A subscription ends with `end` (ONCE after its sync, or the target closed the stream) or
 *   `error` (the stream failed: the caller reconnects; see the gNMI polling plugin).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PanoptesError, errorMessage } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { elementsToElems, joinPaths, parsePath, pathToString } from './path.js';
import type { GnmiPath, PathElem } from './path.js';
import { GnmiValueError, decodeTypedValue, integer } from './values.js';
import type { GnmiValue, WireTypedValue } from './values.js';

export type Encoding = 'JSON' | 'BYTES' | 'PROTO' | 'ASCII' | 'JSON_IETF';
export type SubscriptionMode = 'TARGET_DEFINED' | 'ON_CHANGE' | 'SAMPLE';
export type ListMode = 'STREAM' | 'ONCE' | 'POLL';

export interface GnmiTls {
  /** PEM CA bundle; absent: the system's CAs. */
  readonly ca?: Buffer;
  /** PEM client certificate and key (mutual TLS). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The name the server's certificate must carry, when it is not the target's host. */
  readonly serverName?: string;
  /** Accept any server certificate (labs only). */
  readonly skipVerify?: boolean;
}

export interface GnmiClientOptions {
  /** `host:port`. */
  readonly target: string;
  /** Plaintext HTTP/2, no TLS (labs, simulators). */
  readonly insecure?: boolean;
  readonly tls?: GnmiTls;
  readonly username?: string;
  readonly password?: string;
  /** Connect timeout and unary call deadline, ms. Default 10000. */
  readonly timeoutMs?: number;
}

export interface SubscriptionSpec {
  readonly path: string | GnmiPath;
  /** Default SAMPLE. */
  readonly mode?: SubscriptionMode;
  /** For SAMPLE, ms. */
  readonly sampleIntervalMs?: number;
  readonly suppressRedundant?: boolean;
  readonly heartbeatIntervalMs?: number;
}

export interface SubscribeOptions {
  readonly prefix?: string | GnmiPath;
  readonly subscriptions: readonly SubscriptionSpec[];
  /** Default STREAM. */
  readonly mode?: ListMode;
  /** How the target encodes values. Default JSON_IETF (every target supports a JSON form). */
  readonly encoding?: Encoding;
  readonly updatesOnly?: boolean;
  readonly useAliases?: boolean;
}

export interface GnmiUpdate {
  /** The full path (prefix and update path). */
  readonly path: GnmiPath;
  readonly value: GnmiValue;
}

export interface GnmiNotification {
  /** Nanoseconds since the epoch, as the target stamped it. */
  readonly timestampNs: bigint;
  readonly prefix: GnmiPath | undefined;
  readonly updates: readonly GnmiUpdate[];
  readonly deletes: readonly GnmiPath[];
}

export interface SubscriptionHandlers {
  readonly notification: (n: GnmiNotification) => void;
  /** The target has sent every value once (and, for POLL, after each poll). */
  readonly sync?: () => void;
  /** An update the client could not read (no value, bad JSON, an unknown alias): skipped. */
  readonly malformed?: (problem: string) => void;
  /** The stream ended without error (ONCE done, or the target closed it). */
  readonly end?: () => void;
  /** The stream failed; no more events follow. */
  readonly error?: (e: GnmiError) => void;
}

export interface GnmiSubscription {
  /** POLL mode: asks the target for the values now. */
  poll(): void;
  /** Ends the stream (no error event follows). */
  cancel(): void;
}

/** A failed gNMI call: the gRPC status code and the target. */
export class GnmiError extends PanoptesError {
  constructor(
    readonly target: string,
    readonly grpcCode: number | undefined,
    message: string,
    cause?: unknown,
  ) {
    super('GNMI', `gNMI ${target}: ${message}`, { cause, details: { target, grpcCode } });
  }
}

interface WirePath {
  readonly origin?: string;
  readonly elem?: readonly { readonly name?: string; readonly key?: Readonly<Record<string, string>> }[];
  readonly element?: readonly string[];
  readonly target?: string;
}

interface WireNotification {
  readonly timestamp?: string | number;
  readonly prefix?: WirePath | null;
  readonly alias?: string;
  readonly update?: readonly { readonly path?: WirePath | null; readonly val?: WireTypedValue | null }[];
  readonly delete?: readonly WirePath[];
}

interface WireSubscribeResponse {
  readonly response?: 'update' | 'sync_response';
  readonly update?: WireNotification;
  readonly sync_response?: boolean;
}

/** The service constructor from the loaded definitions; grpc-js types it loosely. */
type GnmiServiceClient = grpc.Client & {
  Capabilities: (
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, res?: unknown) => void,
  ) => grpc.ClientUnaryCall;
  Get: (
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, res?: unknown) => void,
  ) => grpc.ClientUnaryCall;
  Subscribe: (md: grpc.Metadata) => grpc.ClientDuplexStream<object, WireSubscribeResponse>;
};

/** The gNMI service (client constructor and, in .service, its definition for servers). */
let service: grpc.ServiceClientConstructor | undefined;

/** The gNMI messages file: src/gnmi/gnmi.proto in the package (also when running from dist/). */
export function gnmiProtoFile(): string {
  const file = join(PACKAGE_ROOT, 'src', 'gnmi', 'gnmi.proto');
  if (!existsSync(file))
    throw new PanoptesError('FILE_READ', `the gNMI definitions are missing: ${file} (a broken install?)`);
  return file;
}

export function gnmiService(): grpc.ServiceClientConstructor {
  if (service !== undefined) return service;
  const definition = protoLoader.loadSync(gnmiProtoFile(), {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    gnmi: { gNMI: grpc.ServiceClientConstructor };
  };
  service = pkg.gnmi.gNMI;
  return service;
}

function wirePath(p: GnmiPath): WirePath {
  return {
    ...(p.origin === undefined ? {} : { origin: p.origin }),
    elem: p.elem.map((e) => ({ name: e.name, key: { ...e.key } })),
    ...(p.target === undefined ? {} : { target: p.target }),
  };
}

function readPath(w: WirePath | null | undefined): GnmiPath | undefined {
  if (w === null || w === undefined) return undefined;
  const elem: PathElem[] =
    w.elem !== undefined && w.elem.length > 0
      ? w.elem.map((e) => ({ name: e.name ?? '', key: { ...(e.key ?? {}) } }))
      : elementsToElems(w.element ?? []);
  return {
    ...(w.origin === undefined || w.origin === '' ? {} : { origin: w.origin }),
    elem,
    ...(w.target === undefined || w.target === '' ? {} : { target: w.target }),
  };
}

const asPath = (p: string | GnmiPath): GnmiPath => (typeof p === 'string' ? parsePath(p) : p);

/** ms as the nanoseconds the protocol counts in (a decimal string: uint64). */
const nanos = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();

export class GnmiClient {
  private readonly client: GnmiServiceClient;
  private readonly metadata: grpc.Metadata;
  private readonly timeoutMs: number;
  readonly target: string;

  constructor(options: GnmiClientOptions) {
    this.target = options.target;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    let credentials: grpc.ChannelCredentials;
    if (options.insecure === true) credentials = grpc.credentials.createInsecure();
    else {
      const tls = options.tls ?? {};
      credentials = grpc.credentials.createSsl(
        tls.ca ?? null,
        tls.key ?? null,
        tls.cert ?? null,
        tls.skipVerify === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
      );
    }
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      ...(options.tls?.serverName === undefined
        ? {}
        : { 'grpc.ssl_target_name_override': options.tls.serverName }),
    };
    const Service = gnmiService();
    this.client = new Service(options.target, credentials, channelOptions) as unknown as GnmiServiceClient;
    this.metadata = new grpc.Metadata();
    if (options.username !== undefined) this.metadata.set('username', options.username);
    if (options.password !== undefined) this.metadata.set('password', options.password);
  }

  close(): void {
    this.client.close();
  }

  /** Waits until the channel is connected, or throws after timeoutMs. */
  waitForReady(timeoutMs = this.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (e) =>
        e === undefined || e === null
          ? resolve()
          : reject(new GnmiError(this.target, undefined, `not reachable: ${e.message}`, e)),
      );
    });
  }

  async capabilities(): Promise<{ version: string; encodings: string[]; models: string[] }> {
    const res = (await this.unary('Capabilities', {})) as {
      gNMI_version?: string;
      supported_encodings?: string[];
      supported_models?: { name?: string; organization?: string; version?: string }[];
    };
    return {
      version: res.gNMI_version ?? '',
      encodings: res.supported_encodings ?? [],
      models: (res.supported_models ?? []).map((m) => `${m.name ?? ''}${m.version ? `@${m.version}` : ''}`),
    };
  }

  /**
   * Get: the notifications of the paths (under `prefix`, whose `target` names the device on a
   * multi-target server), values decoded (malformed ones reported in `problems`).
   */
  async get(
    paths: readonly (string | GnmiPath)[],
    encoding: Encoding = 'JSON_IETF',
    prefix?: string | GnmiPath,
  ): Promise<{ notifications: GnmiNotification[]; problems: string[] }> {
    const res = (await this.unary('Get', {
      ...(prefix === undefined ? {} : { prefix: wirePath(asPath(prefix)) }),
      path: paths.map((p) => wirePath(asPath(p))),
      encoding,
    })) as { notification?: WireNotification[] };
    const problems: string[] = [];
    const notifications = (res.notification ?? []).map((n) =>
      readNotification(n, new Map(), (p) => problems.push(p)),
    );
    return { notifications, problems };
  }

  /** Opens a Subscribe stream; events go to the handlers until end, error or cancel(). */
  subscribe(options: SubscribeOptions, handlers: SubscriptionHandlers): GnmiSubscription {
    const call = this.client.Subscribe(this.metadata);
    const aliases = new Map<string, GnmiPath | undefined>();
    let finished = false;
    let cancelled = false;
    const finish = (e?: GnmiError): void => {
      if (finished) return;
      finished = true;
      if (e === undefined) handlers.end?.();
      else handlers.error?.(e);
    };
    call.on('data', (r: WireSubscribeResponse) => {
      if (finished) return;
      try {
        if (r.response === 'sync_response' || r.sync_response === true) {
          handlers.sync?.();
          if (options.mode === 'ONCE') {
            call.end();
          }
          return;
        }
        if (r.update !== undefined) {
          const n = r.update;
          // A notification carrying a prefix and an alias defines the alias (target-defined).
          if (n.alias !== undefined && n.alias !== '' && n.prefix !== undefined && n.prefix !== null)
            aliases.set(n.alias, readPath(n.prefix));
          handlers.notification(readNotification(n, aliases, (p) => handlers.malformed?.(p)));
        }
      } catch (e) {
        handlers.malformed?.(errorMessage(e));
      }
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (cancelled || e.code === grpc.status.CANCELLED) finish();
      else finish(new GnmiError(this.target, e.code, describeStatus(e), e));
    });
    call.on('end', () => finish());
    const list = {
      ...(options.prefix === undefined ? {} : { prefix: wirePath(asPath(options.prefix)) }),
      subscription: options.subscriptions.map((s) => ({
        path: wirePath(asPath(s.path)),
        mode: s.mode ?? 'SAMPLE',
        ...(s.sampleIntervalMs === undefined ? {} : { sample_interval: nanos(s.sampleIntervalMs) }),
        ...(s.suppressRedundant === undefined ? {} : { suppress_redundant: s.suppressRedundant }),
        ...(s.heartbeatIntervalMs === undefined ? {} : { heartbeat_interval: nanos(s.heartbeatIntervalMs) }),
      })),
      mode: options.mode ?? 'STREAM',
      encoding: options.encoding ?? 'JSON_IETF',
      ...(options.updatesOnly === undefined ? {} : { updates_only: options.updatesOnly }),
      ...(options.useAliases === undefined ? {} : { use_aliases: options.useAliases }),
    };
    call.write({ subscribe: list });
    return {
      poll: () => {
        if (!finished) call.write({ poll: {} });
      },
      cancel: () => {
        cancelled = true;
        finished = true;
        call.cancel();
      },
    };
  }

  private unary(method: 'Capabilities' | 'Get', request: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client[method](request, this.metadata, { deadline: Date.now() + this.timeoutMs }, (e, res) => {
        if (e !== null) reject(new GnmiError(this.target, e.code, `${method}: ${describeStatus(e)}`, e));
        else resolve(res);
      });
    });
  }
}

/** A gRPC status as text: its name and the detail. */
function describeStatus(e: grpc.ServiceError): string {
  const name = grpc.status[e.code] as string | undefined;
  return `${name ?? `status ${e.code}`}: ${e.details || e.message}`;
}

/** A wire notification as a GnmiNotification: paths joined, aliases resolved, values decoded. */
function readNotification(
  n: WireNotification,
  aliases: ReadonlyMap<string, GnmiPath | undefined>,
  malformed: (problem: string) => void,
): GnmiNotification {
  let prefix = readPath(n.prefix);
  if ((prefix === undefined || prefix.elem.length === 0) && n.alias !== undefined && n.alias !== '') {
    if (!aliases.has(n.alias)) malformed(`unknown alias ${n.alias}`);
    prefix = aliases.get(n.alias);
  }
  const updates: GnmiUpdate[] = [];
  for (const u of n.update ?? []) {
    const path = joinPaths(prefix, readPath(u.path) ?? { elem: [] });
    try {
      updates.push({ path, value: decodeTypedValue(u.val) });
    } catch (e) {
      malformed(`${pathToString(path)}: ${e instanceof GnmiValueError ? e.message : errorMessage(e)}`);
    }
  }
  let timestampNs: bigint;
  try {
    timestampNs = BigInt(integer(n.timestamp ?? 0));
  } catch {
    timestampNs = 0n;
  }
  return {
    timestampNs,
    prefix,
    updates,
    deletes: (n.delete ?? []).map((d) => joinPaths(prefix, readPath(d) ?? { elem: [] })),
  };
}

/** TLS material from files, for the CLI and the plugin (errors name the file). */
export function readTlsFiles(files: {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (what: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new PanoptesError('FILE_READ', `gNMI ${what}: cannot read ${file}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  };
  const ca = read('CA', files.caFile);
  const cert = read('client certificate', files.certFile);
  const key = read('client key', files.keyFile);
  if ((cert === undefined) !== (key === undefined))
    throw new PanoptesError('USAGE', 'gNMI TLS: give the client certificate and its key together');
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
