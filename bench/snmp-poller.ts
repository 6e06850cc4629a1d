/**
 * One subject of the SNMP benchmark, run as its own process so its CPU time is its own: walks
 * `root` on every synthetic device of the simulator and prints
 * `{"varbinds":N,"cpuSeconds":C,"wallSeconds":W}` on stdout. CPU is measured from the start of
 * polling to its end (process.cpuUsage covers every thread of the process, workers included).
 *
 *   node --import tsx bench/snmp-poller.ts '{"subject":"engine-inline","port":16300,...}'
 */
import snmp from 'net-snmp';
import { SnmpEngine } from '../src/snmp/engine.js';
import { syntheticCommunity } from '../src/sim/synthetic.js';

export type PollerSubject = 'engine-inline' | 'engine-pool' | 'net-snmp';

export interface PollerTask {
  readonly subject: PollerSubject;
  readonly host: string;
  /** The simulator's port, or with `community` the port of the first device. */
  readonly port: number;
  /**
   * Set when the simulator runs with one port per device: device i (from 0) answers on
   * `port + i` under this community. Unset: every device on `port`, community `sim-DDDDD`.
   */
  readonly community?: string;
  readonly devices: number;
  readonly root: string;
  readonly maxRepetitions: number;
  /** Devices walked at once. */
  readonly concurrency: number;
  /** Worker threads for engine-pool. */
  readonly workers?: number;
  /** Devices walked once before measuring, so the JIT has warmed up. */
  readonly warmup?: number;
}

export interface PollerResult {
  readonly varbinds: number;
  readonly cpuSeconds: number;
  /** User-mode share of cpuSeconds (the client's own code); the rest is kernel time. */
  readonly userSeconds: number;
  readonly wallSeconds: number;
  readonly errors: number;
}

/** Where device i (from 0) answers, and to which community. */
export function deviceTarget(
  task: Pick<PollerTask, 'port' | 'community'>,
  i: number,
): { port: number; community: string } {
  return task.community === undefined
    ? { port: task.port, community: syntheticCommunity(i + 1) }
    : { port: task.port + i, community: task.community };
}

/** Calls fn(0) .. fn(count - 1), at most `limit` at a time. */
export async function forEachLimited(
  count: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  });
  await Promise.all(workers);
}

async function pollEngine(
  task: PollerTask,
  decodeWorkers: number,
): Promise<{ varbinds: number; errors: number }> {
  const engine = new SnmpEngine({ decodeWorkers, maxInFlight: task.concurrency });
  let varbinds = 0;
  let errors = 0;
  await forEachLimited(task.devices, task.concurrency, async (i) => {
    const session = engine.session({
      host: task.host,
      ...deviceTarget(task, i),
      maxRepetitions: task.maxRepetitions,
      timeoutMs: 5000,
      retries: 2,
    });
    try {
      // Await first: `varbinds += await ...` would read varbinds before the walk and lose counts.
      const walked = await session.walk(task.root);
      varbinds += walked.length;
    } catch {
      errors++;
    }
  });
  await engine.close();
  return { varbinds, errors };
}

/** The net-snmp session API as its documentation shows it: a session per device, subtree(). */
async function pollNetSnmp(task: PollerTask): Promise<{ varbinds: number; errors: number }> {
  let varbinds = 0;
  let errors = 0;
  await forEachLimited(task.devices, task.concurrency, (i) => {
    return new Promise<void>((resolve) => {
      const { port, community } = deviceTarget(task, i);
      const session = snmp.createSession(task.host, community, {
        port,
        version: snmp.Version2c,
        timeout: 5000,
        retries: 2,
      });
      session.subtree(
        task.root,
        task.maxRepetitions,
        (vbs: snmp.Varbind[]) => {
          varbinds += vbs.length;
        },
        (error: Error | null) => {
          if (error !== null && error !== undefined) errors++;
          session.close();
          resolve();
        },
      );
    });
  });
  return { varbinds, errors };
}

async function poll(task: PollerTask): Promise<{ varbinds: number; errors: number }> {
  return task.subject === 'net-snmp'
    ? pollNetSnmp(task)
    : pollEngine(task, task.subject === 'engine-pool' ? (task.workers ?? 1) : 0);
}

export async function runPoller(task: PollerTask): Promise<PollerResult> {
  if ((task.warmup ?? 0) > 0) await poll({ ...task, devices: Math.min(task.devices, task.warmup ?? 0) });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { varbinds, errors } = await poll(task);
  const cpu = process.cpuUsage(cpu0);
  return {
    varbinds,
    errors,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    userSeconds: cpu.user / 1e6,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}

if (process.argv[1]?.endsWith('snmp-poller.ts') === true) {
  const task = JSON.parse(process.argv[2] ?? '{}') as PollerTask;
  const result = await runPoller(task);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
