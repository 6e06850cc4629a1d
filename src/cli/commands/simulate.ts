/**
 * `panoptes simulate [--host 127.0.0.1] --port P [--data DIR] [--synthetic N:M] [--max-message-size B]
 *   [--port-per-device [--community NAME]]`
 *
 * Runs the SNMP v1/v2c agent simulator until SIGINT or SIGTERM. When it is ready it prints one
 * line on stdout, `listening on HOST:PORT (N synthetic devices x M interfaces, K recordings)`, so
 * a harness started with `--port 0` can read the port (in port-per-device mode
 * `listening on HOST:FIRST-LAST (...; one port per device, community NAME)`). On a signal it closes, prints its counters
 * on stderr and exits 0. Bad options exit 2; a data file that cannot be read or parsed exits 1
 * with the file and line on stderr.
 */
import { isPanoptesError } from '../../errors.js';
import { GnmiSimulator } from '../../sim/gnmi-simulator.js';
import { SnmpSimulator } from '../../sim/simulator.js';
import type { SimulatorOptions, SimulatorStats } from '../../sim/simulator.js';
import type { SimulateCliOptions } from '../args.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';

function formatStats(s: SimulatorStats): string {
  return (
    `${s.requests} requests, ${s.responses} responses, ${s.varbinds} varbinds, ${s.malformed} malformed, ` +
    `${s.dropped} dropped, ${s.unknownCommunity} unknown community, ${s.tooBig} too big`
  );
}

/**
 * Starts the simulator, prints the `listening on` line, and returns the exit status once `signal`
 * aborts (after closing). Errors while starting return at once: 2 for usage, 1 for bad data.
 */
export async function runSimulate(
  options: SimulateCliOptions,
  signal: AbortSignal,
  io: CliIo = processIo,
): Promise<number> {
  const simOptions: SimulatorOptions = {
    host: options.host,
    port: options.port,
    ...(options.data === undefined ? {} : { dataDir: options.data }),
    ...(options.synthetic === undefined ? {} : { synthetic: options.synthetic }),
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    ...(options.portPerDevice === true
      ? { portPerDevice: { community: options.community ?? 'public' } }
      : {}),
  };
  let sim: SnmpSimulator;
  try {
    sim = await SnmpSimulator.start(simOptions);
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes simulate: ${e.message}\n`);
    return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  const fleet = options.synthetic ?? { devices: 0, interfaces: 0 };
  const ports =
    sim.sharedCommunity === undefined ? `${sim.port}` : `${sim.port}-${sim.ports.at(-1) ?? sim.port}`;
  const mode =
    sim.sharedCommunity === undefined ? '' : `; one port per device, community ${sim.sharedCommunity}`;
  io.out(
    `listening on ${sim.address}:${ports} (${fleet.devices} synthetic devices x ${fleet.interfaces} ` +
      `interfaces, ${sim.recordings} recordings${mode})\n`,
  );
  let gnmi: GnmiSimulator | undefined;
  if (options.gnmiPort !== undefined) {
    if (options.synthetic === undefined) {
      await sim.close();
      io.err('panoptes simulate: --gnmi-port serves the synthetic devices: give --synthetic N:M\n');
      return EXIT.USAGE;
    }
    try {
      gnmi = await GnmiSimulator.start({
        host: options.host,
        port: options.gnmiPort,
        devices: fleet.devices,
        interfaces: fleet.interfaces,
        startMs: sim.startTime, // the same counters as over SNMP
      });
    } catch (e) {
      await sim.close();
      if (!isPanoptesError(e)) throw e;
      io.err(`panoptes simulate: ${e.message}\n`);
      return EXIT.FAILED;
    }
    io.out(
      `gnmi listening on ${gnmi.address} (${fleet.devices} synthetic devices x ${fleet.interfaces} interfaces)\n`,
    );
  }
  if (!signal.aborted) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  await gnmi?.close();
  await sim.close();
  io.err(`panoptes simulate: stopped: ${formatStats(sim.stats())}\n`);
  return EXIT.OK;
}
