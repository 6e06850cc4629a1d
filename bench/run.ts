/**
 * Benchmark runner:
 *   npm run bench                 every benchmark
 *   npm run bench -- --quick      a representative subset (dsl, snmp at 100 devices, walk, pipeline at
 *                                 1000 devices, consumer at 3000 groups), under 3 minutes
 *   npm run bench -- NAME [NAME]  the named ones
 *   npm run bench -- report       only redraw the charts and BENCHMARKS.md's figures from bench/results
 *   npm run bench -- soak         the soak run (an hour at 5,000 devices; only when named)
 *   npm run bench -- startup      start-up time of CLI commands beside node -e 0
 *   npm run bench -- compare      the whole system beside snmp_exporter + Prometheus and collectd
 *   npm run bench -- walk         one 51k-varbind device walked whole, beside snmpbulkwalk
 *   npm run bench -- checkpoint   the Redis checkpoint of counter history, at 20,000 devices
 *   npm run bench -- federation   4 edge processes forwarding into one central cluster, an outage,
 *                                 and the sizing of a fleet of 100 sites from the figures
 *   npm run bench -- gnmi         1,000 devices x 24 interfaces every 10 s streamed over gNMI,
 *                                 beside the same fleet polled over SNMP
 * Each prints its table (ratios to its reference subject) and writes bench/results/<name>.json;
 * then the SVG charts in bench/charts/ and the figures in BENCHMARKS.md are written again from
 * every results file. A progress bar
 * on stderr shows which benchmark runs and what it is doing.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { main as actors } from './actors.bench.js';
import { main as charts } from './charts.js';
import { main as checkpoint } from './checkpoint.bench.js';
import { main as compare } from './compare.bench.js';
import { main as consumer } from './consumer.bench.js';
import { main as deviceMetrics } from './device-metrics.bench.js';
import { main as dsl } from './dsl.bench.js';
import { main as federation } from './federation.bench.js';
import { main as gnmi } from './gnmi.bench.js';
import { main as markdown } from './markdown.js';
import { main as pipeline } from './pipeline.bench.js';
import { main as snmp } from './snmp.bench.js';
import { main as soak } from './soak.bench.js';
import { main as startup } from './startup.bench.js';
import { main as walk } from './walk.bench.js';

interface BenchOptions {
  readonly quick: boolean;
  readonly progress: (text: string) => void;
}

const BENCHES: Readonly<Record<string, (o: BenchOptions) => void | Promise<void>>> = {
  dsl: () => dsl(),
  snmp: (o) => {
    if (o.quick) process.env['SNMP_BENCH_DEVICES'] ??= '100';
    return snmp();
  },
  actors: () => actors(),
  pipeline: (o) => pipeline(o),
  'device-metrics': (o) => deviceMetrics(o),
  consumer: (o) => consumer(o),
  soak: (o) => soak(o),
  startup: () => startup(),
  walk: (o) => {
    if (o.quick) process.env['WALK_RUNS'] ??= '5';
    return walk();
  },
  compare: (o) => compare(o),
  checkpoint: () => checkpoint(),
  federation: (o) => federation(o),
  gnmi: (o) => gnmi(o),
};

/** Run only when named: an hour by default. */
const ON_REQUEST = new Set(['soak']);

const QUICK = ['dsl', 'snmp', 'pipeline', 'consumer', 'startup', 'walk'];

/** Charts and BENCHMARKS.md's figures from every results file. */
async function report(): Promise<void> {
  console.log('\n== report ==');
  for (const file of await charts()) console.log(`wrote ${file}`);
  const sections = await markdown();
  console.log(`wrote BENCHMARKS.md: ${sections.join(', ')}`);
}

/** Progress of a benchmark running in a child process, sent to the parent. */
interface ProgressMessage {
  readonly task: string;
}

/**
 * Runs one benchmark in a child process of its own (same Node flags), so that no benchmark's
 * leftovers (timers, heap, sockets) weigh on the next one's CPU and memory figures.
 */
function runIsolated(name: string, quick: boolean, progress: (task: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', name, ...(quick ? ['--quick'] : [])], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m: ProgressMessage) => progress(m.task));
    child.once('error', (e) => {
      console.error(`bench ${name}: ${e.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** `--child NAME [--quick]`: runs one benchmark here, reporting progress to the parent. */
async function runChild(name: string, quick: boolean): Promise<number> {
  const bench = BENCHES[name];
  if (bench === undefined) return 2;
  await bench({ quick, progress: (task) => process.send?.({ task } satisfies ProgressMessage) });
  return 0;
}

async function run(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const child = argv.indexOf('--child');
  if (child >= 0) return runChild(argv[child + 1] ?? '', quick);
  const unknownFlags = argv.filter((a) => a.startsWith('-') && a !== '--quick');
  const names = argv.filter((a) => !a.startsWith('-'));
  if (names.length === 1 && names[0] === 'report' && !quick) {
    await report();
    return 0;
  }
  const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
  if (unknown.length > 0 || unknownFlags.length > 0) {
    console.error(
      `unknown ${unknown.length > 0 ? `benchmark: ${unknown.join(', ')}` : `option: ${unknownFlags.join(', ')}`} ` +
        `(benchmarks: ${Object.keys(BENCHES).join(', ')}; option: --quick; or report alone)`,
    );
    return 2;
  }
  const selected =
    names.length > 0 ? names : quick ? QUICK : Object.keys(BENCHES).filter((b) => !ON_REQUEST.has(b));
  const bar = new SingleBar({
    format: 'bench [{bar}] {value}/{total} {bench}: {task}',
    stream: process.stderr,
    hideCursor: false,
    clearOnComplete: false,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  });
  bar.start(selected.length, 0, { bench: selected[0] ?? '', task: 'starting' });
  const failed: string[] = [];
  for (const [i, name] of selected.entries()) {
    bar.update(i, { bench: name, task: 'running' });
    console.log(`\n== ${name}${quick ? ' (quick)' : ''} ==`);
    const code = await runIsolated(name, quick, (task) => bar.update(i, { bench: name, task }));
    if (code !== 0) failed.push(`${name} (exit ${code})`);
  }
  bar.update(selected.length, { bench: 'all', task: failed.length === 0 ? 'done' : 'done with failures' });
  bar.stop();
  await report();
  if (failed.length > 0) {
    console.error(`bench: failed: ${failed.join(', ')}; their results files were not updated`);
    return 1;
  }
  return 0;
}

process.exitCode = await run(process.argv.slice(2));
