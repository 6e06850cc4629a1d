/**
 * The Prometheus remote-write consumer: metrics groups from `<site>-processed` become samples
 * (naming in prometheus-series.ts) sent with the remote-write protocol 1.0: a WriteRequest
 * protobuf, snappy-compressed (block format), POSTed with `Content-Encoding: snappy` and
 * `X-Prometheus-Remote-Write-Version: 0.1.0`. Prometheus (`--web.enable-remote-write-receiver`,
 * path /api/v1/write), VictoriaMetrics (/api/v1/write), Mimir, Thanos Receive and Cortex accept it.
 *
 * Delivery, batching, dead-lettering, the circuit breaker and stopping are the write
 * consumer's (write-consumer.ts): offsets are committed only after the write holding their
 * samples succeeded; network errors, timeouts, 5xx, 408 and 429 are retried with back-off until
 * they succeed. Any other 4xx is not retried as it was (counted, logged): the write is tried
 * message by message to find what the server refuses, which goes to the dead-letter topic; when
 * it refuses every message (a wrong token, a wrong path) the breaker holds writes and retries.
 * Prometheus refuses a whole request when one sample is older than its series' newest
 * (`out of order sample`, `out of bounds`, `duplicate sample for timestamp`): that is what a
 * record read again after a restart gets, so such a refusal marks the message stale (already
 * written): counted in panoptes_consumer_stale_total and skipped.
 *
 * Credentials: basic auth (username and password) or a bearer token, sent in the Authorization
 * header and cut out of anything logged.
 *
 * Samples of a write are grouped by series, in the order they came: a series' samples stay in
 * time order, as the protocol requires.
 */
import protobuf from 'protobufjs';
import snappy from 'snappy';
import type { MetricsGroup } from '../model/metrics-group.js';
import { byCodeUnit } from './line-protocol.js';
import { metricsGroupToSamples } from './prometheus-series.js';
import type { PromSample } from './prometheus-series.js';
import { WriteConsumer, WriteRefused, httpUrl, positiveInteger, safeUrl } from './write-consumer.js';
import type { WriteConsumerOptions, WriteTarget } from './write-consumer.js';

export interface RemoteWriteConsumerOptions extends WriteConsumerOptions {
  /** The remote-write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. */
  readonly url: string;
  /** Basic auth; never logged. */
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** Sent as `Authorization: Bearer ...`; never logged. */
  readonly bearerToken?: string;
  /** HTTP request timeout, ms. Default 10000. */
  readonly requestTimeoutMs?: number;
}

/**
 * The messages of the remote-write protocol this consumer sends (field names and numbers are
 * the protocol's wire format).
 */
const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;

const WriteRequest = protobuf.parse(PROTO).root.lookupType('prometheus.WriteRequest');

/** What Prometheus answers when a sample is older than its series' newest. */
const STALE_ANSWER = /out of order sample|out of bounds|duplicate sample for timestamp|too old/i;
/** 4xx statuses that are retried all the same: timeout, too many requests. */
const RETRIED_4XX: ReadonlySet<number> = new Set([408, 429]);
/** How much of a refusal's body is kept for the log and the dead-letter reason. */
const ANSWER_CHARS = 500;

interface WireSeries {
  labels: { name: string; value: string }[];
  samples: { value: number; timestamp: number }[];
}

/** A write's samples as a WriteRequest body (protobuf, snappy block format). */
export function encodeWriteRequest(samples: readonly PromSample[]): Buffer {
  const bySeries = new Map<string, WireSeries>();
  const timeseries: WireSeries[] = [];
  for (const s of samples) {
    let key = s.name;
    for (const [k, v] of s.labels) key += `\u0000${k}\u0000${v}`;
    let series = bySeries.get(key);
    if (series === undefined) {
      // The protocol wants labels sorted by name; `__name__` sorts among them.
      const labels = [
        { name: '__name__', value: s.name },
        ...s.labels.map(([name, value]) => ({ name, value })),
      ];
      labels.sort((a, b) => byCodeUnit(a.name, b.name));
      series = { labels, samples: [] };
      bySeries.set(key, series);
      timeseries.push(series);
    }
    series.samples.push({ value: Number(s.value), timestamp: s.timestampMs });
  }
  const bytes = WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
  return snappy.compressSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** A remote-write endpoint as a write consumer's target. */
class RemoteWriteTarget implements WriteTarget<PromSample> {
  readonly kind = 'prometheus';
  readonly label = 'Prometheus';
  readonly healthName = 'prometheus';
  readonly where: string;
  readonly probeUrl: string;
  readonly secrets: readonly string[];
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: RemoteWriteConsumerOptions) {
    const url = httpUrl('Prometheus remote-write url', options.url);
    this.timeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000);
    this.url = options.url;
    this.where = safeUrl(url);
    this.probeUrl = `${url.origin}/`;
    this.headers = {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'panoptes-ts',
    };
    const secrets: string[] = [];
    if (options.basicAuth !== undefined && options.bearerToken !== undefined)
      throw new Error('Prometheus remote write: give basic auth or a bearer token, not both');
    if (options.basicAuth !== undefined) {
      const { username, password } = options.basicAuth;
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      this.headers.authorization = `Basic ${encoded}`;
      secrets.push(password, encoded);
    } else if (options.bearerToken !== undefined) {
      this.headers.authorization = `Bearer ${options.bearerToken}`;
      secrets.push(options.bearerToken);
    } else if (url.username !== '' || url.password !== '') {
      // fetch() refuses URLs with credentials: they become basic auth.
      const username = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      this.headers.authorization = `Basic ${encoded}`;
      secrets.push(password, url.password, encoded);
      const bare = new URL(url.href);
      bare.username = '';
      bare.password = '';
      this.url = bare.href;
    }
    this.secrets = secrets;
  }

  points(group: MetricsGroup): PromSample[] {
    return metricsGroupToSamples(group);
  }

  async write(samples: readonly PromSample[], signal: AbortSignal): Promise<void> {
    const body = encodeWriteRequest(samples);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: this.headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      redirect: 'manual',
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel();
      return;
    }
    const answer = (await res.text().catch(() => '')).trim().slice(0, ANSWER_CHARS);
    const text = `HTTP ${res.status}${answer === '' ? '' : `: ${answer}`}`;
    if (res.status >= 400 && res.status < 500 && !RETRIED_4XX.has(res.status))
      throw new WriteRefused(text, STALE_ANSWER.test(answer));
    throw new Error(text);
  }
}

export class RemoteWriteConsumer extends WriteConsumer<PromSample> {
  constructor(options: RemoteWriteConsumerOptions) {
    super(options, new RemoteWriteTarget(options));
  }
}
