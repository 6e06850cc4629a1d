/** Registers `panoptes snmp get|walk`; the command is loaded when it runs. */
import { Option } from 'commander';
import type { Command } from 'commander';
import { integer } from '../args.js';
import type { SnmpCliOptions } from '../args.js';

function addOptions(cmd: Command): Command {
  return cmd
    .option('-c, --community <community>', 'SNMPv1/v2c community', 'public')
    .addOption(
      new Option('-v, --snmp-version <version>', 'SNMP version').choices(['1', '2c', '3']).default('2c'),
    )
    .option(
      '--max-repetitions <n>',
      'GETBULK max-repetitions for walks',
      integer('--max-repetitions', 1, 1000),
      25,
    )
    .option(
      '-t, --timeout <ms>',
      'timeout per attempt in milliseconds',
      integer('--timeout', 1, 600_000),
      2000,
    )
    .option('-r, --retries <n>', 'attempts after the first', integer('--retries', 0, 20), 1)
    .option(
      '--decode-workers <n>',
      'worker threads decoding answers (0 = inline)',
      integer('--decode-workers', 0, 64),
      0,
    )
    .option('-u, --security-name <user>', 'SNMPv3 user')
    .addOption(
      new Option('-l, --security-level <level>', 'SNMPv3 level (default from the keys given)').choices([
        'noAuthNoPriv',
        'authNoPriv',
        'authPriv',
      ]),
    )
    .addOption(
      new Option('-a, --auth-protocol <protocol>', 'SNMPv3 authentication')
        .choices(['md5', 'sha'])
        .default('sha'),
    )
    .option('-A, --auth-key <key>', 'SNMPv3 authentication pass phrase')
    .addOption(
      new Option('-x, --priv-protocol <protocol>', 'SNMPv3 privacy').choices(['des', 'aes']).default('aes'),
    )
    .option('-X, --priv-key <key>', 'SNMPv3 privacy pass phrase')
    .option('-n, --context <name>', 'SNMPv3 context name');
}

export function registerSnmp(program: Command, setExitCode: (code: number) => void): void {
  const snmp = program
    .command('snmp')
    .description('query an SNMP agent: get values or walk subtrees, printed as snmprec lines');

  addOptions(
    snmp
      .command('get')
      .description('GET the given OIDs')
      .argument('<target>', 'host[:port] (default port 161)')
      .argument('<oid...>', 'OIDs, with or without a leading dot'),
  ).action(async (target: string, oids: string[], opts: SnmpCliOptions) => {
    const { runSnmp } = await import('../commands/snmp.js');
    setExitCode(await runSnmp('get', target, oids, opts));
  });

  addOptions(
    snmp
      .command('walk')
      .description('walk the subtrees under the given OIDs (GETBULK for v2c/v3, GETNEXT for v1)')
      .argument('<target>', 'host[:port] (default port 161)')
      .argument('<oid...>', 'subtree roots, with or without a leading dot'),
  )
    .addHelpText(
      'after',
      `
Output: OID|tag|value per varbind: 2 Integer32, 4 OctetString (printable ASCII; else 4x hex),
5 Null, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68x Opaque (hex),
70 Counter64 (exact). Exceptions go to stderr. Exit 0 success, 1 timeout or error, 2 usage.

Example:
  panoptes snmp walk 127.0.0.1:1161 1.3.6.1.2.1.2.2.1 -c public --max-repetitions 50`,
    )
    .action(async (target: string, oids: string[], opts: SnmpCliOptions) => {
      const { runSnmp } = await import('../commands/snmp.js');
      setExitCode(await runSnmp('walk', target, oids, opts));
    });
}
