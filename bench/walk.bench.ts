/**
 * Walk benchmark: one large device walked whole, the way a person debugging a device does it,
 * beside Net-SNMP's C `snmpbulkwalk`. The device is snmpsim's `cisco_16_switch` recording (a
 * Catalyst 3750 walk, 51,008 varbinds; Debian's snmpsim package ships it under
 * /usr/share/doc/snmpsim/examples/data), served by the project's simulator in a process of its
 * own. Subjects:
 *
 *   snmpbulkwalk            `snmpbulkwalk -v2c -Cr25 -On -Oq` of `1.3.6`, output to /dev/null
 *   panoptes snmp walk      `panoptes snmp walk --max-repetitions 25` of `1.3.6`, to /dev/null
 *   node -e 0               Node's own start, the floor of any Node command
 *   engine serial walk      the engine in one process walking the device one GETBULK at a time
 *                           (max-repetitions 25), WALK_WARMUP walks first (default 3), then
 *                           WALK_MEASURED walks (default 5) measured by process.cpuUsage
 *
 * Whole processes are run WALK_RUNS times each (default 10); their CPU is user + system of the
 * waited-for children (/proc/self/stat's cutime and cstime). A check run counts the varbinds each
 * command printed (snmpbulkwalk with -Ox so no value spans lines) and fails the benchmark if
 * either misses any. Goals: `panoptes snmp walk` within 1.5x of snmpbulkwalk's CPU; the serial
 * engine at or below snmpbulkwalk's CPU per varbind (its whole process: start and printing).
 *
 *   npm run bench -- walk
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';
import { startSimulator, stopSimulator } from './lib/simulator.js';
import { measure } from './startup.bench.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ENGINE = pathToFileURL(join(ROOT, 'dist', 'src', 'snmp', 'engine.js')).href;
export const RECORDING = '/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec.gz';
const COMMUNITY = 'cisco_16_switch';
const WALK_ROOT = '1.3.6';

/** `panoptes snmp walk` at most this many times snmpbulkwalk's whole-process CPU. */
export const WALK_CLI_GOAL = 1.5;

/**
 * Lines of stdout of one run that start with `prefix`, less snmpbulkwalk's closing
 * endOfMibView line ("No more variables left in this MIB View").
 */
function countLines(command: string, args: readonly string[], prefix: string): number {
  const r = spawnSync(command, args, { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${command} exited ${String(r.status)}: ${r.stderr.toString().slice(0, 400)}`);
  let n = 0;
  for (const line of r.stdout.toString('latin1').split('\n'))
    if (line.startsWith(prefix) && !line.includes('No more variables left')) n++;
  return n;
}

const SERIAL_SCRIPT = `
const { SnmpEngine } = await import(process.argv[1]);
const [port, warmup, measured] = process.argv.slice(2).map(Number);
const engine = new SnmpEngine({ decodeWorkers: 0, sockets: 1 });
const session = engine.session({ host: '127.0.0.1', port, community: '${COMMUNITY}', maxRepetitions: 25 });
let varbinds = 0;
const walk = () => session.walkEach('${WALK_ROOT}', (batch) => { varbinds += batch.length; });
let c0 = process.cpuUsage();
await walk();
const cold = process.cpuUsage(c0);
const coldVarbinds = varbinds;
for (let i = 1; i < warmup; i++) await walk();
varbinds = 0;
c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < measured; i++) await walk();
const c = process.cpuUsage(c0);
const wall = performance.now() - t0;
await session.close();
await engine.close();
console.log(JSON.stringify({ varbinds, measured, user: c.user / 1e6, system: c.system / 1e6, wall: wall / 1000,
  cold: (cold.user + cold.system) / 1e6, coldVarbinds }));
`;

interface SerialResult {
  readonly varbinds: number;
  readonly measured: number;
  readonly user: number;
  readonly system: number;
  readonly wall: number;
  readonly cold: number;
  readonly coldVarbinds: number;
}

function serialWalk(port: number, warmup: number, measured: number): Promise<SerialResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', SERIAL_SCRIPT, ENGINE, String(port), String(warmup), String(measured)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`serial walk exited ${String(code)}: ${err.slice(0, 400)}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as SerialResult);
    });
  });
}

/** The recording, unpacked into a directory of its own for the simulator's --data. */
function recordingDir(): string {
  let gz: Buffer;
  try {
    gz = readFileSync(RECORDING);
  } catch (e) {
    throw new Error(
      `${RECORDING}: ${(e as Error).message}; the walk benchmark needs Debian's snmpsim package ` +
        '(scripts/install-test-deps.sh installs it)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'panoptes-walk-'));
  writeFileSync(join(dir, `${COMMUNITY}.snmprec`), gunzipSync(gz));
  return dir;
}

export async function runWalkBench(): Promise<{ rows: BenchRow[]; varbinds: number }> {
  const runs = Math.max(1, Math.round(Number(process.env['WALK_RUNS'] ?? 10)));
  const warmup = Math.max(1, Math.round(Number(process.env['WALK_WARMUP'] ?? 3)));
  const measured = Math.max(1, Math.round(Number(process.env['WALK_MEASURED'] ?? 5)));
  const dir = recordingDir();
  const recorded = readFileSync(join(dir, `${COMMUNITY}.snmprec`), 'latin1')
    .split('\n')
    .filter((l) => l !== '').length;
  const sim = await startSimulator(['--data', dir]);
  const target = `${sim.host}:${sim.port}`;
  const bulkwalk = (extra: readonly string[]): string[] => [
    '-v2c',
    '-c',
    COMMUNITY,
    '-On',
    ...extra,
    '-Cr25',
    '-t',
    '5',
    '-r',
    '2',
    '-m',
    '',
    target,
    WALK_ROOT,
  ];
  const cliArgs = [CLI, 'snmp', 'walk', '-c', COMMUNITY, '--max-repetitions', '25', target, WALK_ROOT];
  const rows: BenchRow[] = [];
  const push = (subject: string, metric: string, value: number, unit: string): void => {
    rows.push({ bench: 'walk', subject, metric, value, unit });
  };
  try {
    // The check: both commands print every varbind of the recording.
    const printedC = countLines('snmpbulkwalk', bulkwalk(['-Oqx']), '.1.');
    const printedCli = countLines(process.execPath, cliArgs, '1.');
    for (const [who, n] of [
      ['snmpbulkwalk', printedC],
      ['panoptes snmp walk', printedCli],
    ] as const) {
      if (n !== recorded) throw new Error(`${who} printed ${n} varbinds of the recording's ${recorded}`);
    }
    // One run of each first, so the file system cache holds every file for all of them.
    measure(bulkwalk(['-Oq']), 1, 'snmpbulkwalk');
    measure(cliArgs, 1);
    const subjects: [string, string, string[]][] = [
      ['snmpbulkwalk', 'snmpbulkwalk', bulkwalk(['-Oq'])],
      ['panoptes snmp walk', process.execPath, cliArgs],
      ['node -e 0', process.execPath, ['-e', '0']],
    ];
    for (const [name, command, args] of subjects) {
      const m = measure(args, runs, command);
      push(name, 'CPU per run', m.cpuMs, 'ms (mean)');
      push(name, 'wall per run', m.wallMs, 'ms (median)');
      if (name !== 'node -e 0') push(name, 'CPU per varbind', (m.cpuMs * 1000) / recorded, 'us');
    }
    const serial = await serialWalk(sim.port, warmup, measured);
    if (serial.varbinds !== recorded * measured) {
      throw new Error(
        `the serial walks returned ${serial.varbinds} varbinds, expected ${recorded * measured}`,
      );
    }
    const perVarbind = (s: number): number => (s * 1e6) / serial.varbinds;
    push(
      'engine serial walk',
      'CPU per walk',
      ((serial.user + serial.system) * 1000) / measured,
      'ms (mean)',
    );
    push('engine serial walk', 'wall per walk', (serial.wall * 1000) / measured, 'ms (mean)');
    push('engine serial walk', 'CPU per varbind', perVarbind(serial.user + serial.system), 'us');
    push('engine serial walk', 'user CPU per varbind', perVarbind(serial.user), 'us');
    push('engine serial walk', 'first walk CPU per varbind', (serial.cold * 1e6) / serial.coldVarbinds, 'us');
    const c = rows.find((r) => r.subject === 'snmpbulkwalk' && r.metric === 'CPU per run')?.value ?? 0;
    const cli =
      rows.find((r) => r.subject === 'panoptes snmp walk' && r.metric === 'CPU per run')?.value ?? 0;
    const cPerVb = (c * 1000) / recorded;
    push(
      'panoptes snmp walk',
      `CPU ratio to snmpbulkwalk (goal <= ${WALK_CLI_GOAL})`,
      c > 0 ? cli / c : 0,
      'x',
    );
    push(
      'engine serial walk',
      'CPU per varbind ratio to snmpbulkwalk (goal <= 1)',
      cPerVb > 0 ? perVarbind(serial.user + serial.system) / cPerVb : 0,
      'x',
    );
  } finally {
    await stopSimulator(sim);
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, varbinds: recorded };
}

export async function main(): Promise<void> {
  const { rows, varbinds } = await runWalkBench();
  printTable(rows, 'snmpbulkwalk');
  const file = writeResults('walk', rows, {
    recording: 'snmpsim cisco_16_switch',
    varbinds,
    root: WALK_ROOT,
    maxRepetitions: 25,
    runs: Number(process.env['WALK_RUNS'] ?? 10),
  });
  console.log(`\nwrote ${file}`);
}
