/**
 * `gnmi` (issue 19, item 5): updates per CPU-second through decode, mapping and rates for
 * 1,000 streaming targets x 24 interfaces at 10 s samples, beside the SNMP pipeline's figure
 * for the same fleet, side by side in one run.
 *
 * One simulator process (`panoptes simulate --synthetic 1000:24 --gnmi-port 0`: the same
 * synthetic devices over SNMP and gNMI, the same counters) serves every subject; each subject
 * runs alone in a process of its own (bench/gnmi-subject.ts), so the CPU time measured
 * (process.cpuUsage, user + system, over whole intervals) is that process's only:
 *
 *   gNMI JSON_IETF   a GnmiStream per device, each with its own GnmiClient and connection,
 *                    SAMPLE every 10 s, JSON_IETF (the plugin's default; the simulator sends
 *                    a container per update: an interface's counters, its state, its Ethernet
 *                    state), mapped by openconfig-interfaces, collected every interval and
 *                    through the rate transform with a CounterHistory per device
 *   gNMI PROTO       the same with PROTO encoding: one update per leaf, as many targets send
 *   SNMP             the interface-polling plugin (if-mib profile, one GetBulk per device,
 *                    the interface enrichment joined) run by a PollingAgent every 10 s, then the
 *                    same rate transform
 *
 * Both turn the same eight counters into rates, and stop there (no publishing: what differs
 * between the protocols is decode and mapping). The figure that compares is the CPU per
 * interface sample (one `interface` group with its eight rates, per device and interval);
 * updates per CPU-second are given too, but a gNMI update is a container or a leaf and an SNMP
 * varbind one value, so they count different things. Each subject's last interval checks every
 * rate of every interface against the simulator's formulas (within 1%); a failure fails the
 * benchmark. Memory is the subject process's RSS and heap after a GC at the end.
 *
 * Environment: GNMI_BENCH_DEVICES (default 1000), GNMI_BENCH_INTERVALS (measured intervals,
 * default 6; quick 2), GNMI_BENCH_INTERVAL (seconds, default 10), GNMI_BENCH_SUBJECTS (default
 * `gnmi-json,gnmi-proto,snmp`; also `gnmi-shared`: JSON_IETF with every stream over one
 * connection, and `gnmi-plugin`: the gnmi-telemetry plugin run by a PollingAgent, as SNMP's
 * plugin is, its streams over one connection as the plugin opens them to one address),
 * GNMI_BENCH_LOG (the subjects' log level, default warn).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SubjectResult, SubjectTask } from './gnmi-subject.js';
import type { BenchRow } from './lib/report.js';
import { printTable, writeResults } from './lib/report.js';
import { processCpu, startSimulator, stopSimulator } from './lib/simulator.js';
import type { SimulatorProcess } from './lib/simulator.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const INTERFACES = 24;

interface SubjectSpec {
  readonly label: string;
  readonly kind: SubjectTask['kind'];
  readonly encoding?: 'JSON_IETF' | 'PROTO';
  readonly sharedConnection?: boolean;
}

export const GNMI_SUBJECTS: Readonly<Record<string, SubjectSpec>> = {
  'gnmi-json': { label: 'gNMI JSON_IETF', kind: 'gnmi', encoding: 'JSON_IETF' },
  'gnmi-proto': { label: 'gNMI PROTO', kind: 'gnmi', encoding: 'PROTO' },
  /** JSON_IETF, every stream over one connection. */
  'gnmi-shared': {
    label: 'gNMI one connection',
    kind: 'gnmi',
    encoding: 'JSON_IETF',
    sharedConnection: true,
  },
  /** JSON_IETF through the gnmi-telemetry plugin run by a PollingAgent. */
  'gnmi-plugin': { label: 'gNMI plugin', kind: 'gnmi-plugin', encoding: 'JSON_IETF' },
  snmp: { label: 'SNMP', kind: 'snmp' },
};

const DEFAULT_SUBJECTS = 'gnmi-json,gnmi-proto,gnmi-plugin,snmp';

/** The reference subject of the tables. */
export const GNMI_REFERENCE = 'SNMP';

/** What one sample of one device holds over gNMI: updates (by encoding) and leaf values. */
async function gnmiSampleShape(interfaces: number): Promise<{ leaves: number; containers: number }> {
  // Loaded here: the report (markdown.ts) imports this module and needs no gRPC.
  const { syntheticGnmiGroups } = await import('../src/sim/gnmi-simulator.js');
  const groups = syntheticGnmiGroups(1, interfaces, 0).filter((g) => g.prefix[0]?.[0] === 'interfaces');
  return {
    containers: groups.length,
    leaves: groups.reduce((n, g) => n + Object.keys(g.leaves).length, 0),
  };
}

/** Established TCP connections to `port` on this machine (their client side), from /proc. */
function connectionsTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[2]?.endsWith(`:${hex}`) === true && f[3] === '01') n++;
    }
  }
  return n;
}

interface Measured {
  readonly result: SubjectResult;
  /** The simulator's CPU over the window, cores. */
  readonly simulatorCores: number;
  /** gnmi: TCP connections to the target when the window opened. */
  readonly connections?: number;
}

/** Runs one subject in its own process; the simulator's CPU is read when its window opens and closes. */
function runSubject(
  task: SubjectTask,
  sim: SimulatorProcess,
  gnmiPort: number,
  progress: (t: string) => void,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'gnmi-subject.ts'), JSON.stringify(task)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = sim.child.pid ?? 0;
    let simStart: { cpu: number; at: number } | undefined;
    let simCores = 0;
    let connections: number | undefined;
    let result: SubjectResult | undefined;
    const simCpu = (): number => {
      const c = processCpu(pid);
      return c.user + c.system;
    };
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let m: { progress?: string; mark?: string; result?: SubjectResult };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        console.log(line);
        return;
      }
      if (m.progress !== undefined) progress(`gnmi: ${m.progress}`);
      if (m.mark === 'start') {
        simStart = { cpu: simCpu(), at: performance.now() };
        if (task.kind !== 'snmp') connections = connectionsTo(gnmiPort);
      }
      if (m.mark === 'end' && simStart !== undefined)
        simCores = (simCpu() - simStart.cpu) / ((performance.now() - simStart.at) / 1000);
      if (m.result !== undefined) result = m.result;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 && result !== undefined)
        resolve({
          result,
          simulatorCores: simCores,
          ...(connections === undefined ? {} : { connections }),
        });
      else reject(new Error(`gnmi bench: the ${task.kind} subject exited with ${String(code)}`));
    });
  });
}

function positive(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

export async function main(options: { quick?: boolean; progress?: (t: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? ((t: string) => console.log(t));
  const devices = positive('GNMI_BENCH_DEVICES', 1000);
  const intervals = positive('GNMI_BENCH_INTERVALS', options.quick === true ? 2 : 6);
  const intervalSeconds = positive('GNMI_BENCH_INTERVAL', 10);
  const names = (process.env['GNMI_BENCH_SUBJECTS'] ?? DEFAULT_SUBJECTS).split(',');
  const unknown = names.filter((n) => !Object.hasOwn(GNMI_SUBJECTS, n));
  if (unknown.length > 0)
    throw new Error(
      `GNMI_BENCH_SUBJECTS: unknown ${unknown.join(', ')} (known: ${Object.keys(GNMI_SUBJECTS).join(', ')})`,
    );
  const shape = await gnmiSampleShape(INTERFACES);
  const sim = await startSimulator(['--synthetic', `${devices}:${INTERFACES}`, '--gnmi-port', '0']);
  const rows: BenchRow[] = [];
  try {
    const gnmiPort = sim.gnmiPort;
    if (gnmiPort === undefined) throw new Error('gnmi bench: the simulator did not say its gNMI port');
    for (const name of names) {
      const spec = GNMI_SUBJECTS[name] as SubjectSpec;
      const task: SubjectTask = {
        kind: spec.kind,
        devices,
        interfaces: INTERFACES,
        intervalSeconds,
        intervals,
        port: spec.kind === 'snmp' ? sim.port : gnmiPort,
        ...(spec.encoding === undefined ? {} : { encoding: spec.encoding }),
        ...(spec.sharedConnection === undefined ? {} : { sharedConnection: spec.sharedConnection }),
      };
      progress(`gnmi: ${spec.label}: starting`);
      const m = await runSubject(task, sim, gnmiPort, progress);
      const r = m.result;
      const missed = r.expectedInterfaceGroups - r.interfaceGroups;
      if (r.failedRuns > 0.01 * r.runs || missed > 0.01 * r.expectedInterfaceGroups)
        throw new Error(
          `gnmi bench, ${spec.label}: ${r.failedRuns} of ${r.runs} runs failed and ${missed} of ` +
            `${r.expectedInterfaceGroups} interface samples are missing (first failure: ${r.firstFailure ?? 'none'})`,
        );
      const leaves =
        spec.kind === 'snmp'
          ? r.updates
          : spec.encoding === 'PROTO'
            ? r.updates
            : (r.updates * shape.leaves) / shape.containers;
      const cpu = r.cpuSeconds;
      const deviceIntervals = devices * intervals;
      const push = (metric: string, value: number, unit: string): void => {
        rows.push({ bench: 'gnmi', subject: spec.label, metric, value, unit });
      };
      push('CPU per interface sample', (cpu / r.interfaceGroups) * 1e6, 'us');
      push('interface samples per CPU-second', r.interfaceGroups / cpu, 'samples/CPU-s');
      push('updates per CPU-second', r.updates / cpu, 'updates/CPU-s');
      push('leaf values per CPU-second', leaves / cpu, 'values/CPU-s');
      push('rates per CPU-second', r.rates / cpu, 'rates/CPU-s');
      push('CPU per device and interval', (cpu / deviceIntervals) * 1000, 'ms');
      push('CPU used', cpu / r.wallSeconds, 'cores');
      push('CPU used, quietest interval', Math.min(...r.perInterval) / intervalSeconds, 'cores');
      push('CPU used, busiest interval', Math.max(...r.perInterval) / intervalSeconds, 'cores');
      push('kernel share of the CPU', (100 * r.systemSeconds) / cpu, '%');
      push('updates per interface sample', r.updates / r.interfaceGroups, 'updates');
      push('leaf values per interface sample', leaves / r.interfaceGroups, 'values');
      push('interface samples', r.interfaceGroups, 'samples');
      push('interface samples missed', missed, 'samples');
      push('runs late by over 1 s', r.lateRuns, 'runs');
      if (m.connections !== undefined) push('TCP connections to the target', m.connections, 'connections');
      if (spec.kind !== 'snmp') push('stream reconnects', r.reconnects, 'reconnects');
      push('RSS at the end', r.rss / 2 ** 20, 'MiB');
      push('heap at the end, after GC', r.heap / 2 ** 20, 'MiB');
      push('RSS per device', (r.rss - r.baseRss) / devices / 1024, 'KiB');
      push('heap per device, after GC', (r.heap - r.baseHeap) / devices / 1024, 'KiB');
      push('simulator CPU', m.simulatorCores, 'cores');
      console.log(
        `${spec.label}: ${r.checked} interfaces' rates checked against the simulator's formulas; ` +
          `rate skips in the window: ${JSON.stringify(r.rateSkips)}; malformed ${r.malformed}, unusable ${r.unusable}`,
      );
    }
  } finally {
    await stopSimulator(sim);
  }
  printTable(rows, GNMI_REFERENCE);
  const file = writeResults('gnmi', rows, {
    devices,
    interfaces: INTERFACES,
    intervalSeconds,
    intervals,
    subjects: names,
    gnmiLeavesPerInterface: shape.leaves / INTERFACES,
    gnmiContainersPerInterface: shape.containers / INTERFACES,
  });
  console.log(`\nwrote ${file}`);
}
