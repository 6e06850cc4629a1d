/**
 * Benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- NAME [NAME...]` the
 * named ones. Each prints its table and writes bench/results/<name>.json.
 */
import { main as actors } from './actors.bench.js';
import { main as dsl } from './dsl.bench.js';
import { main as snmp } from './snmp.bench.js';

const BENCHES: Readonly<Record<string, () => void | Promise<void>>> = { dsl, snmp, actors };

async function run(argv: readonly string[]): Promise<number> {
  const names = argv.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (available: ${Object.keys(BENCHES).join(', ')})`);
    return 2;
  }
  for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
    console.log(`\n== ${name} ==`);
    await BENCHES[name]?.();
  }
  return 0;
}

process.exitCode = await run(process.argv.slice(2));
