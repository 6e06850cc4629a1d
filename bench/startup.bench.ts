/**
 * Start-up benchmark: what a person waits for at first contact. Each subject is a whole process
 * of the built CLI (`dist/src/cli/main.js`), started one after the other STARTUP_RUNS times
 * (default 20), beside a bare `node -e 0` as the floor no command can go under:
 *
 *   node -e 0                      Node itself
 *   panoptes --help                parses the command line and prints the usage
 *   panoptes validate resources    checks the quickstart's 50 resources
 *   panoptes validate profiles     loads and checks every built-in SNMP profile
 *   panoptes filter                one filter query over the quickstart's resources
 *
 * Reported per subject: the median wall time and the mean CPU time (user + system of the child,
 * from /proc/self/stat's cutime and cstime after each child was waited for), and the ratio to
 * Node's own start. Goal: `--help` and `validate` within 150 ms wall on this machine.
 *
 *   npm run bench -- startup
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DEVICES = join(ROOT, 'examples', 'quickstart', 'devices.json');
const PROFILES = join(ROOT, 'plugins', 'profiles');

/** The goal for `--help` and `validate`, ms of wall time. */
export const STARTUP_GOAL_MS = 150;

export const STARTUP_SUBJECTS: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'panoptes --help', args: [CLI, '--help'] },
  { name: 'panoptes validate resources', args: [CLI, 'validate', 'resources', DEVICES] },
  { name: 'panoptes validate profiles', args: [CLI, 'validate', 'profiles', PROFILES] },
  {
    name: 'panoptes filter',
    args: [CLI, 'filter', '--resources', DEVICES, "resource_class = 'network'"],
  },
];

/** CPU seconds of this process's waited-for children so far (Linux: /proc/self/stat). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name in parentheses: state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Runs `command args` (node by default) `runs` times, output discarded: median wall ms and mean
 * CPU ms per run.
 */
export function measure(
  args: readonly string[],
  runs: number,
  command: string = process.execPath,
): { wallMs: number; cpuMs: number } {
  const walls: number[] = [];
  const cpu0 = childrenCpuSeconds();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    walls.push(performance.now() - t0);
    if (r.status !== 0) {
      throw new Error(
        `${command} ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.toString().slice(0, 400)}`,
      );
    }
  }
  return { wallMs: median(walls), cpuMs: ((childrenCpuSeconds() - cpu0) / runs) * 1000 };
}

export function main(): void {
  const runs = Math.max(1, Math.round(Number(process.env['STARTUP_RUNS'] ?? 20)));
  const rows: BenchRow[] = [];
  // One warm-up of each, so the file system cache holds every module for all of them.
  for (const s of STARTUP_SUBJECTS) measure(s.args, 1);
  for (const s of STARTUP_SUBJECTS) {
    const m = measure(s.args, runs);
    rows.push({ bench: 'startup', subject: s.name, metric: 'wall', value: m.wallMs, unit: 'ms (median)' });
    rows.push({ bench: 'startup', subject: s.name, metric: 'cpu', value: m.cpuMs, unit: 'ms (mean)' });
  }
  printTable(rows, 'node -e 0');
  const file = writeResults('startup', rows, { runs, goalMs: STARTUP_GOAL_MS });
  console.log(`\nwrote ${file}`);
}
