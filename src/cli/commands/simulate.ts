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
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { isPanoptesError } from '../../errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE, SnmpSimulator } from '../../sim/simulator.js';
import type { SimulatorOptions, SimulatorStats, SyntheticFleet } from '../../sim/simulator.js';
import { MAX_SYNTHETIC_DEVICES, MAX_SYNTHETIC_INTERFACES } from '../../sim/synthetic.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';

export interface SimulateCliOptions {
  readonly host: string;
  readonly port: number;
  readonly data?: string;
  readonly synthetic?: SyntheticFleet;
  readonly maxMessageSize?: number;
  /** Every device on its own port, under one community (`community`, default "public"). */
  readonly portPerDevice?: boolean;
  readonly community?: string;
}

function integerArgument(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
  }
  return Number(text);
}

export function parsePortOption(text: string): number {
  return integerArgument(text, 'The port', 0, 65_535);
}

export function parseMaxMessageSizeOption(text: string): number {
  return integerArgument(text, 'The size', MIN_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE);
}

/** `N:M` -> N devices with M interfaces each. */
export function parseSyntheticOption(text: string): SyntheticFleet {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) {
    throw new InvalidArgumentError('Expected DEVICES:INTERFACES, for example 100:24.');
  }
  return {
    devices: integerArgument(m[1] ?? '', 'DEVICES', 1, MAX_SYNTHETIC_DEVICES),
    interfaces: integerArgument(m[2] ?? '', 'INTERFACES', 0, MAX_SYNTHETIC_INTERFACES),
  };
}

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
  if (!signal.aborted) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  await sim.close();
  io.err(`panoptes simulate: stopped: ${formatStats(sim.stats())}\n`);
  return EXIT.OK;
}

export function registerSimulate(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('simulate')
    .description('run an SNMP v1/v2c agent simulator: synthetic devices and/or recorded .snmprec devices')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .requiredOption('--port <port>', 'UDP port to listen on (0 picks a free one)', parsePortOption)
    .option('--data <dir>', 'directory of *.snmprec recordings; community = file name without .snmprec')
    .option(
      '--synthetic <N:M>',
      `N synthetic devices (communities sim-00001 .. sim-N, N <= ${MAX_SYNTHETIC_DEVICES}) with M interfaces each`,
      parseSyntheticOption,
    )
    .option(
      '--max-message-size <bytes>',
      `largest response in bytes (${MIN_MAX_MESSAGE_SIZE}-${DEFAULT_MAX_MESSAGE_SIZE}, default ${DEFAULT_MAX_MESSAGE_SIZE})`,
      parseMaxMessageSizeOption,
    )
    .option(
      '--port-per-device',
      'give every device its own UDP port (from --port, in device order) under one community',
    )
    .option(
      '--community <name>',
      'the community every device answers to with --port-per-device (default public)',
    )
    .addHelpText(
      'after',
      `
Answers GetRequest, GetNextRequest and (v2c) GetBulkRequest; unknown communities, malformed
packets and other PDUs get no answer. Synthetic device d has community and sysName sim-DDDDD,
the system group, ifNumber, ifTable and ifXTable; its counters advance in real time from the
start (ifHCInOctets at exactly 1000*d*i octets/s on interface i).

With --port-per-device, device k (synthetic devices in order, then recordings by name) answers
on port P+k-1 under the community of --community instead, for tools that take one community per
configuration; --port 0 then picks a free range.

When ready, prints one line on stdout:
  listening on HOST:PORT (N synthetic devices x M interfaces, K recordings)
Runs until SIGINT or SIGTERM, then exits 0.

Exit status: 0 after a signal; 1 bad data (an unreadable or invalid .snmprec file, named with
its line) or the port cannot be bound; 2 usage error (a bad option or a missing data directory).

Examples:
  panoptes simulate --port 1161 --synthetic 100:24
  panoptes simulate --port 0 --data ./recordings --synthetic 10:4
  panoptes simulate --port 20001 --synthetic 500:24 --port-per-device --community public`,
    )
    .action(async (opts: SimulateCliOptions, cmd: Command) => {
      if (opts.data === undefined && opts.synthetic === undefined) {
        cmd.error('error: nothing to simulate: give --synthetic N:M and/or --data DIR', {
          exitCode: EXIT.USAGE,
          code: 'panoptes.usage',
        });
      }
      if (opts.community !== undefined && opts.portPerDevice !== true) {
        cmd.error('error: --community only applies with --port-per-device', {
          exitCode: EXIT.USAGE,
          code: 'panoptes.usage',
        });
      }
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        setExitCode(await runSimulate(opts, controller.signal));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
