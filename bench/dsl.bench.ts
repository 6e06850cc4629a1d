/**
 * DSL benchmark: filters 100k synthetic resources with a 6-clause query, by the compiled
 * predicate and by the straightforward AST-walking interpreter, and reports resources per
 * CPU-second for each and their ratio. Both must select the same resources.
 *
 *   npm run bench -- dsl
 */
import { compileFilter, evaluateFilter, parseFilter } from '../src/dsl/index.js';
import type { FilterableResource } from '../src/dsl/index.js';
import { cpuSeconds, printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';

export const DSL_QUERY = `resource_class = 'network'
  AND resource_site IN ('dc1', 'dc2', 'dc3')
  AND resource_metadata.os LIKE 'ios%'
  AND NOT resource_subclass = 'firewall'
  AND (resource_type != 'juniper' OR resource_metadata.role NOT IN ('core', 'edge'))`;

/** A small deterministic PRNG (mulberry32), so every run filters the same resources. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticResources(count: number, seed = 42): FilterableResource[] {
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const out: FilterableResource[] = [];
  for (let i = 0; i < count; i++) {
    const metadata: Record<string, string> = { model: pick(['c9300', 'mx480', 'r740', 'n9k']) };
    if (rand() < 0.9) metadata['os'] = pick(['ios-xe', 'ios-xr', 'junos', 'nxos', 'linux']);
    if (rand() < 0.7) metadata['role'] = pick(['core', 'edge', 'access', 'leaf']);
    out.push({
      resource_id: `device-${String(i).padStart(6, '0')}`,
      resource_site: pick(['dc1', 'dc2', 'dc3', 'dc4', 'dc5', 'dc6']),
      resource_class: pick(['network', 'network', 'server', 'storage']),
      resource_subclass: pick(['switch', 'router', 'firewall', 'linux']),
      resource_type: pick(['cisco', 'juniper', 'arista', 'dell']),
      resource_endpoint: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      resource_creation_plugin: 'discovery_from_file',
      resource_metadata: metadata,
    });
  }
  return out;
}

export interface DslBenchOptions {
  readonly resources?: number;
  readonly rounds?: number;
}

export function runDslBench(options: DslBenchOptions = {}): BenchRow[] {
  const count = options.resources ?? 100_000;
  const rounds = options.rounds ?? 10;
  const resources = syntheticResources(count);
  const ast = parseFilter(DSL_QUERY);
  const compiled = compileFilter(DSL_QUERY);

  const countCompiled = (): number => {
    let n = 0;
    for (const r of resources) if (compiled(r)) n++;
    return n;
  };
  const countInterpreted = (): number => {
    let n = 0;
    for (const r of resources) if (evaluateFilter(ast, r)) n++;
    return n;
  };

  const selected = countCompiled();
  if (selected !== countInterpreted()) throw new Error('compiled and interpreted filters disagree');
  for (let i = 0; i < 3; i++) {
    countCompiled();
    countInterpreted();
  }

  // Alternate the subjects round by round so both see the same machine conditions.
  let compiledCpu = 0;
  let interpretedCpu = 0;
  let bestCompiledWall = Infinity;
  for (let i = 0; i < rounds; i++) {
    const c = cpuSeconds(countCompiled);
    const t = cpuSeconds(countInterpreted);
    compiledCpu += c.cpu;
    interpretedCpu += t.cpu;
    bestCompiledWall = Math.min(bestCompiledWall, c.wall);
  }
  const total = count * rounds;
  return [
    {
      bench: 'dsl',
      subject: 'interpreted',
      metric: 'resources_per_cpu_second',
      value: total / interpretedCpu,
      unit: 'resources/s',
    },
    {
      bench: 'dsl',
      subject: 'compiled',
      metric: 'resources_per_cpu_second',
      value: total / compiledCpu,
      unit: 'resources/s',
    },
    {
      bench: 'dsl',
      subject: 'interpreted',
      metric: 'cpu_ms_per_100k',
      value: (interpretedCpu / rounds / count) * 1e8,
      unit: 'ms',
    },
    {
      bench: 'dsl',
      subject: 'compiled',
      metric: 'cpu_ms_per_100k',
      value: (compiledCpu / rounds / count) * 1e8,
      unit: 'ms',
    },
    {
      bench: 'dsl',
      subject: 'compiled',
      metric: 'best_wall_ms_per_100k',
      value: (bestCompiledWall / count) * 1e8,
      unit: 'ms',
    },
    { bench: 'dsl', subject: 'compiled', metric: 'selected', value: selected, unit: 'resources' },
  ];
}

export function main(): void {
  const rows = runDslBench();
  console.log(`dsl: ${DSL_QUERY.replace(/\s+/g, ' ')}`);
  printTable(rows, 'interpreted');
  const file = writeResults('dsl', rows, { query: DSL_QUERY, resources: 100_000 });
  console.log(`\nwritten: ${file}`);
}
