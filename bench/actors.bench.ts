/**
 * Actors benchmark: 100k resources x 2 no-op polling plugins every 60 s in one process.
 * Reports memory per resource actor (heap after GC, with and without the Resource objects it
 * holds), scheduling lateness p50/p99/max (from due time to the actor acting on the tick), and
 * CPU per tick. Runs itself in a child process started with --expose-gc.
 *
 *   npm run bench -- actors      (ACTORS_BENCH_RESOURCES, ACTORS_BENCH_SECONDS to change)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PollingAgent } from '../src/actors/polling-agent.js';
import { silentLogger } from '../src/log.js';
import type { Resource } from '../src/model/index.js';
import { createContextFactory } from '../src/plugins/context.js';
import type { LoadedPlugin } from '../src/plugins/loader.js';
import { parsePluginFile } from '../src/plugins/plugin-file.js';
import { storeKeys } from '../src/store/keys.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';

interface ActorsResult {
  readonly resources: number;
  readonly seconds: number;
  readonly bytesPerActor: number;
  readonly bytesPerActorWithResource: number;
  readonly ticks: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly latencyMax: number;
  readonly cpuMicrosPerTick: number;
  readonly heapMiB: number;
}

function noopPlugin(name: string): LoadedPlugin {
  const definition = parsePluginFile(
    `[Core]\nName = ${name}\nModule = noop.js\n[main]\nexecute_frequency = 60\n`,
    `/bench/${name}.panoptes-plugin`,
  );
  return { definition, kind: 'polling', instance: { poll: () => Promise.resolve([]) }, version: name };
}

function resource(i: number): Resource {
  return {
    resource_id: `device-${String(i).padStart(6, '0')}`,
    resource_site: 'dc1',
    resource_endpoint: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'bench',
    resource_metadata: { model: 'c9300' },
  };
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(count: number, seconds: number): Promise<ActorsResult> {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const keys = storeKeys();
  const agent = new PollingAgent({
    logger: silentLogger,
    store,
    keys,
    contextFactory: createContextFactory({ logger: silentLogger, store, keys }),
    publish: () => Promise.resolve(),
    distributedGuards: false,
  });
  agent.setPlugins(
    new Map([
      ['noop_a', noopPlugin('noop_a')],
      ['noop_b', noopPlugin('noop_b')],
    ]),
  );

  const h0 = heapAfterGc();
  const resources = Array.from({ length: count }, (_, i) => resource(i));
  const h1 = heapAfterGc();
  for (const r of resources) agent.upsertResource(r);
  resources.length = 0;
  for (let i = 0; i < count; i += 1000) await agent.actor(`device-${String(i).padStart(6, '0')}`)?.whenIdle();
  await new Promise((r) => setTimeout(r, 200));
  const h2 = heapAfterGc();

  const lateness = new Float64Array(count * 2 * Math.ceil(seconds / 60 + 1));
  let ticks = 0;
  agent.status$.subscribe((s) => {
    if (ticks < lateness.length) lateness[ticks] = s.latenessMs;
    ticks++;
  });
  const cpu0 = process.cpuUsage();
  agent.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  await agent.stop();
  await store.close();

  const sorted = lateness.slice(0, Math.min(ticks, lateness.length)).sort();
  return {
    resources: count,
    seconds,
    bytesPerActor: (h2 - h1) / count,
    bytesPerActorWithResource: (h2 - h0) / count,
    ticks,
    latencyP50: percentile(sorted, 50),
    latencyP99: percentile(sorted, 99),
    latencyMax: sorted[sorted.length - 1] ?? 0,
    cpuMicrosPerTick: ticks === 0 ? 0 : ((cpu.user + cpu.system) / ticks) * 1,
    heapMiB,
  };
}

function runChild(count: number, seconds: number): Promise<ActorsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        'child',
        String(count),
        String(seconds),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`actors bench child exited ${String(code)}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ActorsResult);
    });
  });
}

export async function main(): Promise<void> {
  const count = Number(process.env['ACTORS_BENCH_RESOURCES'] ?? 100_000);
  const seconds = Number(process.env['ACTORS_BENCH_SECONDS'] ?? 65);
  console.log(`actors: ${count} resources x 2 no-op plugins at 60 s, running ${seconds} s`);
  const r = await runChild(count, seconds);
  const row = (metric: string, value: number, unit: string): BenchRow => ({
    bench: 'actors',
    subject: 'resource-actors',
    metric,
    value,
    unit,
  });
  const rows = [
    row('bytes_per_actor', r.bytesPerActor, 'bytes'),
    row('bytes_per_actor_with_resource', r.bytesPerActorWithResource, 'bytes'),
    row('ticks', r.ticks, 'ticks'),
    row('lateness_p50', r.latencyP50, 'ms'),
    row('lateness_p99', r.latencyP99, 'ms'),
    row('lateness_max', r.latencyMax, 'ms'),
    row('cpu_us_per_tick', r.cpuMicrosPerTick, 'us'),
    row('heap', r.heapMiB, 'MiB'),
  ];
  printTable(rows, 'resource-actors');
  const file = writeResults('actors', rows, { resources: count, seconds, plugins: 2, executeFrequency: 60 });
  console.log(`\nwritten: ${file}`);
}

if (process.argv[2] === 'child') {
  const result = await measure(Number(process.argv[3]), Number(process.argv[4]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
