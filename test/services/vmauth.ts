/**
 * vmauth (from the victoria-metrics package) on a free loopback port: an HTTP proxy that lets a
 * request through to `target` only with the configured token (`Authorization: Bearer T`, or
 * `Token T` as InfluxDB clients send it). Any other token gets HTTP 400 with a body that quotes
 * the token it was given: a server that echoes credentials, for tests that check they stay out
 * of logs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

export interface VmauthService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startVmauth(options: { target: string; token: string }): Promise<VmauthService> {
  const command = requireBinary('vmauth', 'victoria-metrics');
  const port = await freeTcpPort();
  const workDir = await makeTempDir('vmauth');
  const config = join(workDir, 'auth.yml');
  await writeFile(
    config,
    `users:\n  - bearer_token: ${JSON.stringify(options.token)}\n    url_prefix: ${JSON.stringify(options.target)}\n`,
  );
  const url = `http://127.0.0.1:${port}`;
  const proc = ManagedProcess.start({
    name: 'vmauth',
    command,
    args: [`-auth.config=${config}`, `-httpListenAddr=127.0.0.1:${port}`, '-loggerLevel=ERROR'],
    workDir,
  });
  try {
    await proc.waitUntil('it answers HTTP', async () => {
      const res = await fetch(`${url}/health`);
      return res.status > 0 ? true : undefined;
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, process: proc, stop: () => proc.stop() };
}
