/** Registers `panoptes gnmi capabilities|get|subscribe`; the command is loaded when it runs. */
import { Option } from 'commander';
import type { Command } from 'commander';
import { integer, parseDurationOption } from '../args.js';
import type { GnmiCliOptions } from '../commands/gnmi.js';

function addOptions(cmd: Command): Command {
  return cmd
    .option('--insecure', 'plaintext HTTP/2, no TLS (labs, simulators)')
    .option('--tls-ca <file>', 'PEM CA bundle the target certificate must chain to (default: system CAs)')
    .option('--tls-cert <file>', 'PEM client certificate (mutual TLS; with --tls-key)')
    .option('--tls-key <file>', 'PEM client key')
    .option('--tls-server-name <name>', "name the target's certificate must carry")
    .option('--skip-verify', 'accept any server certificate (labs only)')
    .option('-u, --username <user>', 'sent as gRPC metadata `username`')
    .option(
      '--password-env <variable>',
      'environment variable holding the password (sent as metadata `password`)',
    )
    .addOption(
      new Option('-e, --encoding <encoding>', 'value encoding asked for')
        .choices(['json', 'json_ietf', 'proto', 'ascii', 'bytes'])
        .default('json_ietf'),
    )
    .option(
      '-t, --timeout <ms>',
      'connect and call timeout in milliseconds',
      integer('--timeout', 1, 600_000),
      10_000,
    );
}

export function registerGnmi(program: Command, setExitCode: (code: number) => void): void {
  const gnmi = program
    .command('gnmi')
    .description('talk to a gNMI target: capabilities, get, subscribe (prints one line per value)');

  addOptions(
    gnmi
      .command('capabilities')
      .description('the gNMI version, encodings and models')
      .argument('<target>', 'host:port'),
  ).action(async (target: string, opts: GnmiCliOptions) => {
    const { runGnmi } = await import('../commands/gnmi.js');
    setExitCode(await runGnmi('capabilities', target, [], opts));
  });

  addOptions(
    gnmi
      .command('get')
      .description('Get the paths once')
      .argument('<target>', 'host:port')
      .argument('<path...>', 'e.g. /interfaces/interface[name=Ethernet1]/state/counters'),
  ).action(async (target: string, paths: string[], opts: GnmiCliOptions) => {
    const { runGnmi } = await import('../commands/gnmi.js');
    setExitCode(await runGnmi('get', target, paths, opts));
  });

  addOptions(
    gnmi
      .command('subscribe')
      .description('Subscribe to the paths and print updates until Ctrl-C (or --count/--for)')
      .argument('<target>', 'host:port')
      .argument('<path...>', 'e.g. /interfaces/interface/state/counters'),
  )
    .addOption(
      new Option('-m, --mode <mode>', 'subscription list mode')
        .choices(['stream', 'once', 'poll'])
        .default('stream'),
    )
    .addOption(
      new Option('--stream-mode <mode>', 'per-path mode in stream mode')
        .choices(['sample', 'on_change', 'target_defined'])
        .default('sample'),
    )
    .option('-i, --interval <seconds>', 'sample interval', parseDurationOption, 10)
    .option('--poll-every <seconds>', 'poll mode: seconds between polls', parseDurationOption, 10)
    .option('--updates-only', 'no initial values, only changes')
    .option('-n, --count <n>', 'stop after this many notifications', integer('--count', 1, 1_000_000_000))
    .option('--for <seconds>', 'stop after this many seconds', parseDurationOption)
    .addHelpText(
      'after',
      `
Output: one line per value, \`<time> <path> <value>\`: time as ISO 8601 (the target's timestamp),
the full path (prefix and update), the value as JSON (64-bit integers as plain digits). A sync
prints \`# sync\`, a value the client could not read \`# malformed: ...\` on stderr. Exit status 0
when the stream ended or was stopped, 1 when it failed (unreachable, refused, dropped), 2 on a
usage error.`,
    )
    .action(async (target: string, paths: string[], opts: GnmiCliOptions) => {
      const { runGnmi } = await import('../commands/gnmi.js');
      setExitCode(await runGnmi('subscribe', target, paths, opts));
    });
}
