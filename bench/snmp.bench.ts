/**
 * SNMP benchmark: the same bulk walk (`1.3.6.1.2.1`: system group, ifTable, ifXTable) of every
 * device of a synthetic fleet served by the project's simulator on loopback, by
 *   (a) the project's engine, decoding inline,
 *   (b) the project's engine with a Piscina decode pool,
 *   (c) the net-snmp npm session API (a session per device, subtree()) as a naive user would,
 *   (d) net-snmp's C snmpbulkwalk, one process per device,
 *   (e) Prometheus snmp_exporter scraping every device with an if_mib-style module
 *       (bench/snmp_exporter/snmp.yml).
 * The simulator serves every device on its own port under one community (snmp_exporter takes
 * one community per module), the same way for every subject. Each subject runs in its own
 * process(es); what is reported is the CPU time of the polling process, not the simulator's:
 * varbinds, CPU-seconds, CPU microseconds per varbind, and the ratio to snmpbulkwalk.
 *
 *   npm run bench -- snmp            (SNMP_BENCH_DEVICES, SNMP_BENCH_INTERFACES to resize)
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './lib/report.js';
import type { BenchRow } from './lib/report.js';
import { processCpu, startSimulator, stopSimulator } from './lib/simulator.js';
import { snmpExporterSubject } from './snmp-exporter.js';
import type { PollerResult, PollerSubject, PollerTask } from './snmp-poller.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The community every simulated device answers to (one port per device). */
const COMMUNITY = 'public';

/** CPU seconds (user + system) a process has used so far. */
function processCpuSeconds(pid: number): number {
  const { user, system } = processCpu(pid);
  return user + system;
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${String(code)}: ${err}`)),
    );
  });
}

async function nodeSubject(task: PollerTask): Promise<PollerResult> {
  const out = await run(process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'bench', 'snmp-poller.ts'),
    JSON.stringify(task),
  ]);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PollerResult;
}

/**
 * snmpbulkwalk once per device, `concurrency` at a time, under one bash whose `times` builtin
 * reports the CPU of every finished descendant.
 */
async function snmpbulkwalkSubject(task: Omit<PollerTask, 'subject'>): Promise<PollerResult> {
  const ports = Array.from({ length: task.devices }, (_, i) => task.port + i).join('\n');
  const script = [
    `printf '%s\\n' "$PORTS" | xargs -P ${task.concurrency} -I{} \\`,
    `  snmpbulkwalk -v2c -c ${COMMUNITY} -On -Oq -Cr${task.maxRepetitions} -t 5 -r 2 -m '' ${task.host}:{} ${task.root} \\`,
    `  | grep -vc 'No more variables left'`,
    'times',
  ].join('\n');
  const t0 = performance.now();
  const out = await run('bash', ['-c', script], { ...process.env, PORTS: ports, MIBS: '' });
  const wallSeconds = (performance.now() - t0) / 1000;
  const lines = out.trim().split('\n');
  const varbinds = Number(lines[0]);
  // `times`: shell user/sys, then children user/sys, as "XmY.YYYs XmY.YYYs".
  const seconds = (s: string): number => {
    const m = /(\d+)m([\d.]+)s/.exec(s);
    return m === null ? 0 : Number(m[1]) * 60 + Number(m[2]);
  };
  const children = (lines.at(-1) ?? '').split(/\s+/);
  const userSeconds = seconds(children[0] ?? '');
  const cpuSeconds = userSeconds + seconds(children[1] ?? '');
  return { varbinds, cpuSeconds, userSeconds, wallSeconds, errors: 0 };
}

export interface SnmpBenchOptions {
  readonly devices?: number;
  readonly interfaces?: number;
  readonly maxRepetitions?: number;
}

export async function runSnmpBench(options: SnmpBenchOptions = {}): Promise<BenchRow[]> {
  const devices = options.devices ?? Number(process.env['SNMP_BENCH_DEVICES'] ?? 500);
  const interfaces = options.interfaces ?? Number(process.env['SNMP_BENCH_INTERFACES'] ?? 24);
  const maxRepetitions = options.maxRepetitions ?? 25;
  const sim = await startSimulator([
    '--synthetic',
    `${devices}:${interfaces}`,
    '--port-per-device',
    '--community',
    COMMUNITY,
  ]);
  const base = {
    host: sim.host,
    port: sim.port,
    community: COMMUNITY,
    devices,
    root: '1.3.6.1.2.1',
    maxRepetitions,
    concurrency: 64,
    warmup: 50,
  };
  const results = new Map<string, PollerResult>();
  const simCpu0 = processCpuSeconds(sim.child.pid ?? 0);
  let simCpu = 0;
  let simVarbinds = 0;
  try {
    results.set('snmpbulkwalk', await snmpbulkwalkSubject({ ...base, concurrency: 4 }));
    const subjects: PollerSubject[] = ['engine-inline', 'engine-pool', 'net-snmp'];
    for (const subject of subjects) results.set(subject, await nodeSubject({ ...base, subject, workers: 1 }));
    const engine = results.get('engine-inline');
    const perDevice = engine === undefined ? 0 : engine.varbinds / Math.max(1, devices - engine.errors);
    results.set('snmp_exporter', await snmpExporterSubject(base, interfaces, perDevice));
  } finally {
    simCpu = processCpuSeconds(sim.child.pid ?? 0) - simCpu0;
    // Its stats line on stopping counts every varbind it answered.
    simVarbinds = Number(/(\d+) varbinds/.exec(await stopSimulator(sim))?.[1] ?? 0);
  }
  const rows: BenchRow[] = [];
  for (const [subject, r] of results) {
    const push = (metric: string, value: number, unit: string): void => {
      rows.push({ bench: 'snmp', subject, metric, value, unit });
    };
    const per = (seconds: number): number => (seconds / Math.max(1, r.varbinds)) * 1e6;
    push('cpu_us_per_varbind', per(r.cpuSeconds), 'us');
    push('user_us_per_varbind', per(r.userSeconds), 'us');
    push('system_us_per_varbind', per(r.cpuSeconds - r.userSeconds), 'us');
    push('varbinds', r.varbinds, 'varbinds');
    push('cpu_seconds', r.cpuSeconds, 's');
    push('wall_seconds', r.wallSeconds, 's');
    push('errors', r.errors, 'devices');
  }
  // The load generator itself: everything it answered (warm-ups included) per CPU-second it used.
  rows.push({
    bench: 'snmp',
    subject: 'simulator',
    metric: 'simulator_varbinds_per_cpu_second',
    value: simCpu > 0 ? simVarbinds / simCpu : 0,
    unit: 'varbinds/s',
  });
  return rows;
}

export async function main(): Promise<void> {
  const rows = await runSnmpBench();
  printTable(rows, 'snmpbulkwalk');
  const file = writeResults('snmp', rows, {
    root: '1.3.6.1.2.1',
    devices: Number(process.env['SNMP_BENCH_DEVICES'] ?? 500),
    interfaces: Number(process.env['SNMP_BENCH_INTERFACES'] ?? 24),
    note: 'CPU of the polling process only; one simulator port per device, community public',
  });
  console.log(`\nwritten: ${file}`);
}
