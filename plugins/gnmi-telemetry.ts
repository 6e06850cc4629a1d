/**
 * gNMI streaming telemetry as a polling plugin: one Subscribe stream per device, kept open
 * between runs by the device's resource actor (ctx.keep), which closes it when the plugin stops
 * applying, the resource changes (the next run opens a new one) or the node stops.
 *
 * The stream SAMPLEs at the plugin's execute_frequency; every run returns the groups of the
 * interval just ended, built by the declarative path mappings named in `mappings`
 * (plugins/gnmi/*.yaml: the `interface` group from OpenConfig interfaces, cpu / memory /
 * environment from OpenConfig components), with 64-bit counter hints for the plugin's
 * [transforms] rates. The first run of a stream waits (up to 10 s or the timeout) for the
 * target's initial values, so the first interval is not empty; later runs wait up to a quarter
 * of the interval for a sample due just after their slot.
 *
 * Where the target is, per resource: `resource_endpoint`, port from the resource's metadata
 * `gnmi_port`, else the option `port`, else the site's default (the simulator's gNMI port),
 * else 57400; metadata `gnmi_target` sets the path prefix's target (which device behind a
 * multi-device server or proxy). Credentials: the secrets named by `username_key` and
 * `password_key` for the resource's site, when stored.
 *
 * A stream that fails or ends reconnects by itself with exponential back-off and jitter (see
 * src/gnmi/stream.ts); runs meanwhile fail with network error (2), or auth failure (1) when the
 * target refused the credentials, so the device shows up in the `status` group.
 */
import { isAbsolute, dirname, join, resolve } from 'node:path';
import {
  BUILTIN_PLUGINS_DIR,
  GnmiClient,
  GnmiStream,
  PanoptesError,
  errorMessage,
  option,
  parseMapping,
  pluginOptions,
  readTextFile,
  readTlsFiles,
} from '../src/index.js';
import type {
  GnmiClientOptions,
  GnmiMapping,
  Kept,
  PluginContext,
  PluginDefinition,
  PollResult,
  PollingPlugin,
  Resource,
} from '../src/index.js';

export const DEFAULT_GNMI_PORT = 57400;

/** The plugin file's [options]. */
export const options = {
  mappings: option.list(
    'path mappings: names of plugins/gnmi/NAME.yaml, or YAML files relative to the plugin file',
    ['openconfig-interfaces', 'openconfig-platform'],
  ),
  port: option.integer("the targets' gNMI port (0: the site default, else 57400)", 0, 65_535, 0),
  insecure: option.boolean('plaintext gRPC, no TLS (labs and simulators only)', false),
  ca_file: option.optionalText(
    "PEM CA bundle the targets' certificates are checked against (empty: the system's)",
  ),
  cert_file: option.optionalText('PEM client certificate, for targets that require one'),
  key_file: option.optionalText('PEM key of the client certificate'),
  server_name: option.optionalText("the name the targets' certificates carry, when not their address"),
  skip_verify: option.boolean('accept any server certificate (labs only)', false),
  username_key: option.text('name of the secret holding the gNMI username', 'gnmi_username'),
  password_key: option.text('name of the secret holding the gNMI password', 'gnmi_password'),
  encoding: option.choice('how targets encode values', ['JSON_IETF', 'JSON', 'PROTO'] as const, 'JSON_IETF'),
  backoff_initial_ms: option.integer('first reconnect delay, ms', 100, 600_000, 1000),
  backoff_max_ms: option.integer('longest reconnect delay, ms', 100, 3_600_000, 60_000),
  log_interval_seconds: option.integer(
    'log malformed or unusable updates of one device at most once per this many seconds',
    1,
    86_400,
    60,
  ),
};

/** Metadata keys a resource may carry. */
export const GNMI_PORT_METADATA = 'gnmi_port';
export const GNMI_TARGET_METADATA = 'gnmi_target';

/** The mappings of each plugin definition, read once (or the error reading them gave). */
const mappingCache = new WeakMap<PluginDefinition, Promise<GnmiMapping[]>>();

function mappingsOf(ctx: PluginContext): Promise<GnmiMapping[]> {
  let found = mappingCache.get(ctx.config);
  if (found === undefined) {
    const names = pluginOptions(ctx, options).mappings;
    found = Promise.all(names.map((n) => readMapping(ctx.config.file, n)));
    mappingCache.set(ctx.config, found);
  }
  return found;
}

async function readMapping(pluginFile: string, name: string): Promise<GnmiMapping> {
  const file =
    name.includes('/') || name.endsWith('.yaml') || name.endsWith('.yml')
      ? isAbsolute(name)
        ? name
        : resolve(dirname(pluginFile), name)
      : join(BUILTIN_PLUGINS_DIR, 'gnmi', `${name}.yaml`);
  return parseMapping(await readTextFile(file), file);
}

/** host:port, bracketing an IPv6 address. */
function targetAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What the actor keeps for one device: the stream, opened on the first run. */
class DeviceTelemetry implements Kept {
  stream: GnmiStream | undefined;
  private closed = false;
  private opening: Promise<GnmiStream> | undefined;

  async open(ctx: PluginContext, resource: Resource): Promise<{ stream: GnmiStream; first: boolean }> {
    if (this.stream !== undefined) return { stream: this.stream, first: false };
    this.opening ??= this.connect(ctx, resource);
    try {
      const stream = await this.opening;
      if (this.closed) {
        stream.close('the plugin stopped applying while it opened');
        throw new PanoptesError('PLUGIN_FAILED', 'closed while opening');
      }
      const first = this.stream === undefined;
      this.stream = stream;
      return { stream, first };
    } finally {
      this.opening = undefined;
    }
  }

  private async connect(ctx: PluginContext, resource: Resource): Promise<GnmiStream> {
    const o = pluginOptions(ctx, options);
    const mappings = await mappingsOf(ctx);
    const metaPort = resource.resource_metadata[GNMI_PORT_METADATA];
    let port = o.port !== 0 ? o.port : (ctx.gnmiPort ?? DEFAULT_GNMI_PORT);
    if (metaPort !== undefined) {
      const n = Number(metaPort);
      if (!Number.isInteger(n) || n < 1 || n > 65_535)
        throw new PanoptesError(
          'MODEL_INVALID',
          `resource ${resource.resource_id}: metadata ${GNMI_PORT_METADATA} must be a port number, got "${metaPort}"`,
        );
      port = n;
    }
    const base = dirname(ctx.config.file);
    const file = (f: string): string | undefined => (f === '' ? undefined : resolve(base, f));
    const [username, password] = await Promise.all([
      ctx.secret(o.username_key, resource.resource_site),
      ctx.secret(o.password_key, resource.resource_site),
    ]);
    const tls = o.insecure
      ? undefined
      : {
          ...readTlsFiles({
            caFile: file(o.ca_file),
            certFile: file(o.cert_file),
            keyFile: file(o.key_file),
          }),
          ...(o.server_name === '' ? {} : { serverName: o.server_name }),
          ...(o.skip_verify ? { skipVerify: true } : {}),
        };
    const clientOptions: GnmiClientOptions = {
      target: targetAddress(resource.resource_endpoint, port),
      ...(tls === undefined ? { insecure: true } : { tls }),
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    };
    const prefixTarget = resource.resource_metadata[GNMI_TARGET_METADATA];
    return new GnmiStream({
      client: new GnmiClient(clientOptions),
      device: resource.resource_id,
      mappings,
      sampleIntervalMs: ctx.config.executeFrequencySeconds * 1000,
      encoding: o.encoding,
      ...(prefixTarget === undefined ? {} : { prefixTarget }),
      logger: ctx.logger,
      backoff: { initialMs: o.backoff_initial_ms, maxMs: o.backoff_max_ms },
      logIntervalMs: o.log_interval_seconds * 1000,
    }).start();
  }

  close(reason: string): void {
    this.closed = true;
    this.stream?.close(reason);
    this.stream = undefined;
  }
}

export class GnmiTelemetryPlugin implements PollingPlugin {
  async poll(ctx: PluginContext, resource: Resource): Promise<PollResult> {
    const device = ctx.keep(() => new DeviceTelemetry());
    let opened: { stream: GnmiStream; first: boolean };
    try {
      opened = await device.open(ctx, resource);
    } catch (e) {
      // Nothing is kept half-open: the next run tries again (a bad TLS file, a mapping error).
      throw e instanceof PanoptesError
        ? e
        : new PanoptesError('PLUGIN_FAILED', errorMessage(e), { cause: e });
    }
    const { stream, first } = opened;
    const interval = ctx.config.executeFrequencySeconds;
    const budgetMs = Math.max(0, ctx.config.timeoutSeconds * 1000 - 1000);
    if (first) await stream.whenSynced(Math.min(10_000, budgetMs));
    else await stream.whenFresh(Math.min(interval * 250, 5000, budgetMs));
    const { groups, counters } = stream.collect(resource, Date.now() / 1000, interval);
    return { groups, counters };
  }
}

export default GnmiTelemetryPlugin;
