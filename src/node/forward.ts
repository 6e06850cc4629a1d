/**
 * The forward stage of an edge node: the site's processed metrics to the central cluster
 * (federation.upstream), through the spool while the central cluster cannot be reached, and
 * optionally the centre's resources for this site to the local resources topic. See
 * src/federation/forwarder.ts, mirror.ts and docs/federation.md.
 */
import { dirname, join, resolve } from 'node:path';
import type { MessageBus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka-bus.js';
import { kafkaSecurity } from '../bus/kafka-security.js';
import { GLOBAL_METRICS_TOPIC, topicNames } from '../bus/topics.js';
import type { TopicNames } from '../bus/topics.js';
import { defaultSpoolDir } from '../config/site-config.js';
import type { SiteConfig } from '../config/site-config.js';
import { PanoptesError } from '../errors.js';
import { Forwarder } from '../federation/forwarder.js';
import { MirrorCache, ResourceMirror } from '../federation/mirror.js';
import { Spool } from '../federation/spool.js';
import type { Logger } from '../log.js';

/**
 * Starts the forwarder when the configuration names an upstream cluster (else undefined), and
 * the resource mirror when federation.mirror_resources is set. Each part started is handed to
 * `started` (for the node's stop list, stopped in reverse).
 */
export async function startFederation(
  config: SiteConfig,
  parts: { bus: MessageBus; topics: TopicNames; logger: Logger },
  started: (part: string, stop: () => Promise<void>) => void,
): Promise<{ forwarder: Forwarder; mirror: ResourceMirror | undefined } | undefined> {
  const federation = config.federation;
  if (federation === undefined) return undefined;
  const { upstream } = federation;
  // parseSiteConfig gives it resolved; a configuration built otherwise gets the same default.
  const spoolDir = resolve(dirname(config.file), federation.spool_dir ?? defaultSpoolDir(config.site));
  // Secrets and TLS files are read before any connection, so a missing one fails at once.
  const security = kafkaSecurity(config, parts.logger, process.env, 'federation.upstream');
  const spool = await Spool.open({ dir: spoolDir, maxBytes: federation.spool_max_bytes });
  started('spool', () => spool.close());
  const central = new KafkaBus({
    brokers: upstream.brokers,
    clientId: upstream.client_id ?? `panoptes-${config.site}-forward`,
    logger: parts.logger.child({ cluster: 'upstream' }),
    compression: upstream.compression,
    security,
    waitForCluster: true,
  });
  started('upstream bus', () => central.close());
  const centralTopics = topicNames(upstream.topic_delimiter ?? config.bus.topic_delimiter);
  const forwarder = new Forwarder({
    local: parts.bus,
    upstream: central,
    spool,
    site: config.site,
    sourceTopic: parts.topics.processed(config.site),
    targetTopics: [
      centralTopics.processed(config.site),
      ...(upstream.global_topic ? [GLOBAL_METRICS_TOPIC] : []),
    ],
    groupId: `${config.site}-forwarder`,
    sendTimeoutMs: federation.send_timeout_ms,
    drainRecordsPerSecond: federation.drain_records_per_second,
    batchRecords: federation.batch_records,
    unreachableAfterMs: federation.unreachable_after_seconds * 1000,
    logger: parts.logger,
  });
  await forwarder.start();
  started('forwarder', () => forwarder.stop());
  parts.logger.info(
    { upstream: upstream.brokers, spool: spoolDir, spooled: spool.records },
    'forwarding processed metrics to the upstream cluster',
  );
  if (!federation.mirror_resources) return { forwarder, mirror: undefined };
  const cacheDir = join(spoolDir, 'resources');
  const cache = await MirrorCache.open(cacheDir);
  started('resource mirror cache', () => cache.close());
  const mirror = new ResourceMirror({
    upstream: central,
    local: parts.bus,
    sourceTopic: centralTopics.resources(config.site),
    targetTopic: parts.topics.resources(config.site),
    groupId: `${config.site}-resource-mirror`,
    cache,
    logger: parts.logger,
  });
  await mirror.start();
  started('resource mirror', () => mirror.stop());
  return { forwarder, mirror };
}

/** `panoptes forward` without federation.upstream is a configuration error. */
export function requireFederation(config: SiteConfig): void {
  if (config.federation === undefined) {
    throw new PanoptesError(
      'CONFIG_INVALID',
      `${config.file}: federation: the forward stage needs federation.upstream (the central cluster's brokers)`,
    );
  }
}
