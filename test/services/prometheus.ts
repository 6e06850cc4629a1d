/**
 * A Prometheus server (Debian `prometheus`, 2.42) on a free loopback port with its remote-write
 * receiver on (`/api/v1/write`), scraping nothing unless asked, and PromQL over its HTTP API.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface PromVectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

export interface PromMatrixSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, string])[];
}

export interface PrometheusService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The remote-write endpoint. */
  readonly writeUrl: string;
  readonly process: ManagedProcess;
  /** An instant query at `time` (epoch seconds; default now). */
  query(promql: string, time?: number): Promise<PromVectorSample[]>;
  /** A range query. */
  queryRange(promql: string, start: number, end: number, stepSeconds: number): Promise<PromMatrixSeries[]>;
  /** Stops the server, keeping its data (the WAL) and port, to simulate an outage. */
  pause(): Promise<void>;
  /** Starts it again on the same port and data after pause(). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** scrape_configs entries (YAML text, already indented as list items), e.g. a scrape job. */
  readonly scrapeConfigs?: string;
  /** Default 1s. */
  readonly scrapeInterval?: string;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusService> {
  const command = requireBinary('prometheus', 'prometheus');
  const port = await freeTcpPort();
  const workDir = await makeTempDir('prometheus');
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(workDir, 'prometheus.yml');
  await writeFile(
    configFile,
    [
      'global:',
      `  scrape_interval: ${options.scrapeInterval ?? '1s'}`,
      `  evaluation_interval: 1m`,
      'scrape_configs:',
      options.scrapeConfigs ?? '  []',
      '',
    ].join('\n'),
  );
  const launch = async (): Promise<ManagedProcess> => {
    const proc = ManagedProcess.start({
      name: 'prometheus',
      command,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${workDir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
        '--storage.tsdb.retention.time=100y',
        '--log.level=warn',
      ],
      workDir,
    });
    try {
      await proc.waitUntil('/-/ready answers', async () => {
        const res = await fetch(`${url}/-/ready`);
        await res.body?.cancel();
        return res.ok ? true : undefined;
      });
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return proc;
  };
  let proc = await launch();

  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const body = (await res.json()) as { status: string; data?: { result: T }; error?: string };
    if (!res.ok || body.status !== 'success' || body.data === undefined)
      throw new Error(`${path} ${JSON.stringify(params)}: HTTP ${res.status}: ${body.error ?? ''}`);
    return body.data.result;
  };

  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    get process() {
      return proc;
    },
    query: (promql, time) =>
      api<PromVectorSample[]>('/api/v1/query', {
        query: promql,
        ...(time === undefined ? {} : { time: String(time) }),
      }),
    queryRange: (promql, start, end, step) =>
      api<PromMatrixSeries[]>('/api/v1/query_range', {
        query: promql,
        start: String(start),
        end: String(end),
        step: String(step),
      }),
    async pause() {
      await proc.kill('SIGTERM');
    },
    async resume() {
      proc = await launch();
    },
    stop: () => proc.stop(),
  };
}
