/**
 * victoria-metrics on a free loopback port: a time-series server that accepts the InfluxDB v2
 * write API (`/api/v2/write`) and exports what it stored through `/api/v1/export`.
 */
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface ExportedSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly timestamps: readonly number[];
}

export interface VictoriaMetricsService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly process: ManagedProcess;
  /** Makes recently written points visible to export. */
  flush(): Promise<void>;
  /** Every series matching a series selector, e.g. `{__name__=~"cpu_.*"}`. */
  exportSeries(match: string): Promise<ExportedSeries[]>;
  /** Stops the server, keeping its data and port, to simulate an outage. */
  pause(): Promise<void>;
  /** Starts it again on the same port and data after pause(). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetricsService> {
  const command = requireBinary('victoria-metrics', 'victoria-metrics');
  const port = await freeTcpPort();
  const workDir = await makeTempDir('victoria-metrics');
  const url = `http://127.0.0.1:${port}`;
  const launch = async (): Promise<ManagedProcess> => {
    const proc = ManagedProcess.start({
      name: 'victoria-metrics',
      command,
      args: [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${workDir}/data`,
        '-retentionPeriod=100y',
        '-search.disableCache',
        // Instant queries see the newest samples (by default the last 30 s are left out).
        '-search.latencyOffset=0s',
        '-loggerLevel=ERROR',
      ],
      workDir,
    });
    try {
      await proc.waitUntil('/health answers OK', async () => {
        const res = await fetch(`${url}/health`);
        return res.ok && (await res.text()).trim() === 'OK' ? true : undefined;
      });
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return proc;
  };
  let proc = await launch();

  return {
    url,
    get process() {
      return proc;
    },
    async pause() {
      await proc.kill('SIGTERM');
    },
    async resume() {
      proc = await launch();
    },
    async flush() {
      const res = await fetch(`${url}/internal/force_flush`);
      if (!res.ok) throw new Error(`force_flush: HTTP ${res.status}`);
    },
    async exportSeries(match: string) {
      const res = await fetch(`${url}/api/v1/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'match[]': match }).toString(),
      });
      if (!res.ok) throw new Error(`export: HTTP ${res.status}: ${await res.text()}`);
      const body = await res.text();
      return body
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries);
    },
    stop: () => proc.stop(),
  };
}
