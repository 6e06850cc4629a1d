/** Registers `panoptes run` and one command per stage; the pipeline is loaded when one runs. */
import type { Command } from 'commander';
import { ALL_ROLES } from '../../node/roles.js';
import type { Role } from '../../node/roles.js';
import { parseDurationOption, parsePortOption } from '../args.js';
import type { RunCliOptions } from '../args.js';

const STAGE_HELP: Record<Role, string> = {
  discovery: 'run the discovery stage: discovery plugins -> <site>-resources (Kafka), resources in Redis',
  enrichment: 'run an enrichment node: enrichment plugins for the resources of its partitions -> Redis',
  polling: 'run a polling node: polling plugins for the resources of its partitions -> <site>-processed',
  consumer: 'run the consumers of the configuration: <site>-processed -> InfluxDB and/or JSONL files',
  forward: 'run the forwarder of an edge site: <site>-processed -> the federation.upstream cluster',
};

function action(roles: readonly Role[] | undefined, setExitCode: (code: number) => void) {
  return async (opts: RunCliOptions): Promise<void> => {
    const { runCommand } = await import('../commands/run.js');
    setExitCode(await runCommand(roles, opts));
  };
}

export function registerRun(program: Command, setExitCode: (code: number) => void): void {
  for (const role of ALL_ROLES) {
    program
      .command(role)
      .description(STAGE_HELP[role])
      .requiredOption(
        '--config <file>',
        'site configuration file (YAML or JSON); needs bus.type kafka, store.type redis',
      )
      .option(
        '--for <seconds>',
        'stop after this many seconds (default: until SIGINT/SIGTERM)',
        parseDurationOption,
      )
      .option(
        '--metrics-port <port>',
        'serve Prometheus /metrics and /healthz on PORT of metrics.listen_host (default 127.0.0.1)',
        parsePortOption,
      )
      .action(action([role], setExitCode));
  }
  program
    .command('run')
    .description('run discovery, enrichment, polling and consumers in one process (embedded mode)')
    .requiredOption('--config <file>', 'site configuration file (YAML or JSON)')
    .option(
      '--for <seconds>',
      'stop after this many seconds (default: run until SIGINT/SIGTERM)',
      parseDurationOption,
    )
    .option('--out <file.jsonl>', 'also write every published metrics group to this file, one JSON per line')
    .option(
      '--gnmi',
      "also serve the simulator's devices over gNMI and load simulator.gnmi.plugin_directories (npm start -- --gnmi)",
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics and /healthz on PORT of metrics.listen_host (default 127.0.0.1)',
      parsePortOption,
    )
    .addHelpText(
      'after',
      `
Starts the built-in SNMP simulator when the configuration has a simulator section, loads the
plugins of plugins.directories, discovers, enriches and polls, and publishes metrics groups
(Panoptes schema 0.2) on the in-process bus, where the JSONL consumers write them.

While running: a live status line on a terminal, else one line per output.status_interval_seconds.
Logs are JSON lines on stderr (PANOPTES_LOG_LEVEL=debug|info|warn|error, default info).

Exit status: 0 after --for or a signal; 1 invalid configuration or a stage that cannot start; 2 usage.

Examples:
  panoptes run --config examples/quickstart/site.yaml --for 60 --out metrics.jsonl
  panoptes run --config examples/quickstart/site.yaml --gnmi   # SNMP and gNMI side by side`,
    )
    .action(action(undefined, setExitCode));
}
