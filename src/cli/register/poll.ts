/** Registers `panoptes poll`; the command is loaded when it runs. */
import type { Command } from 'commander';
import { positiveInteger } from '../args.js';
import type { PollCliOptions } from '../args.js';

export function registerPoll(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('poll')
    .description('poll resources once (or --runs times) with the plugins that match them; print every group')
    .requiredOption('--config <file>', 'site configuration file (YAML or JSON)')
    .requiredOption('--resources <file>', 'resources (JSON: one, an array or a set; - reads standard input)')
    .option('--runs <n>', 'poll this many times (rates need 2)', (t) => positiveInteger(t, 'RUNS', 1000))
    .option('--every <seconds>', 'seconds between runs (default 60)', (t) =>
      positiveInteger(t, 'SECONDS', 86_400),
    )
    .option(
      '--enrichment-out <file>',
      'also write every enrichment group made, one JSON per line ({resource_id, namespace, enrichment})',
    )
    .addHelpText(
      'after',
      `
Runs the enrichment plugins that match each resource, then the polling plugins that match it,
and prints every metrics group (Panoptes JSON, the status group of each run included) on stdout,
one per line; a summary on stderr. Starts the site's simulator when it has one.

Exit status: 0 every poll succeeded; 1 a poll failed (groups still printed) or invalid input; 2 usage.

Examples:
  panoptes poll --config examples/quickstart/site.yaml --resources examples/quickstart/devices.json
  panoptes poll --config site.yaml --resources router.json --runs 2 --every 10
  panoptes poll --config site.yaml --resources router.json --enrichment-out enrichment.jsonl`,
    )
    .action(async (opts: PollCliOptions) => {
      const { runPoll } = await import('../commands/poll.js');
      setExitCode(await runPoll(opts));
    });
}
