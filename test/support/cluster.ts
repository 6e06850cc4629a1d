/**
 * A distributed Panoptes-TS on loopback, for the integration tests and `npm run demo:distributed`:
 * redis-server, the Kafka-protocol test broker (3 brokers), victoria-metrics and the SNMP
 * simulator, then the stages as separate processes of the built CLI
 * (`node dist/src/cli/main.js discovery|enrichment|polling|consumer --config site.yaml`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnmpSimulator } from '../../src/sim/simulator.js';
import { simulatedResources, writeLabPlugins } from './lab.js';
import { startKafka, startRedis, startVictoriaMetrics, freeTcpPort } from '../services/index.js';
import type { KafkaService, RedisService, VictoriaMetricsService } from '../services/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export type StageRole = 'discovery' | 'enrichment' | 'polling' | 'consumer';

export interface ClusterOptions {
  readonly site?: string;
  readonly devices: number;
  readonly interfaces: number;
  /** Interface polling and device status interval, seconds. */
  readonly intervalSeconds: number;
  /** Consumer group session timeout, ms. */
  readonly sessionTimeoutMs?: number;
  /** Where stage output goes (default: kept in memory, see Stage.output). */
  readonly echo?: boolean;
}

export interface Stage {
  readonly role: StageRole;
  readonly name: string;
  readonly metricsPort: number;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output: string;
  readonly exited: Promise<number | null>;
}

export interface Cluster {
  readonly dir: string;
  readonly site: string;
  readonly config: string;
  readonly redis: RedisService;
  readonly kafka: KafkaService;
  readonly vm: VictoriaMetricsService;
  readonly simulator: SnmpSimulator;
  readonly stages: Stage[];
  /** Starts a stage and, unless `ready: false`, waits until its /readyz answers 200 (30 s at most). */
  start(role: StageRole, name?: string, options?: { ready?: boolean }): Promise<Stage>;
  /** Waits until a stage's /readyz answers 200; the seconds it took. */
  whenReady(stage: Stage, timeoutMs: number): Promise<number>;
  /** SIGTERM (clean) or SIGKILL (crash), and waits for the exit. */
  stopStage(stage: Stage, signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const site = options.site ?? 'lab';
  const dir = await mkdtemp(join(tmpdir(), 'panoptes-cluster-'));
  const [redis, kafka, vm, simulator] = await Promise.all([
    startRedis(),
    startKafka(3),
    startVictoriaMetrics(),
    SnmpSimulator.start({ synthetic: { devices: options.devices, interfaces: options.interfaces } }),
  ]);
  await writeFile(
    join(dir, 'devices.json'),
    JSON.stringify({ resources: simulatedResources(options.devices, site) }, null, 2),
  );
  await writeLabPlugins(dir, {
    devicesFile: join(dir, 'devices.json'),
    intervalSeconds: options.intervalSeconds,
  });
  const config = join(dir, 'site.yaml');
  await writeFile(
    config,
    [
      `site: ${site}`,
      'plugins:',
      '  directories: [plugins]',
      '  rescan_seconds: 0',
      'bus:',
      '  type: kafka',
      `  brokers: [${kafka.brokers.join(', ')}]`,
      `  session_timeout_ms: ${options.sessionTimeoutMs ?? 6000}`,
      'store:',
      '  type: redis',
      `  url: ${redis.url}`,
      `  key_prefix: panoptes-${site}`,
      'snmp:',
      `  port: ${simulator.port}`,
      '  timeout_ms: 1000',
      '  retries: 1',
      'polling:',
      '  enrichment_wait_seconds: 0',
      'consumers:',
      '  influx:',
      `    url: ${vm.url}`,
      '    flush_interval_ms: 200',
      'output:',
      '  status_interval_seconds: 5',
      '',
    ].join('\n'),
  );

  const stages: Stage[] = [];
  let n = 0;
  const cluster: Cluster = {
    dir,
    site,
    config,
    redis,
    kafka,
    vm,
    simulator,
    stages,
    async whenReady(stage, timeoutMs) {
      const started = Date.now();
      const deadline = started + timeoutMs;
      for (;;) {
        const code = await Promise.race([
          stage.exited,
          new Promise<'alive'>((r) => setTimeout(() => r('alive'), 100)),
        ]);
        if (code !== 'alive') throw new Error(`${stage.name} exited with ${String(code)}:\n${stage.output}`);
        try {
          const res = await fetch(`http://127.0.0.1:${stage.metricsPort}/readyz`);
          if (res.ok) return (Date.now() - started) / 1000;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          throw new Error(`${stage.name} not ready within ${timeoutMs} ms:\n${stage.output.slice(-4000)}`);
        }
      }
    },
    async start(role, name, startOptions = {}) {
      const metricsPort = await freeTcpPort();
      const child = spawn(
        process.execPath,
        [CLI, role, '--config', config, '--metrics-port', String(metricsPort)],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, PANOPTES_LOG_LEVEL: process.env['PANOPTES_LOG_LEVEL'] ?? 'info' },
        },
      );
      const stage: Stage = {
        role,
        name: name ?? `${role}-${++n}`,
        metricsPort,
        child,
        output: '',
        exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
      };
      const take = (b: Buffer): void => {
        stage.output += b.toString();
        if (stage.output.length > 4_000_000) stage.output = stage.output.slice(-2_000_000);
        if (options.echo === true) process.stderr.write(`[${stage.name}] ${b.toString()}`);
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      stages.push(stage);
      // Ready when /readyz says so: every dependency reached, the stage started (bounded).
      if (startOptions.ready !== false) await cluster.whenReady(stage, 30_000);
      return stage;
    },
    async stopStage(stage, signal = 'SIGTERM') {
      if (stage.child.exitCode === null && stage.child.signalCode === null) stage.child.kill(signal);
      const code = await Promise.race([
        stage.exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000)),
      ]);
      if (code === 'hung') {
        stage.child.kill('SIGKILL');
        return stage.exited;
      }
      return code;
    },
    async stop() {
      await Promise.all(stages.map((s) => cluster.stopStage(s)));
      await Promise.all([redis.stop(), kafka.stop(), vm.stop(), simulator.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Reads the Prometheus samples /metrics on a local port serves into name{labels} -> value. */
export async function scrapePort(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Reads a stage's Prometheus counters into name{labels} -> value. */
export function scrape(stage: Stage): Promise<Map<string, number>> {
  return scrapePort(stage.metricsPort);
}
