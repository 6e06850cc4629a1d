/** Registers `panoptes filter`; the command is loaded when it runs. */
import type { Command } from 'commander';

export function registerFilter(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('filter')
    .description('print the resource_id of every resource a filter query selects')
    .requiredOption(
      '--resources <file>',
      'JSON file: a resource set object or an array of resources ("-" reads stdin)',
    )
    .argument('<query>', `filter, e.g. "resource_class = 'network' AND resource_metadata.os LIKE 'ios%'"`)
    .addHelpText(
      'after',
      `
Query language:
  conditions   FIELD = 'v'   FIELD != 'v'   FIELD EQ 'v'   FIELD NE 'v'
               FIELD [NOT] LIKE 'pat%'      (% any run, _ one character, \\% \\_ literals)
               FIELD [NOT] IN ('a', 'b')
  combine      NOT x, x AND y, x OR y, ( ... )      precedence NOT > AND > OR
  fields       resource_site resource_class resource_subclass resource_type resource_id
               resource_endpoint resource_creation_plugin (alias resource_plugin)
               resource_metadata.KEY
  Keywords and resource_* names are case-insensitive; metadata keys and values are not.
  A metadata key a resource lacks: =, EQ, LIKE, IN are false; !=, NE, NOT LIKE, NOT IN are true.

Output: matching resource_ids, one per line, sorted. Exit status: 0 (also when nothing
matches), 1 unreadable file or records without a resource_id, 2 invalid query.`,
    )
    .action(async (query: string, opts: { resources: string }) => {
      const { runFilter } = await import('../commands/filter.js');
      setExitCode(await runFilter(opts.resources, query));
    });
}
