/**
 * InfluxDB 1.x (Debian `influxdb`, 1.6) on a free loopback port: the `/write` API (line
 * protocol) and InfluxQL through `/query`. One database, created at start.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface InfluxQlSeries {
  readonly name: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly (string | number | null)[])[];
}

export interface InfluxDbService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly database: string;
  /** The series of an InfluxQL query (epoch ms times); throws on an error. */
  query(influxql: string): Promise<InfluxQlSeries[]>;
  stop(): Promise<void>;
}

export async function startInfluxDb(database = 'panoptes'): Promise<InfluxDbService> {
  const command = requireBinary('influxd', 'influxdb');
  const [port, rpcPort] = [await freeTcpPort(), await freeTcpPort()];
  const workDir = await makeTempDir('influxdb');
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(workDir, 'influxdb.conf');
  await writeFile(
    configFile,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${workDir}/meta"`,
      '[data]',
      `  dir = "${workDir}/data"`,
      `  wal-dir = "${workDir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  const proc = ManagedProcess.start({ name: 'influxdb', command, args: ['-config', configFile], workDir });
  const query = async (q: string): Promise<InfluxQlSeries[]> => {
    const res = await fetch(`${url}/query?db=${encodeURIComponent(database)}&epoch=ms`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q }).toString(),
    });
    const body = (await res.json()) as {
      results?: { series?: InfluxQlSeries[]; error?: string }[];
      error?: string;
    };
    const first = body.results?.[0];
    const error = body.error ?? first?.error;
    if (!res.ok || error !== undefined) throw new Error(`InfluxQL ${q}: HTTP ${res.status}: ${error ?? ''}`);
    return first?.series ?? [];
  };
  try {
    await proc.waitUntil('/ping answers', async () => {
      const res = await fetch(`${url}/ping`);
      await res.body?.cancel();
      return res.status === 204 ? true : undefined;
    });
    await query(`CREATE DATABASE "${database}"`);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, database, query, stop: () => proc.stop() };
}
