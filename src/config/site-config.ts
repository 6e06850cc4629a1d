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

const busSchema = z
  .strictObject({
    type: z.enum(['memory', 'kafka'], { error: 'must be "memory" or "kafka"' }).default('memory'),
    partitions: int(1, 1024).default(4),
    retention: int(100, 10_000_000).default(10_000),
    topic_delimiter: nonEmpty().default('-'),
    brokers: z.array(nonEmpty(), { error: 'must be a list of host:port' }).optional(),
    client_id: nonEmpty().default('panoptes'),
    session_timeout_ms: int(3000, 300_000).default(10_000),
    max_buffered_messages: int(1, 10_000_000).default(20_000),
    linger_ms: int(0, 1000).default(5),
    global_topic: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .superRefine((b, ctx) => {
    if (b.type === 'kafka' && (b.brokers === undefined || b.brokers.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'is required when type is kafka' });
    }
  });

const storeSchema = z.strictObject({
  type: z.enum(['memory', 'redis'], { error: 'must be "memory" or "redis"' }).default('memory'),
  key_prefix: nonEmpty().default('panoptes'),
  url: nonEmpty().default('redis://127.0.0.1:6379'),
});

const influxSchema = z.strictObject({
  url: nonEmpty(),
  org: nonEmpty().default('panoptes'),
  bucket: nonEmpty().default('panoptes'),
  token: z.string({ error: 'must be a string' }).optional(),
  batch_size: int(1, 1_000_000).default(5000),
  flush_interval_ms: int(10, 600_000).default(1000),
});

const consumersSchema = z.strictObject({
  influx: influxSchema.optional(),
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
});

const pollingSchema = z.strictObject({
  node_id: nonEmpty().optional(),
  mailbox_size: int(1, 10_000).default(16),
  stop_grace_seconds: int(0, 600).default(5),
  enrichment_wait_seconds: int(0, 3600).default(30),
  heartbeat: z.boolean({ error: 'must be true or false' }).default(true),
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
  output: outputSchema.default(outputSchema.parse({})),
  consumers: consumersSchema.default({}),
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
    ...(c.simulator?.recordings === undefined
      ? {}
      : { simulator: { ...c.simulator, recordings: resolve(base, c.simulator.recordings) } }),
    output: {
      ...c.output,
      ...(c.output.jsonl === undefined ? {} : { jsonl: resolve(base, c.output.jsonl) }),
    },
  };
  return deepFreeze(config);
}

/** The plugins directory a site has when it names none (`plugins` beside its file): it may be missing. */
export function defaultPluginDirectory(config: SiteConfig): string {
  return resolve(dirname(config.file), 'plugins');
}

export async function loadSiteConfig(file: string): Promise<SiteConfig> {
  const path = resolve(file);
  return parseSiteConfig(await readTextFile(path), path);
}
