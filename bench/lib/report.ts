/**
 * Benchmark results: rows of `{ bench, subject, metric, value, unit }` plus the machine they ran
 * on, printed as a table with each subject's ratio to the reference and written to
 * `bench/results/<bench>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  readonly bench: string;
  readonly subject: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes `bench/results/<bench>.json` and returns its path. */
export function writeResults(
  bench: string,
  rows: readonly BenchRow[],
  notes: Record<string, unknown> = {},
): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${bench}.json`);
  writeFileSync(file, `${JSON.stringify({ bench, machine: machineInfo(), notes, rows }, null, 2)}\n`);
  return file;
}

function formatNumber(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toPrecision(3);
}

/**
 * Prints one table per metric: subjects, values, and the ratio of each value to the reference
 * subject's (`higherIsBetter` only decides the wording of the header).
 */
export function printTable(
  rows: readonly BenchRow[],
  reference: string,
  out: (line: string) => void = console.log,
): void {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  for (const metric of metrics) {
    const subset = rows.filter((r) => r.metric === metric);
    const ref = subset.find((r) => r.subject === reference);
    const unit = subset[0]?.unit ?? '';
    const width = Math.max(8, ...subset.map((r) => r.subject.length));
    out(`\n${metric} (${unit})`);
    out(`  ${'subject'.padEnd(width)}  ${'value'.padStart(14)}  ${`x ${reference}`.padStart(14)}`);
    for (const r of subset) {
      const ratio = ref === undefined || ref.value === 0 ? '' : `${(r.value / ref.value).toFixed(2)}x`;
      out(`  ${r.subject.padEnd(width)}  ${formatNumber(r.value).padStart(14)}  ${ratio.padStart(14)}`);
    }
  }
}

/** CPU time of this process in seconds (user + system) spent running `fn`. */
export function cpuSeconds(fn: () => void): { cpu: number; wall: number } {
  const start = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(start);
  return { cpu: (used.user + used.system) / 1e6, wall };
}
