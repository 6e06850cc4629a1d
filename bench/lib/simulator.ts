/**
 * The project's SNMP simulator as a process of its own (`panoptes simulate` from the built CLI),
 * so that benchmarks count only the CPU of the process they measure; and the CPU time of any
 * other process, from /proc.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI } from '../../test/support/cluster.js';

export interface SimulatorProcess {
  readonly child: ChildProcess;
  readonly host: string;
  /** Its port, or the first device's with `--port-per-device`. */
  readonly port: number;
  /** The gNMI port, when started with `--gnmi-port`. */
  readonly gnmiPort?: number;
  /** What it wrote on stderr so far (its stats line once stopped). */
  readonly stderr: () => string;
}

/**
 * Starts `panoptes simulate --port 0 ARGS...` and resolves once it prints its listening line
 * (at most 30 s), and with `--gnmi-port` its gNMI listening line too.
 */
export function startSimulator(args: readonly string[]): Promise<SimulatorProcess> {
  return spawnSimulator([CLI, 'simulate', '--port', '0', ...args]);
}

/** The built simulator module, for a simulator with options the CLI does not offer. */
const SIMULATOR_MODULE = pathToFileURL(join(dirname(CLI), '..', 'sim', 'simulator.js')).href;

const HEALTH_SCRIPT = `
const { SnmpSimulator } = await import(process.argv[1]);
const sim = await SnmpSimulator.start({
  host: '127.0.0.1',
  port: 0,
  synthetic: { devices: Number(process.argv[2]), interfaces: Number(process.argv[3]), health: true },
});
console.log('listening on ' + sim.address + ':' + sim.port);
process.once('SIGTERM', () => void sim.close().then(() => process.exit(0)));
`;

/**
 * A simulator of synthetic devices that also answer the device-health set (CPU, memory,
 * storage, load, temperatures: SyntheticFleet.health), from the built module in a process of its
 * own like `panoptes simulate`.
 */
export function startHealthSimulator(devices: number, interfaces: number): Promise<SimulatorProcess> {
  return spawnSimulator([
    '--input-type=module',
    '-e',
    HEALTH_SCRIPT,
    SIMULATOR_MODULE,
    String(devices),
    String(interfaces),
  ]);
}

function spawnSimulator(argv: readonly string[]): Promise<SimulatorProcess> {
  const gnmi = argv.includes('--gnmi-port');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`simulator did not start in 30 s: ${out}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on ([\d.]+):(\d+)/.exec(out);
      const g = /gnmi listening on [\d.]+:(\d+)/.exec(out);
      if (m !== null && (!gnmi || g !== null)) {
        clearTimeout(timer);
        resolve({
          child,
          host: m[1] ?? '127.0.0.1',
          port: Number(m[2]),
          ...(g === null ? {} : { gnmiPort: Number(g[1]) }),
          stderr: () => err,
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${String(code)}: ${out}`));
    });
  });
}

/** Stops the simulator (SIGTERM) and resolves with everything it wrote on stderr. */
export function stopSimulator(sim: SimulatorProcess): Promise<string> {
  return new Promise((resolve) => {
    if (sim.child.exitCode !== null) {
      resolve(sim.stderr());
      return;
    }
    sim.child.once('exit', () => resolve(sim.stderr()));
    sim.child.kill('SIGTERM');
  });
}

/** CPU seconds (user, system) a process has used so far, from /proc/PID/stat. */
export function processCpu(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name, in clock ticks.
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}
