/**
 * How far V8 lets the heap grow between full collections, for a long-running node.
 *
 * V8 sets the next full-collection limit from the live size and its estimate of how fast the
 * program allocates: the slower the allocation, the tighter the limit, down to 1.1 times the live
 * heap. A node polling at a light load (1,000 devices every 60 s) allocates slowly over a live heap
 * of about 90 MB (resources, counter history, caches), so V8 ran a full mark-compact every half
 * second (from 100 MB back to 90), almost half of the node's CPU, and a run cost 4 to 5 times its
 * CPU at a heavy load (`--trace-gc` in the pipeline benchmark: 343 mark-compacts in 3 minutes).
 * A fixed growth of 100% (the next limit at twice the live heap; V8 itself goes up to 4 times
 * under a heavy load) makes that one mark-compact every 18 s there, for at most twice the live
 * heap in memory.
 *
 * `PANOPTES_HEAP_GROWING_PERCENT` sets another percentage, 0 leaves V8's own heuristic; a
 * `--heap-growing-percent` given to node itself wins over both.
 */
import v8 from 'node:v8';
import { PanoptesError } from '../errors.js';

export const DEFAULT_HEAP_GROWING_PERCENT = 100;

/** The percentage to set, or undefined to leave V8 as it is. */
export function heapGrowingPercent(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): number | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  const text = env['PANOPTES_HEAP_GROWING_PERCENT'];
  if (text === undefined || text.trim() === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 1000) {
    throw new PanoptesError(
      'CONFIG_INVALID',
      `PANOPTES_HEAP_GROWING_PERCENT must be an integer from 0 to 1000 (0 = V8's own heuristic), not "${text}"`,
    );
  }
  return n === 0 ? undefined : n;
}

/** Applies heapGrowingPercent() to this process; returns the percentage set, if any. */
export function tuneHeapGrowth(): number | undefined {
  const percent = heapGrowingPercent();
  if (percent !== undefined) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
