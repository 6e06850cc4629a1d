/**
 * The site configuration file (YAML, or JSON, which is YAML too): one schema, defaults in one
 * place, unknown keys rejected, every problem reported as `FILE:LINE:COLUMN: key.path: message`,
 * and the loaded configuration frozen. Relative paths are resolved against the file's directory.
 * The README documents every key; keep the two in step.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { deepFreeze } from '../freeze.js';
import { readTextFile } from '../text-file.js';
import { SITE_PATTERN } from '../model/index.js';
import { YamlFile } from './yaml-document.js';

const int = (min: number, max: number): z.ZodNumber =>
  z
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

const nonEmpty = (): z.ZodString =>
  z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });

const pluginsSchema = z.strictObject({
  directories: z.array(nonEmpty(), { error: 'must be a list of directories' }).default(['plugins']),
  rescan_seconds: int(0, 86_400).default(60),
  builtin: z.boolean({ error: 'must be true or false' }).default(true),
});

const profilesSchema = z.strictObject({
  directories: z.array(nonEmpty(), { error: 'must be a list of directories' }).default([]),
});

/** An environment variable's name, as a shell writes it. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = (): z.ZodString =>
  nonEmpty().regex(ENV_NAME, {
    error: 'must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)',
  });

/**
 * A secret key written inline (`password: ...`), refused with what to write instead. The value is
 * never echoed.
 */
const inlineSecret = (what: string, fileKey: string, envKey: string): z.ZodOptional<z.ZodNever> =>
  z
    .never({
      error: `must not be written in the configuration: put the ${what} in a file (${fileKey}) or an environment variable (${envKey})`,
    })
    .optional();

/** Client-side TLS of a connection (Kafka, Redis). Files are read when the node starts. */
const tlsSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    ca_file: nonEmpty().optional(),
    cert_file: nonEmpty().optional(),
    key_file: nonEmpty().optional(),
    insecure_skip_verify: z.boolean({ error: 'must be true or false' }).default(false),
    server_name: nonEmpty().optional(),
  })
  .superRefine((t, ctx) => {
    if (t.cert_file !== undefined && t.key_file === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['key_file'],
        message: "is required with cert_file (the client certificate's key)",
      });
    if (t.key_file !== undefined && t.cert_file === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['cert_file'],
        message: 'is required with key_file (the client certificate)',
      });
  });

export type TlsConfig = z.infer<typeof tlsSchema>;

const saslSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      error: 'must be "plain", "scram-sha-256" or "scram-sha-512"',
    }),
    username: nonEmpty(),
    password_file: nonEmpty().optional(),
    password_env: envName().optional(),
    password: inlineSecret('password', 'password_file', 'password_env'),
  })
  .superRefine((s, ctx) => {
    if (s.password_file === undefined && s.password_env === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['password_file'],
        message: 'is required: give password_file or password_env',
      });
    if (s.password_file !== undefined && s.password_env !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['password_env'],
        message: 'give password_file or password_env, not both',
      });
  });

/** `host:port`, or `[v6]:port`: no scheme, no credentials. */
const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

const busSchema = z
  .strictObject({
    type: z.enum(['memory', 'kafka'], { error: 'must be "memory" or "kafka"' }).default('memory'),
    partitions: int(1, 1024).default(4),
    retention: int(100, 10_000_000).default(10_000),
    topic_delimiter: nonEmpty().default('-'),
    brokers: z
      .array(nonEmpty().regex(BROKER, { error: 'must be host:port (credentials go in bus.sasl)' }), {
        error: 'must be a list of host:port',
      })
      .optional(),
    client_id: nonEmpty().default('panoptes'),
    session_timeout_ms: int(3000, 300_000).default(10_000),
    max_buffered_messages: int(1, 10_000_000).default(20_000),
    linger_ms: int(0, 1000).default(5),
    global_topic: z.boolean({ error: 'must be true or false' }).default(false),
    tls: tlsSchema.optional(),
    sasl: saslSchema.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.type === 'kafka' && (b.brokers === undefined || b.brokers.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'is required when type is kafka' });
    }
  });

/** The spool directory of `federation` when spool_dir is not given (relative to the file). */
export function defaultSpoolDir(site: string): string {
  return `spool-${site}`;
}

/**
 * An edge site's link to the central cluster (docs/federation.md): the forwarder publishes the
 * site's processed metrics there, spooling to local disk while it cannot.
 */
const federationSchema = z.strictObject({
  upstream: z.strictObject({
    brokers: z
      .array(nonEmpty().regex(BROKER, { error: 'must be host:port (credentials go in sasl)' }), {
        error: 'must be a list of host:port',
      })
      .min(1, { error: 'must name at least one broker' }),
    client_id: nonEmpty().optional(),
    tls: tlsSchema.optional(),
    sasl: saslSchema.optional(),
    /** The central cluster's topic delimiter, when it differs from bus.topic_delimiter. */
    topic_delimiter: nonEmpty().optional(),
    /** Also publish to the central global topic (`panoptes-metrics`). */
    global_topic: z.boolean({ error: 'must be true or false' }).default(false),
    /** Compression of what goes over the WAN. */
    compression: z.enum(['gzip', 'none'], { error: 'must be "gzip" or "none"' }).default('gzip'),
  }),
  /**
   * Copy `<site>-resources` of the central cluster (central discovery's output for this site) to
   * this site's own, instead of running discovery here.
   */
  mirror_resources: z.boolean({ error: 'must be true or false' }).default(false),
  /** Directory of the spool (relative to this file). Default `spool-<site>`. */
  spool_dir: nonEmpty().optional(),
  /** Bytes the spool keeps at most (compressed); beyond it the oldest records are dropped. */
  spool_max_bytes: int(64 * 1024, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  /** Records sent from the spool per second at most, so the centre is not flooded after an outage. */
  drain_records_per_second: int(1, 10_000_000).default(5000),
  /** Records per publish from the spool. */
  batch_records: int(1, 100_000).default(500),
  /** A publish not acknowledged within this long counts as failed, ms. */
  send_timeout_ms: int(100, 600_000).default(10_000),
  /** /healthz reports a problem once the upstream has been unreachable this long, s. */
  unreachable_after_seconds: int(1, 30 * 86_400).default(900),
});

/** The user and password of a redis:// or rediss:// URL, or undefined when it is not one. */
function redisUrlCredentials(url: string): { username: string; password: string } | undefined {
  if (!/^rediss?:\/\//i.test(url)) return undefined;
  try {
    const u = new URL(url);
    return { username: u.username, password: u.password };
  } catch {
    return undefined;
  }
}

const storeSchema = z
  .strictObject({
    type: z.enum(['memory', 'redis'], { error: 'must be "memory" or "redis"' }).default('memory'),
    key_prefix: nonEmpty().default('panoptes'),
    url: nonEmpty().default('redis://127.0.0.1:6379'),
    username: nonEmpty().optional(),
    password_file: nonEmpty().optional(),
    password_env: envName().optional(),
    password: inlineSecret('password', 'password_file', 'password_env'),
    tls: tlsSchema.optional(),
  })
  .superRefine((s, ctx) => {
    // Never echo the URL: it may hold a password.
    const credentials = redisUrlCredentials(s.url);
    if (credentials === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a redis:// or rediss:// URL' });
      return;
    }
    if (s.password_file !== undefined && s.password_env !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['password_env'],
        message: 'give password_file or password_env, not both',
      });
    if (credentials.password !== '' && (s.password_file !== undefined || s.password_env !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'has a password and password_file/password_env gives one too: keep one (the file or variable)',
      });
    if (credentials.username !== '' && s.username !== undefined)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'the URL names a user too: keep one' });
  });

const influxSchema = z
  .strictObject({
    url: nonEmpty(),
    org: nonEmpty().default('panoptes'),
    bucket: nonEmpty().default('panoptes'),
    /** v2: /api/v2/write (InfluxDB 2.x, 3.x, 1.8+, VictoriaMetrics); v1: InfluxDB 1.x /write. */
    api: z.enum(['v1', 'v2'], { error: 'must be v1 or v2' }).default('v2'),
    /** With api v1: the retention policy written to. */
    retention_policy: nonEmpty().optional(),
    token: z.string({ error: 'must be a string' }).optional(),
    token_file: nonEmpty().optional(),
    token_env: envName().optional(),
    batch_size: int(1, 1_000_000).default(5000),
    flush_interval_ms: int(10, 600_000).default(1000),
  })
  .superRefine((i, ctx) => {
    const given = (['token', 'token_file', 'token_env'] as const).filter((k) => i[k] !== undefined);
    for (const key of given.slice(1))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `give one of token, token_file, token_env (${given[0]} is given)`,
      });
  });

const prometheusSchema = z
  .strictObject({
    /** The remote-write endpoint, e.g. http://prometheus:9090/api/v1/write. */
    url: nonEmpty(),
    username: nonEmpty().optional(),
    password_file: nonEmpty().optional(),
    password_env: envName().optional(),
    bearer_token_file: nonEmpty().optional(),
    bearer_token_env: envName().optional(),
    /** Metrics groups per write request. */
    batch_size: int(1, 100_000).default(500),
    flush_interval_ms: int(10, 600_000).default(1000),
    timeout_ms: int(100, 600_000).default(10_000),
  })
  .superRefine((p, ctx) => {
    const password = (['password_file', 'password_env'] as const).filter((k) => p[k] !== undefined);
    const bearer = (['bearer_token_file', 'bearer_token_env'] as const).filter((k) => p[k] !== undefined);
    for (const key of password.slice(1))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `give one of password_file, password_env (${password[0]} is given)`,
      });
    for (const key of bearer.slice(1))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `give one of bearer_token_file, bearer_token_env (${bearer[0]} is given)`,
      });
    if (p.username !== undefined && password.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'basic auth needs password_file or password_env too',
      });
    if (p.username === undefined && password.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: [password[0] ?? 'password_file'],
        message: 'basic auth needs username too',
      });
    if ((p.username !== undefined || password.length > 0) && bearer.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: [bearer[0] ?? 'bearer_token_file'],
        message: 'give basic auth (username, password) or a bearer token, not both',
      });
  });

const expositionSchema = z.strictObject({
  /** 0: any free port (logged). */
  port: int(0, 65_535),
  host: nonEmpty().default('127.0.0.1'),
  max_series: int(1, 100_000_000).default(1_000_000),
});

const consumersSchema = z.strictObject({
  influx: influxSchema.optional(),
  prometheus: prometheusSchema.optional(),
  prometheus_exposition: expositionSchema.optional(),
  jsonl: nonEmpty().optional(),
});

const snmpSchema = z.strictObject({
  port: int(1, 65_535).optional(),
  community: nonEmpty().optional(),
  timeout_ms: int(10, 600_000).default(2000),
  retries: int(0, 20).default(1),
  max_in_flight: int(1, 1_000_000).default(10_000),
  max_in_flight_per_device: int(1, 100).default(2),
  decode_workers: int(0, 64).default(0),
});

const simulatorSchema = z.strictObject({
  devices: int(0, 99_999).default(50),
  interfaces: int(0, 65_535).default(24),
  health: z.boolean({ error: 'must be true or false' }).default(true),
  host: nonEmpty().default('127.0.0.1'),
  port: int(0, 65_535).default(0),
  recordings: nonEmpty().optional(),
  /**
   * The synthetic devices over gNMI as well (src/sim/gnmi-simulator.ts), when enabled
   * (`panoptes run --gnmi` enables it): on `port` (0: any free one, which plugins then use as
   * their default gNMI port), with the plugin directories that stream from them loaded too.
   */
  gnmi: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(false),
      port: int(0, 65_535).default(0),
      plugin_directories: z.array(nonEmpty()).default([]),
    })
    .optional(),
});

const pollingSchema = z.strictObject({
  node_id: nonEmpty().optional(),
  mailbox_size: int(1, 10_000).default(16),
  stop_grace_seconds: int(0, 600).default(5),
  enrichment_wait_seconds: int(0, 3600).default(30),
  heartbeat: z.boolean({ error: 'must be true or false' }).default(true),
});

/**
 * The live console (src/console/): a small web page of the devices and their charts, served by
 * the consumer stage. Absent, or without a port: no console.
 */
const consoleSchema = z.strictObject({
  /** TCP port of the page; 0 picks a free one (printed at start). */
  port: int(0, 65_535).optional(),
  host: nonEmpty().default('127.0.0.1'),
  /** How far back the charts go: each series keeps this many seconds at its group's interval. */
  history_seconds: int(60, 86_400).default(3600),
  /**
   * Series held at most (one per device and interface, CPU, memory type or sensor); the least
   * recently updated go first.
   */
  max_series: int(1, 10_000_000).default(20_000),
  /** Devices listed at most; the least recently updated go first, with their series. */
  max_devices: int(1, 1_000_000).default(10_000),
  /** How often the page asks for new data, s. */
  refresh_seconds: int(1, 3600).default(5),
});

export type ConsoleConfig = z.infer<typeof consoleSchema>;

const metricsSchema = z.strictObject({
  listen_host: nonEmpty().default('127.0.0.1'),
});

const discoverySchema = z.strictObject({
  /**
   * Every this many seconds discovery publishes every resource again, changed or not, so the
   * resources topic holds the whole inventory even where older records were dropped. 0: only
   * changes are published.
   */
  republish_seconds: int(0, 7 * 86_400).default(3600),
});

const healthSchema = z.strictObject({
  /** How often each part asks its dependencies whether they answer (for /readyz and the log). */
  probe_interval_seconds: int(1, 3600).default(5),
});

const limitsSchema = z.strictObject({
  /** A resource record (JSON) larger than this is refused (dead-lettered), bytes. */
  max_resource_bytes: int(256, 16 * 1024 * 1024).default(64 * 1024),
  /** A metrics group (JSON) larger than this is not published (logged, counted), bytes. */
  max_record_bytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
});

const outputSchema = z.strictObject({
  jsonl: nonEmpty().optional(),
  status_interval_seconds: int(1, 3600).default(10),
});

const secretsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'secret names use letters, digits, "_", "." and "-"' }),
  z.record(
    z.string().regex(SITE_PATTERN, { error: `site names must match ${SITE_PATTERN.source}` }),
    nonEmpty(),
    {
      error: 'must map site names (or "default") to values',
    },
  ),
  { error: 'must map secret names to {site: value}' },
);

export const siteConfigSchema = z.strictObject({
  site: z
    .string({ error: 'is required (the site this process serves)' })
    .regex(SITE_PATTERN, { error: `must match ${SITE_PATTERN.source}` }),
  plugins: pluginsSchema.default(pluginsSchema.parse({})),
  profiles: profilesSchema.default(profilesSchema.parse({})),
  bus: busSchema.default(busSchema.parse({})),
  store: storeSchema.default(storeSchema.parse({})),
  snmp: snmpSchema.default(snmpSchema.parse({})),
  secrets: secretsSchema.default({}),
  simulator: simulatorSchema.optional(),
  polling: pollingSchema.default(pollingSchema.parse({})),
  discovery: discoverySchema.default(discoverySchema.parse({})),
  output: outputSchema.default(outputSchema.parse({})),
  consumers: consumersSchema.default({}),
  metrics: metricsSchema.default(metricsSchema.parse({})),
  console: consoleSchema.optional(),
  health: healthSchema.default(healthSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  federation: federationSchema.optional(),
  /**
   * After SIGTERM/SIGINT the process exits within this many seconds whatever is down: what is
   * still unfinished then is logged and abandoned (uncommitted, so read again by the next owner).
   */
  shutdown_grace_seconds: int(1, 3600).default(25),
});

export type SiteConfig = Readonly<z.infer<typeof siteConfigSchema>> & {
  /** Absolute path of the file it came from. */
  readonly file: string;
};

export { ConfigError } from './yaml-document.js';
export type { ConfigIssue } from './yaml-document.js';

/** Parses and validates config text. Throws ConfigError listing every problem. */
export function parseSiteConfig(text: string, file: string): SiteConfig {
  const c = YamlFile.parse(text, file).validate(siteConfigSchema);
  const base = dirname(file);
  const config: SiteConfig = {
    ...c,
    file,
    plugins: { ...c.plugins, directories: c.plugins.directories.map((d) => resolve(base, d)) },
    profiles: { directories: c.profiles.directories.map((d) => resolve(base, d)) },
    ...(c.simulator === undefined
      ? {}
      : {
          simulator: {
            ...c.simulator,
            ...(c.simulator.recordings === undefined
              ? {}
              : { recordings: resolve(base, c.simulator.recordings) }),
            ...(c.simulator.gnmi === undefined
              ? {}
              : {
                  gnmi: {
                    ...c.simulator.gnmi,
                    plugin_directories: c.simulator.gnmi.plugin_directories.map((d) => resolve(base, d)),
                  },
                }),
          },
        }),
    output: {
      ...c.output,
      ...(c.output.jsonl === undefined ? {} : { jsonl: resolve(base, c.output.jsonl) }),
    },
    bus: {
      ...c.bus,
      ...(c.bus.tls === undefined ? {} : { tls: resolveTlsPaths(base, c.bus.tls) }),
      ...(c.bus.sasl === undefined ? {} : { sasl: resolvePaths(base, c.bus.sasl, ['password_file']) }),
    },
    store: {
      ...resolvePaths(base, c.store, ['password_file']),
      ...(c.store.tls === undefined ? {} : { tls: resolveTlsPaths(base, c.store.tls) }),
    },
    ...(c.federation === undefined
      ? {}
      : {
          federation: {
            ...c.federation,
            spool_dir: resolve(base, c.federation.spool_dir ?? defaultSpoolDir(c.site)),
            upstream: {
              ...c.federation.upstream,
              ...(c.federation.upstream.tls === undefined
                ? {}
                : { tls: resolveTlsPaths(base, c.federation.upstream.tls) }),
              ...(c.federation.upstream.sasl === undefined
                ? {}
                : { sasl: resolvePaths(base, c.federation.upstream.sasl, ['password_file']) }),
            },
          },
        }),
    consumers: {
      ...c.consumers,
      ...(c.consumers.influx === undefined
        ? {}
        : { influx: resolvePaths(base, c.consumers.influx, ['token_file']) }),
      ...(c.consumers.prometheus === undefined
        ? {}
        : {
            prometheus: resolvePaths(base, c.consumers.prometheus, ['password_file', 'bearer_token_file']),
          }),
    },
  };
  return deepFreeze(config);
}

/** The object with the named path keys resolved against `base` (those absent stay absent). */
function resolvePaths<T extends object>(base: string, value: T, keys: readonly (keyof T & string)[]): T {
  const out = { ...value };
  for (const key of keys) {
    const v = out[key];
    if (typeof v === 'string') out[key] = resolve(base, v) as T[typeof key];
  }
  return out;
}

function resolveTlsPaths(base: string, tls: TlsConfig): TlsConfig {
  return resolvePaths(base, tls, ['ca_file', 'cert_file', 'key_file']);
}

/** The plugins directory a site has when it names none (`plugins` beside its file): it may be missing. */
export function defaultPluginDirectory(config: SiteConfig): string {
  return resolve(dirname(config.file), 'plugins');
}

export async function loadSiteConfig(file: string): Promise<SiteConfig> {
  const path = resolve(file);
  return parseSiteConfig(await readTextFile(path), path);
}
