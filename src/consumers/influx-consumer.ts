/**
 * The InfluxDB consumer: metrics groups from `<site>-processed` become line protocol points
 * (see line-protocol.ts) written with the InfluxDB v2 write API (org, bucket, precision ms)
 * through the transport of @influxdata/influxdb-client; VictoriaMetrics accepts the same API.
 * With `api: 'v1'` it writes to InfluxDB 1.x's `/write` (database = bucket, optional retention
 * policy), and a Counter64 from 2^63 goes as a float (1.x OSS has no unsigned integers).
 * One group is one point. Bodies over GZIP_THRESHOLD bytes are gzipped.
 *
 * Delivery, batching, dead-lettering, the circuit breaker and stopping are the write
 * consumer's (write-consumer.ts). What InfluxDB refuses for a write's content: HTTP 400, 413,
 * 422 (parse error, field type conflict, too large). Every other failure (connection refused,
 * timeout, 5xx, 429, 401/403 until the token is fixed, 404 until the bucket exists) is retried
 * until it works. Health (`tsdb`): GET /health.
 */
import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import type { MetricsGroup } from '../model/metrics-group.js';
import { metricsGroupToPoints } from './line-protocol.js';
import { WriteConsumer, WriteRefused, httpUrl, positiveInteger, safeUrl } from './write-consumer.js';
import type { WriteConsumerOptions, WriteConsumerStats, WriteTarget } from './write-consumer.js';

export { RECENT_ACCEPT_MS, REFUSAL_SAMPLE } from './write-consumer.js';

export interface InfluxConsumerOptions extends WriteConsumerOptions {
  /** Base URL of InfluxDB 2 (or VictoriaMetrics), e.g. `http://127.0.0.1:8086`. */
  readonly url: string;
  readonly org: string;
  readonly bucket: string;
  /** API token; sent as `Authorization: Token ...`, never logged. */
  readonly token?: string;
  /** HTTP request timeout, ms. Default 10000. */
  readonly requestTimeoutMs?: number;
  /** `v2` (default): /api/v2/write; `v1`: InfluxDB 1.x /write, `bucket` naming the database. */
  readonly api?: 'v1' | 'v2';
  /** With api v1: the retention policy (default: the database's default). */
  readonly retentionPolicy?: string;
}

export type InfluxConsumerStats = WriteConsumerStats;

/** Statuses that say the server will never accept this body: find and dead-letter the culprits. */
const REFUSED_STATUS: ReadonlySet<number> = new Set([400, 413, 422]);
/** Bodies larger than this are gzipped. */
const GZIP_THRESHOLD = 1000;

/** The InfluxDB v2 write API as a write consumer's target. */
class InfluxTarget implements WriteTarget<string> {
  readonly kind = 'influx';
  readonly label = 'InfluxDB';
  readonly healthName = 'tsdb';
  readonly where: string;
  readonly probeUrl: string;
  readonly secrets: readonly string[];
  private readonly influx: InfluxDB;
  private readonly path: string;
  private readonly unsigned: boolean;

  constructor(options: InfluxConsumerOptions) {
    const url = httpUrl('InfluxDB url', options.url);
    const timeout = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000);
    const base = safeUrl(url);
    this.secrets = options.token === undefined ? [] : [options.token];
    if (options.api === 'v1') {
      this.where = `${base}/write`;
      this.probeUrl = `${base}/ping`;
      this.unsigned = false;
      this.path =
        `/write?db=${encodeURIComponent(options.bucket)}&precision=ms` +
        (options.retentionPolicy === undefined ? '' : `&rp=${encodeURIComponent(options.retentionPolicy)}`);
    } else {
      this.where = `${base}/api/v2/write`;
      this.probeUrl = `${base}/health`;
      this.unsigned = true;
      this.path =
        `/api/v2/write?org=${encodeURIComponent(options.org)}` +
        `&bucket=${encodeURIComponent(options.bucket)}&precision=ms`;
    }
    this.influx = new InfluxDB({
      url: options.url,
      timeout,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  }

  points(group: MetricsGroup): string[] {
    return metricsGroupToPoints(group, this.unsigned);
  }

  async write(lines: readonly string[], signal: AbortSignal): Promise<void> {
    try {
      await this.influx.transport.request(this.path, lines.join('\n'), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        gzipThreshold: GZIP_THRESHOLD,
        signal,
      });
    } catch (e) {
      if (e instanceof HttpError) {
        const text = `HTTP ${e.statusCode}: ${e.message}`;
        if (REFUSED_STATUS.has(e.statusCode)) throw new WriteRefused(text);
        throw new Error(text, { cause: e });
      }
      throw e;
    }
  }
}

export class InfluxConsumer extends WriteConsumer<string> {
  constructor(options: InfluxConsumerOptions) {
    super(options, new InfluxTarget(options));
  }
}
