/**
 * The Prometheus `snmp_exporter` subject of the SNMP benchmark: starts the Debian package's
 * binary with the `if_mib` module of `bench/snmp_exporter/snmp.yml`, scrapes every simulated
 * device through its HTTP endpoint (as Prometheus would, `concurrency` scrapes at a time), and
 * reports the exporter process's CPU time from /proc. The scraping client's CPU (this process)
 * does not count, as Prometheus's would not.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from '../test/services/ports.js';
import { processCpu } from './lib/simulator.js';
import type { PollerResult, PollerTask } from './snmp-poller.js';
import { deviceTarget, forEachLimited } from './snmp-poller.js';

export const SNMP_EXPORTER_BINARY = 'prometheus-snmp-exporter';
export const SNMP_EXPORTER_CONFIG = join(
  dirname(fileURLToPath(import.meta.url)),
  'snmp_exporter',
  'snmp.yml',
);

interface Exporter {
  readonly child: ChildProcess;
  readonly url: string;
  log: string;
}

async function startExporter(): Promise<Exporter> {
  const port = await freeTcpPort();
  const child = spawn(
    SNMP_EXPORTER_BINARY,
    [`--config.file=${SNMP_EXPORTER_CONFIG}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exporter: Exporter = { child, url: `http://127.0.0.1:${port}`, log: '' };
  child.stderr?.on('data', (c: Buffer) => (exporter.log = (exporter.log + c.toString()).slice(-4000)));
  const spawned = new Promise<never>((_, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new Error(
              `${SNMP_EXPORTER_BINARY} not found: install the Debian package prometheus-snmp-exporter ` +
                '(npm run bench installs it when run as root or with sudo)',
            )
          : e,
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`${SNMP_EXPORTER_BINARY} exited with ${String(code)}: ${exporter.log}`)),
    );
  });
  // Bounded wait for the HTTP endpoint: 100 tries, 100 ms apart.
  const ready = (async (): Promise<void> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const res = await fetch(`${exporter.url}/`);
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${SNMP_EXPORTER_BINARY} did not answer on ${exporter.url} in 10 s: ${exporter.log}`);
  })();
  await Promise.race([ready, spawned]);
  spawned.catch(() => undefined); // exits later, when stopped
  return exporter;
}

function stopExporter(exporter: Exporter): Promise<void> {
  return new Promise((resolve) => {
    if (exporter.child.exitCode !== null) {
      resolve();
      return;
    }
    exporter.child.once('exit', () => resolve());
    exporter.child.kill('SIGTERM');
  });
}

/**
 * Scrapes the first `devices` devices, `concurrency` at a time. A scrape counts as complete when it holds
 * one `ifHCInOctets` sample per interface (the last column the walk reaches that every
 * interface has); anything else is an error.
 */
async function scrapeAll(
  exporter: Exporter,
  task: Omit<PollerTask, 'subject'>,
  devices: number,
  interfaces: number,
): Promise<{ complete: number; errors: number }> {
  let complete = 0;
  let errors = 0;
  await forEachLimited(devices, task.concurrency, async (i) => {
    const { port } = deviceTarget(task, i);
    try {
      const res = await fetch(`${exporter.url}/snmp?module=if_mib&target=${task.host}:${port}`);
      const body = await res.text();
      const samples = body.split('\nifHCInOctets{').length - 1;
      if (res.ok && samples === interfaces) complete++;
      else errors++;
    } catch {
      errors++;
    }
  });
  return { complete, errors };
}

/**
 * Runs the subject: a warm-up of `task.warmup` devices, then every device, measured.
 * `varbindsPerDevice` comes from a subject that counts varbinds itself (the exporter does not
 * report them per scrape); a scrape that is not complete contributes none.
 */
export async function snmpExporterSubject(
  task: Omit<PollerTask, 'subject'>,
  interfaces: number,
  varbindsPerDevice: number,
): Promise<PollerResult> {
  if (task.community === undefined) {
    throw new Error(
      'snmp_exporter takes one community per module: run the simulator with one port per device',
    );
  }
  const exporter = await startExporter();
  try {
    const pid = exporter.child.pid ?? 0;
    await scrapeAll(exporter, task, Math.min(task.devices, task.warmup ?? 0), interfaces);
    const cpu0 = processCpu(pid);
    const t0 = performance.now();
    const { complete, errors } = await scrapeAll(exporter, task, task.devices, interfaces);
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu1 = processCpu(pid);
    const user = cpu1.user - cpu0.user;
    return {
      varbinds: complete * varbindsPerDevice,
      cpuSeconds: user + (cpu1.system - cpu0.system),
      userSeconds: user,
      wallSeconds,
      errors,
    };
  } finally {
    await stopExporter(exporter);
  }
}
