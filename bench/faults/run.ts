/**
 * The fault suite (FAULTS.md):
 *   npm run faults                  every fault, each in a fresh deployment (about 45 minutes)
 *   npm run faults -- redis kafka   the named ones; the others keep their last results
 *   npm run faults -- report        only rewrite FAULTS.md from bench/results/faults.json
 *   npm run faults -- --list        the faults' names
 * Environment (defaults in brackets): FAULT_SECONDS [30] how long each fault is held;
 * FAULT_DEVICES [20], FAULT_INTERFACES [24], FAULT_INTERVAL [10 s]; FAULT_WARMUP_SECONDS [30];
 * FAULT_OBSERVE_SECONDS [60] watched after the end; FAULT_SESSION_TIMEOUT_MS [6000];
 * FAULT_GRACE_SECONDS [30] for SIGTERM; FAULT_TSDB_DELAY_MS [10000]; FAULT_DEVICE_DELAY_MS [5000];
 * FAULT_BROKEN_DEVICES [a quarter of the devices].
 *
 * Each fault runs in a child process of its own, so that nothing one leaves behind weighs on the
 * next; its result goes to bench/results/faults.json, then FAULTS.md is written from that file.
 * Logs of every stage process: $TMPDIR/panoptes-faults/<fault>/<process>.log.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../lib/report.js';
import { FAULTS, faultNamed } from './faults.js';
import { FaultRun, settingsFromEnv } from './harness.js';
import type { FaultResult, FaultSettings } from './harness.js';
import { FAULTS_JSON, readFaultsFile, writeFaultsMd } from './report.js';
import type { FaultsFile } from './report.js';

const ORDER = FAULTS.map((f) => f.name);

/** `--child NAME --out FILE`: runs one fault here and writes its result to FILE. */
async function runChild(name: string, out: string): Promise<number> {
  const fault = faultNamed(name);
  if (fault === undefined) return 2;
  const run = new FaultRun(fault, settingsFromEnv());
  process.once('SIGTERM', () => {
    run.abort();
    process.exit(1);
  });
  const result = await run.execute();
  writeFileSync(out, `${JSON.stringify(result)}\n`);
  return 0;
}

function childBoundMs(s: FaultSettings): number {
  return (s.warmupSeconds + s.faultSeconds + s.observeSeconds + 600) * 1000;
}

/** Runs one fault in a child process (bounded); its result, or undefined. */
function runIsolated(name: string, settings: FaultSettings): Promise<FaultResult | undefined> {
  const dir = join(tmpdir(), 'panoptes-faults');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}.result.json`);
  rmSync(out, { force: true });
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', name, '--out', out], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      console.error(`faults: ${name} ran longer than ${childBoundMs(settings) / 1000} s: stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }, childBoundMs(settings));
    child.once('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(readFileSync(out, 'utf8')) as FaultResult);
      } catch {
        resolve(undefined);
      }
    });
  });
}

function summary(r: FaultResult): string {
  const g = r.groups;
  const figures =
    g === null
      ? 'not counted'
      : `expected ${g.expected}, delivered ${g.delivered}, duplicates ${g.duplicates}, lost ${g.lost}`;
  const rec = r.recovery === null ? 'n/a' : r.recovery.seconds === null ? 'none' : `${r.recovery.seconds} s`;
  return (
    `${r.name}: ${figures}; recovery ${rec}; processes up ${r.allUp ? 'yes' : 'no'}; ` +
    `log start ${r.logs.start === null ? 'n/a' : r.logs.start ? 'yes' : 'no'}, end ${r.logs.end === null ? 'n/a' : r.logs.end ? 'yes' : 'no'}; ` +
    `goal ${r.goal.met ? 'met' : `not met (${r.goal.reasons.join('; ')})`}`
  );
}

async function run(argv: readonly string[]): Promise<number> {
  const child = argv.indexOf('--child');
  if (child >= 0) {
    const out = argv[argv.indexOf('--out') + 1] ?? '';
    return runChild(argv[child + 1] ?? '', out);
  }
  if (argv.includes('--list')) {
    for (const f of FAULTS) console.log(`${f.name.padEnd(16)} ${f.title}`);
    return 0;
  }
  const names = argv.filter((a) => !a.startsWith('-'));
  const flags = argv.filter((a) => a.startsWith('-'));
  if (names.length === 1 && names[0] === 'report' && flags.length === 0) {
    const shown = await writeFaultsMd(ORDER);
    console.log(`wrote FAULTS.md: ${shown.join(', ')}`);
    return 0;
  }
  const unknown = names.filter((x) => faultNamed(x) === undefined);
  if (unknown.length > 0 || flags.length > 0) {
    console.error(
      `unknown ${unknown.length > 0 ? `fault: ${unknown.join(', ')}` : `option: ${flags.join(', ')}`} ` +
        `(faults: ${ORDER.join(', ')}; or report alone; or --list)`,
    );
    return 2;
  }
  let settings: FaultSettings;
  try {
    settings = settingsFromEnv();
  } catch (e) {
    console.error(`faults: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const selected = names.length > 0 ? names : ORDER;
  const started = Date.now();
  const previous = await readFaultsFile();
  const faults: Record<string, FaultResult> = { ...(previous?.faults ?? {}) };
  const failed: string[] = [];
  for (const [i, name] of selected.entries()) {
    console.log(`\n== ${name} (${i + 1}/${selected.length}) ==`);
    const result = await runIsolated(name, settings);
    if (result === undefined) {
      failed.push(name);
      console.error(`faults: ${name} produced no result`);
      continue;
    }
    faults[name] = result;
    console.log(summary(result));
    const file: FaultsFile = {
      machine: machineInfo(),
      command: [
        ...Object.entries(process.env)
          .filter(([k]) => k.startsWith('FAULT_'))
          .map(([k, v]) => `${k}=${v ?? ''}`),
        'npm run faults',
        ...(names.length > 0 ? ['--', ...names] : []),
      ].join(' '),
      seconds: (Date.now() - started) / 1000,
      faults,
    };
    mkdirSync(dirname(FAULTS_JSON), { recursive: true });
    writeFileSync(FAULTS_JSON, `${JSON.stringify(file, null, 1)}\n`);
  }
  if (Object.keys(faults).length > 0) {
    const shown = await writeFaultsMd(ORDER);
    console.log(`\nwrote ${FAULTS_JSON} and FAULTS.md (${shown.length} faults)`);
  }
  console.log(`faults: ${selected.length} run in ${((Date.now() - started) / 60_000).toFixed(1)} minutes`);
  if (failed.length > 0) {
    console.error(`faults: no result for ${failed.join(', ')}`);
    return 1;
  }
  return 0;
}

const argv = process.argv.slice(2);
const code = await run(argv);
// A fault's child exits at once: what a run leaves open must not keep it alive.
if (argv.includes('--child')) process.exit(code);
process.exitCode = code;
