/** Registers `panoptes simulate`; the command is loaded when it runs. */
import type { Command } from 'commander';
import { parseMaxMessageSizeOption, parsePortOption, parseSyntheticOption } from '../args.js';
import type { SimulateCliOptions } from '../args.js';
import { EXIT } from '../io.js';
import { DEFAULT_MAX_MESSAGE_SIZE, MAX_SYNTHETIC_DEVICES, MIN_MAX_MESSAGE_SIZE } from '../../sim/limits.js';

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
      '--gnmi-port <port>',
      'also serve the synthetic devices over gNMI (plaintext) on this TCP port (0 picks one)',
      parsePortOption,
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

With --gnmi-port, the synthetic devices also answer gNMI Capabilities, Get and Subscribe
(OpenConfig interface counters and state, CPU, temperatures, memory; the path prefix's target
names the device, sim-DDDDD) with the same counters as over SNMP.

When ready, prints one line on stdout:
  listening on HOST:PORT (N synthetic devices x M interfaces, K recordings)
and with --gnmi-port a second one:
  gnmi listening on HOST:PORT (N synthetic devices x M interfaces)
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
        const { runSimulate } = await import('../commands/simulate.js');
        setExitCode(await runSimulate(opts, controller.signal));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
